/* trainer_impl.h - what the trainer's files share (see trainer.h for the
 * I/O thread's side, daemon/README.md for the map of the files).
 *
 * A training job runs on the trainer thread as a `run` (job_run.c, the
 * driver): each step is attempted (step.c) with the exchange of partials
 * (exchange.c) and the check of the stored code (integrity.c), and committed
 * by a quorum; the job waits, joins or rolls back when it cannot be
 * (rejoin.c, integrity.c), keeps durable state (checkpoint.c) and is known
 * to the I/O thread through the job table (jobs.c). The trainer sends to its
 * peers on sockets of its own; what they send comes in through the I/O
 * thread (tr_partial, tr_join, tr_join_info).
 */
#ifndef GP_TRAINER_IMPL_H
#define GP_TRAINER_IMPL_H

#include "trainer.h"
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "gp_blas.h"
#include "gp_clock.h"
#include "gp_plan.h"
#include "gp_rng.h"
#include "gp_train.h"
#include "log.h"
#include "net.h"
#include "state.h"

#define TR_JOBS       16             /* jobs remembered (queued, running, ended) */
#define TR_QUEUE      4              /* of which queued at most */
#define TR_SLOTS      1024           /* exchanges held at once: a joiner's backlog, ~170 steps */
#define TR_MAIL_BYTES (512ull << 20) /* bytes of partials held at once */
#define TR_ENDPOINT   "inproc://gpdot-trainer"

/* Phases of a step, in schedule order (the low bits of an exchange key). */
enum {
    PH_START = 0,
    PH_FWD = 1,  /* + layer */
    PH_BWD = 16, /* + (GP_JOB_MAX_LAYERS - 1 - layer): the last layer first */
    PH_CHECK = 32,
    PH_RECHECK = 33, /* after a step not committed: the stored code as before it */
    PH_REGEN = 40,   /* + layer */
    PH_EVAL = 56,    /* + layer */
    PH_REREGEN = 64, /* + layer: rebuilds after the PH_RECHECK */
};
/* exchanges of blocks being rebuilt: who missed them is not counted lost */
#define IS_REGEN(phase)                                                                            \
    (((phase) >= PH_REGEN && (phase) < PH_EVAL) ||                                                 \
     ((phase) >= PH_REREGEN && (phase) < PH_REREGEN + GP_JOB_MAX_LAYERS))
/* key: generation (rollbacks so far) << 56 | step << 20 | attempt << 8 | phase */
#define KEY(step, attempt, phase)                                                                  \
    ((uint64_t)r->check.gen << 56 | (uint64_t)(step) << 20 | (uint64_t)(attempt) << 8 | (phase))
#define KEY_STEP(k)    (((k) >> 20) & ((1ull << 36) - 1))
#define KEY_ATTEMPT(k) ((unsigned)((k) >> 8) & 0xfffu)
#define KEY_PHASE(k)   ((unsigned)(k)&0xffu)
#define KEY_GEN(k)     ((unsigned)((k) >> 56))
/* START carries: 1, then for each of the node's two checkpoints its step + 1
 * (0: none or damaged) and its count of coded updates */
#define START_LEN       5
#define MAX_ROLLBACKS   100
#define MAX_SKIPPED_RUN 10   /* consecutive steps skipped before a job fails */
#define EVAL_ATTEMPT    4095 /* evaluation exchanges follow every attempt of a step */
#define JOIN_ATTEMPT    4094 /* blocks for a joining node: before the step it joins at */
#define MAX_ATTEMPTS    4000 /* attempts at one step (redos and retries after waits) */
/* A node whose output is found wrong in this many of its consecutive decoded
 * outputs is a suspect: its stored blocks are checked at every step (not
 * only every check_every), it is not a source for regenerating others, and
 * it stays one until that many times as many outputs of it are right again. */
#define SUSPECT_AFTER 5
#define SUSPECT_CLEAR (4 * SUSPECT_AFTER)

/* Job counters, shown by status. */
#define JOB_COUNTERS(X)                                                                            \
    X(errors_injected)                                                                             \
    X(errors_corrected)                                                                            \
    X(errors_detected)                                                                             \
    X(steps_redone)                                                                                \
    X(steps_skipped)                                                                               \
    X(rollbacks)                                                                                   \
    X(split_votes)                                                                                 \
    X(blocks_regenerated)                                                                          \
    X(checks)                                                                                      \
    X(partials_missing)                                                                            \
    X(nodes_lost)                                                                                  \
    X(us_compute)                                                                                  \
    X(us_coding)                                                                                   \
    X(us_wait)                                                                                     \
    X(us_checkpoint)                                                                               \
    X(checkpoints_damaged)

