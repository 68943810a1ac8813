/* decode.c - error-correcting decoder for real linear codes (see gp_decode.h).
 *
 * Cheapest first:
 *  1. Fast path: pick a well-conditioned base S of K responders, evaluate the
 *     wanted functionals from S and check every other responder against S, in
 *     one pass over the data (gp_combine). Done when all agree.
 *  2. If S agrees with at least one other output (which cannot happen by
 *     chance when S holds an error), the disagreeing ones are the wrong ones.
 *  3. Otherwise locate on projections: every output is projected on two fixed
 *     pseudo-random vectors, and bases are tried until one is consistent with
 *     K + 1 or more outputs; the support is then cleaned from well-spread
 *     bases and the result recomputed and re-checked on the full vectors.
 * When more than t outputs disagree with the codeword found, a search on the
 * projections looks for a second codeword agreeing with P' - s or more
 * outputs (for polynomial codes by divided differences over (K+1)-subsets,
 * otherwise by bases); one confirmed on the full vectors wins if it lies
 * within t, else the decode reports "detected, not correctable". Every choice
 * depends only on the inputs, in a fixed order, so every node decodes
 * identically.
 */
#include "gp_decode.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gp_dla.h"
#include "gp_kernel.h"
#include "gp_rng.h"

#define UROUND (DBL_EPSILON / 2)
#define MAXN   GP_MAX_NODES

typedef struct ctx {
    const gp_decode_req *rq;
    const double *pts; /* points of a polynomial code, by node id; NULL otherwise */
    int n, K;
    int node[MAXN];        /* node id at sorted position i */
    const double *y[MAXN]; /* output at position i */
    double ninf[MAXN];     /* max |y| or a bound on it, +Inf when not finite */
    bool nexact[MAXN];     /* ninf is max |y| itself */
    bool projected;
    double pz[2][MAXN]; /* projections */
    double g1[2];       /* sum |g| of each projection vector */
    double eta_proj;    /* extra relative noise of a projection: its own rounding */
} ctx;

static inline int pop(uint64_t x)
{
    return __builtin_popcountll(x);
}

static inline const double *grow(const ctx *c, int pos)
{
    return c->rq->code->G + (size_t)c->node[pos] * c->K;
}

static uint64_t pos_to_nodes(const ctx *c, uint64_t pos_mask)
{
    uint64_t m = 0;
    for (int i = 0; i < c->n; i++)
        if (pos_mask >> i & 1) m |= 1ull << c->node[i];
    return m;
}

static uint64_t base_mask(const int *base, int K)
{
    uint64_t m = 0;
    for (int k = 0; k < K; k++) m |= 1ull << base[k];
    return m;
}

double gp_decode_bound(double kappa, int K)
{
    return kappa * (2.0 * K + 2.0) * UROUND;
}

void gp_decode_policy_ts(gp_policy policy, int n, int K, int *t, int *s)
{
    int r = n - K, tt, ss;
    if (r <= 0) {
        tt = ss = 0;
    } else if (r == 1) {
        tt = 0;
        ss = 1;
    } else if (policy == GP_POLICY_CORRECT) {
        tt = r / 2;
        ss = r - tt;
    } else if (policy == GP_POLICY_DETECT) {
        ss = r - 1;
        tt = 1;
    } else {
        ss = r / 2 + 1 < r - 1 ? r / 2 + 1 : r - 1;
        tt = r - ss;
    }
    *t = tt;
    *s = ss;
}

/* ---- interpolation weights ------------------------------------------------------------ */

typedef struct basefac {
    int K;
    const int *base;          /* positions */
    const double *rows[MAXN]; /* G rows of the base */
    bool have_lu;
    double lu[MAXN * MAXN]; /* LU of A = G_B^T (general codes, or functionals) */
    int piv[MAXN];
    double kinf; /* kappa_inf(A), when have_lu */
} basefac;

static bool base_lu(basefac *f)
{
    int K = f->K;
    double anorm = 0;
    for (int i = 0; i < K; i++) {
        double s = 0;
        for (int j = 0; j < K; j++) {
            f->lu[i * K + j] = f->rows[j][i];
            s += fabs(f->rows[j][i]);
        }
        anorm = fmax(anorm, s);
    }
    if (gp_lu_factor(K, f->lu, K, f->piv) != 0) return false;
    double rowsum[MAXN] = {0}, col[MAXN]; /* ||A^{-1}||_inf from the explicit inverse */
    for (int j = 0; j < K; j++) {
        memset(col, 0, sizeof(double) * K);
        col[j] = 1;
        gp_lu_solve(K, f->lu, K, f->piv, col);
        for (int i = 0; i < K; i++) rowsum[i] += fabs(col[i]);
    }
    double inorm = 0;
    for (int i = 0; i < K; i++) inorm = fmax(inorm, rowsum[i]);
    f->kinf = anorm * inorm;
    f->have_lu = isfinite(f->kinf);
    return f->have_lu;
}

/* Prepares base B. Polynomial codes need no factorisation for checks. */
static bool base_factor(const ctx *c, const int *base, basefac *f)
{
    f->K = c->K;
    f->base = base;
    f->have_lu = false;
    for (int j = 0; j < c->K; j++) f->rows[j] = grow(c, base[j]);
    if (c->pts) {
        for (int j = 0; j < c->K; j++)
            for (int k = j + 1; k < c->K; k++)
                if (c->pts[c->node[base[j]]] == c->pts[c->node[base[k]]]) return false;
        return true;
    }
    return base_lu(f);
}

/* d = x G_B^{-1} (solves G_B^T d = x) by LU. Returns false if the residual
 * shows the solve cannot be trusted: a normwise backward error far beyond
 * what a stable LU solve produces (a guard against breakdown). */
static bool lu_weights(const basefac *f, const double *x, double *d)
{
    int K = f->K;
    memcpy(d, x, sizeof(double) * K);
    gp_lu_solve(K, f->lu, K, f->piv, d);
    double dn = 0, gmax = 0;
    for (int k = 0; k < K; k++) {
        dn += fabs(d[k]);
        for (int j = 0; j < K; j++) gmax = fmax(gmax, fabs(f->rows[k][j]));
    }
    if (!isfinite(dn)) return false;
    for (int j = 0; j < K; j++) {
        double s = 0;
        for (int k = 0; k < K; k++) s += d[k] * f->rows[k][j];
        if (!(fabs(s - x[j]) <= 64.0 * K * UROUND * (dn * gmax + fabs(x[j])))) return false;
    }
    return true;
}

