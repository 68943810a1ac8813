#include "gp_blas.h"

#include <assert.h>
#include <cblas.h>
#include <string.h>

void gp_blas_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}

const char *gp_blas_config(void)
{
    return openblas_get_config();
}

void gp_gemm_rm(bool trans_a, double alpha, gp_rmat a, gp_rmat b, double beta, gp_rmat c)
{
    size_t m = trans_a ? a.cols : a.rows, k = trans_a ? a.rows : a.cols;
    assert(b.rows == k && c.rows == m && c.cols == b.cols);
    if (m == 0 || c.cols == 0) return;
    if (b.cols == 1) {
        cblas_dgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (int)a.rows, (int)a.cols,
                    alpha, a.data, (int)a.ld, b.data, (int)b.ld, beta, c.data, (int)c.ld);
        return;
    }
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, (int)m,
                (int)c.cols, (int)k, alpha, a.data, (int)a.ld, b.data, (int)b.ld, beta, c.data,
                (int)c.ld);
}

typedef double v8d __attribute__((vector_size(64)));

/* d = s + a y, n elements, in one pass (each element rounded twice, as
 * written: no fused multiply-add). */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void
axpy_into(size_t n, double a, const double *y, const double *s, double *d)
{
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        v8d yv, sv, r;
        memcpy(&yv, y + j, sizeof yv);
        memcpy(&sv, s + j, sizeof sv);
        r = sv + a * yv;
        memcpy(d + j, &r, sizeof r);
    }
    for (; j < n; j++) d[j] = s[j] + a * y[j];
}

void gp_rank_update_into(double alpha, gp_rmat x, gp_rmat y, gp_rmat src, gp_rmat dst)
{
    assert(src.rows == dst.rows && src.cols == dst.cols);
    assert(x.rows == src.rows && y.rows == src.cols && x.cols == y.cols);
    if (src.rows == 0 || src.cols == 0) return;
    if (x.cols == 1 && y.ld == 1) { /* rank 1: the copy and the update in one pass */
        for (size_t i = 0; i < src.rows; i++)
            axpy_into(src.cols, alpha * x.data[i * x.ld], y.data, src.data + i * src.ld,
                      dst.data + i * dst.ld);
        return;
    }
    gp_rmat_copy(dst, src);
    gp_rank_update_rm(alpha, x, y, dst);
}

void gp_sgemm_rm(bool trans_a, float alpha, gp_fmat a, gp_fmat b, float beta, gp_fmat c)
{
    size_t m = trans_a ? a.cols : a.rows, k = trans_a ? a.rows : a.cols;
    assert(b.rows == k && c.rows == m && c.cols == b.cols);
    if (m == 0 || c.cols == 0) return;
    if (b.cols == 1) {
        cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (int)a.rows, (int)a.cols,
                    alpha, a.data, (int)a.ld, b.data, (int)b.ld, beta, c.data, (int)c.ld);
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, CblasNoTrans, (int)m,
                (int)c.cols, (int)k, alpha, a.data, (int)a.ld, b.data, (int)b.ld, beta, c.data,
                (int)c.ld);
}

void gp_srank_update_rm(float alpha, gp_fmat x, gp_fmat y, gp_fmat a)
{
    assert(x.rows == a.rows && y.rows == a.cols && x.cols == y.cols);
    if (a.rows == 0 || a.cols == 0 || x.cols == 0) return;
    if (x.cols == 1) {
        cblas_sger(CblasRowMajor, (int)a.rows, (int)a.cols, alpha, x.data, (int)x.ld, y.data,
                   (int)y.ld, a.data, (int)a.ld);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a.rows, (int)a.cols, (int)x.cols,
                alpha, x.data, (int)x.ld, y.data, (int)y.ld, 1.0f, a.data, (int)a.ld);
}

void gp_rank_update_rm(double alpha, gp_rmat x, gp_rmat y, gp_rmat a)
{
    assert(x.rows == a.rows && y.rows == a.cols && x.cols == y.cols);
    if (a.rows == 0 || a.cols == 0 || x.cols == 0) return;
    if (x.cols == 1) {
        cblas_dger(CblasRowMajor, (int)a.rows, (int)a.cols, alpha, x.data, (int)x.ld, y.data,
                   (int)y.ld, a.data, (int)a.ld);
        return;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)a.rows, (int)a.cols, (int)x.cols,
                alpha, x.data, (int)x.ld, y.data, (int)y.ld, 1.0, a.data, (int)a.ld);
}
