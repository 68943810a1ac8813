/* requests.c - what arrives on the two ROUTER sockets: a table of handlers
 * for client requests, and one for peer messages. */
#define _GNU_SOURCE
#include "daemon.h"

static void status_reply(daemon_s *d, gp_pmsg *r, int64_t t)
{
    uint64_t up[GP_CONFIG_MAX_NODES];
    size_t nup = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (peer_up(d, p, t)) up[nup++] = (uint64_t)p;
    gp_pmsg_uint(r, GP_F_NODE, (uint64_t)d->self);
    gp_pmsg_ids(r, GP_F_NODES_UP, up, nup);
    gp_pmsg_names(r, GP_F_MATRICES, NULL, 0);
    gp_pmsg_str(r, GP_F_BLAS, gp_blas_kernel());
    gp_pcounter c[] = {
#define X(name) {{#name, sizeof #name - 1}, 0},
        COUNTERS(X)
#undef X
    };
    const uint64_t *vals = (const uint64_t *)&d->n;
    d->n.connections_refused = gp_zap_refused(d->zap);
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) c[i].value = vals[i];
    gp_pmsg_counters(r, GP_F_COUNTERS, c, sizeof c / sizeof c[0]);
}

/* ---- client requests ------------------------------------------------------------------- */

/* One client request being answered. */
typedef struct request {
    daemon_s *d;
    const gp_pmsg *m;
    zmq_msg_t *route; /* the routing frames: the client's identity, and the empty
                         delimiter a REQ socket adds */
    int nroute;
    int64_t t;
} request;

/* A handler answers q: it fills r and returns GP_OK (the caller sends r); or
 * it leaves r's type GP_MT_NONE, when the answer comes later (a coded
 * operation) or was sent already; or it returns the error the client gets,
 * with its reason in why. */
typedef gp_err (*client_fn)(const request *q, gp_pmsg *r, gp_msg *why);

/* Operations answered later go back on the same route: a DEALER's identity. */
static gp_err need_dealer(const request *q, const char *what, gp_msg *why)
{
    return q->nroute == 1 ? GP_OK : gp_fail(why, GP_ENOTSUP, "%s need a DEALER client", what);
}

static gp_err h_hello(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)why;
    gp_pmsg_init(r, GP_MT_HELLO_OK, q->m->id);
    gp_pmsg_uint(r, GP_F_NODE, (uint64_t)q->d->self);
    gp_pmsg_uint(r, GP_F_NODES, (uint64_t)q->d->cfg->nnodes);
    gp_pmsg_uint(r, GP_F_VERSION, GP_PROTO_VERSION);
    gp_pmsg_str(r, GP_F_CLUSTER, q->d->cfg->cluster);
    return GP_OK;
}

static gp_err h_ping(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)why;
    gp_pmsg_init(r, GP_MT_PONG, q->m->id);
    gp_pmsg_uint(r, GP_F_NODE, (uint64_t)q->d->self);
    gp_pmsg_uint(r, GP_F_UPTIME_MS, (uint64_t)(q->t - q->d->started));
    return GP_OK;
}

static gp_err h_status(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)why;
    gp_pmsg_init(r, GP_MT_STATUS_OK, q->m->id);
    status_reply(q->d, r, q->t);
    return GP_OK;
}

static gp_err h_store(const request *q, gp_pmsg *r, gp_msg *why)
{
    gp_err e = do_store(q->d, q->m, why);
    if (e == GP_OK) gp_pmsg_init(r, GP_MT_OK, q->m->id);
    return e;
}

static gp_err h_put(const request *q, gp_pmsg *r, gp_msg *why)
{
    gp_rmat v;
    gp_err e = mat_in(q->d, q->m->v[GP_F_VALUE].m, "the value", &v, why);
    if (e == GP_OK) {
        e = entry_put(q->d, q->m->v[GP_F_NAME].s, &v, false, v.rows, v.cols, NULL, why);
        mat_release(q->d, &v);
    }
    if (e == GP_OK) gp_pmsg_init(r, GP_MT_OK, q->m->id);
    return e;
}

static gp_err h_multiply(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)r; /* answered when decoded */
    gp_err e = need_dealer(q, "coded products", why);
    return e != GP_OK ? e : do_multiply(q->d, q->m, &q->route[0], q->t, why);
}

/* FETCH: a value is answered at once; a stored matrix is decoded from the
 * nodes' blocks first (ops.c). */
