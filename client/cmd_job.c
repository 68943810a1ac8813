/* cmd_job.c - the gpdot-client commands for training jobs on a cluster:
 * submit, watch, status JOB, fetch JOB and cancel. */
#define _DEFAULT_SOURCE /* realpath */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gp_file.h"
#include "gp_model.h"
#include "gp_train.h"
#include "gpdot.h"

/* The file whole, or NULL with why set (at most max bytes). */
static char *read_all(const char *path, size_t max, const char *what, size_t *len, gp_msg *why)
{
    char *buf;
    return gp_read_file(path, max, what, &buf, len, why) == GP_OK ? buf : NULL;
}

/* An absolute path for a file the daemons read (the client's view of it). */
static void absolute(const char *path, char *out, size_t len)
{
    char *r = realpath(path, NULL);
    snprintf(out, len, "%s", r ? r : path);
    free(r);
}

/* ---- submit -------------------------------------------------------------------------- */

const char cmd_submit_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml submit JOB.yaml [--set KEY=VALUE ...] [--upload]\n"
    "                    [--watch]\n"
    "Sends a training job to every node and prints its id; the nodes train it together.\n"
    "Data paths are resolved here and each node reads the files from its own disk; with\n"
    "--upload the files are sent with the job instead. --watch follows it like 'watch'.\n";

int cmd_watch(int argc, char **argv);

int cmd_submit(int argc, char **argv)
{
    const char *file = NULL, *v;
    const char *sets[GP_JOB_MAX_SET];
    int nset = 0;
    bool upload = false, watch = false;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--set", &v)) {
            if (nset == GP_JOB_MAX_SET) return cli_error(2, "at most %d --set", GP_JOB_MAX_SET);
            if (strchr(v, '\n')) return cli_error(2, "--set %s: no newlines", v);
            sets[nset++] = v;
        } else if (!strcmp(argv[i], "--upload"))
            upload = true;
        else if (!strcmp(argv[i], "--watch"))
            watch = true;
        else if (argv[i][0] == '-' || file)
            return cli_error(2, "submit: unexpected argument '%s'", argv[i]);
        else
            file = argv[i];
    }
    if (!file) return cli_error(2, "submit: give a job file\n%s", cmd_submit_usage);
    gp_msg why = {{0}};
    gp_job job;
    if (gp_job_load(file, sets, nset, &job, &why) != GP_OK) return cli_error(2, "%s", why.text);
    size_t tlen;
    char *text = read_all(file, (size_t)1 << 20, "a job file", &tlen, &why);
    if (!text) return cli_error(1, "%s", why.text);
    /* the overrides, then the data paths made absolute */
    static char paths[8][PATH_MAX + 64];
    const char *keys[6] = {"data.train.images", "data.train.labels", "data.train.csv",
                           "data.test.images",  "data.test.labels",  "data.test.csv"};
    const char *vals[6] = {job.train.images, job.train.labels, job.train.csv,
                           job.test.images,  job.test.labels,  job.test.csv};
    size_t slen = 0;
    char *set = calloc(1, 16 * 1024);
    for (int i = 0; set && i < nset; i++)
        slen += (size_t)snprintf(set + slen, 16 * 1024 - slen, "%s\n", sets[i]);
    if (set) /* the name as parsed here (the file's name when the job gives none) */
        slen += (size_t)snprintf(set + slen, 16 * 1024 - slen, "name=%s\n", job.name);
    gpdot_upload up = {0};
    char *files[4] = {0};
    int np = 0;
    for (int i = 0; set && i < 6; i++) {
        if (!vals[i][0]) continue;
        char abs[PATH_MAX];
        absolute(vals[i], abs, sizeof abs);
        snprintf(paths[np], sizeof paths[np], "%s=%s", keys[i], abs);
        slen += (size_t)snprintf(set + slen, 16 * 1024 - slen, "%s\n", paths[np]);
        np++;
        if (upload) {
            int slot = i < 3 ? (i == 1 ? 1 : 0) : (i == 4 ? 3 : 2);
            files[slot] =
                read_all(abs, (size_t)1 << 31, "a data file to upload", &up.len[slot], &why);
            if (!files[slot]) {
                for (int k = 0; k < 4; k++) free(files[k]);
                free(text);
                free(set);
                return cli_error(1, "%s", why.text);
            }
            up.data[slot] = files[slot];
        }
    }
    if (!set) return cli_error(1, "out of memory");
    gpdot_t *c = cli_open_cluster();
    gpdot_set_timeout(c, upload ? 60000 : 10000);
    uint64_t id, accepted;
    gp_err e = gpdot_submit(c, text, tlen, set, upload ? &up : NULL, &id, &accepted, &why);
    int n = gpdot_nodes(c);
    gpdot_close(&c);
    for (int k = 0; k < 4; k++) free(files[k]);
    free(text);
    free(set);
    if (e != GP_OK) return cli_error(1, "%s", why.text);
    printf("%016" PRIx64 "\n", id);
    fflush(stdout);
    if (__builtin_popcountll(accepted) < n) {
        fprintf(stderr, "gpdot-client: nodes");
        for (int p = 0; p < n; p++)
            if (!(accepted >> p & 1)) fprintf(stderr, " %d", p);
        fprintf(stderr, " did not take the job; the others train without them\n");
    }
    if (!watch) return 0;
    char idtext[20];
    snprintf(idtext, sizeof idtext, "%016" PRIx64, id);
    char *wargv[] = {"watch", idtext, NULL};
    return cmd_watch(2, wargv);
}

