/* gpdot.h - the client library of a gpdot cluster (libgpdot).
 *
 * A client talks to every daemon of the cluster named in a cluster file. It
 * sends each request to all of them (each daemon decodes for itself, none is
 * special) and accepts a result only once it is verified: the daemons report
 * a digest of what they decoded, a majority of those that answered (and at
 * least two) must agree, and a fetched matrix must match the agreed digest.
 * A soft error inside the daemon the data comes from therefore never reaches
 * the caller; when no majority agrees, the call fails with GP_EDETECTED.
 *
 * Matrices are row-major gp_rmat (common/gp_mat.h); results are allocated
 * for the caller (free with gp_rmat_free). Every function returns a gp_err
 * and, given a gp_msg, a reason. A gpdot_t is used by one thread at a time.
 */
#ifndef GPDOT_H
#define GPDOT_H

#include <stdbool.h>
#include <stdint.h>

#include "gp_err.h"
#include "gp_mat.h"

typedef struct gpdot gpdot_t;

/* Reads the cluster file and connects to every node (connections are made in
 * the background: a node that is down is simply not answering yet). NULL on
 * failure, with the reason in why.
 *
 * When the cluster file has a security section, every connection is CURVE
 * encrypted and authenticated with this client's key pair: the file
 * key_file, else $GPDOT_KEY, else ~/.config/gpdot/client.key (gpdot_connect:
 * key_file NULL). A node that refuses the key, or whose key is not the one
 * the cluster file gives it, answers every request with GP_EAUTH and the
 * reason. */
gpdot_t *gpdot_connect(const char *cluster_file, gp_msg *why);
gpdot_t *gpdot_connect_key(const char *cluster_file, const char *key_file, gp_msg *why);

/* Makes a CURVE key pair: the secret file `path` (mode 0600, never replacing
 * a file unless `replace`) and path.pub; pub (41 bytes, may be NULL) gets the
 * public key to put into the cluster file. */
gp_err gpdot_keygen(const char *path, bool replace, char *pub, gp_msg *why);

/* Closes the connections and frees c; sets *c to NULL; safe on NULL. */
void gpdot_close(gpdot_t **c);

/* Nodes in the cluster. */
int gpdot_nodes(const gpdot_t *c);

/* How long a request waits for the daemons' answers (default 30 s). */
void gpdot_set_timeout(gpdot_t *c, int ms);

/* A product decoded from exactly as many outputs as its code needs (K: two
 * nodes down on 8 with gpd 2 x 2, backwards) could not have seen an error.
 * By default the daemons refuse it (GP_EUNVERIFIED); with this on they
 * return it, and gpdotd_report.spare says 0. */
void gpdot_allow_unverified(gpdot_t *c, bool on);

/* PINGs every node. *up (may be NULL) gets the nodes that answered. GP_OK
 * when all did, GP_ENODES otherwise. */
gp_err gpdot_ping(gpdot_t *c, uint64_t *up, gp_msg *why);

#define GPDOT_MAX_COUNTERS 32

typedef struct gpdot_status {
    bool answered;
    uint64_t uptime_ms;
    uint64_t nodes_up; /* bit p: node p is up, as this node sees it */
    int ncounters;
    char counter_name[GPDOT_MAX_COUNTERS][48];
    uint64_t counter[GPDOT_MAX_COUNTERS];
    char blas[160]; /* the node's BLAS kernel and why ("" from a node that does not say) */
} gpdot_status;

/* STATUS of every node into st[0 .. nodes-1]. GP_OK if any answered. */
gp_err gpdot_status_all(gpdot_t *c, gpdot_status *st, gp_msg *why);

/* How a stored matrix is coded. scheme NULL: gpd with the m, n and
 * orientation below (m = n = 0: 2 x 2 if the cluster has the nodes for it,
 * else the largest polynomial code that fits). */
typedef struct gpdot_code {
    const char *scheme;      /* "gpd", "polynomial", "matdot", "replication", "uncoded" */
    int m, n;                /* block grid */
    const char *orientation; /* "row", "col" or NULL (auto) */
} gpdot_code;

/* Encodes w for every node and stores each node's block under name. Every
 * node must accept it. */
gp_err gpdot_store(gpdot_t *c, const char *name, gp_rmat w, const gpdot_code *code, gp_msg *why);

