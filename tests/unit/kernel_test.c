/* kernel_test.c - the combine kernel (each instruction set's copy) against
 * plain scalar loops with the same order of operations: results must agree
 * bit for bit. */
#include <float.h>
#include <stdint.h>

#include "../testlib.h"
#include "gp_kernel.h"
#include "gp_rng.h"

static double row_sum(int K, const double *w, double *const *y, size_t l)
{
    double acc = w[0] * y[0][l];
    for (int k = 1; k < K; k++) acc = acc + w[k] * y[k][l];
    return acc;
}

static double max_abs(const double *v, size_t l0, size_t l1, int *bad)
{
    double m = 0;
    for (size_t l = l0; l < l1; l++) {
        m = fmax(m, fabs(v[l]));
        *bad |= !isfinite(v[l]);
    }
    return m;
}

/* What gp_kernel.h promises, by plain loops: the sums, max |z - sum| (+Inf
 * when not finite), max |y| (+Inf when not finite), and the bound on max |z|
 * taken block by block of 1024 elements. */
static void reference(int K, double *const *y, size_t len, int nout, const double *c, double **out,
                      int nchk, const double *d, double *const *z, double *res, double *yn,
                      double *zn)
{
    for (int r = 0; r < nout; r++)
        for (size_t l = 0; l < len; l++) out[r][l] = row_sum(K, c + r * K, y, l);
    for (int k = 0; k < K; k++) {
        int bad = 0;
        yn[k] = max_abs(y[k], 0, len, &bad);
        if (bad) yn[k] = INFINITY;
    }
    for (int r = 0; r < nchk; r++) res[r] = zn[r] = 0;
    for (size_t l0 = 0; l0 < len; l0 += 1024) {
        size_t l1 = l0 + 1024 < len ? l0 + 1024 : len;
        double rm[8] = {0};
        int plain = 1;
        for (int r = 0; r < nchk; r++)
            for (size_t l = l0; l < l1; l++) {
                double a = fabs(z[r][l] - row_sum(K, d + r * K, y, l));
                if (!(a <= DBL_MAX)) plain = 0;
                rm[r] = fmax(rm[r], a);
            }
        for (int r = 0; r < nchk; r++) {
            int bad = 0;
            double b = max_abs(z[r], l0, l1, &bad);
            if (plain) {
                double s = 0;
                for (int k = 0; k < K; k++) s += fabs(d[r * K + k]) * max_abs(y[k], l0, l1, &bad);
                b = s * (1 + 0x1p-40) + rm[r];
            }
            zn[r] = fmax(zn[r], b);
            res[r] = fmax(res[r], rm[r]);
        }
    }
    for (int r = 0; r < nchk; r++) {
        int zbad = 0, rbad = 0;
        double zmax = max_abs(z[r], 0, len, &zbad);
        for (size_t l = 0; l < len; l++)
            rbad |= !(fabs(z[r][l] - row_sum(K, d + r * K, y, l)) <= DBL_MAX);
        if (zbad || rbad) res[r] = INFINITY;
        if (zbad)
            zn[r] = INFINITY;
        else if (!(zn[r] <= DBL_MAX))
            zn[r] = DBL_MAX;
        CHECKF(zn[r] >= zmax, "bound %g below max |z| %g", zn[r], zmax);
    }
}

/* Runs gp_combine and the reference on the same data and compares every
 * bit: outputs, residual maxima, norms and bounds. */
static void compare(const char *what, int K, double *const *y, size_t len, int nout,
                    const double *c, int nchk, const double *d, double *const *z)
{
    double *o1[8] = {0}, *o2[8] = {0}, res1[8], res2[8], yn1[24], yn2[24], zn1[8], zn2[8];
    for (int i = 0; i < nout; i++) {
        o1[i] = malloc(len * sizeof(double));
        o2[i] = malloc(len * sizeof(double));
    }
    gp_combine(K, (const double *const *)y, len, nout, c, o1, nchk, d, (const double *const *)z,
               res1, yn1, zn1);
    reference(K, y, len, nout, c, o2, nchk, d, z, res2, yn2, zn2);
    const char *isa = gp_combine_isa();
    for (int i = 0; i < nout; i++)
        CHECKF(memcmp(o1[i], o2[i], len * sizeof(double)) == 0, "%s: %s K=%d len=%zu out %d", isa,
               what, K, len, i);
    for (int i = 0; i < nchk; i++) {
        CHECKF(res1[i] == res2[i], "%s: %s K=%d len=%zu res %d: %g vs %g", isa, what, K, len, i,
               res1[i], res2[i]);
        CHECKF(zn1[i] == zn2[i], "%s: %s K=%d len=%zu z bound %d: %g vs %g", isa, what, K, len, i,
               zn1[i], zn2[i]);
    }
    for (int k = 0; k < K; k++)
        CHECKF(yn1[k] == yn2[k], "%s: %s K=%d len=%zu norm %d: %g vs %g", isa, what, K, len, k,
               yn1[k], yn2[k]);
    for (int i = 0; i < nout; i++) {
        free(o1[i]);
        free(o2[i]);
    }
}

