/* load_bench - many clients at once against a running cluster, for a while:
 * no request may fail, no daemon's memory may keep growing, and the latency
 * distribution is reported.
 *
 *   load_bench -c CLUSTER.yaml [--clients N] [--seconds S] [--size N] [--batch B]
 *              [--inputs K] [--dir DIR | --pids FILE] [--interval S] [--rss-limit PCT]
 *              [--warmup S] [--rss-allow MIB] [--rss-log FILE]
 *
 * One W (size x size, normal entries) is stored with gpd m = n = 2 row. Each
 * client thread has its own connection (gpdot_connect) and, from a common
 * start until the deadline, multiplies W by one of its K inputs (size x B)
 * after the other, fetching the verified result, and checks every result
 * against a product computed here with OpenBLAS before the run. A request
 * fails when gpdot_multiply returns an error or the result is off by more
 * than the error budget:
 *
 *   ||Y - W x||_F <= b_f ||W x||_F
 *                    + max(kappa, 1) 4 (n + 2mn + 8) u mn max(m, n) ||W||_F ||x||_F
 *                    + n u ||W||_F ||x||_F
 *
 * the first two terms being tests/unit/code_test.c's budget of a decoded
 * product (the decode's own relative error b_f = kappa (2K + 2) u, and the
 * node outputs' rounding carried through the decode, with kappa the code's
 * certified worst case over every base of K_f responders, inner length n =
 * size), the last the reference product's own rounding (gamma_n |W||x|).
 *
 * Every --interval seconds (default 0.5) the main thread reads VmRSS of each
 * daemon from /proc/PID/status (the PIDs from DIR/node<i>.pid, DIR
 * defaulting to the cluster file's directory as deploy/local/cluster.sh
 * leaves it, or one per line from --pids). Memory counts as bounded when
 * every daemon is still there and its median RSS over the second half of the
 * run is at most --rss-limit percent (default 20) above its median over the
 * first half after the warm-up (--warmup seconds, default a sixth of the
 * run, while the daemons' heaps grow to their working size), or at most
 * --rss-allow MiB above it (default 0). A short run needs that: with its
 * halves a few seconds apart, the requests in flight at the samples move
 * the medians by as much as they hold (on each daemon a request's input,
 * the nodes' outputs and the result: 3 MiB at size 1024, B = 64, 8 nodes,
 * each client one at a time; and the allocator keeps as much again of
 * what it freed). Start, peak,
 * end, VmHWM and the trend after the warm-up (Theil-Sen slope) are printed
 * too; --rss-log writes every sample (seconds, then each daemon's KiB) as
 * CSV. It also reports the daemons' CPU time by thread (ZeroMQ I/O, the
 * message loop, the workers), this process's and the other processes', the
 * daemons' counters, and a one-line summary starting "result" for scripts.
 *
 * Exits 0 when every request succeeded, every daemon is still running and
 * memory stayed bounded; 1 otherwise; 2 on a usage error.
 */
#include <dirent.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gp_blas.h"
#include "gp_code.h"
#include "gp_config.h"
#include "gp_rng.h"
#include "gpdot.h"

#define U          (DBL_EPSILON / 2)
#define MAX_DAEMON GP_CONFIG_MAX_NODES
#define MAX_LOGGED 10 /* failures described on stderr; the rest are only counted */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void sleep_until(double t)
{
    double d = t - now();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (time_t)d) * 1e9)};
    nanosleep(&ts, NULL);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double q)
{
    if (!n) return NAN;
    size_t i = (size_t)ceil(q * (double)n);
    return v[i ? i - 1 : 0];
}

static double fro(gp_rmat m)
{
    double s = 0;
    for (size_t i = 0; i < m.rows; i++)
        for (size_t j = 0; j < m.cols; j++) s += m.data[i * m.ld + j] * m.data[i * m.ld + j];
    return sqrt(s);
}

