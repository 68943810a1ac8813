/* kernel.c - the decoder's hot loop (see gp_kernel.h), one copy per
 * instruction set, chosen at run time. */
#include "gp_kernel.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* 4 doubles: one AVX2 register; the generic build (SSE2 on x86-64) splits
 * it in two. The arithmetic per element is the same everywhere: a multiply
 * and an add per term, in order of k. */
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));

#define TILE    1024 /* elements per row per tile: the rows of a tile stay in L2 */
#define RB      6    /* rows per register block: 12 accumulators fit AVX2's 16 registers */
#define GP_KMAX 64   /* K, nout and nchk are at most GP_MAX_NODES */

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

/* Maxima of non-negative values (|x|, sign bit clear) by their bits read as
 * integers: the same order as the numbers for finite values and Inf, with
 * NaN above everything, so a NaN or Inf anywhere shows in the maximum. */
static inline __attribute__((always_inline)) v4d maxo4(v4d a, v4d m)
{
    v4l gt = (v4l)a > (v4l)m;
    return (v4d)(((v4l)a & gt) | ((v4l)m & ~gt));
}

static inline double maxo(double a, double m)
{
    int64_t ia, im;
    memcpy(&ia, &a, sizeof ia);
    memcpy(&im, &m, sizeof im);
    return ia > im ? a : m;
}

static inline double hmaxo(v4d v)
{
    return maxo(maxo(v[0], v[1]), maxo(v[2], v[3]));
}

/* Scalar version with exactly the same order of operations. */
static inline double dot_scalar(int K, const double *coef, const double *const *y, size_t l)
{
    double acc = coef[0] * y[0][l];
    for (int k = 1; k < K; k++) acc = acc + coef[k] * y[k][l];
    return acc;
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

/* Exact max |p[l]| over [l0, l1) into *nrm; returns nonzero when a value is
 * NaN or Inf. */
static int norms_exact(const double *p, size_t l0, size_t l1, double *nrm)
{
    double m = 0;
    int bad = 0;
    for (size_t l = l0; l < l1; l++) {
        double a = fabs(p[l]);
        if (a > m) m = a;
        bad |= !(a <= DBL_MAX);
    }
    *nrm = m;
    return bad;
}

/* The last (l1 - l0) % 8 elements of a register block (see blockn in
 * kernel_impl.h), one at a time with the same operations in the same order;
 * out of line, so that the many copies of blockn stay small. */
static __attribute__((noinline)) void block_tail(int NR, int NO, int K, const double *const *y,
                                                 size_t l0, size_t l1, const double *cb,
                                                 double *const *o, const double *const *z, v4d *mr,
                                                 bool wy, v4d *ny)
{
    for (size_t l = l0; l < l1; l++) {
        for (int r = 0; r < NR; r++) {
            double sum = cb[r] * y[0][l];
            for (int k = 1; k < K; k++) sum = sum + cb[k * NR + r] * y[k][l];
            if (r < NO)
                o[r][l] = sum;
            else
                mr[r][0] = maxo(fabs(z[r][l] - sum), mr[r][0]);
        }
        if (wy)
            for (int k = 0; k < K; k++) ny[k][0] = maxo(fabs(y[k][l]), ny[k][0]);
    }
}

/* The same kernel for each instruction set; see kernel_impl.h. */
#define KTARGET
#define KFN(name)  name##_generic
#define VMAX(a, m) max4(a, m)
#include "kernel_impl.h"
#undef KTARGET
#undef KFN
#undef VMAX

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KTARGET    __attribute__((target("avx2")))
#define KFN(name)  name##_avx2
#define VMAX(a, m) _mm256_max_pd(a, m)
#include "kernel_impl.h"
#undef KTARGET
#undef KFN
#undef VMAX
#define HAVE_AVX2_KERNEL 1
#endif

typedef void combine_fn(int K, const double *const *y, size_t len, int nout, const double *c,
                        double *const *out, int nchk, const double *d, const double *const *z,
                        double *res, double *ynorm, double *znorm);

static _Atomic int forced = -1; /* 0 generic, 1 avx2, -1 automatic */

static int cpu_has_avx2(void)
{
#ifdef HAVE_AVX2_KERNEL
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
#else
    return 0;
#endif
}

static int isa(void)
{
    int f = forced;
    return f >= 0 ? f : cpu_has_avx2();
}

void gp_combine(int K, const double *const *y, size_t len, int nout, const double *c,
                double *const *out, int nchk, const double *d, const double *const *z, double *res,
                double *ynorm, double *znorm)
{
    combine_fn *fn = combine_generic;
#ifdef HAVE_AVX2_KERNEL
    if (isa() == 1) fn = combine_avx2;
#endif
    fn(K, y, len, nout, c, out, nchk, d, z, res, ynorm, znorm);
}

double gp_maxabs(const double *y, size_t len)
{
#ifdef HAVE_AVX2_KERNEL
    if (isa() == 1) return maxabs_avx2(y, len);
#endif
    return maxabs_generic(y, len);
}

int gp_combine_force(const char *name)
{
    if (!name) {
        forced = -1;
        return 0;
    }
    if (!strcmp(name, "generic")) {
        forced = 0;
        return 0;
    }
    if (!strcmp(name, "avx2") && cpu_has_avx2()) {
        forced = 1;
        return 0;
    }
    return -1;
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
    return isa() == 1 ? "avx2" : "generic";
}
