/* trainer.c - training jobs inside gpdotd (see trainer.h). */
#define _GNU_SOURCE
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
#include "gp_plan.h"
#include "gp_rng.h"
#include "gp_train.h"
#include "log.h"
#include "state.h"

#define TR_JOBS       16             /* jobs remembered (queued, running, ended) */
#define TR_QUEUE      4              /* of which queued at most */
#define TR_SLOTS      1024 /* exchanges held at once: a joiner's backlog, ~170 steps */
#define TR_MAIL_BYTES (512ull << 20) /* bytes of partials held at once */
#define TR_ENDPOINT   "inproc://gpdot-trainer"

/* Phases of a step, in schedule order (the low bits of an exchange key). */
enum {
    PH_START = 0,
    PH_FWD = 1,  /* + layer */
    PH_BWD = 16, /* + (GP_JOB_MAX_LAYERS - 1 - layer): the last layer first */
    PH_CHECK = 32,
    PH_RECHECK = 33,  /* after a step not committed: the stored code as before it */
    PH_REGEN = 40,    /* + layer */
    PH_EVAL = 56,     /* + layer */
    PH_REREGEN = 64,  /* + layer: rebuilds after the PH_RECHECK */
};
/* exchanges of blocks being rebuilt: who missed them is not counted lost */
#define IS_REGEN(phase)                                                                                (((phase) >= PH_REGEN && (phase) < PH_EVAL) ||                                                      ((phase) >= PH_REREGEN && (phase) < PH_REREGEN + GP_JOB_MAX_LAYERS))
/* key: generation (rollbacks so far) << 56 | step << 20 | attempt << 8 | phase */
#define KEY(step, attempt, phase)                                                                  \
    ((uint64_t)r->gen << 56 | (uint64_t)(step) << 20 | (uint64_t)(attempt) << 8 | (phase))
#define KEY_STEP(k)     (((k) >> 20) & ((1ull << 36) - 1))
#define KEY_ATTEMPT(k)  ((unsigned)((k) >> 8) & 0xfffu)
#define KEY_PHASE(k)    ((unsigned)(k) & 0xffu)
#define KEY_GEN(k)      ((unsigned)((k) >> 56))
/* START carries: 1, then for each of the node's two checkpoints its step + 1
 * (0: none or damaged) and its count of coded updates */
#define START_LEN 5
#define MAX_ROLLBACKS   100
#define MAX_SKIPPED_RUN 10  /* consecutive steps skipped before a job fails */
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
static const char *const state_names[] = {"queued", "running", "done", "failed", "cancelled"};

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
    bool resume; /* restored from the state directory: resume from a checkpoint */
    bool join;   /* taken up from a peer that runs it: join it where it is */
    unsigned gen; /* the running job's generation (rollbacks; see KEY) */
    uint64_t at_step; /* the step the trainer is at (not yet committed) */
    bool waiting;     /* for a quorum or for redundancy: reason says which */
} tjob;

typedef struct slot {
    bool used;
    uint64_t key;
    uint64_t have, ok;
    gp_rmat part[GP_CONFIG_MAX_NODES];
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
    char dir[600]; /* <state_dir>/node<ID>; "" if it cannot be used */
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

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

#define tlog(t, ...) gp_log((t)->self, __VA_ARGS__)

void tr_weight_name(uint64_t job, int l, char *buf, size_t len)
{
    snprintf(buf, len, "job-%016" PRIx64 ".W%d", job, l);
}

/* ---- the mailbox (under mu) ---------------------------------------------------------- */

static void slot_free(gp_trainer *t, slot *s)
{
    for (int p = 0; p < t->P; p++)
        if (s->part[p].data) {
            t->mail_bytes -= s->part[p].rows * s->part[p].cols * sizeof(double);
            gp_rmat_free(&s->part[p]);
        }
    memset(s, 0, sizeof *s);
}

static slot *slot_find(gp_trainer *t, uint64_t key, bool create)
{
    slot *free_slot = NULL;
    for (int i = 0; i < TR_SLOTS; i++) {
        slot *s = &t->slots[i];
        if (s->used && s->key == key) return s;
        if (s->used && s->key < t->floor) slot_free(t, s); /* an exchange that is over */
        if (!s->used && !free_slot) free_slot = s;
    }
    if (!create || !free_slot) return NULL;
    free_slot->used = true;
    free_slot->key = key;
    return free_slot;
}

static void mail_clear(gp_trainer *t)
{
    for (int i = 0; i < TR_SLOTS; i++)
        if (t->slots[i].used) slot_free(t, &t->slots[i]);
}

bool tr_partial(gp_trainer *t, const gp_pmsg *m, int from)
{
    gp_pmat v = m->v[GP_F_VALUE].m;
    uint64_t key = m->v[GP_F_STEP].u;
    size_t n = (size_t)v.rows * v.cols, bytes = n * sizeof(double);
    bool kept = false;
    pthread_mutex_lock(&t->mu);
    tjob *j = t->active >= 0 ? &t->jobs[t->active] : NULL;
    if (j && m->v[GP_F_OP].u == j->id && !t->wide_window && key >= t->floor &&
        KEY_STEP(key) > KEY_STEP(t->floor) + 1 && from != t->self) {
        /* a peer more than a step ahead: this node was left behind (it was
         * stopped, or slow enough to be excluded) */
        t->ahead |= 1ull << from;
        /* most of the others: a minority ahead is more likely the one astray */
        if (2 * __builtin_popcountll(t->ahead) > t->P - 1 && !t->behind) {
            t->behind = true;
            pthread_cond_broadcast(&t->cv);
        }
    }
    if (j && m->v[GP_F_OP].u == j->id && t->follow && from != t->self &&
        KEY_GEN(key) == t->cur_gen && KEY_STEP(key) == t->cur_step &&
        KEY_ATTEMPT(key) > t->cur_attempt && KEY_ATTEMPT(key) < JOIN_ATTEMPT &&
        KEY_ATTEMPT(key) > t->newer) {
        /* a peer has gone on to a later attempt of this step: follow it */
        t->newer = KEY_ATTEMPT(key);
        pthread_cond_broadcast(&t->cv);
    }
    if (j && m->v[GP_F_OP].u == j->id && !v.f32 && key >= t->floor &&
        (KEY_STEP(key) <= KEY_STEP(t->floor) + 1 || t->wide_window) &&
        t->mail_bytes + bytes <= TR_MAIL_BYTES) {
        slot *s = slot_find(t, key, true);
        if (s && !(s->have >> from & 1) && gp_rmat_alloc(&s->part[from], v.rows, v.cols) == GP_OK) {
            memcpy(s->part[from].data, v.data, bytes); /* NaN and Inf kept: decodes correct them */
            t->mail_bytes += bytes;
            s->have |= 1ull << from;
            if (!gp_pmsg_has(m, GP_F_OK) || m->v[GP_F_OK].b) s->ok |= 1ull << from;
            kept = true;
            /* wake the trainer only when what it waits for is complete */
            if (s->key == t->wait_key && (s->have & t->wait_need) == t->wait_need)
                pthread_cond_broadcast(&t->cv);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return kept;
}

void tr_set_up(gp_trainer *t, uint64_t up)
{
    atomic_store(&t->up, up);
}

/* ---- a running job: the trainer thread's state ----------------------------------------- */

typedef struct run {
    gp_trainer *t;
    tjob *j;
    const gp_job *job;
    void *push;
    int L, P, self;
    gp_code_t *code;
    const gp_code_info *info;
    uint64_t part_mask[2]; /* nodes taking part in forward / backward products */
    size_t rows[GP_JOB_MAX_LAYERS], cols[GP_JOB_MAX_LAYERS]; /* W_l: rows x cols (bias included) */
    gp_rmat wt[GP_JOB_MAX_LAYERS], backup[GP_JOB_MAX_LAYERS];
    gp_rmat x[GP_JOB_MAX_LAYERS + 1];  /* X_l: (sizes[l]+1) x B */
    gp_rmat s[GP_JOB_MAX_LAYERS + 1];  /* S_l: sizes[l] x B (l >= 1) */
    gp_rmat dl[GP_JOB_MAX_LAYERS + 1]; /* D_l: sizes[l] x B (l >= 1) */
    gp_rmat c, enc, out, dt, xt, proj;
    uint8_t *labels;
    uint64_t updates;
    bool own_ok; /* every decode of this attempt succeeded here */
    uint64_t step;
    int attempt;
    gp_dataset train, test;
    gp_norm_stats st;
    uint64_t wrong_seen; /* nodes found wrong in this attempt (logged) */
    int streak[GP_CONFIG_MAX_NODES]; /* > 0: consecutive wrong outputs; < 0: right ones */
    uint64_t suspects;
    uint64_t excluded;   /* nodes that missed a deadline: not waited for until they answer */
    int quorum;          /* votes a step needs: a majority of the cluster */
    bool no_quorum;      /* this attempt's check heard fewer than a quorum */
    bool short_handed;   /* a decode of this attempt had fewer spare outputs than asked */
    bool superseded;     /* the others went on to a later attempt of this step */
    bool joined_now;     /* this step was reached by joining: follow the others' attempts */
    int short_k;          /* the threshold of the last such decode */
    int skipped_run;     /* consecutive steps skipped */
    char last_error[400];
    unsigned gen;                    /* rollbacks so far: part of every exchange key */
    bool broken;                     /* the last check found stored blocks beyond repair */
    bool clean;                      /* the last check found every stored block on the code */
    gp_rmat snap[GP_JOB_MAX_LAYERS]; /* blocks as of snap_step, when all were consistent */
    uint64_t snap_step, snap_updates;
    /* checkpoints: what the START exchange said each node holds */
    double start_info[GP_CONFIG_MAX_NODES][START_LEN];
    uint64_t start_have;
    int ckpt_next; /* which of ckpt-0/1 the next checkpoint replaces */
    bool snap_valid;      /* snap[] is the cluster's snapshot at snap_step (not a join's) */
    int64_t join_started; /* joining: when; until this node has caught up */
    uint64_t join_step;
} run;

static bool load_checkpoint(run *r, int i, uint64_t *step, uint64_t *updates, bool blocks);
static tjob *find_job(gp_trainer *t, uint64_t id);

/* Injects the job's faults for one kind of step into m (see gpdotd's inject:
 * the same rule semantics, the job's seed and scale). */
static int inject(run *r, gp_fault_op kind, uint64_t phase, gp_rmat m)
{
    const gp_job *job = r->job;
    if (!job->nrules || job->fault_scale <= 0 || !m.data || !m.rows || !m.cols) return 0;
    gp_rng g;
    gp_rng_seed(
        &g, gp_mix64(job->fault_seed * 0x9E3779B97F4A7C15ull) /* the seed alone: runs repeat */ ^
                gp_mix64(KEY(r->step, r->attempt, phase)) ^ (uint64_t)r->self << 56 ^
                (uint64_t)kind << 48);
    int n = 0;
    for (int i = 0; i < job->nrules; i++) {
        const gp_fault_rule *f = &job->rules[i];
        if (f->op != kind || (f->node >= 0 && f->node != r->self)) continue;
        double p = f->probability * job->fault_scale;
        if (gp_rng_uniform(&g) >= p) continue;
        size_t at = gp_rng_below(&g, m.rows * m.cols);
        m.data[at / m.cols * m.ld + at % m.cols] +=
            gp_rng_uniform(&g) < 0.5 ? -f->magnitude : f->magnitude;
        n++;
    }
    if (n) {
        pthread_mutex_lock(&r->t->mu);
        r->j->n.errors_injected += (uint64_t)n;
        pthread_mutex_unlock(&r->t->mu);
    }
    return n;
}

static void count(run *r, uint64_t *field, uint64_t add)
{
    pthread_mutex_lock(&r->t->mu);
    *field += add;
    pthread_mutex_unlock(&r->t->mu);
}

static bool cancelled(run *r)
{
    pthread_mutex_lock(&r->t->mu);
    bool c = r->j->cancel || r->t->stop;
    pthread_mutex_unlock(&r->t->mu);
    return c;
}

/* Queues m for the nodes in dest (never the own bit) on the I/O thread. */
static void push_msg(void *push, uint64_t dest, const gp_pmsg *m)
{
    void *buf;
    size_t len;
    if (!dest || gp_proto_encode(m, &buf, &len, NULL) != GP_OK) return;
    zmq_send(push, &dest, sizeof dest, ZMQ_SNDMORE);
    zmq_send(push, buf, len, 0);
    free(buf);
}

/* JOIN to every other node: about job (0: none known), asking for the blocks
 * at step (0: only what runs where). */
static void send_join(gp_trainer *t, void *push, uint64_t job, uint64_t step, uint64_t gen)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_JOIN, 0);
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)t->self);
    gp_pmsg_uint(&m, GP_F_JOB, job);
    if (step) {
        gp_pmsg_uint(&m, GP_F_STEP, step);
        gp_pmsg_uint(&m, GP_F_EPOCH, gen);
    }
    uint64_t all = (t->P == 64 ? ~0ull : (1ull << t->P) - 1) & ~(1ull << t->self);
    push_msg(push, all, &m);
}

/* Sends y to the nodes in dest (bit p) with the job's key; a copy goes to
 * the own mailbox when dest has the own bit. */
static void send_to(run *r, uint64_t dest, uint64_t key, gp_rmat y, bool ok)
{
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_PARTIAL, key);
    gp_pmsg_uint(&m, GP_F_OP, r->j->id);
    gp_pmsg_uint(&m, GP_F_STEP, key);
    gp_pmsg_uint(&m, GP_F_LAYER, KEY_PHASE(key));
    gp_pmsg_str(&m, GP_F_PHASE, "job");
    gp_pmsg_uint(&m, GP_F_FROM, (uint64_t)r->self);
    gp_pmsg_bool(&m, GP_F_OK, ok);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){(uint32_t)y.rows, (uint32_t)y.cols, false, y.data});
    if (dest >> r->self & 1) tr_partial(r->t, &m, r->self);
    dest &= ~(1ull << r->self);
    if (!dest) return;
    void *buf;
    size_t len;
    if (gp_proto_encode(&m, &buf, &len, NULL) != GP_OK) return;
    zmq_send(r->push, &dest, sizeof dest, ZMQ_SNDMORE);
    zmq_send(r->push, buf, len, 0);
    free(buf);
}

/* Whether a peer has sent partials of a step after key's, in its generation
 * (under mu). */
static bool later_partials(run *r, uint64_t key)
{
    for (int i = 0; i < TR_SLOTS; i++) {
        const slot *s = &r->t->slots[i];
        if (s->used && (s->have & ~(1ull << r->self)) && KEY_GEN(s->key) == KEY_GEN(key) &&
            KEY_STEP(s->key) > KEY_STEP(key))
            return true;
    }
    return false;
}

