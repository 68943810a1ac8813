/* job_run.c - the driver: set-up, the start barrier, the step loop with its
 * policies as named functions (attempts, catch_up, after_break,
 * count_skipped, step_done), evaluation, and the one exit of a run (finish). */
#define _GNU_SOURCE
#include <stdarg.h>

#include "trainer_impl.h"

void tr_weight_name(uint64_t job, int l, char *buf, size_t len)
{
    snprintf(buf, len, "job-%016" PRIx64 ".W%d", job, l);
}

void run_count(run *r, uint64_t *field, uint64_t add)
{
    pthread_mutex_lock(&r->t->mu);
    *field += add;
    pthread_mutex_unlock(&r->t->mu);
}

bool run_cancelled(run *r)
{
    pthread_mutex_lock(&r->t->mu);
    bool c = r->j->cancel || r->t->stop;
    pthread_mutex_unlock(&r->t->mu);
    return c;
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
        uint64_t key = KEY(r->at.step, EVAL_ATTEMPT, PH_EVAL + l);
        ex_send(r, all, key, r->model.wt[l], true);
        slot *s = ex_collect(r, key, all, r->t->cfg->peer_timeout_ms);
        if (!s || gp_rmat_alloc(&w[l], r->model.rows[l], r->model.cols[l]) != GP_OK) {
            ok = false;
            break;
        }
        gp_node_output outs[GP_CONFIG_MAX_NODES];
        int n = ex_outputs(r, s, r->model.wt[l].rows, r->model.wt[l].cols, outs);
        gp_decode_report rep;
        gp_msg why = {{0}};
        gp_err e = gp_code_decode_weights(r->code, r->model.rows[l], r->model.cols[l], outs, n,
                                          r->model.updates, w[l], &rep, &why);
        if (e != GP_OK && e != GP_EUNVERIFIED) {
            tlog(r->t, "job %016" PRIx64 ": cannot decode layer %d for the evaluation: %s",
                 r->j->id, l, why.text);
            ok = false;
        }
        ex_advance(r, key + 1);
    }
    if (ok && gp_train_evaluate(r->job, w, &r->test, r->st, &acc, test_loss) != GP_OK) acc = -1;
    for (int l = 0; l < r->L; l++) gp_rmat_free(&w[l]);
    return acc;
}

/* Every node starts together: each sends START (again every half second,
 * for nodes still loading their data or not yet given the job) until every
 * live node's has arrived, or a generous timeout. A node that came to the
 * job late (it was stopped, or still busy with an earlier job) finds no
 * START from peers that have gone on: once a second it asks them, and joins
 * them where they are (BAR_JOIN), or ends the job as a quorum of the
 * cluster ended it (BAR_ENDED, *ended: PK_DONE ...). BAR_GO: start at step
 * 0; BAR_CANCEL: cancelled. */
enum { BAR_GO, BAR_JOIN, BAR_ENDED, BAR_CANCEL };

/* every live node's START is in, or most peers' later partials are */
static int start_heard(run *r, uint64_t key)
{
    pthread_mutex_lock(&r->t->mu);
    slot *s = mail_slot(r->t, key, true);
    uint64_t up = atomic_load(&r->t->up) | 1ull << r->self;
    int how = r->t->behind ? BAR_JOIN : s && (s->have & up) == up ? BAR_GO : -1;
    pthread_mutex_unlock(&r->t->mu);
    return how;
}

