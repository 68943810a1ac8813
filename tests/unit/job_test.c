/* job_test.c - the job file: every default, a full file read back value by
 * value, every kind of mistake reported at file:line:column with its key,
 * and the --set overrides. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../testlib.h"
#include "gp_job.h"

static const char minimal[] = "model:\n"
                              "  layers: [4, 3, 2]\n"
                              "data:\n"
                              "  train: {csv: train.csv}\n"
                              "  test: {csv: /abs/test.csv}\n";

static void defaults(void)
{
    gp_job j;
    gp_msg why = {{0}};
    gp_err e =
        gp_job_parse(minimal, sizeof minimal - 1, "jobs/tiny.yaml", "jobs", NULL, 0, &j, &why);
    REQUIRE(e == GP_OK);
    CHECK(!strcmp(j.name, "tiny")); /* the file's base name without extension */
    CHECK(j.nlayers == 2 && j.sizes[0] == 4 && j.sizes[1] == 3 && j.sizes[2] == 2);
    CHECK(j.act[0] == GP_ACT_RELU);
    CHECK(j.init_seed == 1);
    CHECK(!strcmp(j.train.csv, "jobs/train.csv") && !j.train.images[0] && !j.train.labels[0]);
    CHECK(!strcmp(j.test.csv, "/abs/test.csv")); /* absolute paths stay */
    CHECK(j.normalize == GP_NORM_STANDARDIZE);
    CHECK(j.train_limit == 0 && j.test_limit == 0);
    CHECK(j.batch == 64 && j.epochs == 2 && j.lr == 0.1);
    CHECK(j.schedule == GP_SCHED_CONSTANT && j.step_every == 1 && j.gamma == 0.5);
    CHECK(j.lr_min == 0.0 && j.shuffle_seed == 1 && j.check_every == 1 && j.max_redo == 3);
    CHECK(j.spare == 1 && j.precision == GP_PREC_FLOAT64);
    CHECK(j.scheme[0] == 0 && j.m == 0 && j.n == 0 && !strcmp(j.orientation, "auto"));
    CHECK(j.fault_seed == 1 && j.fault_scale == 1.0 && j.nrules == 0);

    /* no directory: paths as given; a name without extension or directory */
    e = gp_job_parse(minimal, sizeof minimal - 1, "plain", NULL, NULL, 0, &j, &why);
    REQUIRE(e == GP_OK);
    CHECK(!strcmp(j.name, "plain") && !strcmp(j.train.csv, "train.csv"));
}

static const char good[] =
    "name: fashion\n"                                                      /* 1 */
    "model:\n"                                                             /* 2 */
    "  layers: [784, 256, 128, 10]\n"                                      /* 3 */
    "  activation: [relu, tanh]\n"                                         /* 4 */
    "  init_seed: 7\n"                                                     /* 5 */
    "data:\n"                                                              /* 6 */
    "  train: {images: tr-img.gz, labels: tr-lab.gz}\n"                    /* 7 */
    "  test:\n"                                                            /* 8 */
    "    images: /d/te-img\n"                                              /* 9 */
    "    labels: te-lab\n"                                                 /* 10 */
    "  normalize: scale\n"                                                 /* 11 */
    "  train_limit: 1000\n"                                                /* 12 */
    "  test_limit: 500\n"                                                  /* 13 */
    "training:\n"                                                          /* 14 */
    "  batch: 32\n"                                                        /* 15 */
    "  epochs: 3\n"                                                        /* 16 */
    "  lr: 0.05\n"                                                         /* 17 */
    "  schedule: cosine\n"                                                 /* 18 */
    "  step_every: 2\n"                                                    /* 19 */
    "  gamma: 0.25\n"                                                      /* 20 */
    "  lr_min: 0.001\n"                                                    /* 21 */
    "  shuffle_seed: 18446744073709551615\n"                               /* 22 */
    "  check_every: 5\n"                                                   /* 23 */
    "  max_redo: 0\n"                                                      /* 24 */
    "code: {scheme: gpd, m: 2, n: 3, orientation: col}\n"                  /* 25 */
    "faults:\n"                                                            /* 26 */
    "  seed: 9\n"                                                          /* 27 */
    "  scale: 0.5\n"                                                       /* 28 */
    "  rules:\n"                                                           /* 29 */
    "    - {node: all, op: multiply, probability: 0.01, magnitude: 2.5}\n" /* 30 */
    "    - {node: 3, op: hadamard, probability: 1}\n";                     /* 31 */

