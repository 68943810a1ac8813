/* gpdotd - the gpdot daemon: one per machine of a cluster.
 *
 *   gpdotd --config CLUSTER.yaml --node ID [--key FILE]   serve as node ID
 *   gpdotd --config CLUSTER.yaml --check-config [--node ID [--key FILE]]
 *
 * With a security section in the cluster file, every endpoint is a CURVE
 * server and every peer link a CURVE client (keys from --key FILE, else
 * $CREDENTIALS_DIRECTORY/gpdotd.key as systemd's LoadCredential= gives it);
 * zap.c decides who gets in.
 *
 * One I/O thread runs the zmq_poll loop over two bound ROUTER sockets, one
 * for clients and one for peers, a DEALER connected to each peer's ROUTER,
 * and the socket on which the worker threads (gp_pool.h) report finished
 * jobs. The loop never does BLAS work itself.
 *
 * A coded product (MULTIPLY) goes like this on every daemon: the client's
 * request arrives with the input; a worker encodes it for this node and
 * computes the node's coded product; the loop sends that PARTIAL to every
 * peer and collects theirs; when every node that is up has answered, or the
 * peer timeout has passed, a worker decodes from what arrived, and the loop
 * stores the result under its name and answers the client. No daemon waits
 * for a particular other one, and none is special.
 *
 * Malformed requests get an ERROR reply; malformed or unexpected peer
 * traffic is dropped and counted; the daemon goes on serving either way.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gp_code.h"
#include "gp_config.h"
#include "gp_detmath.h"
#include "gp_pool.h"
#include "log.h"
#include "notify.h"
#include "trainer.h"
#include "zap.h"
#include "gp_proto.h"
#include "gp_rng.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int node_id = -1;

#define logf_(...) gp_log(node_id, __VA_ARGS__)

/* Counters shown by STATUS, by name. */
#define COUNTERS(X)                                                                                \
    X(requests)                                                                                    \
    X(bad_requests)                                                                                \
    X(replies_dropped)                                                                             \
    X(peer_messages)                                                                               \
    X(peer_dropped)                                                                                \
    X(heartbeats_sent)                                                                             \
    X(heartbeats_received)                                                                         \
    X(heartbeats_unsent)                                                                           \
    X(operations)                                                                                  \
    X(partials_sent)                                                                               \
    X(partial_bytes_sent)                                                                          \
    X(partials_received)                                                                           \
    X(partials_late)                                                                               \
    X(errors_injected)                                                                             \
    X(errors_corrected)                                                                            \
    X(errors_detected)                                                                             \
    X(connections_refused)

typedef struct counters {
#define X(name) uint64_t name;
    COUNTERS(X)
#undef X
} counters;

#define MAX_ENTRIES 256          /* named matrices held */
#define MAX_OPS     128          /* coded operations in flight, pending ones included */
#define MAX_PENDING 96           /* of which started by a peer's partial, not yet by a client:
                                    a node behind on its client socket still keeps every partial
                                    (their bytes count against MAX_BYTES like any other) */
#define MAX_BYTES   (1ull << 32) /* bytes of named matrices and operation buffers */
#define RECENT      256          /* finished operation ids remembered, to drop late partials */

/* A named matrix: this node's coded block of a stored matrix, or a whole
 * value (a decoded result). */
typedef struct entry {
    bool used, coded;
    char name[GP_PROTO_MAX_NAME + 1];
    gp_rmat m;
    size_t rows, cols; /* of the whole matrix */
    gp_code_t *code;   /* coded entries */
    int busy;          /* operations reading it */
    bool writing;      /* an update is changing it */
    uint64_t updates;  /* coded updates applied since it was stored */
} entry;

enum { OP_PENDING, OP_PRODUCT, OP_COLLECT, OP_DECODE, OP_LOCAL };

/* Local operations: every daemon holds full copies of results, so these run
 * on its own copy, no exchange needed. */
typedef enum { LOC_ACTIVATE, LOC_HADAMARD, LOC_UPDATE } lockind;

typedef enum { FN_RELU, FN_TANH, FN_SIGMOID, FN_SOFTMAX, FN_IDENTITY } actfn;

/* One coded product, keyed by the client's request id. */
typedef struct op {
    bool used, started;
    int stage;
    uint64_t id;
    zmq_msg_t route; /* the client to answer */
    int w;           /* the stored matrix */
    gp_dir dir;
    char out[GP_PROTO_MAX_NAME + 1];
    gp_rmat x;           /* the input, owned */
    size_t orows, batch; /* each node output is orows x batch */
    gp_rmat part[GP_CONFIG_MAX_NODES];
    uint64_t have; /* nodes whose output is in part[] */
    int64_t created, deadline;
    size_t bytes;
    int injected;
    /* filled by the decode job */
    gp_rmat result;
    gp_decode_report rep;
    gp_err derr;
    gp_msg why;
    const struct daemon_s *d;
    bool fetchw; /* a FETCH of a stored matrix: parts are the nodes' blocks */
    bool digest_only;
    bool unverified; /* the client takes a product decoded from exactly K (DONE says spare 0) */
    /* local operations */
    lockind loc;
    int a, b; /* the entries read: activation a; Hadamard a, b; update delta a, input b */
    actfn fn;
    bool deriv;
    double alpha;
} op;

typedef struct daemon_s {
    const gp_config *cfg;
    int self;
    void *ctx, *clients, *peers, *out[GP_CONFIG_MAX_NODES];
    int64_t started, last_seen[GP_CONFIG_MAX_NODES], next_heartbeat;
    uint64_t epoch;
    counters n;
    gp_pool_t *pool;
    gp_trainer *tr;
    entry ent[MAX_ENTRIES];
    op ops[MAX_OPS];
    uint64_t recent[RECENT];
    int nrecent;
    uint64_t bytes;
    gp_zap *zap;
    const char *pub, *sec; /* this node's CURVE keys (Z85), with security */
} daemon_s;