/* A joining node has caught up with the others (under mu). */
static void caught_up(run *r)
{
    tlog(r->t, "job %016" PRIx64 ": caught up with the others at step %" PRIu64
         ", %.2f s after it started to rejoin (at step %" PRIu64 ")",
         r->j->id, r->step, (double)(mono_ms() - r->join_started) / 1000.0, r->join_step);
    r->join_started = 0;
}

/* Waits until every live node of `want` has sent `key`, or the peer timeout
 * has passed (then with what arrived). Returns the slot (under no lock: the
 * trainer alone frees slots at or above the floor), or NULL if cancelled. */
static slot *collect(run *r, uint64_t key, uint64_t want, int64_t timeout_ms)
{
    gp_trainer *t = r->t;
    uint64_t t0 = mono_us();
    int64_t deadline = mono_ms() + timeout_ms;
    slot *s = NULL;
    pthread_mutex_lock(&t->mu);
    if (r->join_started && KEY_PHASE(key) == PH_FWD && !later_partials(r, key)) {
        /* no peer has sent anything for a later step: this node is where the
         * others are (they may be waiting for it), no longer replaying */
        caught_up(r);
    }
    for (;;) {
        if (r->j->cancel || t->stop) {
            s = NULL;
            break;
        }
        if (t->behind && !t->wide_window) { /* no use waiting: the caller rejoins */
            s = slot_find(t, key, true);
            break;
        }
        if (t->follow && t->newer > t->cur_attempt && KEY_PHASE(key) <= PH_CHECK &&
            KEY_ATTEMPT(key) == t->cur_attempt) {
            r->superseded = true; /* the others are at a later attempt: so is this node */
            s = NULL;
            break;
        }
        s = slot_find(t, key, true);
        uint64_t up = (atomic_load(&t->up) | 1ull << r->self) & want & ~r->excluded;
        if (s && (s->have & up) == up) break;
        uint64_t others = up & ~(1ull << r->self), pending = others & ~(s ? s->have : 0);
        if (r->join_started && KEY_PHASE(key) == PH_FWD && others &&
            2 * __builtin_popcountll(pending) >= __builtin_popcountll(others)) {
            /* a joining node that waits for at least half of its live peers'
             * product: caught up (waiting for fewer, it may only be waiting
             * for another laggard, itself still catching up) */
            caught_up(r);
        }
        t->wait_key = key;
        t->wait_need = up;
        int64_t now = mono_ms();
        if (now >= deadline) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait = deadline - now < 50 ? deadline - now : 50;
        ts.tv_nsec += wait * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    t->wait_key = t->wait_need = 0;
    if (s) {
        uint64_t missing = want & ~s->have, up = atomic_load(&t->up);
        if (mono_ms() >= deadline) /* waited for in vain: not again until they answer */
            r->excluded |= missing & up & ~(1ull << r->self);
        /* and those down: when one is heard again (a stopped node continued,
         * a restarted one), the others go on without waiting for it until it
         * answers, rather than each waiting a peer timeout at the next
         * exchange and ending it with different sets of partials */
        r->excluded |= missing & ~up & ~(1ull << r->self);
        r->excluded &= ~s->have;
        r->j->n.partials_missing += (uint64_t)__builtin_popcountll(missing);
        uint64_t lost = r->j->up & ~s->have & want;
        if (lost && !IS_REGEN(KEY_PHASE(key))) {
            r->j->n.nodes_lost += (uint64_t)__builtin_popcountll(lost);
            for (int p = 0; p < r->P; p++)
                if (lost >> p & 1)
                    tlog(t, "job %016" PRIx64 ": node %d missing at step %" PRIu64, r->j->id, p,
                         r->step);
        }
        if (!IS_REGEN(KEY_PHASE(key))) r->j->up = s->have | 1ull << r->self;
    }
    r->j->n.us_wait += mono_us() - t0;
    pthread_mutex_unlock(&t->mu);
    return s;
}

/* The floor moves up when an exchange is over: older partials are dropped. */
static void advance(run *r, uint64_t key)
{
    pthread_mutex_lock(&r->t->mu);
    if (key > r->t->floor) r->t->floor = key;
    pthread_mutex_unlock(&r->t->mu);
}

/* Node outputs of the right shape from a slot. */
static int outputs(run *r, const slot *s, size_t rows, size_t cols, gp_node_output *outs)
{
    int n = 0;
    for (int p = 0; p < r->P; p++)
        if ((s->have >> p & 1) && s->part[p].rows == rows && s->part[p].cols == cols)
            outs[n++] = (gp_node_output){p, s->part[p].data};
    return n;
}

static gp_rmat view(gp_rmat m, size_t rows, size_t cols)
{
    return gp_rmat_view(m.data, rows, cols, cols);
}

/* The record of each node whose output a verified decode used or corrected:
 * consecutive wrong outputs make it a suspect, consecutive right ones clear
 * it again. */
static void judge(run *r, const gp_node_output *outs, int n, uint64_t wrong)
{
    uint64_t became = 0, cleared = 0;
    pthread_mutex_lock(&r->t->mu);
    for (int i = 0; i < n; i++) {
        int p = outs[i].node;
        int *k = &r->streak[p];
        if (wrong >> p & 1) {
            r->j->node_wrong[p]++;
            *k = *k > 0 ? *k + 1 : 1;
            if (*k == SUSPECT_AFTER && !(r->suspects >> p & 1)) became |= 1ull << p;
        } else {
            *k = *k < 0 ? *k - 1 : -1;
            if (*k == -SUSPECT_CLEAR && (r->suspects >> p & 1)) cleared |= 1ull << p;
        }
    }
    r->suspects = (r->suspects | became) & ~cleared;
    r->j->suspects = r->suspects;
    pthread_mutex_unlock(&r->t->mu);
    for (int p = 0; p < r->P; p++) {
        if (became >> p & 1)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 ": node %d is a suspect: its last %d "
                 "outputs were wrong; its stored blocks are checked at every step",
                 r->j->id, r->step, p, SUSPECT_AFTER);
        if (cleared >> p & 1)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 ": node %d is no longer a suspect: its last "
                 "%d outputs were right",
                 r->j->id, r->step, p, SUSPECT_CLEAR);
    }
}

/* One coded product of layer l in direction dir with this node's copy of
 * the input, the exchange, and the decode into result. */
static void product(run *r, int l, gp_dir dir, gp_rmat in, gp_rmat result)
{
    size_t b = in.cols, R = r->rows[l], C = r->cols[l];
    int phase = dir == GP_FORWARD ? PH_FWD + l : PH_BWD + (GP_JOB_MAX_LAYERS - 1 - l);
    uint64_t key = KEY(r->step, r->attempt, phase);
    size_t erows = dir == GP_FORWARD ? r->wt[l].cols : r->wt[l].rows;
    size_t orows = gp_code_output_rows(r->code, dir, R, C);
    gp_rmat out = view(r->out, orows, b);
    if (gp_code_takes_part(r->code, r->self, dir)) {
        gp_rmat enc = view(r->enc, erows, b);
        uint64_t t0 = mono_us();
        gp_code_encode_input(r->code, r->self, dir, in, enc);
        uint64_t t1 = mono_us();
        inject(r, GP_FAULT_ENCODE, (uint64_t)phase, enc);
        gp_code_node_product(dir, r->wt[l], enc, out);
        uint64_t t2 = mono_us();
        inject(r, GP_FAULT_MULTIPLY, (uint64_t)phase, out);
        count(r, &r->j->n.us_coding, t1 - t0);
        count(r, &r->j->n.us_compute, t2 - t1);
        send_to(r, (1ull << r->P) - 1, key, out, true); /* every node decodes */
    }
    slot *s = collect(r, key, r->part_mask[dir], r->t->cfg->peer_timeout_ms);
    if (!s) return;
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = outputs(r, s, orows, b, outs);
    gp_decode_report rep;
    gp_msg why = {{0}};
    uint64_t t0 = mono_us();
    gp_err e = gp_code_decode_stored(r->code, dir, R, C, b, r->updates, outs, n, result, &rep, &why);
    count(r, &r->j->n.us_coding, mono_us() - t0);
    /* Never committed unless checked: a decode with fewer spare outputs than
     * the job asks (exactly K: none) could not have seen an error. Its
     * result is used for the rest of the attempt, but the node votes no. */
    bool coded = r->info->scheme != GP_SCHEME_UNCODED;
    if ((e == GP_OK || e == GP_EUNVERIFIED) && coded &&
        (e == GP_EUNVERIFIED || rep.spare < r->job->spare)) {
        int k = dir == GP_FORWARD ? r->info->k_forward : r->info->k_backward;
        if (!r->short_handed)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 " attempt %d %s layer %d: %d outputs for a "
                 "threshold of %d: %d spare, the job asks %d: not committed",
                 r->j->id, r->step, r->attempt, dir == GP_FORWARD ? "forward" : "backward", l, n,
                 k, rep.spare, r->job->spare);
        snprintf(r->last_error, sizeof r->last_error,
                 "%s product of layer %d from %d nodes: %d spare outputs, %d needed to check it",
                 dir == GP_FORWARD ? "forward" : "backward", l, n, rep.spare, r->job->spare);
        r->short_handed = true;
        r->short_k = k;
        r->own_ok = false;
    }
    if (e == GP_OK || e == GP_EUNVERIFIED) {
        if (rep.nwrong) {
            count(r, &r->j->n.errors_corrected, (uint64_t)rep.nwrong);
            r->wrong_seen |= rep.wrong;
        }
        if (e == GP_OK) judge(r, outs, n, rep.wrong);
        inject(r, GP_FAULT_DECODE, (uint64_t)phase, result);
    } else {
        count(r, &r->j->n.errors_detected, 1);
        tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 " attempt %d %s layer %d: %s", r->j->id,
             r->step, r->attempt, dir == GP_FORWARD ? "forward" : "backward", l, why.text);
        snprintf(r->last_error, sizeof r->last_error, "%s product of layer %d from %d nodes: %s",
                 dir == GP_FORWARD ? "forward" : "backward", l, n, why.text);
        r->own_ok = false;
        gp_rmat_zero(result);
    }
    advance(r, key + 1);
}

/* Projection of every stored block on a random vector (the same on every
 * node for this step and attempt), in long double so that the projection
 * adds no more than one rounding. */
static void project(run *r, gp_rmat out)
{
    size_t off = 0;
    for (int l = 0; l < r->L; l++) {
        gp_rmat w = r->wt[l];
        gp_rng g;
        gp_rng_seed(&g,
                    gp_mix64(r->j->id ^ r->job->init_seed) ^ gp_mix64(KEY(r->step, r->attempt, l)));
        double *v = r->enc.data; /* scratch: enc is at least as long as a block's columns */
        for (size_t j = 0; j < w.cols; j++) v[j] = gp_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
        for (size_t i = 0; i < w.rows; i++) {
            long double acc = 0;
            const double *row = w.data + i * w.ld;
            for (size_t j = 0; j < w.cols; j++) acc += (long double)row[j] * v[j];
            out.data[off + i] = (double)acc;
        }
        off += w.rows;
    }
}

/* The K_w + 1 healthy nodes whose evaluation points lie nearest node p's
 * (ties: the lower id): the block is rebuilt by interpolating between its
 * neighbours, whose Lagrange weights at a_p stay small, rather than by
 * extrapolating from one end of the points, which multiplies the sources'
 * rounding by the weights' sum (hundreds, for the far end of 12 points). */
static uint64_t sources_for(run *r, int p, uint64_t healthy)
{
    int kw = r->info->k_storage;
    uint64_t chosen = 0;
    double ap = gp_code_point(r->code, p);
    for (int k = 0; k < kw + 1; k++) {
        int best = -1;
        double bd = 0;
        for (int q = 0; q < r->P; q++) {
            if (!(healthy >> q & 1) || (chosen >> q & 1) || q == p) continue;
            double dq = fabs(gp_code_point(r->code, q) - ap);
            if (best < 0 || dq < bd) best = q, bd = dq;
        }
        if (best < 0) break;
        chosen |= 1ull << best;
    }
    return chosen;
}

/* Regenerates the blocks the check found wrong: for each, its K_w + 1
 * nearest healthy nodes send theirs, and it rebuilds its own. */
static void regenerate(run *r, int l, uint64_t wrong, uint64_t healthy, int phase)
{
    uint64_t senders = 0, to = 0;
    for (int p = 0; p < r->P; p++) {
        if (!(wrong >> p & 1)) continue;
        uint64_t from = sources_for(r, p, healthy);
        if (p == r->self) senders = from;
        if (from >> r->self & 1) to |= 1ull << p;
    }
    uint64_t key = KEY(r->step, r->attempt, phase + l);
    if (to) send_to(r, to, key, r->wt[l], true);
    if (!(wrong >> r->self & 1)) return;
    /* Catching up after a join, this node replays steps the others took
     * without it: they never saw its projections, and send it nothing. It
     * takes what is there, waits for nothing, and goes on with the block as
     * it is (its outputs are corrected like any wrong node's); the others
     * rebuild it once it has caught up and their check sees it. */
    bool replay = r->join_started != 0;
    uint64_t excluded = r->excluded;
    slot *s = collect(r, key, senders, replay ? 0 : r->t->cfg->peer_timeout_ms);
    if (replay) r->excluded = excluded;
    if (!s) return;
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = outputs(r, s, r->wt[l].rows, r->wt[l].cols, outs);
    if (replay && n <= r->info->k_storage) {
        tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": block of layer %d off the code while "
             "catching up: kept until the others see it", r->j->id, r->step, l);
        advance(r, key + 1);
        return;
    }
    gp_decode_report rep;
    gp_msg why = {{0}};
    uint64_t t0 = mono_us();
    gp_err e = gp_code_regenerate(r->code, r->self, r->rows[l], r->cols[l], outs, n, r->updates,
                                  r->wt[l], &rep, &why);
    count(r, &r->j->n.us_coding, mono_us() - t0);
    if (e == GP_OK) { /* exactly K_w blocks could not be checked: refused */
        count(r, &r->j->n.blocks_regenerated, 1);
        tlog(r->t,
             "job %016" PRIx64 ": step %" PRIu64 ": block of layer %d regenerated from %d peers",
             r->j->id, r->step, l, n);
    } else {
        tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": cannot regenerate layer %d: %s", r->j->id,
             r->step, l, why.text);
    }
    advance(r, key + 1);
}

static bool repair(run *r, const slot *s, size_t len, uint64_t key, int phase);

/* The check exchange: projections and votes. Returns whether the step is
 * committed: a quorum of the cluster (more than half of its nodes, whether
 * they answered or not) voted that every decode of theirs in this attempt
 * succeeded and was checked. Two sides of a split network cannot both hold
 * a quorum, so at most one commits steps; a node that hears fewer than a
 * quorum sets no_quorum and waits (run_job). Repairs wrong blocks. */
