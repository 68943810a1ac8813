/* gpdot.c - the client library (see gpdot.h). */
#include "gpdot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gp_clock.h"
#include "gp_code.h"
#include "gp_config.h"
#include "gp_keys.h"
#include "gp_proto.h"

struct gpdot {
    gp_config cfg;
    void *ctx, *sock[GP_CONFIG_MAX_NODES];
    void *mon[GP_CONFIG_MAX_NODES];         /* handshake events of each connection */
    bool refused[GP_CONFIG_MAX_NODES];      /* the last handshake with the node failed */
    char refusal[GP_CONFIG_MAX_NODES][200]; /* and why */
    int timeout_ms;
    bool unverified; /* products from exactly K outputs are taken (and flagged) */
    uint64_t session, next_id;
    zmq_msg_t frame[GP_CONFIG_MAX_NODES]; /* last reply of each node; r[] points into it */
    gp_pmsg r[GP_CONFIG_MAX_NODES];
};

/* Request ids: a random session number in the high 32 bits, so that the ids
 * of different clients (the daemons' operation keys) do not meet. */
static uint64_t session_number(void)
{
    uint64_t s = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&s, sizeof s, 1, f) != 1) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)getpid() << 20 ^
            (uint64_t)ts.tv_sec;
    }
    if (f) fclose(f);
    return (s & 0xffffffffu) | 1;
}

gp_err gpdot_keygen(const char *path, bool replace, char *pub, gp_msg *why)
{
    char p[GP_KEY_LEN + 1], s[GP_KEY_LEN + 1];
    if (zmq_curve_keypair(p, s) != 0)
        return gp_fail(why, GP_ENOTSUP, "this libzmq cannot make CURVE keys: %s",
                       zmq_strerror(zmq_errno()));
    gp_err e = gp_keypair_save(path, p, s, replace, why);
    if (e == GP_OK && pub) memcpy(pub, p, sizeof p);
    return e;
}

/* The client's key pair file: as given, $GPDOT_KEY, or ~/.config/gpdot/client.key. */
static gp_err client_key_path(const char *given, char *path, size_t cap, gp_msg *why)
{
    const char *env = getenv("GPDOT_KEY"), *home = getenv("HOME");
    if (given && *given)
        snprintf(path, cap, "%s", given);
    else if (env && *env)
        snprintf(path, cap, "%s", env);
    else if (home && *home)
        snprintf(path, cap, "%s/.config/gpdot/client.key", home);
    else
        return gp_fail(why, GP_EINVAL, "no client key: set GPDOT_KEY to a key pair file");
    return GP_OK;
}

/* Handshake events on a connection's monitor: a failure marks the node as
 * refusing (with the reason), a success clears it. */
static void read_events(gpdot_t *c, int p)
{
    for (;;) {
        zmq_msg_t ev, ep;
        zmq_msg_init(&ev);
        zmq_msg_init(&ep);
        if (zmq_msg_recv(&ev, c->mon[p], ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&ep);
            return;
        }
        bool two = zmq_msg_more(&ev) && zmq_msg_recv(&ep, c->mon[p], ZMQ_DONTWAIT) >= 0;
        uint16_t event = 0;
        uint32_t value = 0;
        if (two && zmq_msg_size(&ev) == 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&ep);
        const char *ep_name = c->cfg.nodes[p].client;
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            c->refused[p] = false;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            c->refused[p] = true;
            snprintf(c->refusal[p], sizeof c->refusal[p],
                     "%s refused this client (status %u): its public key is not among the "
                     "cluster's security.clients",
                     ep_name, value);
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                   event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
            c->refused[p] = true;
            snprintf(c->refusal[p], sizeof c->refusal[p], "the %s handshake with %s failed: %s",
                     c->cfg.curve ? "CURVE" : "ZeroMQ", ep_name,
                     c->cfg.curve ? "the server's key is not the public_key the cluster file "
                                    "gives this node (or it does not use CURVE)"
                                  : "the node asks for a security this cluster file does not "
                                    "name (does it have a security section?)");
        }
    }
}

gpdot_t *gpdot_connect(const char *cluster_file, gp_msg *why)
{
    return gpdot_connect_key(cluster_file, NULL, why);
}