static int barrier(run *r, int *ended)
{
    uint64_t all = (1ull << r->P) - 1, key = KEY(0, 0, PH_START);
    int64_t limit = 10 * r->t->cfg->peer_timeout_ms;
    if (limit < 60000) limit = 60000;
    int64_t end = gp_mono_ms() + limit, ask = gp_mono_ms() + 1000;
    gp_rmat one;
    if (gp_rmat_alloc(&one, 1, START_LEN) != GP_OK) return BAR_CANCEL;
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
    r->check.ckpt_next = held[0] <= held[1] ? 0 : 1; /* the next checkpoint replaces the older */
    int how = -1;
    while (how < 0 && !run_cancelled(r)) {
        ex_send(r, all, key, one, true);
        how = start_heard(r, key);
        struct timespec ts = {0, 100 * 1000000};
        for (int i = 0; i < 5 && how < 0; i++) {
            nanosleep(&ts, NULL);
            how = start_heard(r, key);
        }
        if (how == BAR_GO) break;
        if (how == BAR_JOIN || gp_mono_ms() >= ask) { /* (the job may have ended there) */
            uint64_t at = 0, gen = 0;
            bool waits = false;
            uint64_t serving = probe_peers(r, 300, &at, &gen, NULL, &waits);
            if ((*ended = quorum_ended(r)))
                how = BAR_ENDED;
            else if (serving && (at > 0 || gen > 0))
                how = BAR_JOIN;
            ask = gp_mono_ms() + 1000;
        }
        if (how < 0 && gp_mono_ms() >= end) how = BAR_GO;
    }
    if (how < 0) how = run_cancelled(r) ? BAR_CANCEL : BAR_GO;
    /* once more: a node that got the job after our last START waits for it */
    if (how == BAR_GO) ex_send(r, all, key, one, true);
    gp_rmat_free(&one);
    if (how == BAR_GO) {
        pthread_mutex_lock(&r->t->mu);
        slot *s = mail_slot(r->t, key, false);
        r->check.start_have = 0;
        for (int p = 0; s && p < r->P; p++)
            if ((s->have >> p & 1) && s->part[p].rows == 1 && s->part[p].cols == START_LEN) {
                memcpy(r->check.start_info[p], s->part[p].data, sizeof r->check.start_info[p]);
                r->check.start_have |= 1ull << p;
            }
        pthread_mutex_unlock(&r->t->mu);
        ex_advance(r, key + 1);
    }
    return how;
}

static gp_err pick_code(run *r, gp_msg *why)
{
    const gp_job *job = r->job;
    const gp_config *cfg = r->t->cfg;
    bool single = job->precision == GP_PREC_FLOAT32;
    gp_code_params cp = {
        .nodes = r->P, .m = job->m, .n = job->n, .orient = GP_ORIENT_AUTO, .single = single};
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
    gp_plan_req rq = {.nodes = r->P,
                      .rows = 1,
                      .cols = 1,
                      .batch = (size_t)job->batch,
                      .min_errors = 1,
                      .single = single};
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
    r->model.f32 = job->precision == GP_PREC_FLOAT32;
    for (int d = 0; d < 2; d++)
        for (int p = 0; p < r->P; p++)
            if (gp_code_takes_part(r->code, p, (gp_dir)d)) r->part_mask[d] |= 1ull << p;
    size_t B = (size_t)job->batch, maxenc = 1, maxout = 1, maxw = 1, proj = 0;
    for (int l = 0; l < r->L; l++) {
        r->model.rows[l] = (size_t)job->sizes[l + 1];
        r->model.cols[l] = (size_t)job->sizes[l] + 1;
        size_t br = gp_code_block_rows(r->code, r->model.rows[l]),
               bc = gp_code_block_cols(r->code, r->model.cols[l]);
        if ((e = gp_rmat_alloc(&r->model.wt[l], br, bc)) != GP_OK ||
            (e = gp_rmat_alloc(&r->model.backup[l], br, bc)) != GP_OK ||
            (e = gp_rmat_alloc(&r->check.snap[l], br, bc)) != GP_OK ||
            (r->model.f32 && (e = gp_fmat_alloc(&r->model.wf[l], br, bc)) != GP_OK))
            return gp_fail(why, e, "no memory for the blocks");
        gp_rmat w;
        if ((e = gp_rmat_alloc(&w, r->model.rows[l], r->model.cols[l])) != GP_OK)
            return gp_fail(why, e, "no memory");
        gp_train_init_weights(job, l, w);
        e = gp_code_encode_weights(r->code, r->self, w, r->model.wt[l]);
        gp_rmat_free(&w);
        if (e != GP_OK) return gp_fail(why, e, "cannot encode layer %d", l);
        size_t enc = br > bc ? br : bc;
        if (enc > maxenc) maxenc = enc;
        for (int d = 0; d < 2; d++) {
            size_t o = gp_code_output_rows(r->code, (gp_dir)d, r->model.rows[l], r->model.cols[l]);
            if (o > maxout) maxout = o;
        }
        if (br * bc > maxw) maxw = br * bc;
        if (bc > maxenc) maxenc = bc;
        proj += br;
    }
    for (int l = 0; l <= r->L; l++) {
        size_t width = (size_t)job->sizes[l];
        if ((e = gp_rmat_alloc(&r->model.x[l], width + 1, B)) != GP_OK ||
            (e = gp_rmat_alloc(&r->model.s[l], width, B)) != GP_OK ||
            (e = gp_rmat_alloc(&r->model.dl[l], width, B)) != GP_OK)
            return gp_fail(why, e, "no memory for the activations");
    }
    size_t maxc = 1;
    for (int l = 0; l < r->L; l++)
        if (r->model.cols[l] > maxc) maxc = r->model.cols[l];
    if ((e = gp_rmat_alloc(&r->model.c, maxc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->model.enc, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->model.out, maxout, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->model.dt, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->model.xt, maxenc, B)) != GP_OK ||
        (e = gp_rmat_alloc(&r->model.proj, proj, 1)) != GP_OK || !(r->model.labels = malloc(B)))
        return gp_fail(why, GP_ENOMEM, "no memory for the work buffers");
    if (r->model.f32 && ((e = gp_fmat_alloc(&r->model.encf, maxenc, B)) != GP_OK ||
                         (e = gp_fmat_alloc(&r->model.outf, maxout, B)) != GP_OK))
        return gp_fail(why, GP_ENOMEM, "no memory for the work buffers");
    return GP_OK;
}