/* ||y - ref||_F, or INFINITY when the shapes differ or y is not finite. */
static double diff_fro(gp_rmat y, gp_rmat ref)
{
    if (y.rows != ref.rows || y.cols != ref.cols || !y.data) return INFINITY;
    double s = 0;
    for (size_t i = 0; i < y.rows; i++)
        for (size_t j = 0; j < y.cols; j++) {
            double d = y.data[i * y.ld + j] - ref.data[i * ref.ld + j];
            s += d * d;
        }
    return s - s == 0 ? sqrt(s) : INFINITY;
}

/* ---- the daemons, from /proc ------------------------------------------------------------ */

/* VmRSS (or VmHWM) of a process in KiB; -1 when it is gone. */
static long proc_kib(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    long kib = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl) && line[kl] == ':') {
            kib = strtol(line + kl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kib;
}

/* CPU seconds (user + system) of a process, split by thread: ZeroMQ's I/O
 * threads, the main thread (the daemon's message loop) and all the others
 * (workers: encoding, products, decodes; the trainer; ZeroMQ's reaper). */
typedef struct cpu_split {
    double io, main, rest;
} cpu_split;

static bool thread_cpu(int pid, int tid, double *sec, char *comm, size_t commlen)
{
    char path[128], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", pid, tid);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    if (!fgets(comm, (int)commlen, f)) comm[0] = 0;
    fclose(f);
    snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
    if (!(f = fopen(path, "r"))) return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parentheses */
    if (!p) return false;
    unsigned long long ut = 0, st = 0;
    /* after the name: state, then fields 4 .. 13, then utime (14) and stime (15) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return false;
    *sec = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    return true;
}

static bool proc_cpu(int pid, cpu_split *c)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d) return false;
    memset(c, 0, sizeof *c);
    struct dirent *de;
    while ((de = readdir(d))) {
        int tid = atoi(de->d_name);
        char comm[64];
        double s;
        if (tid <= 0 || !thread_cpu(pid, tid, &s, comm, sizeof comm)) continue; /* or exited */
        if (!strncmp(comm, "ZMQbg/IO", 8))
            c->io += s;
        else if (tid == pid)
            c->main += s;
        else
            c->rest += s;
    }
    closedir(d);
    return true;
}

/* Busy seconds of the whole machine, all cores (/proc/stat). */
static double machine_busy(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (!f) return NAN;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n != 8) return NAN;
    /* user nice system [idle] [iowait] irq softirq steal */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static int read_pid(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (!f) return 0;
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
    return pid;
}

/* The daemons' PIDs: one per line from `file`, or DIR/node<i>.pid. Returns
 * how many were read, or -1 with a message on stderr. */
static int daemon_pids(const char *file, const char *dir, int nodes, int *pid)
{
    if (file) {
        FILE *f = fopen(file, "r");
        int n = 0;
        if (!f) {
            fprintf(stderr, "load_bench: cannot read %s\n", file);
            return -1;
        }
        while (n < MAX_DAEMON && fscanf(f, "%d", &pid[n]) == 1) n++;
        fclose(f);
        return n;
    }
    for (int i = 0; i < nodes; i++) {
        char path[4096];
        int len = snprintf(path, sizeof path, "%s/node%d.pid", dir, i);
        if (len < 0 || (size_t)len >= sizeof path || (pid[i] = read_pid(path)) <= 0) {
            fprintf(stderr, "load_bench: no PID in %s (give --dir DIR or --pids FILE)\n", path);
            return -1;
        }
    }
    return nodes;
}

/* ---- the clients ---------------------------------------------------------------------- */

typedef struct shared {
    const char *cfg;
    gp_rmat *x, *ref; /* clients * inputs of each */
    double *budget;   /* the error budget of each input's product */
    int inputs;
    double start, deadline;
    pthread_barrier_t go;
    pthread_mutex_t log;
    atomic_int running, logged;
} shared;