gpdot_t *gpdot_connect_key(const char *cluster_file, const char *key_file, gp_msg *why)
{
    gpdot_t *c = calloc(1, sizeof *c);
    if (!c) {
        gp_fail(why, GP_ENOMEM, "out of memory");
        return NULL;
    }
    if (gp_config_load(cluster_file, &c->cfg, why) != GP_OK) {
        free(c);
        return NULL;
    }
    char pub[GP_KEY_LEN + 1] = "", sec[GP_KEY_LEN + 1] = "", key_path[4096];
    if (c->cfg.curve) {
        gp_msg kwhy = {{0}};
        gp_err e = client_key_path(key_file, key_path, sizeof key_path, why);
        if (e == GP_OK && (e = gp_keypair_load(key_path, pub, sec, &kwhy)) != GP_OK)
            gp_fail(why, e,
                    "%s has a security section, so this client needs its key pair: %s (make "
                    "one with 'gpdot-client keygen -o FILE', add its public key to "
                    "security.clients, and give it with --key FILE or GPDOT_KEY)",
                    cluster_file, kwhy.text);
        if (e != GP_OK) {
            free(c);
            return NULL;
        }
    }
    c->timeout_ms = 30000;
    c->session = session_number();
    c->ctx = zmq_ctx_new();
    for (int p = 0; p < c->cfg.nnodes; p++) {
        zmq_msg_init(&c->frame[p]);
        void *s = c->ctx ? zmq_socket(c->ctx, ZMQ_DEALER) : NULL;
        int linger = 0, hwm = 1000;
        int64_t maxmsg = c->cfg.max_message;
        if (s) {
            zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
            zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
            zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
            zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
        }
        if (s && c->cfg.curve &&
            (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->cfg.nodes[p].public_key, GP_KEY_LEN) != 0 ||
             zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, GP_KEY_LEN) != 0 ||
             zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, GP_KEY_LEN) != 0)) {
            gp_fail(why, GP_ENOTSUP, "cannot use CURVE: %s", zmq_strerror(zmq_errno()));
            zmq_close(s);
            gpdot_close(&c);
            return NULL;
        }
        char mon_ep[64];
        snprintf(mon_ep, sizeof mon_ep, "inproc://gpdot-monitor-%d", p);
        if (s &&
            zmq_socket_monitor(s, mon_ep,
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
            c->mon[p] = zmq_socket(c->ctx, ZMQ_PAIR);
            if (c->mon[p]) {
                zmq_setsockopt(c->mon[p], ZMQ_LINGER, &linger, sizeof linger);
                if (zmq_connect(c->mon[p], mon_ep) != 0) {
                    zmq_close(c->mon[p]);
                    c->mon[p] = NULL;
                }
            }
        }
        if (!s || zmq_connect(s, c->cfg.nodes[p].client) != 0) {
            gp_fail(why, GP_EIO, "cannot connect to node %d at %s: %s", p, c->cfg.nodes[p].client,
                    zmq_strerror(zmq_errno()));
            if (s) zmq_close(s);
            gpdot_close(&c);
            return NULL;
        }
        c->sock[p] = s;
    }
    return c;
}

void gpdot_close(gpdot_t **cp)
{
    gpdot_t *c = cp ? *cp : NULL;
    if (!c) return;
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (c->sock[p]) {
            zmq_socket_monitor(c->sock[p], NULL, 0);
            zmq_close(c->sock[p]);
        }
        if (c->mon[p]) zmq_close(c->mon[p]);
        zmq_msg_close(&c->frame[p]);
    }
    if (c->ctx) zmq_ctx_term(c->ctx);
    free(c);
    *cp = NULL;
}

int gpdot_nodes(const gpdot_t *c)
{
    return c->cfg.nnodes;
}

void gpdot_set_timeout(gpdot_t *c, int ms)
{
    c->timeout_ms = ms > 0 ? ms : 1;
}

void gpdot_allow_unverified(gpdot_t *c, bool on)
{
    c->unverified = on;
}

static uint64_t new_id(gpdot_t *c)
{
    return c->session << 32 | (++c->next_id & 0xffffffffu);
}

static gp_err send_to(gpdot_t *c, int p, const gp_pmsg *m, gp_msg *why)
{
    void *buf;
    size_t len;
    gp_err e = gp_proto_encode(m, &buf, &len, why);
    if (e != GP_OK) return e;
    int rc = zmq_send(c->sock[p], buf, len, ZMQ_DONTWAIT);
    free(buf);
    return rc < 0 ? gp_fail(why, GP_EIO, "cannot send to node %d: %s", p, zmq_strerror(zmq_errno()))
                  : GP_OK;
}

/* Whether a digest is reported by at least two, and by more than half of
 * all the cluster's nodes, among the replies in `got` of type `type`: then
 * no answer still out can change the outcome. */
static bool settled(const gpdot_t *c, uint64_t got, gp_mtype type)
{
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(got >> p & 1) || c->r[p].type != type) continue;
        int k = 0;
        for (int q = 0; q < c->cfg.nnodes; q++)
            if ((got >> q & 1) && c->r[q].type == type &&
                c->r[q].v[GP_F_DIGEST].u == c->r[p].v[GP_F_DIGEST].u)
                k++;
        if (k >= 2 && 2 * k > c->cfg.nnodes) return true;
    }
    return false;
}

