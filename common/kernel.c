#include "gp_kernel.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* 4 doubles: one AVX2 register; the SSE2 build splits it in two, the
 * AVX-512 build uses half a register. The arithmetic per element is the
 * same everywhere: a multiply and an add per term, in order of k. */
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));

#define TILE 1024 /* elements per row per tile: the rows of a tile stay in L2 */
#define RB   6    /* rows per register block: 12 accumulators fit AVX2's 16 registers */

static inline __attribute__((always_inline)) v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store4(double *p, v4d v)
{
    memcpy(p, &v, sizeof v);
}

static inline __attribute__((always_inline)) v4d abs4(v4d v)
{
    return (v4d)((v4l)v & ((v4l){0} + INT64_MAX));
}

static inline __attribute__((always_inline)) v4d max4(v4d a, v4d m) /* ignores NaN in a */
{
    v4l gt = a > m;
    return (v4d)(((v4l)a & gt) | ((v4l)m & ~gt));
}

static inline __attribute__((always_inline)) v4l finite4(v4d a) /* a = |x| */
{
    return a <= ((v4d){0} + DBL_MAX);
}

/* Scalar version with exactly the same order of operations. */
static inline double dot_scalar(int K, const double *coef, const double *const *y, size_t l)
{
    double acc = coef[0] * y[0][l];
    for (int k = 1; k < K; k++) acc = acc + coef[k] * y[k][l];
    return acc;
}

/* max |v[k][l]| over [l0, l1), and whether a NaN or Inf is among them: four
 * independent accumulators (the max is a compare-and-blend chain), and
 * x - x, which is NaN exactly for NaN and Inf, summed on the side. */
static inline __attribute__((always_inline)) void norms(int n, const double *const *v, size_t l0,
                                                        size_t l1, double *nrm, int *bad)
{
    for (int k = 0; k < n; k++) {
        const double *p = v[k];
        v4d m0 = {0}, m1 = {0}, m2 = {0}, m3 = {0}, nf = {0};
        size_t l = l0;
        for (; l + 16 <= l1; l += 16) {
            v4d x0 = load4(p + l), x1 = load4(p + l + 4), x2 = load4(p + l + 8),
                x3 = load4(p + l + 12);
            m0 = max4(abs4(x0), m0);
            m1 = max4(abs4(x1), m1);
            m2 = max4(abs4(x2), m2);
            m3 = max4(abs4(x3), m3);
            nf = nf + ((x0 - x0) + (x1 - x1)) + ((x2 - x2) + (x3 - x3));
        }
        m0 = max4(max4(m1, m0), max4(m3, m2));
        double m = 0;
        int b = 0;
        for (int i = 0; i < 4; i++) {
            if (m0[i] > m) m = m0[i];
            b |= nf[i] != 0; /* NaN != 0 is true */
        }
        for (; l < l1; l++) {
            double a = fabs(p[l]);
            if (a > m) m = a;
            b |= !(a <= DBL_MAX);
        }
        if (m > nrm[k]) nrm[k] = m;
        bad[k] |= b;
    }
}

/* NR rows (1..RB, a constant after inlining) of coefficients cr[r*K + k]
 * over elements [l0, l1) of a tile: rows r < no are outputs, o[r][l] = the
 * sum; the others are checks, mxr[r] = max |z[r][l] - sum|. The caller has
 * made sure no sum or residual can be NaN or Inf in this tile (see
 * gp_combine), so the vector loop does not test for them. */
static inline __attribute__((always_inline)) void
blockn(const int NR, int no, int K, const double *const *y, size_t l0, size_t l1,
       const double *const *cr, double *const *o, const double *const *z, double *mxr)
{
    size_t v1 = l0 + (l1 - l0) / 8 * 8;
    v4d m[RB] = {{0}};
    for (size_t l = l0; l < v1; l += 8) {
        v4d a[RB], b[RB];
        v4d y0 = load4(y[0] + l), y1 = load4(y[0] + l + 4);
        for (int r = 0; r < NR; r++) {
            a[r] = y0 * cr[r][0];
            b[r] = y1 * cr[r][0];
        }
        for (int k = 1; k < K; k++) {
            y0 = load4(y[k] + l);
            y1 = load4(y[k] + l + 4);
            for (int r = 0; r < NR; r++) {
                double cc = cr[r][k];
                a[r] = a[r] + y0 * cc;
                b[r] = b[r] + y1 * cc;
            }
        }
        for (int r = 0; r < NR; r++) {
            if (r < no) {
                store4(o[r] + l, a[r]);
                store4(o[r] + l + 4, b[r]);
            } else {
                v4d d0 = abs4(load4(z[r] + l) - a[r]), d1 = abs4(load4(z[r] + l + 4) - b[r]);
                m[r] = max4(max4(d1, d0), m[r]); /* one step of the chain per iteration */
            }
        }
    }
    for (int r = no; r < NR; r++)
        for (int i = 0; i < 4; i++)
            if (m[r][i] > mxr[r]) mxr[r] = m[r][i];
    for (size_t l = v1; l < l1; l++)
        for (int r = 0; r < NR; r++) {
            double sum = dot_scalar(K, cr[r], y, l);
            if (r < no) {
                o[r][l] = sum;
            } else {
                double a = fabs(z[r][l] - sum);
                if (a > mxr[r]) mxr[r] = a;
            }
        }
}