/* ---- status and watch ------------------------------------------------------------------ */

/* The view shown: among the answering nodes whose state most of the
 * answering nodes share (a node that was stopped, cut off or restarted may
 * still be catching up, or have given up on a job the others finished), the
 * one that has run the job longest (the lowest-numbered of equals): a node
 * restarted mid-job counts only from its restart. */
static const gpdot_job_info *pick(const gpdot_job_info *info, int n)
{
    const gpdot_job_info *best = NULL;
    int best_votes = 0;
    for (int p = 0; p < n; p++) {
        if (!info[p].answered) continue;
        int votes = 0;
        for (int q = 0; q < n; q++)
            votes += info[q].answered && !strcmp(info[q].state, info[p].state);
        if (votes > best_votes || (votes == best_votes && !strcmp(info[p].state, best->state) &&
                                   info[p].elapsed > best->elapsed)) {
            best = &info[p];
            best_votes = votes;
        }
    }
    return best;
}

static void json_num(const char *key, double v, bool comma)
{
    if (isfinite(v))
        printf("\"%s\": %.6g%s", key, v, comma ? ", " : "");
    else
        printf("\"%s\": null%s", key, comma ? ", " : "");
}

/* The nodes more than half of the answering nodes hold for suspects. */
static uint64_t suspects(const gpdot_job_info *info, int n, int *answering)
{
    int votes[64] = {0}, a = 0;
    for (int p = 0; p < n; p++) {
        if (!info[p].answered) continue;
        a++;
        for (int q = 0; q < n && q < 64; q++) votes[q] += info[p].suspects >> q & 1;
    }
    uint64_t s = 0;
    for (int q = 0; q < n && q < 64; q++)
        if (2 * votes[q] > a) s |= 1ull << q;
    if (answering) *answering = a;
    return s;
}

static void json_list(const char *key, const uint64_t *v, int n)
{
    printf("\"%s\": [", key);
    for (int q = 0; q < n; q++) printf("%s%" PRIu64, q ? ", " : "", v[q]);
    printf("], ");
}

