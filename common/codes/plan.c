#include "gp_plan.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_SPLIT 6 /* largest m or n listed */

typedef struct list {
    gp_plan_row *v;
    int n, cap;
} list;

static gp_plan_row *push(list *l)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        gp_plan_row *v = realloc(l->v, sizeof *v * (size_t)cap);
        if (!v) return NULL;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    return &l->v[l->n++];
}

/* Tries one configuration; keeps it if accepted, or refused for its bound. */
static gp_err try_add(list *l, const gp_plan_req *rq, gp_code_params pp)
{
    gp_code_t *c = NULL;
    gp_msg why = {{0}};
    pp.single = rq->single;
    gp_err e = gp_code_new(&pp, &c, &why);
    if (e == GP_ENOMEM) return e;
    if (e != GP_OK && e != GP_ENUMERIC) return GP_OK; /* does not fit: not a choice */
    gp_plan_row *r = push(l);
    if (!r) {
        gp_code_destroy(&c);
        return GP_ENOMEM;
    }
    r->params = pp;
    if (e == GP_ENUMERIC) {
        strcpy(r->refusal, why.text);
        return GP_OK;
    }
    r->accepted = true;
    r->info = *gp_code_info_of(c);
    double peers = rq->nodes - 1,
           b = (double)rq->batch * (rq->single ? sizeof(float) : sizeof(double));
    r->worst_error = r->info.worst_bound * (r->info.unit_roundoff / (DBL_EPSILON / 2));
    r->eta_forward = gp_code_eta(c, GP_FORWARD, rq->rows, rq->cols);
    r->eta_backward = gp_code_eta(c, GP_BACKWARD, rq->rows, rq->cols);
    r->bytes_forward = (double)gp_code_output_rows(c, GP_FORWARD, rq->rows, rq->cols) * b * peers;
    r->bytes_backward = (double)gp_code_output_rows(c, GP_BACKWARD, rq->rows, rq->cols) * b * peers;
    if (r->info.random_forward < rq->min_errors || r->info.random_backward < rq->min_errors) l->n--;
    gp_code_destroy(&c);
    return GP_OK;
}

static int cmp(const void *x, const void *y)
{
    const gp_plan_row *a = x, *b = y;
    if (a->accepted != b->accepted) return a->accepted ? -1 : 1;
    if (a->params.scheme != b->params.scheme) return (int)a->params.scheme - (int)b->params.scheme;
    int ka = a->params.m * a->params.n, kb = b->params.m * b->params.n;
    if (ka != kb) return ka - kb;
    if (a->params.m != b->params.m) return a->params.m - b->params.m;
    return (int)a->params.orient - (int)b->params.orient;
}

gp_err gp_plan(const gp_plan_req *rq, gp_plan_row **rows, int *nrows, gp_msg *why)
{
    *rows = NULL;
    *nrows = 0;
    if (rq->nodes < 1 || rq->nodes > GP_MAX_NODES)
        return gp_fail(why, GP_EINVAL, "--nodes must be 1..%d", GP_MAX_NODES);
    if (rq->rows < 1 || rq->cols < 1 || rq->batch < 1)
        return gp_fail(why, GP_EINVAL, "layer and batch must be at least 1");
    int P = rq->nodes;
    list l = {0};
    gp_err e = GP_OK;
    for (int m = 1; m <= PLAN_SPLIT && e == GP_OK; m++)
        for (int n = 1; n <= PLAN_SPLIT && e == GP_OK; n++) {
            if (m * n < 2) continue;
            gp_code_params pp = {.nodes = P, .m = m, .n = n};
            pp.scheme = n == 1 ? GP_SCHEME_POLYNOMIAL : m == 1 ? GP_SCHEME_MATDOT : GP_SCHEME_GPD;
            if (pp.scheme == GP_SCHEME_GPD) {
                pp.orient = GP_ORIENT_ROW;
                e = try_add(&l, rq, pp);
                pp.orient = GP_ORIENT_COL;
                if (e == GP_OK) e = try_add(&l, rq, pp);
            } else {
                e = try_add(&l, rq, pp);
            }
            gp_code_params md = {.scheme = GP_SCHEME_MDS, .nodes = P, .m = m, .n = n};
            if (e == GP_OK) e = try_add(&l, rq, md);
        }
    for (int m = 1; m <= PLAN_SPLIT && e == GP_OK; m++)
        for (int n = 1; n <= PLAN_SPLIT && e == GP_OK; n++)
            if (P % (m * n) == 0 && P / (m * n) >= 2)
                e = try_add(
                    &l, rq,
                    (gp_code_params){.scheme = GP_SCHEME_REPLICATION, .nodes = P, .m = m, .n = n});
    if (e == GP_OK && P <= GP_MAX_SPLIT)
        e = try_add(&l, rq,
                    (gp_code_params){.scheme = GP_SCHEME_UNCODED, .nodes = P, .m = P, .n = 1});
    if (e != GP_OK) {
        free(l.v);
        return gp_fail(why, e, "out of memory");
    }
    qsort(l.v, (size_t)l.n, sizeof l.v[0], cmp);
    *rows = l.v;
    *nrows = l.n;
    return GP_OK;
}
