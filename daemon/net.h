/* net.h - sockets to the peers, shared by the I/O thread and the trainer:
 * each makes its own (a ZeroMQ socket belongs to one thread), with the same
 * limits, liveness and CURVE keys (sock.c). */
#ifndef GP_NET_H
#define GP_NET_H

#include <stdbool.h>

#include "gp_config.h"

/* A socket with the daemon's limits: bounded queues, the largest message,
 * ZMTP heartbeats, reconnection. */
void *net_socket(void *ctx, const gp_config *cfg, int type);
/* CURVE on s when the cluster has security: a server in ZAP domain `domain`,
 * or (domain NULL) a client of the node whose public key is `server`. */
bool net_secure(void *s, const gp_config *cfg, const char *pub, const char *sec, const char *domain,
                const char *server);
/* A DEALER connected to node p's peer endpoint, queueing only to a live
 * connection; NULL (errno set) on failure. */
void *net_peer(void *ctx, const gp_config *cfg, const char *pub, const char *sec, int p);

#endif