static void print_json(const gpdot_job_info *info, int n)
{
    const gpdot_job_info *s = pick(info, n);
    /* what each node does to its own blocks and copies is summed over nodes;
     * what every node sees alike (decodes, votes) is the reporting node's */
    uint64_t injected = 0, regenerated = 0;
    for (int p = 0; p < n; p++)
        if (info[p].answered) {
            injected += gpdot_job_counter(&info[p], "errors_injected");
            regenerated += gpdot_job_counter(&info[p], "blocks_regenerated");
        }
    printf("{\"job\": \"%s\", \"state\": \"%s\", \"epoch\": %d, \"step\": %" PRIu64 ", ", s->name,
           s->state, s->epoch, s->step);
    json_num("loss", s->has_loss ? s->loss : NAN, true);
    json_num("test_accuracy", s->accuracy >= 0 ? s->accuracy : NAN, true);
    printf("\"errors_injected\": %" PRIu64 ", \"errors_corrected\": %" PRIu64
           ", \"errors_detected\": %" PRIu64 ", \"steps_redone\": %" PRIu64 ", \"nodes_up\": %d, ",
           injected, gpdot_job_counter(s, "errors_corrected"),
           gpdot_job_counter(s, "errors_detected"), gpdot_job_counter(s, "steps_redone"),
           __builtin_popcountll(s->nodes_up));
    json_num("samples_per_s", s->rate, true);
    json_num("elapsed_s", s->elapsed, true);
    printf("\"id\": \"%016" PRIx64 "\", \"epochs\": %d, \"steps\": %" PRIu64
           ", \"steps_skipped\": %" PRIu64 ", \"blocks_regenerated\": %" PRIu64
           ", \"rollbacks\": %" PRIu64 ", \"nodes_lost\": %" PRIu64
           ", \"partials_missing\": %" PRIu64 ", ",
           s->job, s->epochs, s->steps, gpdot_job_counter(s, "steps_skipped"), regenerated,
           gpdot_job_counter(s, "rollbacks"), gpdot_job_counter(s, "nodes_lost"),
           gpdot_job_counter(s, "partials_missing"));
    json_num("seconds_compute", gpdot_job_counter(s, "us_compute") / 1e6, true);
    json_num("seconds_coding", gpdot_job_counter(s, "us_coding") / 1e6, true);
    json_num("seconds_waiting", gpdot_job_counter(s, "us_wait") / 1e6, true);
    int answering = 0;
    uint64_t sus = suspects(info, n, &answering);
    /* per node: what the reporting node's decodes and checks found */
    json_list("node_errors", s->node_wrong, s->nstats);
    json_list("node_blocks_off_code", s->node_off, s->nstats);
    printf("\"suspects\": [");
    for (int q = 0, k = 0; q < n; q++)
        if (sus >> q & 1) printf("%s%d", k++ ? ", " : "", q);
    printf("], ");
    /* each node's own view: its state and its steps done (null: not answering) */
    printf("\"node_states\": [");
    for (int q = 0; q < n; q++)
        printf(info[q].answered ? "%s\"%s\"" : "%snull", q ? ", " : "", info[q].state);
    printf("], \"node_steps\": [");
    for (int q = 0; q < n; q++)
        if (info[q].answered)
            printf("%s%" PRIu64, q ? ", " : "", info[q].step);
        else
            printf("%snull", q ? ", " : "");
    printf("], ");
    printf("\"nodes_answering\": %d, \"reason\": ", answering);
    cli_json_str(s->reason);
    printf("}\n");
}

static bool terminal(const char *state)
{
    return !strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "cancelled");
}

const char cmd_job_status_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml status JOB [--json]\n"
    "A job's state (queued, running, waiting, done, failed, cancelled) and progress,\n"
    "as seen\n"
    "by the node that has run it longest among those in the state most nodes report;\n"
    "errors injected are summed over nodes.\n";

