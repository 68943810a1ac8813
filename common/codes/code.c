/* code.c - the schemes behind gp_code.h.
 *
 * Every scheme reduces a decode to gp_decode on a small generator matrix:
 * polynomial codes use Vandermonde rows a_p^k, mds the systematic [I; R]
 * codes of its row and column sums, replication a column of ones per block.
 */
#include "gp_code.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gp_blas.h"
#include "gp_bound.h"
#include "gp_points.h"
#include "gp_rng.h"

#define UROUND (DBL_EPSILON / 2)
#define MAXE   (4 * GP_MAX_SPLIT * GP_MAX_SPLIT)

struct gp_code {
    gp_code_info info;
    int P, m, n;
    double u; /* unit roundoff of the node products (gp_code_params.single) */
    /* polynomial codes */
    double a[GP_MAX_NODES];
    int ew[GP_MAX_SPLIT][GP_MAX_SPLIT];     /* exponent of W[i][j] */
    int ef[GP_MAX_SPLIT], wf[GP_MAX_SPLIT]; /* forward: input exponents, wanted */
    int eb[GP_MAX_SPLIT], wb[GP_MAX_SPLIT]; /* backward: input exponents, wanted */
    int ud[GP_MAX_SPLIT], ux[GP_MAX_SPLIT]; /* update: exponents of D and X blocks */
    double *G[3];                           /* Vandermonde P x K: forward, backward, storage */
    int K[3];
    /* mds */
    int qr, qc, Pr, Pc;
    double *Gr, *Gc; /* Pr x qr, Pc x qc */
    int na[GP_MAX_NODES], nb[GP_MAX_NODES];
    int node_at[GP_MAX_CODED_NODES][GP_MAX_CODED_NODES]; /* -1 where no node */
    /* replication and uncoded */
    int r, k;
};

static const char *scheme_names[GP_SCHEME_COUNT_] = {"gpd", "polynomial",  "matdot",
                                                     "mds", "replication", "uncoded"};

const char *gp_scheme_name(gp_scheme s)
{
    return (unsigned)s < GP_SCHEME_COUNT_ ? scheme_names[s] : "?";
}

gp_err gp_scheme_parse(const char *name, gp_scheme *s)
{
    for (int i = 0; i < GP_SCHEME_COUNT_; i++)
        if (strcmp(name, scheme_names[i]) == 0) {
            *s = (gp_scheme)i;
            return GP_OK;
        }
    return GP_EINVAL;
}

const char *gp_orient_name(gp_orient o)
{
    return o == GP_ORIENT_ROW ? "row" : o == GP_ORIENT_COL ? "col" : "auto";
}

static bool is_poly(const gp_code_t *c)
{
    return c->info.scheme <= GP_SCHEME_MATDOT;
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* ---- creation: polynomial codes ------------------------------------------------ */

static void poly_exponents(gp_code_t *c, gp_orient o)
{
    int m = c->m, n = c->n;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) c->ew[i][j] = o == GP_ORIENT_ROW ? j + n * i : i + m * j;
    for (int k = 0; k < n; k++) c->ef[k] = o == GP_ORIENT_ROW ? n - 1 - k : m * (n - 1 - k);
    for (int i = 0; i < m; i++) c->wf[i] = o == GP_ORIENT_ROW ? n * i + n - 1 : i + m * (n - 1);
    for (int k = 0; k < m; k++) c->eb[k] = o == GP_ORIENT_ROW ? n * (m - 1 - k) : m - 1 - k;
    for (int j = 0; j < n; j++) c->wb[j] = o == GP_ORIENT_ROW ? n * (m - 1) + j : m * j + m - 1;
    for (int i = 0; i < m; i++) c->ud[i] = o == GP_ORIENT_ROW ? n * i : i;
    for (int j = 0; j < n; j++) c->ux[j] = o == GP_ORIENT_ROW ? j : m * j;
}

/* Thresholds are the degrees of the product polynomials plus one, computed
 * from the exponents rather than quoted, so a slip in either shows up in the
 * tests against the published table. */
static void poly_thresholds(const gp_code_t *c, int *kf, int *kb, int *kw)
{
    int mf = 0, mb = 0, mw = 0;
    for (int i = 0; i < c->m; i++)
        for (int j = 0; j < c->n; j++) {
            if (c->ew[i][j] > mw) mw = c->ew[i][j];
            for (int k = 0; k < c->n; k++)
                if (c->ew[i][j] + c->ef[k] > mf) mf = c->ew[i][j] + c->ef[k];
            for (int k = 0; k < c->m; k++)
                if (c->ew[i][j] + c->eb[k] > mb) mb = c->ew[i][j] + c->eb[k];
        }
    *kf = mf + 1;
    *kb = mb + 1;
    *kw = mw + 1;
}

static const char *const what_names[3] = {"forward", "backward", "storage"};

static gp_err poly_choose_points(gp_code_t *c, const gp_code_params *pp, double max_bound,
                                 gp_msg *why)
{
    gp_point_choice ch;
    gp_err e = gp_points_choose(c->P, c->K, 3, pp->fixed_points ? pp->points : -1, max_bound, &ch);
    if (e == GP_OK) {
        gp_points(ch.family, c->P, c->a);
        c->info.points = ch.family;
        c->info.bound_forward = ch.bound[0];
        c->info.bound_backward = ch.bound[1];
        c->info.bound_storage = ch.bound[2];
        return GP_OK;
    }
    if (e != GP_ENUMERIC) return e;
    return gp_fail(
        why, GP_ENUMERIC,
        "%s m=%d n=%d%s%s on %d nodes: worst-case decode error bound %s%.1e exceeds %.0e "
        "(%s decode, K=%d)",
        gp_scheme_name(c->info.scheme), c->m, c->n, c->m > 1 && c->n > 1 ? " " : "",
        c->m > 1 && c->n > 1 ? gp_orient_name(c->info.orient) : "", c->P,
        ch.certified ? "" : ">= ", ch.worst, max_bound, what_names[ch.worst_index],
        c->K[ch.worst_index]);
}