static bool check(run *r)
{
    size_t len = 0;
    for (int l = 0; l < r->L; l++) len += r->wt[l].rows;
    /* The projections go with every vote (their cost is one pass over the
     * blocks); this node checks the stored code every check_every steps, and
     * at every step while it holds some node for a suspect. Nodes may differ
     * on that (each judges from its own decodes): a node that checks uses
     * the projections of every node. */
    bool coded = r->info->scheme != GP_SCHEME_UNCODED;
    bool full = coded && (r->step % (uint64_t)r->job->check_every == 0 || r->suspects);
    r->broken = false;
    r->clean = false;
    gp_rmat proj = view(r->proj, coded ? len : 1, 1);
    if (coded)
        project(r, proj);
    else
        proj.data[0] = 0;
    uint64_t key = KEY(r->step, r->attempt, PH_CHECK), all = (1ull << r->P) - 1;
    send_to(r, all, key, proj, r->own_ok);
    slot *s = collect(r, key, all, r->t->cfg->peer_timeout_ms);
    if (!s) return false;
    int votes = __builtin_popcountll(s->have), yes = __builtin_popcountll(s->ok & s->have);
    bool commit = yes >= r->quorum;
    r->no_quorum = votes < r->quorum;
    count(r, &r->j->n.checks, 1);
    if (yes && yes < votes) count(r, &r->j->n.split_votes, 1);
    if (!commit || !full) {
        advance(r, key + 1);
        return commit;
    }
    return repair(r, s, len, key, PH_REGEN);
}

/* Which stored blocks are off the code, from every node's projections in s
 * (the exchange `key`, layer after layer, len values in all), and rebuilds
 * them (exchanges at phase + layer). Returns true; sets r->broken if more
 * are off than the code can locate, r->clean if none is. */
static bool repair(run *r, const slot *s, size_t len, uint64_t key, int phase)
{
    uint64_t wrong[GP_JOB_MAX_LAYERS] = {0};
    bool unchecked = false;
    size_t off = 0;
    for (int l = 0; l < r->L; l++) {
        gp_node_output outs[GP_CONFIG_MAX_NODES];
        int n = 0;
        for (int p = 0; p < r->P; p++)
            if ((s->have >> p & 1) && s->part[p].rows == len && s->part[p].cols == 1)
                outs[n++] = (gp_node_output){p, s->part[p].data + off};
        gp_decode_report rep;
        gp_msg why = {{0}};
        uint64_t t0 = mono_us();
        gp_err e = gp_code_check_weights(r->code, r->rows[l], (size_t)r->info->n, outs, n,
                                         r->updates, &rep, &why);
        count(r, &r->j->n.us_coding, mono_us() - t0);
        if (e == GP_EUNVERIFIED || e == GP_ENODES || rep.spare < 1)
            unchecked = true; /* too few blocks to check against: not known to be clean */
        if (e == GP_OK) {
            wrong[l] = rep.wrong;
            if (rep.wrong >> r->self & 1)
                tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 " attempt %d: this node's block of "
                     "layer %d is off the code (by the projections of %d nodes, %#" PRIx64 "; "
                     "off: %#" PRIx64 ")", r->j->id, r->step, r->attempt, l, n, s->have, rep.wrong);
            if (rep.wrong) {
                pthread_mutex_lock(&r->t->mu);
                for (int p = 0; p < r->P; p++) r->j->node_off[p] += rep.wrong >> p & 1;
                pthread_mutex_unlock(&r->t->mu);
            }
        } else if (e == GP_EDETECTED) {
            tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": stored blocks of layer %d: %s",
                 r->j->id, r->step, l, why.text);
            r->broken = true;
        }
        off += r->wt[l].rows;
    }
    uint64_t have = s->have;
    advance(r, key + 1);
    if (r->broken) return true; /* beyond repair: the caller rolls back */
    r->clean = !unchecked;
    for (int l = 0; l < r->L; l++) r->clean = r->clean && !wrong[l];
    for (int l = 0; l < r->L; l++) {
        /* suspects are no source for others, unless too few remain without them */
        uint64_t healthy = have & ~wrong[l], trusted = healthy & ~r->suspects;
        if (__builtin_popcountll(trusted) > r->info->k_storage) healthy = trusted;
        if (wrong[l]) regenerate(r, l, wrong[l], healthy, phase);
    }
    return true;
}

/* After an attempt that was not committed (its updates taken back): every
 * node's projections of its blocks as they were before the step, and the
 * blocks found off the code rebuilt. A block left off the code (an update
 * that went wrong, a rebuild from a wrong source) makes products
 * undecodable, and the check looks at the stored code only when the step is
 * committed: without this, such blocks could fail every attempt of every
 * step. (The phases come after PH_CHECK's: the exchanges of an attempt are
 * in order.) */
static void recheck(run *r)
{
    size_t len = 0;
    for (int l = 0; l < r->L; l++) len += r->wt[l].rows;
    gp_rmat proj = view(r->proj, len, 1);
    r->broken = false;
    project(r, proj);
    uint64_t key = KEY(r->step, r->attempt, PH_RECHECK), all = (1ull << r->P) - 1;
    send_to(r, all, key, proj, true);
    slot *s = collect(r, key, all, r->t->cfg->peer_timeout_ms);
    if (!s) return;
    bool clean = r->clean;
    repair(r, s, len, key, PH_REREGEN);
    r->clean = clean; /* that of the last committed step */
}

/* One attempt at a step: forward, backward, the updates, the check.
 * Returns whether the step is committed. */
static bool attempt_step(run *r, gp_rmat x0, const uint8_t *labels, size_t b, double lr,
                         double *loss)
{
    const gp_job *job = r->job;
    int L = r->L;
    r->own_ok = true;
    r->wrong_seen = 0;
    r->short_handed = r->no_quorum = r->superseded = false;
    gp_rmat_copy(view(r->x[0], x0.rows, b), x0);
    for (int l = 0; l < L; l++) {
        gp_rmat in = view(r->x[l], r->cols[l], b), s = view(r->s[l + 1], r->rows[l], b);
        product(r, l, GP_FORWARD, in, s);
        if (cancelled(r) || r->superseded) return false;
        if (l < L - 1) {
            gp_rmat xn = view(r->x[l + 1], r->cols[l + 1], b);
            uint64_t t0 = mono_us();
            gp_train_activate(job->act[l], s, xn);
            count(r, &r->j->n.us_compute, mono_us() - t0);
            inject(r, GP_FAULT_ACTIVATION, (uint64_t)PH_FWD + (uint64_t)l,
                   gp_rmat_sub(xn, 0, 0, r->rows[l], b));
        }
    }
    gp_rmat dL = view(r->dl[L], r->rows[L - 1], b);
    int correct = 0;
    *loss = gp_train_softmax_xent(view(r->s[L], r->rows[L - 1], b), labels, dL, &correct);
    inject(r, GP_FAULT_ACTIVATION, PH_FWD + (uint64_t)L, dL);
    for (int l = L - 1; l >= 1; l--) {
        gp_rmat d = view(r->dl[l + 1], r->rows[l], b), c = view(r->c, r->cols[l], b);
        product(r, l, GP_BACKWARD, d, c);
        if (cancelled(r) || r->superseded) return false;
        uint64_t t0 = mono_us();
        gp_train_hadamard(job->act[l - 1], view(r->s[l], r->rows[l - 1], b), c);
        gp_rmat dn = view(r->dl[l], r->rows[l - 1], b);
        gp_rmat_copy(dn, gp_rmat_sub(c, 0, 0, r->rows[l - 1], b));
        count(r, &r->j->n.us_compute, mono_us() - t0);
        inject(r, GP_FAULT_HADAMARD, PH_BWD + (uint64_t)(GP_JOB_MAX_LAYERS - 1 - l), dn);
    }
    /* the updates, kept revocable until the check */
    for (int l = 0; l < L; l++) {
        gp_rmat_copy(r->backup[l], r->wt[l]);
        if (!r->own_ok) continue; /* a stale block: the check finds it and it is rebuilt */
        gp_rmat d = view(r->dl[l + 1], r->rows[l], b), xin = view(r->x[l], r->cols[l], b);
        gp_rmat dt = view(r->dt, r->wt[l].rows, b), xt = view(r->xt, r->wt[l].cols, b);
        uint64_t t0 = mono_us();
        gp_code_encode_update(r->code, r->self, d, xin, dt, xt);
        uint64_t t1 = mono_us();
        inject(r, GP_FAULT_ENCODE, PH_REGEN + (uint64_t)l, dt);
        gp_code_node_update(-lr, dt, xt, r->wt[l]);
        count(r, &r->j->n.us_coding, t1 - t0);
        count(r, &r->j->n.us_compute, mono_us() - t1);
        inject(r, GP_FAULT_UPDATE, PH_REGEN + (uint64_t)l, r->wt[l]);
    }
    r->updates++;
    bool commit = check(r);
    if (!commit) {
        r->updates--;
        for (int l = 0; l < L; l++) gp_rmat_copy(r->wt[l], r->backup[l]);
        if (r->info->scheme != GP_SCHEME_UNCODED && !r->broken && !r->t->behind && !cancelled(r) &&
            !r->superseded && !r->no_quorum)
            recheck(r); /* may set r->broken: the caller rolls back */
    }
    return commit;
}

/* The end of an epoch: every node sends all its blocks to all, decodes W
 * (correcting wrong blocks) and evaluates the test set. */
static double evaluate(run *r, double *test_loss)
{
    uint64_t all = (1ull << r->P) - 1;
    gp_rmat w[GP_JOB_MAX_LAYERS] = {{0}};
    double acc = -1;
    *test_loss = NAN;
    bool ok = true;
    for (int l = 0; l < r->L && ok; l++) {
        uint64_t key = KEY(r->step, EVAL_ATTEMPT, PH_EVAL + l);
        send_to(r, all, key, r->wt[l], true);
        slot *s = collect(r, key, all, r->t->cfg->peer_timeout_ms);
        if (!s || gp_rmat_alloc(&w[l], r->rows[l], r->cols[l]) != GP_OK) {
            ok = false;
            break;
        }
        gp_node_output outs[GP_CONFIG_MAX_NODES];
        int n = outputs(r, s, r->wt[l].rows, r->wt[l].cols, outs);
        gp_decode_report rep;
        gp_msg why = {{0}};
        gp_err e = gp_code_decode_weights(r->code, r->rows[l], r->cols[l], outs, n, r->updates,
                                          w[l], &rep, &why);
        if (e != GP_OK && e != GP_EUNVERIFIED) {
            tlog(r->t, "job %016" PRIx64 ": cannot decode layer %d for the evaluation: %s",
                 r->j->id, l, why.text);
            ok = false;
        }
        advance(r, key + 1);
    }
    if (ok && gp_train_evaluate(r->job, w, &r->test, r->st, &acc, test_loss) != GP_OK) acc = -1;
    for (int l = 0; l < r->L; l++) gp_rmat_free(&w[l]);
    return acc;
}

/* Every node starts together: each sends START (again every half second,
 * for nodes still loading their data or not yet given the job) until every
 * live node's has arrived, or a generous timeout. */
static bool barrier(run *r)
{
    uint64_t all = (1ull << r->P) - 1, key = KEY(0, 0, PH_START);
    int64_t limit = 10 * r->t->cfg->peer_timeout_ms;
    if (limit < 60000) limit = 60000;
    int64_t end = mono_ms() + limit;
    gp_rmat one;
    if (gp_rmat_alloc(&one, 1, START_LEN) != GP_OK) return false;
    memset(one.data, 0, START_LEN * sizeof(double));
    one.data[0] = 1;
    int64_t held[2] = {-1, -1};
    for (int c = 0; c < 2 && r->j->resume; c++) { /* the checkpoints this node holds */
        uint64_t step, updates;
        if (load_checkpoint(r, c, &step, &updates, false)) {
            one.data[1 + 2 * c] = (double)step + 1;
            one.data[2 + 2 * c] = (double)updates;
            held[c] = (int64_t)step;
        }
    }
    r->ckpt_next = held[0] <= held[1] ? 0 : 1; /* the next checkpoint replaces the older */
    bool ok = false;
    while (!cancelled(r)) {
        send_to(r, all, key, one, true);
        pthread_mutex_lock(&r->t->mu);
        slot *s = slot_find(r->t, key, true);
        uint64_t up = atomic_load(&r->t->up) | 1ull << r->self;
        bool done = s && (s->have & up) == up;
        pthread_mutex_unlock(&r->t->mu);
        if (done || mono_ms() >= end) {
            ok = true;
            break;
        }
        struct timespec ts = {0, 100 * 1000000};
        for (int i = 0; i < 5 && !done; i++) {
            nanosleep(&ts, NULL);
            pthread_mutex_lock(&r->t->mu);
            s = slot_find(r->t, key, true);
            up = atomic_load(&r->t->up) | 1ull << r->self;
            done = s && (s->have & up) == up;
            pthread_mutex_unlock(&r->t->mu);
        }
        if (done) {
            ok = true;
            break;
        }
    }
    /* once more: a node that got the job after our last START waits for it */
    if (ok) send_to(r, all, key, one, true);
    gp_rmat_free(&one);
    if (ok) {
        pthread_mutex_lock(&r->t->mu);
        slot *s = slot_find(r->t, key, false);
        r->start_have = 0;
        for (int p = 0; s && p < r->P; p++)
            if ((s->have >> p & 1) && s->part[p].rows == 1 && s->part[p].cols == START_LEN) {
                memcpy(r->start_info[p], s->part[p].data, sizeof r->start_info[p]);
                r->start_have |= 1ull << p;
            }
        pthread_mutex_unlock(&r->t->mu);
        advance(r, key + 1);
    }
    return ok;
}

