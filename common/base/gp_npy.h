/* gp_npy.h - numpy .npy files (format 1.0, 2.0, 3.0) holding float64 or float32.
 *
 * Reading accepts little-endian '<f8' or '<f4' (also '|' byte order is not
 * valid for floats), C order, 1-D (n -> n x 1) or 2-D shapes; anything else
 * is a clear GP_EFORMAT error naming what was wrong. The data size must match
 * the file size exactly. Writing produces format 1.0, '<f8', C order.
 */
#ifndef GP_NPY_H
#define GP_NPY_H

#include <stddef.h>

#include "gp_err.h"
#include "gp_mat.h"

/* Largest matrix accepted, in elements (2^31, 16 GiB of doubles). */
#define GP_NPY_MAX_ELEMS (1ull << 31)

/* Reads path into a newly allocated matrix (free with gp_rmat_free). */
gp_err gp_npy_read(const char *path, gp_rmat *out, gp_msg *why);

/* Parses an in-memory .npy image (same rules). */
gp_err gp_npy_parse(const void *buf, size_t len, gp_rmat *out, gp_msg *why);

/* Writes m as a 2-D float64 array (1-D if one_d and m has one column). */
gp_err gp_npy_write(const char *path, gp_rmat m, int one_d, gp_msg *why);

#endif
