#include "gp_mat.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Buffers of STAGGER_MIN bytes or more start at their own offset within a
 * 4 KiB page, 7 lines of 64 bytes further than the previous one (modulo 64
 * lines, so 64 consecutive buffers all differ): kernels that stream through
 * several buffers at the same index (the decoder reads up to P outputs side
 * by side) would otherwise find every stream in the same L1 set, more
 * streams than the cache has ways, and each load 4K-aliased with the stores
 * of the others. The pointer to free sits just before the data. */
#define STAGGER_MIN ((size_t)64 << 10)
static _Atomic unsigned stagger;

static double *alloc_doubles(size_t n, bool zero)
{
    if (n == 0) n = 1;
    if (n > (SIZE_MAX - 16384) / sizeof(double)) return NULL;
    size_t bytes = (n * sizeof(double) + 63) & ~(size_t)63;
    bool big = bytes >= STAGGER_MIN;
    char *raw = aligned_alloc(64, bytes + (big ? 4096 + 64 : 64));
    if (!raw) return NULL;
    uintptr_t d = (uintptr_t)raw + 64; /* room for the pointer */
    if (big) {
        uintptr_t want = 64 * (uintptr_t)(atomic_fetch_add(&stagger, 1) * 7 % 64);
        uintptr_t at = (d & ~(uintptr_t)4095) + want;
        d = at >= d ? at : at + 4096;
    }
    double *p = (double *)d;
    if (zero) memset(p, 0, bytes);
    memcpy((char *)p - sizeof raw, &raw, sizeof raw);
    return p;
}

double *gp_alloc_doubles(size_t n)
{
    return alloc_doubles(n, true);
}

void gp_free_doubles(double *p)
{
    if (!p) return;
    char *raw;
    memcpy(&raw, (char *)p - sizeof raw, sizeof raw);
    free(raw);
}

static gp_err rmat_alloc(gp_rmat *m, size_t rows, size_t cols, bool zero)
{
    memset(m, 0, sizeof *m);
    if (cols != 0 && rows > SIZE_MAX / sizeof(double) / cols) return GP_ERANGE;
    double *d = alloc_doubles(rows * cols, zero);
    if (!d) return GP_ENOMEM;
    *m = gp_rmat_view(d, rows, cols, cols);
    return GP_OK;
}

gp_err gp_rmat_alloc(gp_rmat *m, size_t rows, size_t cols)
{
    return rmat_alloc(m, rows, cols, true);
}

gp_err gp_rmat_alloc_uninit(gp_rmat *m, size_t rows, size_t cols)
{
    return rmat_alloc(m, rows, cols, false);
}

void gp_rmat_free(gp_rmat *m)
{
    if (!m) return;
    gp_free_doubles(m->data);
    memset(m, 0, sizeof *m);
}

void gp_rmat_zero(gp_rmat m)
{
    if (m.ld == m.cols) { /* contiguous: one call, not one per row (B = 1 has rows of one) */
        if (m.rows > 0) memset(m.data, 0, m.rows * m.cols * sizeof(double));
        return;
    }
    for (size_t i = 0; i < m.rows; i++) memset(m.data + i * m.ld, 0, m.cols * sizeof(double));
}

void gp_rmat_copy(gp_rmat dst, gp_rmat src)
{
    for (size_t i = 0; i < src.rows; i++)
        memcpy(dst.data + i * dst.ld, src.data + i * src.ld, src.cols * sizeof(double));
}

double gp_rmat_maxabs(gp_rmat m)
{
    double mx = 0.0;
    for (size_t i = 0; i < m.rows; i++) {
        const double *r = m.data + i * m.ld;
        for (size_t j = 0; j < m.cols; j++) {
            double a = fabs(r[j]);
            if (!(a <= mx)) mx = a; /* also takes NaN */
            if (isnan(mx)) return mx;
        }
    }
    return mx;
}

void gp_fmat_round(gp_fmat dst, gp_rmat src)
{
    for (size_t i = 0; i < src.rows; i++) {
        const double *s = src.data + i * src.ld;
        float *d = dst.data + i * dst.ld;
        for (size_t j = 0; j < src.cols; j++) d[j] = (float)s[j];
    }
}

void gp_rmat_widen(gp_rmat dst, gp_fmat src)
{
    for (size_t i = 0; i < src.rows; i++) {
        const float *s = src.data + i * src.ld;
        double *d = dst.data + i * dst.ld;
        for (size_t j = 0; j < src.cols; j++) d[j] = (double)s[j];
    }
}

gp_err gp_fmat_alloc(gp_fmat *m, size_t rows, size_t cols)
{
    memset(m, 0, sizeof *m);
    if (cols && rows > SIZE_MAX / sizeof(float) / cols) return GP_ERANGE;
    size_t n = rows * cols, dn = (n + 1) / 2; /* as doubles: the same allocator */
    double *p = gp_alloc_doubles(dn ? dn : 1);
    if (!p) return GP_ENOMEM;
    m->data = (float *)p;
    m->rows = rows, m->cols = cols, m->ld = cols;
    return GP_OK;
}

void gp_fmat_free(gp_fmat *m)
{
    gp_free_doubles((double *)m->data);
    memset(m, 0, sizeof *m);
}

bool gp_rmat_finite(gp_rmat m)
{
    for (size_t i = 0; i < m.rows; i++) {
        const double *r = m.data + i * m.ld;
        for (size_t j = 0; j < m.cols; j++)
            if (!isfinite(r[j])) return false;
    }
    return true;
}

void gp_rmat_combine_blocks(gp_rmat dst, gp_rmat src, int nbr, int nbc, const double *coef)
{
    if (nbc == 1 && src.cols == dst.cols && src.ld == src.cols && dst.ld == dst.cols) {
        /* Blocks of whole rows, all contiguous (every input encoding): a
         * chunk of dst at a time, so that it stays in L1 while each block
         * adds to it; the same sums in the same order as below. */
        size_t len = dst.rows * dst.cols;
        for (size_t l0 = 0; l0 < len; l0 += 2048) {
            size_t l1 = len - l0 < 2048 ? len : l0 + 2048;
            double *restrict d = dst.data;
            for (size_t l = l0; l < l1; l++) d[l] = 0.0;
            for (int i = 0; i < nbr; i++) {
                double a = coef[i];
                size_t r0 = (size_t)i * dst.rows;
                if (a == 0.0 || r0 >= src.rows) continue;
                size_t have = (src.rows - r0) * src.cols, e = l1 < have ? l1 : have;
                const double *restrict s = src.data + r0 * src.ld;
                for (size_t l = l0; l < e; l++) d[l] += a * s[l];
            }
        }
        return;
    }
    gp_rmat_zero(dst);
    for (int i = 0; i < nbr; i++)
        for (int j = 0; j < nbc; j++) {
            double a = coef[i * nbc + j];
            size_t r0 = (size_t)i * dst.rows, c0 = (size_t)j * dst.cols;
            if (a == 0.0 || r0 >= src.rows || c0 >= src.cols) continue;
            size_t nr = src.rows - r0 < dst.rows ? src.rows - r0 : dst.rows;
            size_t nc = src.cols - c0 < dst.cols ? src.cols - c0 : dst.cols;
            for (size_t r = 0; r < nr; r++) {
                double *d = dst.data + r * dst.ld;
                const double *s = src.data + (r0 + r) * src.ld + c0;
                for (size_t l = 0; l < nc; l++) d[l] += a * s[l];
            }
        }
}
