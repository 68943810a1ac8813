/* code_test.c - the schemes of gp_code.h against independent references.
 *
 * References are naive long double loops (W X, W^T D, W + alpha D X^T) and the
 * threshold table of the design notes; nothing the code under test computed.
 */
#include <float.h>
#include <stdint.h>

#include "../testlib.h"
#include "gp_code.h"
#include "gp_rng.h"

#define U (DBL_EPSILON / 2)

/* ---- helpers ------------------------------------------------------------------------ */

static gp_rmat randm(gp_rng *r, size_t rows, size_t cols)
{
    gp_rmat m;
    gp_rmat_alloc(&m, rows, cols);
    for (size_t i = 0; i < rows * cols; i++) m.data[i] = gp_rng_normal(r);
    return m;
}

/* C = op(A) B, naive, long double */
static gp_rmat naive_mul(gp_rmat a, bool trans, gp_rmat b)
{
    size_t m = trans ? a.cols : a.rows, k = trans ? a.rows : a.cols;
    gp_rmat c;
    gp_rmat_alloc(&c, m, b.cols);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < b.cols; j++) {
            long double s = 0;
            for (size_t l = 0; l < k; l++)
                s += (long double)(trans ? a.data[l * a.ld + i] : a.data[i * a.ld + l]) *
                     b.data[l * b.ld + j];
            c.data[i * c.ld + j] = (double)s;
        }
    return c;
}

static double fro(gp_rmat m)
{
    long double s = 0;
    for (size_t i = 0; i < m.rows; i++)
        for (size_t j = 0; j < m.cols; j++)
            s += (long double)m.data[i * m.ld + j] * m.data[i * m.ld + j];
    return (double)sqrtl(s);
}

static double diff_fro(gp_rmat a, gp_rmat b)
{
    long double s = 0;
    for (size_t i = 0; i < a.rows; i++)
        for (size_t j = 0; j < a.cols; j++) {
            long double d = (long double)a.data[i * a.ld + j] - b.data[i * b.ld + j];
            s += d * d;
        }
    return (double)sqrtl(s);
}

static gp_code_t *make(gp_scheme s, int P, int m, int n, gp_orient o, double max_bound)
{
    gp_code_params pp = {
        .scheme = s, .nodes = P, .m = m, .n = n, .orient = o, .max_bound = max_bound};
    gp_code_t *c = NULL;
    gp_msg why;
    gp_err e = gp_code_new(&pp, &c, &why);
    if (e != GP_OK) fprintf(stderr, "gp_code_new: %s: %s\n", gp_errname(e), why.text);
    return c;
}

/* Node outputs of one product for all P nodes (NULL data where a node takes no part). */
typedef struct outputs {
    int P;
    gp_rmat out[GP_MAX_NODES];
} outputs;

static void compute_outputs(const gp_code_t *c, gp_dir dir, gp_rmat w, gp_rmat in, outputs *o)
{
    const gp_code_info *info = gp_code_info_of(c);
    size_t br = gp_code_block_rows(c, w.rows), bc = gp_code_block_cols(c, w.cols);
    o->P = info->nodes;
    for (int p = 0; p < info->nodes; p++) {
        memset(&o->out[p], 0, sizeof o->out[p]);
        if (!gp_code_takes_part(c, p, dir)) continue;
        gp_rmat wt, enc;
        gp_rmat_alloc(&wt, br, bc);
        gp_rmat_alloc(&enc, dir == GP_FORWARD ? bc : br, in.cols);
        gp_rmat_alloc(&o->out[p], gp_code_output_rows(c, dir, w.rows, w.cols), in.cols);
        CHECK(gp_code_encode_weights(c, p, w, wt) == GP_OK);
        CHECK(gp_code_encode_input(c, p, dir, in, enc) == GP_OK);
        gp_code_node_product(dir, wt, enc, o->out[p]);
        gp_rmat_free(&wt);
        gp_rmat_free(&enc);
    }
}

static void free_outputs(outputs *o)
{
    for (int p = 0; p < o->P; p++) gp_rmat_free(&o->out[p]);
}

static int gather(const outputs *o, uint64_t mask, gp_node_output *v)
{
    int n = 0;
    for (int p = 0; p < o->P; p++)
        if ((mask >> p & 1) && o->out[p].data) v[n++] = (gp_node_output){p, o->out[p].data};
    return n;
}

/* Error budget of a decoded product against the exact one (normwise): the
 * decode's own kappa (2K+2) u on the result, plus the node outputs' rounding
 * (encoding and a product of length `inner`, on blocks bounded by the full
 * norms times the number of terms) carried through ||G_S^{-1}|| <= kappa. */
static double budget(const gp_decode_report *rep, const gp_code_info *in, size_t inner,
                     double ref_norm, double wn, double xn)
{
    double terms = (double)in->m * in->n * (in->m > in->n ? in->m : in->n);
    return rep->bound * ref_norm +
           fmax(rep->kappa, 1.0) * 4.0 * (inner + 2.0 * in->m * in->n + 8) * U * terms * wn * xn;
}

/* ---- thresholds ------------------------------------------------------------------------- */

/* The table of the design notes (ROW orientation: W[i][j] at a^(j+n i)). */
static void thresholds_table(void)
{
    const int tab[][4] = {{2, 1, 2, 3}, {1, 2, 3, 2}, {2, 2, 5, 6}, {2, 3, 8, 9}, {3, 3, 11, 15}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        int m = tab[i][0], n = tab[i][1];
        /* the fewest nodes that can run it; max_bound 1 accepts it whatever its numerics */
        int P = tab[i][2] > tab[i][3] ? tab[i][2] : tab[i][3];
        gp_code_t *c = make(GP_SCHEME_GPD, P, m, n, GP_ORIENT_ROW, 1.0);
        REQUIRE(c);
        const gp_code_info *in = gp_code_info_of(c);
        CHECKF(in->k_forward == tab[i][2] && in->k_backward == tab[i][3], "m=%d n=%d: %d %d", m, n,
               in->k_forward, in->k_backward);
        CHECK(in->k_storage == m * n);
        gp_code_destroy(&c);
    }
    /* (1, 1): the (P, 1) code is replication, K_f = K_b = 1 */
    gp_code_t *r = make(GP_SCHEME_REPLICATION, 5, 1, 1, 0, 0);
    REQUIRE(r);
    CHECK(gp_code_info_of(r)->k_forward == 1 && gp_code_info_of(r)->k_backward == 1 &&
          gp_code_info_of(r)->copies == 5);
    gp_code_destroy(&r);
    /* general formulas for both orientations, and AUTO picks the smaller max */
    for (int m = 1; m <= 5; m++)
        for (int n = 1; n <= 5; n++) {
            if (m * n < 2) continue;
            for (int o = GP_ORIENT_ROW; o <= GP_ORIENT_COL; o++) {
                int kf = o == GP_ORIENT_ROW ? m * n + n - 1 : (2 * n - 1) * m;
                int kb = o == GP_ORIENT_ROW ? (2 * m - 1) * n : m * n + m - 1;
                if ((kf > kb ? kf : kb) > 16) continue;
                gp_code_t *c = make(GP_SCHEME_GPD, kf > kb ? kf : kb, m, n, (gp_orient)o, 1.0);
                REQUIRE(c);
                const gp_code_info *in = gp_code_info_of(c);
                CHECKF(in->k_forward == kf && in->k_backward == kb, "m=%d n=%d o=%d", m, n, o);
                gp_code_destroy(&c);
            }
            int row = (m * n + n - 1) > (2 * m - 1) * n ? m * n + n - 1 : (2 * m - 1) * n;
            int col = (2 * n - 1) * m > m * n + m - 1 ? (2 * n - 1) * m : m * n + m - 1;
            if ((row < col ? row : col) > 16) continue;
            gp_code_t *a = make(GP_SCHEME_GPD, row < col ? row : col, m, n, GP_ORIENT_AUTO, 1.0);
            REQUIRE(a);
            const gp_code_info *in = gp_code_info_of(a);
            int mx = in->k_forward > in->k_backward ? in->k_forward : in->k_backward;
            CHECKF(mx == (row < col ? row : col), "auto m=%d n=%d", m, n);
            gp_code_destroy(&a);
        }
}