static gp_err poly_new(gp_code_t *c, const gp_code_params *pp, double max_bound, gp_msg *why)
{
    int m = c->m, n = c->n;
    gp_orient o = pp->orient;
    if (o == GP_ORIENT_AUTO) {
        int kf[2], kb[2], kw;
        for (int t = 0; t < 2; t++) {
            poly_exponents(c, t == 0 ? GP_ORIENT_ROW : GP_ORIENT_COL);
            poly_thresholds(c, &kf[t], &kb[t], &kw);
        }
        int m0 = kf[0] > kb[0] ? kf[0] : kb[0], m1 = kf[1] > kb[1] ? kf[1] : kb[1];
        o = (m1 < m0 || (m1 == m0 && kf[1] + kb[1] < kf[0] + kb[0])) ? GP_ORIENT_COL
                                                                     : GP_ORIENT_ROW;
    }
    poly_exponents(c, o);
    poly_thresholds(c, &c->K[0], &c->K[1], &c->K[2]);
    c->info.orient = o;
    int kmax = c->K[0] > c->K[1] ? c->K[0] : c->K[1];
    if (c->P < kmax)
        return gp_fail(why, GP_EINVAL,
                       "%s m=%d n=%d needs at least %d nodes (K_f=%d, K_b=%d), cluster has %d",
                       gp_scheme_name(c->info.scheme), m, n, kmax, c->K[0], c->K[1], c->P);
    if (c->P > GP_MAX_CODED_NODES)
        return gp_fail(why, GP_EINVAL, "%s codes are certified for up to %d nodes, not %d",
                       gp_scheme_name(c->info.scheme), GP_MAX_CODED_NODES, c->P);
    gp_err e = poly_choose_points(c, pp, max_bound, why);
    if (e != GP_OK) return e;
    for (int w = 0; w < 3; w++) {
        c->G[w] = malloc(sizeof(double) * (size_t)c->P * c->K[w]);
        if (!c->G[w]) return GP_ENOMEM;
        gp_vandermonde(c->a, c->P, c->K[w], c->G[w]);
    }
    gp_code_info *in = &c->info;
    in->k_forward = c->K[0];
    in->k_backward = c->K[1];
    in->k_storage = c->K[2];
    in->random_forward = c->P - c->K[0] - 1 > 0 ? c->P - c->K[0] - 1 : 0;
    in->random_backward = c->P - c->K[1] - 1 > 0 ? c->P - c->K[1] - 1 : 0;
    gp_decode_policy_ts(GP_POLICY_BALANCED, c->P, c->K[0], &in->adversarial_forward,
                        &in->adversarial_detected_forward);
    gp_decode_policy_ts(GP_POLICY_BALANCED, c->P, c->K[1], &in->adversarial_backward,
                        &in->adversarial_detected_backward);
    in->nodes_forward = in->nodes_backward = c->P;
    return GP_OK;
}

/* ---- creation: mds ----------------------------------------------------------- */

/* [I_q; R] with R standard normal from a seed fixed by (len, q, which). */
static double *systematic_gaussian(int len, int q, int which)
{
    double *G = calloc((size_t)len * q, sizeof(double));
    if (!G) return NULL;
    gp_rng rng;
    gp_rng_seed(&rng,
                0x4D44530000ull + (uint64_t)which * 65536 + (uint64_t)len * 256 + (uint64_t)q);
    for (int i = 0; i < q; i++) G[i * q + i] = 1.0;
    for (int i = q; i < len; i++)
        for (int j = 0; j < q; j++) G[i * q + j] = gp_rng_normal(&rng);
    return G;
}

static gp_err mds_new(gp_code_t *c, const gp_code_params *pp, double max_bound, gp_msg *why)
{
    int P = c->P, qr = c->m, qc = c->n, Pr = pp->pr, Pc = pp->pc;
    if (P > GP_MAX_CODED_NODES)
        return gp_fail(why, GP_EINVAL, "mds codes are certified for up to %d nodes, not %d",
                       GP_MAX_CODED_NODES, P);
    if (Pr == 0 && Pc == 0) { /* most parity in the weaker direction */
        int best = -1;
        for (int pr = qr + 1; pr <= P; pr++) {
            int rest = P - (pr - qr) * qc;
            if (rest <= 0 || rest % qr) continue;
            int pc = rest / qr;
            if (pc < qc + 1) continue;
            int score = (pr - qr < pc - qc ? pr - qr : pc - qc) * 64 + (pr - qr);
            if (score > best) {
                best = score;
                Pr = pr;
                Pc = pc;
            }
        }
        if (best < 0)
            return gp_fail(why, GP_EINVAL,
                           "mds qr=%d qc=%d: no layout qr*Pc + (Pr-qr)*qc = %d with Pr > qr, "
                           "Pc > qc",
                           qr, qc, P);
    }
    if (Pr <= qr || Pc <= qc || qr * Pc + (Pr - qr) * qc != P)
        return gp_fail(why, GP_EINVAL,
                       "mds layout Pr=%d qr=%d Pc=%d qc=%d does not fit %d nodes "
                       "(need qr*Pc + (Pr-qr)*qc = P, Pr > qr, Pc > qc)",
                       Pr, qr, Pc, qc, P);
    c->qr = qr;
    c->qc = qc;
    c->Pr = Pr;
    c->Pc = Pc;
    c->Gr = systematic_gaussian(Pr, qr, 0);
    c->Gc = systematic_gaussian(Pc, qc, 1);
    if (!c->Gr || !c->Gc) return GP_ENOMEM;
    double bnd[2];
    const double *G[2] = {c->Gr, c->Gc};
    int len[2] = {Pr, Pc}, q[2] = {qr, qc};
    for (int w = 0; w < 2; w++) {
        gp_worst wc;
        gp_err e = gp_bound_worst(G[w], len[w], q[w], gp_bound_kappa_limit(max_bound, q[w]), &wc);
        if (e != GP_OK)
            return gp_fail(why, e, "mds: cannot certify the (%d, %d) code", len[w], q[w]);
        /* plus the rounding of the sums of partial products */
        bnd[w] = gp_decode_bound(wc.kappa, q[w]) + (w == 0 ? qc : qr) * UROUND;
        if (!wc.certified || bnd[w] > max_bound)
            return gp_fail(why, GP_ENUMERIC,
                           "mds qr=%d qc=%d Pr=%d Pc=%d: worst-case decode error bound %s%.1e "
                           "exceeds %.0e (%s decode)",
                           qr, qc, Pr, Pc, wc.certified ? "" : ">= ", bnd[w], max_bound,
                           what_names[w]);
    }
    for (int a = 0; a < GP_MAX_CODED_NODES; a++)
        for (int b = 0; b < GP_MAX_CODED_NODES; b++) c->node_at[a][b] = -1;
    int p = 0;
    for (int a = 0; a < qr; a++)
        for (int b = 0; b < Pc; b++, p++) {
            c->na[p] = a;
            c->nb[p] = b;
            c->node_at[a][b] = p;
        }
    for (int a = qr; a < Pr; a++)
        for (int b = 0; b < qc; b++, p++) {
            c->na[p] = a;
            c->nb[p] = b;
            c->node_at[a][b] = p;
        }
    gp_code_info *in = &c->info;
    in->pr = Pr;
    in->pc = Pc;
    in->k_forward = in->k_backward = in->k_storage = qr * qc;
    in->random_forward = Pr - qr - 1 >= 1 ? 1 : 0;
    in->random_backward = Pc - qc - 1 >= 1 ? 1 : 0;
    /* one error per decode at most (leave-one-out), as the strategy had it */
    gp_decode_policy_ts(GP_POLICY_BALANCED, Pr, qr, &in->adversarial_forward,
                        &in->adversarial_detected_forward);
    gp_decode_policy_ts(GP_POLICY_BALANCED, Pc, qc, &in->adversarial_backward,
                        &in->adversarial_detected_backward);
    if (in->adversarial_forward > 1) in->adversarial_forward = 1;
    if (in->adversarial_backward > 1) in->adversarial_backward = 1;
    in->nodes_forward = Pr * qc;
    in->nodes_backward = qr * Pc;
    in->bound_forward = bnd[0];
    in->bound_backward = bnd[1];
    in->bound_storage = bnd[0] > bnd[1] ? bnd[0] : bnd[1];
    return GP_OK;
}