/* Waits for the replies to request id from the nodes in `want` (until the
 * timeout, or, with `until` set, until replies of that type settle the
 * result: a dead or stopped node does not hold the caller up); returns the
 * nodes that answered (their replies in c->r[]). Replies to older requests
 * are dropped on the way. */
/* A node whose handshake failed answers, in effect, with this ERROR. */
static uint64_t refusal_reply(gpdot_t *c, int p, uint64_t id)
{
    gp_pmsg_init(&c->r[p], GP_MT_ERROR, id);
    gp_pmsg_uint(&c->r[p], GP_F_CODE, GP_EAUTH);
    gp_pmsg_str(&c->r[p], GP_F_REASON, c->refusal[p]);
    return 1ull << p;
}

static uint64_t collect_until(gpdot_t *c, uint64_t id, uint64_t want, gp_mtype until)
{
    uint64_t got = 0;
    int64_t end = gp_mono_ms() + c->timeout_ms;
    while ((got & want) != want && !(until && settled(c, got, until))) {
        for (int p = 0; p < c->cfg.nnodes; p++)
            if ((want >> p & 1) && !(got >> p & 1) && c->mon[p]) {
                read_events(c, p);
                if (c->refused[p]) got |= refusal_reply(c, p, id);
            }
        if ((got & want) == want) break;
        int64_t left = end - gp_mono_ms();
        if (left <= 0) break;
        zmq_pollitem_t it[2 * GP_CONFIG_MAX_NODES];
        int idx[2 * GP_CONFIG_MAX_NODES], n = 0;
        for (int p = 0; p < c->cfg.nnodes; p++)
            if ((want >> p & 1) && !(got >> p & 1)) {
                it[n] = (zmq_pollitem_t){c->sock[p], 0, ZMQ_POLLIN, 0};
                idx[n++] = p;
                if (c->mon[p]) {
                    it[n] = (zmq_pollitem_t){c->mon[p], 0, ZMQ_POLLIN, 0};
                    idx[n++] = -1; /* read at the top of the loop */
                }
            }
        if (zmq_poll(it, n, left) <= 0) continue;
        for (int i = 0; i < n; i++) {
            if (!(it[i].revents & ZMQ_POLLIN) || idx[i] < 0) continue;
            int p = idx[i];
            zmq_msg_close(&c->frame[p]);
            zmq_msg_init(&c->frame[p]);
            if (zmq_msg_recv(&c->frame[p], c->sock[p], ZMQ_DONTWAIT) < 0) continue;
            if (gp_proto_decode(zmq_msg_data(&c->frame[p]), zmq_msg_size(&c->frame[p]), &c->r[p],
                                NULL) == GP_OK &&
                c->r[p].id == id)
                got |= 1ull << p;
        }
    }
    return got;
}

static uint64_t collect(gpdot_t *c, uint64_t id, uint64_t want)
{
    return collect_until(c, id, want, GP_MT_NONE);
}

static uint64_t all_nodes(const gpdot_t *c)
{
    return c->cfg.nnodes == 64 ? ~0ull : (1ull << c->cfg.nnodes) - 1;
}

/* Sends m to every node; returns who answered (see collect_until). */
static uint64_t broadcast_until(gpdot_t *c, gp_pmsg *m, gp_mtype until, gp_msg *why)
{
    uint64_t sent = 0;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if (send_to(c, p, m, why) == GP_OK) sent |= 1ull << p;
    return sent ? collect_until(c, m->id, sent, until) : 0;
}

static uint64_t broadcast(gpdot_t *c, gp_pmsg *m, gp_msg *why)
{
    return broadcast_until(c, m, GP_MT_NONE, why);
}

/* The reason an ERROR reply gives, as a gp_err with the text in why. */
static gp_err error_of(const gp_pmsg *r, int p, gp_msg *why)
{
    gp_err e = r->v[GP_F_CODE].u < GP_ERR_COUNT_ ? (gp_err)r->v[GP_F_CODE].u : GP_EINVAL;
    return gp_fail(why, e, "node %d: %.*s", p, (int)r->v[GP_F_REASON].s.len, r->v[GP_F_REASON].s.p);
}

/* The answers in `got` to a request every node acknowledges with OK: the
 * first ERROR, if any; otherwise GP_OK when every node answered, or, with
 * `majority`, more than half of them. */
