/* gemm_rate - the one-thread gemm rate of the BLAS kernel gpdot runs: the
 * floor the local trainer is measured against (local_bench.sh).
 *
 * Square products C = A B of side 1024 (--n N), float64 (dgemm) and float32
 * (sgemm), medians of --reps timed calls after one untimed call, with the
 * kernel settled as every gpdot program settles it (gp_blas_settle). Prints
 * one line:  dgemm GFLOP/s  sgemm GFLOP/s  kernel
 *
 * usage: gemm_rate [--n N] [--reps R]
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp_blas.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "gemm_rate");
    int n = 1024, reps = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: gemm_rate [--n N] [--reps R]\n");
            return 2;
        }
    }
    if (n < 16 || n > 8192 || reps < 1 || reps > 100) {
        fprintf(stderr, "gemm_rate: --n 16..8192, --reps 1..100\n");
        return 2;
    }
    gp_blas_set_threads(1);
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    float *af = malloc(nn * sizeof *af), *bf = malloc(nn * sizeof *bf),
          *cf = malloc(nn * sizeof *cf);
    double *t = malloc((size_t)reps * sizeof *t);
    if (!a || !b || !c || !af || !bf || !cf || !t) {
        fprintf(stderr, "gemm_rate: no memory\n");
        return 1;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = af[i] = (float)((double)(i % 1009) / 1009.0 - 0.5);
        b[i] = bf[i] = (float)((double)(i % 997) / 997.0 - 0.5);
    }
    double flops = 2.0 * n * n * n, rate[2];
    for (int k = 0; k < 2; k++) {
        for (int r = -1; r < reps; r++) {
            double t0 = now();
            if (k == 0)
                cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n,
                            0.0, c, n);
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, af, n, bf, n,
                            0.0f, cf, n);
            if (r >= 0) t[r] = now() - t0;
        }
        qsort(t, (size_t)reps, sizeof *t, cmpd);
        rate[k] = flops / t[reps / 2] / 1e9;
    }
    printf("%.2f %.2f %s\n", rate[0], rate[1], gp_blas_kernel());
    free(a), free(b), free(c), free(af), free(bf), free(cf), free(t);
    return 0;
}
