#include "gp_kernel.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef double v8d __attribute__((vector_size(64)));
typedef int64_t v8l __attribute__((vector_size(64)));

#define TILE 512 /* elements per row per tile: K rows of 4 KiB stay in L1 */
#define RB 4     /* rows per register block */

static inline __attribute__((always_inline)) v8d load8(const double *p)
{
    v8d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store8(double *p, v8d v)
{
    memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) v8d abs8(v8d v)
{
    return (v8d)((v8l)v & ((v8l){0} + INT64_MAX));
}

static inline __attribute__((always_inline)) v8d max8(v8d a, v8d m) /* ignores NaN in a */
{
    v8l gt = a > m;
    return (v8d)(((v8l)a & gt) | ((v8l)m & ~gt));
}

static inline __attribute__((always_inline)) double hmax8(v8d v)
{
    double m = v[0];
    for (int i = 1; i < 8; i++)
        if (v[i] > m) m = v[i];
    return m;
}

/* Scalar versions with exactly the same order of operations. */
static inline double dot_scalar(int K, const double *coef, const double *const *y, size_t l)
{
    double acc = coef[0] * y[0][l];
    for (int k = 1; k < K; k++) acc = acc + coef[k] * y[k][l];
    return acc;
}

static void norms(int n, const double *const *v, size_t l0, size_t l1, double *nrm, int *bad)
{
    for (int k = 0; k < n; k++) {
        const double *p = v[k];
        v8d mx = {0};
        v8l ok = (v8l){0} - 1;
        size_t l = l0;
        for (; l + 8 <= l1; l += 8) {
            v8d a = abs8(load8(p + l));
            mx = max8(a, mx);
            ok &= a <= (v8d){0} + DBL_MAX;
        }
        double m = hmax8(mx);
        int b = 0;
        for (int i = 0; i < 8; i++) b |= ok[i] == 0;
        for (; l < l1; l++) {
            double a = fabs(p[l]);
            if (a > m) m = a;
            b |= !(a <= DBL_MAX);
        }
        if (m > nrm[k]) nrm[k] = m;
        bad[k] |= b;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void
gp_combine(int K, const double *const *y, size_t len, int nout, const double *c,
           double *const *out, int nchk, const double *d, const double *const *z, double *res,
           double *ynorm, double *znorm)
{
    int ybad[64] = {0}, zbad[64] = {0}, rbad[64] = {0};
    for (int k = 0; k < K; k++) ynorm[k] = 0;
    for (int r = 0; r < nchk; r++) res[r] = znorm[r] = 0;

    for (size_t t0 = 0; t0 < len; t0 += TILE) {
        size_t t1 = t0 + TILE < len ? t0 + TILE : len;
        size_t v1 = t0 + (t1 - t0) / 8 * 8; /* vector part [t0, v1), scalar tail [v1, t1) */
        norms(K, y, t0, t1, ynorm, ybad);
        if (nchk) norms(nchk, z, t0, t1, znorm, zbad);

        /* Output rows, RB at a time. */
        for (int r0 = 0; r0 < nout; r0 += RB) {
            int nr = nout - r0 < RB ? nout - r0 : RB;
            const double *cr = c + (size_t)r0 * K;
            for (size_t l = t0; l < v1; l += 8) {
                v8d acc[RB], yk = load8(y[0] + l);
                for (int i = 0; i < nr; i++) acc[i] = yk * cr[i * K];
                for (int k = 1; k < K; k++) {
                    yk = load8(y[k] + l);
                    for (int i = 0; i < nr; i++) acc[i] = acc[i] + yk * cr[i * K + k];
                }
                for (int i = 0; i < nr; i++) store8(out[r0 + i] + l, acc[i]);
            }
            for (size_t l = v1; l < t1; l++)
                for (int i = 0; i < nr; i++) out[r0 + i][l] = dot_scalar(K, cr + i * K, y, l);
        }

        /* Check rows: the largest residual against the base outputs. */
        for (int r0 = 0; r0 < nchk; r0 += RB) {
            int nr = nchk - r0 < RB ? nchk - r0 : RB;
            const double *dr = d + (size_t)r0 * K;
            v8d mx[RB];
            v8l ok[RB];
            for (int i = 0; i < nr; i++) {
                mx[i] = (v8d){0};
                ok[i] = (v8l){0} - 1;
            }
            for (size_t l = t0; l < v1; l += 8) {
                v8d acc[RB], yk = load8(y[0] + l);
                for (int i = 0; i < nr; i++) acc[i] = yk * dr[i * K];
                for (int k = 1; k < K; k++) {
                    yk = load8(y[k] + l);
                    for (int i = 0; i < nr; i++) acc[i] = acc[i] + yk * dr[i * K + k];
                }
                for (int i = 0; i < nr; i++) {
                    v8d a = abs8(load8(z[r0 + i] + l) - acc[i]);
                    mx[i] = max8(a, mx[i]);
                    ok[i] &= a <= (v8d){0} + DBL_MAX;
                }
            }
            for (int i = 0; i < nr; i++) {
                double m = hmax8(mx[i]);
                for (int j = 0; j < 8; j++) rbad[r0 + i] |= ok[i][j] == 0;
                for (size_t l = v1; l < t1; l++) {
                    double a = fabs(z[r0 + i][l] - dot_scalar(K, dr + i * K, y, l));
                    if (a > m) m = a;
                    rbad[r0 + i] |= !(a <= DBL_MAX);
                }
                if (m > res[r0 + i]) res[r0 + i] = m;
            }
        }
    }
    for (int k = 0; k < K; k++)
        if (ybad[k]) ynorm[k] = INFINITY;
    for (int r = 0; r < nchk; r++) {
        if (zbad[r]) znorm[r] = INFINITY;
        if (rbad[r] || zbad[r]) res[r] = INFINITY;
    }
}

const char *gp_combine_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "sse2";
}