static gp_err acks(const gpdot_t *c, uint64_t got, bool majority, const char *what, gp_msg *why)
{
    int ok = 0, missing = -1;
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(got >> p & 1)) {
            if (missing < 0) missing = p;
            continue;
        }
        if (c->r[p].type == GP_MT_ERROR) return error_of(&c->r[p], p, why);
        ok++;
    }
    if (missing < 0 || (majority && 2 * ok > c->cfg.nnodes)) return GP_OK;
    return majority ? gp_fail(why, GP_ENODES, "only %d of %d nodes %s", ok, c->cfg.nnodes, what)
                    : gp_fail(why, GP_ETIMEOUT, "node %d did not confirm the %s", missing, what);
}

gp_err gpdot_ping(gpdot_t *c, uint64_t *up, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_PING, new_id(c));
    uint64_t got = broadcast(c, &m, why), ok = 0;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((got >> p & 1) && c->r[p].type == GP_MT_PONG) ok |= 1ull << p;
    if (up) *up = ok;
    if (ok == all_nodes(c)) return GP_OK;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((got >> p & 1) && c->r[p].type == GP_MT_ERROR) return error_of(&c->r[p], p, why);
    return gp_fail(why, GP_ENODES, "%d of %d nodes answered", __builtin_popcountll(ok),
                   c->cfg.nnodes);
}

gp_err gpdot_status_all(gpdot_t *c, gpdot_status *st, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_STATUS, new_id(c));
    uint64_t got = broadcast(c, &m, why);
    for (int p = 0; p < c->cfg.nnodes; p++) {
        gpdot_status *s = &st[p];
        memset(s, 0, sizeof *s);
        const gp_pmsg *r = &c->r[p];
        if (!(got >> p & 1) || r->type != GP_MT_STATUS_OK) continue;
        s->answered = true;
        if (gp_pmsg_has(r, GP_F_BLAS))
            snprintf(s->blas, sizeof s->blas, "%.*s", (int)r->v[GP_F_BLAS].s.len,
                     r->v[GP_F_BLAS].s.p);
        for (size_t i = 0; i < r->v[GP_F_NODES_UP].n; i++)
            if (r->ids[i] < 64) s->nodes_up |= 1ull << r->ids[i];
        for (size_t i = 0; i < r->v[GP_F_COUNTERS].n && s->ncounters < GPDOT_MAX_COUNTERS; i++) {
            snprintf(s->counter_name[s->ncounters], sizeof s->counter_name[0], "%.*s",
                     (int)r->counters[i].key.len, r->counters[i].key.p);
            s->counter[s->ncounters++] = r->counters[i].value;
        }
    }
    return got ? GP_OK : gp_fail(why, GP_ENODES, "no node answered");
}

/* The code a matrix is stored with: as asked, or the default. */
static gp_err make_code(const gpdot_t *c, const gpdot_code *want, gp_code_t **code,
                        gp_code_params *cp, gp_msg *why)
{
    memset(cp, 0, sizeof *cp);
    cp->nodes = c->cfg.nnodes;
    if (want && want->scheme) {
        gp_err e = gp_scheme_parse(want->scheme, &cp->scheme);
        if (e != GP_OK) return gp_fail(why, e, "unknown scheme '%s'", want->scheme);
        cp->m = want->m;
        cp->n = want->n;
        if (want->orientation && !strcmp(want->orientation, "row")) cp->orient = GP_ORIENT_ROW;
        if (want->orientation && !strcmp(want->orientation, "col")) cp->orient = GP_ORIENT_COL;
        return gp_code_new(cp, code, why);
    }
    if (c->cfg.code_scheme[0]) { /* the cluster file's default */
        gpdot_code def = {c->cfg.code_scheme, (int)c->cfg.code_m, (int)c->cfg.code_n,
                          c->cfg.code_orientation[0] ? c->cfg.code_orientation : NULL};
        if (!def.m) def.m = !strcmp(def.scheme, "matdot") ? 1 : 2;
        if (!def.n) def.n = !strcmp(def.scheme, "polynomial") ? 1 : 2;
        return make_code(c, &def, code, cp, why);
    }
    const int tries[][3] = {
        {GP_SCHEME_GPD, 2, 2}, {GP_SCHEME_POLYNOMIAL, 2, 1}, {GP_SCHEME_REPLICATION, 1, 1}};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        cp->scheme = (gp_scheme)tries[i][0];
        cp->m = want && want->m ? want->m : tries[i][1];
        cp->n = want && want->n ? want->n : tries[i][2];
        if (gp_code_new(cp, code, why) == GP_OK) return GP_OK;
    }
    return gp_fail(why, GP_EINVAL, "no code fits a cluster of %d nodes", c->cfg.nnodes);
}

