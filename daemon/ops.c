/* ops.c - coded operations for clients: the table of operations in flight,
 * MULTIPLY (encode, node product, exchange of partials, decode) and FETCH of a
 * stored matrix (its blocks gathered and decoded), and the deadlines. */
#define _GNU_SOURCE
#include "daemon.h"

void op_remember(daemon_s *d, uint64_t id)
{
    d->recent[d->nrecent++ % RECENT] = id;
}

bool op_finished(const daemon_s *d, uint64_t id)
{
    int n = d->nrecent < RECENT ? d->nrecent : RECENT;
    for (int i = 0; i < n; i++)
        if (d->recent[i] == id) return true;
    return false;
}

op *op_find(daemon_s *d, uint64_t id)
{
    for (int i = 0; i < MAX_OPS; i++)
        if (d->ops[i].used && d->ops[i].id == id) return &d->ops[i];
    return NULL;
}

op *op_new(daemon_s *d, uint64_t id, bool pending, int64_t t)
{
    int npending = 0, free_slot = -1;
    for (int i = 0; i < MAX_OPS; i++) {
        if (!d->ops[i].used && free_slot < 0) free_slot = i;
        if (d->ops[i].used && !d->ops[i].started) npending++;
    }
    if (free_slot < 0 || (pending && npending >= MAX_PENDING)) return NULL;
    op *o = &d->ops[free_slot];
    memset(o, 0, sizeof *o);
    o->used = true;
    o->id = id;
    o->w = -1;
    o->created = t;
    o->d = d;
    zmq_msg_init(&o->route);
    return o;
}

void op_free(daemon_s *d, op *o)
{
    for (int p = 0; p < d->cfg->nnodes; p++) mat_release(d, &o->part[p]);
    mat_release(d, &o->x);
    mat_release(d, &o->result);
    if (o->w >= 0 && o->started) {
        d->ent[o->w].busy--;
        if (o->stage == OP_LOCAL && o->loc == LOC_UPDATE) d->ent[o->w].writing = false;
    }
    if (o->stage == OP_LOCAL) {
        if (o->a >= 0) d->ent[o->a].busy--;
        if (o->b >= 0) d->ent[o->b].busy--;
    }
    zmq_msg_close(&o->route);
    op_remember(d, o->id);
    memset(o, 0, sizeof *o);
}

void op_reply(daemon_s *d, op *o, const gp_pmsg *r)
{
    if (!send_msg(d->clients, &o->route, 1, r, NULL)) d->n.replies_dropped++;
}

/* The cluster file's faults at one kind of step of a client operation: the
 * one injector, on the stream of the request id. Returns the number
 * injected. */
int op_inject(const daemon_s *d, gp_fault_op kind, uint64_t opid, gp_rmat m)
{
    return gp_fault_inject(d->cfg->rules, d->cfg->nrules, 1.0, (uint64_t)d->cfg->fault_seed, opid,
                           d->self, kind, m);
}

/* Worker: this node's encoded input and coded product, with the faults the
 * cluster file asks for in either step. */
static void product_job(void *arg)
{
    op *o = arg;
    const daemon_s *d = o->d;
    const entry *e = &d->ent[o->w];
    gp_rmat enc, *y = &o->part[d->self];
    size_t erows = o->dir == GP_FORWARD ? e->m.cols : e->m.rows;
    if (gp_rmat_alloc(&enc, erows, o->batch) != GP_OK) return;
    if (gp_code_encode_input(e->code, d->self, o->dir, o->x, enc) == GP_OK) {
        o->injected += op_inject(d, GP_FAULT_ENCODE, o->id, enc);
        gp_code_node_product(o->dir, e->m, enc, *y);
    }
    gp_rmat_free(&enc);
    o->injected += op_inject(d, GP_FAULT_MULTIPLY, o->id, *y);
}