static gp_err pick_code(run *r, gp_msg *why)
{
    const gp_job *job = r->job;
    const gp_config *cfg = r->t->cfg;
    gp_code_params cp = {.nodes = r->P, .m = job->m, .n = job->n, .orient = GP_ORIENT_AUTO};
    if (!strcmp(job->orientation, "row")) cp.orient = GP_ORIENT_ROW;
    if (!strcmp(job->orientation, "col")) cp.orient = GP_ORIENT_COL;
    const char *scheme = job->scheme[0] ? job->scheme : cfg->code_scheme;
    if (scheme[0]) {
        if (gp_scheme_parse(scheme, &cp.scheme) != GP_OK)
            return gp_fail(why, GP_EINVAL, "unknown scheme '%s'", scheme);
        if (!job->scheme[0] && !cp.m) cp.m = (int)cfg->code_m, cp.n = (int)cfg->code_n;
        if (!cp.m) cp.m = cp.scheme == GP_SCHEME_MATDOT ? 1 : 2;
        if (!cp.n) cp.n = cp.scheme == GP_SCHEME_POLYNOMIAL ? 1 : 2;
        if (cp.scheme == GP_SCHEME_UNCODED && !job->m && !job->n) {
            /* one block per node */
            cp.m = r->P % 2 == 0 ? r->P / 2 : r->P;
            cp.n = r->P % 2 == 0 ? 2 : 1;
        }
        return gp_code_new(&cp, &r->code, why);
    }
    /* plan's best: the gpd choice with the least storage that corrects at
     * least one random error each way, for the widest layer */
    gp_plan_req rq = {
        .nodes = r->P, .rows = 1, .cols = 1, .batch = (size_t)job->batch, .min_errors = 1};
    for (int l = 0; l < job->nlayers; l++)
        if ((size_t)job->sizes[l + 1] * (size_t)(job->sizes[l] + 1) > rq.rows * rq.cols)
            rq.rows = (size_t)job->sizes[l + 1], rq.cols = (size_t)job->sizes[l] + 1;
    gp_plan_row *rows;
    int nrows;
    gp_err e = gp_plan(&rq, &rows, &nrows, why);
    if (e != GP_OK) return e;
    const gp_plan_row *best = NULL;
    for (int i = 0; i < nrows; i++)
        if (rows[i].accepted && rows[i].params.scheme == GP_SCHEME_GPD &&
            (!best || rows[i].info.storage_fraction < best->info.storage_fraction))
            best = &rows[i];
    if (best) cp = best->params;
    free(rows);
    if (!best)
        return gp_fail(why, GP_EINVAL,
                       "no gpd code corrects an error each way on %d nodes: give code.scheme",
                       r->P);
    return gp_code_new(&cp, &r->code, why);
}

static gp_err load_data(run *r, gp_msg *why)
{
    tjob *j = r->j;
    const gp_job *job = r->job;
    gp_err e;
    if (j->blob[0]) { /* uploaded */
        if (job->train.csv[0])
            e = gp_data_parse_csv(j->blob[0], j->blen[0], "train (uploaded)", job->train_limit,
                                  &r->train, why);
        else
            e = gp_data_parse_idx(j->blob[0], j->blen[0], j->blob[1], j->blen[1],
                                  "train (uploaded)", job->train_limit, &r->train, why);
        if (e == GP_OK) {
            if (job->test.csv[0])
                e = gp_data_parse_csv(j->blob[2], j->blen[2], "test (uploaded)", job->test_limit,
                                      &r->test, why);
            else
                e = gp_data_parse_idx(j->blob[2], j->blen[2], j->blob[3], j->blen[3],
                                      "test (uploaded)", job->test_limit, &r->test, why);
        }
    } else {
        e = gp_data_load(&job->train, job->train_limit, &r->train, why);
        if (e == GP_OK) e = gp_data_load(&job->test, job->test_limit, &r->test, why);
    }
    pthread_mutex_lock(&r->t->mu);
    for (int i = 0; i < 4; i++) {
        free(j->blob[i]);
        j->blob[i] = NULL;
    }
    pthread_mutex_unlock(&r->t->mu);
    if (e != GP_OK) return e;
    return gp_job_check_data(job, &r->train, &r->test, why);
}

static gp_err setup(run *r, gp_msg *why)
{
    const gp_job *job = r->job;
    r->L = job->nlayers;
    gp_err e = load_data(r, why);
    if (e != GP_OK) return e;
    r->st = gp_data_stats(&r->train, job->normalize);
    if ((e = pick_code(r, why)) != GP_OK) return e;
    r->info = gp_code_info_of(r->code);
    for (int d = 0; d < 2; d++)
        for (int p = 0; p < r->P; p++)
            if (gp_code_takes_part(r->code, p, (gp_dir)d)) r->part_mask[d] |= 1ull << p;
    size_t B = (size_t)job->batch, maxenc = 1, maxout = 1, maxw = 1, proj = 0;
    for (int l = 0; l < r->L; l++) {
        r->rows[l] = (size_t)job->sizes[l + 1];
        r->cols[l] = (size_t)job->sizes[l] + 1;
        size_t br = gp_code_block_rows(r->code, r->rows[l]),
               bc = gp_code_block_cols(r->code, r->cols[l]);
        if ((e = gp_rmat_alloc(&r->wt[l], br, bc)) != GP_OK ||
            (e = gp_rmat_alloc(&r->backup[l], br, bc)) != GP_OK ||
            (e = gp_rmat_alloc(&r->snap[l], br, bc)) != GP_OK)
            return gp_fail(why, e, "no memory for the blocks");
        gp_rmat w;
        if ((e = gp_rmat_alloc(&w, r->rows[l], r->cols[l])) != GP_OK)
            return gp_fail(why, e, "no memory");
        gp_train_init_weights(job, l, w);
        e = gp_code_encode_weights(r->code, r->self, w, r->wt[l]);
        gp_rmat_free(&w);
        if (e != GP_OK) return gp_fail(why, e, "cannot encode layer %d", l);
        size_t enc = br > bc ? br : bc;
        if (enc > maxenc) maxenc = enc;
        for (int d = 0; d < 2; d++) {
            size_t o = gp_code_output_rows(r->code, (gp_dir)d, r->rows[l], r->cols[l]);
            if (o > maxout) maxout = o;
        }
        if (br * bc > maxw) maxw = br * bc;
        if (bc > maxenc) maxenc = bc;
        proj += br;
    }
    for (int l = 0; l <= r->L; l++) {
        size_t width = (size_t)job->sizes[l];
        if ((e = gp_rmat_alloc(&r->x[l], width + 1, B)) != GP_OK ||
            (e = gp_rmat_alloc(&r->s[l], width, B)) != GP_OK ||
            (e = gp_rmat_alloc(&r->dl[l], width, B)) != GP_OK)
            return gp_fail(why, e, "no memory for the activations");
    }
    size_t maxc = 1;
    for (int l = 0; l < r->L; l++)
        if (r->cols[l] > maxc) maxc = r->cols[l];
    if ((e = gp_rmat_alloc(&r->c, maxc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->enc, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->out, maxout, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->dt, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->xt, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->proj, proj, 1)) != GP_OK || !(r->labels = malloc(B)))
        return gp_fail(why, GP_ENOMEM, "no memory for the work buffers");
    return GP_OK;
}

static void teardown(run *r)
{
    for (int l = 0; l <= GP_JOB_MAX_LAYERS; l++) {
        if (l < GP_JOB_MAX_LAYERS) {
            gp_rmat_free(&r->wt[l]);
            gp_rmat_free(&r->backup[l]);
            gp_rmat_free(&r->snap[l]);
        }
        gp_rmat_free(&r->x[l]);
        gp_rmat_free(&r->s[l]);
        gp_rmat_free(&r->dl[l]);
    }
    gp_rmat_free(&r->c);
    gp_rmat_free(&r->enc);
    gp_rmat_free(&r->out);
    gp_rmat_free(&r->dt);
    gp_rmat_free(&r->xt);
    gp_rmat_free(&r->proj);
    free(r->labels);
    gp_data_free(&r->train);
    gp_data_free(&r->test);
    gp_code_destroy(&r->code);
}

/* Hands the final blocks to the I/O thread, which stores them for FETCH. */
static void publish(run *r)
{
    gp_trainer *t = r->t;
    pthread_mutex_lock(&t->mu);
    finished *f = &t->fin;
    bool ok = !f->ready;
    if (ok) {
        memset(f, 0, sizeof *f);
        f->job = r->j->id;
        f->nlayers = r->L;
        f->updates = r->updates;
        for (int l = 0; l < r->L; l++) {
            f->wt[l] = r->wt[l];
            memset(&r->wt[l], 0, sizeof r->wt[l]);
            f->rows[l] = r->rows[l];
            f->cols[l] = r->cols[l];
            gp_code_params cp = {0};
            const gp_code_info *in = r->info;
            cp.scheme = in->scheme;
            cp.nodes = in->nodes;
            cp.m = in->m;
            cp.n = in->n;
            cp.orient = in->orient;
            cp.copies = in->copies;
            cp.pr = in->pr;
            cp.pc = in->pc;
            cp.points = in->points;
            cp.fixed_points = in->points >= 0;
            if (gp_code_new(&cp, &f->code[l], NULL) != GP_OK) f->code[l] = NULL;
        }
        f->ready = true;
    }
    pthread_mutex_unlock(&t->mu);
    if (ok) {
        uint64_t zero = 0;
        zmq_send(r->push, &zero, sizeof zero, ZMQ_SNDMORE);
        zmq_send(r->push, "adopt", 5, 0);
    }
}

static void set_state(run *r, jstate s, const char *reason)
{
    pthread_mutex_lock(&r->t->mu);
    r->j->state = s;
    if (reason) snprintf(r->j->reason, sizeof r->j->reason, "%s", reason);
    pthread_mutex_unlock(&r->t->mu);
}

/* Keeps a copy of the blocks (all consistent at this step) to roll back to. */
static void snapshot(run *r, uint64_t step)
{
    for (int l = 0; l < r->L; l++) gp_rmat_copy(r->snap[l], r->wt[l]);
    r->snap_step = step;
    r->snap_updates = r->updates;
    r->snap_valid = step % (uint64_t)r->job->checkpoint_every == 0;
}

/* ---- durable state (state.h) ----------------------------------------------------------- */

static void state_path(const gp_trainer *t, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->dir, name);
}

/* The job as submitted, so that a restarted daemon can resume it. */
static void save_job(gp_trainer *t, tjob *j)
{
    if (!t->dir[0]) return;
    st_buf b = {0};
    pthread_mutex_lock(&t->mu);
    st_put_u64(&b, j->id);
    st_put_u64(&b, j->tlen);
    st_put(&b, j->text, j->tlen);
    st_put_u64(&b, j->slen);
    st_put(&b, j->set, j->slen);
    for (int i = 0; i < 4; i++) {
        st_put_u64(&b, j->blob[i] ? j->blen[i] : 0);
        if (j->blob[i]) st_put(&b, j->blob[i], j->blen[i]);
    }
    pthread_mutex_unlock(&t->mu);
    char path[700];
    gp_msg why = {{0}};
    state_path(t, "job.bin", path, sizeof path);
    if (st_write(path, ST_JOB, &b, &why) != GP_OK) tlog(t, "cannot save the job: %s", why.text);
    free(b.p);
}

/* Removes the job's state once it has ended. */
static void drop_state(gp_trainer *t)
{
    if (!t->dir[0]) return;
    const char *names[] = {"job.bin", "ckpt-0.bin", "ckpt-1.bin"};
    for (int i = 0; i < 3; i++) {
        char path[700];
        state_path(t, names[i], path, sizeof path);
        unlink(path);
    }
}

/* Checkpoint i: job id, step, updates, the blocks, the counters. */
static void save_checkpoint(run *r)
{
    gp_trainer *t = r->t;
    if (!t->dir[0]) return;
    uint64_t t0 = mono_us();
    st_buf b = {0};
    st_put_u64(&b, r->j->id);
    st_put_u64(&b, (uint64_t)r->P);
    st_put_u64(&b, r->snap_step);
    st_put_u64(&b, r->snap_updates);
    st_put_u64(&b, (uint64_t)r->L);
    for (int l = 0; l < r->L; l++) {
        gp_rmat w = r->snap[l];
        st_put_u64(&b, w.rows);
        st_put_u64(&b, w.cols);
        for (size_t i = 0; i < w.rows; i++) st_put(&b, w.data + i * w.ld, w.cols * sizeof(double));
    }
    pthread_mutex_lock(&t->mu);
    st_put(&b, &r->j->n, sizeof r->j->n);
    pthread_mutex_unlock(&t->mu);
    char path[700], name[32];
    snprintf(name, sizeof name, "ckpt-%d.bin", r->ckpt_next);
    state_path(t, name, path, sizeof path);
    gp_msg why = {{0}};
    if (st_write(path, ST_CKPT, &b, &why) != GP_OK)
        tlog(t, "job %016" PRIx64 ": cannot write a checkpoint: %s", r->j->id, why.text);
    else
        r->ckpt_next ^= 1;
    free(b.p);
    count(r, &r->j->n.us_checkpoint, mono_us() - t0);
}

/* Reads checkpoint i of this job; fills step/updates and (if blocks) the
 * blocks and counters. false if there is none or it is damaged or not this
 * job's (logged). */
static bool load_checkpoint(run *r, int i, uint64_t *step, uint64_t *updates, bool blocks)
{
    gp_trainer *t = r->t;
    if (!t->dir[0]) return false;
    char path[700], name[32];
    snprintf(name, sizeof name, "ckpt-%d.bin", i);
    state_path(t, name, path, sizeof path);
    st_buf b;
    gp_msg why = {{0}};
    gp_err e = st_read(path, ST_CKPT, &b, &why);
    if (e == GP_ENOTFOUND) return false;
    if (e != GP_OK) {
        tlog(t, "job %016" PRIx64 ": checkpoint refused: %s", r->j->id, why.text);
        count(r, &r->j->n.checkpoints_damaged, 1);
        return false;
    }
    bool ok = st_get_u64(&b) == r->j->id && st_get_u64(&b) == (uint64_t)r->P;
    *step = st_get_u64(&b);
    *updates = st_get_u64(&b);
    ok = ok && st_get_u64(&b) == (uint64_t)r->L;
    for (int l = 0; ok && l < r->L; l++) {
        gp_rmat w = r->wt[l];
        ok = st_get_u64(&b) == w.rows && st_get_u64(&b) == w.cols;
        const uint8_t *data = ok ? st_view(&b, w.rows * w.cols * sizeof(double)) : NULL;
        ok = data != NULL;
        if (ok && blocks)
            for (size_t k = 0; k < w.rows; k++)
                memcpy(w.data + k * w.ld, data + k * w.cols * sizeof(double), w.cols * sizeof(double));
    }
    jcounters n;
    st_get(&b, &n, sizeof n);
    ok = ok && !b.bad && b.at == b.len;
    if (ok && blocks) {
        pthread_mutex_lock(&t->mu);
        r->j->n = n;
        pthread_mutex_unlock(&t->mu);
    }
    if (!ok) tlog(t, "job %016" PRIx64 ": %s does not belong to this job's blocks", r->j->id, path);
    free(b.p);
    return ok;
}

/* After the START exchange of a resumed job: the latest checkpoint step that
 * at least K_w + 1 nodes hold (enough to rebuild everyone else's blocks and
 * check them on the way); the
 * holders load theirs, the others regenerate theirs from the holders'.
 * Returns the step to go on from (0: start afresh). */
