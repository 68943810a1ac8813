/* zap.c - the ZAP handler of gpdotd (see zap.h). */
#define _GNU_SOURCE /* pthread_setname_np */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "gp_clock.h"
#include "log.h"

struct gp_zap {
    const gp_config *cfg;
    int self;
    void *sock;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint_fast64_t refused;
    int64_t last_log;
    uint64_t unlogged;
};

static bool frame_is(zmq_msg_t *f, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size(f) == n && memcmp(zmq_msg_data(f), s, n) == 0;
}

/* The user id for a key in a domain, or false if it may not connect. */
static bool allowed(const gp_zap *z, zmq_msg_t *domain, const char *key, char *user, size_t cap)
{
    if (frame_is(domain, GP_ZAP_PEERS)) {
        for (int p = 0; p < z->cfg->nnodes; p++)
            if (p != z->self && !strcmp(z->cfg->nodes[p].public_key, key)) {
                snprintf(user, cap, "node-%d", p);
                return true;
            }
    } else if (frame_is(domain, GP_ZAP_CLIENTS)) {
        for (int i = 0; i < z->cfg->nclients; i++)
            if (!strcmp(z->cfg->clients[i].public_key, key)) {
                snprintf(user, cap, "client-%s", z->cfg->clients[i].name);
                return true;
            }
    }
    return false;
}

static void send_str(void *s, const char *str, bool more)
{
    zmq_send(s, str, strlen(str), more ? ZMQ_SNDMORE : 0);
}

/* One request: version, request id, domain, address, identity, mechanism,
 * credentials (CURVE: the client's 32-byte public key). */
static void handle(gp_zap *z)
{
    enum { NF = 8 };
    zmq_msg_t f[NF];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t tmp, *m = n < NF ? &f[n] : &tmp;
        zmq_msg_init(m);
        if (zmq_msg_recv(m, z->sock, 0) < 0) {
            zmq_msg_close(m);
            break;
        }
        more = zmq_msg_more(m);
        if (n < NF)
            n++;
        else
            zmq_msg_close(m);
    }
    char user[GP_CONFIG_MAX_NAME + 16] = "", key[GP_KEY_LEN + 1] = "", addr[64] = "?";
    bool ok = false;
    if (n >= 7 && frame_is(&f[0], "1.0") && frame_is(&f[5], "CURVE") && zmq_msg_size(&f[6]) == 32 &&
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32))
        ok = allowed(z, &f[2], key, user, sizeof user);
    if (n >= 4)
        snprintf(addr, sizeof addr, "%.*s",
                 (int)(zmq_msg_size(&f[3]) < 63 ? zmq_msg_size(&f[3]) : 63),
                 (const char *)zmq_msg_data(&f[3]));
    /* reply: version, request id, status code, status text, user id, metadata */
    send_str(z->sock, "1.0", true);
    if (n >= 2)
        zmq_send(z->sock, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
    else
        send_str(z->sock, "", true);
    send_str(z->sock, ok ? "200" : "400", true);
    send_str(z->sock, ok ? "OK" : "key not authorised by this cluster", true);
    send_str(z->sock, user, true);
    send_str(z->sock, "", false);
    if (!ok) {
        atomic_fetch_add(&z->refused, 1);
        int64_t t = gp_mono_ms();
        if (t - z->last_log >= 1000) {
            char dom[16] = "?";
            if (n >= 3)
                snprintf(dom, sizeof dom, "%.*s",
                         (int)(zmq_msg_size(&f[2]) < 15 ? zmq_msg_size(&f[2]) : 15),
                         (const char *)zmq_msg_data(&f[2]));
            gp_log(z->self,
                   "refused a connection from %s to the %s endpoint: key %s is not "
                   "in the cluster file%s",
                   addr, dom, key[0] ? key : "(none)", z->unlogged ? " (and earlier ones)" : "");
            z->last_log = t;
            z->unlogged = 0;
        } else {
            z->unlogged++;
        }
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
}

static void *run(void *arg)
{
    gp_zap *z = arg;
    pthread_setname_np(pthread_self(), "gp-zap"); /* as top and perf show it */
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t it = {z->sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&it, 1, 200);
        if (rc > 0 && (it.revents & ZMQ_POLLIN)) handle(z);
        if (rc < 0 && zmq_errno() == ETERM) break;
    }
    return NULL;
}

gp_zap *gp_zap_start(void *ctx, const gp_config *cfg, int self)
{
    gp_zap *z = calloc(1, sizeof *z);
    if (!z) return NULL;
    z->cfg = cfg;
    z->self = self;
    z->last_log = gp_mono_ms() - 1000;
    int linger = 0;
    z->sock = zmq_socket(ctx, ZMQ_REP);
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(z->sock, "inproc://zeromq.zap.01") != 0 ||
        pthread_create(&z->thread, NULL, run, z) != 0) {
        if (z->sock) zmq_close(z->sock);
        free(z);
        return NULL;
    }
    return z;
}

uint64_t gp_zap_refused(const gp_zap *z)
{
    return z ? atomic_load(&((gp_zap *)z)->refused) : 0;
}

void gp_zap_stop(gp_zap **zp)
{
    gp_zap *z = zp ? *zp : NULL;
    if (!z) return;
    atomic_store(&z->stop, true);
    pthread_join(z->thread, NULL);
    zmq_close(z->sock);
    free(z);
    *zp = NULL;
}