static void full_file(void)
{
    gp_job j;
    gp_msg why = {{0}};
    gp_err e = gp_job_parse(good, sizeof good - 1, "f.yaml", "/jobs", NULL, 0, &j, &why);
    REQUIRE(e == GP_OK);
    CHECK(!strcmp(j.name, "fashion"));
    CHECK(j.nlayers == 3 && j.sizes[3] == 10 && j.sizes[1] == 256);
    CHECK(j.act[0] == GP_ACT_RELU && j.act[1] == GP_ACT_TANH && j.init_seed == 7);
    CHECK(!strcmp(j.train.images, "/jobs/tr-img.gz") && !strcmp(j.train.labels, "/jobs/tr-lab.gz"));
    CHECK(!strcmp(j.test.images, "/d/te-img") && !strcmp(j.test.labels, "/jobs/te-lab"));
    CHECK(j.normalize == GP_NORM_SCALE && j.train_limit == 1000 && j.test_limit == 500);
    CHECK(j.batch == 32 && j.epochs == 3 && j.lr == 0.05 && j.schedule == GP_SCHED_COSINE);
    CHECK(j.step_every == 2 && j.gamma == 0.25 && j.lr_min == 0.001);
    CHECK(j.shuffle_seed == UINT64_MAX && j.check_every == 5 && j.max_redo == 0);
    CHECK(!strcmp(j.scheme, "gpd") && j.m == 2 && j.n == 3 && !strcmp(j.orientation, "col"));
    CHECK(j.fault_seed == 9 && j.fault_scale == 0.5 && j.nrules == 2);
    CHECK(j.rules[0].node == -1 && j.rules[0].op == GP_FAULT_MULTIPLY &&
          j.rules[0].probability == 0.01 && j.rules[0].magnitude == 2.5);
    CHECK(j.rules[1].node == 3 && j.rules[1].op == GP_FAULT_HADAMARD &&
          j.rules[1].probability == 1 && j.rules[1].magnitude == 1.0);
    CHECK(!strcmp(gp_act_name(j.act[1]), "tanh") &&
          !strcmp(gp_act_name(GP_ACT_SIGMOID), "sigmoid"));
}

/* Replaces line `line` (1-based) of the good file with `text` (may hold
 * several lines, or none), or appends it with line 0; parses; checks the
 * error's beginning (file:line:col: key) and a part of its reason. */
static void expect(int line, const char *text, const char *want_at, const char *want_text)
{
    char buf[4096] = "";
    const char *p = good;
    int ln = 1;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = (size_t)(e - p) + 1;
        if (ln == line)
            strcat(buf, text);
        else
            strncat(buf, p, n);
        p += n;
        ln++;
    }
    if (line == 0) strcat(buf, text);
    gp_job j;
    gp_msg why = {{0}};
    gp_err e = gp_job_parse(buf, strlen(buf), "j.yaml", NULL, NULL, 0, &j, &why);
    CHECKF(e == GP_EINVAL, "line %d '%s': got %s", line, text, gp_errname(e));
    CHECKF(strncmp(why.text, want_at, strlen(want_at)) == 0 && strstr(why.text, want_text),
           "line %d: got '%s', want '%s...%s'", line, why.text, want_at, want_text);
}