static uint64_t resume(run *r)
{
    int kw = r->info->k_storage;
    uint64_t best = 0, best_updates = 0, holders = 0;
    for (int p = 0; p < r->P; p++) {
        if (!(r->start_have >> p & 1)) continue;
        for (int c = 0; c < 2; c++) {
            double st = r->start_info[p][1 + 2 * c];
            if (st < 1) continue;
            uint64_t step = (uint64_t)st - 1, hold = 0;
            for (int q = 0; q < r->P; q++)
                if (r->start_have >> q & 1)
                    for (int d = 0; d < 2; d++)
                        if (r->start_info[q][1 + 2 * d] == st) hold |= 1ull << q;
            if (__builtin_popcountll(hold) > kw && step > best) { /* K_w + 1: checked */
                best = step;
                best_updates = (uint64_t)r->start_info[p][2 + 2 * c];
                holders = hold;
            }
        }
    }
    if (best == 0) {
        tlog(r->t, "job %016" PRIx64 ": no checkpoint that %d nodes hold: starting afresh", r->j->id,
             kw + 1);
        return 0;
    }
    bool mine = false;
    for (int c = 0; c < 2 && !mine; c++) {
        uint64_t step, updates;
        if (load_checkpoint(r, c, &step, &updates, false) && step == best &&
            updates == best_updates)
            mine = load_checkpoint(r, c, &step, &updates, true);
    }
    uint64_t needy = r->start_have & ~holders;
    if (!mine) needy |= 1ull << r->self;
    holders &= ~needy;
    r->gen = 1; /* past the START exchange's keys */
    pthread_mutex_lock(&r->t->mu);
    r->j->gen = 1;
    pthread_mutex_unlock(&r->t->mu);
    r->updates = best_updates;
    r->step = best - 1;
    advance(r, KEY(best - 1, 0, 0));
    for (int l = 0; l < r->L && needy; l++) {
        uint64_t key = KEY(best - 1, 0, PH_REGEN + l);
        if (mine) send_to(r, needy, key, r->wt[l], true);
        if (mine) {
            advance(r, key + 1);
            continue;
        }
        slot *s = collect(r, key, holders, r->t->cfg->peer_timeout_ms);
        if (!s) return 0;
        gp_node_output outs[GP_CONFIG_MAX_NODES];
        int n = outputs(r, s, r->wt[l].rows, r->wt[l].cols, outs);
        gp_decode_report rep;
        gp_msg why = {{0}};
        gp_err e = gp_code_regenerate(r->code, r->self, r->rows[l], r->cols[l], outs, n,
                                      r->updates, r->wt[l], &rep, &why);
        if (e == GP_OK) { /* exactly K_w blocks could not be checked: refused */
            count(r, &r->j->n.blocks_regenerated, 1);
            tlog(r->t, "job %016" PRIx64 ": block of layer %d regenerated from %d peers' checkpoints",
                 r->j->id, l, n);
        } else {
            tlog(r->t, "job %016" PRIx64 ": cannot regenerate layer %d: %s", r->j->id, l, why.text);
        }
        advance(r, key + 1);
    }
    advance(r, KEY(best, 0, 0));
    tlog(r->t, "job %016" PRIx64 ": resumed at step %" PRIu64 " (%s)", r->j->id, best,
         mine ? "from this node's checkpoint" : "blocks rebuilt from the peers' checkpoints");
    return best;
}

/* What the peers run: JOINs about this job, answers awaited up to wait_ms.
 * *step and *gen: the furthest position of a peer running it (training or
 * waiting: the latest generation, then the latest step), *waits whether
 * that peer is waiting (it serves joins at its own step). Returns the peers
 * that would serve a join there. */