typedef struct gpdot_report {
    int answered;    /* daemons that answered */
    int agreed;      /* of which reported the accepted result */
    uint64_t wrong;  /* nodes any daemon found wrong and corrected */
    uint64_t digest; /* of the accepted result */
    int spare;       /* products: outputs beyond the threshold in the decodes of the accepted
                        result (the least the agreeing daemons report); 0: not checked (only
                        with gpdot_allow_unverified); -1: not a decoded product */
} gpdot_report;

/* out = W x (or W^T x) on the cluster, stored under `out` on every daemon; if
 * y is not NULL, the verified result is fetched into it. */
gp_err gpdot_multiply(gpdot_t *c, const char *name, gp_rmat x, bool transpose, const char *out,
                      gp_rmat *y, gpdot_report *rep, gp_msg *why);

/* Puts a whole matrix (such as a batch of inputs) under name on every
 * daemon. */
gp_err gpdot_put(gpdot_t *c, const char *name, gp_rmat v, gp_msg *why);

/* out = f(name) (or f'), elementwise; softmax over each column. Verified by
 * the majority of digests like a product; rep may be NULL. */
gp_err gpdot_activate(gpdot_t *c, const char *name, const char *fn, bool derivative,
                      const char *out, gpdot_report *rep, gp_msg *why);

/* out = a .* b. */
gp_err gpdot_hadamard(gpdot_t *c, const char *a, const char *b, const char *out, gpdot_report *rep,
                      gp_msg *why);

/* The coded update W += alpha D X^T of the stored matrix name, D and X being
 * results on the daemons (rows x B and cols x B). Each daemon updates its own
 * block, with no re-encoding. */
gp_err gpdot_update(gpdot_t *c, const char *name, double alpha, const char *delta,
                    const char *input, gp_msg *why);

/* Fetches a result matrix, verified against the digests of the daemons. */
gp_err gpdot_fetch(gpdot_t *c, const char *name, gp_rmat *out, gp_msg *why);

/* Drops name on every daemon. */
gp_err gpdot_drop(gpdot_t *c, const char *name, gp_msg *why);

/* ---- training jobs ---------------------------------------------------------------------
 *
 * A job is a job file's text (see gp_job.h) with overrides "key=value",
 * one per line. Every daemon gets it and they train it together; the client
 * may go away. Job ids are random 64-bit numbers, printed as 16 hex digits. */

/* Data a client ships with the job (for hosts without the files): the train
 * images (or CSV) and labels, the test images (or CSV) and labels. */
typedef struct gpdot_upload {
    const void *data[4];
    size_t len[4];
} gpdot_upload;

/* Sends the job to every node. *job gets its id; *accepted the nodes that
 * took it. GP_OK when more than half did; the first refusal otherwise (a bad
 * job file is refused by every node, with the reason). */
gp_err gpdot_submit(gpdot_t *c, const char *text, size_t len, const char *set,
                    const gpdot_upload *up, uint64_t *job, uint64_t *accepted, gp_msg *why);

#define GPDOT_JOB_COUNTERS 24
typedef struct gpdot_job_info {
    bool answered;
    uint64_t job;
    char name[64], state[16], reason[512];
    int epoch, epochs;
    uint64_t step, steps;
    double loss, accuracy, rate, elapsed, mean, scale; /* accuracy < 0: none yet */
    bool has_loss, has_stats;
    uint64_t nodes_up; /* bit p: node p took part in this node's last exchange */
    int ncounters;
    char counter_name[GPDOT_JOB_COUNTERS][48];
    uint64_t counter[GPDOT_JOB_COUNTERS];
    char *text; /* the job file and its overrides (malloc'd; gpdot_job_info_free) */
    /* per node p, as this node sees it (nstats nodes; 0 if it did not say) */
    int nstats;
    uint64_t node_wrong[64]; /* outputs of p this node's decodes found wrong */
    uint64_t node_off[64];   /* checks that found p's stored blocks off the code */
    uint64_t suspects;       /* bit p: this node holds p for a suspect */
} gpdot_job_info;

/* Every node's view of a job (job 0: the latest one submitted): info has
 * one entry per node. GP_OK when any node answered. */
gp_err gpdot_job_status(gpdot_t *c, uint64_t job, gpdot_job_info *info, gp_msg *why);
void gpdot_job_info_free(gpdot_job_info *info, int n);
/* The value of a job counter, 0 when absent. */
uint64_t gpdot_job_counter(const gpdot_job_info *info, const char *name);

/* Asks every node to stop the job. */
gp_err gpdot_cancel(gpdot_t *c, uint64_t job, gp_msg *why);

#endif
