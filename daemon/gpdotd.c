/* gpdotd - the gpdot daemon: one per machine of a cluster.
 *
 *   gpdotd --config CLUSTER.yaml --node ID    serve as node ID
 *   gpdotd --config CLUSTER.yaml --check-config [--node ID]
 *
 * One I/O thread runs the zmq_poll loop over two bound ROUTER sockets, one
 * for clients and one for peers, and a DEALER connected to each peer's
 * ROUTER. It answers HELLO, PING and STATUS, sends a HEARTBEAT to every peer
 * each heartbeat interval and marks a peer down when none arrived for
 * peer_timeout_ms. Anything malformed gets an ERROR reply (clients) or is
 * dropped and counted (peers); the daemon goes on serving either way.
 * The coded operations of PROTOCOL.md are answered with ENOTSUP until they
 * are built on this loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "gp_config.h"
#include "gp_proto.h"

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

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ld gpdotd[%d]: ", stamp, ts.tv_nsec / 1000000, node_id);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Counters shown by STATUS, by name. */
#define COUNTERS(X)                                                                                \
    X(requests)                                                                                    \
    X(bad_requests)                                                                                \
    X(replies_dropped)                                                                             \
    X(peer_messages)                                                                               \
    X(peer_dropped)                                                                                \
    X(heartbeats_sent)                                                                             \
    X(heartbeats_received)                                                                         \
    X(heartbeats_unsent)

typedef struct counters {
#define X(name) uint64_t name;
    COUNTERS(X)
#undef X
} counters;

typedef struct daemon_s {
    const gp_config *cfg;
    int self;
    void *ctx, *clients, *peers, *out[GP_CONFIG_MAX_NODES];
    int64_t started, last_seen[GP_CONFIG_MAX_NODES], next_heartbeat;
    uint64_t epoch;
    counters n;
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
    int reconnect = 100, reconnect_max = 2000; /* back off, but keep trying a lost peer */
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    /* No ZMQ_ROUTER_HANDOVER: it would let any connection take over a
     * member's identity (and libzmq 4.3.4 aborts in the handover); a
     * restarted peer's old connection closes with its process instead. */
    return s;
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

/* ---- requests from clients ------------------------------------------------------------ */

static void reply_error(daemon_s *d, zmq_msg_t *route, int nroute, uint64_t id, gp_err code,
                        const char *reason)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_ERROR, id);
    gp_pmsg_uint(&m, GP_F_CODE, (uint64_t)code);
    gp_pmsg_str(&m, GP_F_ERROR, gp_errname(code));
    char r[GP_PROTO_MAX_STR];
    snprintf(r, sizeof r, "%s", reason);
    gp_pmsg_str(&m, GP_F_REASON, r);
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
    case GP_MT_MULTIPLY:
    case GP_MT_ACTIVATE:
    case GP_MT_HADAMARD:
    case GP_MT_UPDATE:
    case GP_MT_FETCH:
    case GP_MT_PARTIALS:
    case GP_MT_DROP:
        d->n.bad_requests++;
        reply_error(d, part, nroute, m.id, GP_ENOTSUP,
                    "this daemon does not serve coded operations yet");
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
    zmq_msg_t *id = &part[0], *body = &part[np - 1];
    d->n.peer_messages++;
    gp_pmsg m;
    int from = -1;
    if (ok && gp_proto_decode(zmq_msg_data(body), zmq_msg_size(body), &m, NULL) == GP_OK &&
        gp_pmsg_has(&m, GP_F_FROM) && m.v[GP_F_FROM].u < (uint64_t)d->cfg->nnodes &&
        (int)m.v[GP_F_FROM].u != d->self) {
        char want[32];
        from = (int)m.v[GP_F_FROM].u;
        int n = snprintf(want, sizeof want, "node-%d", from);
        if (zmq_msg_size(id) != (size_t)n || memcmp(zmq_msg_data(id), want, (size_t)n) != 0)
            from = -1; /* says it is one node, connected as another: not a member */
    }
    if (from < 0) {
        d->n.peer_dropped++;
    } else if (m.type == GP_MT_HEARTBEAT) {
        if (d->last_seen[from] == 0 || t - d->last_seen[from] > d->cfg->peer_timeout_ms)
            logf_("node %d is up", from);
        d->last_seen[from] = t;
        d->n.heartbeats_received++;
    } else {
        d->n.peer_dropped++; /* no coded operations yet: nothing else is expected */
    }
    for (int i = 0; i < np; i++) zmq_msg_close(&part[i]);
}