/* Weights that interpolate position q from base B. Polynomial codes use the
 * Lagrange formula, accurate to 2K u relative per weight however ill
 * conditioned the base; general codes solve with the LU. */
static bool check_weights(const ctx *c, const basefac *f, int q, double *lam)
{
    if (c->pts) {
        double xq = c->pts[c->node[q]], xb[MAXN];
        for (int k = 0; k < c->K; k++) xb[k] = c->pts[c->node[f->base[k]]];
        for (int k = 0; k < c->K; k++) {
            double l = 1.0;
            for (int j = 0; j < c->K; j++)
                if (j != k) l *= (xq - xb[j]) / (xb[k] - xb[j]);
            lam[k] = l;
        }
        return true;
    }
    return lu_weights(f, grow(c, q), lam);
}

/* Noise level for checks against this base: the outputs' own, plus the
 * rounding of the interpolation weights. */
static double check_eta(const ctx *c, const basefac *f)
{
    if (c->pts) return c->rq->eta + 4.0 * c->K * UROUND;
    return c->rq->eta + 8.0 * c->K * UROUND * f->kinf;
}

/* kappa_2 of the base rows, remembered per thread for the last few bases:
 * decodes repeat the same base (usually every node answers). */
static double base_kappa(const ctx *c, const int *base)
{
    static _Thread_local struct {
        uint64_t key;
        double kappa;
    } memo[8];
    static _Thread_local int next;
    int K = c->K;
    uint64_t nodes = 0, key = 0x9E3779B97F4A7C15ull + (uint64_t)K;
    for (int k = 0; k < K; k++) nodes |= 1ull << c->node[base[k]];
    double gb[MAXN * MAXN];
    for (int i = 0, k = 0; i < c->rq->code->P;
         i++) /* rows in node order: kappa does not depend on it */
        if (nodes >> i & 1)
            memcpy(gb + (k++) * K, c->rq->code->G + (size_t)i * K, sizeof(double) * K);
    for (int i = 0; i < K * K; i++) { /* keyed by the rows' bits, not by where they live */
        uint64_t b;
        memcpy(&b, gb + i, sizeof b);
        key = gp_mix64(key ^ b);
    }
    for (int i = 0; i < 8; i++)
        if (memo[i].key == key && memo[i].kappa > 0) return memo[i].kappa;
    double kappa = gp_cond2(K, K, gb, K);
    memo[next].key = key;
    memo[next].kappa = kappa;
    next = (next + 1) % 8;
    return kappa;
}

/* ---- remembered plans -------------------------------------------------------------------- */

/* Decodes repeat: the same nodes answer step after step, so the same base is
 * chosen and the same weights are solved for. Both are remembered per thread
 * for the last few cases, keyed by everything they are computed from (node
 * ids, their generator rows and points, the functionals, eta), compared bit
 * for bit, so a remembered plan is exactly the one that would be computed.
 * Cases too large for an entry are computed every time. */
#define MEMO_KEY 256 /* doubles: P = 8 with K = 6 takes about 100 */
#define MEMO_VAL 160
#define MEMO_N   4

typedef struct memo {
    struct {
        int nkey, nval;
        double key[MEMO_KEY], val[MEMO_VAL];
    } e[MEMO_N];
    int next;
} memo;

static _Thread_local memo base_memo, weight_memo;

typedef struct keybuf {
    int n; /* -1 once it no longer fits */
    double v[MEMO_KEY];
} keybuf;

static void key_put(keybuf *k, const double *v, int n)
{
    if (k->n < 0 || n > MEMO_KEY - k->n) {
        k->n = -1;
        return;
    }
    memcpy(k->v + k->n, v, sizeof(double) * (size_t)n);
    k->n += n;
}

static void key_int(keybuf *k, int v)
{
    double d = v;
    key_put(k, &d, 1);
}

/* The code's facts about node `node`: its generator row and point. */
static void key_node(keybuf *k, const ctx *c, int node)
{
    key_int(k, node);
    key_put(k, c->rq->code->G + (size_t)node * c->K, c->K);
    if (c->pts) key_put(k, c->pts + node, 1);
}

static const double *memo_get(const memo *m, const keybuf *k, int nval)
{
    if (k->n < 0) return NULL;
    for (int i = 0; i < MEMO_N; i++)
        if (m->e[i].nkey == k->n && m->e[i].nval == nval &&
            memcmp(m->e[i].key, k->v, sizeof(double) * (size_t)k->n) == 0)
            return m->e[i].val;
    return NULL;
}

static void memo_put(memo *m, const keybuf *k, const double *val, int nval)
{
    if (k->n <= 0 || nval > MEMO_VAL) return;
    int i = m->next;
    m->next = (i + 1) % MEMO_N;
    m->e[i].nkey = k->n;
    m->e[i].nval = nval;
    memcpy(m->e[i].key, k->v, sizeof(double) * (size_t)k->n);
    memcpy(m->e[i].val, val, sizeof(double) * (size_t)nval);
}

/* ---- one full pass: outputs from base B, every other responder checked ------------------ */

typedef struct pass {
    uint64_t agree; /* positions consistent with the base (the base included) */
    bool base_finite;
    double kappa;     /* kappa_2 of the base */
    double res[MAXN]; /* largest residual of each position (0 for the base) */
    double tol[MAXN]; /* its tolerance */
} pass;