static void mistakes(void)
{
    /* unknown and repeated keys */
    expect(1, "nam: x\n", "j.yaml:1:1: nam:", "unknown key (known: name, model, data");
    expect(0, "training.batch: 3\n", "j.yaml:32:1: training.batch:", "unknown key");
    expect(5, "  init_sed: 7\n", "j.yaml:5:3: model.init_sed:", "unknown key (known in model:");
    expect(16, "  epochs: 3\n  epochs: 4\n", "j.yaml:17:3: training.epochs:", "given twice");
    expect(7, "  train: {images: a, labels: b, lables: c}\n",
           "j.yaml:7:33: data.train.lables:", "unknown key");
    /* integers */
    expect(15, "  batch: 0\n",
           "j.yaml:15:10: training.batch:", "must be an integer in 1 .. 4096, not '0'");
    expect(15, "  batch: 4097\n", "j.yaml:15:10: training.batch:", "1 .. 4096");
    expect(15, "  batch: many\n", "j.yaml:15:10: training.batch:", "not 'many'");
    expect(15, "  batch: 3.5\n", "j.yaml:15:10: training.batch:", "must be an integer");
    expect(15, "  batch: [1]\n", "j.yaml:15:10: training.batch:", "must be an integer");
    expect(16, "  epochs: 10001\n", "j.yaml:16:11: training.epochs:", "1 .. 10000");
    expect(24, "  max_redo: -1\n", "j.yaml:24:13: training.max_redo:", "0 .. 100");
    expect(23, "  check_every: 0\n", "j.yaml:23:16: training.check_every:", "1 .. 1000000");
    expect(19, "  step_every: 0\n", "j.yaml:19:15: training.step_every:", "1 .. 10000");
    expect(12, "  train_limit: -5\n", "j.yaml:12:16: data.train_limit:", "integer in 0 ..");
    expect(22, "  shuffle_seed: -1\n", "j.yaml:22:17: training.shuffle_seed:", "integer in 0 ..");
    expect(22, "  shuffle_seed: 18446744073709551616\n",
           "j.yaml:22:17: training.shuffle_seed:", "integer in 0 ..");
    expect(5, "  init_seed: x1\n", "j.yaml:5:14: model.init_seed:", "not 'x1'");
    expect(27, "  seed: 1.5\n", "j.yaml:27:9: faults.seed:", "integer");
    /* numbers */
    expect(17, "  lr: 0\n", "j.yaml:17:7: training.lr:", "must be a number above 0");
    expect(17, "  lr: nan\n", "j.yaml:17:7: training.lr:", "not 'nan'");
    expect(17, "  lr: 1e9\n", "j.yaml:17:7: training.lr:", "at most 1000");
    expect(17, "  lr: fast\n", "j.yaml:17:7: training.lr:", "not 'fast'");
    expect(20, "  gamma: 1.5\n", "j.yaml:20:10: training.gamma:", "at most 1");
    expect(20, "  gamma: 0\n", "j.yaml:20:10: training.gamma:", "above 0");
    expect(21, "  lr_min: -0.1\n", "j.yaml:21:11: training.lr_min:", "at least 0");
    expect(21, "  lr_min: 0.5\n", "j.yaml:21:11: training.lr_min:", "must not exceed training.lr");
    expect(28, "  scale: -1\n", "j.yaml:28:10: faults.scale:", "at least 0");
    /* names */
    expect(18, "  schedule: linear\n",
           "j.yaml:18:13: training.schedule:", "must be constant, step or cosine, not 'linear'");
    expect(11, "  normalize: minmax\n",
           "j.yaml:11:14: data.normalize:", "must be standardize, scale or none");
    expect(4, "  activation: [relu, gelu]\n", "j.yaml:4:22: model.activation[1]:",
           "must be relu, tanh, sigmoid or identity, not 'gelu'");
    expect(4, "  activation: softmax\n", "j.yaml:4:15: model.activation:", "not 'softmax'");
    expect(4, "  activation: [relu]\n", "j.yaml:4:15: model.activation:",
           "lists 1 activations; model.layers has 2 hidden layers");
    expect(25, "code: {scheme: fancy}\n", "j.yaml:25:16: code.scheme:",
           "must be gpd, polynomial, matdot, mds, replication or uncoded, not 'fancy'");
    expect(25, "code: {scheme: gpd, m: 25}\n", "j.yaml:25:24: code.m:", "1 .. 24");
    expect(25, "code: {m: 2, n: 2}\n", "j.yaml:25:7: code:", "need a 'scheme'");
    expect(25, "code: {scheme: gpd, spare: 0}\n", "j.yaml:25:28: code.spare:", "1 .. 16");
    expect(25, "code: {scheme: gpd, orientation: diagonal}\n",
           "j.yaml:25:34: code.orientation:", "must be row, col or auto");
    expect(1, "name: \"\"\n", "j.yaml:1:7: name:", "1 to 63 characters");
    expect(1, "name: [a]\n", "j.yaml:1:7: name:", "must be a string");
    /* layers */
    expect(3, "  layers: [784]\n", "j.yaml:3:11: model.layers:", "has 1 entries");
    expect(3, "  layers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n",
           "j.yaml:3:11: model.layers:", "2 to 9");
    expect(3, "  layers: [784, 0, 10]\n", "j.yaml:3:17: model.layers[1]:", "1 .. 65536");
    expect(3, "  layers: [784, 65537, 10]\n", "j.yaml:3:17: model.layers[1]:", "1 .. 65536");
    expect(3, "  layers: 784\n", "j.yaml:3:11: model.layers:", "must be a list");
    expect(3, "", "j.yaml:1:1: model.layers:", "is required");
    /* data */
    expect(7, "  train: {images: a}\n", "j.yaml:7:10: data.train:", "needs 'images' and 'labels'");
    expect(7, "  train: {images: a, labels: b, csv: c}\n", "j.yaml:7:10: data.train:", "not both");
    expect(7, "  train: a.csv\n", "j.yaml:7:10: data.train:", "must be a mapping");
    expect(7, "", "j.yaml:1:1: data.train:", "is required");
    expect(9, "    images: \"\"\n", "j.yaml:9:13: data.test.images:", "1 to 511 characters");
    /* faults */
    expect(30, "    - {node: me, op: multiply, probability: 0.1}\n",
           "j.yaml:30:14: faults.rules[0].node:", "'all' or a node id in 0 .. 63");
    expect(30, "    - {node: 64, op: multiply, probability: 0.1}\n",
           "j.yaml:30:14: faults.rules[0].node:", "node id in 0 .. 63");
    expect(31, "    - {node: 3, op: flip, probability: 1}\n", "j.yaml:31:21: faults.rules[1].op:",
           "must be multiply, encode, decode, activation, hadamard or update, not 'flip'");
    expect(31, "    - {node: 3, op: update, probability: 1.5}\n",
           "j.yaml:31:42: faults.rules[1].probability:", "at most 1");
    expect(31, "    - {node: 3, op: update, probability: 1, magnitude: 0}\n",
           "j.yaml:31:56: faults.rules[1].magnitude:", "above 0");
    expect(31, "    - {node: 3, op: update}\n",
           "j.yaml:31:7: faults.rules[1]:", "needs 'op' and 'probability'");
    expect(31, "    - {node: 3, op: update, probability: 1, op: encode}\n",
           "j.yaml:31:45: faults.rules[1].op:", "given twice");
    expect(31, "    - {node: 3, op: update, probability: 1, when: 2}\n",
           "j.yaml:31:45: faults.rules[1].when:", "unknown key");
    expect(31, "    - 5\n", "j.yaml:31:7: faults.rules[1]:", "must be a mapping");
    /* the file's shape */
    expect(0, "extra: {\n", "j.yaml:", ""); /* YAML syntax */
    expect(0, "model: {}\n", "j.yaml:32:1: model:", "given twice");
}