/* Refused configurations say why, with the bound. */
static void refusals(void)
{
    gp_code_params pp = {.scheme = GP_SCHEME_GPD, .nodes = 24, .m = 3, .n = 3};
    gp_code_t *c = NULL;
    gp_msg why;
    CHECK(gp_code_new(&pp, &c, &why) == GP_ENUMERIC && !c);
    CHECK(strstr(why.text, "exceeds 1e-09") != NULL);
    pp = (gp_code_params){.scheme = GP_SCHEME_GPD, .nodes = 5, .m = 2, .n = 2};
    CHECK(gp_code_new(&pp, &c, &why) == GP_EINVAL && strstr(why.text, "at least 6"));
    pp = (gp_code_params){.scheme = GP_SCHEME_POLYNOMIAL, .nodes = 8, .m = 2, .n = 2};
    CHECK(gp_code_new(&pp, &c, &why) == GP_EINVAL);
    pp = (gp_code_params){.scheme = GP_SCHEME_REPLICATION, .nodes = 7, .m = 2, .n = 1};
    CHECK(gp_code_new(&pp, &c, &why) == GP_EINVAL);
    pp = (gp_code_params){.scheme = GP_SCHEME_MDS, .nodes = 5, .m = 2, .n = 2};
    CHECK(gp_code_new(&pp, &c, &why) == GP_EINVAL);
    pp = (gp_code_params){.scheme = GP_SCHEME_GPD, .nodes = 30, .m = 2, .n = 2};
    CHECK(gp_code_new(&pp, &c, &why) == GP_EINVAL);
}

/* Every configuration accepted up to 24 nodes has its certified bound <= 1e-9. */
static void accepted_bounds(void)
{
    int accepted = 0;
    for (int P = 2; P <= GP_MAX_CODED_NODES; P++)
        for (int m = 1; m <= 6; m++)
            for (int n = 1; n <= 6; n++) {
                if (m * n < 2) continue;
                gp_code_params pp = {.scheme = GP_SCHEME_GPD, .nodes = P, .m = m, .n = n};
                gp_code_t *c = NULL;
                if (gp_code_new(&pp, &c, NULL) != GP_OK) continue;
                const gp_code_info *in = gp_code_info_of(c);
                CHECK(in->worst_bound <= 1e-9);
                accepted++;
                gp_code_destroy(&c);
            }
    printf("  %d gpd configurations accepted for P <= %d\n", accepted, GP_MAX_CODED_NODES);
    CHECK(accepted > 100);
}

/* ---- products ---------------------------------------------------------------------------- */

typedef struct cfg {
    gp_scheme s;
    int P, m, n;
    gp_orient o;
    int redundant; /* stored blocks beyond what every group needs (< 2: can only detect) */
} cfg;

static const cfg small_cfgs[] = {
    {GP_SCHEME_GPD, 8, 2, 2, GP_ORIENT_ROW, 4},
    {GP_SCHEME_GPD, 8, 2, 2, GP_ORIENT_COL, 4},
    {GP_SCHEME_POLYNOMIAL, 7, 3, 1, 0, 4},
    {GP_SCHEME_MATDOT, 7, 1, 3, 0, 4},
    {GP_SCHEME_GPD, 10, 2, 3, GP_ORIENT_AUTO, 4},
    {GP_SCHEME_MDS, 10, 2, 2, 0, 1},
    {GP_SCHEME_MDS, 14, 2, 2, 0, 2},
    {GP_SCHEME_REPLICATION, 6, 2, 1, 0, 2},
    {GP_SCHEME_REPLICATION, 8, 2, 2, 0, 1},
    {GP_SCHEME_UNCODED, 4, 2, 2, 0, 0},
};

/* Forward and backward, B = 1 and 64, from every subset of responders: a
 * result is returned only when it is right. */
static void products_every_subset(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 11);
    for (size_t t = 0; t < sizeof small_cfgs / sizeof small_cfgs[0]; t++) {
        const cfg *k = &small_cfgs[t];
        gp_code_t *c = make(k->s, k->P, k->m, k->n, k->o, 0);
        REQUIRE(c);
        const gp_code_info *in = gp_code_info_of(c);
        size_t rows = 13, cols = 11; /* not multiples of m, n: padding */
        gp_rmat w = randm(&rng, rows, cols);
        for (int bi = 0; bi < 2; bi++) {
            size_t B = bi ? 64 : 1;
            for (int dir = 0; dir < 2; dir++) {
                gp_rmat x = randm(&rng, dir == GP_FORWARD ? cols : rows, B);
                gp_rmat ref = naive_mul(w, dir == GP_BACKWARD, x), res;
                gp_rmat_alloc(&res, ref.rows, B);
                outputs o;
                compute_outputs(c, (gp_dir)dir, w, x, &o);
                int kdir = dir == GP_FORWARD ? in->k_forward : in->k_backward, ok = 0;
                size_t inner = dir == GP_FORWARD ? cols : rows;
                for (uint64_t mask = 0; mask < (1ull << k->P); mask++) {
                    gp_node_output v[GP_MAX_NODES];
                    int nv = gather(&o, mask, v);
                    gp_decode_report rep;
                    gp_err e =
                        gp_code_decode(c, (gp_dir)dir, rows, cols, B, v, nv, res, &rep, NULL);
                    if (e == GP_OK || e == GP_EUNVERIFIED) {
                        double err = diff_fro(res, ref),
                               bud = budget(&rep, in, inner, fro(ref), fro(w), fro(x));
                        CHECKF(err <= bud, "%s P=%d dir=%d B=%zu mask=%llx: err %.2e > %.2e",
                               gp_scheme_name(k->s), k->P, dir, B, (unsigned long long)mask, err,
                               bud);
                        ok += e == GP_OK;
                    } else {
                        CHECKF(e == GP_ENODES, "%s mask=%llx: %s", gp_scheme_name(k->s),
                               (unsigned long long)mask, gp_errname(e));
                    }
                    /* polynomial codes: exact threshold semantics */
                    if (k->s <= GP_SCHEME_MATDOT) {
                        int pc = __builtin_popcountll(mask);
                        CHECK(pc > kdir    ? e == GP_OK
                              : pc == kdir ? e == GP_EUNVERIFIED
                                           : e == GP_ENODES);
                    }
                    if (mask == (1ull << k->P) - 1) CHECK(e == GP_OK && rep.wrong == 0);
                }
                CHECK(ok > 0);
                free_outputs(&o);
                gp_rmat_free(&x);
                gp_rmat_free(&ref);
                gp_rmat_free(&res);
            }
        }
        gp_rmat_free(&w);
        gp_code_destroy(&c);
    }
}