static gp_err full_pass(ctx *c, const int *base, bool write_out, pass *ps, gp_msg *why)
{
    const gp_decode_req *rq = c->rq;
    int K = c->K, n = c->n, nchk = 0, chk[MAXN];
    uint64_t inbase = base_mask(base, K);
    for (int i = 0; i < n; i++)
        if (!(inbase >> i & 1)) chk[nchk++] = i;

    basefac *f = NULL;
    int nout = write_out ? rq->nfun : 0, nw = (nout + nchk) * K;
    double *D = malloc(sizeof(double) * (size_t)(nw + 1)), eta;
    gp_err err = GP_OK;
    if (!D) return GP_ENOMEM;
    keybuf key;
    key.n = 0;
    key_int(&key, K);
    key_int(&key, c->pts != NULL);
    key_int(&key, nout);
    key_put(&key, &rq->eta, 1);
    for (int k = 0; k < K; k++) key_node(&key, c, c->node[base[k]]);
    for (int r = 0; r < nchk; r++) key_node(&key, c, c->node[chk[r]]);
    if (nout > 0) key_put(&key, rq->F, nout * K);
    const double *known = memo_get(&weight_memo, &key, nw + 1);
    if (known) {
        memcpy(D, known, sizeof(double) * (size_t)(nw + 1));
    } else {
        if (!(f = malloc(sizeof *f))) {
            err = GP_ENOMEM;
            goto out;
        }
        if (!base_factor(c, base, f) || ((nout > 0 || !c->pts) && !f->have_lu && !base_lu(f))) {
            err = gp_fail(why, GP_ENUMERIC, "decoding base is numerically singular");
            goto out;
        }
        for (int r = 0; r < nout; r++)
            if (!lu_weights(f, rq->F + (size_t)r * K, D + (size_t)r * K)) {
                err = gp_fail(why, GP_ENUMERIC, "decoding weights failed their residual check");
                goto out;
            }
        for (int r = 0; r < nchk; r++)
            if (!check_weights(c, f, chk[r], D + (size_t)(nout + r) * K)) {
                err = gp_fail(why, GP_ENUMERIC, "checking weights failed their residual check");
                goto out;
            }
        D[nw] = check_eta(c, f);
        memo_put(&weight_memo, &key, D, nw + 1);
    }
    eta = D[nw];

    const double *ys[MAXN], *zs[MAXN];
    double res[MAXN], yn[MAXN], zn[MAXN];
    for (int k = 0; k < K; k++) ys[k] = c->y[base[k]];
    for (int r = 0; r < nchk; r++) zs[r] = c->y[chk[r]];
    gp_combine(K, ys, rq->len, nout, D, rq->out, nchk, D + (size_t)nout * K, zs, res, yn, zn);

    ps->base_finite = true;
    for (int k = 0; k < K; k++) {
        c->ninf[base[k]] = yn[k];
        c->nexact[base[k]] = true;
        if (isinf(yn[k])) ps->base_finite = false;
    }
    for (int r = 0; r < nchk; r++) /* the kernel bounds the others' norms */
        if (!c->nexact[chk[r]]) c->ninf[chk[r]] = zn[r];
    memset(ps->res, 0, sizeof ps->res);
    memset(ps->tol, 0, sizeof ps->tol);
    for (int r = 0; r < nchk; r++) ps->res[chk[r]] = res[r];
    ps->agree = inbase;
    if (ps->base_finite)
        for (int r = 0; r < nchk; r++) {
            const double *d = D + (size_t)(nout + r) * K;
            double s = c->ninf[chk[r]];
            for (int k = 0; k < K; k++) s += fabs(d[k]) * yn[k];
            double tol = eta * s;
            ps->tol[chk[r]] = tol;
            if (res[r] <= tol && isfinite(tol)) ps->agree |= 1ull << chk[r];
        }
    ps->kappa = write_out ? base_kappa(c, base) : 0; /* for the report; checks do not need it */
out:
    free(f);
    free(D);
    return err;
}

/* ---- projections ------------------------------------------------------------------------ */

/* Entry l of projection vector j: +-[1, 2), from a hash of (l, j). */
static inline double gvec(size_t l, int j)
{
    uint64_t h = gp_mix64((uint64_t)l * 2 + (uint64_t)j + 0x5DEECE66Dull);
    double v = 1.0 + (double)(h >> 12) * 0x1.0p-52;
    return (h >> 63) ? -v : v;
}

/* The two projection vectors for outputs of `len` entries, made once per
 * thread for the longest outputs seen: g[0..len) and g[cap..cap+len). A
 * thread-specific key frees them when the thread ends (worker threads of a
 * daemon come and go). */
static _Thread_local double *proj_g;
static _Thread_local size_t proj_cap;
static pthread_key_t proj_key;
static pthread_once_t proj_once = PTHREAD_ONCE_INIT;

static void proj_key_make(void)
{
    pthread_key_create(&proj_key, free);
}

static bool proj_vectors(size_t len)
{
    if (len <= proj_cap) return true;
    double *g = malloc(sizeof(double) * 2 * len);
    if (!g) return false;
    for (size_t l = 0; l < len; l++) {
        g[l] = gvec(l, 0);
        g[len + l] = gvec(l, 1);
    }
    pthread_once(&proj_once, proj_key_make);
    free(proj_g);
    proj_g = g;
    proj_cap = len;
    pthread_setspecific(proj_key, g);
    return true;
}

/* Projects every finite output (proj_vectors(len) must have succeeded). */
static void project(ctx *c)
{
    if (c->projected) return;
    size_t len = c->rq->len;
    const double *g0 = proj_g, *g1 = proj_g + proj_cap;
    double s0 = 0, s1 = 0;
    for (size_t l = 0; l < len; l++) {
        s0 += fabs(g0[l]);
        s1 += fabs(g1[l]);
    }
    c->g1[0] = s0;
    c->g1[1] = s1;
    for (int i = 0; i < c->n; i++)
        if (isfinite(c->ninf[i])) gp_project2(c->y[i], len, g0, g1, &c->pz[0][i], &c->pz[1][i]);
    /* A projected deviation of a consistent output is at most g1 times its
     * full-vector bound; the projection sums add their own rounding. */
    c->eta_proj = 1.01 * (double)(len + 2 * c->K + 4) * UROUND;
    c->projected = true;
}

/* Is position q consistent with base B on both projections? */
static bool proj_agrees(const ctx *c, const basefac *f, int q)
{
    int K = c->K;
    double lam[MAXN];
    if (!check_weights(c, f, q, lam)) return false;
    double s = c->ninf[q];
    for (int k = 0; k < K; k++) s += fabs(lam[k]) * c->ninf[f->base[k]];
    double eta = check_eta(c, f) + c->eta_proj;
    for (int j = 0; j < 2; j++) {
        double pred = lam[0] * c->pz[j][f->base[0]];
        for (int k = 1; k < K; k++) pred = pred + lam[k] * c->pz[j][f->base[k]];
        if (!(fabs(c->pz[j][q] - pred) <= eta * c->g1[j] * s)) return false;
    }
    return true;
}

/* Support of the codeword through base B on the projections: B plus every
 * available position that agrees with it. 0 if the base is singular. */
static uint64_t support_of(const ctx *c, const int *base, uint64_t avail)
{
    basefac f;
    if (!base_factor(c, base, &f)) return 0;
    uint64_t sup = base_mask(base, c->K);
    for (int q = 0; q < c->n; q++)
        if ((avail >> q & 1) && !(sup >> q & 1) && proj_agrees(c, &f, q)) sup |= 1ull << q;
    return sup;
}