static inline __attribute__((always_inline)) void
block(int nr, int no, int K, const double *const *y, size_t l0, size_t l1, const double *const *cr,
      double *const *o, const double *const *z, double *mxr)
{
    switch (nr) {
    case 1:
        blockn(1, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    case 2:
        blockn(2, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    case 3:
        blockn(3, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    case 4:
        blockn(4, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    case 5:
        blockn(5, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    default:
        blockn(6, no, K, y, l0, l1, cr, o, z, mxr);
        break;
    }
}

/* The same sums for a tile that holds a NaN or Inf, or values so large that
 * a sum could overflow: plain loops that test every residual. */
static void tile_scalar(int K, const double *const *y, size_t l0, size_t l1, int nout,
                        const double *c, double *const *out, int nchk, const double *d,
                        const double *const *z, double *rmax, int *rbad)
{
    for (int r = 0; r < nout; r++)
        for (size_t l = l0; l < l1; l++) out[r][l] = dot_scalar(K, c + (size_t)r * K, y, l);
    for (int r = 0; r < nchk; r++)
        for (size_t l = l0; l < l1; l++) {
            double a = fabs(z[r][l] - dot_scalar(K, d + (size_t)r * K, y, l));
            if (a > rmax[r]) rmax[r] = a;
            rbad[r] |= !(a <= DBL_MAX);
        }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void
gp_combine(int K, const double *const *y, size_t len, int nout, const double *c, double *const *out,
           int nchk, const double *d, const double *const *z, double *res, double *ynorm,
           double *znorm)
{
    int ybad[64] = {0}, zbad[64] = {0}, rbad[64] = {0};
    double rmax[64] = {0};
    int nrow = nout + nchk;
    const double *cr[128], *zr[128];
    double *orow[128];
    for (int r = 0; r < nrow; r++) { /* outputs first, then checks, in blocks of four */
        cr[r] = r < nout ? c + (size_t)r * K : d + (size_t)(r - nout) * K;
        orow[r] = r < nout ? out[r] : NULL;
        zr[r] = r < nout ? NULL : z[r - nout];
    }
    /* largest coefficient sum over the rows, for the overflow test */
    double csum = 0;
    for (int r = 0; r < nrow; r++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += fabs(cr[r][k]);
        if (s > csum) csum = s;
    }
    for (int k = 0; k < K; k++) ynorm[k] = 0;
    for (int r = 0; r < nchk; r++) znorm[r] = 0;

    for (size_t t0 = 0; t0 < len; t0 += TILE) {
        size_t t1 = t0 + TILE < len ? t0 + TILE : len;
        double tn[64], zn[64];
        int tb[64], zb[64];
        for (int k = 0; k < K; k++) {
            tn[k] = 0;
            tb[k] = 0;
        }
        for (int r = 0; r < nchk; r++) {
            zn[r] = 0;
            zb[r] = 0;
        }
        norms(K, y, t0, t1, tn, tb);
        norms(nchk, z, t0, t1, zn, zb);
        double ymax = 0, zmax = 0;
        int nonfinite = 0;
        for (int k = 0; k < K; k++) {
            ynorm[k] = tn[k] > ynorm[k] ? tn[k] : ynorm[k];
            ybad[k] |= tb[k];
            nonfinite |= tb[k];
            if (tn[k] > ymax) ymax = tn[k];
        }
        for (int r = 0; r < nchk; r++) {
            znorm[r] = zn[r] > znorm[r] ? zn[r] : znorm[r];
            zbad[r] |= zb[r];
            nonfinite |= zb[r];
            if (zn[r] > zmax) zmax = zn[r];
        }
        /* |sum| <= csum * ymax, so nothing can overflow below this */
        if (nonfinite || !(csum * ymax + zmax < 0x1p1000)) {
            tile_scalar(K, y, t0, t1, nout, c, out, nchk, d, z, rmax, rbad);
            continue;
        }
        for (int r0 = 0; r0 < nrow; r0 += RB) {
            int nr = nrow - r0 < RB ? nrow - r0 : RB, no = nout - r0;
            no = no < 0 ? 0 : no > nr ? nr : no;
            double bm[RB] = {0, 0, 0, 0, 0, 0};
            block(nr, no, K, y, t0, t1, cr + r0, orow + r0, zr + r0, bm);
            for (int r = no; r < nr; r++)
                if (bm[r] > rmax[r0 + r - nout]) rmax[r0 + r - nout] = bm[r];
        }
    }
    for (int k = 0; k < K; k++)
        if (ybad[k]) ynorm[k] = INFINITY;
    for (int r = 0; r < nchk; r++) {
        res[r] = rmax[r];
        if (zbad[r]) znorm[r] = INFINITY;
        if (rbad[r] || zbad[r]) res[r] = INFINITY;
    }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void
gp_project2(const double *y, size_t len, const double *g0, const double *g1, double *s0, double *s1)
{
    v4d a = {0}, b = {0};
    size_t l = 0;
    for (; l + 4 <= len; l += 4) {
        v4d v = load4(y + l);
        a = a + load4(g0 + l) * v;
        b = b + load4(g1 + l) * v;
    }
    double x = (a[0] + a[1]) + (a[2] + a[3]), z = (b[0] + b[1]) + (b[2] + b[3]);
    for (; l < len; l++) {
        x = x + g0[l] * y[l];
        z = z + g1[l] * y[l];
    }
    *s0 = x;
    *s1 = z;
}

const char *gp_combine_isa(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512f";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    return "sse2";
}
