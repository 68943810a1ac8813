/* membership.c - who is up: heartbeats sent every heartbeat_ms, and a peer
 * counts as up while its last one is younger than the peer timeout. */
#define _GNU_SOURCE
#include "daemon.h"

bool peer_up(const daemon_s *d, int p, int64_t t)
{
    return p == d->self || (d->last_seen[p] > 0 && t - d->last_seen[p] <= d->cfg->peer_timeout_ms);
}

void heartbeat(daemon_s *d, int64_t t)
{
    gp_pmsg m;
    uint64_t up[GP_CONFIG_MAX_NODES];
    size_t nup = 0;
    for (int p = 0; p < d->cfg->nnodes; p++)
        if (peer_up(d, p, t)) up[nup++] = (uint64_t)p;
    gp_pmsg_init(&m, GP_MT_HEARTBEAT, ++d->heartbeat_seq);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)d->self);
    gp_pmsg_uint(&m, GP_F_SEQ, d->heartbeat_seq);
    gp_pmsg_ids(&m, GP_F_UP, up, nup);
    for (int p = 0; p < d->cfg->nnodes; p++) {
        if (p == d->self) continue;
        if (send_msg(d->out[p], NULL, 0, &m, NULL))
            d->n.heartbeats_sent++;
        else
            d->n.heartbeats_unsent++; /* peer not connected or its queue full: it is down */
    }
}

/* HEARTBEAT from a peer: it is up now. */
void on_heartbeat(daemon_s *d, const gp_pmsg *m, int from, int64_t t)
{
    (void)m;
    if (d->last_seen[from] == 0 || t - d->last_seen[from] > d->cfg->peer_timeout_ms)
        logf_("node %d is up", from);
    d->last_seen[from] = t;
    d->n.heartbeats_received++;
}