/* Every socket is made here, with its limits: */
static void *sock_new(daemon_s *d, int type)
{
    void *s = zmq_socket(d->ctx, type);
    if (!s) return NULL;
    int linger = 0; /* never block shutdown on unsent messages */
    int hwm = 1000; /* bounded queues: messages beyond are dropped, not buffered */
    int64_t maxmsg = d->cfg->max_message; /* larger frames are refused by ZeroMQ itself */
    int ivl = (int)d->cfg->heartbeat_ms, tmo = (int)d->cfg->peer_timeout_ms; /* ZMTP liveness */
    /* a lost peer is tried again every half second at most, and a connection
     * attempt into a cut network gives up after a quarter of the peer
     * timeout (else TCP's own SYN back-off, 1, 3, 7, 15 s..., decides when a
     * link that has come back is used again) */
    int reconnect = 100, reconnect_max = 500;
    int connect_tmo = tmo / 4 < 250 ? 250 : tmo / 4 > 2000 ? 2000 : tmo / 4;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    zmq_setsockopt(s, ZMQ_CONNECT_TIMEOUT, &connect_tmo, sizeof connect_tmo);
    return s;
}

/* CURVE on a socket, with security: a server in ZAP domain `domain`, or (domain
 * NULL) a client of the node whose public key is `server`. */
static bool sock_secure(daemon_s *d, void *s, const char *domain, const char *server)
{
    if (!d->cfg->curve) return true;
    int one = 1;
    if (domain)
        return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
               zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, d->sec, GP_KEY_LEN) == 0 &&
               zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0;
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, GP_KEY_LEN) == 0 &&
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, d->pub, GP_KEY_LEN) == 0 &&
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, d->sec, GP_KEY_LEN) == 0;
}

static bool peer_up(const daemon_s *d, int p, int64_t t)
{
    return p == d->self || (d->last_seen[p] > 0 && t - d->last_seen[p] <= d->cfg->peer_timeout_ms);
}

/* Sends an encoded message on s, after the routing frames (route may be NULL). */
static bool send_msg(void *s, zmq_msg_t *route, int nroute, const gp_pmsg *m, gp_msg *why)
{
    void *buf;
    size_t len;
    if (gp_proto_encode(m, &buf, &len, why) != GP_OK) return false;
    bool ok = true;
    for (int i = 0; i < nroute && ok; i++) {
        zmq_msg_t copy;
        zmq_msg_init(&copy);
        zmq_msg_copy(&copy, &route[i]);
        ok = zmq_msg_send(&copy, s, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0;
        if (!ok) zmq_msg_close(&copy);
    }
    ok = ok && zmq_send(s, buf, len, ZMQ_DONTWAIT) >= 0;
    free(buf);
    return ok;
}

/* An ERROR reply; r keeps a pointer to reason until it is sent. */
static void error_msg(gp_pmsg *r, uint64_t id, gp_err code, const char *reason)
{
    gp_pmsg_init(r, GP_MT_ERROR, id);
    gp_pmsg_uint(r, GP_F_CODE, (uint64_t)code);
    gp_pmsg_str(r, GP_F_ERROR, gp_errname(code));
    gp_pmsg_str(r, GP_F_REASON, reason);
    if (r->v[GP_F_REASON].s.len > GP_PROTO_MAX_STR) /* cut, rather than refuse to send */
        r->v[GP_F_REASON].s.len = GP_PROTO_MAX_STR;
}

static void heartbeat(daemon_s *d, int64_t t)
{
    gp_pmsg m;
    uint64_t up[GP_CONFIG_MAX_NODES];
    size_t nup = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (peer_up(d, p, t)) up[nup++] = (uint64_t)p;
    gp_pmsg_init(&m, GP_MT_HEARTBEAT, ++d->epoch);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)d->self);
    gp_pmsg_uint(&m, GP_F_EPOCH, d->epoch);
    gp_pmsg_ids(&m, GP_F_UP, up, nup);
    for (int p = 0; p < d->cfg->nnodes; p++) {
        if (p == d->self) continue;
        if (send_msg(d->out[p], NULL, 0, &m, NULL))
            d->n.heartbeats_sent++;
        else
            d->n.heartbeats_unsent++; /* peer not connected or its queue full: it is down */
    }
}

/* Receives every part of one message from s: the first `max` into part[]
 * (to be closed by the caller), the others discarded. Returns how many parts
 * the message had (0 if none was waiting). */
static int recv_parts(void *s, zmq_msg_t *part, int max, int *kept)
{
    int total = 0, more = 1;
    *kept = 0;
    while (more) {
        zmq_msg_t tmp;
        zmq_msg_init(&tmp);
        if (zmq_msg_recv(&tmp, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&tmp);
            break;
        }
        more = zmq_msg_more(&tmp);
        total++;
        if (*kept < max)
            part[(*kept)++] = tmp;
        else
            zmq_msg_close(&tmp);
    }
    return total;
}

/* ---- named matrices -------------------------------------------------------------------- */

static bool str_is(gp_pstr a, const char *b)
{
    return a.len == strlen(b) && memcmp(a.p, b, a.len) == 0;
}

static int find_entry(const daemon_s *d, gp_pstr name)
{
    for (int i = 0; i < MAX_ENTRIES; i++)
        if (d->ent[i].used && str_is(name, d->ent[i].name)) return i;
    return -1;
}

static void entry_free(daemon_s *d, entry *e)
{
    d->bytes -= e->m.rows * e->m.cols * sizeof(double);
    gp_rmat_free(&e->m);
    gp_code_destroy(&e->code);
    memset(e, 0, sizeof *e);
}

/* Puts m (owned; taken over) under name, replacing what was there unless it
 * is in use. */
static gp_err entry_put(daemon_s *d, gp_pstr name, gp_rmat *m, bool coded, size_t rows, size_t cols,
                        gp_code_t **code, gp_msg *why)
{
    int i = find_entry(d, name);
    if (i >= 0 && d->ent[i].busy)
        return gp_fail(why, GP_ESTATE, "'%.*s' is in use by an operation", (int)name.len, name.p);
    if (i >= 0) entry_free(d, &d->ent[i]);
    for (i = 0; i < MAX_ENTRIES && d->ent[i].used; i++) continue;
    if (i == MAX_ENTRIES) return gp_fail(why, GP_ERANGE, "%d matrices held already", MAX_ENTRIES);
    entry *e = &d->ent[i];
    e->used = true;
    e->coded = coded;
    memcpy(e->name, name.p, name.len);
    e->name[name.len] = 0;
    e->m = *m;
    memset(m, 0, sizeof *m);
    e->rows = rows;
    e->cols = cols;
    if (code) {
        e->code = *code;
        *code = NULL;
    }
    return GP_OK;
}