/* The coded update W += alpha D X^T on stored blocks equals encoding the
 * updated W, B = 1 and 64; and the decoded weights equal the updated W. */
static void coded_update(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 12);
    for (size_t t = 0; t < sizeof small_cfgs / sizeof small_cfgs[0]; t++) {
        const cfg *k = &small_cfgs[t];
        gp_code_t *c = make(k->s, k->P, k->m, k->n, k->o, 0);
        REQUIRE(c);
        size_t rows = 10, cols = 9;
        size_t br = gp_code_block_rows(c, rows), bc = gp_code_block_cols(c, cols);
        for (int bi = 0; bi < 2; bi++) {
            size_t B = bi ? 64 : 1;
            gp_rmat w = randm(&rng, rows, cols), d = randm(&rng, rows, B), x = randm(&rng, cols, B);
            double alpha = -0.05;
            gp_rmat w2; /* reference: W + alpha D X^T, long double */
            gp_rmat_alloc(&w2, rows, cols);
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < cols; j++) {
                    long double s = 0;
                    for (size_t b = 0; b < B; b++)
                        s += (long double)d.data[i * B + b] * x.data[j * B + b];
                    w2.data[i * cols + j] = (double)(w.data[i * cols + j] + alpha * s);
                }
            gp_rmat blocks[GP_MAX_NODES];
            gp_node_output v[GP_MAX_NODES];
            for (int p = 0; p < k->P; p++) {
                gp_rmat dt, xt, ref;
                gp_rmat_alloc(&blocks[p], br, bc);
                gp_rmat_alloc(&ref, br, bc);
                gp_rmat_alloc(&dt, br, B);
                gp_rmat_alloc(&xt, bc, B);
                gp_code_encode_weights(c, p, w, blocks[p]);
                CHECK(gp_code_encode_update(c, p, d, x, dt, xt) == GP_OK);
                gp_code_node_update(alpha, dt, xt, blocks[p]);
                gp_code_encode_weights(c, p, w2, ref);
                double err = diff_fro(blocks[p], ref);
                CHECKF(err <= 64 * U * (fro(ref) + fabs(alpha) * fro(d) * fro(x)) * k->m * k->n,
                       "%s p=%d update err %.2e", gp_scheme_name(k->s), p, err);
                v[p] = (gp_node_output){p, blocks[p].data};
                gp_rmat_free(&dt);
                gp_rmat_free(&xt);
                gp_rmat_free(&ref);
            }
            gp_rmat wd;
            gp_rmat_alloc(&wd, rows, cols);
            gp_decode_report rep;
            gp_err e = gp_code_decode_weights(c, rows, cols, v, k->P, 1, wd, &rep, NULL);
            CHECKF(e == GP_OK, "%s: decode weights %s", gp_scheme_name(k->s), gp_errname(e));
            CHECK(diff_fro(wd, w2) <= (rep.bound + 1e-13) * fro(w2) * 10);
            if (k->s != GP_SCHEME_UNCODED) {
                CHECK(gp_code_check_weights(c, rows, cols, v, k->P, 1, &rep, NULL) == GP_OK &&
                      rep.wrong == 0);
            }
            for (int p = 0; p < k->P; p++) gp_rmat_free(&blocks[p]);
            gp_rmat_free(&wd);
            gp_rmat_free(&w);
            gp_rmat_free(&w2);
            gp_rmat_free(&d);
            gp_rmat_free(&x);
        }
        gp_code_destroy(&c);
    }
}

/* A stored block corrupted for good is found by the consistency check and
 * rebuilt from the others. */
static void regeneration(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 13);
    for (size_t t = 0; t < sizeof small_cfgs / sizeof small_cfgs[0]; t++) {
        const cfg *k = &small_cfgs[t];
        if (k->s == GP_SCHEME_UNCODED) continue;
        gp_code_t *c = make(k->s, k->P, k->m, k->n, k->o, 0);
        REQUIRE(c);
        size_t rows = 12, cols = 7, br = gp_code_block_rows(c, rows),
               bc = gp_code_block_cols(c, cols);
        gp_rmat w = randm(&rng, rows, cols), blocks[GP_MAX_NODES], ref, out;
        gp_node_output v[GP_MAX_NODES];
        gp_rmat_alloc(&ref, br, bc);
        gp_rmat_alloc(&out, br, bc);
        for (int p = 0; p < k->P; p++) {
            gp_rmat_alloc(&blocks[p], br, bc);
            gp_code_encode_weights(c, p, w, blocks[p]);
            v[p] = (gp_node_output){p, blocks[p].data};
        }
        for (int p = 0; p < k->P; p++) {
            gp_code_encode_weights(c, p, w, ref);
            blocks[p].data[gp_rng_below(&rng, br * bc)] += 0.5; /* persistent corruption */
            gp_decode_report rep;
            gp_err e = gp_code_check_weights(c, rows, cols, v, k->P, 0, &rep, NULL);
            /* located, or (too little redundancy, e.g. two copies) detected with p a suspect */
            CHECKF((e == GP_OK || (e == GP_EDETECTED && k->redundant < 2)) && (rep.wrong >> p & 1),
                   "%s: block %d not found: %s wrong=%llx", gp_scheme_name(k->s), p, gp_errname(e),
                   (unsigned long long)rep.wrong);
            e = gp_code_regenerate(c, p, rows, cols, v, k->P, 0, out, &rep, NULL);
            CHECKF(e == GP_OK || (e == GP_EUNVERIFIED && k->redundant < 2), "%s: regenerate %d: %s",
                   gp_scheme_name(k->s), p, gp_errname(e));
            CHECK(diff_fro(out, ref) <= 1e-12 * fro(ref));
            gp_rmat_copy(blocks[p], out);
        }
        for (int p = 0; p < k->P; p++) gp_rmat_free(&blocks[p]);
        gp_rmat_free(&ref);
        gp_rmat_free(&out);
        gp_rmat_free(&w);
        gp_code_destroy(&c);
    }
}