/* ---- creation: replication and uncoded ------------------------------------------ */

static gp_err rep_new(gp_code_t *c, const gp_code_params *pp, gp_msg *why)
{
    int k = c->m * c->n, r = c->info.scheme == GP_SCHEME_UNCODED ? 1 : pp->copies;
    if (r == 0) {
        if (c->P % k)
            return gp_fail(why, GP_EINVAL,
                           "replication m=%d n=%d: %d nodes are not a multiple of the %d blocks",
                           c->m, c->n, c->P, k);
        r = c->P / k;
    }
    if (r * k != c->P)
        return gp_fail(why, GP_EINVAL, "%s m=%d n=%d with %d copies needs %d nodes, not %d",
                       gp_scheme_name(c->info.scheme), c->m, c->n, r, r * k, c->P);
    c->r = r;
    c->k = k;
    gp_code_info *in = &c->info;
    in->copies = r;
    in->k_forward = in->k_backward = in->k_storage = k;
    in->random_forward = in->random_backward = r >= 2 ? r - 2 : 0;
    gp_decode_policy_ts(GP_POLICY_BALANCED, r, 1, &in->adversarial_forward,
                        &in->adversarial_detected_forward);
    in->adversarial_backward = in->adversarial_forward;
    in->adversarial_detected_backward = in->adversarial_detected_forward;
    in->nodes_forward = in->nodes_backward = c->P;
    /* Decoding adds only the rounding of summing the n (or m) partial products. */
    in->bound_forward = c->n * UROUND;
    in->bound_backward = c->m * UROUND;
    in->bound_storage = UROUND;
    return GP_OK;
}

gp_err gp_code_new(const gp_code_params *pp, gp_code_t **out, gp_msg *why)
{
    *out = NULL;
    if ((unsigned)pp->scheme >= GP_SCHEME_COUNT_) return gp_fail(why, GP_EINVAL, "unknown scheme");
    if (pp->nodes < 1 || pp->nodes > GP_MAX_NODES)
        return gp_fail(why, GP_EINVAL, "nodes must be 1..%d, not %d", GP_MAX_NODES, pp->nodes);
    if (pp->m < 1 || pp->n < 1 || pp->m > GP_MAX_SPLIT || pp->n > GP_MAX_SPLIT)
        return gp_fail(why, GP_EINVAL, "m and n must be 1..%d (m=%d n=%d)", GP_MAX_SPLIT, pp->m,
                       pp->n);
    if (pp->scheme == GP_SCHEME_POLYNOMIAL && pp->n != 1)
        return gp_fail(why, GP_EINVAL, "polynomial codes have n = 1 (got n=%d)", pp->n);
    if (pp->scheme == GP_SCHEME_MATDOT && pp->m != 1)
        return gp_fail(why, GP_EINVAL, "matdot codes have m = 1 (got m=%d)", pp->m);
    if (pp->fixed_points && (pp->points < 0 || pp->points >= GP_POINT_FAMILIES))
        return gp_fail(why, GP_EINVAL, "point family must be 0..%d", GP_POINT_FAMILIES - 1);
    double max_bound = pp->max_bound > 0 ? pp->max_bound : GP_DEFAULT_MAX_BOUND;

    gp_code_t *c = calloc(1, sizeof *c);
    if (!c) return GP_ENOMEM;
    c->P = pp->nodes;
    c->m = pp->m;
    c->n = pp->n;
    c->info.scheme = pp->scheme;
    c->info.nodes = pp->nodes;
    c->info.m = pp->m;
    c->info.n = pp->n;
    c->info.points = -1;
    c->info.storage_fraction = 1.0 / (pp->m * pp->n);
    c->u = pp->single ? FLT_EPSILON / 2 : UROUND;
    c->info.single = pp->single;
    c->info.unit_roundoff = c->u;
    gp_err e;
    if (pp->scheme <= GP_SCHEME_MATDOT) {
        if (pp->m * pp->n < 2) {
            e = gp_fail(why, GP_EINVAL, "%s needs m*n >= 2 (use replication for whole copies)",
                        gp_scheme_name(pp->scheme));
        } else {
            e = poly_new(c, pp, max_bound, why);
        }
    } else if (pp->scheme == GP_SCHEME_MDS) {
        e = mds_new(c, pp, max_bound, why);
    } else {
        e = rep_new(c, pp, why);
    }
    if (e != GP_OK) {
        gp_code_destroy(&c);
        return e;
    }
    gp_code_info *in = &c->info;
    in->worst_bound = in->bound_forward;
    if (in->bound_backward > in->worst_bound) in->worst_bound = in->bound_backward;
    if (in->bound_storage > in->worst_bound) in->worst_bound = in->bound_storage;
    *out = c;
    return GP_OK;
}

void gp_code_destroy(gp_code_t **code)
{
    if (!code || !*code) return;
    gp_code_t *c = *code;
    for (int w = 0; w < 3; w++) free(c->G[w]);
    free(c->Gr);
    free(c->Gc);
    free(c);
    *code = NULL;
}

const gp_code_info *gp_code_info_of(const gp_code_t *c)
{
    return &c->info;
}

double gp_code_point(const gp_code_t *c, int p)
{
    return is_poly(c) && p >= 0 && p < c->P ? c->a[p] : 0.0;
}

void gp_code_describe(const gp_code_t *c, char *buf, size_t len)
{
    const gp_code_info *in = &c->info;
    switch (in->scheme) {
    case GP_SCHEME_MDS:
        snprintf(buf, len, "mds qr=%d qc=%d Pr=%d Pc=%d P=%d", c->m, c->n, c->Pr, c->Pc, c->P);
        break;
    case GP_SCHEME_REPLICATION:
    case GP_SCHEME_UNCODED:
        snprintf(buf, len, "%s m=%d n=%d r=%d P=%d", gp_scheme_name(in->scheme), c->m, c->n, c->r,
                 c->P);
        break;
    default:
        snprintf(buf, len, "%s m=%d n=%d %s P=%d (K_f=%d K_b=%d)", gp_scheme_name(in->scheme), c->m,
                 c->n, gp_orient_name(in->orient), c->P, in->k_forward, in->k_backward);
    }
}

/* ---- shapes --------------------------------------------------------------------- */

size_t gp_code_block_rows(const gp_code_t *c, size_t rows)
{
    return ceil_div(rows, (size_t)c->m);
}

size_t gp_code_block_cols(const gp_code_t *c, size_t cols)
{
    return ceil_div(cols, (size_t)c->n);
}

size_t gp_code_output_rows(const gp_code_t *c, gp_dir dir, size_t rows, size_t cols)
{
    return dir == GP_FORWARD ? gp_code_block_rows(c, rows) : gp_code_block_cols(c, cols);
}

