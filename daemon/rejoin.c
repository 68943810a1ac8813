/* rejoin.c - waiting for a quorum or for redundancy, probing the peers,
 * joining them where they are, and serving their joins. */
#define _GNU_SOURCE
#include "trainer_impl.h"

/* What the peers run: JOINs about this job, answers awaited up to wait_ms.
 * *step and *gen: the furthest position of a peer running it (training or
 * waiting: the latest generation, then the latest step), *waits whether
 * that peer is waiting (it serves joins at its own step). Returns the peers
 * that would serve a join there. */
uint64_t probe_peers(run *r, int64_t wait_ms, uint64_t *step, uint64_t *gen, double *rate,
                     bool *waits)
{
    gp_trainer *t = r->t;
    pthread_mutex_lock(&t->mu);
    for (int p = 0; p < r->P; p++) t->info[p].seen = false;
    pthread_mutex_unlock(&t->mu);
    ex_send_join(t, r->j->id, 0, 0, true);
    int64_t end = gp_mono_ms() + wait_ms, resend = gp_mono_ms() + 300;
    uint64_t running = 0;
    bool furthest_waits = false;
    pthread_mutex_lock(&t->mu);
    for (;;) {
        /* every other node of the cluster: a node that was stopped may not
         * have heard the others' heartbeats again yet */
        uint64_t others = others_mask(r->P, r->self), seen = 0;
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
        if ((seen & others) == others || gp_mono_ms() >= end) break;
        if (gp_mono_ms() >= resend) { /* the links may be coming back (a stopped node) */
            pthread_mutex_unlock(&t->mu);
            ex_send_join(t, r->j->id, 0, 0, true);
            pthread_mutex_lock(&t->mu);
            resend = gp_mono_ms() + 300;
        }
        gp_cond_wait_ms(&t->cv, &t->mu, 50);
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

uint64_t join_run(run *r)
{
    gp_trainer *t = r->t;
    if (!r->peers.join_started) r->peers.join_started = gp_mono_ms();
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
    for (int attempt = 0; attempt < 6 && !run_cancelled(r); attempt++) {
        uint64_t at, gen;
        double rate = 0;
        bool waits = false;
        uint64_t running = probe_peers(r, 3000, &at, &gen, &rate, &waits);
        if (!running && quorum_ended(r)) return 0; /* nothing to join: the caller ends it */
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
        r->check.gen = (unsigned)gen;
        pthread_mutex_lock(&t->mu);
        r->j->gen = r->check.gen;
        pthread_mutex_unlock(&t->mu);
        r->at.step = target - 1;
        r->peers.excluded = 0; /* wait for the peers again */
        /* the floor set, not only raised: a node that fell out at the step
         * the others wait at has its floor past the join's keys (step
         * target - 1), and would drop the blocks they send it; and nothing
         * kept from before (its own partials of that step among them, which
         * its rebuilt blocks would not give) */
        pthread_mutex_lock(&t->mu);
        mail_clear(t);
        t->floor = KEY(target - 1, 0, 0);
        pthread_mutex_unlock(&t->mu);
        ex_send_join(t, r->j->id, target, gen, true);
        tlog(t,
             "job %016" PRIx64 ": rejoining: %d peers run it at step %" PRIu64
             "; asked for their blocks at step %" PRIu64,
             r->j->id, __builtin_popcountll(running), at, target);
        /* the updates applied so far, then the blocks, layer by layer */
        uint64_t key = KEY(target - 1, JOIN_ATTEMPT, 0);
        /* the time the peers need to get there, twice over, and some */
        int64_t timeout = 5000 + (rate > 0 ? (int64_t)(2000.0 * (double)lead / rate) : 60000);
        if (timeout > 120000) timeout = 120000;
        int64_t t_asked = gp_mono_ms();
        slot *s = ex_collect(r, key, running, timeout);
        if (!s) return 0;
        int64_t t_there = gp_mono_ms();
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
        ex_advance(r, key + 1);
        if (!best) {
            tlog(t,
                 "job %016" PRIx64 ": no peer sent its blocks for step %" PRIu64 "; trying again",
                 r->j->id, target);
            continue;
        }
        r->model.updates = updates;
        bool ok = true;
        for (int l = 0; l < r->L && ok; l++) {
            key = KEY(target - 1, JOIN_ATTEMPT, PH_REGEN + l);
            s = ex_collect(r, key, senders, r->t->cfg->peer_timeout_ms);
            if (!s) return 0;
            gp_node_output outs[GP_CONFIG_MAX_NODES];
            int n = ex_outputs(r, s, r->model.wt[l].rows, r->model.wt[l].cols, outs);
            gp_decode_report rep;
            gp_msg why = {{0}};
            uint64_t t0 = gp_mono_us();
            gp_err e = gp_code_regenerate(r->code, r->self, r->model.rows[l], r->model.cols[l],
                                          outs, n, r->model.updates, r->model.wt[l], &rep, &why);
            run_count(r, &r->j->n.us_coding, gp_mono_us() - t0);
            if (e == GP_OK) { /* exactly K_w blocks could not be checked: refused */
                run_count(r, &r->j->n.blocks_regenerated, 1);
            } else {
                tlog(t, "job %016" PRIx64 ": cannot rebuild layer %d to rejoin: %s", r->j->id, l,
                     why.text);
                ok = false;
            }
            ex_advance(r, key + 1);
        }
        if (!ok) continue;
        ex_advance(r, KEY(target, 0, 0));
        /* waited for from here on: the peers that sent their blocks, which
         * run the job at this step; the others (down, or joining themselves
         * at another step) until they answer, as any node found missing
         * (waiting a peer timeout for a fellow joiner let the others run
         * hundreds of steps past this node's mailbox) */
        r->peers.excluded = others_mask(r->P, r->self) & ~senders;
        r->peers.join_step = target;
        tlog(t,
             "job %016" PRIx64 ": rejoined at step %" PRIu64 ": blocks rebuilt from %d peers "
             "(%.2f s since it started to rejoin: %.2f s waiting for the peers to reach the step, "
             "%.2f s receiving and rebuilding); catching up",
             r->j->id, target, __builtin_popcountll(senders),
             (double)(gp_mono_ms() - r->peers.join_started) / 1000.0,
             (double)(t_there - t_asked) / 1000.0, (double)(gp_mono_ms() - t_there) / 1000.0);
        return target;
    }
    return 0;
}

/* The peers that asked for this node's blocks at this step (JOIN with a
 * step): each gets the count of updates, then the blocks. */
void serve_joins(run *r)
{
    gp_trainer *t = r->t;
    uint64_t who = 0;
    pthread_mutex_lock(&t->mu);
    for (int p = 0; p < r->P; p++) {
        if (!t->want_join[p].on) continue;
        if (t->want_join[p].job != r->j->id || t->want_join[p].step < r->at.step ||
            t->want_join[p].gen != r->check.gen)
            t->want_join[p].on = false; /* passed: it asks again */
        else if (t->want_join[p].step == r->at.step) {
            who |= 1ull << p;
            t->want_join[p].on = false;
        }
    }
    pthread_mutex_unlock(&t->mu);
    if (!who || r->at.step == 0) return;
    gp_rmat u;
    if (gp_rmat_alloc(&u, 1, 1) != GP_OK) return;
    u.data[0] = (double)r->model.updates;
    ex_send(r, who, KEY(r->at.step - 1, JOIN_ATTEMPT, 0), u, true);
    gp_rmat_free(&u);
    for (int l = 0; l < r->L; l++)
        ex_send(r, who, KEY(r->at.step - 1, JOIN_ATTEMPT, PH_REGEN + l), r->model.wt[l], true);
    for (int p = 0; p < r->P; p++)
        if (who >> p & 1)
            tlog(t, "job %016" PRIx64 ": sent node %d its way back in: the blocks at step %" PRIu64,
                 r->j->id, p, r->at.step);
}

/* Whether a peer asked for this node's blocks at a step still to come. */
bool join_pending(run *r)
{
    bool on = false;
    pthread_mutex_lock(&r->t->mu);
    for (int p = 0; p < r->P; p++)
        if (r->t->want_join[p].on && r->t->want_join[p].job == r->j->id &&
            r->t->want_join[p].step > r->at.step && r->t->want_join[p].gen == r->check.gen)
            on = true;
    pthread_mutex_unlock(&r->t->mu);
    return on;
}

/* The highest attempt of the current step (and generation) that a peer has
 * sent partials for: where the others are, after a wait. */
unsigned latest_attempt(run *r)
{
    unsigned hi = 0;
    pthread_mutex_lock(&r->t->mu);
    for (int i = 0; i < TR_SLOTS; i++) {
        const slot *s = &r->t->slots[i];
        if (s->used && (s->have & ~(1ull << r->self)) && KEY_GEN(s->key) == r->check.gen &&
            KEY_STEP(s->key) == r->at.step && KEY_ATTEMPT(s->key) < JOIN_ATTEMPT &&
            KEY_ATTEMPT(s->key) > hi)
            hi = KEY_ATTEMPT(s->key);
    }
    pthread_mutex_unlock(&r->t->mu);
    return hi;
}

/* The job no longer waits (its step was committed, or it moved on). */
void end_wait(run *r)
{
    pthread_mutex_lock(&r->t->mu);
    if (r->j->waiting) r->j->reason[0] = 0;
    r->j->waiting = false;
    pthread_mutex_unlock(&r->t->mu);
}

int quorum_ended(run *r)
{
    int n[3] = {0}, how = 0;
    pthread_mutex_lock(&r->t->mu);
    for (int p = 0; p < r->P; p++) {
        int k = r->t->info[p].kind;
        if (p != r->self && r->t->info[p].seen && r->t->info[p].job == r->j->id && k >= PK_DONE)
            n[k - PK_DONE]++;
    }
    pthread_mutex_unlock(&r->t->mu);
    for (int e = 0; e < 3 && !how; e++)
        if (n[e] >= r->peers.quorum) how = PK_DONE + e;
    return how;
}

/* Pauses the job at this step, committing nothing, after an attempt that
 * heard fewer than a quorum of the cluster (no_quorum) or whose decodes had
 * too few spare outputs to be checked (short_handed). It waits until a
 * quorum of the cluster answers and, for the latter, enough nodes take part
 * to check every decode; or until the others are found further on, with
 * enough of them to rebuild this node's blocks, checked (it joins them
 * there). Meanwhile it serves joins at this step: a node that was cut off
 * may need this node's blocks. Returns W_RETRY (try the step again), W_JOINED
 * (r->at.step is where it joined), W_CANCEL, or W_ENDED (a quorum of the
 * cluster ended the job without this node: *ended is PK_DONE, PK_FAILED or
 * PK_CANCELLED). */
int await_peers(run *r, int *ended)
{
    gp_trainer *t = r->t;
    int need = r->peers.quorum, kw = r->info->k_storage;
    bool redundancy = r->at.short_handed && !r->at.no_quorum;
    if (redundancy && r->at.short_k + r->job->spare > need) need = r->at.short_k + r->job->spare;
    if (need > r->P) need = r->P;
    int64_t since = gp_mono_ms();
    tlog(t, "job %016" PRIx64 ": step %" PRIu64 ": %s; waiting (committing nothing)", r->j->id,
         r->at.step,
         redundancy ? "too few outputs to check a decode"
                    : "fewer than a quorum of the cluster "
                      "answered");
    int result = W_RETRY, last_heard = -1, last_in = -1;
    for (;;) {
        if (run_cancelled(r)) {
            result = W_CANCEL;
            break;
        }
        serve_joins(r);
        uint64_t at = 0, gen = 0;
        bool waits = false;
        uint64_t in_job = probe_peers(r, 600, &at, &gen, NULL, &waits);
        /* the peers that would serve a join at the furthest position */
        int heard = 1, taking_part = 1, at_front = __builtin_popcountll(in_job);
        pthread_mutex_lock(&t->mu);
        for (int p = 0; p < r->P; p++) {
            if (p == r->self || !t->info[p].seen) continue;
            heard++;
            if (t->info[p].job != r->j->id) continue;
            int k = t->info[p].kind;
            /* a node still joining sends nothing yet: it takes part once it has joined */
            if (k == PK_RUNNING || k == PK_WAITING) taking_part++;
        }
        pthread_mutex_unlock(&t->mu);
        char text[300];
        if (heard < r->peers.quorum)
            snprintf(text, sizeof text,
                     "waiting for a quorum at step %" PRIu64 ": %d of %d nodes answer, a step "
                     "needs %d",
                     r->at.step, heard, r->P, r->peers.quorum);
        else
            snprintf(text, sizeof text,
                     "waiting for redundancy at step %" PRIu64 ": %d of %d nodes take part, "
                     "checked decodes need %d",
                     r->at.step, taking_part, r->P, need);
        pthread_mutex_lock(&t->mu);
        r->j->waiting = true;
        snprintf(r->j->reason, sizeof r->j->reason, "%s", text);
        pthread_mutex_unlock(&t->mu);
        if (heard != last_heard || taking_part != last_in) {
            tlog(t, "job %016" PRIx64 ": %s", r->j->id, text);
            last_heard = heard;
            last_in = taking_part;
        }
        if ((*ended = quorum_ended(r))) {
            result = W_ENDED;
            break;
        }
        /* further on: a later generation, or a later step of this one; or a
         * quorum of the cluster committing steps in an earlier generation
         * (this node rolled back alone) */
        bool ahead = in_job && (gen > r->check.gen || (gen == r->check.gen && at > r->at.step) ||
                                (gen < r->check.gen && !waits && at_front >= r->peers.quorum));
        if (ahead && gen > r->check.gen && at == r->check.snap_step && r->check.snap_valid) {
            /* the others rolled back to the snapshot this node holds as well
             * (it judged the stored code repairable from the projections it
             * had, they did not): it goes back with them, to the same blocks */
            roll_back(r, gen);
            result = W_JOINED;
            break;
        }
        if (ahead && at_front > kw && heard >= r->peers.quorum) {
            /* the others are further on: join them there */
            uint64_t back = join_run(r);
            if (back) {
                r->at.step = back;
                result = W_JOINED;
                break;
            }
            continue;
        }
        if (t->behind) { /* peers' partials from steps ahead */
            uint64_t back = join_run(r);
            if (back) {
                r->at.step = back;
                result = W_JOINED;
                break;
            }
        }
        if (heard >= r->peers.quorum && taking_part >= need) break;
        struct timespec ts = {0, 300 * 1000000};
        nanosleep(&ts, NULL);
    }
    /* a node that tries the step again still says it waits (a joiner then
     * asks for its blocks at this step) until the step is committed */
    if (result != W_RETRY) end_wait(r);
    if (result != W_CANCEL)
        tlog(t, "job %016" PRIx64 ": step %" PRIu64 ": waited %.1f s; %s", r->j->id, r->at.step,
             (double)(gp_mono_ms() - since) / 1000.0,
             result == W_RETRY    ? "enough nodes answer again: trying the step again"
             : result == W_JOINED ? "joined the others further on"
                                  : "a quorum of the cluster ended the job without this node");
    return result;
}

/* The job ended on a quorum of the cluster while this node could not take
 * part: it ends too, without publishing its blocks (they are not the final
 * ones). */
void end_as_others(run *r, int how)
{
    if (how == PK_CANCELLED)
        run_set_state(r, JS_CANCELLED, "cancelled while this node was cut off");
    else
        run_set_state(r, JS_FAILED,
                      how == PK_DONE
                          ? "the job ended on a quorum of the cluster while this node could "
                            "not take part; this node holds no final blocks"
                          : "the job failed on a quorum of the cluster");
    drop_state(r->t);
    tlog(r->t, "job %016" PRIx64 ": ended %s on a quorum of the cluster while this node waited",
         r->j->id,
         how == PK_DONE        ? "done"
         : how == PK_CANCELLED ? "cancelled"
                               : "failed");
}