/* Random outputs, checks and coefficients of the given shape (K <= 24,
 * nout and nchk <= 8), compared bit for bit. */
static void random_case(gp_rng *r, const char *what, int K, size_t len, int nout, int nchk)
{
    double *y[24], *z[8], c[8 * 24], d[8 * 24];
    for (int k = 0; k < K; k++) {
        y[k] = malloc(len * sizeof(double));
        for (size_t l = 0; l < len; l++) y[k][l] = gp_rng_normal(r);
    }
    for (int i = 0; i < nchk; i++) {
        z[i] = malloc(len * sizeof(double));
        for (size_t l = 0; l < len; l++) z[i][l] = gp_rng_normal(r);
    }
    for (int i = 0; i < 8 * 24; i++) {
        c[i] = gp_rng_normal(r);
        d[i] = gp_rng_normal(r);
    }
    compare(what, K, y, len, nout, c, nchk, d, z);
    for (int k = 0; k < K; k++) free(y[k]);
    for (int i = 0; i < nchk; i++) free(z[i]);
}

/* Every kernel this CPU can run. */
static const char *const kernels[] = {"generic", "avx2"};

static void bitwise(void)
{
    for (int ki = 0; ki < 2; ki++) {
        if (gp_combine_force(kernels[ki]) != 0) {
            printf("  %s: not supported here\n", kernels[ki]);
            continue;
        }
        gp_rng r;
        gp_rng_seed(&r, 5);
        const size_t lens[] = {1, 7, 8, 9, 511, 512, 513, 1031, 4096};
        for (int K = 1; K <= 24; K += (K < 8 ? 1 : 5))
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                int nout = 1 + (int)gp_rng_below(&r, 6), nchk = (int)gp_rng_below(&r, 7);
                random_case(&r, "random", K, lens[li], nout, nchk);
            }
        /* every row-block shape the kernel has a copy for, with and without
         * the tail of fewer than 8 elements */
        for (int K = 1; K <= 10; K++)
            for (int nout = 0; nout <= 7; nout++)
                for (int nchk = 0; nchk <= 7; nchk++)
                    for (size_t len = 1029; len <= 1032; len += 3)
                        random_case(&r, "shape", K, len, nout, nchk);
        printf("  %s: bitwise equal to the scalar reference\n", kernels[ki]);
    }
    gp_combine_force(NULL);
    printf("  dispatched to %s\n", gp_combine_isa());
}

/* NaN and Inf anywhere, sums that overflow, and values so large that only
 * the quick screen for NaN overflows: each kernel against the reference. */
static void non_finite(void)
{
    enum { LEN = 2100 }; /* three tiles, the last one short */
    static double buf[5][LEN];
    double *y[2] = {buf[0], buf[1]}, *z[2] = {buf[2], buf[3]};
    double c[2] = {1, 1}, d[4] = {1, 1, 1, 1}, small[4] = {1e-12, 1e-12, 1e-12, 1e-12};
    for (int ki = 0; ki < 2; ki++) {
        if (gp_combine_force(kernels[ki]) != 0) continue;
        size_t spots[] = {3, 517, 1024, 2047, 2099};
        for (size_t si = 0; si < sizeof spots / sizeof spots[0]; si++)
            for (int which = 0; which < 4; which++)
                for (int kind = 0; kind < 2; kind++) {
                    for (int v = 0; v < 4; v++)
                        for (size_t l = 0; l < LEN; l++) buf[v][l] = 1;
                    buf[which][spots[si]] = kind ? INFINITY : -NAN;
                    compare("non-finite", 2, y, LEN, 1, c, 2, d, z);
                }
        for (int v = 0; v < 4; v++) /* finite, but y0 + y1 overflows */
            for (size_t l = 0; l < LEN; l++) buf[v][l] = 1.5e308;
        compare("overflowing sum", 2, y, LEN, 1, c, 2, d, z);
        /* finite, sums fine (1e-12 * 1.5e308), only the NaN screen overflows */
        compare("large values", 2, y, LEN, 1, small, 2, small, z);
    }
    gp_combine_force(NULL);
}

static const test_case cases[] = {{"bitwise", bitwise}, {"non_finite", non_finite}};

TEST_MAIN(cases)