bool gp_code_takes_part(const gp_code_t *c, int p, gp_dir dir)
{
    if (p < 0 || p >= c->P) return false;
    if (c->info.scheme != GP_SCHEME_MDS) return true;
    return dir == GP_FORWARD ? c->nb[p] < c->qc : c->na[p] < c->qr;
}

double gp_code_eta(const gp_code_t *c, gp_dir dir, size_t rows, size_t cols)
{
    double inner = dir == GP_FORWARD ? (double)gp_code_block_cols(c, cols)
                                     : (double)gp_code_block_rows(c, rows);
    if (c->info.scheme == GP_SCHEME_MDS) inner *= dir == GP_FORWARD ? c->qc : c->qr;
    if (inner < 1) inner = 1;
    int K = dir == GP_FORWARD ? c->info.k_forward : c->info.k_backward;
    return 8.0 * c->u * (inner + 2.0 * (c->m * c->n + K) + 16.0) * sqrt(inner);
}

/* Relative noise of stored blocks after `updates` coded updates: encoding
 * rounding plus a random walk of one rounding per update; the blocks are
 * double whatever the products' precision. */
static double eta_storage(const gp_code_t *c, uint64_t updates)
{
    return 16.0 * UROUND * (2.0 * c->m * c->n + 16.0) * sqrt(1.0 + (double)updates);
}

/* ---- encoding ------------------------------------------------------------------- */

static void powers(double a, int e_max, double *pw)
{
    pw[0] = 1.0;
    for (int e = 1; e <= e_max; e++) pw[e] = pw[e - 1] * a;
}

gp_err gp_code_encode_weights(const gp_code_t *c, int p, gp_rmat w, gp_rmat wt)
{
    if (p < 0 || p >= c->P || wt.rows != gp_code_block_rows(c, w.rows) ||
        wt.cols != gp_code_block_cols(c, w.cols))
        return GP_EINVAL;
    double coef[GP_MAX_SPLIT * GP_MAX_SPLIT], pw[MAXE];
    int m = c->m, n = c->n;
    memset(coef, 0, sizeof coef);
    if (is_poly(c)) {
        powers(c->a[p], c->K[2], pw);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) coef[i * n + j] = pw[c->ew[i][j]];
    } else if (c->info.scheme == GP_SCHEME_MDS) {
        int a = c->na[p], b = c->nb[p];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                coef[i * n + j] = c->Gr[a * c->qr + i] * c->Gc[b * c->qc + j];
    } else {
        coef[p % c->k] = 1.0;
    }
    gp_rmat_combine_blocks(wt, w, m, n, coef);
    return GP_OK;
}

/* Coefficients of the input blocks for node p: forward over the n column
 * blocks of X, backward over the m row blocks of D; update ones likewise. */
static bool input_coefs(const gp_code_t *c, int p, gp_dir dir, bool update, double *coef)
{
    int nb = dir == GP_FORWARD ? c->n : c->m;
    double pw[MAXE];
    for (int k = 0; k < nb; k++) coef[k] = 0.0;
    if (is_poly(c)) {
        powers(c->a[p], c->K[0] > c->K[1] ? c->K[0] : c->K[1], pw);
        for (int k = 0; k < nb; k++) {
            int e = update ? (dir == GP_FORWARD ? c->ux[k] : c->ud[k])
                           : (dir == GP_FORWARD ? c->ef[k] : c->eb[k]);
            coef[k] = pw[e];
        }
        return true;
    }
    if (c->info.scheme == GP_SCHEME_MDS) {
        int a = c->na[p], b = c->nb[p];
        if (update) {
            for (int k = 0; k < nb; k++)
                coef[k] = dir == GP_FORWARD ? c->Gc[b * c->qc + k] : c->Gr[a * c->qr + k];
            return true;
        }
        if (dir == GP_FORWARD && b >= c->qc) return false;
        if (dir == GP_BACKWARD && a >= c->qr) return false;
        coef[dir == GP_FORWARD ? b : a] = 1.0;
        return true;
    }
    int blk = p % c->k;
    coef[dir == GP_FORWARD ? blk % c->n : blk / c->n] = 1.0;
    return true;
}

gp_err gp_code_encode_input(const gp_code_t *c, int p, gp_dir dir, gp_rmat in, gp_rmat enc)
{
    if (p < 0 || p >= c->P || enc.cols != in.cols) return GP_EINVAL;
    int nb = dir == GP_FORWARD ? c->n : c->m;
    if (enc.rows != ceil_div(in.rows, (size_t)nb)) return GP_EINVAL;
    double coef[GP_MAX_SPLIT];
    if (!input_coefs(c, p, dir, false, coef)) return GP_ENOTPART;
    gp_rmat_combine_blocks(enc, in, nb, 1, coef);
    return GP_OK;
}

void gp_code_node_product(gp_dir dir, gp_rmat wt, gp_rmat enc, gp_rmat out)
{
    gp_gemm_rm(dir == GP_BACKWARD, 1.0, wt, enc, 0.0, out);
}

void gp_code_node_product_f32(gp_dir dir, gp_fmat wt, gp_fmat enc, gp_fmat out)
{
    gp_sgemm_rm(dir == GP_BACKWARD, 1.0f, wt, enc, 0.0f, out);
}

gp_err gp_code_encode_update(const gp_code_t *c, int p, gp_rmat d, gp_rmat x, gp_rmat dt,
                             gp_rmat xt)
{
    if (p < 0 || p >= c->P || d.cols != x.cols || dt.cols != d.cols || xt.cols != x.cols ||
        dt.rows != ceil_div(d.rows, (size_t)c->m) || xt.rows != ceil_div(x.rows, (size_t)c->n))
        return GP_EINVAL;
    double cd[GP_MAX_SPLIT], cx[GP_MAX_SPLIT];
    input_coefs(c, p, GP_BACKWARD, true, cd);
    input_coefs(c, p, GP_FORWARD, true, cx);
    gp_rmat_combine_blocks(dt, d, c->m, 1, cd);
    gp_rmat_combine_blocks(xt, x, c->n, 1, cx);
    return GP_OK;
}

void gp_code_node_update(double alpha, gp_rmat dt, gp_rmat xt, gp_rmat wt)
{
    gp_rank_update_rm(alpha, dt, xt, wt);
}

void gp_code_node_update_into(double alpha, gp_rmat dt, gp_rmat xt, gp_rmat wt, gp_rmat next)
{
    gp_rank_update_into(alpha, dt, xt, wt, next);
}

/* ---- decoding ------------------------------------------------------------------- */

/* Places for nb decoded blocks of blk x width each, stacked into res (total
 * rows); blocks that fit exactly are written in place, the rest go through a
 * scratch buffer copied afterwards. */
typedef struct outblocks {
    double *ptr[GP_MAX_SPLIT * GP_MAX_SPLIT];
    double *scratch;
} outblocks;