typedef struct client {
    int id;
    shared *s;
    double *lat; /* seconds, of every request that came back (failed ones included) */
    size_t n, cap;
    uint64_t errors, wrong, corrected;
    double worst_rel, worst_ratio; /* largest ||Y - ref|| / ||ref|| and / budget */
    double last_end;
    bool ready;
} client;

static void failure(client *c, double t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Describes one of the first MAX_LOGGED failures on stderr. */
static void failure(client *c, double t, const char *fmt, ...)
{
    shared *s = c->s;
    if (atomic_fetch_add(&s->logged, 1) >= MAX_LOGGED) return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&s->log);
    fprintf(stderr, "load_bench: client %d at %.2f s, request %zu: ", c->id, t - s->start, c->n);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&s->log);
    va_end(ap);
}

static void *client_main(void *arg)
{
    client *c = arg;
    shared *s = c->s;
    gp_msg why = {{0}};
    char out[32];
    snprintf(out, sizeof out, "load.Y.%d", c->id); /* one result name per client, reused */
    gpdot_t *g = gpdot_connect(s->cfg, &why);
    /* every connection answers before the clock starts */
    c->ready = g && gpdot_ping(g, NULL, &why) == GP_OK;
    if (!c->ready) fprintf(stderr, "load_bench: client %d: %s\n", c->id, why.text);
    pthread_barrier_wait(&s->go);
    for (int r = 0; c->ready && now() < s->deadline; r++) {
        int k = c->id * s->inputs + r % s->inputs;
        gp_rmat y = {0};
        gpdot_report rep;
        double t0 = now();
        gp_err e = gpdot_multiply(g, "load.W", s->x[k], false, out, &y, &rep, &why);
        double t1 = now();
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 1024;
            double *nl = realloc(c->lat, c->cap * sizeof *nl);
            if (!nl) abort(); /* a few MB at most */
            c->lat = nl;
        }
        c->lat[c->n++] = t1 - t0;
        c->last_end = t1;
        if (e != GP_OK) {
            c->errors++;
            failure(c, t1, "%s: %s", gp_errname(e), why.text);
        } else {
            double err = diff_fro(y, s->ref[k]), refn = fro(s->ref[k]);
            c->corrected += rep.wrong ? 1 : 0;
            if (err / refn > c->worst_rel || err != err) c->worst_rel = err / refn;
            if (err / s->budget[k] > c->worst_ratio) c->worst_ratio = err / s->budget[k];
            if (!(err <= s->budget[k])) {
                c->wrong++;
                failure(c, t1,
                        "wrong result: ||Y - W x||_F = %.3g > budget %.3g (%d of %d "
                        "daemons agreed)",
                        err, s->budget[k], rep.agreed, rep.answered);
            }
        }
        gp_rmat_free(&y);
    }
    gpdot_close(&g);
    atomic_fetch_sub(&s->running, 1);
    return NULL;
}

/* ---- the report ------------------------------------------------------------------------ */

typedef struct series {
    int nd, ns, cap;
    double *t; /* seconds since the start, per sample */
    long *kib; /* ns x nd: VmRSS, -1 once a daemon is gone */
} series;

static void sample(series *r, const int *pid, double t)
{
    if (r->ns == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 256;
        r->t = realloc(r->t, (size_t)r->cap * sizeof *r->t);
        r->kib = realloc(r->kib, (size_t)r->cap * r->nd * sizeof *r->kib);
        if (!r->t || !r->kib) abort();
    }
    r->t[r->ns] = t;
    for (int i = 0; i < r->nd; i++) r->kib[r->ns * r->nd + i] = proc_kib(pid[i], "VmRSS");
    r->ns++;
}

typedef struct rss_row {
    long start, peak, end, hwm; /* KiB */
    double med1, med2;          /* medians of the first half (after the warm-up), the second */
    double growth, slope;       /* med2 over med1 in percent; KiB per minute after the warm-up */
    bool gone;
} rss_row;

