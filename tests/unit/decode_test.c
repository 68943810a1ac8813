/* decode_test.c - the error-correcting decoder against exact references.
 *
 * Codewords are built from random coefficients with long double sums, so the
 * outputs are exact to working precision; the reference result is the
 * coefficients themselves (not anything the decoder computed). Errors are
 * injected at random nodes with random magnitudes and shapes.
 */
#include <float.h>
#include <stdint.h>

#include "../testlib.h"
#include "gp_decode.h"
#include "gp_dla.h"
#include "gp_points.h"
#include "gp_rng.h"

#define U (DBL_EPSILON / 2)

typedef struct fixture {
    int P, K;
    size_t len;
    double *G;            /* P x K */
    double *c;            /* K x len, the true coefficients */
    double *y;            /* P x len, exact outputs */
    double *ye;           /* P x len, outputs with errors */
    const double *points; /* Vandermonde points, or NULL */
} fixture;

static void vander(const double *a, int P, int K, double *G)
{
    for (int p = 0; p < P; p++) {
        double v = 1;
        for (int k = 0; k < K; k++, v *= a[p]) G[p * K + k] = v;
    }
}

static void fixture_init(fixture *f, int P, int K, size_t len, const double *G)
{
    f->P = P;
    f->K = K;
    f->len = len;
    f->G = malloc(sizeof(double) * P * K);
    f->c = malloc(sizeof(double) * K * len);
    f->y = malloc(sizeof(double) * P * len);
    f->ye = malloc(sizeof(double) * P * len);
    f->points = NULL;
    memcpy(f->G, G, sizeof(double) * P * K);
}

static void fixture_free(fixture *f)
{
    free(f->G);
    free(f->c);
    free(f->y);
    free(f->ye);
}

/* New random coefficients and their exact outputs. */
static void fixture_draw(fixture *f, gp_rng *rng)
{
    for (size_t i = 0; i < (size_t)f->K * f->len; i++) f->c[i] = gp_rng_normal(rng);
    for (int p = 0; p < f->P; p++)
        for (size_t l = 0; l < f->len; l++) {
            long double s = 0;
            for (int k = 0; k < f->K; k++)
                s += (long double)f->G[p * f->K + k] * f->c[k * f->len + l];
            f->y[p * f->len + l] = (double)s;
        }
    memcpy(f->ye, f->y, sizeof(double) * f->P * f->len);
}

/* Adds a random error to node p: a dense Gaussian vector or one corrupted
 * entry, of relative size between 1e-6 and 1e2 of the output's max. */
static void inject(fixture *f, gp_rng *rng, int p)
{
    double *y = f->ye + p * f->len, mx = 0;
    for (size_t l = 0; l < f->len; l++) mx = fmax(mx, fabs(f->y[p * f->len + l]));
    if (mx == 0) mx = 1;
    double mag = mx * pow(10.0, -6 + 8 * gp_rng_uniform(rng));
    if (gp_rng_uniform(rng) < 0.5) {
        for (size_t l = 0; l < f->len; l++) y[l] += mag * gp_rng_normal(rng);
    } else {
        size_t l = gp_rng_below(rng, f->len);
        y[l] += (gp_rng_uniform(rng) < 0.5 ? -mag : mag) * (1 + gp_rng_uniform(rng));
    }
}

/* Decodes all coefficients (F = I) from the responders in mask. */
static gp_policy policy = GP_POLICY_BALANCED;

static gp_err run(fixture *f, uint64_t mask, const double *ys, double *out, int max_errors,
                  bool allow_unverified, gp_decode_report *rep)
{
    int ids[64], n = 0;
    const double *yp[64];
    double *op[64], F[64 * 64] = {0};
    for (int p = 0; p < f->P; p++)
        if (mask >> p & 1) {
            ids[n] = p;
            yp[n++] = ys + p * f->len;
        }
    for (int k = 0; k < f->K; k++) {
        F[k * f->K + k] = 1;
        op[k] = out + k * f->len;
    }
    gp_lincode lc = {f->P, f->K, f->G, f->points};
    gp_decode_req rq = {.code = &lc,
                        .policy = policy,
                        .nresp = n,
                        .resp = ids,
                        .y = yp,
                        .len = f->len,
                        .nfun = f->K,
                        .F = F,
                        .out = op,
                        .max_errors = max_errors,
                        .eta = 1e-12,
                        .allow_unverified = allow_unverified};
    gp_msg why = {{0}};
    gp_err e = gp_decode(&rq, rep, &why);
    if (getenv("DBG") && e != GP_OK) fprintf(stderr, "  why: %s\n", why.text);
    return e;
}