int cmd_job_status(int argc, char **argv)
{
    const char *jobtext = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!jobtext)
            jobtext = argv[i];
        else
            return cli_error(2, "status: unexpected argument '%s'", argv[i]);
    uint64_t id;
    if (!jobtext || !cli_parse_job(jobtext, &id))
        return cli_error(2, "status: '%s' is not a job id (16 hex digits, or latest)",
                         jobtext ? jobtext : "");
    gpdot_t *c = cli_open_cluster();
    gpdot_set_timeout(c, 3000);
    int n = gpdot_nodes(c);
    gpdot_job_info *info = calloc((size_t)n, sizeof *info);
    gp_msg why = {{0}};
    gp_err e = gpdot_job_status(c, id, info, &why);
    gpdot_close(&c);
    if (e != GP_OK) {
        free(info);
        return cli_error(1, "%s", why.text);
    }
    const gpdot_job_info *s = pick(info, n);
    if (json) {
        print_json(info, n);
    } else {
        printf("job %016" PRIx64 " '%s': %s, epoch %d of %d, step %" PRIu64 " of %" PRIu64, s->job,
               s->name, s->state, s->epoch, s->epochs, s->step, s->steps);
        if (s->has_loss) printf(", loss %.4f", s->loss);
        if (s->accuracy >= 0) printf(", test accuracy %.4f", s->accuracy);
        printf("\n");
        for (int p = 0; p < n; p++) {
            if (!info[p].answered) {
                printf("  node %d: not answering\n", p);
                continue;
            }
            printf("  node %d: %s step %" PRIu64 ";", p, info[p].state, info[p].step);
            for (int i = 0; i < info[p].ncounters; i++)
                if (info[p].counter[i] && strncmp(info[p].counter_name[i], "us_", 3))
                    printf(" %s %" PRIu64, info[p].counter_name[i], info[p].counter[i]);
            printf("\n");
        }
        if (s->nstats) {
            printf("  per node, as node %d sees it: outputs found wrong", (int)(s - info));
            for (int q = 0; q < s->nstats; q++) printf(" %" PRIu64, s->node_wrong[q]);
            printf("; stored blocks found off the code");
            for (int q = 0; q < s->nstats; q++) printf(" %" PRIu64, s->node_off[q]);
            printf("\n");
        }
        uint64_t sus = suspects(info, n, NULL);
        if (sus) {
            printf("  suspects (held so by most nodes):");
            for (int q = 0; q < n; q++)
                if (sus >> q & 1) printf(" %d", q);
            printf("\n");
        }
        if (s->reason[0]) printf("  reason: %s\n", s->reason);
    }
    int rc = 0; /* the status was shown; watch tells success from failure */
    gpdot_job_info_free(info, n);
    free(info);
    return rc;
}

const char cmd_watch_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml watch [JOB] [--interval MS]\n"
    "Follows a job (default: the latest) with a progress line: epoch, step, loss,\n"
    "samples per second, ETA, errors corrected. Exits 0 when the job is done, 1 when\n"
    "it fails or is cancelled or the cluster stops answering.\n";