typedef struct jcounters {
#define X(name) uint64_t name;
    JOB_COUNTERS(X)
#undef X
} jcounters;

typedef enum { JS_QUEUED, JS_RUNNING, JS_DONE, JS_FAILED, JS_CANCELLED } jstate;
/* What a peer said it does with a job (JOIN_INFO's state). */
enum { PK_NONE, PK_RUNNING, PK_WAITING, PK_JOINING, PK_DONE, PK_FAILED, PK_CANCELLED };

typedef struct tjob {
    bool used;
    uint64_t id;
    jstate state;
    char reason[512];
    char *text; /* the job file's text, then "\n# --set\n" and the overrides: owned */
    size_t tlen;
    char *set; /* overrides, one per line: owned */
    size_t slen;
    char *blob[4]; /* uploaded train data, labels, test data, labels: owned until loaded */
    size_t blen[4];
    gp_job job;
    int64_t submitted, started_ms;
    /* progress */
    int epoch;
    uint64_t step, steps;
    double loss, accuracy, rate, elapsed, mean, scale;
    jcounters n;
    uint64_t up;
    bool cancel;
    /* per node, as this node sees it: outputs found wrong, checks that found
     * its stored blocks off the code; the suspects */
    uint64_t node_wrong[GP_CONFIG_MAX_NODES], node_off[GP_CONFIG_MAX_NODES];
    uint64_t suspects;
    bool resume;      /* restored from the state directory: resume from a checkpoint */
    bool join;        /* taken up from a peer that runs it: join it where it is */
    unsigned gen;     /* the running job's generation (rollbacks; see KEY) */
    uint64_t at_step; /* the step the trainer is at (not yet committed) */
    bool waiting;     /* for a quorum or for redundancy: reason says which */
} tjob;

typedef struct slot {
    bool used;
    uint64_t key;
    uint64_t have, ok;
    gp_rmat part[GP_CONFIG_MAX_NODES];
    zmq_msg_t *held[GP_CONFIG_MAX_NODES]; /* part[p] is a view into this frame */
} slot;

/* A finished job's blocks, waiting for the I/O thread to adopt them. */
typedef struct finished {
    bool ready;
    uint64_t job;
    int nlayers;
    gp_rmat wt[GP_JOB_MAX_LAYERS];
    size_t rows[GP_JOB_MAX_LAYERS], cols[GP_JOB_MAX_LAYERS];
    gp_code_t *code[GP_JOB_MAX_LAYERS];
    uint64_t updates;
} finished;

struct gp_trainer {
    const gp_config *cfg;
    int self, P;
    void *ctx, *pull;
    void *out[GP_CONFIG_MAX_NODES];    /* the trainer's own sockets to its peers */
    _Atomic uint64_t sent, sent_bytes; /* messages to peers, and their bytes */
    pthread_t thread;
    bool thread_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    _Atomic uint64_t up;
    tjob jobs[TR_JOBS];
    int active;     /* index of the running job, -1 */
    uint64_t floor; /* exchanges below this key are over */
    slot slots[TR_SLOTS];
    size_t mail_bytes;
    finished fin;
    uint64_t latest;              /* last job submitted */
    uint64_t wait_key, wait_need; /* the exchange the trainer waits for, and for whom */
    /* jobs cancelled before their SUBMIT arrived here (the client goes on once
     * a majority accepts it, so a CANCEL may overtake it on a slow node) */
    uint64_t precancelled[TR_JOBS];
    int nprecancelled;
    char dir[600];    /* <state_dir>/node<ID>; "" if it cannot be used */
    bool wide_window; /* resuming or joining: exchanges may come early */
    bool joining;     /* in join_run: not a source for others to join */
    uint64_t ahead;   /* peers whose exchanges are beyond this node's window */
    bool behind;      /* most are: the others went on without it */
    /* joins: what peers asked of this node (its blocks at a step), and what
     * they said they run */
    struct {
        bool on;
        uint64_t job, step, gen;
    } want_join[GP_CONFIG_MAX_NODES];
    struct {
        bool seen;
        int kind; /* PK_*: what the peer does with `job` */
        uint64_t job, step, gen;
        double rate; /* steps per second */
    } info[GP_CONFIG_MAX_NODES];
    /* after a wait, nodes at one step follow the highest attempt any of them
     * has started (cur_*: where the trainer is; newer: the highest seen) */
    bool follow;
    unsigned cur_gen, cur_attempt, newer;
    uint64_t cur_step;
    int64_t next_probe;
};

#define tlog(t, ...) gp_log((t)->self, __VA_ARGS__)