/* ||out - c||_F / ||c||_F */
static double rel_err(const fixture *f, const double *out)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < (size_t)f->K * f->len; i++) {
        num += (out[i] - f->c[i]) * (out[i] - f->c[i]);
        den += f->c[i] * f->c[i];
    }
    return sqrt(num / den);
}

static double pts[64]; /* points of the last cheb_code */

static void cheb_code(int P, int K, int family, double *G)
{
    gp_points(family, P, pts);
    vander(pts, P, K, G);
}

/* Every responder set of size >= K decodes within its bound; size K is
 * unverified; fewer than K is refused. */
static void every_subset(void)
{
    const int cfg[][2] = {{8, 5}, {8, 6}, {7, 3}, {9, 4}};
    gp_rng rng;
    gp_rng_seed(&rng, 1);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        int P = cfg[t][0], K = cfg[t][1];
        double G[64 * 64], *out = malloc(sizeof(double) * K * 7);
        cheb_code(P, K, 0, G);
        fixture f;
        fixture_init(&f, P, K, 7, G);
        f.points = t % 2 ? NULL : pts; /* both search paths */
        for (uint64_t mask = 0; mask < (1ull << P); mask++) {
            int n = __builtin_popcountll(mask);
            fixture_draw(&f, &rng);
            gp_decode_report rep;
            gp_err e = run(&f, mask, f.y, out, -1, false, &rep);
            if (n < K) {
                CHECK(e == GP_ENODES);
                continue;
            }
            if (n == K) {
                CHECK(e == GP_EUNVERIFIED);
                e = run(&f, mask, f.y, out, -1, true, &rep);
            }
            CHECKF(e == GP_OK, "P=%d K=%d mask=%llx: %s", P, K, (unsigned long long)mask,
                   gp_errname(e));
            CHECK(rep.wrong == 0 && rep.agreed == mask && rep.fast);
            double err = rel_err(&f, out);
            CHECKF(err <= rep.bound, "P=%d K=%d mask=%llx err %.2e > bound %.2e", P, K,
                   (unsigned long long)mask, err, rep.bound);
        }
        fixture_free(&f);
        free(out);
    }
}

/* The decoder remembers bases and weights per responder set; codes that
 * differ only in their generator (same P, K and responders), or only in
 * whether their points are known, must never get each other's. Alternates
 * between them, every result against the truth; the last configuration is
 * too large to be remembered and goes the computed way every time. */
static void remembered_plans(void)
{
    const int cfg[][2] = {{8, 5}, {8, 6}, {24, 12}};
    gp_rng rng;
    gp_rng_seed(&rng, 11);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        int P = cfg[t][0], K = cfg[t][1];
        double G[3][64 * 64], p3[3][64], *out = malloc(sizeof(double) * K * 9);
        for (int v = 0; v < 3; v++) { /* families 0 and 3, and family 0 without points */
            cheb_code(P, K, v == 1 ? 3 : 0, G[v]);
            memcpy(p3[v], pts, sizeof pts);
        }
        fixture f[3];
        for (int v = 0; v < 3; v++) {
            fixture_init(&f[v], P, K, 9, G[v]);
            f[v].points = v == 2 ? NULL : p3[v];
        }
        uint64_t all = (1ull << P) - 1;
        for (int round = 0; round < 12; round++) {
            int v = round % 3;
            uint64_t mask = round % 4 == 3 ? all & ~(1ull << (round % P)) : all;
            fixture_draw(&f[v], &rng);
            gp_decode_report rep;
            gp_err e = run(&f[v], mask, f[v].y, out, -1, false, &rep);
            CHECKF(e == GP_OK && rep.fast, "P=%d K=%d code %d round %d: %s", P, K, v, round,
                   gp_errname(e));
            double err = rel_err(&f[v], out);
            CHECKF(err <= rep.bound, "P=%d K=%d code %d round %d: err %.2e > bound %.2e", P, K, v,
                   round, err, rep.bound);
        }
        for (int v = 0; v < 3; v++) fixture_free(&f[v]);
        free(out);
    }
}