static gp_err outblocks_init(outblocks *ob, int nb, size_t blk, size_t width, gp_rmat res)
{
    ob->scratch = NULL;
    size_t nscratch = 0;
    for (int i = 0; i < nb; i++)
        if (res.ld != width || (size_t)(i + 1) * blk > res.rows) nscratch++;
    if (nscratch) {
        ob->scratch = gp_alloc_doubles(nscratch * blk * width);
        if (!ob->scratch) return GP_ENOMEM;
    }
    for (int i = 0, s = 0; i < nb; i++)
        ob->ptr[i] = (res.ld != width || (size_t)(i + 1) * blk > res.rows)
                         ? ob->scratch + (size_t)(s++) * blk * width
                         : res.data + (size_t)i * blk * res.ld;
    return GP_OK;
}

static void outblocks_finish(outblocks *ob, int nb, size_t blk, size_t width, gp_rmat res)
{
    for (int i = 0; i < nb; i++) {
        double *home = res.data + (size_t)i * blk * res.ld;
        if (ob->ptr[i] == home && res.ld == width) continue;
        for (size_t r = 0; r < blk && (size_t)i * blk + r < res.rows; r++)
            memcpy(home + r * res.ld, ob->ptr[i] + r * width, width * sizeof(double));
    }
    gp_free_doubles(ob->scratch);
    ob->scratch = NULL;
}

/* Merges a group's report into the total. */
static void merge_report(gp_decode_report *tot, const gp_decode_report *g, bool first)
{
    if (first) {
        *tot = *g;
        return;
    }
    tot->used |= g->used;
    tot->agreed |= g->agreed;
    tot->wrong |= g->wrong;
    tot->nwrong = __builtin_popcountll(tot->wrong);
    if (g->spare < tot->spare) tot->spare = g->spare;
    tot->fast = tot->fast && g->fast;
    if (g->kappa > tot->kappa) tot->kappa = g->kappa;
    if (g->bound > tot->bound) tot->bound = g->bound;
}

/* Error precedence when groups disagree: worst first. */
static int err_rank(gp_err e)
{
    switch (e) {
    case GP_OK:
        return 0;
    case GP_EUNVERIFIED:
        return 1;
    case GP_EDETECTED:
        return 2;
    case GP_ENODES:
        return 3;
    default:
        return 4;
    }
}

static gp_err poly_decode(const gp_code_t *c, int w, const int *want, int nwant, size_t len,
                          const gp_node_output *outs, int nouts, double *const *out, double eta,
                          const double *F_given, gp_decode_report *rep, gp_msg *why)
{
    int K = c->K[w], ids[GP_MAX_NODES];
    const double *ys[GP_MAX_NODES];
    double *F = NULL;
    if (nouts > GP_MAX_NODES) return gp_fail(why, GP_EINVAL, "too many outputs");
    for (int i = 0; i < nouts; i++) {
        ids[i] = outs[i].node;
        ys[i] = outs[i].data;
    }
    if (!F_given) {
        F = calloc((size_t)(nwant ? nwant : 1) * K, sizeof(double));
        if (!F) return GP_ENOMEM;
        for (int r = 0; r < nwant; r++) F[r * K + want[r]] = 1.0;
    }
    gp_lincode lc = {c->P, K, c->G[w], c->a};
    gp_decode_req rq = {.code = &lc,
                        .nresp = nouts,
                        .resp = ids,
                        .y = ys,
                        .len = len,
                        .nfun = nwant,
                        .F = F_given ? F_given : F,
                        .out = out,
                        .max_errors = -1,
                        .eta = eta,
                        .allow_unverified = false};
    gp_err e = gp_decode(&rq, rep, why);
    free(F);
    return e;
}

/* Decodes one group of a systematic [I; R] or replication code: members[]
 * are node ids, gens the generator (len x q), outputs picked from outs by node. */
typedef struct group {
    int q;           /* code dimension */
    int len;         /* code length */
    const double *G; /* len x q */
    int max_errors;
    bool allow_unverified;
} group;

static gp_err group_decode(const group *g, const int *pos_ids, const double *const *ys, int ny,
                           size_t len, int nfun, const double *F, double *const *out, double eta,
                           gp_decode_report *rep, gp_msg *why)
{
    gp_lincode lc = {g->len, g->q, g->G, NULL};
    gp_decode_req rq = {.code = &lc,
                        .nresp = ny,
                        .resp = pos_ids,
                        .y = ys,
                        .len = len,
                        .nfun = nfun,
                        .F = F,
                        .out = out,
                        .max_errors = g->max_errors,
                        .eta = eta,
                        .allow_unverified = g->allow_unverified};
    return gp_decode(&rq, rep, why);
}

static const double *find_output(const gp_node_output *outs, int nouts, int node)
{
    for (int i = 0; i < nouts; i++)
        if (outs[i].node == node) return outs[i].data;
    return NULL;
}

static gp_err check_outputs(const gp_code_t *c, const gp_node_output *outs, int nouts, gp_msg *why)
{
    uint64_t seen = 0;
    if (nouts < 0 || nouts > c->P)
        return gp_fail(why, GP_EINVAL, "%d outputs for %d nodes", nouts, c->P);
    for (int i = 0; i < nouts; i++) {
        int id = outs[i].node;
        if (id < 0 || id >= c->P || (seen >> id & 1) || !outs[i].data)
            return gp_fail(why, GP_EINVAL, "output from node %d invalid or repeated", id);
        seen |= 1ull << id;
    }
    return GP_OK;
}

/* mds: sums of partial products over row (forward) or column (backward)
 * groups, decoded with the (Pr, qr) or (Pc, qc) code, one error corrected. */
static gp_err mds_decode(const gp_code_t *c, gp_dir dir, size_t len, const gp_node_output *outs,
                         int nouts, double *const *out, double eta, gp_decode_report *rep,
                         gp_msg *why)
{
    bool fwd = dir == GP_FORWARD;
    int glen = fwd ? c->Pr : c->Pc, q = fwd ? c->qr : c->qc, parts = fwd ? c->qc : c->qr;
    double *sums = gp_alloc_doubles((size_t)glen * len);
    if (!sums) return GP_ENOMEM;
    int ids[GP_MAX_CODED_NODES], ny = 0;
    const double *ys[GP_MAX_CODED_NODES];
    for (int g = 0; g < glen; g++) {
        double *s = sums + (size_t)g * len;
        bool complete = true;
        for (int t = 0; t < parts && complete; t++) {
            int node = fwd ? c->node_at[g][t] : c->node_at[t][g];
            const double *y = find_output(outs, nouts, node);
            if (!y) {
                complete = false;
                break;
            }
            for (size_t l = 0; l < len; l++) s[l] = t == 0 ? y[l] : s[l] + y[l];
        }
        if (complete) {
            ids[ny] = g;
            ys[ny++] = s;
        }
    }
    double F[GP_MAX_SPLIT * GP_MAX_SPLIT] = {0};
    for (int i = 0; i < q; i++) F[i * q + i] = 1.0;
    group gr = {q, glen, fwd ? c->Gr : c->Gc, 1, false};
    gp_decode_report grep;
    gp_err e = group_decode(&gr, ids, ys, ny, len, q, F, out, eta, &grep, why);
    /* A wrong sum implicates every node that contributed to it. */
    *rep = grep;
    rep->used = rep->agreed = rep->wrong = 0;
    for (int g = 0; g < glen; g++)
        for (int t = 0; t < parts; t++) {
            int node = fwd ? c->node_at[g][t] : c->node_at[t][g];
            if (grep.used >> g & 1) rep->used |= 1ull << node;
            if (grep.agreed >> g & 1) rep->agreed |= 1ull << node;
            if (grep.wrong >> g & 1) rep->wrong |= 1ull << node;
        }
    rep->nwrong = __builtin_popcountll(rep->wrong);
    gp_free_doubles(sums);
    return e;
}