static uint64_t probe(run *r, int64_t wait_ms, uint64_t *step, uint64_t *gen, double *rate,
                      bool *waits)
{
    gp_trainer *t = r->t;
    pthread_mutex_lock(&t->mu);
    for (int p = 0; p < r->P; p++) t->info[p].seen = false;
    pthread_mutex_unlock(&t->mu);
    send_join(t, r->push, r->j->id, 0, 0);
    int64_t end = mono_ms() + wait_ms, resend = mono_ms() + 300;
    uint64_t running = 0;
    bool furthest_waits = false;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        /* every other node of the cluster: a node that was stopped may not
         * have heard the others' heartbeats again yet */
        uint64_t others = (r->P == 64 ? ~0ull : (1ull << r->P) - 1) & ~(1ull << r->self), seen = 0;
        running = 0;
        furthest_waits = false;
        *step = *gen = 0;
        bool first = true;
        for (int p = 0; p < r->P; p++) {
            if (!t->info[p].seen) continue;
            seen |= 1ull << p;
            int k = t->info[p].kind;
            if ((k == PK_RUNNING || k == PK_WAITING) && t->info[p].job == r->j->id) {
                running |= 1ull << p;
                if (first || t->info[p].gen > *gen ||
                    (t->info[p].gen == *gen && t->info[p].step >= *step)) {
                    *step = t->info[p].step;
                    *gen = t->info[p].gen;
                    if (rate) *rate = t->info[p].rate;
                    furthest_waits = k == PK_WAITING;
                    first = false;
                }
            }
        }
        if ((seen & others) == others || mono_ms() >= end) break;
        if (mono_ms() >= resend) { /* the links may be coming back (a stopped node) */
            pthread_mutex_unlock(&t->mu);
            send_join(t, r->push, r->j->id, 0, 0);
            pthread_mutex_lock(&t->mu);
            resend = mono_ms() + 300;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
    /* those that will serve a join at the furthest position: the running
     * peers (they get there), or, when the furthest waits, the peers at
     * exactly its position (a peer waiting further back, or joining itself,
     * sends nothing there) */
    if (waits) *waits = furthest_waits;
    uint64_t serving = 0;
    for (int p = 0; p < r->P; p++) {
        if (!(running >> p & 1)) continue;
        int k = t->info[p].kind;
        bool there = t->info[p].gen == *gen && t->info[p].step == *step;
        /* running within 50 steps of the furthest (not a node that is
         * itself still catching up after a join of its own) */
        bool near = t->info[p].gen == *gen && t->info[p].step + 50 >= *step;
        if (furthest_waits ? there : k == PK_RUNNING && near) serving |= 1ull << p;
    }
    pthread_mutex_unlock(&t->mu);
    return serving;
}

/* Joins the job where its peers are: asks them for their blocks at a step a
 * little ahead, rebuilds its own from them, and goes on from that step (the
 * peers do not wait; the exchanges it missed wait in its mailbox, and it
 * catches up). Returns the step, or 0 if no peer runs the job. */
static uint64_t join_attempts(run *r);

static uint64_t join_run(run *r)
{
    gp_trainer *t = r->t;
    if (!r->join_started) r->join_started = mono_ms();
    pthread_mutex_lock(&t->mu);
    t->wide_window = true;
    t->behind = false;
    t->ahead = 0;
    t->joining = true;
    pthread_mutex_unlock(&t->mu);
    uint64_t back = join_attempts(r);
    pthread_mutex_lock(&t->mu);
    t->joining = false;
    pthread_mutex_unlock(&t->mu);
    return back;
}

static uint64_t join_attempts(run *r)
{
    gp_trainer *t = r->t;
    for (int attempt = 0; attempt < 6 && !cancelled(r); attempt++) {
        uint64_t at, gen;
        double rate = 0;
        bool waits = false;
        uint64_t running = probe(r, 3000, &at, &gen, &rate, &waits);
        if (!running && attempt < 5) {
            /* no answer yet: a node just continued may still be working
             * through what was queued for it while it was stopped */
            struct timespec ts = {1, 0};
            nanosleep(&ts, NULL);
            continue;
        }
        if (!running) return 0;
        /* steps ahead: about half a second of the peers' pace (the JOIN must
         * arrive before they get there), more after each miss */
        uint64_t lead = (uint64_t)(rate * 0.5) + 2;
        if (lead > 50) lead = 50;
        lead <<= attempt;
        if (waits) lead = 0; /* the furthest wait (for a quorum): there, at once */
        uint64_t target = at + lead, total = r->j->steps;
        if (target >= total) return 0; /* too close to the end to be worth it */
        if (target == 0) return 0;     /* they wait at the start: nothing to join yet */
        r->gen = (unsigned)gen;
        pthread_mutex_lock(&t->mu);
        r->j->gen = r->gen;
        pthread_mutex_unlock(&t->mu);
        r->step = target - 1;
        r->excluded = 0; /* wait for the peers again */
        advance(r, KEY(target - 1, 0, 0));
        send_join(t, r->push, r->j->id, target, gen);
        tlog(t, "job %016" PRIx64 ": rejoining: %d peers run it at step %" PRIu64
             "; asked for their blocks at step %" PRIu64,
             r->j->id, __builtin_popcountll(running), at, target);
        /* the updates applied so far, then the blocks, layer by layer */
        uint64_t key = KEY(target - 1, JOIN_ATTEMPT, 0);
        /* the time the peers need to get there, twice over, and some */
        int64_t timeout = 5000 + (rate > 0 ? (int64_t)(2000.0 * (double)lead / rate) : 60000);
        if (timeout > 120000) timeout = 120000;
        int64_t t_asked = mono_ms();
        slot *s = collect(r, key, running, timeout);
        if (!s) return 0;
        int64_t t_there = mono_ms();
        uint64_t updates = 0;
        int best = 0;
        for (int p = 0; p < r->P; p++)
            if ((s->have >> p & 1) && s->part[p].rows == 1 && s->part[p].cols == 1) {
                uint64_t u = (uint64_t)s->part[p].data[0];
                int k = 0;
                for (int q = 0; q < r->P; q++)
                    if ((s->have >> q & 1) && s->part[q].rows == 1 && s->part[q].cols == 1 &&
                        (uint64_t)s->part[q].data[0] == u)
                        k++;
                if (k > best) best = k, updates = u;
            }
        uint64_t senders = s->have & running;
        advance(r, key + 1);
        if (!best) {
            tlog(t, "job %016" PRIx64 ": no peer sent its blocks for step %" PRIu64 "; trying again",
                 r->j->id, target);
            continue;
        }
        r->updates = updates;
        bool ok = true;
        for (int l = 0; l < r->L && ok; l++) {
            key = KEY(target - 1, JOIN_ATTEMPT, PH_REGEN + l);
            s = collect(r, key, senders, r->t->cfg->peer_timeout_ms);
            if (!s) return 0;
            gp_node_output outs[GP_CONFIG_MAX_NODES];
            int n = outputs(r, s, r->wt[l].rows, r->wt[l].cols, outs);
            gp_decode_report rep;
            gp_msg why = {{0}};
            uint64_t t0 = mono_us();
            gp_err e = gp_code_regenerate(r->code, r->self, r->rows[l], r->cols[l], outs, n,
                                          r->updates, r->wt[l], &rep, &why);
            count(r, &r->j->n.us_coding, mono_us() - t0);
            if (e == GP_OK) { /* exactly K_w blocks could not be checked: refused */
                count(r, &r->j->n.blocks_regenerated, 1);
            } else {
                tlog(t, "job %016" PRIx64 ": cannot rebuild layer %d to rejoin: %s", r->j->id, l,
                     why.text);
                ok = false;
            }
            advance(r, key + 1);
        }
        if (!ok) continue;
        advance(r, KEY(target, 0, 0));
        r->excluded = 0;
        r->join_step = target;
        tlog(t, "job %016" PRIx64 ": rejoined at step %" PRIu64 ": blocks rebuilt from %d peers "
             "(%.2f s since it started to rejoin: %.2f s waiting for the peers to reach the step, "
             "%.2f s receiving and rebuilding); catching up",
             r->j->id, target, __builtin_popcountll(senders),
             (double)(mono_ms() - r->join_started) / 1000.0,
             (double)(t_there - t_asked) / 1000.0, (double)(mono_ms() - t_there) / 1000.0);
        return target;
    }
    return 0;
}

/* The peers that asked for this node's blocks at this step (JOIN with a
 * step): each gets the count of updates, then the blocks. */
static void serve_joins(run *r)
{
    gp_trainer *t = r->t;
    uint64_t who = 0;
    pthread_mutex_lock(&t->mu);
    for (int p = 0; p < r->P; p++) {
        if (!t->want_join[p].on) continue;
        if (t->want_join[p].job != r->j->id || t->want_join[p].step < r->step ||
            t->want_join[p].gen != r->gen)
            t->want_join[p].on = false; /* passed: it asks again */
        else if (t->want_join[p].step == r->step) {
            who |= 1ull << p;
            t->want_join[p].on = false;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (!who || r->step == 0) return;
    gp_rmat u;
    if (gp_rmat_alloc(&u, 1, 1) != GP_OK) return;
    u.data[0] = (double)r->updates;
    send_to(r, who, KEY(r->step - 1, JOIN_ATTEMPT, 0), u, true);
    gp_rmat_free(&u);
    for (int l = 0; l < r->L; l++) send_to(r, who, KEY(r->step - 1, JOIN_ATTEMPT, PH_REGEN + l), r->wt[l], true);
    for (int p = 0; p < r->P; p++)
        if (who >> p & 1)
            tlog(t, "job %016" PRIx64 ": sent node %d its way back in: the blocks at step %" PRIu64,
                 r->j->id, p, r->step);
}

/* Whether a peer asked for this node's blocks at a step still to come. */
static bool join_pending(run *r)
{
    bool on = false;
    pthread_mutex_lock(&r->t->mu);
    for (int p = 0; p < r->P; p++)
        if (r->t->want_join[p].on && r->t->want_join[p].job == r->j->id &&
            r->t->want_join[p].step > r->step && r->t->want_join[p].gen == r->gen)
            on = true;
    pthread_mutex_unlock(&r->t->mu);
    return on;
}

/* The highest attempt of the current step (and generation) that a peer has
 * sent partials for: where the others are, after a wait. */
static unsigned latest_attempt(run *r)
{
    unsigned hi = 0;
    pthread_mutex_lock(&r->t->mu);
    for (int i = 0; i < TR_SLOTS; i++) {
        const slot *s = &r->t->slots[i];
        if (s->used && (s->have & ~(1ull << r->self)) && KEY_GEN(s->key) == r->gen &&
            KEY_STEP(s->key) == r->step && KEY_ATTEMPT(s->key) < JOIN_ATTEMPT &&
            KEY_ATTEMPT(s->key) > hi)
            hi = KEY_ATTEMPT(s->key);
    }
    pthread_mutex_unlock(&r->t->mu);
    return hi;
}

enum { W_RETRY, W_JOINED, W_CANCEL, W_ENDED };

/* Back to the blocks of the last snapshot, in generation gen (above this
 * node's): a rollback of the whole cluster, or one the others took. */
static void roll_back(run *r, unsigned gen)
{
    tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": rolled back to step %" PRIu64
         " (generation %u)", r->j->id, r->step, r->snap_step, gen);
    for (int l = 0; l < r->L; l++) gp_rmat_copy(r->wt[l], r->snap[l]);
    r->updates = r->snap_updates;
    r->gen = gen;
    r->step = r->snap_step;
    pthread_mutex_lock(&r->t->mu);
    r->j->gen = r->gen;
    r->j->n.rollbacks++;
    pthread_mutex_unlock(&r->t->mu);
}

/* The job no longer waits (its step was committed, or it moved on). */
static void end_wait(run *r)
{
    pthread_mutex_lock(&r->t->mu);
    if (r->j->waiting) r->j->reason[0] = 0;
    r->j->waiting = false;
    pthread_mutex_unlock(&r->t->mu);
}

/* Pauses the job at this step, committing nothing, after an attempt that
 * heard fewer than a quorum of the cluster (no_quorum) or whose decodes had
 * too few spare outputs to be checked (short_handed). It waits until a
 * quorum of the cluster answers and, for the latter, enough nodes take part
 * to check every decode; or until the others are found further on, with
 * enough of them to rebuild this node's blocks, checked (it joins them
 * there). Meanwhile it serves joins at this step: a node that was cut off
 * may need this node's blocks. Returns W_RETRY (try the step again), W_JOINED
 * (r->step is where it joined), W_CANCEL, or W_ENDED (a quorum of the
 * cluster ended the job without this node: *ended is PK_DONE, PK_FAILED or
 * PK_CANCELLED). */
static int await_peers(run *r, int *ended)
{
    gp_trainer *t = r->t;
    int need = r->quorum, kw = r->info->k_storage;
    bool redundancy = r->short_handed && !r->no_quorum;
    if (redundancy && r->short_k + r->job->spare > need) need = r->short_k + r->job->spare;
    if (need > r->P) need = r->P;
    int64_t since = mono_ms();
    tlog(t, "job %016" PRIx64 ": step %" PRIu64 ": %s; waiting (committing nothing)", r->j->id,
         r->step,
         redundancy ? "too few outputs to check a decode" : "fewer than a quorum of the cluster "
                                                            "answered");
    int result = W_RETRY, last_heard = -1, last_in = -1;
    for (;;) {
        if (cancelled(r)) {
            result = W_CANCEL;
            break;
        }
        serve_joins(r);
        uint64_t at = 0, gen = 0;
        bool waits = false;
        uint64_t in_job = probe(r, 600, &at, &gen, NULL, &waits);
        /* the peers that would serve a join at the furthest position */
        int heard = 1, taking_part = 1, ended_n[3] = {0}, at_front = __builtin_popcountll(in_job);
        pthread_mutex_lock(&t->mu);
        for (int p = 0; p < r->P; p++) {
            if (p == r->self || !t->info[p].seen) continue;
            heard++;
            if (t->info[p].job != r->j->id) continue;
            int k = t->info[p].kind;
            /* a node still joining sends nothing yet: it takes part once it has joined */
            if (k == PK_RUNNING || k == PK_WAITING) taking_part++;
            if (k >= PK_DONE) ended_n[k - PK_DONE]++;
        }
        pthread_mutex_unlock(&t->mu);
        char text[300];
        if (heard < r->quorum)
            snprintf(text, sizeof text,
                     "waiting for a quorum at step %" PRIu64 ": %d of %d nodes answer, a step "
                     "needs %d",
                     r->step, heard, r->P, r->quorum);
        else
            snprintf(text, sizeof text,
                     "waiting for redundancy at step %" PRIu64 ": %d of %d nodes take part, "
                     "checked decodes need %d",
                     r->step, taking_part, r->P, need);
        pthread_mutex_lock(&t->mu);
        r->j->waiting = true;
        snprintf(r->j->reason, sizeof r->j->reason, "%s", text);
        pthread_mutex_unlock(&t->mu);
        if (heard != last_heard || taking_part != last_in) {
            tlog(t, "job %016" PRIx64 ": %s", r->j->id, text);
            last_heard = heard;
            last_in = taking_part;
        }
        int e;
        for (e = 0; e < 3 && ended_n[e] < r->quorum; e++) continue;
        if (e < 3) {
            *ended = PK_DONE + e;
            result = W_ENDED;
            break;
        }
        /* further on: a later generation, or a later step of this one; or a
         * quorum of the cluster committing steps in an earlier generation
         * (this node rolled back alone) */
        bool ahead = in_job && (gen > r->gen || (gen == r->gen && at > r->step) ||
                                (gen < r->gen && !waits && at_front >= r->quorum));
        if (ahead && gen > r->gen && at == r->snap_step && r->snap_valid) {
            /* the others rolled back to the snapshot this node holds as well
             * (it judged the stored code repairable from the projections it
             * had, they did not): it goes back with them, to the same blocks */
            roll_back(r, gen);
            result = W_JOINED;
            break;
        }
        if (ahead && at_front > kw && heard >= r->quorum) {
            /* the others are further on: join them there */
            uint64_t back = join_run(r);
            if (back) {
                r->step = back;
                result = W_JOINED;
                break;
            }
            continue;
        }
        if (t->behind) { /* peers' partials from steps ahead */
            uint64_t back = join_run(r);
            if (back) {
                r->step = back;
                result = W_JOINED;
                break;
            }
        }
        if (heard >= r->quorum && taking_part >= need) break;
        struct timespec ts = {0, 300 * 1000000};
        nanosleep(&ts, NULL);
    }
    /* a node that tries the step again still says it waits (a joiner then
     * asks for its blocks at this step) until the step is committed */
    if (result != W_RETRY) end_wait(r);
    if (result != W_CANCEL)
        tlog(t, "job %016" PRIx64 ": step %" PRIu64 ": waited %.1f s; %s", r->j->id, r->step,
             (double)(mono_ms() - since) / 1000.0,
             result == W_RETRY    ? "enough nodes answer again: trying the step again"
             : result == W_JOINED ? "joined the others further on"
                                  : "a quorum of the cluster ended the job without this node");
    return result;
}

/* The job ended on a quorum of the cluster while this node could not take
 * part: it ends too, without publishing its blocks (they are not the final
 * ones). */
static void end_as_others(run *r, int how)
{
    if (how == PK_CANCELLED)
        set_state(r, JS_CANCELLED, "cancelled while this node was cut off");
    else
        set_state(r, JS_FAILED,
                  how == PK_DONE ? "the job ended on a quorum of the cluster while this node could "
                                   "not take part; this node holds no final blocks"
                                 : "the job failed on a quorum of the cluster");
    drop_state(r->t);
    tlog(r->t, "job %016" PRIx64 ": ended %s on a quorum of the cluster while this node waited",
         r->j->id, how == PK_DONE ? "done" : how == PK_CANCELLED ? "cancelled" : "failed");
}

static void run_job(gp_trainer *t, tjob *j, void *push)
{
    run *r = calloc(1, sizeof *r);
    if (!r) {
        pthread_mutex_lock(&t->mu);
        j->state = JS_FAILED;
        snprintf(j->reason, sizeof j->reason, "no memory");
        pthread_mutex_unlock(&t->mu);
        return;
    }
    r->t = t;
    r->j = j;
    r->job = &j->job;
    r->push = push;
    r->P = t->P;
    r->self = t->self;
    r->quorum = t->P / 2 + 1; /* a majority of the cluster, up or not */
    gp_msg why = {{0}};
    int64_t t_start = mono_ms();
    if (!j->resume) {
        drop_state(t); /* what an earlier job left */
        save_job(t, j);
    }
    gp_err e = setup(r, &why);
    if (e != GP_OK) {
        tlog(t, "job %016" PRIx64 " failed: %s", j->id, why.text);
        set_state(r, JS_FAILED, why.text);
        drop_state(t);
        teardown(r);
        free(r);
        return;
    }
    const gp_job *job = r->job;
    char desc[160];
    gp_code_describe(r->code, desc, sizeof desc);
    uint64_t spe = gp_train_steps_per_epoch(job, r->train.count);
    pthread_mutex_lock(&t->mu);
    j->steps = spe * (uint64_t)job->epochs;
    j->mean = r->st.mean;
    j->scale = r->st.scale;
    j->accuracy = -1;
    j->up = (1ull << r->P) - 1;
    pthread_mutex_unlock(&t->mu);
    tlog(t, "job %016" PRIx64 " '%s': %zu training samples, %" PRIu64 " steps, code %s", j->id,
         job->name, r->train.count, j->steps, desc);
    /* all nodes start together: wait for every live node to have its data */
    uint32_t *order = NULL;
    pthread_mutex_lock(&t->mu);
    t->wide_window = j->resume; /* the exchanges of resume() may come early */
    pthread_mutex_unlock(&t->mu);
    gp_rmat x0 = {0};
    uint64_t joined = 0;
    bool start_with_peers = false;
    if (j->join || j->resume) {
        /* just started: give the peers' heartbeats time to arrive, until a
         * majority of the cluster is up (or 10 heartbeats have passed) */
        int64_t until = mono_ms() + 10 * t->cfg->heartbeat_ms;
        while (mono_ms() < until && !cancelled(r) &&
               2 * __builtin_popcountll(atomic_load(&t->up) | 1ull << r->self) <= r->P) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
        /* if the peers are running it already, join them where they are;
         * if they wait at its first step, this node's blocks are already
         * theirs (encoded from the job's seed): it takes part from there */
        uint64_t at, gen;
        bool waits = false;
        uint64_t serving = probe(r, 1500, &at, &gen, NULL, &waits);
        if (serving && waits && at == 0 && gen == 0 && !j->resume) {
            tlog(t, "job %016" PRIx64 ": the peers wait at its first step: taking part from there",
                 j->id);
            start_with_peers = true;
        } else if (serving && !(joined = join_run(r)) && j->join) {
            set_state(r, JS_FAILED, "could not rejoin the peers running the job");
            drop_state(t);
            tlog(t, "job %016" PRIx64 " failed: could not rejoin its peers", j->id);
            teardown(r);
            free(r);
            return;
        }
    }
    if (!joined && !start_with_peers && !barrier(r)) goto cancelled;
    pthread_mutex_lock(&t->mu);
    j->state = JS_RUNNING;
    j->started_ms = mono_ms();
    pthread_mutex_unlock(&t->mu);
    order = malloc(r->train.count * sizeof *order);
    if (!order || gp_rmat_alloc(&x0, r->cols[0], (size_t)job->batch) != GP_OK) {
        free(order);
        set_state(r, JS_FAILED, "no memory for the batches");
        drop_state(t);
        teardown(r);
        free(r);
        return;
    }
    double loss_window[50] = {0};
    int nloss = 0;
    int64_t t_run = mono_ms();
    uint64_t samples = 0;
    uint64_t total = spe * (uint64_t)job->epochs;
    int order_epoch = -1;
    uint64_t first_step = joined ? joined : j->resume ? resume(r) : 0;
    r->joined_now = joined != 0 || start_with_peers;
    pthread_mutex_lock(&t->mu);
    t->wide_window = joined != 0; /* a joiner takes its peers' exchanges early until caught up */
    pthread_mutex_unlock(&t->mu);
    if (cancelled(r)) goto cancelled;
    snapshot(r, first_step);
    pthread_mutex_lock(&t->mu);
    j->step = first_step;
    pthread_mutex_unlock(&t->mu);
    for (uint64_t step = first_step; step < total;) {
        int ep = (int)(step / spe);
        uint64_t s = step % spe;
        if (ep != order_epoch) {
            gp_train_order(job, ep, r->train.count, order);
            order_epoch = ep;
            pthread_mutex_lock(&t->mu);
            j->epoch = ep + 1;
            pthread_mutex_unlock(&t->mu);
        }
        r->step = step;
        pthread_mutex_lock(&t->mu);
        j->at_step = step;
        pthread_mutex_unlock(&t->mu);
        serve_joins(r);

        if (!r->join_started && t->wide_window) {
            pthread_mutex_lock(&t->mu);
            t->wide_window = false;
            pthread_mutex_unlock(&t->mu);
        }
        size_t first = (size_t)s * (size_t)job->batch, b = (size_t)job->batch;
        if (first + b > r->train.count) b = r->train.count - first;
        gp_rmat xb = gp_rmat_view(x0.data, r->cols[0], b, b);
        gp_train_batch(&r->train, r->st, order, first, b, xb, r->labels);
        double lr = gp_train_lr(job, r->step, spe), loss = 0;
        bool committed = false, waited = r->joined_now, moved = false, just_waited = false;
        r->joined_now = false;
        int refused = 0, outcome = W_RETRY, ended = 0;
        r->attempt = 0;
        for (;;) {
            if (r->attempt >= MAX_ATTEMPTS) {
                char why_failed[512];
                snprintf(why_failed, sizeof why_failed,
                         "step %" PRIu64 ": %d attempts without a quorum committing it; the last: %s",
                         r->step, MAX_ATTEMPTS, r->last_error[0] ? r->last_error : "no quorum");
                free(order);
                gp_rmat_free(&x0);
                set_state(r, JS_FAILED, why_failed);
                tlog(t, "job %016" PRIx64 " failed: %s", j->id, why_failed);
                teardown(r);
                free(r);
                return;
            }
            pthread_mutex_lock(&t->mu);
            t->follow = waited; /* after a wait: go with the others' latest attempt */
            t->cur_gen = r->gen;
            t->cur_step = r->step;
            t->cur_attempt = (unsigned)r->attempt;
            t->newer = 0;
            pthread_mutex_unlock(&t->mu);
            /* the others may have started a later attempt already */
            unsigned hi = waited ? latest_attempt(r) : 0;
            pthread_mutex_lock(&t->mu);
            if (hi > t->cur_attempt) t->newer = hi;
            /* too few heard to commit anything: wait before trying (not
             * right after a wait, whose probe heard enough) */
            bool few = !just_waited &&
                       __builtin_popcountll(atomic_load(&t->up) | 1ull << r->self) < r->quorum;
            pthread_mutex_unlock(&t->mu);
            just_waited = false;
            if (few) {
                r->no_quorum = true;
                r->short_handed = false;
            } else {
                committed = attempt_step(r, xb, r->labels, b, lr, &loss);
                if (cancelled(r)) goto cancelled;
                if (committed || r->broken || t->behind) break;
                if (r->superseded) { /* not refused: the others tried again first */
                    pthread_mutex_lock(&t->mu);
                    r->attempt = (int)t->newer;
                    pthread_mutex_unlock(&t->mu);
                    continue;
                }
            }
            if (r->no_quorum || r->short_handed) {
                /* not refused by a quorum: nothing could be committed; the
                 * step waits until enough nodes answer, untouched */
                waited = just_waited = true;
                outcome = await_peers(r, &ended);
                if (outcome == W_CANCEL) goto cancelled;
                if (outcome != W_RETRY) break;
                unsigned latest = latest_attempt(r);
                int next = r->attempt + (few ? 0 : 1);
                r->attempt = (int)latest > next ? (int)latest : next;
                r->excluded = 0; /* wait for every node heard again */
                continue;
            }
            count(r, &j->n.steps_redone, 1);
            tlog(t, "job %016" PRIx64 ": step %" PRIu64 " redone (attempt %d)", j->id, r->step,
                 r->attempt + 1);
            if (++refused > job->max_redo) break;
            r->attempt++;
        }
        pthread_mutex_lock(&t->mu);
        t->follow = false;
        pthread_mutex_unlock(&t->mu);
        end_wait(r); /* committed, skipped, broken or moved on (a wait below sets it again) */
        if (!committed && !r->broken && t->behind && outcome == W_RETRY) {
            /* the others went on without this node (it was stopped, or cut
             * off): join them where they are, else wait until it can */
            tlog(t, "job %016" PRIx64 ": the others are ahead at step %" PRIu64 ": looking for them",
                 j->id, r->step);
            uint64_t back = join_run(r);
            if (back) {
                r->step = back;
                outcome = W_JOINED;
            } else {
                r->no_quorum = true;
                r->short_handed = false;
                outcome = await_peers(r, &ended);
                if (outcome == W_CANCEL) goto cancelled;
                if (outcome == W_RETRY) continue; /* this step again */
            }
        }
        if (outcome == W_ENDED) {
            free(order);
            gp_rmat_free(&x0);
            end_as_others(r, ended);
            teardown(r);
            free(r);
            return;
        }
        if (outcome == W_JOINED) moved = true;
        if (moved) {
            r->joined_now = true;
            step = r->step;
            order_epoch = -1;
            snapshot(r, step);
            continue;
        }
        if (r->broken) {
            /* more stored blocks left the code than it can locate: every node
             * goes back to its blocks of the last consistent snapshot */
            pthread_mutex_lock(&t->mu);
            bool give_up = j->n.rollbacks >= MAX_ROLLBACKS;
            pthread_mutex_unlock(&t->mu);
            if (give_up) {
                free(order);
                gp_rmat_free(&x0);
                set_state(r, JS_FAILED, "the stored code broke beyond repair too often");
                drop_state(t);
                teardown(r);
                free(r);
                return;
            }
            if (!r->snap_valid) {
                /* joined since the cluster's last snapshot: it has none to go
                 * back to; it joins the others again where they go */
                tlog(t, "job %016" PRIx64 ": step %" PRIu64 ": the others roll back to a snapshot "
                     "this node does not hold: joining again", j->id, r->step);
                uint64_t back = join_run(r);
                if (!back) {
                    r->no_quorum = true;
                    r->short_handed = false;
                    int w = await_peers(r, &ended);
                    if (w == W_CANCEL) goto cancelled;
                    if (w == W_ENDED) {
                        free(order);
                        gp_rmat_free(&x0);
                        end_as_others(r, ended);
                        teardown(r);
                        free(r);
                        return;
                    }
                    back = w == W_JOINED ? r->step : 0;
                }
                if (back) {
                    step = back;
                    order_epoch = -1;
                    snapshot(r, step);
                    continue;
                }
                continue; /* this step again, with the blocks it has */
            }
            roll_back(r, r->gen + 1);
            step = r->step;
            continue;
        }
        if (!committed) {
            count(r, &j->n.steps_skipped, 1);
            tlog(t, "job %016" PRIx64 ": step %" PRIu64 " skipped after %d attempts", j->id,
                 r->step, job->max_redo + 1);
            /* a peer on its way back (it asked for the blocks at a later
             * step) brings the missing redundancy: not counted meanwhile */
            if (!join_pending(r) && ++r->skipped_run >= MAX_SKIPPED_RUN) {
                char why_failed[512];
                snprintf(why_failed, sizeof why_failed,
                         "%d steps in a row could not be decoded; the last: %s", MAX_SKIPPED_RUN,
                         r->last_error[0] ? r->last_error : "the nodes did not agree");
                free(order);
                gp_rmat_free(&x0);
                set_state(r, JS_FAILED, why_failed);
                drop_state(t);
                tlog(t, "job %016" PRIx64 " failed: %s", j->id, why_failed);
                teardown(r);
                free(r);
                return;
            }
        } else {
            r->skipped_run = 0;
            loss_window[nloss++ % 50] = loss / (double)b;
        }
        step++;
        /* snapshots at the same steps on every node (multiples of
         * checkpoint_every), so that a rollback takes all to the same step */
        if (committed && r->clean && step % (uint64_t)job->checkpoint_every == 0) {
            snapshot(r, step);
            save_checkpoint(r);
        }
        samples += b;
        int nl = nloss < 50 ? nloss : 50;
        double mean_loss = 0;
        for (int i = 0; i < nl; i++) mean_loss += loss_window[i];
        pthread_mutex_lock(&t->mu);
        if (step > j->step) j->step = step;
        if (nl) j->loss = mean_loss / nl;
        double el = (double)(mono_ms() - t_run) / 1000.0;
        j->elapsed = (double)(mono_ms() - j->started_ms) / 1000.0;
        j->rate = el > 0 ? (double)samples / el : 0;
        pthread_mutex_unlock(&t->mu);
        if (step % spe == 0) { /* the end of an epoch */
            double test_loss;
            double acc = evaluate(r, &test_loss);
            if (cancelled(r)) goto cancelled;
            pthread_mutex_lock(&t->mu);
            j->accuracy = acc;
            pthread_mutex_unlock(&t->mu);
            tlog(t, "job %016" PRIx64 ": epoch %d: loss %.4f, test accuracy %.4f", j->id, ep + 1,
                 j->loss, acc);
        }
    }
    free(order);
    gp_rmat_free(&x0);
    pthread_mutex_lock(&t->mu);
    j->elapsed = (double)(mono_ms() - t_start) / 1000.0;
    pthread_mutex_unlock(&t->mu);
    publish(r);
    set_state(r, JS_DONE, NULL);
    drop_state(t);
    tlog(t, "job %016" PRIx64 " done", j->id);
    teardown(r);
    free(r);
    return;
cancelled:
    free(order);
    gp_rmat_free(&x0);
    pthread_mutex_lock(&t->mu);
    t->wide_window = false;
    bool stopping = t->stop && !j->cancel;
    pthread_mutex_unlock(&t->mu);
    set_state(r, stopping ? JS_FAILED : JS_CANCELLED, stopping ? "the daemon stopped" : NULL);
    if (!stopping) publish(r);
    if (!stopping) drop_state(t); /* a stopped daemon resumes the job when it starts again */
    tlog(t, "job %016" PRIx64 " %s", j->id, stopping ? "failed: the daemon stopped" : "cancelled");
    teardown(r);
    free(r);
}

static void *trainer_main(void *arg)
{
    gp_trainer *t = arg;
    void *push = zmq_socket(t->ctx, ZMQ_PUSH);
    int hwm = 0, linger = 0; /* the I/O thread drains it; nothing may be lost in between */
    zmq_setsockopt(push, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    zmq_connect(push, TR_ENDPOINT);
    gp_blas_set_threads((int)t->cfg->blas_threads);
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        int next = -1;
        for (int i = 0; i < TR_JOBS; i++)
            if (t->jobs[i].used && t->jobs[i].state == JS_QUEUED &&
                (next < 0 || t->jobs[i].submitted < t->jobs[next].submitted))
                next = i;
        if (next < 0) {
            /* idle: ask now and then whether the peers run a job this node
             * should take part in (it was down when it was submitted, or
             * this is a replacement with an empty state directory) */
            int64_t now = mono_ms();
            if (now >= t->next_probe && atomic_load(&t->up) & ~(1ull << t->self)) {
                send_join(t, push, t->latest, 0, 0);
                t->next_probe = now + 2000;
            }
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 500 * 1000000;
            ts.tv_sec += ts.tv_nsec / 1000000000;
            ts.tv_nsec %= 1000000000;
            pthread_cond_timedwait(&t->cv, &t->mu, &ts);
            continue;
        }
        if (t->jobs[next].cancel) {
            t->jobs[next].state = JS_CANCELLED;
            continue;
        }
        t->active = next;
        t->floor = 0;
        t->behind = false;
        t->ahead = 0;
        mail_clear(t);
        pthread_mutex_unlock(&t->mu);
        run_job(t, &t->jobs[next], push);
        pthread_mutex_lock(&t->mu);
        t->active = -1;
        mail_clear(t);
    }
    pthread_mutex_unlock(&t->mu);
    zmq_close(push);
    return NULL;
}

/* ---- the I/O thread's side ------------------------------------------------------------ */

static void restore_job(gp_trainer *t);

gp_trainer *tr_new(const gp_config *cfg, int self, void *ctx)
{
    gp_trainer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->cfg = cfg;
    t->self = self;
    t->P = cfg->nnodes;
    t->ctx = ctx;
    t->active = -1;
    gp_msg why = {{0}};
    if (st_dir(cfg->state_dir, self, t->dir, sizeof t->dir, &why) != GP_OK) {
        tlog(t, "no durable state (jobs are not resumed after a restart): %s", why.text);
        t->dir[0] = 0;
    }
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    t->pull = zmq_socket(ctx, ZMQ_PULL);
    int hwm = 0;
    if (!t->pull || zmq_setsockopt(t->pull, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_bind(t->pull, TR_ENDPOINT) != 0 ||
        pthread_create(&t->thread, NULL, trainer_main, t) != 0) {
        tr_destroy(&t);
        return NULL;
    }
    t->thread_started = true;
    if (t->dir[0]) restore_job(t);
    return t;
}

/* A job this node was running when it stopped, from job.bin: queued again,
 * to resume from its checkpoints. */
static void restore_job(gp_trainer *t)
{
    char path[700];
    state_path(t, "job.bin", path, sizeof path);
    st_buf b;
    gp_msg why = {{0}};
    gp_err e = st_read(path, ST_JOB, &b, &why);
    if (e == GP_ENOTFOUND) return;
    if (e != GP_OK) {
        tlog(t, "the saved job is damaged (%s): removed", why.text);
        drop_state(t);
        return;
    }
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_SUBMIT, 0);
    gp_pmsg_uint(&m, GP_F_JOB, st_get_u64(&b));
    static const gp_field f[6] = {GP_F_TEXT,       GP_F_SET,       GP_F_TRAIN_DATA,
                                  GP_F_TRAIN_LABELS, GP_F_TEST_DATA, GP_F_TEST_LABELS};
    for (int i = 0; i < 6; i++) {
        uint64_t len = st_get_u64(&b);
        const uint8_t *p = st_view(&b, (size_t)len);
        if (!p) break;
        m.v[f[i]].s = (gp_pstr){(const char *)p, (size_t)len};
        m.present |= 1ull << f[i];
    }
    if (b.bad || b.at != b.len) e = gp_fail(&why, GP_EFORMAT, "%s: inconsistent", path);
    if (e == GP_OK) e = tr_submit(t, &m, &why);
    if (e == GP_OK) {
        pthread_mutex_lock(&t->mu);
        tjob *j = find_job(t, m.v[GP_F_JOB].u);
        if (j) j->resume = true;
        pthread_cond_broadcast(&t->cv);
        pthread_mutex_unlock(&t->mu);
        tlog(t, "job %016" PRIx64 " restored from %s: resuming from its checkpoints",
             m.v[GP_F_JOB].u, path);
    } else {
        tlog(t, "cannot restore the saved job: %s", why.text);
    }
    free(b.p);
}

static void job_free(tjob *j)
{
    free(j->text);
    free(j->set);
    for (int i = 0; i < 4; i++) free(j->blob[i]);
    memset(j, 0, sizeof *j);
}

void tr_destroy(gp_trainer **tp)
{
    gp_trainer *t = *tp;
    if (!t) return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->thread_started) pthread_join(t->thread, NULL);
    if (t->pull) zmq_close(t->pull);
    mail_clear(t);
    for (int i = 0; i < TR_JOBS; i++) job_free(&t->jobs[i]);
    for (int l = 0; l < GP_JOB_MAX_LAYERS; l++) {
        gp_rmat_free(&t->fin.wt[l]);
        gp_code_destroy(&t->fin.code[l]);
    }
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
    *tp = NULL;
}

void *tr_socket(gp_trainer *t)
{
    return t->pull;
}

void tr_forward(gp_trainer *t, void *const *out, tr_adopt_fn adopt, void *arg,
                uint64_t *partials_sent, uint64_t *bytes_sent)
{
    for (int i = 0; i < 256; i++) {
        uint64_t dest;
        int rc = zmq_recv(t->pull, &dest, sizeof dest, ZMQ_DONTWAIT);
        if (rc < 0) break;
        zmq_msg_t body;
        zmq_msg_init(&body);
        if (zmq_msg_recv(&body, t->pull, 0) < 0) {
            zmq_msg_close(&body);
            break;
        }
        if (rc == sizeof dest && dest == 0) { /* a job ended: store its blocks */
            pthread_mutex_lock(&t->mu);
            finished f = t->fin;
            memset(&t->fin, 0, sizeof t->fin);
            pthread_mutex_unlock(&t->mu);
            for (int l = 0; l < f.nlayers && f.ready; l++) {
                char name[64];
                tr_weight_name(f.job, l, name, sizeof name);
                if (f.code[l])
                    adopt(arg, name, &f.wt[l], f.rows[l], f.cols[l], &f.code[l], f.updates);
                gp_rmat_free(&f.wt[l]);
                gp_code_destroy(&f.code[l]);
            }
        } else if (rc == sizeof dest) {
            for (int p = 0; p < t->P; p++) {
                if (!(dest >> p & 1) || p == t->self || !out[p]) continue;
                zmq_msg_t copy;
                zmq_msg_init(&copy);
                zmq_msg_copy(&copy, &body);
                size_t len = zmq_msg_size(&copy);
                if (zmq_msg_send(&copy, out[p], ZMQ_DONTWAIT) >= 0) {
                    (*partials_sent)++;
                    *bytes_sent += len;
                } else {
                    zmq_msg_close(&copy);
                }
            }
        }
        zmq_msg_close(&body);
    }
}

static tjob *find_job(gp_trainer *t, uint64_t id)
{
    if (id == 0) id = t->latest;
    for (int i = 0; i < TR_JOBS; i++)
        if (t->jobs[i].used && t->jobs[i].id == id) return &t->jobs[i];
    return NULL;
}

static char *dup_bytes(gp_pstr s)
{
    char *p = malloc(s.len + 1);
    if (!p) return NULL;
    memcpy(p, s.p, s.len);
    p[s.len] = 0;
    return p;
}

gp_err tr_submit(gp_trainer *t, const gp_pmsg *m, gp_msg *why)
{
    uint64_t id = m->v[GP_F_JOB].u;
    if (id == 0) return gp_fail(why, GP_EINVAL, "job id 0 is reserved");
    gp_pstr text = m->v[GP_F_TEXT].s, set = {"", 0};
    if (gp_pmsg_has(m, GP_F_SET)) set = m->v[GP_F_SET].s;
    if (text.len > (1u << 20) || set.len > (1u << 16))
        return gp_fail(why, GP_ERANGE, "a job file of %zu bytes (at most 1 MiB)", text.len);
    /* the overrides: lines of key=value */
    char *setcopy = dup_bytes(set), *textcopy = dup_bytes(text);
    const char *sets[GP_JOB_MAX_SET];
    int nset = 0;
    gp_err e = GP_OK;
    if (!setcopy || !textcopy) e = gp_fail(why, GP_ENOMEM, "no memory for the job");
    char *lines = e == GP_OK ? dup_bytes(set) : NULL;
    for (char *save = NULL, *line = lines ? strtok_r(lines, "\n", &save) : NULL; e == GP_OK && line;
         line = strtok_r(NULL, "\n", &save)) {
        if (nset == GP_JOB_MAX_SET)
            e = gp_fail(why, GP_ERANGE, "more than %d overrides", GP_JOB_MAX_SET);
        else
            sets[nset++] = line;
    }
    tjob nj = {0};
    if (e == GP_OK) e = gp_job_parse(textcopy, text.len, "job", NULL, sets, nset, &nj.job, why);
    free(lines);
    if (e == GP_OK) {
        static const gp_field blobs[4] = {GP_F_TRAIN_DATA, GP_F_TRAIN_LABELS, GP_F_TEST_DATA,
                                          GP_F_TEST_LABELS};
        for (int i = 0; i < 4 && e == GP_OK; i++)
            if (gp_pmsg_has(m, blobs[i]) && m->v[blobs[i]].s.len) {
                nj.blen[i] = m->v[blobs[i]].s.len;
                if (!(nj.blob[i] = malloc(nj.blen[i])))
                    e = gp_fail(why, GP_ENOMEM, "no memory for the uploaded data");
                else
                    memcpy(nj.blob[i], m->v[blobs[i]].s.p, nj.blen[i]);
            }
        bool csv = nj.job.train.csv[0] != 0;
        if (e == GP_OK && nj.blob[0] && (!nj.blob[2] || (!csv && (!nj.blob[1] || !nj.blob[3]))))
            e = gp_fail(why, GP_EINVAL, "uploaded data must include the train and test sets");
    }
    if (e != GP_OK) {
        free(setcopy);
        free(textcopy);
        for (int i = 0; i < 4; i++) free(nj.blob[i]);
        return e;
    }
    pthread_mutex_lock(&t->mu);
    int free_i = -1, queued = 0, oldest = -1;
    for (int i = 0; i < TR_JOBS; i++) {
        tjob *j = &t->jobs[i];
        if (j->used && j->id == id) {
            free_i = -2;
            break;
        }
        if (j->used && j->state == JS_QUEUED) queued++;
        if (!j->used && free_i < 0) free_i = i;
        if (j->used && j->state >= JS_DONE &&
            (oldest < 0 || j->submitted < t->jobs[oldest].submitted))
            oldest = i;
    }
    if (free_i == -2)
        e = gp_fail(why, GP_ESTATE, "job %016" PRIx64 " was submitted already", id);
    else if (queued >= TR_QUEUE)
        e = gp_fail(why, GP_ERANGE, "%d jobs are queued already", queued);
    else if (free_i < 0 && oldest < 0)
        e = gp_fail(why, GP_ERANGE, "%d jobs are held already", TR_JOBS);
    if (e == GP_OK) {
        if (free_i < 0) {
            free_i = oldest;
            job_free(&t->jobs[free_i]);
        }
        tjob *j = &t->jobs[free_i];
        *j = nj;
        j->used = true;
        j->id = id;
        j->state = JS_QUEUED;
        j->text = textcopy;
        j->tlen = text.len;
        j->set = setcopy;
        j->slen = set.len;
        j->submitted = mono_ms();
        j->accuracy = -1;
        j->up = (1ull << t->P) - 1;
        for (int i = 0; i < TR_JOBS; i++)
            if (t->precancelled[i] == id) {
                j->state = JS_CANCELLED;
                snprintf(j->reason, sizeof j->reason, "cancelled before it arrived here");
            }
        t->latest = id;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    if (e != GP_OK) {
        free(setcopy);
        free(textcopy);
        for (int i = 0; i < 4; i++) free(nj.blob[i]);
    }
    return e;
}

gp_err tr_info(gp_trainer *t, uint64_t job, gp_pmsg *r, tr_scratch *s, gp_msg *why)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, job);
    if (!j) {
        pthread_mutex_unlock(&t->mu);
        return gp_fail(why, GP_ENOTFOUND, job ? "no job %016" PRIx64 " here" : "no job here", job);
    }
    snprintf(s->name, sizeof s->name, "%s", j->job.name);
    snprintf(s->state, sizeof s->state, "%s",
             j->waiting && j->state == JS_RUNNING ? "waiting" : state_names[j->state]);
    snprintf(s->reason, sizeof s->reason, "%s", j->reason);
    size_t tl = j->tlen + j->slen + 16;
    s->text = malloc(tl);
    if (s->text) {
        memcpy(s->text, j->text, j->tlen);
        memcpy(s->text + j->tlen, "\n#--set\n", 8);
        memcpy(s->text + j->tlen + 8, j->set, j->slen);
        s->text[j->tlen + 8 + j->slen] = 0;
    }
    gp_pmsg_uint(r, GP_F_JOB, j->id);
    gp_pmsg_str(r, GP_F_NAME, s->name);
    gp_pmsg_str(r, GP_F_STATE, s->state);
    gp_pmsg_uint(r, GP_F_EPOCH, (uint64_t)j->epoch);
    gp_pmsg_uint(r, GP_F_EPOCHS, (uint64_t)j->job.epochs);
    gp_pmsg_uint(r, GP_F_STEP, j->step);
    gp_pmsg_uint(r, GP_F_STEPS, j->steps);
    gp_pmsg_f64(r, GP_F_ELAPSED, j->elapsed);
    if (j->step) gp_pmsg_f64(r, GP_F_LOSS, j->loss);
    if (j->accuracy >= 0) gp_pmsg_f64(r, GP_F_ACCURACY, j->accuracy);
    gp_pmsg_f64(r, GP_F_RATE, j->rate);
    if (j->state != JS_QUEUED && j->scale > 0) {
        gp_pmsg_f64(r, GP_F_MEAN, j->mean);
        gp_pmsg_f64(r, GP_F_SCALE, j->scale);
    }
    if (j->reason[0]) gp_pmsg_str(r, GP_F_REASON, s->reason);
    if (s->text) {
        r->v[GP_F_TEXT].s = (gp_pstr){s->text, strlen(s->text)};
        r->present |= 1ull << GP_F_TEXT;
    }
    size_t nup = 0;
    for (int p = 0; p < t->P; p++)
        if (j->up >> p & 1) s->up[nup++] = (uint64_t)p;
    gp_pmsg_ids(r, GP_F_NODES_UP, s->up, nup);
    int nc = 0;
#define X(name) s->c[nc++] = (gp_pcounter){{#name, sizeof #name - 1}, j->n.name};
    JOB_COUNTERS(X)
#undef X
    gp_pmsg_counters(r, GP_F_COUNTERS, s->c, (size_t)nc);
    for (int p = 0; p < t->P; p++) {
        s->stats[3 * p] = (double)j->node_wrong[p];
        s->stats[3 * p + 1] = (double)j->node_off[p];
        s->stats[3 * p + 2] = (double)(j->suspects >> p & 1);
    }
    gp_pmsg_mat(r, GP_F_NODE_STATS, (gp_pmat){(uint32_t)t->P, 3, false, s->stats});
    pthread_mutex_unlock(&t->mu);
    return GP_OK;
}