/* The blocks gp_code_regen_sources names are enough to rebuild a node's
 * block, checked: with every other node healthy, and with one of them (the
 * first source named) off the code as well. Never the node itself, never an
 * unhealthy one. */
static void regeneration_sources(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 31);
    for (size_t t = 0; t < sizeof small_cfgs / sizeof small_cfgs[0]; t++) {
        const cfg *k = &small_cfgs[t];
        gp_code_t *c = make(k->s, k->P, k->m, k->n, k->o, 0);
        REQUIRE(c);
        uint64_t all = (1ull << k->P) - 1;
        if (k->s == GP_SCHEME_UNCODED) {
            for (int p = 0; p < k->P; p++) CHECK(gp_code_regen_sources(c, p, all, 1) == 0);
            gp_code_destroy(&c);
            continue;
        }
        size_t rows = 12, cols = 7, br = gp_code_block_rows(c, rows),
               bc = gp_code_block_cols(c, cols);
        gp_rmat w = randm(&rng, rows, cols), blocks[GP_MAX_NODES], out;
        gp_rmat_alloc(&out, br, bc);
        for (int p = 0; p < k->P; p++) {
            gp_rmat_alloc(&blocks[p], br, bc);
            gp_code_encode_weights(c, p, w, blocks[p]);
        }
        for (int p = 0; p < k->P; p++)
            for (int lose = 0; lose < 2; lose++) {
                uint64_t healthy = all & ~(1ull << p);
                if (lose) { /* the first source named is off the code too */
                    uint64_t s0 = gp_code_regen_sources(c, p, healthy, 1);
                    healthy &= ~(s0 & (~s0 + 1));
                }
                uint64_t src = gp_code_regen_sources(c, p, healthy, 1);
                CHECKF(!(src >> p & 1) && (src & ~healthy) == 0 && (src || lose),
                       "%s P=%d: node %d sources %#llx", gp_scheme_name(k->s), k->P, p,
                       (unsigned long long)src);
                if (!src) continue; /* two copies, one lost: nothing to rebuild from */
                gp_node_output v[GP_MAX_NODES];
                int n = 0;
                for (int q = 0; q < k->P; q++)
                    if (src >> q & 1) v[n++] = (gp_node_output){q, blocks[q].data};
                gp_decode_report rep;
                gp_err e = gp_code_regenerate(c, p, rows, cols, v, n, 0, out, &rep, NULL);
                /* one lost: an mds parity block in a row of three keeps one
                 * source, below the row code's dimension */
                if (lose && e == GP_ENODES) continue;
                /* checked where the code has the redundancy (two copies: not) */
                CHECKF(e == GP_OK || (e == GP_EUNVERIFIED && (k->redundant < 2 || lose)),
                       "%s P=%d m=%d n=%d: node %d from %d sources%s: %s", gp_scheme_name(k->s),
                       k->P, k->m, k->n, p, n, lose ? " (one lost)" : "", gp_errname(e));
                CHECK(diff_fro(out, blocks[p]) <= 1e-12 * fro(blocks[p]));
            }
        for (int p = 0; p < k->P; p++) gp_rmat_free(&blocks[p]);
        gp_rmat_free(&out);
        gp_rmat_free(&w);
        gp_code_destroy(&c);
    }
}

/* A polynomial code's block rebuilt from exactly K_w others (spare 0: the
 * least it can be rebuilt from) is not checked by the code, and is checked
 * the way the trainer does: its projection on a random sign vector, put in
 * place of the node's among the other nodes' projections (each block's rows
 * projected: a block of a rows x n layer), lies on the code; rebuilt from a
 * source changed on its way (one entry off by a part in 10^6 of the block's
 * size) it is named off the code. */
static void regeneration_checked_by_projections(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 37);
    for (size_t t = 0; t < sizeof small_cfgs / sizeof small_cfgs[0]; t++) {
        const cfg *k = &small_cfgs[t];
        if (k->s != GP_SCHEME_GPD && k->s != GP_SCHEME_POLYNOMIAL && k->s != GP_SCHEME_MATDOT)
            continue;
        gp_code_t *c = make(k->s, k->P, k->m, k->n, k->o, 0);
        REQUIRE(c);
        const gp_code_info *in = gp_code_info_of(c);
        size_t rows = 12, cols = 9, br = gp_code_block_rows(c, rows),
               bc = gp_code_block_cols(c, cols);
        gp_rmat w = randm(&rng, rows, cols), blocks[GP_MAX_NODES], out, proj;
        gp_rmat_alloc(&out, br, bc);
        gp_rmat_alloc(&proj, (size_t)k->P + 1, br);
        double v[64];
        for (size_t j = 0; j < bc; j++) v[j] = gp_rng_uniform(&rng) < 0.5 ? -1.0 : 1.0;
        for (int p = 0; p < k->P; p++) {
            gp_rmat_alloc(&blocks[p], br, bc);
            gp_code_encode_weights(c, p, w, blocks[p]);
            for (size_t i = 0; i < br; i++) {
                double x = 0;
                for (size_t j = 0; j < bc; j++) x += blocks[p].data[i * bc + j] * v[j];
                proj.data[(size_t)p * br + i] = x;
            }
        }
        uint64_t all = (1ull << k->P) - 1;
        for (int p = 0; p < k->P; p++)
            for (int bad = 0; bad < 2; bad++) {
                uint64_t src = gp_code_regen_sources(c, p, all & ~(1ull << p), 0);
                CHECK(__builtin_popcountll(src) == in->k_storage && !(src >> p & 1));
                gp_node_output bl[GP_MAX_NODES];
                int n = 0, first = -1;
                for (int q = 0; q < k->P; q++)
                    if (src >> q & 1) {
                        bl[n++] = (gp_node_output){q, blocks[q].data};
                        if (first < 0) first = q;
                    }
                double keep = blocks[first].data[0];
                if (bad) blocks[first].data[0] += 1e-6 * fro(blocks[first]);
                gp_decode_report rep;
                gp_err e = gp_code_regenerate(c, p, rows, cols, bl, n, 0, out, &rep, NULL);
                blocks[first].data[0] = keep;
                CHECKF(e == GP_EUNVERIFIED, "%s P=%d: node %d from %d: %s", gp_scheme_name(k->s),
                       k->P, p, n, gp_errname(e));
                if (!bad) CHECK(diff_fro(out, blocks[p]) <= 1e-12 * fro(blocks[p]));
                /* the rebuilt block's projection among the others' */
                double *mine = proj.data + (size_t)k->P * br;
                for (size_t i = 0; i < br; i++) {
                    double x = 0;
                    for (size_t j = 0; j < bc; j++) x += out.data[i * bc + j] * v[j];
                    mine[i] = x;
                }
                gp_node_output po[GP_MAX_NODES];
                for (int q = 0; q < k->P; q++)
                    po[q] = (gp_node_output){q, q == p ? mine : proj.data + (size_t)q * br};
                e = gp_code_check_weights(c, rows, (size_t)in->n, po, k->P, 0, &rep, NULL);
                CHECKF(e == GP_OK && (rep.wrong >> p & 1) == (uint64_t)bad && rep.spare >= 1,
                       "%s P=%d: node %d rebuilt%s: %s, wrong %#llx", gp_scheme_name(k->s), k->P, p,
                       bad ? " from a changed source" : "", gp_errname(e),
                       (unsigned long long)rep.wrong);
            }
        for (int p = 0; p < k->P; p++) gp_rmat_free(&blocks[p]);
        gp_rmat_free(&out);
        gp_rmat_free(&proj);
        gp_rmat_free(&w);
        gp_code_destroy(&c);
    }
}