int cmd_watch(int argc, char **argv)
{
    const char *jobtext = "latest", *v;
    long interval = 500;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--interval", &v))
            interval = cli_long("--interval", v, 50, 60000);
        else if (argv[i][0] != '-')
            jobtext = argv[i];
        else
            return cli_error(2, "watch: unexpected argument '%s'", argv[i]);
    }
    uint64_t id;
    if (!cli_parse_job(jobtext, &id)) return cli_error(2, "watch: '%s' is not a job id", jobtext);
    gpdot_t *c = cli_open_cluster();
    gpdot_set_timeout(c, 3000);
    int n = gpdot_nodes(c);
    gpdot_job_info *info = calloc((size_t)n, sizeof *info);
    bool tty = isatty(2);
    int last_epoch = -1, rc = 1, silent = 0;
    uint64_t last_pct = UINT64_MAX;
    for (;;) {
        gp_msg why = {{0}};
        gp_err e = gpdot_job_status(c, id, info, &why);
        if (e != GP_OK) {
            if (e == GP_ENOTFOUND) {
                cli_error(1, "%s", why.text);
                break;
            }
            if (++silent * interval > 30000) {
                cli_error(1, "the cluster has not answered for 30 s: %s", why.text);
                break;
            }
        } else {
            silent = 0;
            const gpdot_job_info *s = pick(info, n);
            id = s->job;
            uint64_t corrected = gpdot_job_counter(s, "errors_corrected"),
                     redone = gpdot_job_counter(s, "steps_redone");
            double eta = s->rate > 0 && s->steps > s->step
                             ? (double)(s->steps - s->step) * (s->elapsed / (double)(s->step + 1))
                             : 0;
            char line[512];
            int len = snprintf(line, sizeof line, "%s epoch %d/%d step %" PRIu64 "/%" PRIu64,
                               s->state, s->epoch, s->epochs, s->step, s->steps);
            if (s->has_loss)
                len += snprintf(line + len, sizeof line - (size_t)len, " loss %.4f", s->loss);
            len += snprintf(line + len, sizeof line - (size_t)len,
                            " %.0f samples/s ETA %.0fs corrected %" PRIu64 " redone %" PRIu64
                            " nodes %d/%d",
                            s->rate, eta, corrected, redone, __builtin_popcountll(s->nodes_up), n);
            if (s->accuracy >= 0)
                len += snprintf(line + len, sizeof line - (size_t)len, " test %.4f", s->accuracy);
            /* a job that waits (for a quorum, for redundancy) says what for */
            if (!strcmp(s->state, "waiting") && s->reason[0] && len < (int)sizeof line)
                snprintf(line + len, sizeof line - (size_t)len, " (%s)", s->reason);
            uint64_t pct = s->steps ? 10 * s->step / s->steps : 0;
            if (tty) {
                int width = 24, done = s->steps ? (int)(width * s->step / s->steps) : 0;
                fprintf(stderr, "\r[%.*s%*s] %s\033[K", done, "########################",
                        width - done, "", line);
            } else if (pct != last_pct || s->epoch != last_epoch || terminal(s->state)) {
                fprintf(stderr, "%s\n", line);
            }
            last_pct = pct;
            last_epoch = s->epoch;
            if (terminal(s->state)) {
                if (tty) fputc('\n', stderr);
                if (s->reason[0]) fprintf(stderr, "reason: %s\n", s->reason);
                printf("job %016" PRIx64 " %s", s->job, s->state);
                if (s->accuracy >= 0) printf(": test accuracy %.4f", s->accuracy);
                printf("\n");
                rc = strcmp(s->state, "done") == 0 ? 0 : 1;
                break;
            }
        }
        gpdot_job_info_free(info, n);
        struct timespec ts = {interval / 1000, (interval % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    gpdot_job_info_free(info, n);
    free(info);
    gpdot_close(&c);
    return rc;
}

/* ---- fetch and cancel ----------------------------------------------------------------- */

const char cmd_job_fetch_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml fetch JOB -o DIR\n"
    "Decodes a finished job's weights from the nodes' blocks (verified by a majority)\n"
    "and writes DIR/W<l>.npy, DIR/b<l>.npy and DIR/model.yaml.\n";

int cmd_job_fetch(int argc, char **argv)
{
    const char *jobtext = NULL, *dir = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-o", &v) || cli_opt(argc, argv, &i, "--out", &v))
            dir = v;
        else if (!jobtext && argv[i][0] != '-')
            jobtext = argv[i];
        else
            return cli_error(2, "fetch: unexpected argument '%s'", argv[i]);
    }
    uint64_t id;
    if (!jobtext || !cli_parse_job(jobtext, &id) || !dir)
        return cli_error(2, "%s", cmd_job_fetch_usage);
    gpdot_t *c = cli_open_cluster();
    int n = gpdot_nodes(c);
    gpdot_job_info *info = calloc((size_t)n, sizeof *info);
    gp_msg why = {{0}};
    gp_err e = gpdot_job_status(c, id, info, &why);
    int rc = 0;
    const gpdot_job_info *s = e == GP_OK ? pick(info, n) : NULL;
    gp_job job;
    gp_rmat w[GP_JOB_MAX_LAYERS] = {{0}};
    if (!s) {
        rc = cli_error(1, "%s", why.text);
    } else if (strcmp(s->state, "done") && strcmp(s->state, "cancelled")) {
        rc = cli_error(1, "job %016" PRIx64 " is %s: its weights are kept once it ends", s->job,
                       s->state);
    } else if (!s->text || !s->has_stats) {
        rc = cli_error(1, "job %016" PRIx64 ": the nodes did not describe it", s->job);
    } else {
        /* the job file and its overrides, as the nodes parsed them */
        char *sep = strstr(s->text, "\n#--set\n");
        const char *sets[GP_JOB_MAX_SET + 8];
        int nset = 0;
        if (sep) {
            *sep = 0;
            for (char *save = NULL, *line = strtok_r(sep + 8, "\n", &save);
                 line && nset < GP_JOB_MAX_SET + 8; line = strtok_r(NULL, "\n", &save))
                sets[nset++] = line;
        }
        e = gp_job_parse(s->text, strlen(s->text), "job", NULL, sets, nset, &job, &why);
        if (e != GP_OK) rc = cli_error(1, "%s", why.text);
        for (int l = 0; rc == 0 && l < job.nlayers; l++) {
            char name[64];
            snprintf(name, sizeof name, "job-%016" PRIx64 ".W%d", s->job, l);
            if ((e = gpdot_fetch(c, name, &w[l], &why)) != GP_OK)
                rc = cli_error(e == GP_EDETECTED ? 3 : 1, "%s", why.text);
            else if (w[l].rows != (size_t)job.sizes[l + 1] || w[l].cols != (size_t)job.sizes[l] + 1)
                rc = cli_error(1, "layer %d came back %zux%zu", l, w[l].rows, w[l].cols);
        }
        if (rc == 0) {
            char extra[512];
            int el = snprintf(
                extra, sizeof extra,
                "job_id: \"%016" PRIx64 "\"\nstate: %s\nepochs_done: %d\nsteps_done: %" PRIu64
                "\nerrors_corrected: %" PRIu64 "\n",
                s->job, s->state, s->epoch, s->step, gpdot_job_counter(s, "errors_corrected"));
            if (s->accuracy >= 0)
                snprintf(extra + el, sizeof extra - (size_t)el, "test_accuracy: %.6f\n",
                         s->accuracy);
            gp_norm_stats st = {s->mean, s->scale};
            if (gp_model_save(dir, &job, w, st, extra, &why) != GP_OK)
                rc = cli_error(1, "%s", why.text);
            else if (s->accuracy >= 0)
                printf("%s: %d layers of job %016" PRIx64 " (test accuracy %.4f)\n", dir,
                       job.nlayers, s->job, s->accuracy);
            else
                printf("%s: %d layers of job %016" PRIx64 " (%s before its first epoch ended)\n",
                       dir, job.nlayers, s->job, s->state);
        }
    }
    for (int l = 0; l < GP_JOB_MAX_LAYERS; l++) gp_rmat_free(&w[l]);
    gpdot_job_info_free(info, n);
    free(info);
    gpdot_close(&c);
    return rc;
}

const char cmd_cancel_usage[] = "usage: gpdot-client -c CLUSTER.yaml cancel JOB\n"
                                "Stops a queued or running job on every node.\n";

int cmd_cancel(int argc, char **argv)
{
    uint64_t id;
    if (argc != 2 || !cli_parse_job(argv[1], &id)) return cli_error(2, "%s", cmd_cancel_usage);
    gpdot_t *c = cli_open_cluster();
    gp_msg why = {{0}};
    gp_err e = gpdot_cancel(c, id, &why);
    gpdot_close(&c);
    if (e != GP_OK) return cli_error(1, "%s", why.text);
    printf("cancelled\n");
    return 0;
}
