/* zap.h - the ZAP handler of gpdotd: who may connect (ZeroMQ RFC 27).
 *
 * With a security section in the cluster file, every socket gpdotd binds is
 * a CURVE server, and libzmq asks this handler about every connection that
 * completes the CURVE handshake. The "peers" domain lets in the nodes' public
 * keys (user id "node-<ID>", which gpdotd then checks against the node a
 * message says it comes from); the "clients" domain the keys of
 * security.clients (user id "client-<NAME>"). Anything else is refused with
 * status 400, counted and logged (at most once a second).
 */
#ifndef GP_ZAP_H
#define GP_ZAP_H

#include <stdint.h>

#include "gp_config.h"

typedef struct gp_zap gp_zap;

#define GP_ZAP_PEERS   "peers"
#define GP_ZAP_CLIENTS "clients"

/* Binds inproc://zeromq.zap.01 on ctx and starts the handler thread. Must
 * run before any CURVE socket binds. NULL on failure. */
gp_zap *gp_zap_start(void *ctx, const gp_config *cfg, int self);

/* Connections refused so far. */
uint64_t gp_zap_refused(const gp_zap *z);

/* Stops the thread and closes its socket; safe on NULL. */
void gp_zap_stop(gp_zap **z);

#endif
