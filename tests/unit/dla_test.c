/* dla_test.c - small dense linear algebra against known answers. */
#include <float.h>

#include "../testlib.h"
#include "gp_dla.h"
#include "gp_rng.h"

static void lu_solves(void)
{
    gp_rng r;
    gp_rng_seed(&r, 3);
    for (int n = 1; n <= 24; n++) {
        double a[24 * 24], lu[24 * 24], x[24], b[24];
        int piv[24];
        for (int i = 0; i < n * n; i++) a[i] = gp_rng_normal(&r);
        for (int i = 0; i < n; i++) x[i] = gp_rng_normal(&r);
        for (int i = 0; i < n; i++) {
            long double s = 0;
            for (int j = 0; j < n; j++) s += (long double)a[i * n + j] * x[j];
            b[i] = (double)s;
        }
        memcpy(lu, a, sizeof(double) * n * n);
        REQUIRE(gp_lu_factor(n, lu, n, piv) == 0);
        gp_lu_solve(n, lu, n, piv, b);
        double err = 0, xn = 0;
        for (int i = 0; i < n; i++) {
            err = fmax(err, fabs(b[i] - x[i]));
            xn = fmax(xn, fabs(x[i]));
        }
        double k = gp_cond2(n, n, a, n);
        CHECKF(err <= 16 * n * DBL_EPSILON * k * xn, "n=%d err %.2e kappa %.2e", n, err, k);
    }
    double sing[4] = {1, 2, 2, 4};
    int piv[2];
    CHECK(gp_lu_factor(2, sing, 2, piv) == 2);
}

/* kappa_2 of Hilbert matrices: 19.28 (n=2), 524.06 (3), 1.5514e4 (4), 4.7661e5 (5). */
static void hilbert_condition(void)
{
    const double ref[] = {0, 1, 19.2814700679, 524.0567775860, 15513.7387389, 476607.250242};
    for (int n = 2; n <= 5; n++) {
        double h[25];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) h[i * n + j] = 1.0 / (i + j + 1);
        double k = gp_cond2(n, n, h, n);
        CHECKF(fabs(k - ref[n]) <= 1e-9 * ref[n], "n=%d %.10g vs %.10g", n, k, ref[n]);
    }
}

/* Singular values of an orthogonal matrix times a known diagonal. */
static void singular_values(void)
{
    int n = 6;
    double q[36], a[36], sv[6];
    const double d[6] = {9, 5, 3, 1, 0.5, 1e-3};
    /* Householder reflector I - 2 v v^T / v^T v is orthogonal */
    double v[6] = {1, -2, 3, 0.5, -1, 2}, vv = 0;
    for (int i = 0; i < n; i++) vv += v[i] * v[i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) q[i * n + j] = (i == j) - 2 * v[i] * v[j] / vv;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) a[i * n + j] = q[i * n + j] * d[j];
    REQUIRE(gp_svd_values(n, n, a, n, sv) == 0);
    for (int i = 0; i < n; i++)
        CHECKF(fabs(sv[i] - d[i]) <= 1e-14 * d[0], "sv[%d]=%.17g", i, sv[i]);
    /* tall matrix */
    double t[8] = {3, 0, 0, 4, 0, 0, 0, 0}; /* 4 x 2: singular values 4, 3 */
    REQUIRE(gp_svd_values(4, 2, t, 2, sv) == 0);
    CHECK(fabs(sv[0] - 4) < 1e-15 && fabs(sv[1] - 3) < 1e-15);
    CHECK(gp_svd_values(2, 4, t, 4, sv) == -1);
}

/* Row selection picks independent, well-spread rows. */
static void row_selection(void)
{
    double g[6 * 2] = {1, 0, 1, 1e-9, 0, 1, 1, 1, 2, 2, 1, -1};
    int cand[6] = {0, 1, 2, 3, 4, 5}, sel[2];
    CHECK(gp_select_rows(2, g, 2, cand, 6, sel) == 2);
    /* the largest row (2, 2) first, then the one most orthogonal to it: (1, -1) */
    CHECK(sel[0] == 4 && sel[1] == 5);
    double dup[4] = {1, 2, 2, 4};
    int c2[2] = {0, 1};
    CHECK(gp_select_rows(2, dup, 2, c2, 2, sel) == 1);
}

/* Every k-subset of 0..n-1 once, in lexicographic order: C(n, k) of them. */
static void subsets(void)
{
    for (int n = 1; n <= 10; n++)
        for (int k = 1; k <= n; k++) {
            int a[10], prev[10], count = 0;
            for (int i = 0; i < k; i++) a[i] = i;
            do {
                for (int i = 1; i < k; i++) CHECK(a[i - 1] < a[i]);
                CHECK(a[k - 1] < n);
                if (count > 0) { /* strictly after the previous one */
                    int i = 0;
                    while (i < k - 1 && a[i] == prev[i]) i++;
                    CHECK(a[i] > prev[i]);
                }
                memcpy(prev, a, sizeof a);
                count++;
            } while (gp_next_subset(a, k, n));
            long binom = 1;
            for (int i = 0; i < k; i++) binom = binom * (n - i) / (i + 1);
            CHECKF(count == binom, "n=%d k=%d: %d subsets, expected %ld", n, k, count, binom);
        }
}

static const test_case cases[] = {
    {"lu_solves", lu_solves},
    {"hilbert_condition", hilbert_condition},
    {"singular_values", singular_values},
    {"row_selection", row_selection},
    {"subsets", subsets},
};

TEST_MAIN(cases)
