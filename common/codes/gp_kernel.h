/* gp_kernel.h - the decoder's one hot loop.
 *
 * Given K base outputs y[0..K-1] (each len doubles), computes
 *
 *   out[r][l] = sum_k c[r*K + k] * y[k][l]                      for r < nout
 *   res[r]    = max_l | z[r][l] - sum_k d[r*K + k] * y[k][l] |   for r < nchk
 *   ynorm[k]  = max_l |y[k][l]|
 *   znorm[r]  >= max_l |z[r][l]|
 *
 * in one pass over the data. The sums run over k in increasing order with a
 * separate multiply and add for every term (no FMA), so the bits of the
 * result do not depend on the vector width the CPU offers. A NaN or Inf in
 * z[r] or in the sum makes res[r] = +Inf; one in y[k] makes ynorm[k] = +Inf,
 * one in z[r] znorm[r] = +Inf. znorm[r] is a bound rather than the maximum
 * itself (reading every z[r][l] a second time would cost as much again): the
 * largest over blocks of 1024 elements of (sum_k |d[r*K + k]| max |y[k]|)
 * (1 + 2^-40) + max |z[r] - sum|, or of max |z[r]| itself in a block that
 * holds a NaN, an Inf or an overflow; finite whenever z[r] is. It is the
 * same on every CPU.
 */
#ifndef GP_KERNEL_H
#define GP_KERNEL_H

#include <stddef.h>

void gp_combine(int K, const double *const *y, size_t len, int nout, const double *c,
                double *const *out, int nchk, const double *d, const double *const *z, double *res,
                double *ynorm, double *znorm);

/* max_l |y[l]|, or +Inf when y holds a NaN or Inf. */
double gp_maxabs(const double *y, size_t len);

/* s0 = sum_l g0[l] y[l], s1 = sum_l g1[l] y[l] in a fixed order (four
 * interleaved partial sums, combined as (0 + 1) + (2 + 3), then the tail), so
 * the bits do not depend on the CPU. */
void gp_project2(const double *y, size_t len, const double *g0, const double *g1, double *s0,
                 double *s1);

/* Name of the kernel gp_combine uses: "avx2" when the CPU has it, else
 * "generic" (the same source with portable vectors). Both give the same bits. */
const char *gp_combine_isa(void);

/* Tests: use the named kernel ("avx2", "generic"), or pick automatically
 * again (NULL). Returns -1 when this CPU cannot run the named kernel. */
int gp_combine_force(const char *name);

#endif