/* e = 0 .. P-K-1 random errors: corrected, wrong nodes named, within bound. */
static void random_errors(void)
{
    /* P, K, point family, polynomial search (1) or the general one (0) */
    const int cfg[][4] = {{8, 5, 0, 1},  {8, 6, 0, 0},  {10, 4, 0, 1}, {10, 4, 0, 0},
                          {12, 6, 3, 1}, {16, 6, 7, 1}, {24, 6, 7, 1}};
    int only = getenv("CFG") ? atoi(getenv("CFG")) : -1;
    gp_rng rng;
    gp_rng_seed(&rng, 2);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        if (only >= 0 && (int)t != only) continue;
        int P = cfg[t][0], K = cfg[t][1], trials = P > 12 ? 300 : 2000;
        double G[64 * 64], *out = malloc(sizeof(double) * K * 16);
        cheb_code(P, K, cfg[t][2], G);
        fixture f;
        fixture_init(&f, P, K, 16, G);
        f.points = cfg[t][3] ? pts : NULL;
        uint64_t all = (1ull << P) - 1;
        for (int e = 0; e <= P - K - 1; e++) {
            int ok = 0, silent = 0;
            for (int tr = 0; tr < trials; tr++) {
                fixture_draw(&f, &rng);
                uint64_t bad = 0;
                while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, P);
                for (int p = 0; p < P; p++)
                    if (bad >> p & 1) inject(&f, &rng, p);
                gp_decode_report rep;
                gp_err st = run(&f, all, f.ye, out, -1, false, &rep);
                double err = st == GP_OK ? rel_err(&f, out) : 0;
                if (st == GP_OK && err <= rep.bound && rep.wrong == bad) ok++;
                if (st == GP_OK && err > rep.bound) silent++;
                if (getenv("DBG") && !(st == GP_OK && err <= rep.bound && rep.wrong == bad))
                    fprintf(stderr,
                            "P=%d K=%d e=%d st=%s err=%.2e bound=%.2e wrong=%llx bad=%llx\n", P, K,
                            e, gp_errname(st), err, rep.bound, (unsigned long long)rep.wrong,
                            (unsigned long long)bad);
            }
            CHECKF(ok >= trials * 999 / 1000, "P=%d K=%d e=%d: corrected %d of %d", P, K, e, ok,
                   trials);
            CHECKF(silent == 0, "P=%d K=%d e=%d: %d silent wrong results", P, K, e, silent);
        }
        fixture_free(&f);
        free(out);
    }
}

/* e = P-K random errors leave no K+1 consistent outputs: always detected. */
static void detect_beyond(void)
{
    const int cfg[][2] = {{8, 5}, {8, 6}, {10, 4}, {12, 6}};
    gp_rng rng;
    gp_rng_seed(&rng, 3);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        int P = cfg[t][0], K = cfg[t][1];
        double G[64 * 64], *out = malloc(sizeof(double) * K * 5);
        cheb_code(P, K, 0, G);
        fixture f;
        fixture_init(&f, P, K, 5, G);
        f.points = pts;
        int detected = 0, trials = 1000;
        for (int tr = 0; tr < trials; tr++) {
            fixture_draw(&f, &rng);
            uint64_t bad = 0;
            while (__builtin_popcountll(bad) < P - K) bad |= 1ull << gp_rng_below(&rng, P);
            for (int p = 0; p < P; p++)
                if (bad >> p & 1) {
                    for (size_t l = 0; l < f.len; l++) f.ye[p * f.len + l] += gp_rng_normal(&rng);
                }
            gp_err st = run(&f, (1ull << P) - 1, f.ye, out, -1, false, NULL);
            detected += st == GP_EDETECTED;
        }
        CHECKF(detected == trials, "P=%d K=%d: %d of %d detected", P, K, detected, trials);
        fixture_free(&f);
        free(out);
    }
}

/* Adversarial: errors chosen so the received word agrees with a second
 * codeword c' = c + d, d vanishing at K-1 nodes (as in the design notes'
 * counter-example). For each policy with its (t, s): e <= t errors must be
 * corrected, e <= s never returned wrong. e = floor((P-K)/2) + 1, just beyond
 * unique decoding, is within s for the default policy. */
