/* numpy_test.c - our codes against fixtures from an independent numpy
 * implementation of the design notes' formulas (tests/ref/codes_ref.py).
 *
 * Usage: numpy_test FIXTURE_DIR. For every configuration in the manifest:
 * the points agree to a few ulps; our stored blocks and coded update equal
 * numpy's; decoding numpy's node outputs (from every node and from random
 * subsets) gives numpy's W X and W^T D within the error budget.
 */
#include <float.h>

#include "../testlib.h"
#include "gp_code.h"
#include "gp_gpdmm.h"
#include "gp_npy.h"
#include "gp_rng.h"

#define U (DBL_EPSILON / 2)

static const char *dir;

static gp_rmat load(const char *name, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s_%s.npy", dir, name, what);
    gp_rmat m;
    gp_msg why;
    if (gp_npy_read(path, &m, &why) != GP_OK) {
        fprintf(stderr, "%s\n", why.text);
        exit(2);
    }
    return m;
}

static double fro(gp_rmat m)
{
    double s = 0;
    for (size_t i = 0; i < m.rows * m.cols; i++) s += m.data[i] * m.data[i];
    return sqrt(s);
}

static double dist(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

/* Decodes numpy's stacked outputs (P blocks of `blk` rows x B) from the
 * responders in mask and compares with ref. */
static void check_decode(const gp_code_t *c, gp_dir dir_, gp_rmat outs, size_t rows, size_t cols,
                         size_t B, gp_rmat ref, uint64_t mask, double wn, double xn,
                         const char *name)
{
    const gp_code_info *in = gp_code_info_of(c);
    size_t blk = gp_code_output_rows(c, dir_, rows, cols);
    gp_node_output v[GP_MAX_NODES];
    int nv = 0;
    for (int p = 0; p < in->nodes; p++)
        if (mask >> p & 1) v[nv++] = (gp_node_output){p, outs.data + (size_t)p * blk * B};
    gp_rmat res;
    gp_rmat_alloc(&res, ref.rows, B);
    gp_decode_report rep;
    gp_err e = gp_code_decode(c, dir_, rows, cols, B, v, nv, res, &rep, NULL);
    CHECKF(e == GP_OK, "%s dir=%d mask=%llx: %s", name, dir_, (unsigned long long)mask,
           gp_errname(e));
    size_t inner = dir_ == GP_FORWARD ? cols : rows;
    double budget = rep.bound * fro(ref) +
                    fmax(rep.kappa, 1) * 4 * (inner + 32) * U * in->m * in->n * 4 * wn * xn;
    double err = dist(res.data, ref.data, ref.rows * B);
    CHECKF(err <= budget, "%s dir=%d: error %.2e > budget %.2e", name, dir_, err, budget);
    gp_rmat_free(&res);
}

static void layer(const char *name, int P, int m, int n, const char *orient, int family,
                  size_t rows, size_t cols, size_t B, double alpha)
{
    gp_code_params pp = {.scheme = GP_SCHEME_GPD,
                         .nodes = P,
                         .m = m,
                         .n = n,
                         .orient = strcmp(orient, "row") == 0 ? GP_ORIENT_ROW : GP_ORIENT_COL,
                         .points = family,
                         .fixed_points = true,
                         .max_bound = 1.0};
    gp_code_t *c = NULL;
    gp_msg why;
    gp_err e = gp_code_new(&pp, &c, &why);
    CHECKF(e == GP_OK, "%s: %s", name, why.text);
    if (!c) return;
    gp_rmat a = load(name, "a"), W = load(name, "W"), X = load(name, "X"), D = load(name, "D"),
            Wt = load(name, "Wt"), y = load(name, "y"), z = load(name, "z"), WX = load(name, "WX"),
            WtD = load(name, "WtD"), Wt2 = load(name, "Wt2");
    size_t br = gp_code_block_rows(c, rows), bc = gp_code_block_cols(c, cols);
    CHECK(Wt.rows == (size_t)P * br && Wt.cols == bc);
    for (int p = 0; p < P; p++)
        CHECKF(fabs(gp_code_point(c, p) - a.data[p]) <= 4 * U, "%s: point %d: %.17g vs numpy %.17g",
               name, p, gp_code_point(c, p), a.data[p]);
    gp_rmat wt, dt, xt;
    gp_rmat_alloc(&wt, br, bc);
    gp_rmat_alloc(&dt, br, B);
    gp_rmat_alloc(&xt, bc, B);
    for (int p = 0; p < P; p++) {
        const double *ref = Wt.data + (size_t)p * br * bc;
        gp_code_encode_weights(c, p, W, wt);
        CHECKF(dist(wt.data, ref, br * bc) <= 16 * U * m * n * fro(W), "%s: block %d differs", name,
               p);
        /* the coded update applied to numpy's block equals numpy's updated block */
        memcpy(wt.data, ref, br * bc * sizeof(double));
        gp_code_encode_update(c, p, D, X, dt, xt);
        gp_code_node_update(alpha, dt, xt, wt);
        CHECKF(dist(wt.data, Wt2.data + (size_t)p * br * bc, br * bc) <=
                   16 * U * (m * n * fro(W) + fabs(alpha) * (m + n) * fro(D) * fro(X)),
               "%s: update of block %d differs", name, p);
    }
    uint64_t all = (1ull << P) - 1;
    check_decode(c, GP_FORWARD, y, rows, cols, B, WX, all, fro(W), fro(X), name);
    check_decode(c, GP_BACKWARD, z, rows, cols, B, WtD, all, fro(W), fro(D), name);
    gp_rng rng;
    gp_rng_seed(&rng, 77);
    const gp_code_info *in = gp_code_info_of(c);
    for (int t = 0; t < 20; t++) { /* random subsets with one spare output */
        for (int dir_ = 0; dir_ < 2; dir_++) {
            int need = (dir_ ? in->k_backward : in->k_forward) + 1;
            uint64_t mask = 0;
            while (__builtin_popcountll(mask) < need) mask |= 1ull << gp_rng_below(&rng, P);
            if (dir_ == 0)
                check_decode(c, GP_FORWARD, y, rows, cols, B, WX, mask, fro(W), fro(X), name);
            else
                check_decode(c, GP_BACKWARD, z, rows, cols, B, WtD, mask, fro(W), fro(D), name);
        }
    }
    gp_rmat *all_m[] = {&a, &W, &X, &D, &Wt, &y, &z, &WX, &WtD, &Wt2, &wt, &dt, &xt};
    for (size_t i = 0; i < sizeof all_m / sizeof all_m[0]; i++) gp_rmat_free(all_m[i]);
    gp_code_destroy(&c);
}

static void matmul(const char *name, int P, int t, int s, int tp, int family, size_t rows,
                   size_t inner, size_t cols)
{
    (void)family; /* the general product picks its own points; compare through results */
    gp_gpdmm_t *c = NULL;
    gp_msg why;
    gp_err e = gp_gpdmm_new(P, t, s, tp, 1.0, &c, &why);
    CHECKF(e == GP_OK, "%s: %s", name, why.text);
    if (!c) return;
    CHECK(gp_gpdmm_threshold(c) == t * tp * s + s - 1);
    gp_rmat A = load(name, "W"), B = load(name, "X"), AB = load(name, "WX");
    size_t br = (rows + t - 1) / t, bi = (inner + s - 1) / s, bc = (cols + tp - 1) / tp;
    gp_rmat at, bt, outs, res;
    gp_rmat_alloc(&at, br, bi);
    gp_rmat_alloc(&bt, bi, bc);
    gp_rmat_alloc(&outs, (size_t)P * br, bc);
    gp_rmat_alloc(&res, rows, cols);
    gp_node_output v[GP_MAX_NODES];
    for (int p = 0; p < P; p++) {
        gp_rmat o = gp_rmat_view(outs.data + (size_t)p * br * bc, br, bc, bc);
        CHECK(gp_gpdmm_encode_a(c, p, A, at) == GP_OK && gp_gpdmm_encode_b(c, p, B, bt) == GP_OK);
        gp_code_node_product(GP_FORWARD, at, bt, o);
        v[p] = (gp_node_output){p, o.data};
    }
    gp_decode_report rep;
    e = gp_gpdmm_decode(c, rows, inner, cols, v, P, res, &rep, NULL);
    CHECKF(e == GP_OK, "%s: %s", name, gp_errname(e));
    double budget = rep.bound * fro(AB) +
                    fmax(rep.kappa, 1) * 4 * (bi + 32) * U * t * s * tp * 4 * fro(A) * fro(B);
    CHECKF(dist(res.data, AB.data, rows * cols) <= budget, "%s: error %.2e > %.2e", name,
           dist(res.data, AB.data, rows * cols), budget);
    /* one output wrong: corrected */
    if (P > gp_gpdmm_threshold(c) + 1) {
        outs.data[3] += 1.0;
        e = gp_gpdmm_decode(c, rows, inner, cols, v, P, res, &rep, NULL);
        CHECK(e == GP_OK && rep.wrong == 1ull && dist(res.data, AB.data, rows * cols) <= budget);
    }
    gp_rmat *all_m[] = {&A, &B, &AB, &at, &bt, &outs, &res};
    for (size_t i = 0; i < sizeof all_m / sizeof all_m[0]; i++) gp_rmat_free(all_m[i]);
    gp_gpdmm_destroy(&c);
}

static void fixtures(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *f = fopen(path, "r");
    REQUIRE(f);
    char name[64], kind[16], orient[16];
    int P, m, n, fam, count = 0;
    size_t rows, cols, B;
    double alpha;
    while (fscanf(f, "%63s %15s %d %d %d %15s %d %zu %zu %zu %lf", name, kind, &P, &m, &n, orient,
                  &fam, &rows, &cols, &B, &alpha) == 11) {
        if (strcmp(kind, "layer") == 0)
            layer(name, P, m, n, orient, fam, rows, cols, B, alpha);
        else
            matmul(name, P, m, n, atoi(orient), fam, rows, cols, B);
        count++;
    }
    fclose(f);
    printf("  %d configurations checked against numpy\n", count);
    CHECK(count >= 10);
}

static const test_case cases[] = {{"fixtures", fixtures}};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: numpy_test FIXTURE_DIR\n");
        return 2;
    }
    dir = argv[1];
    return test_main(1, argv, cases, 1);
}