static void teardown(run *r)
{
    for (int l = 0; l <= GP_JOB_MAX_LAYERS; l++) {
        if (l < GP_JOB_MAX_LAYERS) {
            gp_rmat_free(&r->model.wt[l]);
            gp_rmat_free(&r->model.backup[l]);
            gp_rmat_free(&r->check.snap[l]);
            gp_fmat_free(&r->model.wf[l]);
        }
        gp_rmat_free(&r->model.x[l]);
        gp_rmat_free(&r->model.s[l]);
        gp_rmat_free(&r->model.dl[l]);
    }
    gp_rmat_free(&r->model.c);
    gp_rmat_free(&r->model.enc);
    gp_rmat_free(&r->model.out);
    gp_rmat_free(&r->model.dt);
    gp_rmat_free(&r->model.xt);
    gp_rmat_free(&r->model.proj);
    gp_fmat_free(&r->model.encf);
    gp_fmat_free(&r->model.outf);
    free(r->model.labels);
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
        f->updates = r->model.updates;
        for (int l = 0; l < r->L; l++) {
            f->wt[l] = r->model.wt[l];
            memset(&r->model.wt[l], 0, sizeof r->model.wt[l]);
            f->rows[l] = r->model.rows[l];
            f->cols[l] = r->model.cols[l];
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
            cp.single = in->single;
            if (gp_code_new(&cp, &f->code[l], NULL) != GP_OK) f->code[l] = NULL;
        }
        f->ready = true;
    }
    pthread_mutex_unlock(&t->mu);
    if (ok) {
        zmq_send(r->push, "adopt", 5, 0);
    }
}

void run_set_state(run *r, jstate s, const char *reason)
{
    pthread_mutex_lock(&r->t->mu);
    r->j->state = s;
    if (reason) snprintf(r->j->reason, sizeof r->j->reason, "%s", reason);
    pthread_mutex_unlock(&r->t->mu);
}

/* ---- the driver ------------------------------------------------------------------------- */

