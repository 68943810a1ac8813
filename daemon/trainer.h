/* trainer.h - training jobs inside gpdotd.
 *
 * Every daemon runs the same job in lock step with its peers on a thread of
 * its own (the trainer). Per step (CODES.md §4): for every layer, encode its
 * own copy of the input, one coded product with its stored block, send the
 * output to every peer, collect theirs, decode (every node for itself,
 * deterministically), apply the activation; the same backwards with the
 * transposed products and the Hadamard products with f'; then the coded
 * updates of its blocks. A check exchange ends the step: every node sends a
 * random projection of its updated blocks and its vote (whether all its
 * decodes succeeded). The projections locate stored blocks that left the
 * code (an update gone wrong, or a node's spoiled copy of a delta), which
 * are regenerated from healthy peers' blocks at once; a step that a majority
 * could not decode is rolled back on every node and redone.
 *
 * The trainer sends to its peers on sockets of its own (net.h). The I/O
 * thread (server.c) receives: it hands the trainer the PARTIAL messages of
 * the job (tr_partial) and the set of live nodes (tr_set_up), and stores a
 * finished job's blocks (tr_socket, tr_forward).
 * Exchanges are keyed by (step, attempt, phase); the mailbox keeps only keys
 * from the current one to the end of the next step, within a byte budget.
 */
#ifndef GP_TRAINER_H
#define GP_TRAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "gp_code.h"
#include "gp_config.h"
#include "gp_err.h"
#include "gp_proto.h"

typedef struct gp_trainer gp_trainer;

/* Starts the trainer thread and connects its sockets to the peers. ctx is
 * the daemon's ZeroMQ context; pub and sec its CURVE keys (when the cluster
 * has security). */
gp_trainer *tr_new(const gp_config *cfg, int self, void *ctx, const char *pub, const char *sec);
/* Stops a running job (state failed: "daemon stopped") and the thread. */
void tr_destroy(gp_trainer **t);

/* The socket the I/O thread polls for the trainer's notices. */
void *tr_socket(gp_trainer *t);
/* Takes the notices: when a job has ended, calls adopt once per layer with
 * the job's final stored block (taken over by the callee, with a code of its
 * own) so that FETCH can decode it. */
typedef void (*tr_adopt_fn)(void *arg, const char *name, gp_rmat *block, size_t rows, size_t cols,
                            gp_code_t **code, uint64_t updates);
void tr_forward(gp_trainer *t, tr_adopt_fn adopt, void *arg);
/* Adds the messages (and their bytes) the trainer sent to peers since the
 * last call. */
void tr_sent(gp_trainer *t, uint64_t *messages, uint64_t *bytes);

/* The live nodes (bit p), updated by the I/O thread. */
void tr_set_up(gp_trainer *t, uint64_t up);

/* SUBMIT: parses and queues the job (copying what it needs from m). */
gp_err tr_submit(gp_trainer *t, const gp_pmsg *m, gp_msg *why);
/* JOIN from a peer that (re)starts: what job runs here, at which step (a
 * JOIN_INFO, encoded into *buf, malloc'd), with the job itself if the peer
 * lacks it; a JOIN with a step asks for this node's blocks at that step.
 * false: nothing to answer. */
bool tr_join(gp_trainer *t, const gp_pmsg *m, int from, void **buf, size_t *len);
/* JOIN_INFO: a peer's answer; a running job this node lacks is taken up. */
void tr_join_info(gp_trainer *t, const gp_pmsg *m, int from);

/* JOB_PARTIAL (a training exchange's partial, by JOB and KEY): returns false if it is not
 * for the job running here or outside the window (dropped). frame: the frame
 * that holds the partial's data (its frame 1), or NULL; kept without a copy
 * (ZeroMQ counts its references) when aligned for doubles. */
bool tr_partial(gp_trainer *t, const gp_pmsg *m, int from, zmq_msg_t *frame);
/* JOB_STATUS (job 0: the latest): fills r (a JOB_INFO; pointers into
 * scratch, which must outlive the send). */
typedef struct tr_scratch {
    char name[64], state[16], reason[512];
    char *text; /* the job's text and overrides, a copy: free() after sending */
    uint64_t up[GP_CONFIG_MAX_NODES];
    gp_pcounter c[24];
    double stats[GP_CONFIG_MAX_NODES * 3];
} tr_scratch;
gp_err tr_info(gp_trainer *t, uint64_t job, gp_pmsg *r, tr_scratch *s, gp_msg *why);
gp_err tr_cancel(gp_trainer *t, uint64_t job, gp_msg *why);

/* One line on the job running or last run: "job <id> 'name': running,
 * step 10 of 938", or "no job". */
void tr_brief(gp_trainer *t, char *buf, size_t len);

/* Name of a finished job's layer l in the store: "job-<16 hex>.W<l>". */
void tr_weight_name(uint64_t job, int l, char *buf, size_t len);

#endif