gp_err gpdot_store(gpdot_t *c, const char *name, gp_rmat w, const gpdot_code *want, gp_msg *why)
{
    gp_code_t *code;
    gp_code_params cp;
    gp_err e = make_code(c, want, &code, &cp, why);
    if (e != GP_OK) return e;
    const gp_code_info *info = gp_code_info_of(code);
    size_t br = gp_code_block_rows(code, w.rows), bc = gp_code_block_cols(code, w.cols);
    gp_rmat blk;
    if ((e = gp_rmat_alloc(&blk, br, bc)) != GP_OK) {
        gp_code_destroy(&code);
        return gp_fail(why, e, "no memory for a %zux%zu block", br, bc);
    }
    gp_pmsg m;
    uint64_t id = new_id(c), sent = 0;
    for (int p = 0; p < c->cfg.nnodes && e == GP_OK; p++) {
        gp_code_encode_weights(code, p, w, blk);
        gp_pmsg_init(&m, GP_MT_STORE, id);
        gp_pmsg_str(&m, GP_F_NAME, name);
        gp_pmsg_uint(&m, GP_F_ROWS, w.rows);
        gp_pmsg_uint(&m, GP_F_COLS, w.cols);
        gp_pmsg_str(&m, GP_F_SCHEME, gp_scheme_name(info->scheme));
        gp_pmsg_uint(&m, GP_F_M, (uint64_t)info->m);
        gp_pmsg_uint(&m, GP_F_N, (uint64_t)info->n);
        gp_pmsg_str(&m, GP_F_ORIENTATION, info->orient == GP_ORIENT_COL ? "col" : "row");
        gp_pmsg_mat(&m, GP_F_BLOCK, (gp_pmat){(uint32_t)br, (uint32_t)bc, false, blk.data, 0});
        if ((e = send_to(c, p, &m, why)) == GP_OK) sent |= 1ull << p;
    }
    gp_rmat_free(&blk);
    gp_code_destroy(&code);
    if (e != GP_OK) return e;
    return acks(c, collect(c, id, sent), false, "store", why);
}

/* The digest a majority (and at least two) of the nodes in `from` reported,
 * or false. */
static bool majority(const gpdot_t *c, uint64_t from, uint64_t *digest, int *agreed)
{
    int n = __builtin_popcountll(from);
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(from >> p & 1)) continue;
        uint64_t d = c->r[p].v[GP_F_DIGEST].u;
        int k = 0;
        for (int q = 0; q < c->cfg.nnodes; q++)
            if ((from >> q & 1) && c->r[q].v[GP_F_DIGEST].u == d) k++;
        if (k >= 2 && 2 * k > n) {
            *digest = d;
            *agreed = k;
            return true;
        }
    }
    return false;
}

/* Fetches name from the nodes in `order` until one sends data matching digest. */
static gp_err fetch_verified(gpdot_t *c, const char *name, uint64_t digest, uint64_t from,
                             gp_rmat *out, gp_msg *why)
{
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(from >> p & 1)) continue;
        gp_pmsg m;
        gp_pmsg_init(&m, GP_MT_FETCH, new_id(c));
        gp_pmsg_str(&m, GP_F_NAME, name);
        if (send_to(c, p, &m, why) != GP_OK || !(collect(c, m.id, 1ull << p) >> p & 1)) continue;
        const gp_pmsg *r = &c->r[p];
        if (r->type != GP_MT_MATRIX || !gp_pmsg_has(r, GP_F_VALUE)) continue;
        gp_pmat v = r->v[GP_F_VALUE].m;
        size_t bytes = (size_t)v.rows * v.cols * (v.f32 ? 4 : 8);
        if (v.f32 || gp_proto_digest(v.data, bytes) != digest) continue; /* not what was agreed */
        if (gp_rmat_alloc(out, v.rows, v.cols) != GP_OK)
            return gp_fail(why, GP_ENOMEM, "out of memory");
        memcpy(out->data, v.data, bytes);
        return GP_OK;
    }
    return gp_fail(why, GP_EDETECTED, "no node sent '%s' as the majority decoded it", name);
}

/* A DONE reply accepted from the answers in `got`: the digest a majority
 * reports, the nodes any daemon corrected; else the first error. */