/* What the step loop keeps between steps; the run state (run) holds the rest. */
typedef struct drive {
    uint64_t spe, total;    /* steps per epoch, steps in all */
    uint32_t *order;        /* the training samples' order in epoch order_epoch */
    int order_epoch;        /* -1: to be drawn again (after a join or rollback) */
    gp_rmat x0;             /* the input of a batch, (features + 1) x B */
    gp_rmat xb;             /* this step's batch: the first b columns of x0 */
    size_t b;               /* this step's batch size (the last of an epoch may be short) */
    double loss_window[50]; /* mean loss of the last 50 committed steps, per sample */
    int nloss;              /* committed steps so far (the window holds the last 50) */
    uint64_t samples;       /* trained on since the steps began */
    int64_t t_start, t_run; /* when the job started on this node, when its steps did */
} drive;

/* How a run ends; GO_ON while it runs. */
typedef struct ending {
    enum { GO_ON, END_DONE, END_FAILED, END_CANCELLED, END_AS_OTHERS } how;
    bool keep_state; /* END_FAILED: the job file and checkpoints stay, to resume from */
    int others;      /* END_AS_OTHERS: how a quorum ended it (PK_DONE, PK_FAILED, ...) */
    char reason[512];
} ending;

static void fail_run(ending *e, bool keep_state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_run(ending *e, bool keep_state, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof e->reason, fmt, ap);
    va_end(ap);
    e->how = END_FAILED;
    e->keep_state = keep_state;
}

/* The one exit of a run: its end state, what it leaves behind, the log. */
static void finish(run *r, drive *dv, const ending *e)
{
    gp_trainer *t = r->t;
    tjob *j = r->j;
    free(dv->order);
    gp_rmat_free(&dv->x0);
    if (e->how == END_DONE) {
        pthread_mutex_lock(&t->mu);
        j->elapsed = (double)(gp_mono_ms() - dv->t_start) / 1000.0;
        pthread_mutex_unlock(&t->mu);
        publish(r);
        run_set_state(r, JS_DONE, NULL);
        drop_state(t);
        tlog(t, "job %016" PRIx64 " done", j->id);
    } else if (e->how == END_FAILED) {
        run_set_state(r, JS_FAILED, e->reason);
        if (!e->keep_state) drop_state(t);
        tlog(t, "job %016" PRIx64 " failed: %s", j->id, e->reason);
    } else if (e->how == END_AS_OTHERS) {
        end_as_others(r, e->others);
    } else { /* cancelled, or the daemon stops */
        pthread_mutex_lock(&t->mu);
        t->wide_window = false;
        bool stopping = t->stop && !j->cancel;
        pthread_mutex_unlock(&t->mu);
        run_set_state(r, stopping ? JS_FAILED : JS_CANCELLED,
                      stopping ? "the daemon stopped" : NULL);
        if (!stopping) publish(r);
        if (!stopping) drop_state(t); /* a stopped daemon resumes the job when it starts again */
        tlog(t, "job %016" PRIx64 " %s", j->id,
             stopping ? "failed: the daemon stopped" : "cancelled");
    }
    teardown(r);
    free(r);
}

/* Set-up and the start: resume from the checkpoints, join the peers where
 * they run the job, take part where they wait at its first step, or meet
 * them at the start barrier. Returns the first step. */