bool tr_join(gp_trainer *t, const gp_pmsg *m, int from, void **buf, size_t *len)
{
    if (from < 0 || from >= t->P || from == t->self) return false;
    uint64_t want = m->v[GP_F_JOB].u, id = 0;
    pthread_mutex_lock(&t->mu);
    if (t->active >= 0) id = t->jobs[t->active].id;
    pthread_mutex_unlock(&t->mu);
    /* the peer lacks the job: it gets it whole, uploaded data (job.bin) too */
    st_buf jb = {0};
    gp_pstr blob[4] = {{0}};
    if (id && want != id && t->dir[0]) {
        char path[700];
        state_path(t, "job.bin", path, sizeof path);
        if (st_read(path, ST_JOB, &jb, NULL) == GP_OK && st_get_u64(&jb) == id) {
            for (int i = 0; i < 2; i++) st_view(&jb, (size_t)st_get_u64(&jb)); /* text, set */
            for (int i = 0; i < 4; i++) {
                uint64_t n = st_get_u64(&jb);
                const uint8_t *p = st_view(&jb, (size_t)n);
                if (p) blob[i] = (gp_pstr){(const char *)p, (size_t)n};
            }
        }
    }
    pthread_mutex_lock(&t->mu);
    tjob *j = t->active >= 0 && t->jobs[t->active].id == id ? &t->jobs[t->active] : NULL;
    gp_pmsg r;
    gp_pmsg_init(&r, GP_MT_JOIN_INFO, m->id);
    gp_pmsg_uint(&r, GP_F_FROM, (uint64_t)t->self);
    tjob *ended = j ? NULL : find_job(t, want);
    if (want && ended && ended->state >= JS_DONE) {
        /* the job asked about has ended here: say how (a node that waited
         * through the end learns that a quorum finished it without it) */
        gp_pmsg_uint(&r, GP_F_JOB, ended->id);
        gp_pmsg_str(&r, GP_F_STATE, state_names[ended->state]);
        bool ok = gp_proto_encode(&r, buf, len, NULL) == GP_OK;
        pthread_mutex_unlock(&t->mu);
        free(jb.p);
        return ok;
    }
    gp_pmsg_uint(&r, GP_F_JOB, j ? j->id : 0);
    gp_pmsg_str(&r, GP_F_STATE,
                !j           ? "none"
                : t->joining ? "joining"
                : j->waiting && j->state == JS_RUNNING ? "waiting"
                                                       : state_names[j->state]);
    if (j) {
        gp_pmsg_uint(&r, GP_F_STEP, j->at_step);
        gp_pmsg_uint(&r, GP_F_EPOCH, j->gen);
        gp_pmsg_f64(&r, GP_F_RATE, j->job.batch > 0 ? j->rate / j->job.batch : 0);
    }
    if (j && want != j->id) {
        static const gp_field f[4] = {GP_F_TRAIN_DATA, GP_F_TRAIN_LABELS, GP_F_TEST_DATA,
                                      GP_F_TEST_LABELS};
        r.v[GP_F_TEXT].s = (gp_pstr){j->text, j->tlen};
        r.v[GP_F_SET].s = (gp_pstr){j->set, j->slen};
        r.present |= 1ull << GP_F_TEXT | 1ull << GP_F_SET;
        for (int i = 0; i < 4; i++)
            if (blob[i].len) {
                r.v[f[i]].s = blob[i];
                r.present |= 1ull << f[i];
            }
    }
    if (j && want == j->id && gp_pmsg_has(m, GP_F_STEP) && j->state == JS_RUNNING) {
        t->want_join[from].on = true;
        t->want_join[from].job = j->id;
        t->want_join[from].step = m->v[GP_F_STEP].u;
        t->want_join[from].gen = m->v[GP_F_EPOCH].u;
    }
    bool ok = gp_proto_encode(&r, buf, len, NULL) == GP_OK;
    pthread_mutex_unlock(&t->mu);
    free(jb.p);
    return ok;
}