static gp_err accept_done(gpdot_t *c, uint64_t got, gpdot_report *rep, uint64_t *agreeing,
                          gp_msg *why)
{
    uint64_t done = 0;
    gp_err first = GP_OK;
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(got >> p & 1)) continue;
        rep->answered++;
        const gp_pmsg *r = &c->r[p];
        if (r->type == GP_MT_DONE) {
            done |= 1ull << p;
            for (size_t i = 0; i < r->v[GP_F_WRONG].n; i++)
                if (r->ids[i] < 64) rep->wrong |= 1ull << r->ids[i];
        } else if (r->type == GP_MT_ERROR && first == GP_OK) {
            first = error_of(r, p, why);
        }
    }
    if (!majority(c, done, &rep->digest, &rep->agreed)) {
        if (first != GP_OK) return first;
        return gp_fail(why, rep->answered ? GP_EDETECTED : GP_ETIMEOUT,
                       "%d of %d nodes answered, %d with a result, and no majority agrees",
                       rep->answered, c->cfg.nnodes, __builtin_popcountll(done));
    }
    *agreeing = 0;
    rep->spare = -1;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((done >> p & 1) && c->r[p].v[GP_F_DIGEST].u == rep->digest) {
            *agreeing |= 1ull << p;
            if (gp_pmsg_has(&c->r[p], GP_F_SPARE)) {
                int s = c->r[p].v[GP_F_SPARE].u > 64 ? 64 : (int)c->r[p].v[GP_F_SPARE].u;
                if (rep->spare < 0 || s < rep->spare) rep->spare = s;
            }
        }
    return GP_OK;
}

gp_err gpdot_multiply(gpdot_t *c, const char *name, gp_rmat x, bool transpose, const char *out,
                      gp_rmat *y, gpdot_report *rep, gp_msg *why)
{
    gpdot_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_rmat xc = x;
    if (x.ld != x.cols) { /* the wire wants it contiguous */
        if (gp_rmat_alloc(&xc, x.rows, x.cols) != GP_OK)
            return gp_fail(why, GP_ENOMEM, "out of memory");
        gp_rmat_copy(xc, x);
    }
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_MULTIPLY, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    gp_pmsg_str(&m, GP_F_OUT, out);
    gp_pmsg_bool(&m, GP_F_TRANSPOSE, transpose);
    if (c->unverified) gp_pmsg_bool(&m, GP_F_UNVERIFIED, true);
    gp_pmsg_mat(&m, GP_F_X, (gp_pmat){(uint32_t)x.rows, (uint32_t)x.cols, false, xc.data, 0});
    uint64_t got = broadcast_until(c, &m, GP_MT_DONE, why), agreeing;
    if (xc.data != x.data) gp_rmat_free(&xc);
    gp_err e = accept_done(c, got, rep, &agreeing, why);
    if (e != GP_OK || !y) return e;
    return fetch_verified(c, out, rep->digest, agreeing, y, why);
}

gp_err gpdot_put(gpdot_t *c, const char *name, gp_rmat v, gp_msg *why)
{
    gp_rmat vc = v;
    if (v.ld != v.cols) {
        if (gp_rmat_alloc(&vc, v.rows, v.cols) != GP_OK)
            return gp_fail(why, GP_ENOMEM, "out of memory");
        gp_rmat_copy(vc, v);
    }
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_PUT, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){(uint32_t)v.rows, (uint32_t)v.cols, false, vc.data, 0});
    uint64_t got = broadcast(c, &m, why);
    if (vc.data != v.data) gp_rmat_free(&vc);
    return acks(c, got, false, "put", why);
}

gp_err gpdot_activate(gpdot_t *c, const char *name, const char *fn, bool derivative,
                      const char *out, gpdot_report *rep, gp_msg *why)
{
    gpdot_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_ACTIVATE, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    gp_pmsg_str(&m, GP_F_FN, fn);
    gp_pmsg_bool(&m, GP_F_DERIVATIVE, derivative);
    gp_pmsg_str(&m, GP_F_OUT, out);
    uint64_t agreeing;
    return accept_done(c, broadcast_until(c, &m, GP_MT_DONE, why), rep, &agreeing, why);
}

gp_err gpdot_hadamard(gpdot_t *c, const char *a, const char *b, const char *out, gpdot_report *rep,
                      gp_msg *why)
{
    gpdot_report dummy;
    if (!rep) rep = &dummy;
    memset(rep, 0, sizeof *rep);
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_HADAMARD, new_id(c));
    gp_pmsg_str(&m, GP_F_A, a);
    gp_pmsg_str(&m, GP_F_B, b);
    gp_pmsg_str(&m, GP_F_OUT, out);
    uint64_t agreeing;
    return accept_done(c, broadcast_until(c, &m, GP_MT_DONE, why), rep, &agreeing, why);
}

gp_err gpdot_update(gpdot_t *c, const char *name, double alpha, const char *delta,
                    const char *input, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_UPDATE, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    gp_pmsg_f64(&m, GP_F_ALPHA, alpha);
    gp_pmsg_str(&m, GP_F_DELTA, delta);
    gp_pmsg_str(&m, GP_F_INPUT, input);
    /* a node that missed the update holds a stale block: the decoder treats its
     * outputs as errors until the block is rebuilt */
    return acks(c, broadcast_until(c, &m, GP_MT_OK, why), true, "updated", why);
}