/* A matrix from the wire, as doubles; refuses NaN and Inf (a client's data). */
static gp_err mat_in(daemon_s *d, gp_pmat x, const char *what, gp_rmat *m, gp_msg *why)
{
    size_t n = (size_t)x.rows * x.cols, bytes = n * sizeof(double);
    if (d->bytes + bytes > MAX_BYTES)
        return gp_fail(why, GP_ERANGE, "no room for %s: the daemon holds %llu bytes already", what,
                       (unsigned long long)d->bytes);
    if (gp_rmat_alloc(m, x.rows, x.cols) != GP_OK)
        return gp_fail(why, GP_ENOMEM, "no memory for %s", what);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (x.f32) {
            float f;
            memcpy(&f, (const char *)x.data + 4 * i, 4);
            v = f;
        } else {
            memcpy(&v, (const char *)x.data + 8 * i, 8);
        }
        if (!(v - v == 0)) {
            gp_rmat_free(m);
            return gp_fail(why, GP_EINVAL, "%s holds NaN or Inf (at row %zu, column %zu)", what,
                           i / x.cols, i % x.cols);
        }
        m->data[i] = v;
    }
    d->bytes += bytes;
    return GP_OK;
}

static void mat_release(daemon_s *d, gp_rmat *m)
{
    if (!m->data) return;
    d->bytes -= m->rows * m->cols * sizeof(double);
    gp_rmat_free(m);
}

static gp_err do_store(daemon_s *d, const gp_pmsg *m, gp_msg *why)
{
    gp_code_params cp = {
        .nodes = d->cfg->nnodes, .m = (int)m->v[GP_F_M].u, .n = (int)m->v[GP_F_N].u};
    char scheme[32];
    gp_pstr sc = m->v[GP_F_SCHEME].s, orient = m->v[GP_F_ORIENTATION].s;
    snprintf(scheme, sizeof scheme, "%.*s", (int)(sc.len < 31 ? sc.len : 31), sc.p);
    if (gp_scheme_parse(scheme, &cp.scheme) != GP_OK)
        return gp_fail(why, GP_EINVAL, "unknown scheme '%s'", scheme);
    if (str_is(orient, "row"))
        cp.orient = GP_ORIENT_ROW;
    else if (str_is(orient, "col"))
        cp.orient = GP_ORIENT_COL;
    else if (str_is(orient, "auto"))
        cp.orient = GP_ORIENT_AUTO;
    else
        return gp_fail(why, GP_EINVAL, "orientation must be row, col or auto");
    uint64_t rows = m->v[GP_F_ROWS].u, cols = m->v[GP_F_COLS].u;
    if (rows < 1 || cols < 1 || rows > GP_PROTO_MAX_ELEMS || cols > GP_PROTO_MAX_ELEMS ||
        cp.m < 1 || cp.n < 1 || cp.m > GP_MAX_SPLIT || cp.n > GP_MAX_SPLIT)
        return gp_fail(why, GP_EINVAL, "a %llux%llu matrix in %dx%d blocks is not possible",
                       (unsigned long long)rows, (unsigned long long)cols, cp.m, cp.n);
    gp_code_t *code;
    gp_err e = gp_code_new(&cp, &code, why);
    if (e != GP_OK) return e;
    gp_pmat b = m->v[GP_F_BLOCK].m;
    size_t br = gp_code_block_rows(code, rows), bc = gp_code_block_cols(code, cols);
    if (b.rows != br || b.cols != bc) {
        gp_code_destroy(&code);
        return gp_fail(why, GP_EINVAL,
                       "node %d's block of a %llux%llu matrix is %zux%zu, not %ux%u", d->self,
                       (unsigned long long)rows, (unsigned long long)cols, br, bc, b.rows, b.cols);
    }
    gp_rmat blk;
    if ((e = mat_in(d, b, "the block", &blk, why)) != GP_OK) {
        gp_code_destroy(&code);
        return e;
    }
    e = entry_put(d, m->v[GP_F_NAME].s, &blk, true, rows, cols, &code, why);
    mat_release(d, &blk);
    gp_code_destroy(&code);
    return e;
}

/* ---- coded products ------------------------------------------------------------------- */

static void remember_finished(daemon_s *d, uint64_t id)
{
    d->recent[d->nrecent++ % RECENT] = id;
}

static bool finished(const daemon_s *d, uint64_t id)
{
    int n = d->nrecent < RECENT ? d->nrecent : RECENT;
    for (int i = 0; i < n; i++)
        if (d->recent[i] == id) return true;
    return false;
}

static op *find_op(daemon_s *d, uint64_t id)
{
    for (int i = 0; i < MAX_OPS; i++)
        if (d->ops[i].used && d->ops[i].id == id) return &d->ops[i];
    return NULL;
}

static op *new_op(daemon_s *d, uint64_t id, bool pending, int64_t t)
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

static void op_free(daemon_s *d, op *o)
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
    remember_finished(d, o->id);
    memset(o, 0, sizeof *o);
}

static void reply_to(daemon_s *d, op *o, const gp_pmsg *r)
{
    if (!send_msg(d->clients, &o->route, 1, r, NULL)) d->n.replies_dropped++;
}

/* Worker: this node's encoded input and coded product, and a fault if the
 * cluster file asks for one. */
/* Injects the faults the cluster file asks for at one kind of step: each
 * rule for this node and kind fires with its probability and adds its
 * magnitude, with a random sign, to one random entry of m. The random
 * stream depends on the seed, the node, the operation and the kind only, so
 * an experiment repeats. Returns the number injected. */
