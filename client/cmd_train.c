/* gpdot-client train --local and eval: the reference trainer in this process
 * (plain OpenBLAS products, the same arithmetic as the daemons), and the
 * accuracy of a saved model on a data set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gp_blas.h"
#include "gp_model.h"
#include "gp_train.h"

const char cmd_train_usage[] =
    "usage: gpdot-client train --local JOB.yaml [--set KEY=VALUE ...] [-o DIR] [--json] [--quiet]\n"
    "\n"
    "Trains the job's model in this process with plain OpenBLAS products: the reference\n"
    "for a cluster run (which is `gpdot-client submit`). The job file is described in\n"
    "common/train/gp_job.h; its code and faults sections do not apply here (nothing is\n"
    "coded, so nothing is injected). Progress goes to stderr: one updating line on a\n"
    "terminal, else a line per epoch. The test set is evaluated after every epoch.\n"
    "\n"
    "  --local           train here (required: cluster training is `submit`)\n"
    "  --set KEY=VALUE   override a key of the job file, e.g. training.epochs=1,\n"
    "                    model.layers=[784,64,10], data.train.images=PATH (paths given\n"
    "                    here are relative to the current directory); repeatable\n"
    "  -o DIR            save the model: DIR/W<l>.npy, DIR/b<l>.npy, DIR/model.yaml\n"
    "  --json            end with one JSON object on stdout: job, state, epoch, step,\n"
    "                    loss, test_accuracy, errors_injected, errors_corrected,\n"
    "                    errors_detected, steps_redone, nodes_up, samples_per_s, elapsed_s\n"
    "  --quiet           no progress\n"
    "\n"
    "OpenBLAS uses OPENBLAS_NUM_THREADS threads if set, else 1.\n";

const char cmd_eval_usage[] =
    "usage: gpdot-client eval DIR (--images F --labels F | --csv F) [--limit N] [--json]\n"
    "\n"
    "Loads a model saved by `train -o DIR` and prints its accuracy and mean cross-entropy\n"
    "on a data set (IDX files, gzipped or not, or a CSV file with the label first),\n"
    "normalised as in training.\n"
    "\n"
    "  --limit N   use the first N samples only\n"
    "  --json      print {\"model\", \"samples\", \"accuracy\", \"loss\"} as one JSON object\n";

static void blas_threads(void)
{
    const char *s = getenv("OPENBLAS_NUM_THREADS");
    char *end;
    long n = s ? strtol(s, &end, 10) : 0;
    gp_blas_set_threads(s && *s && !*end && n >= 1 && n <= 256 ? (int)n : 1);
}

/* A JSON string (the job's name may hold anything printable). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *hms(double s, char *buf, size_t len)
{
    if (!(s >= 0) || s > 359999) s = 359999;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

typedef struct show {
    const gp_job *job;
    bool tty, quiet;
    uint64_t spe;
    bool drawn;
} show;

static void progress(const gp_train_progress *p, void *arg)
{
    show *s = arg;
    if (s->quiet) return;
    bool epoch_end = p->step == (uint64_t)p->epoch * s->spe;
    double rate = p->elapsed_s > 0 ? (double)p->step / p->elapsed_s : 0;
    char eta[32], el[32], acc[32] = "";
    hms(rate > 0 ? (double)(p->steps - p->step) / rate : 0, eta, sizeof eta);
    if (p->test_accuracy >= 0) snprintf(acc, sizeof acc, "  test %.4f", p->test_accuracy);
    if (s->tty) {
        int width = 24,
            done = p->steps ? (int)((double)width * (double)p->step / (double)p->steps) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < done ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr,
                "\r\033[Kepoch %d/%d [%s] step %llu/%llu  loss %.4f  %.0f samples/s  ETA %s%s",
                p->epoch, s->job->epochs, bar, (unsigned long long)p->step,
                (unsigned long long)p->steps, p->loss, p->samples_per_s, eta, acc);
        s->drawn = true;
    } else if (epoch_end) {
        fprintf(stderr,
                "epoch %d/%d: step %llu/%llu, loss %.4f, test accuracy %.4f, %.0f samples/s, "
                "%s elapsed, ETA %s\n",
                p->epoch, s->job->epochs, (unsigned long long)p->step, (unsigned long long)p->steps,
                p->loss, p->test_accuracy, p->samples_per_s, hms(p->elapsed_s, el, sizeof el), eta);
    }
    fflush(stderr);
}

static void describe(const gp_job *j, char *buf, size_t len)
{
    size_t n = 0;
    for (int l = 0; l <= j->nlayers; l++)
        n += (size_t)snprintf(buf + n, len - n, "%s%d", l ? "-" : "", j->sizes[l]);
    for (int l = 0; l < j->nlayers - 1 && n < len; l++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", l ? "," : " ", gp_act_name(j->act[l]));
}

int cmd_train(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *v;
    const char *set[GP_JOB_MAX_SET];
    int nset = 0;
    bool local = false, json = false, quiet = false;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--set", &v)) {
            if (nset == GP_JOB_MAX_SET)
                return cli_error(2, "train: at most %d --set overrides", GP_JOB_MAX_SET);
            set[nset++] = v;
        } else if (cli_opt(argc, argv, &i, "-o", &v) || cli_opt(argc, argv, &i, "--out", &v)) {
            out = v;
        } else if (!strcmp(argv[i], "--local")) {
            local = true;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q")) {
            quiet = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error(2, "train: unknown option '%s' (see gpdot-client train --help)",
                             argv[i]);
        } else if (!file) {
            file = argv[i];
        } else {
            return cli_error(2, "train: one job file only ('%s' and '%s')", file, argv[i]);
        }
    }
    if (!local)
        return cli_error(2, "train: training on a cluster is `gpdot-client -c CLUSTER.yaml submit "
                            "JOB.yaml`; `train --local JOB.yaml` trains in this process");
    if (!file) return cli_error(2, "train: a job file is required (train --local JOB.yaml)");

    gp_job job;
    gp_msg why = {{0}};
    gp_err e = gp_job_load(file, set, nset, &job, &why);
    if (e != GP_OK) return cli_error(e == GP_EIO ? 1 : 2, "%s", why.text);
    blas_threads();

    gp_dataset train, test;
    if ((e = gp_data_load(&job.train, job.train_limit, &train, &why)) != GP_OK)
        return cli_error(1, "%s", why.text);
    if ((e = gp_data_load(&job.test, job.test_limit, &test, &why)) != GP_OK) {
        gp_data_free(&train);
        return cli_error(1, "%s", why.text);
    }
    int rc = 0;
    gp_rmat w[GP_JOB_MAX_LAYERS];
    memset(w, 0, sizeof w);
    if ((e = gp_job_check_data(&job, &train, &test, &why)) != GP_OK) {
        rc = cli_error(1, "%s: %s", file, why.text);
        goto done;
    }
    show s = {&job, isatty(2) != 0, quiet, gp_train_steps_per_epoch(&job, train.count), false};
    if (!quiet) {
        char shape[160];
        describe(&job, shape, sizeof shape);
        fprintf(stderr,
                "%s: %s, %zu training and %zu test samples, batch %d, %llu steps per epoch, "
                "%d epoch%s\n",
                job.name, shape, train.count, test.count, job.batch, (unsigned long long)s.spe,
                job.epochs, job.epochs == 1 ? "" : "s");
    }
    gp_train_progress fin;
    e = gp_train_local(&job, &train, &test, w, progress, &s, &fin, &why);
    if (s.drawn) fputc('\n', stderr);
    if (e != GP_OK) {
        rc = cli_error(1, "%s: %s", job.name, why.text);
        goto done;
    }
    gp_norm_stats st = gp_data_stats(&train, job.normalize);
    double acc, loss;
    if ((e = gp_train_evaluate(&job, w, &test, st, &acc, &loss)) != GP_OK) {
        rc = cli_error(1, "%s: no memory to evaluate the test set", job.name);
        goto done;
    }
    if (out) {
        char extra[512];
        snprintf(extra, sizeof extra,
                 "epochs: %d\nsteps: %llu\nloss: %.6g\ntest_accuracy: %.6g\ntest_loss: %.6g\n"
                 "samples_per_s: %.1f\nelapsed_s: %.3f\n",
                 fin.epoch, (unsigned long long)fin.step, fin.loss, acc, loss, fin.samples_per_s,
                 fin.elapsed_s);
        if ((e = gp_model_save(out, &job, w, st, extra, &why)) != GP_OK) {
            rc = cli_error(1, "%s", why.text);
            goto done;
        }
    }
    if (json) {
        printf("{\"job\": ");
        json_str(stdout, job.name);
        printf(", \"state\": \"done\", \"epoch\": %d, \"step\": %llu, \"loss\": %.6g, "
               "\"test_accuracy\": %.6g, \"errors_injected\": 0, \"errors_corrected\": 0, "
               "\"errors_detected\": 0, \"steps_redone\": 0, \"nodes_up\": 1, "
               "\"samples_per_s\": %.1f, \"elapsed_s\": %.3f}\n",
               fin.epoch, (unsigned long long)fin.step, fin.loss, fin.test_accuracy,
               fin.samples_per_s, fin.elapsed_s);
    } else {
        char el[32];
        printf("%s: test accuracy %.4f (loss %.4f) after %d epoch%s, %llu steps; training loss "
               "%.4f; %s, %.0f samples/s\n",
               job.name, acc, loss, fin.epoch, fin.epoch == 1 ? "" : "s",
               (unsigned long long)fin.step, fin.loss, hms(fin.elapsed_s, el, sizeof el),
               fin.samples_per_s);
        if (out) printf("model saved in %s\n", out);
    }
done:
    for (int l = 0; l < job.nlayers; l++) gp_rmat_free(&w[l]);
    gp_data_free(&train);
    gp_data_free(&test);
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    const char *dir = NULL, *v;
    gp_data_files f;
    memset(&f, 0, sizeof f);
    size_t limit = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *which = NULL;
        char *dst = NULL;
        if (cli_opt(argc, argv, &i, "--images", &v))
            which = "--images", dst = f.images;
        else if (cli_opt(argc, argv, &i, "--labels", &v))
            which = "--labels", dst = f.labels;
        else if (cli_opt(argc, argv, &i, "--csv", &v))
            which = "--csv", dst = f.csv;
        else if (cli_opt(argc, argv, &i, "--limit", &v))
            limit = (size_t)cli_long("--limit", v, 1, 1L << 40);
        else if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_error(2, "eval: unknown option '%s' (see gpdot-client eval --help)",
                             argv[i]);
        else if (!dir)
            dir = argv[i];
        else
            return cli_error(2, "eval: one model directory only ('%s' and '%s')", dir, argv[i]);
        if (dst) {
            if (strlen(v) >= GP_JOB_MAX_PATH)
                return cli_error(2, "eval: %s: the path is too long", which);
            snprintf(dst, GP_JOB_MAX_PATH, "%s", v);
        }
    }
    if (!dir) return cli_error(2, "eval: a model directory is required (eval DIR --images F ...)");
    if (f.csv[0] ? (f.images[0] || f.labels[0]) : (!f.images[0] || !f.labels[0]))
        return cli_error(2, "eval: give --images F and --labels F, or --csv F");
    blas_threads();
    gp_job job;
    memset(&job, 0, sizeof job);
    gp_rmat w[GP_JOB_MAX_LAYERS];
    memset(w, 0, sizeof w);
    gp_norm_stats st;
    gp_msg why = {{0}};
    gp_err e = gp_model_load(dir, &job, w, &st, &why);
    if (e != GP_OK) return cli_error(1, "%s", why.text);
    gp_dataset ds;
    int rc = 0;
    if ((e = gp_data_load(&f, limit, &ds, &why)) != GP_OK) {
        rc = cli_error(1, "%s", why.text);
    } else if ((e = gp_job_check_data(&job, NULL, &ds, &why)) != GP_OK) {
        rc = cli_error(1, "%s: %s", dir, why.text);
    } else {
        double acc, loss;
        if (gp_train_evaluate(&job, w, &ds, st, &acc, &loss) != GP_OK) {
            rc = cli_error(1, "eval: no memory");
        } else if (json) {
            printf("{\"model\": ");
            json_str(stdout, dir);
            printf(", \"samples\": %zu, \"accuracy\": %.6g, \"loss\": %.6g}\n", ds.count, acc,
                   loss);
        } else {
            printf("%s: accuracy %.4f (%.0f of %zu), loss %.4f\n", dir, acc, acc * (double)ds.count,
                   ds.count, loss);
        }
        gp_data_free(&ds);
    }
    for (int l = 0; l < job.nlayers; l++) gp_rmat_free(&w[l]);
    return rc;
}