/* ---- life cycle ------------------------------------------------------------------------ */

static int serve(const gp_config *cfg, int self)
{
    daemon_s d = {.cfg = cfg, .self = self};
    d.ctx = zmq_ctx_new();
    d.clients = sock_new(&d, ZMQ_ROUTER);
    d.peers = sock_new(&d, ZMQ_ROUTER);
    if (!d.ctx || !d.clients || !d.peers) {
        logf_("cannot create sockets: %s", zmq_strerror(errno));
        return 1;
    }
    if (zmq_bind(d.clients, cfg->nodes[self].client) != 0 ||
        zmq_bind(d.peers, cfg->nodes[self].peer) != 0) {
        logf_("cannot bind %s / %s: %s", cfg->nodes[self].client, cfg->nodes[self].peer,
              zmq_strerror(errno));
        zmq_close(d.clients);
        zmq_close(d.peers);
        zmq_ctx_term(d.ctx);
        return 1;
    }
    char ident[32];
    int il = snprintf(ident, sizeof ident, "node-%d", self);
    for (int p = 0; p < cfg->nnodes; p++) {
        if (p == self) continue;
        d.out[p] = sock_new(&d, ZMQ_DEALER);
        zmq_setsockopt(d.out[p], ZMQ_ROUTING_ID, ident, (size_t)il);
        if (!d.out[p] || zmq_connect(d.out[p], cfg->nodes[p].peer) != 0) {
            logf_("cannot connect to node %d at %s: %s", p, cfg->nodes[p].peer,
                  zmq_strerror(errno));
            return 1;
        }
    }
    d.started = now_ms();
    d.next_heartbeat = d.started;
    logf_("node %d of %d serving clients on %s, peers on %s", self, cfg->nnodes,
          cfg->nodes[self].client, cfg->nodes[self].peer);
    printf("ready\n");
    fflush(stdout);
    while (!stop_requested) {
        int64_t t = now_ms();
        if (t >= d.next_heartbeat) {
            heartbeat(&d, t);
            d.next_heartbeat = t + cfg->heartbeat_ms;
        }
        zmq_pollitem_t items[2] = {{d.clients, 0, ZMQ_POLLIN, 0}, {d.peers, 0, ZMQ_POLLIN, 0}};
        long wait = (long)(d.next_heartbeat - t);
        int rc = zmq_poll(items, 2, wait < 0 ? 0 : wait);
        if (rc < 0) {
            if (errno == EINTR) continue;
            logf_("poll failed: %s", zmq_strerror(errno));
            break;
        }
        t = now_ms();
        /* a bounded batch from each, so neither side can starve the other */
        for (int i = 0; i < 64 && (items[0].revents & ZMQ_POLLIN); i++) {
            int ev;
            size_t sz = sizeof ev;
            on_client(&d, t);
            zmq_getsockopt(d.clients, ZMQ_EVENTS, &ev, &sz);
            if (!(ev & ZMQ_POLLIN)) break;
        }
        for (int i = 0; i < 64 && (items[1].revents & ZMQ_POLLIN); i++) {
            int ev;
            size_t sz = sizeof ev;
            on_peer(&d, t);
            zmq_getsockopt(d.peers, ZMQ_EVENTS, &ev, &sz);
            if (!(ev & ZMQ_POLLIN)) break;
        }
    }
    logf_("stopping");
    for (int p = 0; p < cfg->nnodes; p++)
        if (d.out[p]) zmq_close(d.out[p]);
    zmq_close(d.clients);
    zmq_close(d.peers);
    zmq_ctx_term(d.ctx);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: gpdotd --config CLUSTER.yaml --node ID\n"
               "       gpdotd --config CLUSTER.yaml --check-config [--node ID]\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
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
    if (check) {
        printf("%s: ok, cluster '%s', %d nodes%s\n", path, cfg.cluster, cfg.nnodes,
               cfg.nrules ? ", fault injection on" : "");
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return serve(&cfg, node_id);
}