static int inject(const daemon_s *d, gp_fault_op kind, uint64_t opid, gp_rmat m)
{
    if (!m.data || !m.rows || !m.cols) return 0;
    gp_rng r;
    gp_rng_seed(&r, (uint64_t)d->cfg->fault_seed * 0x9E3779B97F4A7C15ull ^
                        opid * 0x2545F4914F6CDD1Dull ^ (uint64_t)d->self << 8 ^ (uint64_t)kind);
    int n = 0;
    for (int i = 0; i < d->cfg->nrules; i++) {
        const gp_fault_rule *f = &d->cfg->rules[i];
        if (f->op != kind || (f->node >= 0 && f->node != d->self)) continue;
        if (gp_rng_uniform(&r) >= f->probability) continue;
        size_t at = gp_rng_below(&r, m.rows * m.cols);
        m.data[at / m.cols * m.ld + at % m.cols] +=
            gp_rng_uniform(&r) < 0.5 ? -f->magnitude : f->magnitude;
        n++;
    }
    return n;
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
        o->injected += inject(d, GP_FAULT_ENCODE, o->id, enc);
        gp_code_node_product(o->dir, e->m, enc, *y);
    }
    gp_rmat_free(&enc);
    o->injected += inject(d, GP_FAULT_MULTIPLY, o->id, *y);
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
        o->derr = gp_code_decode_stored(e->code, o->dir, e->rows, e->cols, o->batch, e->updates, outs, n, o->result,
                                 &o->rep, &o->why);
    /* asked for: a product from exactly K outputs, flagged by DONE's spare 0 */
    if (o->derr == GP_EUNVERIFIED && o->unverified && !o->fetchw) o->derr = GP_OK;
    if (o->derr == GP_OK) o->injected += inject(d, GP_FAULT_DECODE, o->id, o->result);
}

#define TAG(kind, slot) ((uint64_t)(kind) << 32 | (uint64_t)(slot))

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
        reply_to(d, o, &r);
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
    gp_pmsg_uint(&m, GP_F_STEP, 0);
    gp_pmsg_uint(&m, GP_F_LAYER, 0);
    gp_pmsg_str(&m, GP_F_PHASE, o->dir == GP_FORWARD ? "fwd" : "bwd");
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)d->self);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){(uint32_t)y->rows, (uint32_t)y->cols, false, y->data});
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
                                  o->result.data});
        reply_to(d, o, &r);
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
    reply_to(d, o, &r);
    op_free(d, o);
}

static void local_done(daemon_s *d, op *o);

static void on_pool(daemon_s *d, int64_t t)
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

/* ---- local operations --------------------------------------------------------------- */

static double act(actfn f, bool deriv, double x)
{
    switch (f) {
    case FN_RELU:
        return deriv ? (x > 0 ? 1.0 : 0.0) : (x > 0 ? x : 0.0);
    case FN_TANH: {
        double t = gp_det_tanh(x);
        return deriv ? 1.0 - t * t : t;
    }
    case FN_SIGMOID: {
        double sg = 1.0 / (1.0 + gp_det_exp(-x));
        return deriv ? sg * (1.0 - sg) : sg;
    }
    default:
        return deriv ? 1.0 : x;
    }
}

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
            o->injected += inject(d, GP_FAULT_ENCODE, o->id, dt);
            gp_code_node_update(o->alpha, dt, xt, w->m);
            o->injected += inject(d, GP_FAULT_UPDATE, o->id, w->m);
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
        o->injected += inject(d, GP_FAULT_HADAMARD, o->id, *y);
    } else if (o->fn == FN_SOFTMAX) { /* over the rows of each column: a column is a sample */
        for (size_t c = 0; c < A.cols; c++) {
            double mx = -INFINITY, sum = 0;
            for (size_t r = 0; r < A.rows; r++)
                if (A.data[r * A.cols + c] > mx) mx = A.data[r * A.cols + c];
            for (size_t r = 0; r < A.rows; r++) {
                double e = gp_det_exp(A.data[r * A.cols + c] - mx);
                y->data[r * A.cols + c] = e;
                sum += e;
            }
            for (size_t r = 0; r < A.rows; r++) y->data[r * A.cols + c] /= sum;
        }
        o->injected += inject(d, GP_FAULT_ACTIVATION, o->id, *y);
    } else {
        for (size_t i = 0; i < A.rows * A.cols; i++) y->data[i] = act(o->fn, o->deriv, A.data[i]);
        o->injected += inject(d, GP_FAULT_ACTIVATION, o->id, *y);
    }
    o->derr = GP_OK;
}

static void local_done(daemon_s *d, op *o)
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
    reply_to(d, o, &r);
    op_free(d, o);
}

/* A value entry by name (not a stored coded matrix), or -1 with a reason. */
static int value_entry(daemon_s *d, gp_pstr name, gp_msg *why)
{
    int i = find_entry(d, name);
    if (i < 0 || d->ent[i].coded) {
        gp_fail(why, GP_ENOTFOUND, "no result named '%.*s'", (int)name.len, name.p);
        return -1;
    }
    return i;
}