/* Worker: decodes from the outputs that arrived. */
static void decode_job(void *arg)
{
    op *o = arg;
    const daemon_s *d = o->d;
    const entry *e = &d->ent[o->w];
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (o->have >> p & 1) outs[n++] = (gp_node_output){p, o->part[p].data};
    if (o->fetchw)
        o->derr = gp_code_decode_weights(e->code, e->rows, e->cols, outs, n, e->updates, o->result,
                                         &o->rep, &o->why);
    else
        o->derr = gp_code_decode_stored(e->code, o->dir, e->rows, e->cols, o->batch, e->updates,
                                        outs, n, o->result, &o->rep, &o->why);
    /* asked for: a product from exactly K outputs, flagged by DONE's spare 0 */
    if (o->derr == GP_EUNVERIFIED && o->unverified && !o->fetchw) o->derr = GP_OK;
    if (o->derr == GP_OK) o->injected += op_inject(d, GP_FAULT_DECODE, o->id, o->result);
}

static void start_decode(daemon_s *d, op *o)
{
    const entry *e = &d->ent[o->w];
    size_t rrows = o->fetchw              ? e->rows
                   : o->dir == GP_FORWARD ? e->rows
                                          : e->cols,
           rcols = o->fetchw ? e->cols : o->batch;
    o->stage = OP_DECODE;
    gp_err ae = gp_rmat_alloc(&o->result, rrows, rcols);
    if (ae == GP_OK) d->bytes += rrows * rcols * sizeof(double);
    if (ae != GP_OK || !gp_pool_submit(d->pool, decode_job, o, TAG(2, o - d->ops))) {
        gp_pmsg r;
        error_msg(&r, o->id, GP_ENOMEM, "no memory or no worker for the decode");
        op_reply(d, o, &r);
        op_free(d, o);
    }
}

/* Decodes once every node that is up has answered; after the deadline, with
 * whatever arrived. */
static void maybe_decode(daemon_s *d, op *o, int64_t t)
{
    if (o->stage != OP_COLLECT) return;
    uint64_t up = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (peer_up(d, p, t)) up |= 1ull << p;
    if ((o->have & up) == up || t >= o->deadline) start_decode(d, o);
}

static void send_partial(daemon_s *d, op *o)
{
    const gp_rmat *y = &o->part[d->self];
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_PARTIAL, o->id);
    gp_pmsg_uint(&m, GP_F_OP, o->id);
    gp_pmsg_str(&m, GP_F_PHASE, o->dir == GP_FORWARD ? "fwd" : "bwd");
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)d->self);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){(uint32_t)y->rows, (uint32_t)y->cols, false, y->data, 0});
    void *buf;
    size_t len;
    if (gp_proto_encode(&m, &buf, &len, NULL) != GP_OK) return;
    for (int p = 0; p < d->cfg->nnodes; p++) /* one encoding, a copy per peer */
        if (p != d->self && zmq_send(d->out[p], buf, len, ZMQ_DONTWAIT) >= 0) {
            d->n.partials_sent++;
            d->n.partial_bytes_sent += len;
        }
    free(buf);
}

static void product_done(daemon_s *d, op *o, int64_t t)
{
    d->n.errors_injected += (uint64_t)o->injected;
    o->injected = 0;
    o->have |= 1ull << d->self;
    send_partial(d, o);
    o->stage = OP_COLLECT;
    maybe_decode(d, o, t);
}

