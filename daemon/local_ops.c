/* local_ops.c - ACTIVATE, HADAMARD and UPDATE: operations every daemon runs
 * on its own copies of results and its own coded block, no exchange needed. */
#define _GNU_SOURCE
#include "daemon.h"

/* Worker: an activation, a Hadamard product or a coded update, on this
 * daemon's own copies, with the faults the cluster file asks for. The
 * elementary functions are gpdot's own (gp_detmath.h), so every daemon gets
 * the same bits. */
static void local_job(void *arg)
{
    op *o = arg;
    daemon_s *d = (daemon_s *)o->d; /* the entries this job touches are marked busy */
    const gp_rmat A = d->ent[o->a].m;
    gp_rmat *y = &o->result;
    if (o->loc == LOC_UPDATE) {
        entry *w = &d->ent[o->w];
        const gp_rmat X = d->ent[o->b].m;
        gp_rmat dt = {0}, xt = {0};
        if (gp_rmat_alloc(&dt, w->m.rows, A.cols) == GP_OK &&
            gp_rmat_alloc(&xt, w->m.cols, X.cols) == GP_OK &&
            gp_code_encode_update(w->code, d->self, A, X, dt, xt) == GP_OK) {
            o->injected += op_inject(d, GP_FAULT_ENCODE, o->id, dt);
            gp_code_node_update(o->alpha, dt, xt, w->m);
            o->injected += op_inject(d, GP_FAULT_UPDATE, o->id, w->m);
            o->derr = GP_OK;
        } else {
            o->derr = gp_fail(&o->why, GP_ENOMEM, "no memory for the update's encodings");
        }
        gp_rmat_free(&dt);
        gp_rmat_free(&xt);
        return;
    }
    if (o->loc == LOC_HADAMARD) {
        const gp_rmat B = d->ent[o->b].m;
        for (size_t i = 0; i < A.rows * A.cols; i++) y->data[i] = A.data[i] * B.data[i];
        o->injected += op_inject(d, GP_FAULT_HADAMARD, o->id, *y);
    } else if (o->softmax) { /* over the rows of each column: a column is a sample */
        gp_train_softmax(A, *y);
        o->injected += op_inject(d, GP_FAULT_ACTIVATION, o->id, *y);
    } else { /* the training step's functions (gp_train.h) */
        for (size_t i = 0; i < A.rows * A.cols; i++)
            y->data[i] = o->deriv ? gp_act_df(o->fn, A.data[i]) : gp_act_f(o->fn, A.data[i]);
        o->injected += op_inject(d, GP_FAULT_ACTIVATION, o->id, *y);
    }
    o->derr = GP_OK;
}

