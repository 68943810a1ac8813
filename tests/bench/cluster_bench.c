/* cluster_bench - products on a running cluster against one in-process
 * OpenBLAS product of the same size.
 *
 *   cluster_bench -c CLUSTER.yaml [--reps N] [--size N] [--batch B ...]
 *
 * For each batch size: the latency of gpdot_multiply (every daemon encodes,
 * multiplies, exchanges and decodes; the client checks the digests), without
 * and with fetching the verified result, median and 99th percentile, and the
 * products per second that gives; one OpenBLAS dgemm of W (N x N) by X
 * (N x B) in this process, one thread, timed alternately with the cluster
 * runs. And the bytes each node put on the wire per product (its PARTIALs,
 * from the daemons' counters) against the code's minimum: a node's output
 * block, sent to the K - 1 other nodes a decode needs at the least.
 * Prints a table; exits 0 (a measurement, not a test).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp_blas.h"
#include "gp_code.h"
#include "gp_rng.h"
#include "gpdot.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    int i = (int)(q * (n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static uint64_t counter_sum(gpdot_t *c, const char *name)
{
    int n = gpdot_nodes(c);
    gpdot_status *st = calloc((size_t)n, sizeof *st);
    uint64_t sum = 0;
    if (gpdot_status_all(c, st, NULL) == GP_OK)
        for (int p = 0; p < n; p++)
            for (int i = 0; i < st[p].ncounters; i++)
                if (!strcmp(st[p].counter_name[i], name)) sum += st[p].counter[i];
    free(st);
    return sum;
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "cluster_bench");
    const char *cfg = NULL;
    int reps = 51, size = 1024, batches[8], nb = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            cfg = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc && nb < 8)
            batches[nb++] = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: cluster_bench -c CLUSTER.yaml [--reps N] [--size N] "
                            "[--batch B ...]\n");
            return 2;
        }
    }
    if (!cfg || reps < 5 || size < 8) {
        fprintf(stderr, "cluster_bench: -c CLUSTER.yaml is needed\n");
        return 2;
    }
    if (!nb) {
        batches[nb++] = 1;
        batches[nb++] = 64;
    }
    gp_blas_set_threads(1);
    gp_msg why = {{0}};
    gpdot_t *c = gpdot_connect(cfg, &why);
    if (!c || gpdot_ping(c, NULL, &why) != GP_OK) {
        fprintf(stderr, "cluster_bench: %s\n", why.text);
        return 1;
    }
    int P = gpdot_nodes(c);
    gp_rng rng;
    gp_rng_seed(&rng, 5);
    gp_rmat w;
    gp_rmat_alloc(&w, (size_t)size, (size_t)size);
    for (size_t i = 0; i < w.rows * w.cols; i++) w.data[i] = gp_rng_normal(&rng);
    gpdot_code code = {"gpd", 2, 2, "row"};
    if (gpdot_store(c, "bench.W", w, &code, &why) != GP_OK) {
        fprintf(stderr, "cluster_bench: store: %s\n", why.text);
        return 1;
    }
    gp_code_params cp = {
        .scheme = GP_SCHEME_GPD, .nodes = P, .m = 2, .n = 2, .orient = GP_ORIENT_ROW};
    gp_code_t *gc;
    gp_code_new(&cp, &gc, NULL);
    const gp_code_info *info = gp_code_info_of(gc);
    printf("cluster_bench: %d nodes on this machine, gpd m=2 n=2 row (K_f=%d), W %dx%d, median "
           "and p99 of %d runs\n%s\nBLAS kernel %s, one thread in this process; the daemons as "
           "started\n\n",
           P, info->k_forward, size, size, reps, gp_blas_config(), gp_blas_kernel());
    printf("%5s  %11s %11s %11s %11s %9s %11s %8s %12s %12s %6s\n", "B", "gpdot ms", "p99 ms",
           "+fetch ms", "p99 ms", "prod/s", "OpenBLAS ms", "ratio", "wire B/node", "minimum B",
           "x min");
    double *ta = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps),
           *tc = malloc(sizeof(double) * reps);
    for (int bi = 0; bi < nb; bi++) {
        int B = batches[bi];
        gp_rmat x, y, ref;
        gp_rmat_alloc(&x, (size_t)size, (size_t)B);
        gp_rmat_alloc(&ref, (size_t)size, (size_t)B);
        for (size_t i = 0; i < x.rows * x.cols; i++) x.data[i] = gp_rng_normal(&rng);
        uint64_t bytes0 = counter_sum(c, "partial_bytes_sent"), ops0 = counter_sum(c, "operations");
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            gp_err e = gpdot_multiply(c, "bench.W", x, false, "bench.Y", NULL, NULL, &why);
            ta[r] = now() - t0;
            t0 = now();
            e = e == GP_OK ? gpdot_multiply(c, "bench.W", x, false, "bench.Y", &y, NULL, &why) : e;
            tb[r] = now() - t0;
            if (e != GP_OK) {
                fprintf(stderr, "cluster_bench: multiply: %s\n", why.text);
                return 1;
            }
            gp_rmat_free(&y);
            t0 = now();
            gp_gemm_rm(false, 1.0, w, x, 0.0, ref);
            tc[r] = now() - t0;
        }
        uint64_t bytes = counter_sum(c, "partial_bytes_sent") - bytes0,
                 ops = counter_sum(c, "operations") - ops0; /* summed over the nodes */
        double per_node = ops ? (double)bytes / (double)ops : 0;
        double minimum = (double)(info->k_forward - 1) *
                         (double)gp_code_output_rows(gc, GP_FORWARD, (size_t)size, (size_t)size) *
                         B * sizeof(double);
        double a50 = pct(ta, reps, 0.5), a99 = pct(ta, reps, 0.99), b50 = pct(tb, reps, 0.5),
               b99 = pct(tb, reps, 0.99), c50 = pct(tc, reps, 0.5);
        printf("%5d  %11.3f %11.3f %11.3f %11.3f %9.1f %11.3f %7.1fx %12.0f %12.0f %6.2f\n", B,
               1e3 * a50, 1e3 * a99, 1e3 * b50, 1e3 * b99, 1.0 / a50, 1e3 * c50, a50 / c50,
               per_node, minimum, per_node / minimum);
        gp_rmat_free(&x);
        gp_rmat_free(&ref);
    }
    printf("\nratio: gpdot latency / one in-process OpenBLAS product. wire: bytes of PARTIAL\n"
           "messages one node sends per product (to all %d peers); minimum: its output to the\n"
           "K_f - 1 = %d other nodes a decode needs at the least.\n",
           P - 1, info->k_forward - 1);
    gpdot_drop(c, "bench.W", NULL);
    gpdot_drop(c, "bench.Y", NULL);
    gp_code_destroy(&gc);
    gp_rmat_free(&w);
    gpdot_close(&c);
    free(ta);
    free(tb);
    free(tc);
    return 0;
}