/* replication and uncoded: per block, agreement of the copies; then sums. */
static gp_err rep_decode(const gp_code_t *c, gp_dir dir, size_t len, const gp_node_output *outs,
                         int nouts, double *const *out, double eta, gp_decode_report *rep,
                         gp_msg *why)
{
    int k = c->k, r = c->r, nsum = dir == GP_FORWARD ? c->n : c->m;
    int nout = dir == GP_FORWARD ? c->m : c->n;
    double *blk = gp_alloc_doubles((size_t)k * len), ones[GP_MAX_NODES], one = 1.0;
    if (!blk) return GP_ENOMEM;
    for (int i = 0; i < r; i++) ones[i] = 1.0;
    group gr = {1, r, ones, -1, c->info.scheme == GP_SCHEME_UNCODED};
    gp_err worst = GP_OK;
    bool first = true;
    for (int b = 0; b < k; b++) {
        int ids[GP_MAX_NODES], ny = 0;
        const double *ys[GP_MAX_NODES];
        for (int copy = 0; copy < r; copy++) {
            const double *y = find_output(outs, nouts, copy * k + b);
            if (y) {
                ids[ny] = copy;
                ys[ny++] = y;
            }
        }
        double *o = blk + (size_t)b * len;
        gp_decode_report g;
        gp_err e = group_decode(&gr, ids, ys, ny, len, 1, &one, &o, eta, &g, why);
        /* map copy indices back to node ids */
        uint64_t u = 0, a = 0, wr = 0;
        for (int copy = 0; copy < r; copy++) {
            if (g.used >> copy & 1) u |= 1ull << (copy * k + b);
            if (g.agreed >> copy & 1) a |= 1ull << (copy * k + b);
            if (g.wrong >> copy & 1) wr |= 1ull << (copy * k + b);
        }
        g.used = u;
        g.agreed = a;
        g.wrong = wr;
        g.nwrong = __builtin_popcountll(wr);
        merge_report(rep, &g, first);
        first = false;
        if (err_rank(e) > err_rank(worst)) worst = e;
    }
    rep->status = worst;
    if (worst == GP_OK || worst == GP_EUNVERIFIED)
        for (int i = 0; i < nout; i++) /* sum partial products in a fixed order */
            for (int t = 0; t < nsum; t++) {
                int b = dir == GP_FORWARD ? i * c->n + t : t * c->n + i;
                const double *s = blk + (size_t)b * len;
                double *o = out[i];
                if (t == 0)
                    memcpy(o, s, len * sizeof(double));
                else
                    for (size_t l = 0; l < len; l++) o[l] += s[l];
            }
    gp_free_doubles(blk);
    return worst;
}

gp_err gp_code_decode(const gp_code_t *c, gp_dir dir, size_t rows, size_t cols, size_t batch,
                      const gp_node_output *outs, int nouts, gp_rmat result, gp_decode_report *rep,
                      gp_msg *why)
{
    return gp_code_decode_stored(c, dir, rows, cols, batch, 0, outs, nouts, result, rep, why);
}

/* A product of stored blocks after `updates` coded updates: each output
 * carries the noise the updates added to the blocks (eta_storage beyond its
 * value for freshly encoded blocks, which gp_code_eta covers: relative, per
 * entry, with random signs) through the node's inner product, as a rounding
 * of each block entry would, on top of the product's own rounding. */
static double eta_product(const gp_code_t *c, gp_dir dir, size_t rows, size_t cols,
                          uint64_t updates)
{
    double inner = dir == GP_FORWARD ? (double)gp_code_block_cols(c, cols)
                                     : (double)gp_code_block_rows(c, rows);
    if (c->info.scheme == GP_SCHEME_MDS) inner *= dir == GP_FORWARD ? c->qc : c->qr;
    if (inner < 1) inner = 1;
    return gp_code_eta(c, dir, rows, cols) +
           8.0 * (eta_storage(c, updates) - eta_storage(c, 0)) * sqrt(inner);
}

gp_err gp_code_decode_stored(const gp_code_t *c, gp_dir dir, size_t rows, size_t cols, size_t batch,
                             uint64_t updates, const gp_node_output *outs, int nouts,
                             gp_rmat result, gp_decode_report *rep, gp_msg *why)
{
    gp_decode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_err e = check_outputs(c, outs, nouts, why);
    if (e != GP_OK) return rep->status = e;
    size_t total = dir == GP_FORWARD ? rows : cols;
    if (result.rows != total || result.cols != batch)
        return rep->status = gp_fail(why, GP_EINVAL, "result is %zux%zu, expected %zux%zu",
                                     result.rows, result.cols, total, batch);
    int nb = dir == GP_FORWARD ? c->m : c->n;
    size_t blk = gp_code_output_rows(c, dir, rows, cols), len = blk * batch;
    double eta = eta_product(c, dir, rows, cols, updates);
    outblocks ob;
    if ((e = outblocks_init(&ob, nb, blk, batch, result)) != GP_OK) return rep->status = e;
    if (is_poly(c)) {
        e = poly_decode(c, dir == GP_FORWARD ? 0 : 1, dir == GP_FORWARD ? c->wf : c->wb, nb, len,
                        outs, nouts, ob.ptr, eta, NULL, rep, why);
    } else if (c->info.scheme == GP_SCHEME_MDS) {
        e = mds_decode(c, dir, len, outs, nouts, ob.ptr, eta, rep, why);
    } else {
        e = rep_decode(c, dir, len, outs, nouts, ob.ptr, eta, rep, why);
        if (e == GP_EUNVERIFIED && c->info.scheme == GP_SCHEME_UNCODED) e = GP_OK;
    }
    rep->status = e;
    if (e == GP_OK || e == GP_EUNVERIFIED)
        outblocks_finish(&ob, nb, blk, batch, result);
    else
        gp_free_doubles(ob.scratch);
    return e;
}

/* ---- stored blocks ------------------------------------------------------------------- */

/* Decodes one group of stored blocks that form a code of their own. member[t]
 * is the node at code position t (-1: none); the block of `exclude` is left
 * out. The report is translated to node ids. */