/* ACTIVATE, HADAMARD and UPDATE from a client. */
gp_err do_local(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why)
{
    op tmp = {.a = -1, .b = -1, .w = -1};
    if (m->type == GP_MT_ACTIVATE) {
        static const struct {
            const char *name;
            gp_act fn;
            bool softmax;
        } fns[] = {{"relu", GP_ACT_RELU, false},
                   {"tanh", GP_ACT_TANH, false},
                   {"sigmoid", GP_ACT_SIGMOID, false},
                   {"softmax", GP_ACT_IDENTITY, true},
                   {"identity", GP_ACT_IDENTITY, false}};
        int fn = -1;
        for (int i = 0; i < 5; i++)
            if (pstr_is(m->v[GP_F_FN].s, fns[i].name)) fn = i;
        if (fn < 0)
            return gp_fail(why, GP_EINVAL, "fn must be relu, tanh, sigmoid, softmax or identity");
        tmp.loc = LOC_ACTIVATE;
        tmp.fn = fns[fn].fn;
        tmp.softmax = fns[fn].softmax;
        tmp.deriv = gp_pmsg_has(m, GP_F_DERIVATIVE) && m->v[GP_F_DERIVATIVE].b;
        if (tmp.softmax && tmp.deriv)
            return gp_fail(why, GP_EINVAL,
                           "softmax's derivative is used only together with "
                           "cross-entropy, inside training jobs");
        if ((tmp.a = value_entry(d, m->v[GP_F_NAME].s, why)) < 0) return GP_ENOTFOUND;
    } else if (m->type == GP_MT_HADAMARD) {
        tmp.loc = LOC_HADAMARD;
        if ((tmp.a = value_entry(d, m->v[GP_F_A].s, why)) < 0 ||
            (tmp.b = value_entry(d, m->v[GP_F_B].s, why)) < 0)
            return GP_ENOTFOUND;
        const entry *A = &d->ent[tmp.a], *B = &d->ent[tmp.b];
        if (A->m.rows != B->m.rows || A->m.cols != B->m.cols)
            return gp_fail(why, GP_EINVAL, "%s is %zux%zu and %s %zux%zu: not the same shape",
                           A->name, A->m.rows, A->m.cols, B->name, B->m.rows, B->m.cols);
    } else {
        tmp.loc = LOC_UPDATE;
        tmp.w = find_entry(d, m->v[GP_F_NAME].s);
        if (tmp.w < 0 || !d->ent[tmp.w].coded)
            return gp_fail(why, GP_ENOTFOUND, "no stored matrix '%.*s'", (int)m->v[GP_F_NAME].s.len,
                           m->v[GP_F_NAME].s.p);
        if ((tmp.a = value_entry(d, m->v[GP_F_DELTA].s, why)) < 0 ||
            (tmp.b = value_entry(d, m->v[GP_F_INPUT].s, why)) < 0)
            return GP_ENOTFOUND;
        const entry *W = &d->ent[tmp.w], *D = &d->ent[tmp.a], *X = &d->ent[tmp.b];
        if (D->m.rows != W->rows || X->m.rows != W->cols || D->m.cols != X->m.cols)
            return gp_fail(why, GP_EINVAL,
                           "W += alpha D X^T with W %zux%zu needs D %zu x B and X %zu x B, not "
                           "%zux%zu and %zux%zu",
                           W->rows, W->cols, W->rows, W->cols, D->m.rows, D->m.cols, X->m.rows,
                           X->m.cols);
        if (W->busy) return gp_fail(why, GP_ESTATE, "'%s' is in use by a product", W->name);
        tmp.alpha = m->v[GP_F_ALPHA].f;
        if (!(tmp.alpha - tmp.alpha == 0)) return gp_fail(why, GP_EINVAL, "alpha must be finite");
    }
    if (op_finished(d, m->id) || op_find(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    op *o = op_new(d, m->id, false, t);
    if (!o) return gp_fail(why, GP_ERANGE, "%d operations in progress already", MAX_OPS);
    o->loc = tmp.loc;
    o->a = -1;
    o->b = -1;
    o->fn = tmp.fn;
    o->softmax = tmp.softmax;
    o->deriv = tmp.deriv;
    o->alpha = tmp.alpha;
    o->stage = OP_LOCAL;
    if (tmp.loc != LOC_UPDATE) {
        const gp_rmat *A = &d->ent[tmp.a].m;
        size_t bytes = A->rows * A->cols * sizeof(double);
        if (d->bytes + bytes > MAX_BYTES || gp_rmat_alloc(&o->result, A->rows, A->cols) != GP_OK) {
            op_free(d, o);
            return gp_fail(why, GP_ENOMEM, "no room for the result");
        }
        d->bytes += bytes;
        snprintf(o->out, sizeof o->out, "%.*s", (int)m->v[GP_F_OUT].s.len, m->v[GP_F_OUT].s.p);
    }
    /* from here on op_free releases what is marked */
    o->started = true;
    o->a = tmp.a;
    o->b = tmp.b;
    d->ent[tmp.a].busy++;
    if (tmp.b >= 0) d->ent[tmp.b].busy++;
    if (tmp.w >= 0) {
        o->w = tmp.w;
        d->ent[tmp.w].busy++;
        d->ent[tmp.w].writing = true;
    }
    zmq_msg_copy(&o->route, route);
    d->n.operations++;
    if (!gp_pool_submit(d->pool, local_job, o, TAG(3, o - d->ops))) {
        op_free(d, o);
        return gp_fail(why, GP_ERANGE, "the workers' queue is full");
    }
    return GP_OK;
}

void local_done(daemon_s *d, op *o)
{
    d->n.errors_injected += (uint64_t)o->injected;
    gp_pmsg r;
    if (o->derr != GP_OK) {
        error_msg(&r, o->id, o->derr, o->why.text);
    } else if (o->loc == LOC_UPDATE) {
        d->ent[o->w].updates++;
        gp_pmsg_init(&r, GP_MT_OK, o->id);
    } else {
        uint64_t digest = gp_proto_digest(o->result.data, o->result.rows * o->result.cols * 8);
        size_t rows = o->result.rows, cols = o->result.cols;
        gp_pstr out = {o->out, strlen(o->out)};
        gp_err e = entry_put(d, out, &o->result, false, rows, cols, NULL, &o->why);
        if (e != GP_OK) {
            error_msg(&r, o->id, e, o->why.text);
        } else {
            gp_pmsg_init(&r, GP_MT_DONE, o->id);
            gp_pmsg_str(&r, GP_F_OUT, o->out);
            gp_pmsg_uint(&r, GP_F_ROWS, rows);
            gp_pmsg_uint(&r, GP_F_COLS, cols);
            gp_pmsg_uint(&r, GP_F_DIGEST, digest);
            gp_pmsg_ids(&r, GP_F_WRONG, NULL, 0);
            gp_pmsg_uint(&r, GP_F_CORRECTED, 0);
        }
    }
    op_reply(d, o, &r);
    op_free(d, o);
}