static void adversarial(void)
{
    const int cfg[][2] = {{10, 4}, {8, 5}, {12, 6}, {11, 3}, {16, 5}, {9, 4}};
    gp_rng rng;
    gp_rng_seed(&rng, 4);
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        int P = cfg[t][0], K = cfg[t][1];
        double a[64], G[64 * 64], *out = malloc(sizeof(double) * K * 3);
        gp_points(0, P, a);
        vander(a, P, K, G);
        fixture f;
        fixture_init(&f, P, K, 3, G);
        f.points = t % 2 ? NULL : a;
        for (int pol = 0; pol < 3; pol++) {
            int tt, ss;
            gp_decode_policy_ts((gp_policy)pol, P, K, &tt, &ss);
            CHECK(tt + ss <= P - K && ss >= 1);
            if (pol == GP_POLICY_BALANCED) CHECK(ss >= (P - K) / 2 + 1 || ss == P - K - 1);
            if (pol == GP_POLICY_CORRECT) CHECK(tt == (P - K) / 2);
            policy = (gp_policy)pol;
            for (int e = 1; e <= ss; e++) {
                int wrong = 0, det = 0, corr = 0, trials = 200;
                for (int tr = 0; tr < trials; tr++) {
                    fixture_draw(&f, &rng);
                    /* d(x) = s * prod over K-1 random nodes z of (x - a_z), per column */
                    uint64_t zero = 0, bad = 0;
                    while (__builtin_popcountll(zero) < K - 1)
                        zero |= 1ull << gp_rng_below(&rng, P);
                    while (__builtin_popcountll(bad) < e) {
                        int p = (int)gp_rng_below(&rng, P);
                        if (!(zero >> p & 1)) bad |= 1ull << p;
                    }
                    for (size_t l = 0; l < f.len; l++) {
                        double sc = gp_rng_normal(&rng);
                        for (int p = 0; p < P; p++) {
                            if (!(bad >> p & 1)) continue;
                            double d = sc;
                            for (int z = 0; z < P; z++)
                                if (zero >> z & 1) d *= a[p] - a[z];
                            f.ye[p * f.len + l] += d;
                        }
                    }
                    gp_decode_report rep;
                    gp_err st = run(&f, (1ull << P) - 1, f.ye, out, -1, false, &rep);
                    if (st == GP_EDETECTED)
                        det++;
                    else if (st == GP_OK && rel_err(&f, out) <= rep.bound && rep.wrong == bad)
                        corr++;
                    else
                        wrong++;
                    if (getenv("DBG") && e <= tt && !(st == GP_OK && rep.wrong == bad))
                        fprintf(stderr, "adv P=%d K=%d e=%d st=%s wrong=%llx bad=%llx pts=%d\n", P,
                                K, e, gp_errname(st), (unsigned long long)rep.wrong,
                                (unsigned long long)bad, f.points != NULL);
                }
                CHECKF(wrong == 0, "P=%d K=%d policy=%d e=%d: %d wrong results", P, K, pol, e,
                       wrong);
                if (e <= tt)
                    CHECKF(corr == trials, "P=%d K=%d policy=%d e=%d <= t: %d of %d corrected", P,
                           K, pol, e, corr, trials);
                if (pol == GP_POLICY_BALANCED && e == (P - K) / 2 + 1)
                    printf("  P=%2d K=%d (t=%d s=%d) e=%d beyond unique decoding: %d detected, %d "
                           "corrected, 0 wrong\n",
                           P, K, tt, ss, e, det, corr);
            }
        }
        policy = GP_POLICY_BALANCED;
        fixture_free(&f);
        free(out);
    }
}

/* NaN and Inf outputs are errors like any other. */
static void non_finite(void)
{
    int P = 9, K = 4;
    double G[64 * 64], out[4 * 6];
    cheb_code(P, K, 0, G);
    fixture f;
    fixture_init(&f, P, K, 6, G);
    f.points = pts;
    gp_rng rng;
    gp_rng_seed(&rng, 5);
    for (int e = 1; e <= P - K; e++)
        for (int tr = 0; tr < 200; tr++) {
            fixture_draw(&f, &rng);
            uint64_t bad = 0;
            while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, P);
            for (int p = 0; p < P; p++)
                if (bad >> p & 1) {
                    double v = tr % 3 == 0 ? NAN : tr % 3 == 1 ? INFINITY : -INFINITY;
                    f.ye[p * f.len + gp_rng_below(&rng, f.len)] = v;
                }
            gp_decode_report rep;
            gp_err st = run(&f, (1ull << P) - 1, f.ye, out, -1, false, &rep);
            if (e <= P - K - 1) {
                CHECKF(st == GP_OK && rep.wrong == bad && rel_err(&f, out) <= rep.bound, "e=%d: %s",
                       e, gp_errname(st));
            } else {
                CHECKF(st == GP_EDETECTED, "e=%d: %s", e, gp_errname(st));
            }
        }
    fixture_free(&f);
}