/* ACTIVATE, HADAMARD and UPDATE from a client. */
static gp_err do_local(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why)
{
    op tmp = {.a = -1, .b = -1, .w = -1};
    if (m->type == GP_MT_ACTIVATE) {
        static const char *const names[] = {"relu", "tanh", "sigmoid", "softmax", "identity"};
        int fn = -1;
        for (int i = 0; i < 5; i++)
            if (str_is(m->v[GP_F_FN].s, names[i])) fn = i;
        if (fn < 0)
            return gp_fail(why, GP_EINVAL, "fn must be relu, tanh, sigmoid, softmax or identity");
        tmp.loc = LOC_ACTIVATE;
        tmp.fn = (actfn)fn;
        tmp.deriv = gp_pmsg_has(m, GP_F_DERIVATIVE) && m->v[GP_F_DERIVATIVE].b;
        if (tmp.fn == FN_SOFTMAX && tmp.deriv)
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
    if (finished(d, m->id) || find_op(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    op *o = new_op(d, m->id, false, t);
    if (!o) return gp_fail(why, GP_ERANGE, "%d operations in progress already", MAX_OPS);
    o->loc = tmp.loc;
    o->a = -1;
    o->b = -1;
    o->fn = tmp.fn;
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

/* MULTIPLY from a client: checks, then the product on a worker. */
static gp_err do_multiply(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why)
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
    if (finished(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    op *o = find_op(d, m->id);
    if (o && o->started)
        return gp_fail(why, GP_ESTATE, "request id %llu is in progress", (unsigned long long)m->id);
    if (!o && !(o = new_op(d, m->id, false, t)))
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
static gp_err do_fetch_coded(daemon_s *d, const gp_pmsg *m, int w, zmq_msg_t *route, int64_t t,
                             gp_msg *why)
{
    entry *e = &d->ent[w];
    if (e->writing) return gp_fail(why, GP_ESTATE, "'%s' is being updated", e->name);
    if (finished(d, m->id) || find_op(d, m->id))
        return gp_fail(why, GP_ESTATE, "request id %llu was used already",
                       (unsigned long long)m->id);
    size_t bytes = (d->cfg->nnodes * e->m.rows * e->m.cols + e->rows * e->cols) * sizeof(double);
    if (d->bytes + bytes > MAX_BYTES)
        return gp_fail(why, GP_ERANGE, "no room to gather the blocks of '%s'", e->name);
    op *o = new_op(d, m->id, false, t);
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
static void on_block_req(daemon_s *d, const gp_pmsg *m, int from)
{
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
                (gp_pmat){(uint32_t)e->m.rows, (uint32_t)e->m.cols, false, e->m.data});
    send_msg(d->out[from], NULL, 0, &r, NULL);
}

/* BLOCK from a peer, for a FETCH in progress. */
static void on_block(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    op *o = find_op(d, m->id);
    gp_pmat v = m->v[GP_F_VALUE].m;
    if (!o || !o->fetchw || o->stage != OP_COLLECT || (o->have >> from & 1) || v.rows != o->orows ||
        v.cols != o->batch || v.f32 || !str_is(m->v[GP_F_NAME].s, d->ent[o->w].name)) {
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
static void on_partial(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    uint64_t id = m->v[GP_F_OP].u;
    gp_pmat v = m->v[GP_F_VALUE].m;
    op *o = find_op(d, id);
    if (!o && finished(d, id)) {
        d->n.partials_late++;
        return;
    }
    if (!o && !(o = new_op(d, id, true, t))) {
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
static void on_tick(daemon_s *d, int64_t t)
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

/* ---- requests from clients ------------------------------------------------------------ */

static void reply_error(daemon_s *d, zmq_msg_t *route, int nroute, uint64_t id, gp_err code,
                        const char *reason)
{
    gp_pmsg m;
    error_msg(&m, id, code, reason);
    if (!send_msg(d->clients, route, nroute, &m, NULL)) d->n.replies_dropped++;
}

static void status_reply(daemon_s *d, gp_pmsg *r, int64_t t)
{
    uint64_t up[GP_CONFIG_MAX_NODES];
    size_t nup = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (peer_up(d, p, t)) up[nup++] = (uint64_t)p;
    gp_pmsg_uint(r, GP_F_NODE, (uint64_t)d->self);
    gp_pmsg_ids(r, GP_F_NODES_UP, up, nup);
    gp_pmsg_names(r, GP_F_MATRICES, NULL, 0);
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

static void on_client(daemon_s *d, int64_t t)
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
    if (total - nroute != 1) {
        d->n.bad_requests++;
        reply_error(d, part, nroute, 0, GP_EFORMAT, "a request is one frame (after routing)");
        goto done;
    }
    gp_pmsg m, r;
    gp_msg why = {{0}};
    gp_err e = gp_proto_decode(zmq_msg_data(body), zmq_msg_size(body), &m, &why);
    if (e != GP_OK) {
        d->n.bad_requests++;
        reply_error(d, part, nroute, m.id, e, why.text);
        goto done;
    }
    switch (m.type) {
    case GP_MT_HELLO:
        gp_pmsg_init(&r, GP_MT_HELLO_OK, m.id);
        gp_pmsg_uint(&r, GP_F_NODE, (uint64_t)d->self);
        gp_pmsg_uint(&r, GP_F_NODES, (uint64_t)d->cfg->nnodes);
        gp_pmsg_uint(&r, GP_F_VERSION, GP_PROTO_VERSION);
        gp_pmsg_str(&r, GP_F_CLUSTER, d->cfg->cluster);
        break;
    case GP_MT_PING:
        gp_pmsg_init(&r, GP_MT_PONG, m.id);
        gp_pmsg_uint(&r, GP_F_NODE, (uint64_t)d->self);
        gp_pmsg_uint(&r, GP_F_UPTIME_MS, (uint64_t)(t - d->started));
        break;
    case GP_MT_STATUS:
        gp_pmsg_init(&r, GP_MT_STATUS_OK, m.id);
        status_reply(d, &r, t);
        break;
    case GP_MT_STORE:
        if ((e = do_store(d, &m, &why)) != GP_OK) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, e, why.text);
            goto done;
        }
        gp_pmsg_init(&r, GP_MT_OK, m.id);
        break;
    case GP_MT_PUT: {
        gp_rmat v;
        if ((e = mat_in(d, m.v[GP_F_VALUE].m, "the value", &v, &why)) == GP_OK) {
            e = entry_put(d, m.v[GP_F_NAME].s, &v, false, v.rows, v.cols, NULL, &why);
            mat_release(d, &v);
        }
        if (e != GP_OK) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, e, why.text);
            goto done;
        }
        gp_pmsg_init(&r, GP_MT_OK, m.id);
        break;
    }
    case GP_MT_MULTIPLY:
        if (nroute != 1) {
            reply_error(d, part, nroute, m.id, GP_ENOTSUP, "coded products need a DEALER client");
            goto done;
        }
        if ((e = do_multiply(d, &m, &part[0], t, &why)) != GP_OK) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, e, why.text);
        }
        goto done; /* answered when decoded */
    case GP_MT_FETCH: {
        int i = find_entry(d, m.v[GP_F_NAME].s);
        if (i < 0) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, GP_ENOTFOUND, "no such matrix");
            goto done;
        }
        if (d->ent[i].coded) {
            if (nroute != 1)
                reply_error(d, part, nroute, m.id, GP_ENOTSUP, "fetches need a DEALER client");
            else if ((e = do_fetch_coded(d, &m, i, &part[0], t, &why)) != GP_OK)
                reply_error(d, part, nroute, m.id, e, why.text);
            goto done; /* answered when decoded */
        }
        const entry *en = &d->ent[i];
        gp_pmsg_init(&r, GP_MT_MATRIX, m.id);
        gp_pmsg_str(&r, GP_F_NAME, en->name);
        gp_pmsg_uint(&r, GP_F_DIGEST,
                     gp_proto_digest(en->m.data, en->m.rows * en->m.cols * sizeof(double)));
        if (!gp_pmsg_has(&m, GP_F_DIGEST_ONLY) || !m.v[GP_F_DIGEST_ONLY].b)
            gp_pmsg_mat(&r, GP_F_VALUE,
                        (gp_pmat){(uint32_t)en->m.rows, (uint32_t)en->m.cols, false, en->m.data});
        break;
    }
    case GP_MT_DROP: {
        int i = find_entry(d, m.v[GP_F_NAME].s);
        if (i < 0 || d->ent[i].busy) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, i < 0 ? GP_ENOTFOUND : GP_ESTATE,
                        i < 0 ? "no such matrix" : "in use by an operation");
            goto done;
        }
        entry_free(d, &d->ent[i]);
        gp_pmsg_init(&r, GP_MT_OK, m.id);
        break;
    }
    case GP_MT_ACTIVATE:
    case GP_MT_HADAMARD:
    case GP_MT_UPDATE:
        if (nroute != 1) {
            reply_error(d, part, nroute, m.id, GP_ENOTSUP, "operations need a DEALER client");
            goto done;
        }
        if ((e = do_local(d, &m, &part[0], t, &why)) != GP_OK) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, e, why.text);
        }
        goto done; /* answered when done */
    case GP_MT_SUBMIT:
        if ((e = tr_submit(d->tr, &m, &why)) != GP_OK) {
            d->n.bad_requests++;
            reply_error(d, part, nroute, m.id, e, why.text);
            goto done;
        }
        logf_("job %016llx submitted", (unsigned long long)m.v[GP_F_JOB].u);
        gp_pmsg_init(&r, GP_MT_OK, m.id);
        break;
    case GP_MT_CANCEL:
        if ((e = tr_cancel(d->tr, m.v[GP_F_JOB].u, &why)) != GP_OK) {
            reply_error(d, part, nroute, m.id, e, why.text);
            goto done;
        }
        gp_pmsg_init(&r, GP_MT_OK, m.id);
        break;
    case GP_MT_JOB_STATUS: {
        tr_scratch sc = {0};
        gp_pmsg_init(&r, GP_MT_JOB_INFO, m.id);
        if ((e = tr_info(d->tr, m.v[GP_F_JOB].u, &r, &sc, &why)) != GP_OK) {
            reply_error(d, part, nroute, m.id, e, why.text);
            goto done;
        }
        if (!send_msg(d->clients, part, nroute, &r, NULL)) d->n.replies_dropped++;
        free(sc.text);
        goto done;
    }
    case GP_MT_PARTIALS:
        d->n.bad_requests++;
        reply_error(d, part, nroute, m.id, GP_ENOTSUP, "partials are not kept by this version");
        goto done;
    default:
        d->n.bad_requests++;
        snprintf(why.text, sizeof why.text, "%s is not a request a client can send",
                 gp_mtype_name(m.type));
        reply_error(d, part, nroute, m.id, GP_EINVAL, why.text);
        goto done;
    }
    if (!send_msg(d->clients, part, nroute, &r, NULL)) d->n.replies_dropped++;