/* NaN and Inf in node outputs are corrected like other errors. */
static void non_finite_outputs(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 14);
    gp_code_t *c = make(GP_SCHEME_GPD, 9, 2, 2, GP_ORIENT_ROW, 0);
    REQUIRE(c);
    size_t rows = 8, cols = 8;
    gp_rmat w = randm(&rng, rows, cols), x = randm(&rng, cols, 3), ref = naive_mul(w, false, x),
            res;
    gp_rmat_alloc(&res, rows, 3);
    outputs o;
    compute_outputs(c, GP_FORWARD, w, x, &o);
    o.out[1].data[0] = NAN;
    o.out[6].data[5] = INFINITY;
    gp_node_output v[GP_MAX_NODES];
    int nv = gather(&o, 0x1ff, v);
    gp_decode_report rep;
    CHECK(gp_code_decode(c, GP_FORWARD, rows, cols, 3, v, nv, res, &rep, NULL) == GP_OK);
    CHECK(rep.wrong == ((1u << 1) | (1u << 6)));
    CHECK(diff_fro(res, ref) <= 1e-12 * fro(ref));
    o.out[3].data[2] = -INFINITY;
    o.out[4].data[1] = NAN;
    CHECK(gp_code_decode(c, GP_FORWARD, rows, cols, 3, v, nv, res, &rep, NULL) == GP_EDETECTED);
    free_outputs(&o);
    gp_rmat_free(&w);
    gp_rmat_free(&x);
    gp_rmat_free(&ref);
    gp_rmat_free(&res);
    gp_code_destroy(&c);
}

/* ---- random errors in every accepted configuration ----------------------------------------- */

/* For every configuration the library accepts (P <= 24): e random errors at
 * random nodes for e = 0 .. (its random capacity), corrected exactly (right
 * result, wrong nodes named) in >= 99.9% of the trials and never a silent
 * wrong result; e = P - K detected for the polynomial codes. */
static int trials_per_e = 10000;

/* A random error of relative size 1e-6 .. 1e2: dense Gaussian, one entry
 * shifted, or one entry replaced by a random value. These are independent and
 * continuous, the model under which any K + 1 agreeing outputs are correct
 * with probability 1. (Identical bit flips at the same place in several
 * outputs are correlated errors; bit_flips tests them separately.) */
static void inject_error(gp_rng *rng, double *y, size_t len, double scale)
{
    double mag = scale * pow(10.0, -6 + 8 * gp_rng_uniform(rng));
    switch (gp_rng_below(rng, 3)) {
    case 0:
        for (size_t l = 0; l < len; l++) y[l] += mag * gp_rng_normal(rng);
        break;
    case 1:
        y[gp_rng_below(rng, len)] +=
            (gp_rng_uniform(rng) < 0.5 ? -mag : mag) * (1 + gp_rng_uniform(rng));
        break;
    default:
        y[gp_rng_below(rng, len)] = mag * gp_rng_normal(rng);
    }
}