static uint64_t start_run(run *r, drive *dv, ending *e)
{
    gp_trainer *t = r->t;
    tjob *j = r->j;
    gp_msg why = {{0}};
    if (!j->resume) {
        drop_state(t); /* what an earlier job left */
        save_job(t, j);
    }
    if (setup(r, &why) != GP_OK) {
        fail_run(e, false, "%s", why.text);
        return 0;
    }
    const gp_job *job = r->job;
    char desc[160];
    gp_code_describe(r->code, desc, sizeof desc);
    dv->spe = gp_train_steps_per_epoch(job, r->train.count);
    dv->total = dv->spe * (uint64_t)job->epochs;
    pthread_mutex_lock(&t->mu);
    j->steps = dv->total;
    j->mean = r->st.mean;
    j->scale = r->st.scale;
    j->accuracy = -1;
    j->up = (1ull << r->P) - 1;
    t->wide_window = j->resume; /* the exchanges of resume_job() may come early */
    pthread_mutex_unlock(&t->mu);
    tlog(t, "job %016" PRIx64 " '%s': %zu training samples, %" PRIu64 " steps, code %s", j->id,
         job->name, r->train.count, j->steps, desc);
    uint64_t joined = 0;
    bool start_with_peers = false;
    if (j->join || j->resume) {
        /* just started: give the peers' heartbeats time to arrive, until a
         * majority of the cluster is up (or 10 heartbeats have passed) */
        int64_t until = gp_mono_ms() + 10 * t->cfg->heartbeat_ms;
        while (gp_mono_ms() < until && !run_cancelled(r) &&
               2 * __builtin_popcountll(atomic_load(&t->up) | 1ull << r->self) <= r->P) {
            struct timespec ts = {0, 20 * 1000000};
            nanosleep(&ts, NULL);
        }
        /* if the peers are running it already, join them where they are;
         * if they wait at its first step, this node's blocks are already
         * theirs (encoded from the job's seed): it takes part from there */
        uint64_t at, gen;
        bool waits = false;
        uint64_t serving = probe_peers(r, 1500, &at, &gen, NULL, &waits);
        if (serving && waits && at == 0 && gen == 0 && !j->resume) {
            tlog(t, "job %016" PRIx64 ": the peers wait at its first step: taking part from there",
                 j->id);
            start_with_peers = true;
        } else if (serving && !(joined = join_run(r)) && j->join) {
            fail_run(e, false, "could not rejoin the peers running the job");
            return 0;
        }
    }
    /* all nodes start together: wait for every live node to have its data */
    if (!joined && !start_with_peers) {
        int ended = 0, how = barrier(r, &ended);
        if (how == BAR_CANCEL) {
            e->how = END_CANCELLED;
            return 0;
        }
        if (how == BAR_ENDED) {
            e->how = END_AS_OTHERS;
            e->others = ended;
            return 0;
        }
        if (how == BAR_JOIN) {
            tlog(t, "job %016" PRIx64 ": the others started it without this node: joining them",
                 j->id);
            /* if that fails, its first step finds them ahead, and waits */
            joined = join_run(r);
            if (!joined && (ended = quorum_ended(r))) {
                e->how = END_AS_OTHERS;
                e->others = ended;
                return 0;
            }
        }
    }
    pthread_mutex_lock(&t->mu);
    j->state = JS_RUNNING;
    j->started_ms = gp_mono_ms();
    pthread_mutex_unlock(&t->mu);
    dv->order = malloc(r->train.count * sizeof *dv->order);
    if (!dv->order || gp_rmat_alloc(&dv->x0, r->model.cols[0], (size_t)job->batch) != GP_OK) {
        fail_run(e, false, "no memory for the batches");
        return 0;
    }
    dv->t_run = gp_mono_ms();
    uint64_t first = joined ? joined : j->resume ? resume_job(r) : 0;
    r->at.joined_now = joined != 0 || start_with_peers;
    pthread_mutex_lock(&t->mu);
    t->wide_window = joined != 0; /* a joiner takes its peers' exchanges early until caught up */
    pthread_mutex_unlock(&t->mu);
    if (run_cancelled(r)) {
        e->how = END_CANCELLED;
        return 0;
    }
    snap_take(r, first);
    pthread_mutex_lock(&t->mu);
    j->step = first;
    pthread_mutex_unlock(&t->mu);
    return first;
}

/* The step's batch, in its epoch's order; this node's position, and the
 * joins it serves there. */
static void begin_step(run *r, drive *dv, uint64_t step)
{
    gp_trainer *t = r->t;
    const gp_job *job = r->job;
    int ep = (int)(step / dv->spe);
    if (ep != dv->order_epoch) {
        gp_train_order(job, ep, r->train.count, dv->order);
        dv->order_epoch = ep;
        pthread_mutex_lock(&t->mu);
        r->j->epoch = ep + 1;
        pthread_mutex_unlock(&t->mu);
    }
    r->at.step = step;
    pthread_mutex_lock(&t->mu);
    r->j->at_step = step;
    pthread_mutex_unlock(&t->mu);
    serve_joins(r);
    if (!r->peers.join_started && t->wide_window) {
        pthread_mutex_lock(&t->mu);
        t->wide_window = false;
        pthread_mutex_unlock(&t->mu);
    }
    size_t first = (size_t)(step % dv->spe) * (size_t)job->batch, b = (size_t)job->batch;
    if (first + b > r->train.count) b = r->train.count - first;
    dv->b = b;
    dv->xb = gp_rmat_view(dv->x0.data, r->model.cols[0], b, b);
    gp_train_batch(&r->train, r->st, dv->order, first, b, dv->xb, r->model.labels);
}