done:
    for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
}

/* ---- messages from peers --------------------------------------------------------------- */

static void on_peer(daemon_s *d, int64_t t)
{
    zmq_msg_t part[2];
    int np, total = recv_parts(d->peers, part, 2, &np);
    if (total == 0) return;
    bool ok = total == 2; /* [identity, frame] */
    zmq_msg_t *body = &part[np - 1]; /* part[0]: the connection's id, ZeroMQ's own */
    d->n.peer_messages++;
    gp_pmsg m;
    int from = -1;
    if (ok && gp_proto_decode(zmq_msg_data(body), zmq_msg_size(body), &m, NULL) == GP_OK &&
        gp_pmsg_has(&m, GP_F_FROM) && m.v[GP_F_FROM].u < (uint64_t)d->cfg->nnodes &&
        (int)m.v[GP_F_FROM].u != d->self) {
        char want[32];
        from = (int)m.v[GP_F_FROM].u;
        snprintf(want, sizeof want, "node-%d", from);
        const char *user = d->cfg->curve ? zmq_msg_gets(body, "User-Id") : want;
        if (!user || strcmp(user, want) != 0)
            from = -1; /* with CURVE: the key it connected with is not that node's */
    }
    if (from < 0) {
        d->n.peer_dropped++;
    } else if (m.type == GP_MT_HEARTBEAT) {
        if (d->last_seen[from] == 0 || t - d->last_seen[from] > d->cfg->peer_timeout_ms)
            logf_("node %d is up", from);
        d->last_seen[from] = t;
        d->n.heartbeats_received++;
    } else if (m.type == GP_MT_PARTIAL && str_is(m.v[GP_F_PHASE].s, "job")) {
        if (tr_partial(d->tr, &m, from))
            d->n.partials_received++;
        else
            d->n.partials_late++;
    } else if (m.type == GP_MT_PARTIAL) {
        on_partial(d, &m, from, t);
    } else if (m.type == GP_MT_JOIN && d->out[from]) {
        void *buf;
        size_t len;
        if (tr_join(d->tr, &m, from, &buf, &len)) {
            zmq_send(d->out[from], buf, len, ZMQ_DONTWAIT);
            free(buf);
        }
    } else if (m.type == GP_MT_JOIN_INFO) {
        tr_join_info(d->tr, &m, from);
    } else if (m.type == GP_MT_BLOCK_REQ) {
        on_block_req(d, &m, from);
    } else if (m.type == GP_MT_BLOCK) {
        on_block(d, &m, from, t);
    } else {
        d->n.peer_dropped++; /* nothing else is expected from a peer */
    }
    for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
}

