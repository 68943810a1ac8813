#include "gp_dla.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int gp_lu_factor(int n, double *a, int lda, int *piv)
{
    for (int k = 0; k < n; k++) {
        int p = k;
        double best = fabs(a[k * lda + k]);
        for (int i = k + 1; i < n; i++) {
            double v = fabs(a[i * lda + k]);
            if (v > best) {
                best = v;
                p = i;
            }
        }
        piv[k] = p;
        if (best == 0.0) return k + 1;
        if (p != k)
            for (int j = 0; j < n; j++) {
                double t = a[k * lda + j];
                a[k * lda + j] = a[p * lda + j];
                a[p * lda + j] = t;
            }
        double inv = a[k * lda + k];
        for (int i = k + 1; i < n; i++) {
            double l = a[i * lda + k] / inv;
            a[i * lda + k] = l;
            for (int j = k + 1; j < n; j++) a[i * lda + j] -= l * a[k * lda + j];
        }
    }
    return 0;
}

void gp_lu_solve(int n, const double *lu, int lda, const int *piv, double *b)
{
    for (int k = 0; k < n; k++)
        if (piv[k] != k) {
            double t = b[k];
            b[k] = b[piv[k]];
            b[piv[k]] = t;
        }
    for (int i = 1; i < n; i++) {
        double s = b[i];
        for (int j = 0; j < i; j++) s -= lu[i * lda + j] * b[j];
        b[i] = s;
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int j = i + 1; j < n; j++) s -= lu[i * lda + j] * b[j];
        b[i] = s / lu[i * lda + i];
    }
}

static int cmp_desc(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

int gp_svd_values(int m, int n, const double *a, int lda, double *sv)
{
    if (m < n || n < 1) return -1;
    /* Work on columns: u[j*m + i] = a[i][j]. */
    double *u = malloc(sizeof(double) * (size_t)m * (size_t)n);
    if (!u) return -1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) u[(size_t)j * m + i] = a[i * lda + j];
    const double tol = 1e-15;
    for (int sweep = 0; sweep < 60; sweep++) {
        int rotated = 0;
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++) {
                double *up = u + (size_t)p * m, *uq = u + (size_t)q * m;
                double alpha = 0, beta = 0, gamma = 0;
                for (int i = 0; i < m; i++) {
                    alpha += up[i] * up[i];
                    beta += uq[i] * uq[i];
                    gamma += up[i] * uq[i];
                }
                if (gamma == 0.0 || fabs(gamma) <= tol * sqrt(alpha * beta)) continue;
                rotated = 1;
                double zeta = (beta - alpha) / (2.0 * gamma);
                double t = (zeta >= 0 ? 1.0 : -1.0) / (fabs(zeta) + sqrt(1.0 + zeta * zeta));
                double c = 1.0 / sqrt(1.0 + t * t), s = c * t;
                for (int i = 0; i < m; i++) {
                    double x = up[i], y = uq[i];
                    up[i] = c * x - s * y;
                    uq[i] = s * x + c * y;
                }
            }
        if (!rotated) break;
    }
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < m; i++) s += u[(size_t)j * m + i] * u[(size_t)j * m + i];
        sv[j] = sqrt(s);
    }
    free(u);
    qsort(sv, (size_t)n, sizeof *sv, cmp_desc);
    return 0;
}

double gp_cond2(int m, int n, const double *a, int lda)
{
    double svs[64], *sv = n <= 64 ? svs : malloc(sizeof(double) * (size_t)n);
    if (!sv || gp_svd_values(m, n, a, lda, sv) != 0) {
        if (sv != svs) free(sv);
        return INFINITY;
    }
    double c = sv[n - 1] > 0 ? sv[0] / sv[n - 1] : INFINITY;
    if (sv != svs) free(sv);
    return c;
}

int gp_select_rows(int k, const double *g, int ldg, const int *cand, int ncand, int *sel)
{
    double *r = malloc(sizeof(double) * (size_t)ncand * (size_t)k);
    double *q = malloc(sizeof(double) * (size_t)k * (size_t)k);
    char *used = calloc((size_t)ncand, 1);
    int nsel = 0;
    if (!r || !q || !used) goto out;
    double floor2 = 0; /* a residual below this is rounding: the row is dependent */
    for (int c = 0; c < ncand; c++) {
        memcpy(r + (size_t)c * k, g + (size_t)cand[c] * ldg, sizeof(double) * k);
        double s = 0;
        for (int j = 0; j < k; j++) s += r[(size_t)c * k + j] * r[(size_t)c * k + j];
        if (s > floor2) floor2 = s;
    }
    floor2 *= (64 * 2.220446049250313e-16) * (64 * 2.220446049250313e-16);
    for (int t = 0; t < k; t++) {
        int best = -1;
        double bn = floor2;
        for (int c = 0; c < ncand; c++) {
            if (used[c]) continue;
            double s = 0;
            for (int j = 0; j < k; j++) s += r[(size_t)c * k + j] * r[(size_t)c * k + j];
            if (s > bn) {
                bn = s;
                best = c;
            }
        }
        if (best < 0) break;
        used[best] = 1;
        double *qt = q + (size_t)t * k, nrm = sqrt(bn);
        for (int j = 0; j < k; j++) qt[j] = r[(size_t)best * k + j] / nrm;
        /* Remove the new direction from the remaining rows (twice, for orthogonality). */
        for (int pass = 0; pass < 2; pass++)
            for (int c = 0; c < ncand; c++) {
                if (used[c]) continue;
                double d = 0;
                for (int j = 0; j < k; j++) d += r[(size_t)c * k + j] * qt[j];
                for (int j = 0; j < k; j++) r[(size_t)c * k + j] -= d * qt[j];
            }
        nsel++;
    }
    /* Report in candidate order. */
    for (int c = 0, i = 0; c < ncand; c++)
        if (used[c]) sel[i++] = cand[c];
out:
    free(r);
    free(q);
    free(used);
    return nsel;
}

bool gp_next_subset(int *a, int k, int n)
{
    int i = k - 1;
    while (i >= 0 && a[i] == n - k + i) i--;
    if (i < 0) return false;
    a[i]++;
    for (int j = i + 1; j < k; j++) a[j] = a[j - 1] + 1;
    return true;
}