static void trial_config(gp_code_t *c, gp_rng *rng, int *cfg_count)
{
    const gp_code_info *in = gp_code_info_of(c);
    /* outputs of 32 entries: more than the most errors any configuration
     * corrects, so the syndrome locator can work as it does on real layers */
    size_t rows = 8 * (size_t)in->m, cols = 8 * (size_t)in->n, B = 4;
    gp_rmat w = randm(rng, rows, cols);
    (*cfg_count)++;
    for (int dir = 0; dir < 2; dir++) {
        gp_rmat x = randm(rng, dir == GP_FORWARD ? cols : rows, B);
        gp_rmat ref = naive_mul(w, dir == GP_BACKWARD, x), res;
        gp_rmat_alloc(&res, ref.rows, B);
        outputs clean, o;
        compute_outputs(c, (gp_dir)dir, w, x, &clean);
        compute_outputs(c, (gp_dir)dir, w, x, &o);
        int K = dir == GP_FORWARD ? in->k_forward : in->k_backward;
        int cap = dir == GP_FORWARD ? in->random_forward : in->random_backward;
        bool poly = in->scheme <= GP_SCHEME_MATDOT;
        size_t len =
            o.out[0].data ? o.out[0].rows * B : gp_code_output_rows(c, (gp_dir)dir, rows, cols) * B;
        double scale = fro(ref) + 1;
        int emax = poly ? in->nodes - K : cap;
        for (int e = 0; e <= emax; e++) {
            int ok = 0, silent = 0, det = 0;
            for (int tr = 0; tr < trials_per_e; tr++) {
                uint64_t bad = 0;
                while (__builtin_popcountll(bad) < e) { /* at nodes taking part */
                    int p = (int)gp_rng_below(rng, in->nodes);
                    if (gp_code_takes_part(c, p, (gp_dir)dir)) bad |= 1ull << p;
                }
                for (int p = 0; p < in->nodes; p++)
                    if (o.out[p].data) {
                        memcpy(o.out[p].data, clean.out[p].data, len * sizeof(double));
                        if (bad >> p & 1) inject_error(rng, o.out[p].data, len, scale);
                    }
                gp_node_output v[GP_MAX_NODES];
                int nv = gather(&o, ~0ull, v);
                gp_decode_report rep;
                gp_err st = gp_code_decode(c, (gp_dir)dir, rows, cols, B, v, nv, res, &rep, NULL);
                if (st == GP_EUNVERIFIED && in->nodes == K)
                    st = GP_OK; /* no redundancy: nothing to verify */
                if (st == GP_OK) {
                    double err = diff_fro(res, ref),
                           bud = budget(&rep, in, dir ? rows : cols, fro(ref), fro(w), fro(x));
                    if (err > bud) {
                        silent++;
                        if (getenv("DBG"))
                            fprintf(stderr,
                                    "silent: %s m=%d n=%d P=%d dir=%d e=%d err=%.3e bud=%.3e "
                                    "wrong=%llx bad=%llx kappa=%.2e\n",
                                    gp_scheme_name(in->scheme), in->m, in->n, in->nodes, dir, e,
                                    err, bud, (unsigned long long)rep.wrong,
                                    (unsigned long long)bad, rep.kappa);
                        if (getenv("DBG") && atoi(getenv("DBG")) > 1) {
                            for (int p = 0; p < in->nodes; p++) {
                                fprintf(stderr, "node %d a=%.17g:", p, gp_code_point(c, p));
                                for (size_t l = 0; l < len; l++)
                                    fprintf(stderr, " %.17g", o.out[p].data[l]);
                                fprintf(stderr, " | clean:");
                                for (size_t l = 0; l < len; l++)
                                    fprintf(stderr, " %.17g", clean.out[p].data[l]);
                                fprintf(stderr, "\n");
                            }
                        }
                    } else if (rep.wrong == bad || in->scheme == GP_SCHEME_MDS)
                        ok++; /* mds names the group, not the node */
                } else if (st == GP_EDETECTED) {
                    det++;
                }
            }
            CHECKF(silent == 0, "%s m=%d n=%d P=%d dir=%d e=%d: %d silent wrong results",
                   gp_scheme_name(in->scheme), in->m, in->n, in->nodes, dir, e, silent);
            if (e <= cap)
                CHECKF(ok * 1000 >= trials_per_e * 999,
                       "%s m=%d n=%d P=%d dir=%d e=%d: corrected %d of %d",
                       gp_scheme_name(in->scheme), in->m, in->n, in->nodes, dir, e, ok,
                       trials_per_e);
            else if (poly && e == in->nodes - K)
                CHECKF(det == trials_per_e, "%s m=%d n=%d P=%d dir=%d e=P-K: detected %d of %d",
                       gp_scheme_name(in->scheme), in->m, in->n, in->nodes, dir, det, trials_per_e);
        }
        free_outputs(&clean);
        free_outputs(&o);
        gp_rmat_free(&x);
        gp_rmat_free(&ref);
        gp_rmat_free(&res);
    }
    gp_rmat_free(&w);
}

/* Decoder-level trials for one polynomial code (P points, dimension K): all K
 * coefficients are decoded and compared with the exact ones. */
static void trial_lincode(const double *a, int P, int K, gp_rng *rng, const char *label)
{
    size_t len = 32; /* more entries than errors, as real outputs have */
    double *G = malloc(sizeof(double) * P * K), *c = malloc(sizeof(double) * K * len),
           *y = malloc(sizeof(double) * P * len), *ye = malloc(sizeof(double) * P * len),
           *out = malloc(sizeof(double) * K * len), F[64 * 64] = {0};
    for (int p = 0; p < P; p++) {
        double v = 1;
        for (int k = 0; k < K; k++, v *= a[p]) G[p * K + k] = v;
    }
    int ids[64];
    const double *ys[64];
    double *op[64];
    for (int k = 0; k < K; k++) {
        F[k * K + k] = 1;
        op[k] = out + k * len;
    }
    for (int p = 0; p < P; p++) {
        ids[p] = p;
        ys[p] = ye + p * len;
    }
    gp_lincode lc = {P, K, G, a};
    gp_decode_req rq = {.code = &lc,
                        .nresp = P,
                        .resp = ids,
                        .y = ys,
                        .len = len,
                        .nfun = K,
                        .F = F,
                        .out = op,
                        .max_errors = -1,
                        .eta = 1e-12};
    for (int e = 0; e <= P - K; e++) {
        int ok = 0, silent = 0, det = 0;
        for (int tr = 0; tr < trials_per_e; tr++) {
            long double cn = 0;
            for (size_t i = 0; i < K * len; i++) {
                c[i] = gp_rng_normal(rng);
                cn += (long double)c[i] * c[i];
            }
            double scale = 0;
            for (int p = 0; p < P; p++)
                for (size_t l = 0; l < len; l++) {
                    long double acc = 0;
                    for (int k = 0; k < K; k++) acc += (long double)G[p * K + k] * c[k * len + l];
                    y[p * len + l] = (double)acc;
                    scale = fmax(scale, fabs(y[p * len + l]));
                }
            memcpy(ye, y, sizeof(double) * P * len);
            uint64_t bad = 0;
            while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(rng, P);
            for (int p = 0; p < P; p++)
                if (bad >> p & 1) inject_error(rng, ye + p * len, len, scale);
            gp_decode_report rep;
            gp_err st = gp_decode(&rq, &rep, NULL);
            if (st == GP_EUNVERIFIED && P == K) st = GP_OK; /* nothing to verify with */
            if (st == GP_OK) {
                long double d = 0;
                for (size_t i = 0; i < K * len; i++)
                    d += ((long double)out[i] - c[i]) * ((long double)out[i] - c[i]);
                if ((double)sqrtl(d / cn) > rep.bound)
                    silent++;
                else if (rep.wrong == bad)
                    ok++;
            } else if (st == GP_EDETECTED) {
                det++;
            }
        }
        CHECKF(silent == 0, "%s e=%d: %d silent wrong results", label, e, silent);
        /* at least 99.9 % corrected; with fewer trials than the sweep's 10 000
         * (GP_TRIALS, as the sanitizer run sets), a five-sigma allowance
         * around the 0.1 % misses the full sweep permits */
        double miss = trials_per_e * 1e-3;
        int allowed = trials_per_e >= 10000 ? trials_per_e / 1000
                                            : (int)ceil(miss + 5 * sqrt(miss > 1 ? miss : 1));
        if (e <= P - K - 1 || (e == 0 && P == K))
            CHECKF(trials_per_e - ok <= allowed, "%s e=%d: corrected %d of %d", label, e, ok,
                   trials_per_e);
        else
            CHECKF(det == trials_per_e, "%s e=P-K: detected %d of %d", label, det, trials_per_e);
    }
    free(G);
    free(c);
    free(y);
    free(ye);
    free(out);
}

/* Every polynomial code some accepted configuration (P <= 24) decodes with:
 * its forward and backward codes, deduplicated by (P, K, points). */