/* The same outputs give bitwise the same result and flags, whatever order the
 * responders arrive in. */
static void deterministic(void)
{
    int P = 10, K = 5;
    size_t len = 37;
    double G[64 * 64];
    cheb_code(P, K, 0, G);
    fixture f;
    fixture_init(&f, P, K, len, G);
    gp_rng rng;
    gp_rng_seed(&rng, 6);
    for (int tr = 0; tr < 200; tr++) {
        fixture_draw(&f, &rng);
        int e = tr % 5;
        uint64_t bad = 0;
        while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, P);
        for (int p = 0; p < P; p++)
            if (bad >> p & 1) inject(&f, &rng, p);
        double o1[5 * 37], o2[5 * 37], *op1[5], *op2[5], F[25] = {0};
        for (int k = 0; k < K; k++) {
            F[k * K + k] = 1;
            op1[k] = o1 + k * len;
            op2[k] = o2 + k * len;
        }
        int ids[10], perm[10];
        const double *ys[10];
        for (int i = 0; i < P; i++) perm[i] = i;
        for (int i = P - 1; i > 0; i--) {
            int j = (int)gp_rng_below(&rng, i + 1), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        gp_lincode lc = {P, K, G, NULL};
        gp_decode_report r1, r2;
        for (int i = 0; i < P; i++) {
            ids[i] = i;
            ys[i] = f.ye + i * len;
        }
        gp_decode_req rq = {&lc, P, ids, ys, len, K, F, op1, -1, 1e-12, false, GP_POLICY_BALANCED};
        gp_err e1 = gp_decode(&rq, &r1, NULL);
        for (int i = 0; i < P; i++) {
            ids[i] = perm[i];
            ys[i] = f.ye + perm[i] * len;
        }
        rq.out = op2;
        gp_err e2 = gp_decode(&rq, &r2, NULL);
        CHECK(e1 == e2 && r1.wrong == r2.wrong && r1.used == r2.used);
        if (e1 == GP_OK) CHECK(memcmp(o1, o2, sizeof o1) == 0);
    }
    fixture_free(&f);
}

/* The 2-D MDS strategy's groups: [I; R] with Gaussian R, leave-one-out
 * (max_errors = 1): one error corrected, two detected. */
static void systematic_leave_one_out(void)
{
    int P = 7, K = 4;
    double G[64 * 64] = {0};
    gp_rng rng;
    gp_rng_seed(&rng, 7);
    for (int i = 0; i < K; i++) G[i * K + i] = 1;
    for (int i = K; i < P; i++)
        for (int j = 0; j < K; j++) G[i * K + j] = gp_rng_normal(&rng);
    fixture f;
    fixture_init(&f, P, K, 8, G);
    double out[4 * 8];
    for (int e = 0; e <= 2; e++)
        for (int tr = 0; tr < 500; tr++) {
            fixture_draw(&f, &rng);
            uint64_t bad = 0;
            while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, P);
            for (int p = 0; p < P; p++)
                if (bad >> p & 1)
                    for (size_t l = 0; l < f.len; l++) f.ye[p * f.len + l] += gp_rng_normal(&rng);
            gp_decode_report rep;
            gp_err st = run(&f, (1ull << P) - 1, f.ye, out, 1, false, &rep);
            if (e <= 1)
                CHECKF(st == GP_OK && rep.wrong == bad && rel_err(&f, out) <= rep.bound, "e=%d %s",
                       e, gp_errname(st));
            else
                CHECKF(st == GP_EDETECTED, "e=2: %s", gp_errname(st));
        }
    fixture_free(&f);
}

/* Replication is the code with G = ones (K = 1): r - 2 errors corrected by
 * agreement, r - 1 detected. */
