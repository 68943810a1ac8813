/* server.c - the I/O thread: set-up, the zmq_poll loop with its timers
 * (heartbeats, deadlines, systemd STATUS=), and shutdown. */
#define _GNU_SOURCE
#include "daemon.h"

volatile sig_atomic_t stop_requested;
int node_id = -1;

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

int serve(const gp_config *cfg, int self, const char *pub, const char *sec)
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
        if (!(d->out[p] = net_peer(d->ctx, cfg, pub, sec, p))) {
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
    d->tr = tr_new(cfg, self, d->ctx, pub, sec);
    if (!d->tr) {
        logf_("cannot start the trainer thread");
        shutdown_daemon(d);
        return 1;
    }
    d->started = gp_mono_ms();
    d->next_heartbeat = d->started;
    logf_("node %d of %d serving clients on %s, peers on %s; %lld workers with %lld BLAS "
          "threads each, BLAS kernel %s; %s",
          self, cfg->nnodes, cfg->nodes[self].client, cfg->nodes[self].peer,
          (long long)cfg->workers, (long long)cfg->blas_threads, gp_blas_kernel(),
          cfg->curve ? "CURVE on every endpoint" : "no authentication (no security section)");
    printf("ready\n");
    fflush(stdout);
    /* sockets bound, workers and trainer up: a Type=notify unit is started */
    gp_notify("READY=1\nSTATUS=node %d of %d: serving\nMAINPID=%d", self, cfg->nnodes,
              (int)getpid());
    char last_status[256] = "";
    int64_t next_status = d->started;
    while (!stop_requested) {
        int64_t t = gp_mono_ms();
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
        tr_sent(d->tr, &d->n.partials_sent, &d->n.partial_bytes_sent);
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
        t = gp_mono_ms();
        if (items[3].revents & ZMQ_POLLIN) tr_forward(d->tr, adopt, d);
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