static void select_base(const ctx *c, uint64_t from, int *base)
{
    int cand[MAXN], nc = 0, sel[MAXN], posof[MAXN];
    for (int i = 0; i < c->n; i++)
        if (from >> i & 1) {
            posof[nc] = i;
            cand[nc++] = c->node[i];
        }
    keybuf key;
    key.n = 0;
    key_int(&key, c->K);
    for (int i = 0; i < nc; i++) key_node(&key, c, cand[i]);
    const double *known = memo_get(&base_memo, &key, c->K + 1);
    int got;
    if (known) {
        got = (int)known[0];
        for (int k = 0; k < got; k++) sel[k] = (int)known[1 + k];
    } else {
        got = gp_select_rows(c->K, c->rq->code->G, c->K, cand, nc, sel);
        double v[MAXN + 1] = {got};
        for (int k = 0; k < got; k++) v[1 + k] = sel[k];
        memo_put(&base_memo, &key, v, c->K + 1);
    }
    for (int k = 0, j = 0; k < got; k++) {
        while (cand[j] != sel[k]) j++;
        base[k] = posof[j];
    }
    for (int k = got; k < c->K; k++)
        base[k] = base[got > 0 ? got - 1 : 0]; /* singular: caught later */
}

/* Cleans a support estimate: the support from a well-spread base of it, or
 * from the bases that leave out one member of that base (in case it was a
 * wrong output with a small error), whichever is largest; until stable. */
static uint64_t refine(const ctx *c, uint64_t sup, uint64_t avail)
{
    int K = c->K, base[MAXN], alt[MAXN];
    for (int round = 0; round <= K; round++) {
        select_base(c, sup, base);
        uint64_t best = support_of(c, base, avail);
        if (best == sup) return sup; /* self-consistent: a codeword's support */
        for (int k = 0; k < K; k++) {
            uint64_t s = sup & ~(1ull << base[k]);
            if (pop(s) < K) continue;
            select_base(c, s, alt);
            uint64_t cand = support_of(c, alt, avail);
            if (pop(cand) > pop(best)) best = cand;
        }
        if (best == sup || pop(best) < K + 1) return pop(best) >= pop(sup) ? best : sup;
        sup = best;
    }
    return sup;
}

/* Full-vector agreement of the codeword through a well-conditioned base of
 * `sup`: the available positions consistent with it. */
static uint64_t confirm(ctx *c, uint64_t sup, uint64_t avail)
{
    int base[MAXN];
    pass ps;
    select_base(c, sup, base);
    if (full_pass(c, base, false, &ps, NULL) != GP_OK || !ps.base_finite) return 0;
    return ps.agree & avail;
}

/* ---- searches ---------------------------------------------------------------------------- */

/* Search state: (K+1)-sets with at least `need` members in `bad` that are
 * consistent on the projections. A candidate's cleaned support, confirmed on
 * full vectors, qualifies with min_support members or more, at least
 * `need_bad` of them in `bad`. A qualifying codeword within `within` of all
 * outputs ends the search (it is the only one); otherwise the first
 * qualifying one is kept and the search goes on in case such a codeword
 * exists. */
typedef struct search {
    ctx *c;
    uint64_t avail, bad;
    int need, need_bad, min_support, within;
    const int *order; /* visit order of the available positions, or NULL */
    uint64_t hit, first;
    uint64_t seen[16]; /* supports already confirmed: their subsets add nothing */
    int nseen;
} search;

static bool on_candidate(search *s, uint64_t qmask)
{
    ctx *c = s->c;
    for (int i = 0; i < s->nseen; i++)
        if ((qmask & ~s->seen[i]) == 0) return false;
    uint64_t sup = refine(c, qmask, s->avail);
    uint64_t conf = pop(sup) >= s->min_support ? confirm(c, sup, s->avail) : 0;
    if (s->nseen < 16) s->seen[s->nseen++] = conf | qmask;
    if (pop(conf) < s->min_support || pop(conf & s->bad) < s->need_bad) return false;
    if (c->n - pop(conf) <= s->within) {
        s->hit = conf;
        return true;
    }
    if (!s->first) s->first = conf;
    return false;
}

/* Polynomial codes: depth first over (K+1)-subsets in lexicographic order,
 * carrying the divided-difference weights w_i = 1 / prod_{j != i} (x_i - x_j).
 * A set is consistent when |sum w_i z_i| <= eta' g1 sum |w_i| |y_i|_inf on both
 * projections; the weights are accurate to (K+1) u relative, so eta' only
 * adds 4 (K+2) u to the output and projection noise. */
typedef struct dd {
    search *s;
    int m, K1;
    int pos[MAXN];
    uint8_t isbad[MAXN];
    int badafter[MAXN + 1];              /* bad candidates at index >= v */
    double z0[MAXN], z1[MAXN], nf[MAXN]; /* projections and norms by candidate index */
    double inv[MAXN][MAXN];
    double w[MAXN + 2][MAXN + 1]; /* w[d][i]: weights of the first d chosen */
    int sel[MAXN + 1];
    double tol0, tol1; /* eta' g1 for each projection */
    int lim;           /* candidates are taken from [0, lim) */
} dd;

/* The last level: with K members chosen (weights w over them), every
 * completion v at once. Adding v divides member i's weight by (x_i - x_v),
 * that is multiplies it by inv[i][v], and gives v the weight
 * prod_i inv[v][i] = prod_i -inv[i][v]: contiguous rows, so the loops over v
 * vectorise. */
static bool dd_last(dd *t, int depth, int start, int nbad)
{
    int m = t->lim;
    double s0[MAXN], s1[MAXN], sc[MAXN], wv[MAXN];
    for (int v = start; v < m; v++) {
        s0[v] = s1[v] = sc[v] = 0;
        wv[v] = 1.0;
    }
    const double *w = t->w[depth];
    for (int i = 0; i < depth; i++) {
        int u = t->sel[i];
        const double *row = t->inv[u];
        double a0 = w[i] * t->z0[u], a1 = w[i] * t->z1[u], an = fabs(w[i]) * t->nf[u];
        for (int v = start; v < m; v++) {
            s0[v] += a0 * row[v];
            s1[v] += a1 * row[v];
            sc[v] += an * fabs(row[v]);
            wv[v] *= -row[v];
        }
    }
    for (int v = start; v < m; v++) {
        if (nbad + t->isbad[v] < t->s->need) continue;
        double a = s0[v] + wv[v] * t->z0[v], b = s1[v] + wv[v] * t->z1[v];
        double scale = sc[v] + fabs(wv[v]) * t->nf[v];
        if (!(fabs(a) <= t->tol0 * scale) || !(fabs(b) <= t->tol1 * scale)) continue;
        uint64_t q = 1ull << t->pos[v];
        for (int i = 0; i < depth; i++) q |= 1ull << t->pos[t->sel[i]];
        if (on_candidate(t->s, q)) return true;
    }
    return false;
}