/* Attempts at the step until a quorum commits it or refuses it max_redo + 1
 * times, or the node must wait for its peers, join them or roll back.
 * Returns what a wait came to: W_RETRY when nothing else happened, W_JOINED
 * (r->at.step is where), W_ENDED (*ended: how the others ended the job); e is
 * set when the run ends here. */
static int attempts(run *r, drive *dv, double lr, bool *committed, double *loss, int *ended,
                    ending *e)
{
    gp_trainer *t = r->t;
    tjob *j = r->j;
    bool waited = r->at.joined_now, just_waited = false;
    r->at.joined_now = false;
    int refused = 0, outcome = W_RETRY;
    *committed = false;
    r->at.attempt = 0;
    for (;;) {
        if (r->at.attempt >= MAX_ATTEMPTS) {
            fail_run(e, true,
                     "step %" PRIu64 ": %d attempts without a quorum committing it; the last: %s",
                     r->at.step, MAX_ATTEMPTS,
                     r->at.last_error[0] ? r->at.last_error : "no quorum");
            return outcome;
        }
        pthread_mutex_lock(&t->mu);
        t->follow = waited; /* after a wait: go with the others' latest attempt */
        t->cur_gen = r->check.gen;
        t->cur_step = r->at.step;
        t->cur_attempt = (unsigned)r->at.attempt;
        t->newer = 0;
        pthread_mutex_unlock(&t->mu);
        /* the others may have started a later attempt already */
        unsigned hi = waited ? latest_attempt(r) : 0;
        pthread_mutex_lock(&t->mu);
        if (hi > t->cur_attempt) t->newer = hi;
        /* too few heard to commit anything: wait before trying (not right
         * after a wait, whose probe heard enough) */
        bool few = !just_waited &&
                   __builtin_popcountll(atomic_load(&t->up) | 1ull << r->self) < r->peers.quorum;
        pthread_mutex_unlock(&t->mu);
        just_waited = false;
        if (few) {
            r->at.no_quorum = true;
            r->at.short_handed = false;
        } else {
            *committed = attempt_step(r, dv->xb, r->model.labels, dv->b, lr, loss);
            if (run_cancelled(r)) {
                e->how = END_CANCELLED;
                return outcome;
            }
            if (*committed || r->check.broken || t->behind) break;
            if (r->at.superseded) { /* not refused: the others tried again first */
                pthread_mutex_lock(&t->mu);
                r->at.attempt = (int)t->newer;
                pthread_mutex_unlock(&t->mu);
                continue;
            }
        }
        if (r->at.no_quorum || r->at.short_handed) {
            /* not refused by a quorum: nothing could be committed; the step
             * waits until enough nodes answer, untouched */
            waited = just_waited = true;
            outcome = await_peers(r, ended);
            if (outcome == W_CANCEL) {
                e->how = END_CANCELLED;
                return outcome;
            }
            if (outcome != W_RETRY) break;
            unsigned latest = latest_attempt(r);
            int next = r->at.attempt + (few ? 0 : 1);
            r->at.attempt = (int)latest > next ? (int)latest : next;
            r->peers.excluded = 0; /* wait for every node heard again */
            continue;
        }
        run_count(r, &j->n.steps_redone, 1);
        tlog(t, "job %016" PRIx64 ": step %" PRIu64 " redone (attempt %d)", j->id, r->at.step,
             r->at.attempt + 1);
        if (++refused > r->job->max_redo) break;
        r->at.attempt++;
    }
    pthread_mutex_lock(&t->mu);
    t->follow = false;
    pthread_mutex_unlock(&t->mu);
    end_wait(r); /* committed, skipped, broken or moved on (a wait below sets it again) */
    return outcome;
}

