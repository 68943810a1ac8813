/* sock.c - the socket factory, CURVE on a socket, and framing: sending one
 * encoded message after its routing frames, receiving one message's parts. */
#define _GNU_SOURCE
#include "daemon.h"

/* Every socket is made here, with its limits: */
void *net_socket(void *ctx, const gp_config *cfg, int type)
{
    void *s = zmq_socket(ctx, type);
    if (!s) return NULL;
    int linger = 0; /* never block shutdown on unsent messages */
    int hwm = 1000; /* bounded queues: messages beyond are dropped, not buffered */
    int64_t maxmsg = cfg->max_message; /* larger frames are refused by ZeroMQ itself */
    int ivl = (int)cfg->heartbeat_ms, tmo = (int)cfg->peer_timeout_ms; /* ZMTP liveness */
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

void *sock_new(daemon_s *d, int type)
{
    return net_socket(d->ctx, d->cfg, type);
}

bool net_secure(void *s, const gp_config *cfg, const char *pub, const char *sec, const char *domain,
                const char *server)
{
    if (!cfg->curve) return true;
    int one = 1;
    if (domain)
        return zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
               zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, GP_KEY_LEN) == 0 &&
               zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0;
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, GP_KEY_LEN) == 0 &&
           zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, GP_KEY_LEN) == 0 &&
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, GP_KEY_LEN) == 0;
}

bool sock_secure(daemon_s *d, void *s, const char *domain, const char *server)
{
    return net_secure(s, d->cfg, d->pub, d->sec, domain, server);
}

void *net_peer(void *ctx, const gp_config *cfg, const char *pub, const char *sec, int p)
{
    void *s = net_socket(ctx, cfg, ZMQ_DEALER);
    /* Queue only to a live connection: a peer stopped (SIGSTOP, a hung
     * machine) misses the ZMTP heartbeats, its connection is closed and what
     * was queued for it is dropped, rather than waiting for it by the
     * thousand, stale, to be worked through before anything new (its peers'
     * answers to its JOIN, their heartbeats) when it goes on. No fixed
     * routing id: the peer's ROUTER would refuse the new connection while
     * the old one, with the same id, still drains there, for seconds after
     * the peer goes on. Who sent a message is its `from`, and with CURVE the
     * key it connected with. */
    int immediate = 1;
    if (!s || zmq_setsockopt(s, ZMQ_IMMEDIATE, &immediate, sizeof immediate) != 0 ||
        !net_secure(s, cfg, pub, sec, NULL, cfg->nodes[p].public_key) ||
        zmq_connect(s, cfg->nodes[p].peer) != 0) {
        int e = errno;
        if (s) zmq_close(s);
        errno = e;
        return NULL;
    }
    return s;
}

/* Sends an encoded message on s, after the routing frames (route may be NULL). */
bool send_msg(void *s, zmq_msg_t *route, int nroute, const gp_pmsg *m, gp_msg *why)
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
void error_msg(gp_pmsg *r, uint64_t id, gp_err code, const char *reason)
{
    gp_pmsg_init(r, GP_MT_ERROR, id);
    gp_pmsg_uint(r, GP_F_CODE, (uint64_t)code);
    gp_pmsg_str(r, GP_F_ERROR, gp_errname(code));
    gp_pmsg_str(r, GP_F_REASON, reason);
    if (r->v[GP_F_REASON].s.len > GP_PROTO_MAX_STR) /* cut, rather than refuse to send */
        r->v[GP_F_REASON].s.len = GP_PROTO_MAX_STR;
}

void reply_error(daemon_s *d, zmq_msg_t *route, int nroute, uint64_t id, gp_err code,
                 const char *reason)
{
    gp_pmsg m;
    error_msg(&m, id, code, reason);
    if (!send_msg(d->clients, route, nroute, &m, NULL)) d->n.replies_dropped++;
}

/* Receives every part of one message from s: the first `max` into part[]
 * (to be closed by the caller), the others discarded. Returns how many parts
 * the message had (0 if none was waiting). */
int recv_parts(void *s, zmq_msg_t *part, int max, int *kept)
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