gp_err gpdot_fetch(gpdot_t *c, const char *name, gp_rmat *out, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_FETCH, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    gp_pmsg_bool(&m, GP_F_DIGEST_ONLY, true);
    uint64_t got = broadcast_until(c, &m, GP_MT_MATRIX, why), have = 0;
    gp_err first = GP_OK;
    for (int p = 0; p < c->cfg.nnodes; p++) {
        if (!(got >> p & 1)) continue;
        if (c->r[p].type == GP_MT_MATRIX)
            have |= 1ull << p;
        else if (c->r[p].type == GP_MT_ERROR && first == GP_OK)
            first = error_of(&c->r[p], p, why);
    }
    uint64_t digest;
    int agreed;
    /* a majority of the cluster, not only of those that hold it: a node
     * that missed a DROP (the client that sent it gone before its message
     * went out) must not hand back what the others dropped */
    if (!majority(c, have, &digest, &agreed) || 2 * agreed <= c->cfg.nnodes) {
        if (first != GP_OK) return first;
        return gp_fail(why, got ? GP_EDETECTED : GP_ETIMEOUT,
                       "no majority of the nodes holds the same '%s'", name);
    }
    uint64_t agreeing = 0;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((have >> p & 1) && c->r[p].v[GP_F_DIGEST].u == digest) agreeing |= 1ull << p;
    return fetch_verified(c, name, digest, agreeing, out, why);
}

gp_err gpdot_drop(gpdot_t *c, const char *name, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_DROP, new_id(c));
    gp_pmsg_str(&m, GP_F_NAME, name);
    /* nodes that did not answer are down, and hold nothing of it when they come back */
    return acks(c, broadcast_until(c, &m, GP_MT_OK, why), true, "answered", why);
}

/* ---- training jobs ------------------------------------------------------------------- */

gp_err gpdot_submit(gpdot_t *c, const char *text, size_t len, const char *set,
                    const gpdot_upload *up, uint64_t *job, uint64_t *accepted, gp_msg *why)
{
    uint64_t id = 0;
    while (id == 0) id = new_id(c) ^ (uint64_t)gp_mono_ms() * 0x9E3779B97F4A7C15ull;
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_SUBMIT, new_id(c));
    gp_pmsg_uint(&m, GP_F_JOB, id);
    m.v[GP_F_TEXT].s = (gp_pstr){text, len};
    gp_pmsg_mark(&m, GP_F_TEXT);
    if (set && *set) {
        m.v[GP_F_SET].s = (gp_pstr){set, strlen(set)};
        gp_pmsg_mark(&m, GP_F_SET);
    }
    static const gp_field blobs[4] = {GP_F_TRAIN_DATA, GP_F_TRAIN_LABELS, GP_F_TEST_DATA,
                                      GP_F_TEST_LABELS};
    for (int i = 0; up && i < 4; i++)
        if (up->data[i]) {
            m.v[blobs[i]].s = (gp_pstr){up->data[i], up->len[i]};
            gp_pmsg_mark(&m, blobs[i]);
        }
    /* one encoding for every node */
    void *buf;
    size_t blen;
    gp_err e = gp_proto_encode(&m, &buf, &blen, why);
    if (e != GP_OK) return e;
    uint64_t sent = 0;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if (zmq_send(c->sock[p], buf, blen, ZMQ_DONTWAIT) >= 0) sent |= 1ull << p;
    free(buf);
    uint64_t got = sent ? collect(c, m.id, sent) : 0, ok = 0;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((got >> p & 1) && c->r[p].type == GP_MT_OK) ok |= 1ull << p;
    *job = id;
    if (accepted) *accepted = ok;
    if (2 * __builtin_popcountll(ok) > c->cfg.nnodes) return GP_OK;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if ((got >> p & 1) && c->r[p].type == GP_MT_ERROR) return error_of(&c->r[p], p, why);
    return gp_fail(why, GP_ENODES, "only %d of %d nodes took the job", __builtin_popcountll(ok),
                   c->cfg.nnodes);
}