void tr_join_info(gp_trainer *t, const gp_pmsg *m, int from)
{
    if (from < 0 || from >= t->P || from == t->self) return;
    uint64_t id = m->v[GP_F_JOB].u;
    gp_pstr st = m->v[GP_F_STATE].s;
    static const char *const kinds[] = {"none", "running", "waiting", "joining",
                                        "done", "failed", "cancelled"};
    int kind = PK_NONE;
    for (int k = 0; k < (int)(sizeof kinds / sizeof kinds[0]); k++)
        if (st.len == strlen(kinds[k]) && !memcmp(st.p, kinds[k], st.len)) kind = k;
    bool running = kind == PK_RUNNING || kind == PK_WAITING;
    pthread_mutex_lock(&t->mu);
    t->info[from].seen = true;
    t->info[from].kind = kind;
    t->info[from].job = id;
    t->info[from].step = gp_pmsg_has(m, GP_F_STEP) ? m->v[GP_F_STEP].u : 0;
    t->info[from].gen = gp_pmsg_has(m, GP_F_EPOCH) ? m->v[GP_F_EPOCH].u : 0;
    t->info[from].rate = gp_pmsg_has(m, GP_F_RATE) && isfinite(m->v[GP_F_RATE].f) ? m->v[GP_F_RATE].f : 0;
    /* a running job this node does not know, while it has nothing to do */
    bool busy = t->active >= 0;
    for (int i = 0; i < TR_JOBS; i++)
        busy = busy || (t->jobs[i].used && t->jobs[i].state == JS_QUEUED);
    bool adopt = id && running && gp_pmsg_has(m, GP_F_TEXT) && !busy && !find_job(t, id);
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (!adopt) return;
    gp_msg why = {{0}};
    if (tr_submit(t, m, &why) != GP_OK) {
        tlog(t, "cannot take up job %016" PRIx64 " from node %d: %s", id, from, why.text);
        return;
    }
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, id);
    if (j) j->join = true;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    tlog(t, "job %016" PRIx64 " runs on node %d (step %" PRIu64 "): taking it up, to join it",
         id, from, t->info[from].step);
}

gp_err tr_cancel(gp_trainer *t, uint64_t job, gp_msg *why)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, job);
    gp_err e = GP_OK;
    if (!j) {
        /* perhaps not here yet: if it comes, it is cancelled on arrival */
        if (job) t->precancelled[t->nprecancelled++ % TR_JOBS] = job;
        e = gp_fail(why, GP_ENOTFOUND, job ? "no job %016" PRIx64 " here" : "no job here", job);
    }
    else if (j->state >= JS_DONE)
        e = gp_fail(why, GP_ESTATE, "job %016" PRIx64 " has ended (%s)", j->id,
                    state_names[j->state]);
    else {
        j->cancel = true;
        if (j->state == JS_QUEUED) j->state = JS_CANCELLED;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return e;
}

void tr_brief(gp_trainer *t, char *buf, size_t len)
{
    pthread_mutex_lock(&t->mu);
    tjob *j = find_job(t, 0);
    if (!j)
        snprintf(buf, len, "no job");
    else
        snprintf(buf, len, "job %016" PRIx64 " '%s': %s, step %" PRIu64 " of %" PRIu64, j->id,
                 j->job.name,
                 j->waiting && j->state == JS_RUNNING ? "waiting" : state_names[j->state], j->step,
                 j->steps);
    pthread_mutex_unlock(&t->mu);
}