static bool dd_rec(dd *t, int depth, int start, int nbad)
{
    int left = t->K1 - depth;
    if (left == 1) return dd_last(t, depth, start, nbad);
    const double *pw = t->w[depth];
    double *nw = t->w[depth + 1];
    for (int v = start; v <= t->lim - left; v++) {
        int reach = t->badafter[v] < left ? t->badafter[v] : left;
        if (nbad + reach < t->s->need) return false; /* later v can only do worse */
        double wv = 1.0;
        for (int i = 0; i < depth; i++) {
            nw[i] = pw[i] * t->inv[t->sel[i]][v];
            wv *= t->inv[v][t->sel[i]];
        }
        nw[depth] = wv;
        t->sel[depth] = v;
        if (dd_rec(t, depth + 1, v + 1, nbad + t->isbad[v])) return true;
    }
    return false;
}

static bool dd_search(search *s)
{
    ctx *c = s->c;
    dd *t = malloc(sizeof *t);
    if (!t) return false;
    t->s = s;
    t->m = 0;
    t->K1 = c->K + 1;
    for (int k = 0; k < c->n; k++) {
        int i = s->order ? s->order[k] : k;
        if (s->order && k >= pop(s->avail)) break;
        if (s->avail >> i & 1) {
            t->isbad[t->m] = (uint8_t)(s->bad >> i & 1);
            t->z0[t->m] = c->pz[0][i];
            t->z1[t->m] = c->pz[1][i];
            t->nf[t->m] = c->ninf[i];
            t->pos[t->m++] = i;
        }
    }
    t->badafter[t->m] = 0;
    for (int v = t->m - 1; v >= 0; v--) t->badafter[v] = t->badafter[v + 1] + t->isbad[v];
    for (int i = 0; i < t->m; i++)
        for (int j = 0; j < t->m; j++)
            t->inv[i][j] =
                i == j ? 0 : 1.0 / (c->pts[c->node[t->pos[i]]] - c->pts[c->node[t->pos[j]]]);
    double eta = c->rq->eta + c->eta_proj + 4.0 * (c->K + 2) * UROUND;
    t->tol0 = eta * c->g1[0];
    t->tol1 = eta * c->g1[1];
    bool found = false;
    if (t->m >= t->K1 && s->order) {
        /* Most trusted first: sets in order of their least trusted member
         * (colexicographic), so a consistent set among the first few is found
         * after few others. */
        t->w[1][0] = 1.0;
        for (int M = t->K1 - 1; M < t->m && !found; M++) {
            t->sel[0] = M;
            t->lim = M;
            found = dd_rec(t, 1, 0, t->isbad[M]);
        }
    } else if (t->m >= t->K1) {
        t->lim = t->m;
        found = dd_rec(t, 0, 0, 0);
    }
    free(t);
    return found;
}

/* General codes: every base B, then every larger q, as the set B + {q}. */
static bool base_search(search *s)
{
    ctx *c = s->c;
    int K = c->K, pos[MAXN], m = 0, idx[MAXN], base[MAXN];
    for (int i = 0; i < c->n; i++)
        if (s->avail >> i & 1) pos[m++] = i;
    if (m < K + 1) return false;
    basefac *f = malloc(sizeof *f);
    if (!f) return false;
    for (int k = 0; k < K; k++) idx[k] = k;
    bool found = false;
    do {
        int nb = 0;
        for (int k = 0; k < K; k++) {
            base[k] = pos[idx[k]];
            nb += (int)(s->bad >> base[k] & 1);
        }
        if (nb + 1 < s->need || !base_factor(c, base, f)) continue;
        for (int t = idx[K - 1] + 1; t < m && !found; t++) {
            int q = pos[t];
            if (nb + (int)(s->bad >> q & 1) < s->need) continue;
            if (proj_agrees(c, f, q)) found = on_candidate(s, base_mask(base, K) | 1ull << q);
        }
    } while (!found && gp_next_subset(idx, K, m));
    free(f);
    return found;
}

static uint64_t run_search(ctx *c, uint64_t avail, uint64_t bad, int need, int need_bad,
                           int min_support, int within, const int *order)
{
    project(c);
    search s = {.c = c,
                .avail = avail,
                .bad = bad,
                .need = need,
                .need_bad = need_bad,
                .min_support = min_support,
                .within = within,
                .order = order};
    bool found = c->pts ? dd_search(&s) : base_search(&s);
    return found ? s.hit : s.first;
}

/* Syndrome locator (the subspace decoder of the design notes). H is an
 * orthonormal basis of the left null space of the available rows of G
 * (H G_a = 0), so S = H Y = H E, and output i is wrong iff h_i, column i of
 * H, lies in the column space of S: exactly so when the error vectors are
 * independent, which needs as many columns as errors. Y is min(len, m - K)
 * fixed projections of the outputs. Scores each available output by the
 * relative distance of h_i from that space (near 0: suspect) and returns the
 * suspects. A proposal only: the caller checks what it suggests. */