/* One job's run on this node, in four parts with one purpose each. */
typedef struct run {
    /* the job and this node's place in it */
    gp_trainer *t;
    tjob *j;           /* its entry in the job table (status, counters) */
    const gp_job *job; /* the parsed job file */
    void *push;        /* the trainer thread's socket to the I/O thread */
    int L, P, self;    /* layers, nodes, this node */
    gp_code_t *code;   /* the code every layer is stored in */
    const gp_code_info *info;
    uint64_t part_mask[2]; /* nodes taking part in forward / backward products */
    gp_dataset train, test;
    gp_norm_stats st; /* the input normalisation, from the training set */

    /* the model: this node's coded blocks and the matrices of a step */
    struct run_model {
        /* W_l: rows x cols (the bias included) */
        size_t rows[GP_JOB_MAX_LAYERS], cols[GP_JOB_MAX_LAYERS];
        gp_rmat wt[GP_JOB_MAX_LAYERS];     /* this node's coded block of each W_l */
        gp_rmat backup[GP_JOB_MAX_LAYERS]; /* each block before the update (step.c) */
        /* `precision: float32`: the products in single precision, from a
         * float32 copy of each block made at the start of every attempt
         * (step.c); the blocks themselves stay in double */
        bool f32;
        gp_fmat wf[GP_JOB_MAX_LAYERS];
        gp_fmat encf, outf;                /* a product's input and output in float32 */
        gp_rmat x[GP_JOB_MAX_LAYERS + 1];  /* X_l: (sizes[l]+1) x B */
        gp_rmat s[GP_JOB_MAX_LAYERS + 1];  /* S_l: sizes[l] x B (l >= 1) */
        gp_rmat dl[GP_JOB_MAX_LAYERS + 1]; /* D_l: sizes[l] x B (l >= 1) */
        gp_rmat c;                         /* a backward product, decoded */
        gp_rmat enc, out;                  /* a product's encoded input, its output */
        gp_rmat dt, xt;                    /* an update's encoded D_l and X_l */
        gp_rmat proj;                      /* the projections the check sends */
        uint8_t *labels;                   /* the step's labels */
        uint64_t updates;                  /* updates committed to the blocks so far */
    } model;

    /* the attempt: the step being tried, and what its decodes and check said */
    struct run_attempt {
        uint64_t step;
        int attempt;
        bool own_ok;          /* every decode of this attempt succeeded here */
        uint64_t wrong_seen;  /* nodes found wrong in this attempt (logged) */
        bool no_quorum;       /* this attempt's check heard fewer than a quorum */
        bool short_handed;    /* a decode of this attempt had fewer spare outputs than asked */
        int short_k;          /* the threshold of the last such decode */
        bool overflow;        /* the last decode that failed had products past double's range */
        bool superseded;      /* the others went on to a later attempt of this step */
        bool joined_now;      /* this step was reached by joining: follow the others' attempts */
        int skipped_run;      /* consecutive steps skipped */
        char last_error[400]; /* the last decode's failure, for the job's reason */
    } at;

    /* integrity: the nodes' records, the stored code's state, the snapshot a
     * rollback returns to, the checkpoints */
    struct run_check {
        int streak[GP_CONFIG_MAX_NODES]; /* > 0: consecutive wrong outputs; < 0: right ones */
        uint64_t suspects;               /* nodes whose blocks are checked at every step */
        unsigned gen;                    /* rollbacks so far: part of every exchange key */
        bool broken;                     /* the last check found stored blocks beyond repair */
        bool clean;                      /* the last check found every stored block on the code */
        gp_rmat snap[GP_JOB_MAX_LAYERS]; /* blocks as of snap_step, when all were consistent */
        uint64_t snap_step, snap_updates;
        bool snap_valid; /* snap[] is the cluster's snapshot at snap_step (not a join's) */
        /* checkpoints: what the START exchange said each node holds */
        double start_info[GP_CONFIG_MAX_NODES][START_LEN];
        uint64_t start_have;
        int ckpt_next; /* which of ckpt-0/1 the next checkpoint replaces */
    } check;

    /* membership: whom a step needs and waits for; this node's own join */
    struct run_peers {
        int quorum;           /* votes a step needs: a majority of the cluster */
        uint64_t excluded;    /* nodes that missed a deadline: not waited for until they answer */
        int64_t join_started; /* joining: when; until this node has caught up */
        uint64_t join_step;   /* the step it joined at */
    } peers;
} run;

enum { W_RETRY, W_JOINED, W_CANCEL, W_ENDED };

/* ---- small helpers ---- */

/* Every node of a cluster of P but `self`. */
static inline uint64_t others_mask(int P, int self)
{
    return (P == 64 ? ~0ull : (1ull << P) - 1) & ~(1ull << self);
}

static inline gp_rmat view(gp_rmat m, size_t rows, size_t cols)
{
    return gp_rmat_view(m.data, rows, cols, cols);
}