static void decode_done(daemon_s *d, op *o)
{
    gp_pmsg r;
    gp_msg why; /* r points into these two until it is sent */
    char reason[GP_PROTO_MAX_STR];
    d->n.errors_injected += (uint64_t)o->injected; /* those of the decode */
    if (o->fetchw && o->derr == GP_OK) { /* the decoded matrix goes to the client, not the store */
        d->n.errors_corrected += (uint64_t)o->rep.nwrong;
        gp_pmsg_init(&r, GP_MT_MATRIX, o->id);
        gp_pmsg_str(&r, GP_F_NAME, d->ent[o->w].name);
        gp_pmsg_uint(&r, GP_F_DIGEST,
                     gp_proto_digest(o->result.data, o->result.rows * o->result.cols * 8));
        if (!o->digest_only)
            gp_pmsg_mat(&r, GP_F_VALUE,
                        (gp_pmat){(uint32_t)o->result.rows, (uint32_t)o->result.cols, false,
                                  o->result.data, 0});
        op_reply(d, o, &r);
        op_free(d, o);
        return;
    }
    if (o->derr == GP_OK) {
        uint64_t ids[GP_CONFIG_MAX_NODES];
        size_t nw = 0;
        for (int p = 0; p < d->cfg->nnodes; p++)
            if (o->rep.wrong >> p & 1) ids[nw++] = (uint64_t)p;
        d->n.errors_corrected += (uint64_t)o->rep.nwrong;
        gp_pmsg_init(&r, GP_MT_DONE, o->id);
        gp_pmsg_str(&r, GP_F_OUT, o->out);
        gp_pmsg_uint(&r, GP_F_ROWS, o->result.rows);
        gp_pmsg_uint(&r, GP_F_COLS, o->result.cols);
        gp_pmsg_uint(&r, GP_F_DIGEST,
                     gp_proto_digest(o->result.data, o->result.rows * o->result.cols * 8));
        gp_pmsg_ids(&r, GP_F_WRONG, ids, nw);
        gp_pmsg_uint(&r, GP_F_CORRECTED, nw);
        /* outputs beyond the threshold: 0 when nothing could be checked */
        gp_pmsg_uint(&r, GP_F_SPARE, o->rep.spare > 0 ? (uint64_t)o->rep.spare : 0);
        gp_pstr out = {o->out, strlen(o->out)};
        size_t bytes = o->result.rows * o->result.cols * sizeof(double);
        gp_err e = entry_put(d, out, &o->result, false, o->result.rows, o->result.cols, NULL, &why);
        if (e != GP_OK) {
            error_msg(&r, o->id, e, why.text);
        } else {
            (void)bytes; /* now the entry's */
        }
    } else {
        int len = snprintf(reason, sizeof reason, "%s", o->why.text);
        if (o->derr == GP_EDETECTED) {
            d->n.errors_detected++;
            len += snprintf(reason + len, sizeof reason - (size_t)len, " (suspects:");
            for (int p = 0; p < d->cfg->nnodes && len < 3900; p++)
                if (o->rep.wrong >> p & 1)
                    len += snprintf(reason + len, sizeof reason - (size_t)len, " %d", p);
            snprintf(reason + len, sizeof reason - (size_t)len, ")");
        }
        error_msg(&r, o->id, o->derr, reason);
    }
    op_reply(d, o, &r);
    op_free(d, o);
}

void on_pool(daemon_s *d, int64_t t)
{
    uint64_t tag;
    while (zmq_recv(gp_pool_socket(d->pool), &tag, sizeof tag, ZMQ_DONTWAIT) == sizeof tag) {
        op *o = &d->ops[tag & 0xffffffffu];
        if (!o->used) continue;
        if (tag >> 32 == 1)
            product_done(d, o, t);
        else if (tag >> 32 == 2)
            decode_done(d, o);
        else
            local_done(d, o);
    }
}

