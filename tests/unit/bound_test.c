/* bound_test.c - certified worst-case conditioning against the published
 * table of the design notes (computed there with numpy, reference/cond.py)
 * and against a brute force over all subsets. */
#include <float.h>

#include "../testlib.h"
#include "gp_bound.h"
#include "gp_decode.h"
#include "gp_dla.h"
#include "gp_points.h"

/* Worst-case 2-norm condition number over all patterns of P-K missing nodes,
 * monomial basis at Chebyshev points: 2.42e2, 7.24e3, 2.35e5 (cond.py). */
static void published_table(void)
{
    const struct {
        int P, K;
        double kappa;
    } t[] = {{8, 6, 2.42e2}, {12, 10, 7.24e3}, {16, 14, 2.35e5}, {7, 5, 1.05e2}, {13, 11, 1.72e4}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double a[64], G[64 * 64];
        gp_points(0, t[i].P, a);
        gp_vandermonde(a, t[i].P, t[i].K, G);
        gp_worst w;
        REQUIRE(gp_bound_worst(G, t[i].P, t[i].K, INFINITY, &w) == GP_OK);
        CHECK(w.certified);
        CHECKF(fabs(w.kappa - t[i].kappa) <= 0.01 * t[i].kappa, "P=%d K=%d: %.3e vs %.3e", t[i].P,
               t[i].K, w.kappa, t[i].kappa);
    }
}

/* The certified worst case is the maximum over every subset, and the early
 * refusal reports a subset that really exceeds the limit. */
static void brute_force(void)
{
    for (int f = 0; f < GP_POINT_FAMILIES; f += 3)
        for (int P = 5; P <= 12; P++)
            for (int K = 2; K <= P; K += 2) {
                double a[64], G[64 * 64], worst = 0;
                gp_points(f, P, a);
                gp_vandermonde(a, P, K, G);
                for (uint64_t s = 0; s < (1ull << P); s++) {
                    if (__builtin_popcountll(s) != K) continue;
                    double sub[24 * 24];
                    for (int p = 0, r = 0; p < P; p++)
                        if (s >> p & 1) memcpy(sub + (r++) * K, G + p * K, sizeof(double) * K);
                    worst = fmax(worst, gp_cond2(K, K, sub, K));
                }
                gp_worst w, lim; /* limited first (unless published_table certified it already) */
                REQUIRE(gp_bound_worst(G, P, K, worst / 2, &lim) == GP_OK);
                CHECKF((lim.certified && lim.kappa == worst) ||
                           (!lim.certified && lim.kappa > worst / 2 && lim.kappa <= worst),
                       "f=%d P=%d K=%d cert=%d %.17g %.17g", f, P, K, lim.certified, lim.kappa,
                       worst);
                REQUIRE(gp_bound_worst(G, P, K, INFINITY, &w) == GP_OK);
                CHECKF(w.certified && w.kappa == worst, "f=%d P=%d K=%d", f, P, K);
            }
}

static void choice_refuses_with_bound(void)
{
    int K[3] = {11, 15, 9};
    gp_point_choice ch;
    CHECK(gp_points_choose(16, K, 3, -1, 1e-9, &ch) == GP_ENUMERIC && ch.worst > 1e-9);
    int K2[3] = {5, 6, 4};
    CHECK(gp_points_choose(8, K2, 3, -1, 1e-9, &ch) == GP_OK && ch.bound[1] <= 1e-9);
}

static const test_case cases[] = {
    {"published_table", published_table},
    {"brute_force", brute_force},
    {"choice_refuses_with_bound", choice_refuses_with_bound},
};

TEST_MAIN(cases)
