/* daemon.h - what the files of gpdotd's I/O side share: the daemon's state
 * (sockets, membership, the matrix store, the operations in flight) and each
 * file's functions under its name. The trainer (trainer.h) is a thread of its
 * own with its own state; the I/O thread reaches it through trainer.h only.
 *
 * Everything here runs on the I/O thread, except the worker jobs in ops.c and
 * local_ops.c, which read the operation they were given and the entries it
 * marked busy. */
#ifndef GP_DAEMON_H
#define GP_DAEMON_H

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gp_blas.h"
#include "gp_clock.h"
#include "gp_code.h"
#include "gp_config.h"
#include "gp_pool.h"
#include "gp_proto.h"
#include "gp_rng.h"
#include "net.h"
#include "gp_train.h"
#include "log.h"
#include "notify.h"
#include "trainer.h"
#include "zap.h"

/* server.c: set by a signal (main.c), read by the poll loop; this node's id,
 * for the log */
extern volatile sig_atomic_t stop_requested;
extern int node_id;

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

#define MAX_ENTRIES 256 /* named matrices held */
#define MAX_OPS     128 /* coded operations in flight, pending ones included */
#define MAX_PENDING                                                                                \
    96                         /* of which started by a peer's partial, not yet by a client:       \
                                  a node behind on its client socket still keeps every partial     \
                                  (their bytes count against MAX_BYTES like any other) */
#define MAX_BYTES (1ull << 32) /* bytes of named matrices and operation buffers */
#define RECENT    256          /* finished operation ids remembered, to drop late partials */

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
    int a, b;  /* the entries read: activation a; Hadamard a, b; update delta a, input b */
    gp_act fn; /* an activation: the function, or softmax over each column */
    bool softmax;
    bool deriv;
    double alpha;
} op;

typedef struct daemon_s {
    const gp_config *cfg;
    int self;
    void *ctx, *clients, *peers, *out[GP_CONFIG_MAX_NODES];
    zmq_msg_t *in_frame; /* frame 1 of the peer message being handled, or NULL */
    int64_t started, last_seen[GP_CONFIG_MAX_NODES], next_heartbeat;
    uint64_t heartbeat_seq; /* of the last heartbeat sent */
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

/* A worker job's tag on the pool's socket: its kind (1 product, 2 decode,
 * 3 local operation) and the operation's slot. */
#define TAG(kind, slot) ((uint64_t)(kind) << 32 | (uint64_t)(slot))

/* sock.c -- the socket factory, CURVE, framing */
void *sock_new(daemon_s *d, int type);
bool sock_secure(daemon_s *d, void *s, const char *domain, const char *server);
bool send_msg(void *s, zmq_msg_t *route, int nroute, const gp_pmsg *m, gp_msg *why);
void error_msg(gp_pmsg *r, uint64_t id, gp_err code, const char *reason);
void reply_error(daemon_s *d, zmq_msg_t *route, int nroute, uint64_t id, gp_err code,
                 const char *reason);
int recv_parts(void *s, zmq_msg_t *part, int max, int *kept);

/* membership.c -- heartbeats, who is up */
bool peer_up(const daemon_s *d, int p, int64_t t);
void heartbeat(daemon_s *d, int64_t t);
void on_heartbeat(daemon_s *d, const gp_pmsg *m, int from, int64_t t);

/* store.c -- named matrices */
bool pstr_is(gp_pstr a, const char *b);
int find_entry(const daemon_s *d, gp_pstr name);
void entry_free(daemon_s *d, entry *e);
gp_err entry_put(daemon_s *d, gp_pstr name, gp_rmat *m, bool coded, size_t rows, size_t cols,
                 gp_code_t **code, gp_msg *why);
gp_err mat_in(daemon_s *d, gp_pmat x, const char *what, gp_rmat *m, gp_msg *why);
void mat_release(daemon_s *d, gp_rmat *m);
gp_err do_store(daemon_s *d, const gp_pmsg *m, gp_msg *why);
int value_entry(daemon_s *d, gp_pstr name, gp_msg *why);
void adopt(void *arg, const char *name, gp_rmat *block, size_t rows, size_t cols, gp_code_t **code,
           uint64_t updates);

/* ops.c -- coded operations: the table, MULTIPLY, FETCH of a stored matrix */
void op_remember(daemon_s *d, uint64_t id);
bool op_finished(const daemon_s *d, uint64_t id);
op *op_find(daemon_s *d, uint64_t id);
op *op_new(daemon_s *d, uint64_t id, bool pending, int64_t t);
void op_free(daemon_s *d, op *o);
void op_reply(daemon_s *d, op *o, const gp_pmsg *r);
int op_inject(const daemon_s *d, gp_fault_op kind, uint64_t opid, gp_rmat m);
void on_pool(daemon_s *d, int64_t t);
gp_err do_multiply(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why);
gp_err do_fetch_coded(daemon_s *d, const gp_pmsg *m, int w, zmq_msg_t *route, int64_t t,
                      gp_msg *why);
void on_block_req(daemon_s *d, const gp_pmsg *m, int from, int64_t t);
void on_block(daemon_s *d, const gp_pmsg *m, int from, int64_t t);
void on_partial(daemon_s *d, const gp_pmsg *m, int from, int64_t t);
void on_tick(daemon_s *d, int64_t t);

/* local_ops.c -- ACTIVATE, HADAMARD, UPDATE on this node's own copies */
gp_err do_local(daemon_s *d, const gp_pmsg *m, zmq_msg_t *route, int64_t t, gp_msg *why);
void local_done(daemon_s *d, op *o);

/* requests.c -- the handlers of client requests and peer messages */
void on_client(daemon_s *d, int64_t t);
void on_peer(daemon_s *d, int64_t t);

/* server.c -- set-up, the poll loop, shutdown */
int serve(const gp_config *cfg, int self, const char *pub, const char *sec);

#endif