static inline gp_fmat fview(gp_fmat m, size_t rows, size_t cols)
{
    return gp_fmat_view(m.data, rows, cols, cols);
}

/* ---- exchange.c: the exchange of partials: the mailbox, sending, collecting (who is waited
 * for, who is left out, when a joiner has caught up) */
slot *mail_slot(gp_trainer *t, uint64_t key, bool create);
void mail_clear(gp_trainer *t);
/* JOIN: what runs (running: the sender runs `job` itself); with step, the
 * receivers' blocks at that step */
void ex_send_join(gp_trainer *t, uint64_t job, uint64_t step, uint64_t gen, bool running);
void ex_send(run *r, uint64_t dest, uint64_t key, gp_rmat y, bool ok);
/* the same for a float32 matrix, float32 on the wire (widened where received) */
void ex_send_f32(run *r, uint64_t dest, uint64_t key, gp_fmat y, bool ok);
slot *ex_collect(run *r, uint64_t key, uint64_t want, int64_t timeout_ms);
void ex_advance(run *r, uint64_t key);
int ex_outputs(run *r, const slot *s, size_t rows, size_t cols, gp_node_output *outs);

/* ---- faults.c: the soft errors a job injects into its own steps */
int fault_inject(run *r, gp_fault_op kind, uint64_t phase, gp_rmat m);
int fault_inject_f32(run *r, gp_fault_op kind, uint64_t phase, gp_fmat m);

/* ---- step.c: one attempt at a training step, in the paper's order: encode, product, exchange,
 * decode, activation, Hadamard, update, check */
bool attempt_step(run *r, gp_rmat x0, const uint8_t *labels, size_t b, double lr, double *loss);
/* The suspect rule, after a verified decode from outs (wrong: the outputs it
 * corrected): SUSPECT_AFTER wrong outputs in a row make a node a suspect,
 * SUSPECT_CLEAR right ones in a row clear it. */
void judge(run *r, const gp_node_output *outs, int n, uint64_t wrong);

/* ---- integrity.c: the stored code: projections, the check, regeneration of blocks off the
 * code, snapshots and rollback */
bool integrity_check(run *r);
/* Layer l's block and the buffer beside it trade places (an update or a
 * rebuild is written there, then swapped in). */
static inline void swap_block(run *r, int l)
{
    gp_rmat w = r->model.wt[l];
    r->model.wt[l] = r->model.backup[l];
    r->model.backup[l] = w;
}
/* sum of row[j] v[j], v[j] = +-1, within about one rounding (compensated) */
double signed_sum(const double *row, const double *v, size_t n);
void integrity_recheck(run *r);
void snap_take(run *r, uint64_t step);
void roll_back(run *r, unsigned gen);

/* ---- checkpoint.c: durable state: the job file, checkpoints, and resuming from them */
void state_path(const gp_trainer *t, const char *name, char *out, size_t cap);
void save_job(gp_trainer *t, tjob *j);
void drop_state(gp_trainer *t);
void save_checkpoint(run *r);
bool load_checkpoint(run *r, int i, uint64_t *step, uint64_t *updates, bool blocks);
/* The checkpoint a resumed job goes on from, from what the START exchange
 * said (info[p]: 1, then for each of node p's two checkpoints its step + 1,
 * 0 for none, and its count of coded updates; have: the nodes heard): the
 * latest step that more than kw nodes hold (K_w + 1: enough to rebuild the
 * others' blocks and check them on the way). Returns it (0: none), with its
 * count of updates and its holders. */
uint64_t resume_choice(int P, int kw, uint64_t have, const double info[][START_LEN],
                       uint64_t *updates, uint64_t *holders);
uint64_t resume_job(run *r);

/* ---- rejoin.c: waiting for a quorum or for redundancy, probing the peers, joining them where
 * they are, and serving their joins */
uint64_t probe_peers(run *r, int64_t wait_ms, uint64_t *step, uint64_t *gen, double *rate,
                     bool *waits);
uint64_t join_run(run *r);
void serve_joins(run *r);
bool join_pending(run *r);
unsigned latest_attempt(run *r);
void end_wait(run *r);
/* PK_DONE, PK_FAILED or PK_CANCELLED when a quorum of the cluster said in
 * the last probe that the job ended so; else 0 */
int quorum_ended(run *r);
int await_peers(run *r, int *ended);
void end_as_others(run *r, int how);

/* ---- job_run.c: the driver: set-up, the start barrier, the step loop, evaluation, the end of
 * a job */
void *trainer_main(void *arg);
void run_count(run *r, uint64_t *field, uint64_t add);
bool run_cancelled(run *r);
void run_set_state(run *r, jstate s, const char *reason);

#endif