gp_err gpdot_job_status(gpdot_t *c, uint64_t job, gpdot_job_info *info, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOB_STATUS, new_id(c));
    gp_pmsg_uint(&m, GP_F_JOB, job);
    uint64_t got = broadcast(c, &m, why);
    int answered = 0;
    gp_err first = GP_OK;
    for (int p = 0; p < c->cfg.nnodes; p++) {
        gpdot_job_info *s = &info[p];
        memset(s, 0, sizeof *s);
        const gp_pmsg *r = &c->r[p];
        if (!(got >> p & 1)) continue;
        if (r->type == GP_MT_ERROR) {
            if (first == GP_OK) first = error_of(r, p, why);
            continue;
        }
        if (r->type != GP_MT_JOB_INFO) continue;
        s->answered = true;
        answered++;
        s->job = r->v[GP_F_JOB].u;
#define STR(dst, f) snprintf(dst, sizeof dst, "%.*s", (int)r->v[f].s.len, r->v[f].s.p)
        STR(s->name, GP_F_NAME);
        STR(s->state, GP_F_STATE);
        if (gp_pmsg_has(r, GP_F_REASON)) STR(s->reason, GP_F_REASON);
#undef STR
        s->epoch = (int)r->v[GP_F_EPOCH].u;
        s->epochs = (int)r->v[GP_F_EPOCHS].u;
        s->step = r->v[GP_F_STEP].u;
        s->steps = r->v[GP_F_STEPS].u;
        s->elapsed = r->v[GP_F_ELAPSED].f;
        s->has_loss = gp_pmsg_has(r, GP_F_LOSS);
        s->loss = s->has_loss ? r->v[GP_F_LOSS].f : 0;
        s->accuracy = gp_pmsg_has(r, GP_F_ACCURACY) ? r->v[GP_F_ACCURACY].f : -1;
        s->rate = gp_pmsg_has(r, GP_F_RATE) ? r->v[GP_F_RATE].f : 0;
        s->has_stats = gp_pmsg_has(r, GP_F_MEAN) && gp_pmsg_has(r, GP_F_SCALE);
        if (s->has_stats) {
            s->mean = r->v[GP_F_MEAN].f;
            s->scale = r->v[GP_F_SCALE].f;
        }
        for (size_t i = 0; i < r->v[GP_F_NODES_UP].n; i++)
            if (r->ids[i] < 64) s->nodes_up |= 1ull << r->ids[i];
        for (size_t i = 0; i < r->v[GP_F_COUNTERS].n && s->ncounters < GPDOT_JOB_COUNTERS; i++) {
            snprintf(s->counter_name[s->ncounters], sizeof s->counter_name[0], "%.*s",
                     (int)r->counters[i].key.len, r->counters[i].key.p);
            s->counter[s->ncounters++] = r->counters[i].value;
        }
        gp_pmat ns = r->v[GP_F_NODE_STATS].m;
        if (gp_pmsg_has(r, GP_F_NODE_STATS) && ns.cols == 3 && !ns.f32 &&
            ns.rows <= (uint32_t)c->cfg.nnodes) {
            s->nstats = (int)ns.rows;
            for (uint32_t q = 0; q < ns.rows; q++) {
                double v[3];
                memcpy(v, (const double *)ns.data + 3 * q, sizeof v); /* a view: maybe unaligned */
                s->node_wrong[q] = v[0] >= 0 && v[0] < 1e18 ? (uint64_t)v[0] : 0;
                s->node_off[q] = v[1] >= 0 && v[1] < 1e18 ? (uint64_t)v[1] : 0;
                if (v[2] != 0) s->suspects |= 1ull << q;
            }
        }
        if (gp_pmsg_has(r, GP_F_TEXT) && (s->text = malloc(r->v[GP_F_TEXT].s.len + 1))) {
            memcpy(s->text, r->v[GP_F_TEXT].s.p, r->v[GP_F_TEXT].s.len);
            s->text[r->v[GP_F_TEXT].s.len] = 0;
        }
    }
    if (answered) return GP_OK;
    if (first != GP_OK) return first;
    return gp_fail(why, GP_ENODES, "no node answered");
}

void gpdot_job_info_free(gpdot_job_info *info, int n)
{
    for (int p = 0; p < n; p++) {
        free(info[p].text);
        info[p].text = NULL;
    }
}

uint64_t gpdot_job_counter(const gpdot_job_info *info, const char *name)
{
    for (int i = 0; i < info->ncounters; i++)
        if (!strcmp(info->counter_name[i], name)) return info->counter[i];
    return 0;
}

gp_err gpdot_cancel(gpdot_t *c, uint64_t job, gp_msg *why)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_CANCEL, new_id(c));
    gp_pmsg_uint(&m, GP_F_JOB, job);
    uint64_t got = broadcast_until(c, &m, GP_MT_OK, why);
    /* a node the job has not reached yet says it does not know it (and
     * cancels it when it comes): a majority that confirms is enough */
    int ok = 0, first = -1;
    for (int p = 0; p < c->cfg.nnodes; p++)
        if (got >> p & 1) {
            if (c->r[p].type == GP_MT_OK)
                ok++;
            else if (first < 0)
                first = p;
        }
    if (2 * ok > c->cfg.nnodes) return GP_OK;
    if (first >= 0) return error_of(&c->r[first], first, why);
    return gp_fail(why, GP_ENODES, "only %d of %d nodes confirmed the cancellation", ok,
                   c->cfg.nnodes);
}