static void random_errors_all_configs(void)
{
    if (getenv("GP_TRIALS")) trials_per_e = atoi(getenv("GP_TRIALS"));
    int pmin = getenv("GP_PMIN") ? atoi(getenv("GP_PMIN")) : 2;
    int pmax = getenv("GP_PMAX") ? atoi(getenv("GP_PMAX")) : GP_MAX_CODED_NODES;
    gp_rng rng;
    gp_rng_seed(&rng, 15);
    int nconf = 0, ncodes = 0;
    uint64_t seen[512];
    double t0 = tl_now();
    for (int P = pmin; P <= pmax; P++)
        for (int m = 1; m <= 6; m++)
            for (int n = 1; n <= 6; n++) {
                if (m * n < 2) continue;
                gp_code_params pp = {.scheme = GP_SCHEME_GPD, .nodes = P, .m = m, .n = n};
                gp_code_t *cd = NULL;
                if (gp_code_new(&pp, &cd, NULL) != GP_OK) continue;
                const gp_code_info *in = gp_code_info_of(cd);
                nconf++;
                for (int dir = 0; dir < 2; dir++) {
                    int K = dir ? in->k_backward : in->k_forward;
                    uint64_t key = (uint64_t)P << 16 | (uint64_t)K << 8 | (uint64_t)in->points;
                    bool dup = false;
                    for (int i = 0; i < ncodes; i++) dup |= seen[i] == key;
                    if (dup) continue;
                    seen[ncodes++] = key;
                    double a[64];
                    for (int p = 0; p < P; p++) a[p] = gp_code_point(cd, p);
                    char label[96];
                    snprintf(label, sizeof label, "P=%d K=%d points=%d (gpd m=%d n=%d %s)", P, K,
                             in->points, m, n, dir ? "backward" : "forward");
                    trial_lincode(a, P, K, &rng, label);
                }
                gp_code_destroy(&cd);
            }
    printf("  %d accepted polynomial configurations use %d distinct codes (P %d..%d); %d trials "
           "per error count: %.1fs\n",
           nconf, ncodes, pmin, pmax, trials_per_e, tl_now() - t0);
}

static void random_errors_other_schemes(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 16);
    int count = 0;
    if (getenv("GP_TRIALS")) trials_per_e = atoi(getenv("GP_TRIALS"));
    for (int P = 2; P <= GP_MAX_CODED_NODES; P++)
        for (int m = 1; m <= 4; m++)
            for (int n = 1; n <= 4; n++)
                for (int s = GP_SCHEME_MDS; s <= GP_SCHEME_REPLICATION; s++) {
                    gp_code_params pp = {.scheme = (gp_scheme)s, .nodes = P, .m = m, .n = n};
                    gp_code_t *c = NULL;
                    if (gp_code_new(&pp, &c, NULL) != GP_OK) continue;
                    if (gp_code_info_of(c)->random_forward + gp_code_info_of(c)->random_backward >
                        0)
                        trial_config(c, &rng, &count);
                    gp_code_destroy(&c);
                }
    printf("  %d mds and replication configurations\n", count);
}

/* Soft errors as hardware makes them: one bit of one entry flipped, any of
 * the 64 bits, independently at each wrong node, in outputs of realistic
 * length. A flip is *visible* when it moves the output by 1e-6 of its largest
 * entry or more (or makes it NaN or Inf): those trials must be corrected with
 * exactly the flipped nodes named, in 99.9% or more. Smaller flips are near
 * the rounding noise: they may be absorbed (the result stays within the
 * error budget), blamed on a neighbour or reported as detected, but no trial
 * may return a wrong result. */
static void bit_flips(void)
{
    const cfg cf[] = {{GP_SCHEME_GPD, 8, 2, 2, GP_ORIENT_ROW, 0},
                      {GP_SCHEME_GPD, 12, 2, 2, GP_ORIENT_ROW, 0},
                      {GP_SCHEME_POLYNOMIAL, 10, 3, 1, 0, 0},
                      {GP_SCHEME_REPLICATION, 9, 3, 1, 0, 0}};
    gp_rng rng;
    gp_rng_seed(&rng, 17);
    for (size_t t = 0; t < sizeof cf / sizeof cf[0]; t++) {
        gp_code_t *c = make(cf[t].s, cf[t].P, cf[t].m, cf[t].n, cf[t].o, 0);
        REQUIRE(c);
        const gp_code_info *in = gp_code_info_of(c);
        size_t rows = 96, cols = 90, B = 32;
        gp_rmat w = randm(&rng, rows, cols), x = randm(&rng, cols, B), ref = naive_mul(w, false, x),
                res;
        gp_rmat_alloc(&res, rows, B);
        outputs clean, o;
        compute_outputs(c, GP_FORWARD, w, x, &clean);
        compute_outputs(c, GP_FORWARD, w, x, &o);
        size_t len = o.out[0].rows * B;
        int vis = 0, vis_ok = 0, small = 0, small_ok = 0, small_det = 0, silent = 0, trials = 2000;
        for (int e = 1; e <= in->random_forward; e++)
            for (int tr = 0; tr < trials; tr++) {
                uint64_t bad = 0;
                bool visible = true;
                while (__builtin_popcountll(bad) < e) bad |= 1ull << gp_rng_below(&rng, in->nodes);
                for (int p = 0; p < in->nodes; p++) {
                    memcpy(o.out[p].data, clean.out[p].data, len * sizeof(double));
                    if (!(bad >> p & 1)) continue;
                    double mx = 0;
                    for (size_t l = 0; l < len; l++) mx = fmax(mx, fabs(clean.out[p].data[l]));
                    double *v = o.out[p].data + gp_rng_below(&rng, len), old = *v;
                    uint64_t bits;
                    memcpy(&bits, v, 8);
                    bits ^= 1ull << gp_rng_below(&rng, 64);
                    memcpy(v, &bits, 8);
                    if (isfinite(*v) && !(fabs(*v - old) >= 1e-6 * mx)) visible = false;
                }
                gp_node_output v[GP_MAX_NODES];
                int nv = gather(&o, ~0ull, v);
                gp_decode_report rep;
                gp_err st = gp_code_decode(c, GP_FORWARD, rows, cols, B, v, nv, res, &rep, NULL);
                bool right = st == GP_OK &&
                             diff_fro(res, ref) <=
                                 budget(&rep, in, cols, fro(ref), fro(w), fro(x)) + 1e-9 * fro(ref);
                silent += st == GP_OK && !right;
                if (visible) {
                    vis++;
                    vis_ok += right && rep.wrong == bad;
                } else {
                    small++;
                    small_ok += right;
                    small_det += st == GP_EDETECTED;
                }
            }
        printf("  %s m=%d n=%d P=%d: visible flips %d of %d corrected and named; smaller flips %d "
               "right, "
               "%d detected, of %d; %d wrong results\n",
               gp_scheme_name(in->scheme), in->m, in->n, in->nodes, vis_ok, vis, small_ok,
               small_det, small, silent);
        CHECK(silent == 0 && vis_ok * 1000 >= vis * 999 && small_ok + small_det == small);
        free_outputs(&clean);
        free_outputs(&o);
        gp_rmat *ms[] = {&w, &x, &ref, &res};
        for (int i = 0; i < 4; i++) gp_rmat_free(ms[i]);
        gp_code_destroy(&c);
    }
}