/* The others went on without this node (it was stopped, or cut off): join
 * them where they are, else wait until it can. Returns W_JOINED, W_RETRY
 * (this step again), W_ENDED or W_CANCEL. */
static int catch_up(run *r, int *ended)
{
    tlog(r->t, "job %016" PRIx64 ": the others are ahead at step %" PRIu64 ": looking for them",
         r->j->id, r->at.step);
    uint64_t back = join_run(r);
    if (back) {
        r->at.step = back;
        return W_JOINED;
    }
    r->at.no_quorum = true;
    r->at.short_handed = false;
    return await_peers(r, ended);
}

/* After a join: the step loop goes on where this node joined. */
static uint64_t moved_to(run *r, drive *dv)
{
    r->at.joined_now = true;
    dv->order_epoch = -1;
    snap_take(r, r->at.step);
    return r->at.step;
}

/* More stored blocks left the code than it can locate: every node goes back
 * to its blocks of the last consistent snapshot (a node that joined since
 * has none: it joins the others again where they go). Returns the step to
 * go on at; e is set when the run ends here. */
static uint64_t after_break(run *r, drive *dv, uint64_t step, ending *e)
{
    gp_trainer *t = r->t;
    pthread_mutex_lock(&t->mu);
    bool give_up = r->j->n.rollbacks >= MAX_ROLLBACKS;
    pthread_mutex_unlock(&t->mu);
    if (give_up) {
        fail_run(e, false, "the stored code broke beyond repair too often");
        return step;
    }
    if (r->check.snap_valid) {
        roll_back(r, r->check.gen + 1);
        return r->at.step;
    }
    tlog(t,
         "job %016" PRIx64 ": step %" PRIu64 ": the others roll back to a snapshot "
         "this node does not hold: joining again",
         r->j->id, r->at.step);
    uint64_t back = join_run(r);
    if (!back) {
        r->at.no_quorum = true;
        r->at.short_handed = false;
        int ended = 0, w = await_peers(r, &ended);
        if (w == W_CANCEL) e->how = END_CANCELLED;
        if (w == W_ENDED) {
            e->how = END_AS_OTHERS;
            e->others = ended;
        }
        if (w == W_CANCEL || w == W_ENDED) return step;
        back = w == W_JOINED ? r->at.step : 0;
    }
    if (!back) return step; /* this step again, with the blocks it has */
    dv->order_epoch = -1;
    snap_take(r, back);
    return back;
}

/* A step skipped (refused by a quorum max_redo + 1 times): the job fails
 * after MAX_SKIPPED_RUN in a row, unless a peer on its way back (it asked
 * for the blocks at a later step) brings the missing redundancy. */
static void count_skipped(run *r, ending *e)
{
    run_count(r, &r->j->n.steps_skipped, 1);
    tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 " skipped after %d attempts", r->j->id,
         r->at.step, r->job->max_redo + 1);
    if (!join_pending(r) && ++r->at.skipped_run >= MAX_SKIPPED_RUN) {
        if (r->at.overflow) { /* not the nodes: the model (step.c, product) */
            pthread_mutex_lock(&r->t->mu);
            double loss = r->j->loss;
            pthread_mutex_unlock(&r->t->mu);
            fail_run(e, false,
                     "the training diverged: %d steps in a row could not be decoded because %s "
                     "(the mean loss per sample had reached %.3g); a smaller training.lr than "
                     "%g keeps it in range",
                     MAX_SKIPPED_RUN, r->at.last_error, loss, r->job->lr);
        } else {
            fail_run(e, false, "%d steps in a row could not be decoded; the last: %s",
                     MAX_SKIPPED_RUN,
                     r->at.last_error[0] ? r->at.last_error : "the nodes did not agree");
        }
    }
}

/* After a step, committed or skipped: checkpoints, progress, and at the end
 * of an epoch the evaluation. Returns the next step. */