/* ---- life cycle ------------------------------------------------------------------------ */

/* Drains up to 64 messages from a socket through fn, so that no socket can
 * starve the others. */
static void drain(daemon_s *d, void *sock, void (*fn)(daemon_s *, int64_t), int64_t t)
{
    for (int i = 0; i < 64; i++) {
        int ev = 0;
        size_t sz = sizeof ev;
        zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &sz);
        if (!(ev & ZMQ_POLLIN)) break;
        fn(d, t);
    }
}

static void shutdown_daemon(daemon_s *d)
{
    tr_destroy(&d->tr);        /* stops a running job */
    gp_pool_destroy(&d->pool); /* waits for running jobs, which use the tables below */
    for (int i = 0; i < MAX_OPS; i++)
        if (d->ops[i].used) op_free(d, &d->ops[i]);
    for (int i = 0; i < MAX_ENTRIES; i++)
        if (d->ent[i].used) entry_free(d, &d->ent[i]);
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (d->out[p]) zmq_close(d->out[p]);
    if (d->clients) zmq_close(d->clients);
    if (d->peers) zmq_close(d->peers);
    gp_zap_stop(&d->zap);
    if (d->ctx) zmq_ctx_term(d->ctx);
    free(d);
}

/* A finished job's block becomes a stored matrix, for FETCH. */
static void adopt(void *arg, const char *name, gp_rmat *block, size_t rows, size_t cols,
                  gp_code_t **code, uint64_t updates)
{
    daemon_s *d = arg;
    gp_msg why = {{0}};
    size_t bytes = block->rows * block->cols * sizeof(double);
    gp_pstr nm = {name, strlen(name)};
    if (entry_put(d, nm, block, true, rows, cols, code, &why) != GP_OK) {
        logf_("cannot keep %s: %s", name, why.text);
        return;
    }
    d->bytes += bytes;
    d->ent[find_entry(d, nm)].updates = updates;
}

static int serve(const gp_config *cfg, int self, const char *pub, const char *sec)
{
    daemon_s *d = calloc(1, sizeof *d); /* large: the tables of operations and matrices */
    if (!d) return 1;
    d->cfg = cfg;
    d->self = self;
    d->pub = pub;
    d->sec = sec;
    d->ctx = zmq_ctx_new();
    if (d->ctx && cfg->curve && !(d->zap = gp_zap_start(d->ctx, cfg, self))) {
        logf_("cannot start the ZAP handler: %s", zmq_strerror(errno));
        shutdown_daemon(d);
        return 1;
    }
    d->clients = d->ctx ? sock_new(d, ZMQ_ROUTER) : NULL;
    d->peers = d->ctx ? sock_new(d, ZMQ_ROUTER) : NULL;
    if (!d->clients || !d->peers || !sock_secure(d, d->clients, GP_ZAP_CLIENTS, NULL) ||
        !sock_secure(d, d->peers, GP_ZAP_PEERS, NULL)) {
        logf_("cannot create sockets: %s", zmq_strerror(errno));
        shutdown_daemon(d);
        return 1;
    }
    if (zmq_bind(d->clients, cfg->nodes[self].client) != 0 ||
        zmq_bind(d->peers, cfg->nodes[self].peer) != 0) {
        logf_("cannot bind %s / %s: %s", cfg->nodes[self].client, cfg->nodes[self].peer,
              zmq_strerror(errno));
        shutdown_daemon(d);
        return 1;
    }
    for (int p = 0; p < cfg->nnodes; p++) {
        if (p == self) continue;
        d->out[p] = sock_new(d, ZMQ_DEALER);
        /* Queue only to a live connection: a peer stopped (SIGSTOP, a hung
         * machine) misses the ZMTP heartbeats, its connection is closed and
         * what was queued for it is dropped, rather than waiting for it by
         * the thousand, stale, to be worked through before anything new
         * (its peers' answers to its JOIN, their heartbeats) when it goes on.
         * No fixed routing id: the peer's ROUTER would refuse the new
         * connection while the old one, with the same id, still drains
         * there, for seconds after the peer goes on. Who sent a message is
         * its `from`, and with CURVE the key it connected with. */
        int immediate = 1;
        if (!d->out[p] ||
            zmq_setsockopt(d->out[p], ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
            !sock_secure(d, d->out[p], NULL, cfg->nodes[p].public_key) ||
            zmq_connect(d->out[p], cfg->nodes[p].peer) != 0) {
            logf_("cannot connect to node %d at %s: %s", p, cfg->nodes[p].peer,
                  zmq_strerror(errno));
            shutdown_daemon(d);
            return 1;
        }
    }
    d->pool = gp_pool_new(d->ctx, (int)cfg->workers, (int)cfg->blas_threads);
    if (!d->pool) {
        logf_("cannot start %lld worker threads", (long long)cfg->workers);
        shutdown_daemon(d);
        return 1;
    }
    d->tr = tr_new(cfg, self, d->ctx);
    if (!d->tr) {
        logf_("cannot start the trainer thread");
        shutdown_daemon(d);
        return 1;
    }
    d->started = now_ms();
    d->next_heartbeat = d->started;
    logf_("node %d of %d serving clients on %s, peers on %s; %lld workers with %lld BLAS "
          "threads each; %s",
          self, cfg->nnodes, cfg->nodes[self].client, cfg->nodes[self].peer,
          (long long)cfg->workers, (long long)cfg->blas_threads,
          cfg->curve ? "CURVE on every endpoint" : "no authentication (no security section)");
    printf("ready\n");
    fflush(stdout);
    /* sockets bound, workers and trainer up: a Type=notify unit is started */
    gp_notify("READY=1\nSTATUS=node %d of %d: serving\nMAINPID=%d", self, cfg->nnodes,
              (int)getpid());
    char last_status[256] = "";
    int64_t next_status = d->started;
    while (!stop_requested) {
        int64_t t = now_ms();
        if (t >= d->next_heartbeat) {
            heartbeat(d, t);
            d->next_heartbeat = t + cfg->heartbeat_ms;
        }
        if (t >= next_status) { /* STATUS= for systemctl status, when it changes */
            char st[256], job[160];
            int up = 0;
            for (int p = 0; p < cfg->nnodes; p++) up += peer_up(d, p, t);
            tr_brief(d->tr, job, sizeof job);
            snprintf(st, sizeof st, "node %d: %d of %d nodes up; %s", self, up, cfg->nnodes, job);
            if (strcmp(st, last_status) != 0) {
                gp_notify("STATUS=%s", st);
                memcpy(last_status, st, sizeof st);
            }
            next_status = t + 1000;
        }
        on_tick(d, t);
        uint64_t up = 0;
        for (int p = 0; p < cfg->nnodes; p++)
            if (peer_up(d, p, t)) up |= 1ull << p;
        tr_set_up(d->tr, up);
        zmq_pollitem_t items[4] = {{d->clients, 0, ZMQ_POLLIN, 0},
                                   {d->peers, 0, ZMQ_POLLIN, 0},
                                   {gp_pool_socket(d->pool), 0, ZMQ_POLLIN, 0},
                                   {tr_socket(d->tr), 0, ZMQ_POLLIN, 0}};
        long wait = (long)(d->next_heartbeat - t);
        if (wait > 50) wait = 50; /* deadlines of operations are checked this often */
        int rc = zmq_poll(items, 4, wait < 0 ? 0 : wait);
        if (rc < 0) {
            if (errno == EINTR) continue;
            logf_("poll failed: %s", zmq_strerror(errno));
            break;
        }
        t = now_ms();
        if (items[3].revents & ZMQ_POLLIN)
            tr_forward(d->tr, d->out, adopt, d, &d->n.partials_sent, &d->n.partial_bytes_sent);
        if (items[2].revents & ZMQ_POLLIN) on_pool(d, t);
        /* clients first: a request that is waiting starts its operation before
         * the peers' partials for it arrive and have to be kept as pending */
        if (items[0].revents & ZMQ_POLLIN) drain(d, d->clients, on_client, t);
        if (items[1].revents & ZMQ_POLLIN) drain(d, d->peers, on_peer, t);
    }
    logf_("stopping");
    gp_notify("STOPPING=1\nSTATUS=node %d: stopping", self);
    shutdown_daemon(d);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: gpdotd --config CLUSTER.yaml --node ID [--key FILE]\n"
               "       gpdotd --config CLUSTER.yaml --check-config [--node ID [--key FILE]]\n"
               "--key: this node's CURVE key pair (gpdot-client keygen), when the cluster file\n"
               "has a security section; default $CREDENTIALS_DIRECTORY/gpdotd.key\n");
}