static void shapes(void)
{
    const struct {
        const char *doc, *at, *text;
    } cases[] = {
        {"- 1\n- 2\n", "s.yaml:1:1:", "the job file must be a mapping"},
        {"", "s.yaml", "empty"},
        {"training: 3\n", "s.yaml:1:11: training:", "must be a mapping"},
        {"faults: {rules: {}}\n", "s.yaml:1:17: faults.rules:", "must be a list"},
        {"model: [1]\n", "s.yaml:1:8: model:", "must be a mapping"},
        {"? [a]\n: 1\n", "s.yaml:1:3:", "keys must be plain words"},
        {"model: {layers: [2, 2]}\ndata: {train: {csv: a}}\n",
         "s.yaml:1:1: data.test:", "is required"},
        {"model: {layers: [2, 2], activation: [relu]}\ndata: {train: {csv: a}, test: {csv: b}}\n",
         "s.yaml:1:37: model.activation:", "lists 1 activations; model.layers has 0 hidden layers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gp_job j;
        gp_msg why = {{0}};
        gp_err e =
            gp_job_parse(cases[i].doc, strlen(cases[i].doc), "s.yaml", NULL, NULL, 0, &j, &why);
        CHECKF(e == GP_EINVAL && strncmp(why.text, cases[i].at, strlen(cases[i].at)) == 0 &&
                   strstr(why.text, cases[i].text),
               "case %zu: %s: '%s'", i, gp_errname(e), why.text);
    }
    /* no hidden layers: one activation name is fine, and an empty list */
    const char *ok = "model: {layers: [2, 3], activation: []}\n"
                     "data: {train: {csv: a}, test: {csv: b}}\n";
    gp_job j;
    gp_msg why = {{0}};
    CHECK(gp_job_parse(ok, strlen(ok), "s.yaml", NULL, NULL, 0, &j, &why) == GP_OK &&
          j.nlayers == 1);
}

static gp_err parse_set(const char *const *set, int n, gp_job *j, gp_msg *why)
{
    return gp_job_parse(good, sizeof good - 1, "f.yaml", "/jobs", set, n, j, why);
}

static void overrides(void)
{
    gp_job j;
    gp_msg why = {{0}};
    const char *set[] = {"training.epochs=1",
                         "faults.scale=0",
                         "data.train.images=/x/y.gz",
                         "model.layers=[784,32,10]",
                         "model.activation=sigmoid",
                         "data.test.csv=rel/test.csv",
                         "training.schedule=step",
                         "code.scheme=",
                         "code.m=1",
                         "code.scheme=matdot",
                         "faults.rules=[{node: 2, op: update, probability: 0.5}]",
                         "name=run:2",
                         "training.lr=1e-2",
                         "model.init_seed=12",
                         "precision=float32"};
    gp_err e = parse_set(set, (int)(sizeof set / sizeof set[0]), &j, &why);
    REQUIRE(e == GP_OK);
    /* a name travels in the protocol's name alphabet */
    const char *badname[] = {"name=run 2"};
    gp_job j2;
    gp_msg why2 = {{0}};
    CHECK(parse_set(badname, 1, &j2, &why2) == GP_EINVAL && strstr(why2.text, "name"));
    CHECK(j.epochs == 1 && j.fault_scale == 0);
    CHECK(!strcmp(j.train.images, "/x/y.gz") && !strcmp(j.train.labels, "/jobs/tr-lab.gz"));
    CHECK(j.nlayers == 2 && j.sizes[0] == 784 && j.sizes[1] == 32 && j.sizes[2] == 10);
    CHECK(j.act[0] == GP_ACT_SIGMOID);
    /* paths given with --set are taken as they are; csv replaces images and labels */
    CHECK(!strcmp(j.test.csv, "rel/test.csv") && !j.test.images[0] && !j.test.labels[0]);
    CHECK(j.schedule == GP_SCHED_STEP && !strcmp(j.scheme, "matdot") && j.m == 1 && j.n == 3);
    CHECK(j.nrules == 1 && j.rules[0].node == 2 && j.rules[0].op == GP_FAULT_UPDATE &&
          j.rules[0].probability == 0.5);
    CHECK(!strcmp(j.name, "run:2") && j.lr == 0.01 && j.init_seed == 12);
    CHECK(j.precision == GP_PREC_FLOAT32);
    const char *badprec[] = {"precision=float16"};
    CHECK(parse_set(badprec, 1, &j2, &why2) == GP_EINVAL && strstr(why2.text, "precision"));
    /* the rest of the file stays */
    CHECK(j.batch == 32 && j.shuffle_seed == UINT64_MAX && j.normalize == GP_NORM_SCALE);

    /* a whole section as a flow mapping */
    const char *sec[] = {"training={batch: 8, lr: 0.5}"};
    REQUIRE(parse_set(sec, 1, &j, &why) == GP_OK);
    CHECK(j.batch == 8 && j.lr == 0.5 && j.epochs == 3);

    /* the layers given by --set, the file's activation list no longer fits */
    const char *mis[] = {"model.layers=[784,10]"};
    CHECK(parse_set(mis, 1, &j, &why) == GP_EINVAL);
    CHECKF(strstr(why.text, "f.yaml:4:15: model.activation:") &&
               strstr(why.text, "0 hidden layers"),
           "%s", why.text);

    /* mistakes name the override and the key */
    const struct {
        const char *set, *want;
    } bad[] = {
        {"training.epoch=1", "--set training.epoch=1: unknown key 'training.epoch' (known in "
                             "training: batch, epochs"},
        {"trainer.epochs=1", "--set trainer.epochs=1: unknown key 'trainer.epochs'"},
        {"epochs=1", "--set epochs=1: unknown key 'epochs' (known: name, model"},
        {"training.epochs", "--set training.epochs: must be KEY=VALUE"},
        {"=3", "--set =3: must be KEY=VALUE"},
        {"training.epochs=0", "--set training.epochs=0: training.epochs: must be an integer in 1 "
                              ".. 10000, not '0'"},
        {"training.epochs=", "--set training.epochs=: training.epochs: must be an integer"},
        {"training.lr=x", "--set training.lr=x: training.lr: must be a number above 0"},
        {"model.layers=[784,", "--set model.layers=[784,: model.layers: not valid YAML"},
        {"model.layers=[784]", "--set model.layers=[784]: model.layers: has 1 entries"},
        {"model.layers=[784,x,10]", "--set model.layers=[784,x,10]: model.layers[1]: must be an "
                                    "integer in 1 .. 65536, not 'x'"},
        {"faults.rules=[{op: x, probability: 1}]",
         "--set faults.rules=[{op: x, probability: 1}]: faults.rules[0].op: must be multiply"},
        {"training={batch: 8, size: 3}", "--set training={batch: 8, size: 3}: training.size: "
                                         "unknown key"},
        {"code.scheme=gpdd", "--set code.scheme=gpdd: code.scheme: must be gpd"},
        {"data.train={csv: a, images: b}", "--set data.train={csv: a, images: b}: data.train: "
                                           "give either 'images' and 'labels' (IDX), or 'csv', "
                                           "not both"},
        {"training.lr_min=0.5", "--set training.lr_min=0.5: training.lr_min: is 0.5; it must not "
                                "exceed training.lr"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *s[] = {bad[i].set};
        e = parse_set(s, 1, &j, &why);
        CHECKF(e == GP_EINVAL && strncmp(why.text, bad[i].want, strlen(bad[i].want)) == 0,
               "%s: %s: '%s'", bad[i].set, gp_errname(e), why.text);
    }
    /* too many */
    const char *many[GP_JOB_MAX_SET + 1];
    for (int i = 0; i <= GP_JOB_MAX_SET; i++) many[i] = "training.epochs=1";
    CHECK(parse_set(many, GP_JOB_MAX_SET, &j, &why) == GP_OK);
    CHECK(parse_set(many, GP_JOB_MAX_SET + 1, &j, &why) == GP_EINVAL);
    /* required keys may come from --set */
    const char *req[] = {"model.layers=[3,2]", "data.train.csv=a", "data.test.csv=b"};
    CHECK(gp_job_parse("name: x\n", 8, "r.yaml", NULL, req, 3, &j, &why) == GP_OK &&
          j.nlayers == 1 && !strcmp(j.train.csv, "a"));
}

static void files(void)
{
    gp_job j;
    gp_msg why = {{0}};
    CHECK(gp_job_load("/nonexistent/job.yaml", NULL, 0, &j, &why) == GP_EIO);
    CHECK(strstr(why.text, "/nonexistent/job.yaml") != NULL);
    char dir[] = "/tmp/gpdot-job-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/small.job.yaml", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    CHECK(write(fd, minimal, sizeof minimal - 1) == (ssize_t)(sizeof minimal - 1));
    close(fd);
    const char *set[] = {"training.batch=5"};
    REQUIRE(gp_job_load(path, set, 1, &j, &why) == GP_OK);
    char want[160];
    snprintf(want, sizeof want, "%s/train.csv", dir); /* relative to the file's directory */
    CHECK(!strcmp(j.train.csv, want) && !strcmp(j.test.csv, "/abs/test.csv"));
    CHECK(!strcmp(j.name, "small.job") && j.batch == 5);
    fd = open(path, O_WRONLY | O_TRUNC); /* now a mistake on line 2 */
    CHECK(write(fd, "model:\n  layers: [4, 3, 2x]\n", 28) == 28);
    close(fd);
    CHECK(gp_job_load(path, NULL, 0, &j, &why) == GP_EINVAL);
    snprintf(want, sizeof want, "%s:2:18: model.layers[2]:", path);
    CHECKF(!strncmp(why.text, want, strlen(want)), "%s", why.text);
    unlink(path);
    rmdir(dir);
}

static const test_case cases[] = {
    {"defaults", defaults}, {"full_file", full_file}, {"mistakes", mistakes},
    {"shapes", shapes},     {"overrides", overrides}, {"files", files},
};

TEST_MAIN(cases)