static gp_err h_fetch(const request *q, gp_pmsg *r, gp_msg *why)
{
    daemon_s *d = q->d;
    const gp_pmsg *m = q->m;
    int i = find_entry(d, m->v[GP_F_NAME].s);
    if (i < 0) return gp_fail(why, GP_ENOTFOUND, "no such matrix");
    if (d->ent[i].coded) { /* answered when decoded */
        gp_err e = need_dealer(q, "fetches", why);
        return e != GP_OK ? e : do_fetch_coded(d, m, i, &q->route[0], q->t, why);
    }
    const entry *en = &d->ent[i];
    gp_pmsg_init(r, GP_MT_MATRIX, m->id);
    gp_pmsg_str(r, GP_F_NAME, en->name);
    gp_pmsg_uint(r, GP_F_DIGEST,
                 gp_proto_digest(en->m.data, en->m.rows * en->m.cols * sizeof(double)));
    if (!gp_pmsg_has(m, GP_F_DIGEST_ONLY) || !m->v[GP_F_DIGEST_ONLY].b)
        gp_pmsg_mat(r, GP_F_VALUE,
                    (gp_pmat){(uint32_t)en->m.rows, (uint32_t)en->m.cols, false, en->m.data, 0});
    return GP_OK;
}

static gp_err h_drop(const request *q, gp_pmsg *r, gp_msg *why)
{
    int i = find_entry(q->d, q->m->v[GP_F_NAME].s);
    if (i < 0) return gp_fail(why, GP_ENOTFOUND, "no such matrix");
    if (q->d->ent[i].busy) return gp_fail(why, GP_ESTATE, "in use by an operation");
    entry_free(q->d, &q->d->ent[i]);
    gp_pmsg_init(r, GP_MT_OK, q->m->id);
    return GP_OK;
}

/* ACTIVATE, HADAMARD and UPDATE */
static gp_err h_local(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)r; /* answered when done */
    gp_err e = need_dealer(q, "operations", why);
    return e != GP_OK ? e : do_local(q->d, q->m, &q->route[0], q->t, why);
}

static gp_err h_submit(const request *q, gp_pmsg *r, gp_msg *why)
{
    gp_err e = tr_submit(q->d->tr, q->m, why);
    if (e != GP_OK) return e;
    logf_("job %016llx submitted", (unsigned long long)q->m->v[GP_F_JOB].u);
    gp_pmsg_init(r, GP_MT_OK, q->m->id);
    return GP_OK;
}

static gp_err h_cancel(const request *q, gp_pmsg *r, gp_msg *why)
{
    gp_err e = tr_cancel(q->d->tr, q->m->v[GP_F_JOB].u, why);
    if (e == GP_OK) gp_pmsg_init(r, GP_MT_OK, q->m->id);
    return e;
}

/* JOB_STATUS: the reply points into the trainer's scratch, sent before it is
 * freed. */
static gp_err h_job_status(const request *q, gp_pmsg *r, gp_msg *why)
{
    tr_scratch sc = {0};
    gp_pmsg_init(r, GP_MT_JOB_INFO, q->m->id);
    gp_err e = tr_info(q->d->tr, q->m->v[GP_F_JOB].u, r, &sc, why);
    if (e == GP_OK && !send_msg(q->d->clients, q->route, q->nroute, r, NULL))
        q->d->n.replies_dropped++;
    free(sc.text);
    r->type = GP_MT_NONE; /* sent */
    return e;
}

static gp_err h_partials(const request *q, gp_pmsg *r, gp_msg *why)
{
    (void)q;
    (void)r;
    return gp_fail(why, GP_ENOTSUP, "partials are not kept by this version");
}

/* The requests a client can send; any other type is refused. */
static const client_fn client_handlers[GP_MT_COUNT_] = {
    [GP_MT_HELLO] = h_hello,       [GP_MT_PING] = h_ping,
    [GP_MT_STATUS] = h_status,     [GP_MT_STORE] = h_store,
    [GP_MT_PUT] = h_put,           [GP_MT_MULTIPLY] = h_multiply,
    [GP_MT_FETCH] = h_fetch,       [GP_MT_DROP] = h_drop,
    [GP_MT_ACTIVATE] = h_local,    [GP_MT_HADAMARD] = h_local,
    [GP_MT_UPDATE] = h_local,      [GP_MT_SUBMIT] = h_submit,
    [GP_MT_CANCEL] = h_cancel,     [GP_MT_JOB_STATUS] = h_job_status,
    [GP_MT_PARTIALS] = h_partials,
};

/* One message from the client socket: decoded, handled, answered. Every
 * request refused with an ERROR counts as a bad request. */