static gp_err group_run(const group *g, const int *member, const gp_node_output *blocks, int nb,
                        int exclude, size_t len, int nfun, const double *F, double *const *out,
                        double eta, gp_decode_report *rep, gp_msg *why)
{
    int ids[GP_MAX_NODES], ny = 0;
    const double *ys[GP_MAX_NODES];
    for (int t = 0; t < g->len; t++) {
        if (member[t] < 0 || member[t] == exclude) continue;
        const double *y = find_output(blocks, nb, member[t]);
        if (y) {
            ids[ny] = t;
            ys[ny++] = y;
        }
    }
    gp_decode_report gr;
    gp_err e = group_decode(g, ids, ys, ny, len, nfun, F, out, eta, &gr, why);
    *rep = gr;
    rep->used = rep->agreed = rep->wrong = 0;
    for (int t = 0; t < g->len; t++) {
        if (member[t] < 0) continue;
        if (gr.used >> t & 1) rep->used |= 1ull << member[t];
        if (gr.agreed >> t & 1) rep->agreed |= 1ull << member[t];
        if (gr.wrong >> t & 1) rep->wrong |= 1ull << member[t];
    }
    rep->nwrong = __builtin_popcountll(rep->wrong);
    return e;
}

/* The groups of stored blocks: mds rows a < qr (column code) and columns
 * b < qc (row code); replication blocks (copies). Returns the count and fills
 * the group descriptions and members. */
static int storage_groups(const gp_code_t *c, group *gs, int (*member)[GP_MAX_NODES], double *ones)
{
    int ng = 0;
    if (c->info.scheme == GP_SCHEME_MDS) {
        for (int a = 0; a < c->qr; a++, ng++) {
            gs[ng] = (group){c->qc, c->Pc, c->Gc, 1, false};
            for (int b = 0; b < c->Pc; b++) member[ng][b] = c->node_at[a][b];
        }
        for (int b = 0; b < c->qc; b++, ng++) {
            gs[ng] = (group){c->qr, c->Pr, c->Gr, 1, false};
            for (int a = 0; a < c->Pr; a++) member[ng][a] = c->node_at[a][b];
        }
        return ng;
    }
    for (int i = 0; i < c->r; i++) ones[i] = 1.0;
    for (int b = 0; b < c->k; b++, ng++) {
        gs[ng] = (group){1, c->r, ones, -1, c->r == 1};
        for (int copy = 0; copy < c->r; copy++) member[ng][copy] = copy * c->k + b;
    }
    return ng;
}

gp_err gp_code_check_weights(const gp_code_t *c, size_t rows, size_t cols,
                             const gp_node_output *blocks, int nblocks, uint64_t updates,
                             gp_decode_report *rep, gp_msg *why)
{
    gp_decode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_err e = check_outputs(c, blocks, nblocks, why);
    if (e != GP_OK) return rep->status = e;
    size_t len = gp_code_block_rows(c, rows) * gp_code_block_cols(c, cols);
    double eta = eta_storage(c, updates);
    if (is_poly(c)) {
        e = poly_decode(c, 2, NULL, 0, len, blocks, nblocks, NULL, eta, NULL, rep, why);
        return rep->status = e;
    }
    if (c->info.scheme == GP_SCHEME_UNCODED)
        return rep->status =
                   gp_fail(why, GP_ENOTSUP, "uncoded storage has nothing to check against");
    group gs[2 * GP_MAX_NODES];
    int member[2 * GP_MAX_NODES][GP_MAX_NODES];
    double ones[GP_MAX_NODES];
    int ng = storage_groups(c, gs, member, ones);
    gp_err st[2 * GP_MAX_NODES];
    gp_decode_report gr[2 * GP_MAX_NODES];
    gp_msg gw[2 * GP_MAX_NODES];
    uint64_t located = 0;
    for (int g = 0; g < ng; g++) {
        st[g] = group_run(&gs[g], member[g], blocks, nblocks, -1, len, 0, NULL, NULL, eta, &gr[g],
                          &gw[g]);
        if (st[g] == GP_ENODES || st[g] == GP_EUNVERIFIED) st[g] = GP_OK; /* too few to check */
        if (st[g] == GP_OK) located |= gr[g].wrong;
    }
    /* A group that could only detect may be resolved by what the other groups
     * located (an mds block lies in a row and a column group). */
    gp_err worst = GP_OK;
    for (int g = 0; g < ng; g++) {
        if (st[g] == GP_EDETECTED && located) {
            gp_node_output rest[GP_MAX_NODES];
            int nr = 0;
            for (int i = 0; i < nblocks; i++)
                if (!(located >> blocks[i].node & 1)) rest[nr++] = blocks[i];
            gp_decode_report again;
            gp_msg gw2;
            gp_err e2 =
                group_run(&gs[g], member[g], rest, nr, -1, len, 0, NULL, NULL, eta, &again, &gw2);
            if (e2 == GP_OK || e2 == GP_ENODES || e2 == GP_EUNVERIFIED) {
                st[g] = GP_OK;
                gr[g].wrong = again.wrong | (gr[g].wrong & located);
                gr[g].nwrong = __builtin_popcountll(gr[g].wrong);
            }
        }
        merge_report(rep, &gr[g], g == 0);
        if (err_rank(st[g]) > err_rank(worst)) {
            worst = st[g];
            if (why) *why = gw[g];
        }
    }
    return rep->status = worst;
}

gp_err gp_code_regenerate(const gp_code_t *c, int p, size_t rows, size_t cols,
                          const gp_node_output *blocks, int nblocks, uint64_t updates, gp_rmat wt,
                          gp_decode_report *rep, gp_msg *why)
{
    gp_decode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_err e = check_outputs(c, blocks, nblocks, why);
    if (e != GP_OK) return rep->status = e;
    size_t br = gp_code_block_rows(c, rows), bc = gp_code_block_cols(c, cols), len = br * bc;
    if (p < 0 || p >= c->P || wt.rows != br || wt.cols != bc)
        return rep->status = gp_fail(why, GP_EINVAL, "bad node or block shape");
    double *o = wt.ld == bc ? wt.data : gp_alloc_doubles(len);
    if (!o) return rep->status = GP_ENOMEM;
    double eta = eta_storage(c, updates);
    if (is_poly(c)) {
        gp_node_output others[GP_MAX_NODES];
        int n = 0;
        for (int i = 0; i < nblocks; i++)
            if (blocks[i].node != p) others[n++] = blocks[i];
        e = poly_decode(c, 2, NULL, 1, len, others, n, &o, eta, c->G[2] + (size_t)p * c->K[2], rep,
                        why);
    } else if (c->info.scheme == GP_SCHEME_UNCODED) {
        e = gp_fail(why, GP_ENOTSUP, "uncoded storage keeps one copy: node %d cannot be rebuilt",
                    p);
    } else {
        group g;
        int member[GP_MAX_NODES];
        double ones[GP_MAX_NODES], F[GP_MAX_SPLIT];
        if (c->info.scheme == GP_SCHEME_MDS) {
            int a = c->na[p], b = c->nb[p];
            /* A block in both a row and a column group: use the one with more
             * of its other blocks at hand beyond the code dimension. */
            bool use_row = a < c->qr;
            if (a < c->qr && b < c->qc) {
                int hr = -c->qc, hc = -c->qr;
                for (int t = 0; t < c->Pc; t++)
                    hr += c->node_at[a][t] != p &&
                          find_output(blocks, nblocks, c->node_at[a][t]) != NULL;
                for (int t = 0; t < c->Pr; t++)
                    hc += c->node_at[t][b] != p &&
                          find_output(blocks, nblocks, c->node_at[t][b]) != NULL;
                use_row = hr >= hc;
            }
            if (use_row) {
                g = (group){c->qc, c->Pc, c->Gc, 1, false};
                for (int t = 0; t < c->Pc; t++) member[t] = c->node_at[a][t];
                memcpy(F, c->Gc + (size_t)b * c->qc, sizeof(double) * c->qc);
            } else {
                g = (group){c->qr, c->Pr, c->Gr, 1, false};
                for (int t = 0; t < c->Pr; t++) member[t] = c->node_at[t][b];
                memcpy(F, c->Gr + (size_t)a * c->qr, sizeof(double) * c->qr);
            }
        } else {
            for (int i = 0; i < c->r; i++) ones[i] = 1.0;
            g = (group){1, c->r, ones, -1, false};
            for (int t = 0; t < c->r; t++) member[t] = t * c->k + p % c->k;
            F[0] = 1.0;
        }
        e = group_run(&g, member, blocks, nblocks, p, len, 1, F, &o, eta, rep, why);
    }
    if (o != wt.data) {
        if (e == GP_OK) gp_rmat_copy(wt, gp_rmat_view(o, br, bc, bc));
        gp_free_doubles(o);
    }
    return rep->status = e;
}