static uint64_t locate(ctx *c, uint64_t avail, double *score)
{
    int K = c->K, pos[MAXN], m = 0;
    for (int i = 0; i < c->n; i++)
        if (avail >> i & 1) pos[m++] = i;
    for (int i = 0; i < c->n; i++) score[i] = 1.0;
    int r = m - K;
    size_t len = c->rq->len;
    if (r < 2) return 0;
    /* Householder QR of G_a (m x K); Q built explicitly, H = Q[:, K:]^T. */
    static const int N = MAXN;
    double(*A)[MAXN] = malloc(sizeof(double[MAXN][MAXN]) * 4);
    if (!A) return 0;
    double(*Q)[MAXN] = A + N, (*Yp)[MAXN] = A + 2 * N, (*S)[MAXN] = A + 3 * N;
    double vk[MAXN][MAXN], beta[MAXN];
    for (int i = 0; i < m; i++) memcpy(A[i], grow(c, pos[i]), sizeof(double) * K);
    for (int k = 0; k < K; k++) {
        double nrm = 0;
        for (int i = k; i < m; i++) nrm += A[i][k] * A[i][k];
        nrm = sqrt(nrm);
        double alpha = A[k][k] > 0 ? -nrm : nrm, vn = 0;
        for (int i = 0; i < m; i++) vk[k][i] = i < k ? 0 : A[i][k];
        vk[k][k] -= alpha;
        for (int i = k; i < m; i++) vn += vk[k][i] * vk[k][i];
        beta[k] = vn > 0 ? 2.0 / vn : 0;
        for (int j = k; j < K; j++) {
            double d = 0;
            for (int i = k; i < m; i++) d += vk[k][i] * A[i][j];
            for (int i = k; i < m; i++) A[i][j] -= beta[k] * d * vk[k][i];
        }
    }
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++) Q[i][j] = i == j;
    for (int k = K - 1; k >= 0; k--)
        for (int j = 0; j < m; j++) {
            double d = 0;
            for (int i = k; i < m; i++) d += vk[k][i] * Q[i][j];
            for (int i = k; i < m; i++) Q[i][j] -= beta[k] * d * vk[k][i];
        }
    /* projections Yp (m x L) and S = H Yp (r x L) */
    int L = len < (size_t)r ? (int)len : r;
    double gn[MAXN], tol[MAXN], eta = c->rq->eta + c->eta_proj + 4.0 * (m + 2) * UROUND, nsq = 0;
    for (int i = 0; i < m; i++) nsq += c->ninf[pos[i]] * c->ninf[pos[i]];
    for (int l = 0; l < L; l++) {
        gn[l] = (double)len;
        if (len != (size_t)L) {
            double g = 0;
            for (size_t t = 0; t < len; t++) g += fabs(gvec(t, 2 + l));
            gn[l] = g;
        }
        for (int i = 0; i < m; i++) {
            const double *y = c->y[pos[i]];
            if (len == (size_t)L) {
                Yp[i][l] = y[l];
                continue;
            }
            double acc = 0;
            for (size_t t = 0; t < len; t++) acc += gvec(t, 2 + l) * y[t];
            Yp[i][l] = acc;
        }
        /* ||H noise||_2 <= ||noise||_2 since H has orthonormal rows */
        tol[l] = 4.0 * eta * gn[l] * sqrt(nsq) / (len == (size_t)L ? (double)len : 1.0);
        for (int j = 0; j < r; j++) {
            double acc = 0;
            for (int i = 0; i < m; i++) acc += Q[i][K + j] * Yp[i][l];
            S[j][l] = acc;
        }
    }
    /* orthonormal basis of the significant column space: pivoted Gram-Schmidt */
    double B[MAXN][MAXN];
    int nb = 0;
    bool used[MAXN] = {false};
    while (nb < r - 1) {
        int best = -1;
        double bn = 1.0;
        for (int l = 0; l < L; l++) {
            if (used[l]) continue;
            double nrm = 0;
            for (int j = 0; j < r; j++) nrm += S[j][l] * S[j][l];
            double ratio = sqrt(nrm) / fmax(tol[l], DBL_MIN);
            if (ratio > bn) {
                bn = ratio;
                best = l;
            }
        }
        if (best < 0) break;
        used[best] = true;
        double nrm = 0;
        for (int j = 0; j < r; j++) nrm += S[j][best] * S[j][best];
        nrm = sqrt(nrm);
        for (int j = 0; j < r; j++) B[nb][j] = S[j][best] / nrm;
        for (int l = 0; l < L; l++) {
            if (used[l]) continue;
            for (int twice = 0; twice < 2; twice++) {
                double d = 0;
                for (int j = 0; j < r; j++) d += B[nb][j] * S[j][l];
                for (int j = 0; j < r; j++) S[j][l] -= d * B[nb][j];
            }
        }
        nb++;
    }
    uint64_t J = 0;
    for (int i = 0; nb > 0 && i < m; i++) {
        double h[MAXN], hn = 0;
        for (int j = 0; j < r; j++) {
            h[j] = Q[i][K + j];
            hn += h[j] * h[j];
        }
        for (int twice = 0; twice < 2; twice++)
            for (int b = 0; b < nb; b++) {
                double d = 0;
                for (int j = 0; j < r; j++) d += B[b][j] * h[j];
                for (int j = 0; j < r; j++) h[j] -= d * B[b][j];
            }
        double res = 0;
        for (int j = 0; j < r; j++) res += h[j] * h[j];
        score[pos[i]] = hn > 0 ? sqrt(res / hn) : 1.0;
        if (score[pos[i]] <= 1e-6) J |= 1ull << pos[i];
    }
    free(A);
    return J;
}

/* Support from bases drawn from `from`: a well-spread one, then a fixed
 * pseudo-random sample. 0 if none has K + 1 agreeing outputs. */
static uint64_t try_bases(ctx *c, uint64_t from, uint64_t avail, int tries)
{
    int K = c->K, pos[MAXN], m = 0, base[MAXN];
    for (int i = 0; i < c->n; i++)
        if (from >> i & 1) pos[m++] = i;
    if (m < K) return 0;
    select_base(c, from, base);
    uint64_t sup = support_of(c, base, avail);
    if (pop(sup) >= K + 1) return sup;
    gp_rng rng;
    gp_rng_seed(&rng, 0x6770646F74ull + (uint64_t)m * 131 + (uint64_t)K);
    for (int t = 0; t < tries; t++) {
        uint64_t pick = 0;
        while (pop(pick) < K) pick |= 1ull << gp_rng_below(&rng, (uint64_t)m);
        for (int i = 0, k = 0; i < m; i++)
            if (pick >> i & 1) base[k++] = pos[i];
        sup = support_of(c, base, avail);
        if (pop(sup) >= K + 1) return sup;
    }
    return 0;
}

/* A codeword consistent with K + 1 or more available outputs: interleaved
 * disjoint bases first (if fewer than floor(m/K) outputs are wrong one of them
 * is clean), then a fixed pseudo-random sample, then (polynomial codes) the
 * syndrome locator's proposal, then the exhaustive search. */