static uint64_t step_done(run *r, drive *dv, uint64_t step, bool committed, double loss, ending *e)
{
    gp_trainer *t = r->t;
    tjob *j = r->j;
    const gp_job *job = r->job;
    if (committed) {
        r->at.skipped_run = 0;
        dv->loss_window[dv->nloss++ % 50] = loss / (double)dv->b;
    }
    step++;
    /* snapshots at the same steps on every node (multiples of
     * checkpoint_every), so that a rollback takes all to the same step */
    if (committed && r->check.clean && step % (uint64_t)job->checkpoint_every == 0) {
        snap_take(r, step);
        save_checkpoint(r);
    }
    dv->samples += dv->b;
    int nl = dv->nloss < 50 ? dv->nloss : 50;
    double mean_loss = 0;
    for (int i = 0; i < nl; i++) mean_loss += dv->loss_window[i];
    pthread_mutex_lock(&t->mu);
    if (step > j->step) j->step = step;
    if (nl) j->loss = mean_loss / nl;
    double el = (double)(gp_mono_ms() - dv->t_run) / 1000.0;
    j->elapsed = (double)(gp_mono_ms() - j->started_ms) / 1000.0;
    j->rate = el > 0 ? (double)dv->samples / el : 0;
    pthread_mutex_unlock(&t->mu);
    if (step % dv->spe == 0) { /* the end of an epoch */
        double test_loss;
        double acc = evaluate(r, &test_loss);
        if (run_cancelled(r)) {
            e->how = END_CANCELLED;
            return step;
        }
        pthread_mutex_lock(&t->mu);
        j->accuracy = acc;
        pthread_mutex_unlock(&t->mu);
        tlog(t, "job %016" PRIx64 ": epoch %d: loss %.4f, test accuracy %.4f", j->id,
             (int)((step - 1) / dv->spe) + 1, j->loss, acc);
    }
    return step;
}

/* One job on this node, from set-up to its end: the algorithm's loop. A
 * step is tried until a quorum commits it (attempts); a node left behind
 * catches up; a join moves it; a broken stored code rolls back; a step the
 * quorum keeps refusing is skipped; then the next. */
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
    r->peers.quorum = t->P / 2 + 1; /* a majority of the cluster, up or not */
    drive dv = {.order_epoch = -1, .t_start = gp_mono_ms()};
    ending e = {.how = GO_ON};
    uint64_t step = start_run(r, &dv, &e);
    while (e.how == GO_ON && step < dv.total) {
        begin_step(r, &dv, step);
        double loss = 0;
        bool committed;
        int ended = 0;
        int outcome = attempts(r, &dv, gp_train_lr(r->job, r->at.step, dv.spe), &committed, &loss,
                               &ended, &e);
        if (e.how != GO_ON) break;
        if (!committed && !r->check.broken && t->behind && outcome == W_RETRY) {
            outcome = catch_up(r, &ended);
            if (outcome == W_CANCEL) e.how = END_CANCELLED;
            if (outcome == W_CANCEL || outcome == W_RETRY) continue; /* this step again */
        }
        if (outcome == W_ENDED) {
            e.how = END_AS_OTHERS;
            e.others = ended;
        } else if (outcome == W_JOINED) {
            step = moved_to(r, &dv);
        } else if (r->check.broken) {
            step = after_break(r, &dv, step, &e);
        } else {
            if (!committed) count_skipped(r, &e);
            if (e.how == GO_ON) step = step_done(r, &dv, step, committed, loss, &e);
        }
    }
    if (e.how == GO_ON) e.how = END_DONE;
    finish(r, &dv, &e);
}

void *trainer_main(void *arg)
{
    gp_trainer *t = arg;
    pthread_setname_np(pthread_self(), "gp-trainer"); /* as top and perf show it */
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
            int64_t now = gp_mono_ms();
            if (now >= t->next_probe && atomic_load(&t->up) & ~(1ull << t->self)) {
                ex_send_join(t, t->latest, 0, 0, false);
                t->next_probe = now + 2000;
            }
            gp_cond_wait_ms(&t->cv, &t->mu, 500);
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
