/* kernel_test.c - the combine kernel against a plain scalar loop with the
 * same order of operations: results must agree bit for bit. */
#include <float.h>
#include <stdint.h>

#include "../testlib.h"
#include "gp_kernel.h"
#include "gp_rng.h"

static void reference(int K, double *const *y, size_t len, int nout, const double *c, double **out,
                      int nchk, const double *d, double *const *z, double *res)
{
    for (int r = 0; r < nout; r++)
        for (size_t l = 0; l < len; l++) {
            double acc = c[r * K] * y[0][l];
            for (int k = 1; k < K; k++) acc = acc + c[r * K + k] * y[k][l];
            out[r][l] = acc;
        }
    for (int r = 0; r < nchk; r++) {
        double m = 0;
        int bad = 0;
        for (size_t l = 0; l < len; l++) {
            double acc = d[r * K] * y[0][l];
            for (int k = 1; k < K; k++) acc = acc + d[r * K + k] * y[k][l];
            double a = fabs(z[r][l] - acc);
            if (a > m) m = a;
            bad |= !(a <= DBL_MAX);
        }
        res[r] = bad ? INFINITY : m;
    }
}

static void bitwise(void)
{
    gp_rng r;
    gp_rng_seed(&r, 5);
    const size_t lens[] = {1, 7, 8, 9, 511, 512, 513, 1031, 4096};
    for (int K = 1; K <= 24; K += (K < 8 ? 1 : 5))
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            size_t len = lens[li];
            int nout = 1 + (int)gp_rng_below(&r, 6), nchk = (int)gp_rng_below(&r, 7);
            double *y[24], *z[8], *o1[8], *o2[8], c[8 * 24], d[8 * 24], res1[8], res2[8], yn[24],
                zn[8];
            for (int k = 0; k < K; k++) {
                y[k] = malloc(len * sizeof(double));
                for (size_t l = 0; l < len; l++) y[k][l] = gp_rng_normal(&r);
            }
            for (int i = 0; i < nout; i++) {
                o1[i] = malloc(len * sizeof(double));
                o2[i] = malloc(len * sizeof(double));
            }
            for (int i = 0; i < nchk; i++) {
                z[i] = malloc(len * sizeof(double));
                for (size_t l = 0; l < len; l++) z[i][l] = gp_rng_normal(&r);
            }
            for (int i = 0; i < 8 * 24; i++) {
                c[i] = gp_rng_normal(&r);
                d[i] = gp_rng_normal(&r);
            }
            gp_combine(K, (const double *const *)y, len, nout, c, o1, nchk, d,
                       (const double *const *)z, res1, yn, zn);
            reference(K, y, len, nout, c, o2, nchk, d, z, res2);
            for (int i = 0; i < nout; i++)
                CHECKF(memcmp(o1[i], o2[i], len * sizeof(double)) == 0, "K=%d len=%zu out %d", K,
                       len, i);
            for (int i = 0; i < nchk; i++)
                CHECKF(res1[i] == res2[i], "K=%d len=%zu res %d", K, len, i);
            for (int k = 0; k < K; k++) {
                double m = 0;
                for (size_t l = 0; l < len; l++) m = fmax(m, fabs(y[k][l]));
                CHECK(yn[k] == m);
                free(y[k]);
            }
            for (int i = 0; i < nout; i++) {
                free(o1[i]);
                free(o2[i]);
            }
            for (int i = 0; i < nchk; i++) free(z[i]);
        }
    printf("  dispatched to %s\n", gp_combine_isa());
}

static void non_finite(void)
{
    size_t len = 37;
    double y0[37], y1[37], z0[37], z1[37], out[37], c[2] = {1, 1}, d[4] = {1, 1, 1, 1}, res[2],
                                                    yn[2], zn[2];
    for (size_t l = 0; l < len; l++) y0[l] = y1[l] = z0[l] = z1[l] = 1;
    z0[3] = NAN;
    z1[36] = INFINITY;
    const double *y[2] = {y0, y1}, *z[2] = {z0, z1};
    double *o[1] = {out};
    gp_combine(2, y, len, 1, c, o, 2, d, z, res, yn, zn);
    CHECK(isinf(res[0]) && isinf(res[1]) && isinf(zn[0]) && isinf(zn[1]) && yn[0] == 1);
    y1[20] = NAN;
    z0[3] = 2;
    z1[36] = 2;
    gp_combine(2, y, len, 1, c, o, 2, d, z, res, yn, zn);
    CHECK(isinf(yn[1]) && isinf(res[0]) && isinf(res[1]));
}

static const test_case cases[] = {{"bitwise", bitwise}, {"non_finite", non_finite}};

TEST_MAIN(cases)
