#include "gp_gpdmm.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp_bound.h"
#include "gp_points.h"

#define UROUND (DBL_EPSILON / 2)

struct gp_gpdmm {
    int P, t, s, tp, K;
    double a[GP_MAX_NODES];
    double *G; /* P x K */
    double bound;
};

gp_err gp_gpdmm_new(int P, int t, int s, int tp, double max_bound, gp_gpdmm_t **out, gp_msg *why)
{
    *out = NULL;
    if (t < 1 || s < 1 || tp < 1 || t > GP_MAX_SPLIT || s > GP_MAX_SPLIT || tp > GP_MAX_SPLIT)
        return gp_fail(why, GP_EINVAL, "splits must be 1..%d (t=%d s=%d t'=%d)", GP_MAX_SPLIT, t, s,
                       tp);
    int K = t * tp * s + s - 1;
    if (P < K || P > GP_MAX_CODED_NODES)
        return gp_fail(why, GP_EINVAL, "GPD t=%d s=%d t'=%d needs %d..%d nodes (K=%d), not %d", t,
                       s, tp, K, GP_MAX_CODED_NODES, K, P);
    gp_gpdmm_t *c = calloc(1, sizeof *c);
    if (!c) return GP_ENOMEM;
    *c = (gp_gpdmm_t){.P = P, .t = t, .s = s, .tp = tp, .K = K};
    gp_point_choice ch;
    gp_err e =
        gp_points_choose(P, &K, 1, -1, max_bound > 0 ? max_bound : GP_DEFAULT_MAX_BOUND, &ch);
    if (e != GP_OK) {
        free(c);
        if (e == GP_ENUMERIC)
            return gp_fail(why, e,
                           "GPD t=%d s=%d t'=%d on %d nodes: worst-case decode error bound %s%.1e "
                           "exceeds %.0e",
                           t, s, tp, P, ch.certified ? "" : ">= ", ch.worst,
                           max_bound > 0 ? max_bound : GP_DEFAULT_MAX_BOUND);
        return e;
    }
    gp_points(ch.family, P, c->a);
    c->bound = ch.bound[0];
    c->G = malloc(sizeof(double) * (size_t)P * K);
    if (!c->G) {
        free(c);
        return GP_ENOMEM;
    }
    gp_vandermonde(c->a, P, K, c->G);
    *out = c;
    return GP_OK;
}

void gp_gpdmm_destroy(gp_gpdmm_t **code)
{
    if (!code || !*code) return;
    free((*code)->G);
    free(*code);
    *code = NULL;
}

int gp_gpdmm_threshold(const gp_gpdmm_t *c)
{
    return c->K;
}

double gp_gpdmm_bound(const gp_gpdmm_t *c)
{
    return c->bound;
}

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static double *powers(const gp_gpdmm_t *c, int p, double *pw)
{
    pw[0] = 1.0;
    for (int e = 1; e < c->K; e++) pw[e] = pw[e - 1] * c->a[p];
    return pw;
}

gp_err gp_gpdmm_encode_a(const gp_gpdmm_t *c, int p, gp_rmat a, gp_rmat at)
{
    if (p < 0 || p >= c->P || at.rows != ceil_div(a.rows, c->t) ||
        at.cols != ceil_div(a.cols, c->s))
        return GP_EINVAL;
    double pw[4 * GP_MAX_SPLIT * GP_MAX_SPLIT * GP_MAX_SPLIT], coef[GP_MAX_SPLIT * GP_MAX_SPLIT];
    powers(c, p, pw);
    for (int i = 0; i < c->t; i++)
        for (int j = 0; j < c->s; j++) coef[i * c->s + j] = pw[j + c->s * i];
    gp_rmat_combine_blocks(at, a, c->t, c->s, coef);
    return GP_OK;
}

gp_err gp_gpdmm_encode_b(const gp_gpdmm_t *c, int p, gp_rmat b, gp_rmat bt)
{
    if (p < 0 || p >= c->P || bt.rows != ceil_div(b.rows, c->s) ||
        bt.cols != ceil_div(b.cols, c->tp))
        return GP_EINVAL;
    double pw[4 * GP_MAX_SPLIT * GP_MAX_SPLIT * GP_MAX_SPLIT], coef[GP_MAX_SPLIT * GP_MAX_SPLIT];
    powers(c, p, pw);
    for (int k = 0; k < c->s; k++)
        for (int l = 0; l < c->tp; l++) coef[k * c->tp + l] = pw[(c->s - 1 - k) + c->s * c->t * l];
    gp_rmat_combine_blocks(bt, b, c->s, c->tp, coef);
    return GP_OK;
}

gp_err gp_gpdmm_decode(const gp_gpdmm_t *c, size_t rows, size_t inner, size_t cols,
                       const gp_node_output *outs, int nouts, gp_rmat cm, gp_decode_report *rep,
                       gp_msg *why)
{
    if (cm.rows != rows || cm.cols != cols || nouts < 0 || nouts > c->P)
        return gp_fail(why, GP_EINVAL, "bad shapes or output count");
    size_t br = ceil_div(rows, c->t), bc = ceil_div(cols, c->tp), len = br * bc;
    int nf = c->t * c->tp, ids[GP_MAX_NODES];
    const double *ys[GP_MAX_NODES];
    for (int i = 0; i < nouts; i++) {
        ids[i] = outs[i].node;
        ys[i] = outs[i].data;
    }
    double *F = calloc((size_t)nf * c->K, sizeof(double)),
           *buf = gp_alloc_doubles((size_t)nf * len);
    double *op[GP_MAX_SPLIT * GP_MAX_SPLIT];
    if (!F || !buf) {
        free(F);
        gp_free_doubles(buf);
        return GP_ENOMEM;
    }
    for (int i = 0; i < c->t; i++)
        for (int l = 0; l < c->tp; l++) {
            int r = i * c->tp + l;
            F[(size_t)r * c->K + (c->s - 1 + c->s * i + c->s * c->t * l)] = 1.0;
            op[r] = buf + (size_t)r * len;
        }
    double in = (double)ceil_div(inner, c->s);
    gp_lincode lc = {c->P, c->K, c->G, c->a};
    gp_decode_req rq = {.code = &lc,
                        .nresp = nouts,
                        .resp = ids,
                        .y = ys,
                        .len = len,
                        .nfun = nf,
                        .F = F,
                        .out = op,
                        .max_errors = -1,
                        .eta = 8.0 * UROUND * (in + 2.0 * (c->t * c->s + c->K) + 16.0) * sqrt(in)};
    gp_err e = gp_decode(&rq, rep, why);
    if (e == GP_OK || e == GP_EUNVERIFIED)
        for (int i = 0; i < c->t; i++)
            for (int l = 0; l < c->tp; l++) {
                const double *blk = op[i * c->tp + l];
                size_t r0 = (size_t)i * br, c0 = (size_t)l * bc;
                for (size_t r = 0; r < br && r0 + r < rows; r++)
                    for (size_t q = 0; q < bc && c0 + q < cols; q++)
                        cm.data[(r0 + r) * cm.ld + c0 + q] = blk[r * bc + q];
            }
    free(F);
    gp_free_doubles(buf);
    return e;
}