/* This node's key pair, with security: from --key or the systemd credential,
 * and it must be the one the cluster file names for the node. */
static int load_node_key(const gp_config *cfg, int self, const char *key_path, char *pub,
                         char *sec)
{
    char path[4096];
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    if (key_path)
        snprintf(path, sizeof path, "%s", key_path);
    else if (creds && *creds)
        snprintf(path, sizeof path, "%s/gpdotd.key", creds);
    else {
        fprintf(stderr,
                "gpdotd: %s has a security section: give node %d's key pair with --key FILE "
                "(made by gpdot-client keygen)\n",
                cfg->path, self);
        return 2;
    }
    gp_msg why = {{0}};
    char derived[GP_KEY_LEN + 1];
    if (gp_keypair_load(path, pub, sec, &why) != GP_OK) {
        fprintf(stderr, "gpdotd: %s\n", why.text);
        return 2;
    }
    if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0) {
        fprintf(stderr, "gpdotd: %s: the secret key does not belong to its public key\n", path);
        return 2;
    }
    if (strcmp(pub, cfg->nodes[self].public_key) != 0) {
        fprintf(stderr,
                "gpdotd: %s holds public key %s, but %s gives node %d the key %s: this is "
                "not node %d's key pair\n",
                path, pub, cfg->path, self, cfg->nodes[self].public_key, self);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = NULL, *key_path = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key_path = argv[++i];
        else if (!strcmp(argv[i], "--node") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v >= GP_CONFIG_MAX_NODES) {
                fprintf(stderr, "gpdotd: --node wants a node id, not '%s'\n", argv[i]);
                return 2;
            }
            node_id = (int)v;
        } else if (!strcmp(argv[i], "--check-config"))
            check = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!path || (!check && node_id < 0)) {
        usage(stderr);
        return 2;
    }
    static gp_config cfg;
    gp_msg why = {{0}};
    if (gp_config_load(path, &cfg, &why) != GP_OK) {
        fprintf(stderr, "gpdotd: %s\n", why.text);
        return 2;
    }
    if (node_id >= cfg.nnodes) {
        fprintf(stderr, "gpdotd: %s has nodes 0 .. %d; there is no node %d\n", path, cfg.nnodes - 1,
                node_id);
        return 2;
    }
    static char pub[GP_KEY_LEN + 1], sec[GP_KEY_LEN + 1];
    if (cfg.curve && !zmq_has("curve")) {
        fprintf(stderr, "gpdotd: %s asks for CURVE, but this libzmq was built without it\n",
                path);
        return 2;
    }
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    bool check_key = cfg.curve && node_id >= 0 && (!check || key_path || (creds && *creds));
    if (check_key) {
        int rc = load_node_key(&cfg, node_id, key_path, pub, sec);
        if (rc) return rc;
    }
    if (check) {
        printf("%s: ok, cluster '%s', %d nodes%s", path, cfg.cluster, cfg.nnodes,
               cfg.nrules ? ", fault injection on" : "");
        if (cfg.curve)
            printf(", CURVE with %d client key%s", cfg.nclients, cfg.nclients == 1 ? "" : "s");
        else
            printf(", no authentication");
        if (check_key)
            printf("; %s is node %d's key pair", key_path ? key_path : "the credential gpdotd.key",
                   node_id);
        printf("\n");
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return serve(&cfg, node_id, pub, sec);
}