static uint64_t find_support(ctx *c, uint64_t avail)
{
    int K = c->K, pos[MAXN], m = 0, base[MAXN];
    project(c);
    for (int i = 0; i < c->n; i++)
        if (avail >> i & 1) pos[m++] = i;
    if (m < K + 1) return 0;
    int stride = m / K;
    for (int s = 0; s < stride; s++) {
        for (int k = 0; k < K; k++) base[k] = pos[s + k * stride];
        uint64_t sup = support_of(c, base, avail);
        if (pop(sup) >= K + 1) return refine(c, sup, avail);
    }
    uint64_t sup = try_bases(c, avail, avail, 32);
    if (sup) return refine(c, sup, avail);
    double score[MAXN];
    uint64_t J = locate(c, avail, score);
    if (J && pop(avail & ~J) >= K + 1 && (sup = try_bases(c, avail & ~J, avail, 32)) != 0)
        return refine(c, sup, avail);
    /* Exhaustive, visiting the outputs the locator trusts most first. */
    int order[MAXN];
    for (int i = 0; i < m; i++) {
        int j = i;
        while (j > 0 && score[pos[i]] > score[order[j - 1]]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = pos[i];
    }
    return run_search(c, avail, 0, 0, 0, K + 1, c->n, order);
}

/* ---- the decoder --------------------------------------------------------------------------- */

/* Of two passes, the one more outputs agree with; at equal agreement, the
 * one whose agreeing outputs fit more closely (sum of residual / tolerance):
 * a base with a small error leaves its mark on every residual. */
static bool better_pass(const pass *a, const pass *b, int n)
{
    if (pop(a->agree) != pop(b->agree)) return pop(a->agree) > pop(b->agree);
    double fa = 0, fb = 0;
    for (int q = 0; q < n; q++) {
        if ((a->agree >> q & 1) && a->tol[q] > 0) fa += a->res[q] / a->tol[q];
        if ((b->agree >> q & 1) && b->tol[q] > 0) fb += b->res[q] / b->tol[q];
    }
    return fa < fb;
}

/* When one member b of a pass's base is wrong (error vector e), every other
 * output's residual is L_b(q) e (plus its own error, if it has one), so the
 * largest entry is |L_b(q)| |e|_inf exactly, up to rounding within the
 * tolerance: the residuals of the checked outputs, agreeing or not, follow
 * b's interpolation weights, save for the outputs that are wrong themselves.
 * A base member whose weights explain all but at most `outliers` of them, on
 * two or more outputs, is the suspect (the best explaining one if several); a
 * non-finite base member is one outright. Returns its position, or -1. A proposal only: the caller
 * verifies it with a pass that leaves it out. */
static int wrong_base_member(const ctx *c, const int *base, const pass *ps, int outliers)
{
    int K = c->K;
    for (int k = 0; k < K; k++)
        if (!isfinite(c->ninf[base[k]])) return base[k];
    basefac f;
    if (!base_factor(c, base, &f)) return -1;
    uint64_t inbase = base_mask(base, K);
    double lam[MAXN][MAXN]; /* lam[q][k] */
    int qs[MAXN], nq = 0;
    for (int q = 0; q < c->n; q++) {
        if ((inbase >> q & 1) || !isfinite(c->ninf[q]) || !(ps->tol[q] > 0)) continue;
        if (!check_weights(c, &f, q, lam[q])) return -1;
        qs[nq++] = q;
    }
    int best = -1, best_bad = outliers + 1;
    double best_misfit = INFINITY;
    for (int k = 0; k < K; k++) {
        /* |e| from the median of res/|L| over the outputs where it shows */
        double r[MAXN];
        int nr = 0;
        for (int i = 0; i < nq; i++) {
            int q = qs[i];
            if (ps->res[q] > ps->tol[q] / 64 && fabs(lam[q][k]) > 0)
                r[nr++] = ps->res[q] / fabs(lam[q][k]);
        }
        if (nr == 0) continue;
        for (int i = 1; i < nr; i++) /* insertion sort, nr <= 64 */
            for (int j = i; j > 0 && r[j - 1] > r[j]; j--) {
                double t = r[j];
                r[j] = r[j - 1];
                r[j - 1] = t;
            }
        double e = r[(nr - 1) / 2], misfit = 0;
        int bad = 0, explained = 0;
        for (int i = 0; i < nq; i++) {
            int q = qs[i];
            double want = e * fabs(lam[q][k]);
            double m = fabs(ps->res[q] - want) / (ps->tol[q] + 0.01 * want);
            if (m > 1) {
                bad++;
            } else {
                if (m > misfit) misfit = m;
                explained += ps->res[q] > ps->tol[q] / 64;
            }
        }
        /* One residual is explained by any member; the pattern must show on
         * two or more (residuals far below the tolerance still count: the
         * tolerance is generous, actual rounding noise much smaller). */
        if (explained < 2) continue;
        if (bad < best_bad || (bad == best_bad && misfit < best_misfit)) {
            best_bad = bad;
            best_misfit = misfit;
            best = base[k];
        }
    }
    return best;
}

/* Largest number of (K+1)-sets the optional tie search may visit. */
#define TIE_BUDGET 5000.0

static double binom(int n, int k)
{
    if (k < 0 || k > n) return 0;
    double r = 1;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

/* (k)-subsets of m positions with at least `need` of the `nbad` bad ones. */
static double candidate_sets(int m, int nbad, int k, int need)
{
    double total = 0;
    for (int j = need; j <= k && j <= nbad; j++) total += binom(nbad, j) * binom(m - nbad, k - j);
    return total;
}

/* Outputs of D a second codeword with support `sup` must agree with. */
static int need_of(int sup, int K)
{
    return sup - (K - 1) > 2 ? sup - (K - 1) : 2;
}

static gp_err detected(gp_decode_report *rep, const ctx *c, uint64_t suspects, gp_msg *why,
                       const char *text)
{
    rep->wrong = pos_to_nodes(c, suspects);
    rep->nwrong = pop(suspects);
    return gp_fail(why, GP_EDETECTED, "%s: errors detected, not correctable", text);
}

gp_err gp_decode(const gp_decode_req *rq, gp_decode_report *rep, gp_msg *why)
{
    gp_decode_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    const gp_lincode *code = rq->code;
    if (!code || code->K < 1 || code->P < code->K || code->P > MAXN || !code->G)
        return rep->status = gp_fail(why, GP_EINVAL, "bad code description");
    if (rq->nresp < 0 || rq->nresp > code->P || rq->nfun < 0 ||
        (rq->nfun > 0 && (!rq->F || !rq->out)) || !(rq->eta > 0) ||
        (rq->nresp > 0 && (!rq->resp || !rq->y)))
        return rep->status = gp_fail(why, GP_EINVAL, "bad decode request");

    ctx *c = calloc(1, sizeof *c);
    if (!c) return rep->status = GP_ENOMEM;
    c->rq = rq;
    c->pts = code->points;
    c->K = code->K;
    uint64_t seen = 0;
    for (int i = 0; i < rq->nresp; i++) { /* sort by node id */
        int id = rq->resp[i];
        if (id < 0 || id >= code->P || (seen >> id & 1) || !rq->y[i]) {
            free(c);
            return rep->status = gp_fail(why, GP_EINVAL, "responder %d invalid or repeated", id);
        }
        seen |= 1ull << id;
        int j = c->n++;
        while (j > 0 && c->node[j - 1] > id) {
            c->node[j] = c->node[j - 1];
            c->y[j] = c->y[j - 1];
            j--;
        }
        c->node[j] = id;
        c->y[j] = rq->y[i];
    }
    int n = c->n, K = c->K;
    uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
    gp_err err = GP_OK;
    rep->spare = n - K;
    if (n < K) {
        free(c);
        return rep->status = gp_fail(why, GP_ENODES, "%d responders, %d needed", n, K);
    }
    int cap = n - K - 1, t, s;
    if (rq->max_errors >= 0 && rq->max_errors < cap) cap = rq->max_errors;
    gp_decode_policy_ts(rq->policy, n, K, &t, &s);
    if (t > cap) t = cap;
    int min_rival = n - s; /* a codeword with this much support could be the truth */

    /* 1. Fast path. */
    int base[MAXN];
    pass ps;
    select_base(c, all, base);
    if ((err = full_pass(c, base, true, &ps, why)) != GP_OK) goto out;
    rep->kappa = ps.kappa;
    if (ps.base_finite && ps.agree == all) {
        rep->used = pos_to_nodes(c, base_mask(base, K));
        rep->agreed = pos_to_nodes(c, all);
        rep->fast = true;
        rep->bound = gp_decode_bound(ps.kappa, K);
        if (n == K && !rq->allow_unverified)
            err = gp_fail(why, GP_EUNVERIFIED, "only %d = K outputs: not verified", n);
        goto out;
    }
    if (n == K) {
        err = detected(rep, c, all, why, "a non-finite output and no redundancy");
        goto out;
    }
    /* From here on tolerances use every output's own norm, not a bound. */
    for (int i = 0; i < n; i++)
        if (!c->nexact[i]) {
            c->ninf[i] = gp_maxabs(c->y[i], rq->len);
            c->nexact[i] = true;
        }
    uint64_t avail = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(c->ninf[i])) avail |= 1ull << i;
    if (!proj_vectors(rq->len)) {
        err = gp_fail(why, GP_ENOMEM, "no memory for the projection vectors");
        goto out;
    }

    /* 2./3. The support of the codeword. */
    uint64_t T = 0;
    if (ps.base_finite && pop(ps.agree) >= K + 1) T = ps.agree;
    if (n >= K + 2) {
        /* A wrong base member: the residuals follow its weights. Keep the
         * pass that leaves it out if that one agrees at least as widely. */
        int b = wrong_base_member(c, base, &ps, cap - 1 > 0 ? cap - 1 : 0);
        if (b >= 0) {
            int base2[MAXN];
            pass ps2;
            select_base(c, all & ~(1ull << b), base2);
            if ((err = full_pass(c, base2, true, &ps2, why)) != GP_OK) goto out;
            if (ps2.base_finite && pop(ps2.agree) >= K + 1 && !(ps2.agree >> b & 1) &&
                (!T || better_pass(&ps2, &ps, n))) {
                T = ps2.agree;
                ps = ps2;
                memcpy(base, base2, sizeof base);
            } else if (T) { /* keep the first pass's result: rewrite it */
                if ((err = full_pass(c, base, true, &ps, why)) != GP_OK) goto out;
            }
        }
    }
    if (!T) T = find_support(c, avail);
    bool fresh = ps.base_finite && T == ps.agree; /* ps is the full pass of a base in T */
    for (int iter = 0;; iter++) {
        if (pop(T) < K + 1) {
            err = detected(rep, c, all, why, "no K + 1 of the outputs agree");
            goto out;
        }
        uint64_t D = all & ~T;
        if (pop(D) > t) {
            /* Is there a second codeword that could be the truth (support
             * n - s or more)? And, where the search is affordable, one at
             * least as well supported as T (errors that are not independent
             * and continuous, such as the same bit flipped at the same place
             * in several outputs, can line up)? A second codeword shares at
             * most K - 1 outputs with T, so it brings need_bad of D. */
            int min_sup = min_rival < pop(T) ? min_rival : pop(T);
            if (min_sup < K + 1) min_sup = K + 1;
            if (min_sup < min_rival &&
                candidate_sets(pop(avail), pop(D & avail), K + 1, need_of(min_sup, K)) > TIE_BUDGET)
                min_sup = min_rival;
            int need_bad = need_of(min_sup, K);
            uint64_t R = pop(D & avail) >= need_bad
                             ? run_search(c, avail, D & avail, need_bad < K + 1 ? need_bad : K + 1,
                                          need_bad, min_sup, t, NULL)
                             : 0;
            if (R) {
                if (pop(R) > pop(T) &&
                    iter < n) { /* better supported: it wins, then is checked alike */
                    T = R;
                    fresh = false;
                    continue;
                }
                err = detected(rep, c, all, why,
                               "two different results each agree with enough outputs to be right");
                goto out;
            }
            if (pop(D) > cap) {
                err = detected(rep, c, D, why, "more outputs disagree than can be corrected");
                goto out;
            }
        }
        if (!fresh) { /* result from a well-conditioned base inside T, on full vectors */
            select_base(c, T, base);
            if ((err = full_pass(c, base, true, &ps, why)) != GP_OK) goto out;
        }
        uint64_t T2 = ps.base_finite ? ps.agree & avail : 0;
        if (T2 == T) break;
        if (iter >= 2 * n) {
            err = detected(rep, c, all, why, "decoding did not settle");
            goto out;
        }
        /* Far fewer agree than T promised: T (found on projections, which
         * see a single wrong entry far less sharply than full vectors) may
         * hold a wrong output with a small error, and the base took it. */
        if (pop(T2 & T) < pop(T) - (pop(T) - K) / 2) {
            int b = wrong_base_member(c, base, &ps, cap);
            if (b >= 0) {
                T &= ~(1ull << b);
                fresh = false;
                continue;
            }
        }
        T = T2;
        fresh = true;
    }
    rep->used = pos_to_nodes(c, base_mask(base, K));
    rep->agreed = pos_to_nodes(c, T);
    rep->wrong = pos_to_nodes(c, all & ~T);
    rep->nwrong = n - pop(T);
    rep->kappa = ps.kappa;
    rep->bound = gp_decode_bound(ps.kappa, K);
out:
    free(c);
    return rep->status = err;
}
