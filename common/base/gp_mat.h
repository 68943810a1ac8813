/* gp_mat.h - row-major matrices of doubles.
 *
 * gp_rmat is a view: element (i, j) is data[i * ld + j], ld >= cols. Views do
 * not own memory; gp_rmat_alloc/gp_rmat_free manage owned storage (64-byte
 * aligned, zero-filled, ld == cols).
 */
#ifndef GP_MAT_H
#define GP_MAT_H

#include <stdbool.h>
#include <stddef.h>

#include "gp_err.h"

typedef struct gp_rmat {
    double *data;
    size_t rows, cols, ld;
} gp_rmat;

/* The same for single precision (the float32 trainer): a view as gp_rmat. */
typedef struct gp_fmat {
    float *data;
    size_t rows, cols, ld;
} gp_fmat;

static inline gp_fmat gp_fmat_view(float *data, size_t rows, size_t cols, size_t ld)
{
    gp_fmat m = {data, rows, cols, ld};
    return m;
}

static inline gp_rmat gp_rmat_view(double *data, size_t rows, size_t cols, size_t ld)
{
    gp_rmat m = {data, rows, cols, ld};
    return m;
}

static inline double *gp_rmat_at(gp_rmat m, size_t i, size_t j)
{
    return m.data + i * m.ld + j;
}

/* Rows [r0, r0+rows) and columns [c0, c0+cols) of m; the caller keeps them in range. */
static inline gp_rmat gp_rmat_sub(gp_rmat m, size_t r0, size_t c0, size_t rows, size_t cols)
{
    return gp_rmat_view(m.data + r0 * m.ld + c0, rows, cols, m.ld);
}

/* Allocates a zeroed rows x cols matrix. Returns GP_ERANGE if the size
 * overflows, GP_ENOMEM if allocation fails; *m is then all zero. */
gp_err gp_rmat_alloc(gp_rmat *m, size_t rows, size_t cols);

/* As gp_rmat_alloc, but the contents are left undefined: for a matrix that
 * is written whole at once (a received partial copied in). */
gp_err gp_rmat_alloc_uninit(gp_rmat *m, size_t rows, size_t cols);

/* Frees storage from gp_rmat_alloc; safe on a zeroed or already freed matrix. */
void gp_rmat_free(gp_rmat *m);

/* Sets every element to zero. */
void gp_rmat_zero(gp_rmat m);

/* dst = src elementwise; shapes must match. */
void gp_rmat_copy(gp_rmat dst, gp_rmat src);

/* Largest absolute element; NaN if any element is NaN. */
double gp_rmat_maxabs(gp_rmat m);

/* dst = src rounded to single precision (to nearest; past FLT_MAX: Inf);
 * and back, exactly. Shapes must match. */
void gp_fmat_round(gp_fmat dst, gp_rmat src);
void gp_rmat_widen(gp_rmat dst, gp_fmat src);

/* Allocates a zeroed rows x cols single-precision matrix (64-byte aligned,
 * ld == cols); errors as gp_rmat_alloc. Free with gp_fmat_free. */
gp_err gp_fmat_alloc(gp_fmat *m, size_t rows, size_t cols);
void gp_fmat_free(gp_fmat *m);

/* True when every element is finite. */
bool gp_rmat_finite(gp_rmat m);

/* dst = sum over the nbr x nbc blocks of src of coef[i*nbc + j] * block (i, j),
 * src being cut into blocks of dst's shape, the last ones zero-padded: the
 * linear combinations every code's encoding is made of. */
void gp_rmat_combine_blocks(gp_rmat dst, gp_rmat src, int nbr, int nbc, const double *coef);

/* 64-byte aligned allocation of n doubles, zero-filled; NULL on overflow or
 * failure. Large buffers start at staggered offsets within a page (see
 * mat.c). Free with gp_free_doubles, not free. */
double *gp_alloc_doubles(size_t n);
void gp_free_doubles(double *p);

#endif
