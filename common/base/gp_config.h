/* gp_config.h - the cluster file: one YAML file serves every daemon and the
 * client.
 *
 *   cluster: demo                       # a name, shown by status
 *   nodes:                              # ids 0 .. P-1, each once
 *     - {id: 0, client: "tcp://127.0.0.1:7100", peer: "tcp://127.0.0.1:7200"}
 *     - ...
 *   security:                           # optional: CURVE on every endpoint
 *     clients:                          # the client keys let in
 *       - {name: alice, public_key: "Z85 KEY (40 characters)"}
 *   defaults:                           # every key optional
 *     heartbeat_ms: 500                 # 10 .. 60000
 *     peer_timeout_ms: 5000             # 50 .. 600000, at least 2 heartbeats
 *     state_dir: /var/lib/gpdot
 *     workers: 1                        # BLAS worker threads, 1 .. 64
 *     blas_threads: 1                   # OpenBLAS threads per worker, 1 .. 64
 *     max_message: 268435456            # bytes, 4096 .. 2^31
 *   code: {scheme: gpd, m: 2, n: 2}     # how clients store matrices by default
 *   faults:                             # experiments only
 *     seed: 1
 *     rules:
 *       - {node: 3, op: multiply, probability: 0.1, magnitude: 1.0}
 *       - {node: all, op: update, probability: 0.001, magnitude: 1e3}
 *
 * With security, every node also names its public key ({id: 0, ...,
 * public_key: "..."}); each daemon holds its key pair in a file of its own
 * (gp_keys.h). Peers then accept only each other, and the client endpoints
 * only the listed client keys.
 *
 * Loading is driven by typed tables (key, type, bounds, default); every error
 * names file:line:column, and unknown keys are errors.
 */
#ifndef GP_CONFIG_H
#define GP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_err.h"
#include "gp_keys.h"
#include "gp_mat.h"

#define GP_CONFIG_MAX_NODES    64
#define GP_CONFIG_MAX_RULES    64
#define GP_CONFIG_MAX_ENDPOINT 256
#define GP_CONFIG_MAX_NAME     64
#define GP_CONFIG_MAX_CLIENTS  128

/* Where faults can be injected: each kind of step a node performs. */
typedef enum gp_fault_op {
    GP_FAULT_MULTIPLY,
    GP_FAULT_ENCODE,
    GP_FAULT_DECODE,
    GP_FAULT_ACTIVATION,
    GP_FAULT_HADAMARD,
    GP_FAULT_UPDATE,
    GP_FAULT_OP_COUNT_
} gp_fault_op;

const char *gp_fault_op_name(gp_fault_op op);

typedef struct gp_node_cfg {
    int id;
    char client[GP_CONFIG_MAX_ENDPOINT]; /* endpoint clients connect to */
    char peer[GP_CONFIG_MAX_ENDPOINT];   /* endpoint peers connect to */
    char public_key[GP_KEY_LEN + 1];     /* Z85; "" without security */
} gp_node_cfg;

typedef struct gp_client_key {
    char name[GP_CONFIG_MAX_NAME];
    char public_key[GP_KEY_LEN + 1];
} gp_client_key;

typedef struct gp_fault_rule {
    int node; /* -1: every node */
    gp_fault_op op;
    double probability; /* per operation, 0 .. 1 */
    double magnitude;   /* size of an injected error, > 0 */
} gp_fault_rule;

/* The one fault injector, for the daemons' client operations and training
 * jobs alike: each of the n rules for `node` (or all) and `kind` fires with
 * its probability times `scale` and adds its magnitude, with a random sign,
 * to one random entry of m. The random stream depends on (seed, stream,
 * node, kind) only, so an experiment repeats: a client operation's stream
 * is its request id, a training exchange's its key. Returns how many
 * fired. */
int gp_fault_inject(const gp_fault_rule *rules, int n, double scale, uint64_t seed, uint64_t stream,
                    int node, gp_fault_op kind, gp_rmat m);
/* The same on a single-precision matrix: the same draws, each sum rounded
 * to float. */
int gp_fault_inject_f32(const gp_fault_rule *rules, int n, double scale, uint64_t seed,
                        uint64_t stream, int node, gp_fault_op kind, gp_fmat m);

typedef struct gp_config {
    char path[512];
    char cluster[GP_CONFIG_MAX_NAME];
    int nnodes;
    gp_node_cfg nodes[GP_CONFIG_MAX_NODES]; /* nodes[i].id == i */
    int64_t heartbeat_ms, peer_timeout_ms, workers, blas_threads, max_message;
    char state_dir[512];
    char code_scheme[16]; /* "" when the file names no default code */
    int64_t code_m, code_n;
    char code_orientation[8];
    int64_t fault_seed;
    int nrules;
    gp_fault_rule rules[GP_CONFIG_MAX_RULES];
    bool curve; /* the file has a security section: CURVE everywhere */
    int nclients;
    gp_client_key clients[GP_CONFIG_MAX_CLIENTS];
} gp_config;

/* Loads and checks a cluster file. GP_EIO if it cannot be read; GP_EINVAL
 * with "file:line:col: reason" for anything wrong in it. */
gp_err gp_config_load(const char *path, gp_config *cfg, gp_msg *why);

/* The same from a string (name stands in for the file in messages). */
gp_err gp_config_parse(const char *text, size_t len, const char *name, gp_config *cfg, gp_msg *why);

#endif