static void replication_agreement(void)
{
    int r = 5;
    double G[5] = {1, 1, 1, 1, 1}, out[4];
    fixture f;
    fixture_init(&f, r, 1, 4, G);
    gp_rng rng;
    gp_rng_seed(&rng, 8);
    for (int e = 0; e <= r - 1; e++)
        for (int tr = 0; tr < 300; tr++) {
            fixture_draw(&f, &rng);
            uint64_t bad = 0;
            while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, r);
            for (int p = 0; p < r; p++)
                if (bad >> p & 1)
                    for (size_t l = 0; l < f.len; l++) f.ye[p * f.len + l] += gp_rng_normal(&rng);
            gp_decode_report rep;
            gp_err st = run(&f, (1ull << r) - 1, f.ye, out, -1, false, &rep);
            if (e <= r - 2)
                CHECKF(st == GP_OK && rep.wrong == bad && memcmp(out, f.c, sizeof out) == 0, "e=%d",
                       e);
            else
                CHECKF(st == GP_EDETECTED, "e=%d %s", e, gp_errname(st));
        }
    fixture_free(&f);
}

/* An error below the tolerance is accepted, and its effect on the result is
 * bounded by the tolerance carried through the decoding weights. */
static void below_tolerance_harmless(void)
{
    int P = 8, K = 5;
    double G[64 * 64], out[5 * 10];
    cheb_code(P, K, 0, G);
    fixture f;
    fixture_init(&f, P, K, 10, G);
    gp_rng rng;
    gp_rng_seed(&rng, 9);
    for (int tr = 0; tr < 500; tr++) {
        fixture_draw(&f, &rng);
        int p = (int)gp_rng_below(&rng, P);
        double mx = 0;
        for (size_t l = 0; l < f.len; l++) mx = fmax(mx, fabs(f.y[p * f.len + l]));
        f.ye[p * f.len + gp_rng_below(&rng, f.len)] += 1e-13 * mx; /* eta = 1e-12 */
        gp_decode_report rep;
        gp_err st = run(&f, (1ull << P) - 1, f.ye, out, -1, false, &rep);
        CHECK(st == GP_OK);
        /* effect <= ||G_S^{-1}|| err = kappa err / ||G_S||, and ||G_S||_2 >= 1 here */
        double cn = 0;
        for (int i = 0; i < K * 10; i++) cn += f.c[i] * f.c[i];
        CHECKF(rel_err(&f, out) <= rep.bound + rep.kappa * 1e-13 * mx / sqrt(cn),
               "effect too large");
    }
    fixture_free(&f);
}

/* Malformed requests are refused, not trusted. */
static void bad_requests(void)
{
    double G[4] = {1, 1, 1, 1}, y[2] = {1, 1}, o[1];
    double *op[1] = {o};
    const double *ys[2] = {y, y + 1};
    int ids[2] = {0, 0};
    gp_lincode lc = {4, 1, G, NULL};
    double F[1] = {1};
    gp_decode_req rq = {&lc, 2, ids, ys, 1, 1, F, op, -1, 1e-12, false, GP_POLICY_BALANCED};
    CHECK(gp_decode(&rq, NULL, NULL) == GP_EINVAL); /* repeated id */
    ids[1] = 7;
    CHECK(gp_decode(&rq, NULL, NULL) == GP_EINVAL); /* id out of range */
    ids[1] = 1;
    rq.eta = 0;
    CHECK(gp_decode(&rq, NULL, NULL) == GP_EINVAL);
    rq.eta = 1e-12;
    CHECK(gp_decode(&rq, NULL, NULL) == GP_OK);
    gp_lincode bad = {65, 1, G, NULL};
    rq.code = &bad;
    CHECK(gp_decode(&rq, NULL, NULL) == GP_EINVAL);
}

static const test_case cases[] = {
    {"every_subset", every_subset},
    {"remembered_plans", remembered_plans},
    {"random_errors", random_errors},
    {"detect_beyond", detect_beyond},
    {"adversarial", adversarial},
    {"non_finite", non_finite},
    {"deterministic", deterministic},
    {"systematic_leave_one_out", systematic_leave_one_out},
    {"replication_agreement", replication_agreement},
    {"below_tolerance_harmless", below_tolerance_harmless},
    {"bad_requests", bad_requests},
};

TEST_MAIN(cases)