/* MULTIPLY from a client: checks, then the product on a worker. */
gp_err do_multiply(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why)
{
    int w = find_entry(d, m->v[GP_F_NAME].s);
    if (w < 0 || !d->ent[w].coded)
        return gp_fail(why, GP_ENOTFOUND, "no stored matrix '%.*s'", (int)m->v[GP_F_NAME].s.len,
                       m->v[GP_F_NAME].s.p);
    const entry *e = &d->ent[w];
    if (e->writing) return gp_fail(why, GP_ESTATE, "'%s' is being updated", e->name);
    gp_dir dir =
        gp_pmsg_has(m, GP_F_TRANSPOSE) && m->v[GP_F_TRANSPOSE].b ? GP_BACKWARD : GP_FORWARD;
    gp_pmat x = m->v[GP_F_X].m;
    size_t need = dir == GP_FORWARD ? e->cols : e->rows;
    if (x.rows != need)
        return gp_fail(why, GP_EINVAL, "%s is %zux%zu: x must have %zu rows, not %u%s", e->name,
                       e->rows, e->cols, need, x.rows, dir == GP_FORWARD ? "" : " (transposed)");
    if (!gp_code_takes_part(e->code, d->self, dir))
        return gp_fail(why, GP_ENOTSUP, "node %d takes no part in this product", d->self);
    if (op_finished(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    op *o = op_find(d, m->id);
    if (o && o->started)
        return gp_fail(why, GP_ESTATE, "request id %llu is in progress", (unsigned long long)m->id);
    if (!o && !(o = op_new(d, m->id, false, t)))
        return gp_fail(why, GP_ERANGE, "%d operations in progress already", MAX_OPS);
    gp_err err = mat_in(d, x, "x", &o->x, why);
    size_t orows = gp_code_output_rows(e->code, dir, e->rows, e->cols);
    if (err == GP_OK && (err = gp_rmat_alloc(&o->part[d->self], orows, x.cols)) == GP_OK)
        d->bytes += orows * x.cols * sizeof(double);
    if (err != GP_OK) {
        op_free(d, o);
        return err == GP_ENOMEM ? gp_fail(why, err, "no memory for the product") : err;
    }
    o->started = true;
    o->w = w;
    d->ent[w].busy++;
    o->dir = dir;
    o->unverified = gp_pmsg_has(m, GP_F_UNVERIFIED) && m->v[GP_F_UNVERIFIED].b;
    o->orows = orows;
    o->batch = x.cols;
    o->deadline = t + d->cfg->peer_timeout_ms;
    snprintf(o->out, sizeof o->out, "%.*s", (int)m->v[GP_F_OUT].s.len, m->v[GP_F_OUT].s.p);
    zmq_msg_copy(&o->route, route);
    /* partials that came early: keep those of the right shape */
    for (int p = 0; p < d->cfg->nnodes; p++)
        if ((o->have >> p & 1) && (o->part[p].rows != orows || o->part[p].cols != o->batch)) {
            mat_release(d, &o->part[p]);
            o->have &= ~(1ull << p);
            d->n.peer_dropped++;
        }
    o->stage = OP_PRODUCT;
    d->n.operations++;
    if (!gp_pool_submit(d->pool, product_job, o, TAG(1, o - d->ops))) {
        op_free(d, o);
        return gp_fail(why, GP_ERANGE, "the workers' queue is full");
    }
    return GP_OK;
}

/* FETCH of a stored (coded) matrix: this node asks every peer for its block
 * and decodes the matrix from the blocks that arrive, like a product. */
gp_err do_fetch_coded(daemon_s *d, const gp_pmsg *m, int w, zmq_msg_t *route, int64_t t,
                      gp_msg *why)
{
    entry *e = &d->ent[w];
    if (e->writing) return gp_fail(why, GP_ESTATE, "'%s' is being updated", e->name);
    if (op_finished(d, m->id) || op_find(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    size_t bytes = (d->cfg->nnodes * e->m.rows * e->m.cols + e->rows * e->cols) * sizeof(double);
    if (d->bytes + bytes > MAX_BYTES)
        return gp_fail(why, GP_ERANGE, "no room to gather the blocks of '%s'", e->name);
    op *o = op_new(d, m->id, false, t);
    if (!o) return gp_fail(why, GP_ERANGE, "%d operations in progress already", MAX_OPS);
    if (gp_rmat_alloc(&o->part[d->self], e->m.rows, e->m.cols) != GP_OK) {
        op_free(d, o);
        return gp_fail(why, GP_ENOMEM, "no memory for the blocks");
    }
    d->bytes += e->m.rows * e->m.cols * sizeof(double);
    gp_rmat_copy(o->part[d->self], e->m);
    o->have = 1ull << d->self;
    o->started = true;
    o->fetchw = true;
    o->digest_only = gp_pmsg_has(m, GP_F_DIGEST_ONLY) && m->v[GP_F_DIGEST_ONLY].b;
    o->w = w;
    e->busy++;
    o->orows = e->m.rows;
    o->batch = e->m.cols;
    o->deadline = t + d->cfg->peer_timeout_ms;
    zmq_msg_copy(&o->route, route);
    o->stage = OP_COLLECT;
    gp_pmsg q;
    gp_pmsg_init(&q, GP_MT_BLOCK_REQ, m->id);
    gp_pmsg_str(&q, GP_F_NAME, e->name);
    gp_pmsg_uint(&q, GP_F_FROM, (uint64_t)d->self);
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (p != d->self) send_msg(d->out[p], NULL, 0, &q, NULL);
    maybe_decode(d, o, t);
    return GP_OK;
}

/* BLOCK_REQ from a peer: our block of the named matrix, if we have it and it
 * is not being changed. */
void on_block_req(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    (void)t;
    int i = find_entry(d, m->v[GP_F_NAME].s);
    if (i < 0 || !d->ent[i].coded || d->ent[i].writing) {
        d->n.peer_dropped++;
        return;
    }
    const entry *e = &d->ent[i];
    gp_pmsg r;
    gp_pmsg_init(&r, GP_MT_BLOCK, m->id);
    gp_pmsg_str(&r, GP_F_NAME, e->name);
    gp_pmsg_uint(&r, GP_F_FROM, (uint64_t)d->self);
    gp_pmsg_mat(&r, GP_F_VALUE,
                (gp_pmat){(uint32_t)e->m.rows, (uint32_t)e->m.cols, false, e->m.data, 0});
    send_msg(d->out[from], NULL, 0, &r, NULL);
}

/* BLOCK from a peer, for a FETCH in progress. */
void on_block(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    op *o = op_find(d, m->id);
    gp_pmat v = m->v[GP_F_VALUE].m;
    if (!o || !o->fetchw || o->stage != OP_COLLECT || (o->have >> from & 1) || v.rows != o->orows ||
        v.cols != o->batch || v.f32 || !pstr_is(m->v[GP_F_NAME].s, d->ent[o->w].name)) {
        d->n.peer_dropped++;
        return;
    }
    size_t bytes = (size_t)v.rows * v.cols * sizeof(double);
    if (gp_rmat_alloc(&o->part[from], v.rows, v.cols) != GP_OK) {
        d->n.peer_dropped++;
        return;
    }
    d->bytes += bytes;
    memcpy(o->part[from].data, v.data, bytes);
    o->have |= 1ull << from;
    maybe_decode(d, o, t);
}

/* PARTIAL from a peer. */
void on_partial(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    uint64_t id = m->v[GP_F_OP].u;
    gp_pmat v = m->v[GP_F_VALUE].m;
    op *o = op_find(d, id);
    if (!o && op_finished(d, id)) {
        d->n.partials_late++;
        return;
    }
    if (!o && !(o = op_new(d, id, true, t))) {
        d->n.peer_dropped++;
        return;
    }
    if ((o->have >> from & 1) || o->stage == OP_DECODE || o->fetchw ||
        (o->started && (v.rows != o->orows || v.cols != o->batch))) {
        d->n.peer_dropped++;
        return;
    }
    gp_rmat y;
    size_t bytes = (size_t)v.rows * v.cols * sizeof(double);
    if (d->bytes + bytes > MAX_BYTES || gp_rmat_alloc(&y, v.rows, v.cols) != GP_OK) {
        d->n.peer_dropped++;
        return;
    }
    d->bytes += bytes;
    for (size_t i = 0; i < (size_t)v.rows * v.cols;
         i++) { /* NaN and Inf kept: the decoder corrects them */
        if (v.f32) {
            float f;
            memcpy(&f, (const char *)v.data + 4 * i, 4);
            y.data[i] = f;
        } else {
            memcpy(&y.data[i], (const char *)v.data + 8 * i, 8);
        }
    }
    o->part[from] = y;
    o->have |= 1ull << from;
    d->n.partials_received++;
    maybe_decode(d, o, t);
}

/* Deadlines: collecting operations decode with what they have; pending ones
 * whose client request never came are dropped. */
void on_tick(daemon_s *d, int64_t t)
{
    for (int i = 0; i < MAX_OPS; i++) {
        op *o = &d->ops[i];
        if (!o->used) continue;
        if (o->stage == OP_COLLECT)
            maybe_decode(d, o, t);
        else if (!o->started && t - o->created > 4 * d->cfg->peer_timeout_ms)
            op_free(d, o);
    }
}