uint64_t gp_code_regen_sources(const gp_code_t *c, int p, uint64_t healthy, int spare)
{
    if (p < 0 || p >= c->P) return 0;
    healthy &= ~(1ull << p);
    uint64_t chosen = 0;
    if (is_poly(c)) {
        for (int k = 0; k < c->K[2] + (spare > 0 ? spare : 0); k++) {
            int best = -1;
            double bd = 0;
            for (int q = 0; q < c->P; q++) {
                if (!(healthy >> q & 1) || (chosen >> q & 1)) continue;
                double dq = fabs(c->a[q] - c->a[p]);
                if (best < 0 || dq < bd) best = q, bd = dq;
            }
            if (best < 0) break;
            chosen |= 1ull << best;
        }
    } else if (c->info.scheme == GP_SCHEME_MDS) {
        int a = c->na[p], b = c->nb[p];
        /* the groups gp_code_regenerate may use: the row for a < qr, the
         * column for b < qc or a parity row */
        if (a < c->qr)
            for (int t = 0; t < c->Pc; t++)
                if (c->node_at[a][t] >= 0) chosen |= 1ull << c->node_at[a][t];
        if (b < c->qc || a >= c->qr)
            for (int t = 0; t < c->Pr; t++)
                if (c->node_at[t][b] >= 0) chosen |= 1ull << c->node_at[t][b];
    } else if (c->info.scheme == GP_SCHEME_REPLICATION) {
        for (int t = 0; t < c->r; t++) chosen |= 1ull << (t * c->k + p % c->k);
    }
    return chosen & healthy;
}

/* Copies decoded block (i, j) (br x bc, contiguous) into W, clipped. */
static void place_block(gp_rmat w, int i, int j, size_t br, size_t bc, const double *blk)
{
    size_t r0 = (size_t)i * br, c0 = (size_t)j * bc;
    if (r0 >= w.rows || c0 >= w.cols) return;
    size_t nr = w.rows - r0 < br ? w.rows - r0 : br, nc = w.cols - c0 < bc ? w.cols - c0 : bc;
    for (size_t r = 0; r < nr; r++)
        memcpy(w.data + (r0 + r) * w.ld + c0, blk + r * bc, nc * sizeof(double));
}

gp_err gp_code_decode_weights(const gp_code_t *c, size_t rows, size_t cols,
                              const gp_node_output *blocks, int nblocks, uint64_t updates,
                              gp_rmat w, gp_decode_report *rep, gp_msg *why)
{
    gp_decode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_err e = check_outputs(c, blocks, nblocks, why);
    if (e != GP_OK) return rep->status = e;
    if (w.rows != rows || w.cols != cols) return rep->status = gp_fail(why, GP_EINVAL, "bad shape");
    int m = c->m, n = c->n;
    size_t br = gp_code_block_rows(c, rows), bc = gp_code_block_cols(c, cols), len = br * bc;
    double *buf = gp_alloc_doubles((size_t)m * n * len), *out[GP_MAX_SPLIT * GP_MAX_SPLIT];
    if (!buf) return rep->status = GP_ENOMEM;
    for (int t = 0; t < m * n; t++) out[t] = buf + (size_t)t * len;
    double eta = eta_storage(c, updates);
    if (is_poly(c)) {
        int want[GP_MAX_SPLIT * GP_MAX_SPLIT];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) want[i * n + j] = c->ew[i][j];
        e = poly_decode(c, 2, want, m * n, len, blocks, nblocks, out, eta, NULL, rep, why);
    } else if (c->info.scheme == GP_SCHEME_MDS) {
        double F[GP_MAX_SPLIT * GP_MAX_SPLIT] = {0};
        for (int j = 0; j < n; j++) F[j * n + j] = 1.0;
        group g = {c->qc, c->Pc, c->Gc, 1, false};
        e = GP_OK;
        for (int i = 0; i < m; i++) {
            int member[GP_MAX_NODES];
            for (int t = 0; t < c->Pc; t++) member[t] = c->node_at[i][t];
            gp_decode_report gr;
            gp_err ei =
                group_run(&g, member, blocks, nblocks, -1, len, n, F, out + i * n, eta, &gr, why);
            merge_report(rep, &gr, i == 0);
            if (err_rank(ei) > err_rank(e)) e = ei;
        }
    } else {
        double ones[GP_MAX_NODES], one = 1.0;
        for (int i = 0; i < c->r; i++) ones[i] = 1.0;
        group g = {1, c->r, ones, -1, c->r == 1};
        e = GP_OK;
        for (int b = 0; b < c->k; b++) {
            int member[GP_MAX_NODES];
            for (int t = 0; t < c->r; t++) member[t] = t * c->k + b;
            gp_decode_report gr;
            gp_err eb =
                group_run(&g, member, blocks, nblocks, -1, len, 1, &one, out + b, eta, &gr, why);
            merge_report(rep, &gr, b == 0);
            if (err_rank(eb) > err_rank(e)) e = eb;
        }
        if (e == GP_EUNVERIFIED && c->info.scheme == GP_SCHEME_UNCODED) e = GP_OK;
    }
    if (e == GP_OK || e == GP_EUNVERIFIED)
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) place_block(w, i, j, br, bc, out[i * n + j]);
    gp_free_doubles(buf);
    return rep->status = e;
}