void on_client(daemon_s *d, int64_t t)
{
    zmq_msg_t part[4];
    int np, total = recv_parts(d->clients, part, 4, &np);
    if (total < 2) { /* nothing, or no route back: nobody to answer */
        for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
        return;
    }
    d->n.requests++;
    /* route: the identity, and the empty delimiter a REQ socket adds */
    int nroute = (np >= 3 && zmq_msg_size(&part[1]) == 0) ? 2 : 1;
    zmq_msg_t *body = &part[np - 1];
    gp_pmsg m, r;
    gp_msg why = {{0}};
    gp_err e;
    gp_pmsg_init(&r, GP_MT_NONE, 0);
    m.id = 0;
    if (total - nroute != 1) {
        e = gp_fail(&why, GP_EFORMAT, "a request is one frame (after routing)");
    } else if ((e = gp_proto_decode(zmq_msg_data(body), zmq_msg_size(body), &m, &why)) != GP_OK) {
        /* why says what is wrong; m.id is the request's id where it was read */
    } else if (m.type >= GP_MT_COUNT_ || !client_handlers[m.type]) {
        e = gp_fail(&why, GP_EINVAL, "%s is not a request a client can send",
                    gp_mtype_name(m.type));
    } else {
        request q = {d, &m, part, nroute, t};
        e = client_handlers[m.type](&q, &r, &why);
    }
    if (e != GP_OK) {
        d->n.bad_requests++;
        reply_error(d, part, nroute, m.id, e, why.text);
    } else if (r.type != GP_MT_NONE && !send_msg(d->clients, part, nroute, &r, NULL)) {
        d->n.replies_dropped++;
    }
    for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
}

/* ---- peer messages --------------------------------------------------------------------- */

/* A handler of a message from peer `from` (checked: a node of the cluster,
 * not this one, and with CURVE the key it connected with is that node's). */
typedef void (*peer_fn)(daemon_s *d, const gp_pmsg *m, int from, int64_t t);

/* JOB_PARTIAL: a training exchange's, for the trainer (a client product's
 * PARTIAL goes to ops.c) */
static void p_job_partial(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    (void)t;
    if (tr_partial(d->tr, m, from, m->v[GP_F_VALUE].m.frame == 1 ? d->in_frame : NULL))
        d->n.partials_received++;
    else
        d->n.partials_late++;
}

/* JOIN: a rejoining node asks where the job is; the trainer answers */
static void p_join(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    (void)t;
    void *buf;
    size_t len;
    if (!d->out[from]) return;
    if (tr_join(d->tr, m, from, &buf, &len)) {
        zmq_send(d->out[from], buf, len, ZMQ_DONTWAIT);
        free(buf);
    }
}

static void p_join_info(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    (void)t;
    tr_join_info(d->tr, m, from);
}

/* What a peer may send; anything else is dropped and counted. */
static const peer_fn peer_handlers[GP_MT_COUNT_] = {
    [GP_MT_HEARTBEAT] = on_heartbeat,
    [GP_MT_PARTIAL] = on_partial,
    [GP_MT_JOB_PARTIAL] = p_job_partial,
    [GP_MT_JOIN] = p_join,
    [GP_MT_JOIN_INFO] = p_join_info,
    [GP_MT_BLOCK_REQ] = on_block_req,
    [GP_MT_BLOCK] = on_block,
};

void on_peer(daemon_s *d, int64_t t)
{
    /* [identity, header, and up to GP_PROTO_MAX_FRAMES frames of matrix data] */
    zmq_msg_t part[2 + GP_PROTO_MAX_FRAMES];
    int np, total = recv_parts(d->peers, part, 2 + GP_PROTO_MAX_FRAMES, &np);
    if (total == 0) return;
    bool ok = total >= 2 && total == np; /* part[0]: the connection's id, ZeroMQ's own */
    d->n.peer_messages++;
    gp_pmsg m;
    int from = -1;
    gp_pstr frames[GP_PROTO_MAX_FRAMES];
    for (int i = 2; i < np; i++)
        frames[i - 2] = (gp_pstr){zmq_msg_data(&part[i]), zmq_msg_size(&part[i])};
    if (ok &&
        gp_proto_decode_frames(zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), frames, np - 2, &m,
                               NULL) == GP_OK &&
        gp_pmsg_has(&m, GP_F_FROM) && m.v[GP_F_FROM].u < (uint64_t)d->cfg->nnodes &&
        (int)m.v[GP_F_FROM].u != d->self) {
        char want[32];
        from = (int)m.v[GP_F_FROM].u;
        snprintf(want, sizeof want, "node-%d", from);
        const char *user = d->cfg->curve ? zmq_msg_gets(&part[1], "User-Id") : want;
        if (!user || strcmp(user, want) != 0)
            from = -1; /* with CURVE: the key it connected with is not that node's */
    }
    d->in_frame = np > 2 ? &part[2] : NULL;
    if (from >= 0 && m.type < GP_MT_COUNT_ && peer_handlers[m.type])
        peer_handlers[m.type](d, &m, from, t);
    else
        d->n.peer_dropped++;
    d->in_frame = NULL;
    for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
}
