/* gp_blas.h - the OpenBLAS calls gpdot makes, on row-major gp_rmat views.
 *
 * Threading: OpenBLAS keeps one process-wide thread pool. gpdot sets its
 * size once at start-up with gp_blas_set_threads() (daemons sharing a machine
 * want 1); nothing else in the library changes it.
 */
#ifndef GP_BLAS_H
#define GP_BLAS_H

#include <stdbool.h>

#include "gp_err.h"
#include "gp_mat.h"

/* The kernel. OpenBLAS picks its kernels by the CPU when it loads; on a CPU
 * newer than it knows it may fall back to a core for narrower vectors
 * (Debian's 0.3.21 runs its SSE3 "Prescott" kernels on recent Intel Xeons,
 * at a fifth of the speed). Every gpdot program calls gp_blas_settle() first
 * thing in main: when OpenBLAS's pick is narrower than what the CPU runs, it
 * runs the program again (same PID, same arguments) with OPENBLAS_CORETYPE
 * set to the widest core the CPU supports (SkylakeX, Haswell or
 * Sandybridge), then checks that kernel against a reference product (gemm,
 * gemm with A^T, gemv and the rank-k update against a long double loop,
 * within gamma_k |A| |B|), going back to OpenBLAS's pick if it fails.
 * Overrides: OPENBLAS_CORETYPE set by the user is kept (unless GP_BLAS_CORE=auto
 * is set outright: then a narrow core it names counts as OpenBLAS's pick);
 * GP_BLAS_CORE=openblas keeps OpenBLAS's pick; GP_BLAS_CORE=NAME asks for
 * that core. Fails (with
 * the reason) only if the kernel that runs fails the check, or GP_BLAS_CORE
 * names no core. Programs it starts decide anew. */
gp_err gp_blas_settle(char **argv, gp_msg *why);

/* gp_blas_settle for a program's main: on failure prints "PROG: reason" and
 * exits with status 1. */
void gp_blas_settle_or_exit(char **argv, const char *prog);

/* What runs and why, e.g. "SkylakeX (chosen by gpdot: OpenBLAS picked
 * Prescott on this CPU; checked)" or "Cooperlake (OpenBLAS's choice; checked)". */
const char *gp_blas_kernel(void);

/* The reference product check alone (GP_ENUMERIC, with the ratio, if the
 * kernel running fails it). */
gp_err gp_blas_check(gp_msg *why);

/* What the check measures: the largest error of the products over the
 * classical bound (<= 1 passes; correct kernels give about a half here, from
 * the rank-3 update, where the bound is tight). */
double gp_blas_check_ratio(void);

/* The decision, for tests: the widest vectors a core's kernels use (0 SSE,
 * 1 AVX, 2 AVX2 + FMA, 3 AVX-512; -1 a core gpdot leaves alone), the CPU's
 * (-1 not x86), and the core gpdot asks for instead of `picked` on a CPU of
 * that level (NULL: keep it). */
int gp_blas_core_level(const char *core);
int gp_blas_cpu_level(void);
const char *gp_blas_better_core(const char *picked, int cpu_level);

/* Sets the number of OpenBLAS threads (>= 1). */
void gp_blas_set_threads(int n);

/* The OpenBLAS build string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64". */
const char *gp_blas_config(void);

/* C = alpha * op(A) * B + beta * C with op(A) = A or A^T; all row-major.
 * Shapes must agree (checked with assert). B with one column uses gemv. */
void gp_gemm_rm(bool trans_a, double alpha, gp_rmat a, gp_rmat b, double beta, gp_rmat c);

/* A += alpha * X * Y^T, X rows(A) x k, Y cols(A) x k: the rank-k update. */
void gp_rank_update_rm(double alpha, gp_rmat x, gp_rmat y, gp_rmat a);

/* DST = SRC + alpha * X * Y^T out of place (DST and SRC the same shape, not
 * overlapping). Rank 1 reads SRC and writes DST in one pass (the cost of the
 * update in place: the copy comes free); higher ranks copy, then update. */
void gp_rank_update_into(double alpha, gp_rmat x, gp_rmat y, gp_rmat src, gp_rmat dst);

/* The two in single precision (sgemm, sgemv, sger). */
void gp_sgemm_rm(bool trans_a, float alpha, gp_fmat a, gp_fmat b, float beta, gp_fmat c);
void gp_srank_update_rm(float alpha, gp_fmat x, gp_fmat y, gp_fmat a);

#endif