/* A code for single-precision products: the same code (points, thresholds,
 * certified bounds: the decoder still computes in double), with the noise a
 * correct output may carry taken at float32's unit roundoff, 2^29 times
 * float64's; and a product of blocks and inputs rounded to float32 decodes
 * to within that noise plus the float32 bound kappa (2K + 2) 2^-24 of the
 * exact product, a wrong output located as in double. */
static void single_precision_code(void)
{
    gp_code_params cp = {.scheme = GP_SCHEME_GPD, .nodes = 8, .m = 2, .n = 2};
    gp_code_t *c64, *c32;
    gp_msg why;
    REQUIRE(gp_code_new(&cp, &c64, &why) == GP_OK);
    cp.single = true;
    REQUIRE(gp_code_new(&cp, &c32, &why) == GP_OK);
    const gp_code_info *i64 = gp_code_info_of(c64), *i32 = gp_code_info_of(c32);
    CHECK(i32->single && !i64->single && i32->unit_roundoff == 0x1p-24 &&
          i64->unit_roundoff == 0x1p-53);
    CHECK(i32->worst_bound == i64->worst_bound && i32->k_forward == i64->k_forward);
    for (int p = 0; p < 8; p++) CHECK(gp_code_point(c32, p) == gp_code_point(c64, p));
    for (int d = 0; d < 2; d++)
        CHECK(gp_code_eta(c32, (gp_dir)d, 64, 785) ==
              0x1p29 * gp_code_eta(c64, (gp_dir)d, 64, 785));
    size_t R = 64, C = 785, B = 16;
    gp_rmat W, X, Y, res;
    REQUIRE(gp_rmat_alloc(&W, R, C) == GP_OK && gp_rmat_alloc(&X, C, B) == GP_OK &&
            gp_rmat_alloc(&Y, R, B) == GP_OK && gp_rmat_alloc(&res, R, B) == GP_OK);
    gp_rng g;
    gp_rng_seed(&g, 5);
    for (size_t i = 0; i < R * C; i++) W.data[i] = gp_rng_normal(&g);
    for (size_t i = 0; i < C * B; i++) X.data[i] = gp_rng_normal(&g);
    size_t br = gp_code_block_rows(c32, R), bc = gp_code_block_cols(c32, C),
           orows = gp_code_output_rows(c32, GP_FORWARD, R, C);
    gp_rmat outs[8];
    gp_node_output no[8];
    for (int p = 0; p < 8; p++) {
        gp_rmat wt, enc;
        gp_fmat wf, ef, of;
        REQUIRE(gp_rmat_alloc(&wt, br, bc) == GP_OK && gp_rmat_alloc(&enc, bc, B) == GP_OK &&
                gp_rmat_alloc(&outs[p], orows, B) == GP_OK && gp_fmat_alloc(&wf, br, bc) == GP_OK &&
                gp_fmat_alloc(&ef, bc, B) == GP_OK && gp_fmat_alloc(&of, orows, B) == GP_OK);
        gp_code_encode_weights(c32, p, W, wt);
        gp_code_encode_input(c32, p, GP_FORWARD, X, enc);
        gp_fmat_round(wf, wt);
        gp_fmat_round(ef, enc);
        gp_code_node_product_f32(GP_FORWARD, wf, ef, of);
        gp_rmat_widen(outs[p], of);
        /* one wrong output, by about half the largest entry: float32's
         * tolerance (the worst case of its rounding) is 2^29 times
         * float64's, and an error of 1e-2 of the largest entry (1.0 here)
         * can pass for rounding */
        if (p == 6) outs[p].data[7] += 50.0;
        no[p] = (gp_node_output){p, outs[p].data};
        gp_rmat_free(&wt);
        gp_rmat_free(&enc);
        gp_fmat_free(&wf);
        gp_fmat_free(&ef);
        gp_fmat_free(&of);
    }
    gp_decode_report rep;
    CHECK(gp_code_decode(c32, GP_FORWARD, R, C, B, no, 8, res, &rep, &why) == GP_OK);
    CHECK(rep.wrong == 1ull << 6);
    /* against the exact product (long double), relative to its largest entry */
    double worst = 0, ymax = 0;
    for (size_t i = 0; i < R; i++)
        for (size_t j = 0; j < B; j++) {
            long double s = 0;
            for (size_t k = 0; k < C; k++) s += (long double)W.data[i * C + k] * X.data[k * B + j];
            Y.data[i * B + j] = (double)s;
            if (fabs((double)s) > ymax) ymax = fabs((double)s);
        }
    for (size_t i = 0; i < R * B; i++)
        if (fabs(res.data[i] - Y.data[i]) > worst) worst = fabs(res.data[i] - Y.data[i]);
    /* the bound covers the decode of outputs correctly rounded in float32;
     * these carry the product's rounding too (eta: the decoder's tolerance) */
    double bound = i32->worst_bound * 0x1p29 + gp_code_eta(c32, GP_FORWARD, R, C);
    printf("  float32 gpd 2x2 on 8 nodes: decoded within %.3g of the largest entry (bound %.3g)\n",
           worst / ymax, bound);
    CHECKF(worst <= bound * ymax, "float32 decode off by %.3g", worst / ymax);
    for (int p = 0; p < 8; p++) gp_rmat_free(&outs[p]);
    gp_rmat_free(&W);
    gp_rmat_free(&X);
    gp_rmat_free(&Y);
    gp_rmat_free(&res);
    gp_code_destroy(&c64);
    gp_code_destroy(&c32);
}

static const test_case cases[] = {
    {"thresholds_table", thresholds_table},
    {"single_precision_code", single_precision_code},
    {"bit_flips", bit_flips},
    {"refusals", refusals},
    {"accepted_bounds", accepted_bounds},
    {"products_every_subset", products_every_subset},
    {"coded_update", coded_update},
    {"regeneration", regeneration},
    {"regeneration_sources", regeneration_sources},
    {"regeneration_checked_by_projections", regeneration_checked_by_projections},
    {"non_finite_outputs", non_finite_outputs},
    {"random_errors_all_configs", random_errors_all_configs},
    {"random_errors_other_schemes", random_errors_other_schemes},
};

TEST_MAIN(cases)