static double median_of(double *v, int n)
{
    if (!n) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Daemon i's figures. The halves are [warm, half) and [half, end]: the
 * medians, not the peaks, are compared, as each request in flight holds a few
 * MB (its input, the 8 node outputs, the result) and the number in flight at
 * a sample swings the RSS by tens of MB either way. The slope is Theil-Sen's
 * (the median of the slopes between all pairs of samples after the warm-up),
 * which such swings do not pull about as they do a least-squares fit. */
static rss_row rss_of(const series *r, int i, double warm, double half, long hwm)
{
    rss_row w = {.start = r->kib[i], .end = r->kib[(r->ns - 1) * r->nd + i], .hwm = hwm};
    /* Theil-Sen on at most about 1000 samples: all pairs of 1000 are 4 MB */
    size_t ns = (size_t)r->ns, np = 0, stride = (ns + 999) / 1000, nt = (ns + stride - 1) / stride;
    double *v1 = malloc(sizeof(double) * ns), *v2 = malloc(sizeof(double) * ns),
           *pairs = malloc(sizeof(double) * (nt * (nt - 1) / 2 + 1));
    int n1 = 0, n2 = 0;
    if (!v1 || !v2 || !pairs) abort();
    for (int s = 0; s < r->ns; s++) {
        long k = r->kib[s * r->nd + i];
        if (k < 0) {
            w.gone = true;
            continue;
        }
        if (k > w.peak) w.peak = k;
        if (r->t[s] < warm) continue;
        if (r->t[s] < half)
            v1[n1++] = (double)k;
        else
            v2[n2++] = (double)k;
        for (int q = s + (int)stride; s % (int)stride == 0 && q < r->ns; q += (int)stride)
            if (r->kib[q * r->nd + i] >= 0 && r->t[q] > r->t[s])
                pairs[np++] = (double)(r->kib[q * r->nd + i] - k) / (r->t[q] - r->t[s]);
    }
    w.med1 = median_of(v1, n1);
    w.med2 = median_of(v2, n2);
    w.growth = 100.0 * (w.med2 - w.med1) / w.med1;
    w.slope = 60.0 * median_of(pairs, (int)np);
    free(v1);
    free(v2);
    free(pairs);
    return w;
}

static uint64_t counter(const gpdot_status *st, int n, const char *name)
{
    uint64_t sum = 0;
    for (int p = 0; p < n; p++)
        for (int i = 0; i < st[p].ncounters; i++)
            if (!strcmp(st[p].counter_name[i], name)) sum += st[p].counter[i];
    return sum;
}

static void usage(void)
{
    fprintf(stderr, "usage: load_bench -c CLUSTER.yaml [--clients N] [--seconds S] [--size N] "
                    "[--batch B]\n"
                    "                  [--inputs K] [--dir DIR | --pids FILE] [--interval S] "
                    "[--rss-limit PCT]\n"
                    "                  [--warmup S] [--rss-allow MIB] [--rss-log FILE]\n");
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "load_bench");
    const char *cfg = NULL, *dir = NULL, *pidfile = NULL, *rsslog = NULL;
    int nclients = 16, size = 1024, batch = 64, inputs = 4;
    double seconds = 60, interval = 0.5, rss_limit = 20.0, warmup = -1, rss_allow = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) {
            usage();
            return 2;
        }
        if (!strcmp(a, "-c"))
            cfg = v;
        else if (!strcmp(a, "--clients"))
            nclients = atoi(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--size"))
            size = atoi(v);
        else if (!strcmp(a, "--batch"))
            batch = atoi(v);
        else if (!strcmp(a, "--inputs"))
            inputs = atoi(v);
        else if (!strcmp(a, "--dir"))
            dir = v;
        else if (!strcmp(a, "--pids"))
            pidfile = v;
        else if (!strcmp(a, "--interval"))
            interval = atof(v);
        else if (!strcmp(a, "--rss-limit"))
            rss_limit = atof(v);
        else if (!strcmp(a, "--rss-allow"))
            rss_allow = atof(v);
        else if (!strcmp(a, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(a, "--rss-log"))
            rsslog = v;
        else {
            usage();
            return 2;
        }
        i++;
    }
    if (!cfg || nclients < 1 || nclients > 256 || !(seconds > 0) || size < 8 || batch < 1 ||
        inputs < 1 || !(interval > 0) || !(rss_limit >= 0) || !(rss_allow >= 0)) {
        usage();
        return 2;
    }
    if (warmup < 0) warmup = seconds / 6;
    if (seconds / 2 - warmup < 2 * interval) { /* each half needs samples to compare */
        fprintf(stderr, "load_bench: --seconds must leave at least two --interval samples in "
                        "the first half after --warmup\n");
        return 2;
    }
    char cfgdir[4096];
    if (!dir && !pidfile) { /* cluster.sh keeps the pid files beside the cluster file */
        snprintf(cfgdir, sizeof cfgdir, "%s", cfg);
        char *slash = strrchr(cfgdir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(cfgdir, sizeof cfgdir, ".");
        dir = cfgdir;
    }
    gp_blas_set_threads(1);

    gp_msg why = {{0}};
    gpdot_t *c = gpdot_connect(cfg, &why);
    if (!c || gpdot_ping(c, NULL, &why) != GP_OK) {
        fprintf(stderr, "load_bench: %s\n", why.text);
        return 1;
    }
    int P = gpdot_nodes(c), pid[MAX_DAEMON];
    int nd = daemon_pids(pidfile, dir, P, pid);
    if (nd <= 0) return 2;

    /* W, the inputs, the reference products and their error budgets */
    gp_rng rng;
    gp_rng_seed(&rng, 17);
    gp_rmat w;
    gp_rmat_alloc(&w, (size_t)size, (size_t)size);
    for (size_t i = 0; i < w.rows * w.cols; i++) w.data[i] = gp_rng_normal(&rng);
    gpdot_code code = {"gpd", 2, 2, "row"};
    if (gpdot_store(c, "load.W", w, &code, &why) != GP_OK) {
        fprintf(stderr, "load_bench: store: %s\n", why.text);
        return 1;
    }
    gp_code_params cp = {
        .scheme = GP_SCHEME_GPD, .nodes = P, .m = 2, .n = 2, .orient = GP_ORIENT_ROW};
    gp_code_t *gc;
    if (gp_code_new(&cp, &gc, &why) != GP_OK) {
        fprintf(stderr, "load_bench: %s\n", why.text);
        return 1;
    }
    const gp_code_info *in = gp_code_info_of(gc);
    double kappa = in->bound_forward / gp_decode_bound(1.0, in->k_forward);
    double mn = (double)in->m * in->n, terms = mn * (in->m > in->n ? in->m : in->n);
    double wn = fro(w), worst_budget = 0;
    int nx = nclients * inputs;
    shared s = {.cfg = cfg, .inputs = inputs};
    s.x = calloc((size_t)nx, sizeof *s.x);
    s.ref = calloc((size_t)nx, sizeof *s.ref);
    s.budget = calloc((size_t)nx, sizeof *s.budget);
    for (int k = 0; k < nx; k++) {
        gp_rmat_alloc(&s.x[k], (size_t)size, (size_t)batch);
        gp_rmat_alloc(&s.ref[k], (size_t)size, (size_t)batch);
        for (size_t i = 0; i < s.x[k].rows * s.x[k].cols; i++) s.x[k].data[i] = gp_rng_normal(&rng);
        gp_gemm_rm(false, 1.0, w, s.x[k], 0.0, s.ref[k]);
        double xn = fro(s.x[k]), rn = fro(s.ref[k]);
        s.budget[k] = in->bound_forward * rn +
                      fmax(kappa, 1.0) * 4.0 * (size + 2.0 * mn + 8) * U * terms * wn * xn +
                      size * U * wn * xn;
        if (s.budget[k] / rn > worst_budget) worst_budget = s.budget[k] / rn;
    }

    printf("load_bench: %d clients for %.0f s against %d nodes on this machine (%ld cores), gpd "
           "m=2 n=2 row (K_f=%d), W %dx%d, x %dx%d (%d inputs per client)\n",
           nclients, seconds, P, sysconf(_SC_NPROCESSORS_ONLN), in->k_forward, size, size, size,
           batch, inputs);
    printf("%s\nBLAS kernel %s, one thread for the references; every result checked: ||Y - W "
           "x||_F within %.2g ||W x||_F at most (kappa %.3g)\n",
           gp_blas_config(), gp_blas_kernel(), worst_budget, kappa);
    fflush(stdout);

    gpdot_status *st0 = calloc((size_t)P, sizeof *st0), *st1 = calloc((size_t)P, sizeof *st1);
    gpdot_status_all(c, st0, NULL);
    cpu_split cpu0[MAX_DAEMON], cpu1[MAX_DAEMON];
    for (int i = 0; i < nd; i++) proc_cpu(pid[i], &cpu0[i]);
    series rss = {.nd = nd};

    client *cl = calloc((size_t)nclients, sizeof *cl);
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    pthread_barrier_init(&s.go, NULL, (unsigned)nclients + 1);
    pthread_mutex_init(&s.log, NULL);
    atomic_init(&s.running, nclients);
    atomic_init(&s.logged, 0);
    for (int i = 0; i < nclients; i++) {
        cl[i].id = i;
        cl[i].s = &s;
        if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) {
            fprintf(stderr, "load_bench: cannot start client thread %d\n", i);
            return 1;
        }
    }
    sample(&rss, pid, 0); /* W stored, no request yet */
    double m0 = machine_busy(), self0 = self_cpu();
    s.start = now();
    s.deadline = s.start + seconds;
    pthread_barrier_wait(&s.go);          /* publishes start and deadline to the clients */
    while (atomic_load(&s.running) > 0) { /* on the grid, skipping ticks a busy machine missed */
        sleep_until(s.start + interval * (floor((now() - s.start) / interval) + 1));
        sample(&rss, pid, now() - s.start);
    }
    for (int i = 0; i < nclients; i++) pthread_join(th[i], NULL);
    double m1 = machine_busy(), self1 = self_cpu();
    sample(&rss, pid, now() - s.start);
    for (int i = 0; i < nd; i++) proc_cpu(pid[i], &cpu1[i]);
    gpdot_status_all(c, st1, NULL);

    /* requests and latencies */
    size_t total = 0;
    uint64_t errors = 0, wrong = 0, corrected = 0;
    double worst_rel = 0, worst_ratio = 0, end = s.start;
    bool all_ready = true;
    for (int i = 0; i < nclients; i++) {
        total += cl[i].n;
        errors += cl[i].errors;
        wrong += cl[i].wrong;
        corrected += cl[i].corrected;
        all_ready = all_ready && cl[i].ready;
        if (cl[i].worst_rel > worst_rel || cl[i].worst_rel != cl[i].worst_rel)
            worst_rel = cl[i].worst_rel;
        if (cl[i].worst_ratio > worst_ratio) worst_ratio = cl[i].worst_ratio;
        if (cl[i].last_end > end) end = cl[i].last_end;
    }
    double *lat = malloc((total ? total : 1) * sizeof *lat), sum = 0;
    size_t at = 0;
    for (int i = 0; i < nclients; i++)
        for (size_t j = 0; j < cl[i].n; j++) sum += (lat[at++] = cl[i].lat[j]);
    qsort(lat, total, sizeof *lat, cmpd);
    double wall = end - s.start, rps = total ? (double)total / wall : 0;
    double gflops = rps * 2.0 * size * size * batch * 1e-9;
    uint64_t failures = errors + wrong + (all_ready ? 0 : 1);
    printf("\n%9s %9s %7s %7s %9s %9s %8s %8s %8s %8s %8s %8s %8s\n", "requests", "failures",
           "errors", "wrong", "req/s", "GFLOP/s", "mean ms", "p50 ms", "p90 ms", "p99 ms",
           "p99.9 ms", "max ms", "wall s");
    printf("%9zu %9llu %7llu %7llu %9.2f %9.2f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.2f\n", total,
           (unsigned long long)failures, (unsigned long long)errors, (unsigned long long)wrong, rps,
           gflops, total ? 1e3 * sum / (double)total : NAN, 1e3 * pct(lat, total, 0.5),
           1e3 * pct(lat, total, 0.9), 1e3 * pct(lat, total, 0.99), 1e3 * pct(lat, total, 0.999),
           1e3 * pct(lat, total, 1.0), wall);
    printf("GFLOP/s: 2 size^2 B per request (W x itself, not the coded work). Largest error "
           "seen: %.2g ||W x||_F, %.2g of the budget; %llu results had an output corrected\n",
           worst_rel, worst_ratio, (unsigned long long)corrected);

    /* memory */
    double half = wall / 2;
    bool bounded = true, gone = false;
    rss_row rows[MAX_DAEMON];
    double flight_kib = rss_allow * 1024.0;
    printf("\n%5s %8s %10s %9s %9s %11s %11s %9s %11s %10s\n", "node", "pid", "start MiB",
           "peak MiB", "end MiB", "median 1st", "median 2nd", "growth %", "MiB/min", "VmHWM MiB");
    for (int i = 0; i < nd; i++) {
        rows[i] = rss_of(&rss, i, warmup, half, proc_kib(pid[i], "VmHWM"));
        rss_row *r = &rows[i];
        gone = gone || r->gone;
        double grew = r->med2 - r->med1;
        if (r->gone || !(r->growth <= rss_limit || grew <= flight_kib)) bounded = false;
        printf("%5d %8d %10.1f %9.1f %9.1f %11.1f %11.1f %9.2f %11.2f %10.1f%s\n", i, pid[i],
               r->start / 1024.0, r->peak / 1024.0, r->end / 1024.0, r->med1 / 1024.0,
               r->med2 / 1024.0, r->growth, r->slope / 1024.0, r->hwm / 1024.0,
               r->gone ? "  GONE" : "");
    }
    printf("RSS sampled every %.2g s (%d samples). Bounded: for every daemon the median RSS "
           "of the second half (from %.1f s) is at most %.0f %% or %.1f MiB (--rss-allow) "
           "above that of the first half after the warm-up (%.1f to %.1f s): %s\n",
           interval, rss.ns, half, rss_limit, flight_kib / 1024.0, warmup, half,
           bounded ? "yes"
           : gone  ? "NO (a daemon is gone)"
                   : "NO");

    FILE *lf = rsslog ? fopen(rsslog, "w") : NULL;
    if (rsslog && !lf) fprintf(stderr, "load_bench: cannot write %s\n", rsslog);
    for (int k = 0; lf && k < rss.ns; k++) {
        fprintf(lf, "%.3f", rss.t[k]);
        for (int i = 0; i < nd; i++) fprintf(lf, ",%ld", rss.kib[k * nd + i]);
        fputc('\n', lf);
    }
    if (lf) fclose(lf);

    /* where the CPU went, and what the daemons counted */
    cpu_split dc = {0};
    for (int i = 0; i < nd; i++) {
        dc.io += cpu1[i].io - cpu0[i].io;
        dc.main += cpu1[i].main - cpu0[i].main;
        dc.rest += cpu1[i].rest - cpu0[i].rest;
    }
    double daemons = dc.io + dc.main + dc.rest, bench = self1 - self0;
    double others = (m1 - m0) - daemons - bench;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    printf("\nCPU s during the run (wall %.2f s x %ld cores = %.1f): daemons %.1f (ZeroMQ I/O "
           "%.1f, message loops %.1f, workers %.1f), load_bench %.1f, other processes %.1f\n",
           wall, ncpu, wall * ncpu, daemons, dc.io, dc.main, dc.rest, bench,
           others > 0 ? others : 0);
    if (total)
        printf("daemon CPU per request: %.1f ms (ZeroMQ I/O %.1f, message loops %.1f, workers "
               "%.1f), the %d daemons together\n",
               1e3 * daemons / (double)total, 1e3 * dc.io / (double)total,
               1e3 * dc.main / (double)total, 1e3 * dc.rest / (double)total, nd);
    static const char *const names[] = {"operations",    "partials_sent",   "partials_received",
                                        "partials_late", "peer_dropped",    "replies_dropped",
                                        "bad_requests",  "errors_detected", "errors_corrected"};
    printf("daemon counters during the run, summed over the nodes:");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        printf("%s %s %llu", i ? "," : "", names[i],
               (unsigned long long)(counter(st1, P, names[i]) - counter(st0, P, names[i])));
    printf("\n");

    printf("\nresult clients=%d seconds=%.0f requests=%zu failures=%llu rps=%.3f gflops=%.3f "
           "mean_ms=%.2f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f",
           nclients, seconds, total, (unsigned long long)failures, rps, gflops,
           total ? 1e3 * sum / (double)total : NAN, 1e3 * pct(lat, total, 0.5),
           1e3 * pct(lat, total, 0.9), 1e3 * pct(lat, total, 0.99), 1e3 * pct(lat, total, 0.999),
           1e3 * pct(lat, total, 1.0));
    printf(" cpu_daemons=%.2f cpu_io=%.2f cpu_main=%.2f cpu_workers=%.2f cpu_bench=%.2f "
           "cpu_others=%.2f max_rel_err=%.3g",
           daemons, dc.io, dc.main, dc.rest, bench, others > 0 ? others : 0, worst_rel);
    /* KiB: start, peak, end, medians of the halves; growth %; KiB per minute */
    for (int i = 0; i < nd; i++)
        printf(" rss%d=%ld,%ld,%ld,%.0f,%.0f,%.2f,%.0f", i, rows[i].start, rows[i].peak,
               rows[i].end, rows[i].med1, rows[i].med2, rows[i].growth, rows[i].slope);
    printf(" peer_dropped=%llu bounded=%d\n",
           (unsigned long long)(counter(st1, P, "peer_dropped") - counter(st0, P, "peer_dropped")),
           bounded);

    int rc = 0;
    if (failures) {
        fprintf(stderr,
                "load_bench: FAILED: %llu of %zu requests failed (%llu errors, %llu "
                "wrong results)%s\n",
                (unsigned long long)failures, total, (unsigned long long)errors,
                (unsigned long long)wrong, all_ready ? "" : "; a client could not connect");
        rc = 1;
    }
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's quarantine holds freed memory (256 MiB): resident
     * sizes grow until it is full whatever the daemons do; leaks are the
     * sanitizer's to find */
    if (!bounded) printf("memory growth not judged: built with AddressSanitizer\n");
    bounded = true;
#endif
    if (!bounded) {
        fprintf(stderr, "load_bench: FAILED: %s\n",
                gone ? "a daemon is gone" : "a daemon's memory kept growing");
        rc = 1;
    }
    if (!gone) {
        gpdot_drop(c, "load.W", NULL);
        for (int i = 0; i < nclients; i++) {
            char out[32];
            snprintf(out, sizeof out, "load.Y.%d", i);
            gpdot_drop(c, out, NULL);
        }
    }
    for (int k = 0; k < nx; k++) {
        gp_rmat_free(&s.x[k]);
        gp_rmat_free(&s.ref[k]);
    }
    for (int i = 0; i < nclients; i++) free(cl[i].lat);
    free(s.x);
    free(s.ref);
    free(s.budget);
    free(cl);
    free(th);
    free(lat);
    free(rss.t);
    free(rss.kib);
    free(st0);
    free(st1);
    pthread_barrier_destroy(&s.go);
    pthread_mutex_destroy(&s.log);
    gp_code_destroy(&gc);
    gp_rmat_free(&w);
    gpdot_close(&c);
    return rc;
}
