/* gp_blas.h - the OpenBLAS calls gpdot makes, on row-major gp_rmat views.
 *
 * Threading: OpenBLAS keeps one process-wide thread pool. gpdot sets its
 * size once at start-up with gp_blas_set_threads() (daemons sharing a machine
 * want 1); nothing else in the library changes it.
 */
#ifndef GP_BLAS_H
#define GP_BLAS_H

#include <stdbool.h>

#include "gp_mat.h"

/* Sets the number of OpenBLAS threads (>= 1). */
void gp_blas_set_threads(int n);

/* The OpenBLAS build string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64". */
const char *gp_blas_config(void);

/* C = alpha * op(A) * B + beta * C with op(A) = A or A^T; all row-major.
 * Shapes must agree (checked with assert). B with one column uses gemv. */
void gp_gemm_rm(bool trans_a, double alpha, gp_rmat a, gp_rmat b, double beta, gp_rmat c);

/* A += alpha * X * Y^T, X rows(A) x k, Y cols(A) x k: the rank-k update. */
void gp_rank_update_rm(double alpha, gp_rmat x, gp_rmat y, gp_rmat a);

#endif
