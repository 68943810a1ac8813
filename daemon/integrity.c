/* integrity.c - the stored code: projections, the check, regeneration of
 * blocks off the code, snapshots and rollback. */
#define _GNU_SOURCE
#include "trainer_impl.h"

typedef double v8d __attribute__((vector_size(64)));

/* The sum of row[j] v[j] over j < n, v[j] = +-1 (each term exact), summed
 * with compensation: eight lanes, each a running sum and the sum of its
 * rounding errors (TwoSum), then the lanes and their errors folded in. The
 * result is within one rounding of the exact sum plus about n u^2 sum |row|
 * (Ogita, Rump and Oishi's Sum2): tighter than a sum in long double (whose
 * error grows as n 2^-64 sum |row|). The lanes are one vector, kept in
 * registers, built for the widest instructions the CPU has; every build
 * adds in the same order, so all give the same sum. */
__attribute__((target_clones("avx512f", "avx2", "default"))) double
signed_sum(const double *row, const double *v, size_t n)
{
    v8d s = {0}, c = {0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        v8d a, b;
        memcpy(&a, row + j, sizeof a);
        memcpy(&b, v + j, sizeof b);
        v8d x = a * b, t = s + x, z = t - s;
        c += (s - (t - z)) + (x - z);
        s = t;
    }
    double sum = 0, err = 0;
    for (int k = 0; k < 8 + (int)(n - j); k++) {
        double x = k < 8 ? s[k] : row[j + (size_t)(k - 8)] * v[j + (size_t)(k - 8)];
        double t = sum + x, z = t - sum;
        err += (sum - (t - z)) + (x - z) + (k < 8 ? c[k] : 0.0);
        sum = t;
    }
    return sum + err;
}

/* Projection of layer l's block w on a random vector (the same on every node
 * for this step, attempt and layer), each row's within about one rounding of
 * the exact projection (signed_sum). */
static void project_layer(run *r, int l, gp_rmat w, double *out)
{
    gp_rng g;
    gp_rng_seed(&g, gp_mix64(r->j->id ^ r->job->init_seed) ^
                        gp_mix64(KEY(r->at.step, r->at.attempt, l)));
    double *v = r->model.enc.data; /* scratch: enc is at least as long as a block's columns */
    for (size_t j = 0; j < w.cols; j++) v[j] = gp_rng_uniform(&g) < 0.5 ? -1.0 : 1.0;
    for (size_t i = 0; i < w.rows; i++) out[i] = signed_sum(w.data + i * w.ld, v, w.cols);
}

/* The projections of every stored block, layer after layer. */
static void project(run *r, gp_rmat out)
{
    size_t off = 0;
    for (int l = 0; l < r->L; l++) {
        project_layer(r, l, r->model.wt[l], out.data + off);
        off += r->model.wt[l].rows;
    }
}

/* A block of layer l rebuilt from exactly K_w others, checked against the
 * projections of the check (regenerate): GP_OK when its projection lies on
 * the code with the healthy nodes' (with at least one to spare), GP_EDETECTED
 * when it does not, GP_EUNVERIFIED when too few projections are at hand. */
static gp_err check_rebuilt(run *r, int l, gp_rmat block, const gp_node_output *proj, int npj,
                            gp_msg *why)
{
    double *mine = malloc(block.rows * sizeof *mine);
    if (!mine) return gp_fail(why, GP_ENOMEM, "no memory to check the rebuilt block");
    project_layer(r, l, block, mine);
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = 0;
    for (int i = 0; i < npj; i++)
        if (proj[i].node != r->self) outs[n++] = proj[i];
    outs[n++] = (gp_node_output){r->self, mine};
    gp_decode_report rep;
    gp_err e = gp_code_check_weights(r->code, r->model.rows[l], (size_t)r->info->n, outs, n,
                                     r->model.updates, &rep, why);
    free(mine);
    if (e == GP_OK && rep.spare >= 1 && !rep.wrong) return GP_OK;
    if (e == GP_OK && rep.spare >= 1)
        return gp_fail(why, GP_EDETECTED,
                       "the block rebuilt from %d peers is off the code by the projections of %d "
                       "(off: %#" PRIx64 "): not taken",
                       r->info->k_storage, n, rep.wrong);
    if (e == GP_OK || e == GP_EUNVERIFIED || e == GP_ENODES)
        return gp_fail(why, GP_EUNVERIFIED,
                       "the block rebuilt from %d peers cannot be checked: %d projections",
                       r->info->k_storage, n);
    return e;
}

/* Regenerates the blocks the check found wrong: for each, the healthy nodes
 * the code rebuilds it from (gp_code_regen_sources: for the polynomial codes
 * the K_w nearest, the least it can be rebuilt from; for mds its row and
 * column) send theirs, and it rebuilds its own. A rebuild from exactly K_w
 * blocks is checked here rather than by a K_w + 1st block: the rebuilt
 * block's projection, in place of this node's among the healthy nodes'
 * projections of the check (proj: npj of them, layer l's rows each), must lie
 * on the code, or the block is not taken. A source's block changed after it
 * was projected (in its memory, or on the wire) is caught so; what the
 * check's projections could not see in the sources, they could not see in
 * the block either. */
static void regenerate(run *r, int l, uint64_t wrong, uint64_t healthy, int phase,
                       const gp_node_output *proj, int npj)
{
    uint64_t senders = 0, to = 0;
    for (int p = 0; p < r->P; p++) {
        if (!(wrong >> p & 1)) continue;
        uint64_t from = gp_code_regen_sources(r->code, p, healthy, 0);
        if (p == r->self) senders = from;
        if (from >> r->self & 1) to |= 1ull << p;
    }
    uint64_t key = KEY(r->at.step, r->at.attempt, phase + l);
    if (to) ex_send(r, to, key, r->model.wt[l], true);
    if (!(wrong >> r->self & 1)) return;
    /* Catching up after a join, this node replays steps the others took
     * without it: they never saw its projections, and send it nothing. It
     * takes what is there, waits for nothing, and goes on with the block as
     * it is (its outputs are corrected like any wrong node's); the others
     * rebuild it once it has caught up and their check sees it. */
    bool replay = r->peers.join_started != 0;
    uint64_t excluded = r->peers.excluded;
    slot *s = ex_collect(r, key, senders, replay ? 0 : r->t->cfg->peer_timeout_ms);
    if (replay) r->peers.excluded = excluded;
    if (!s) return;
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = ex_outputs(r, s, r->model.wt[l].rows, r->model.wt[l].cols, outs);
    if (replay && n < r->info->k_storage) {
        tlog(r->t,
             "job %016" PRIx64 ": step %" PRIu64 ": block of layer %d off the code while "
             "catching up: kept until the others see it",
             r->j->id, r->at.step, l);
        ex_advance(r, key + 1);
        return;
    }
    gp_decode_report rep;
    gp_msg why = {{0}};
    uint64_t t0 = gp_mono_us();
    /* rebuilt beside the block (the buffer its update goes to, free until
     * the next update), and swapped in once checked */
    gp_rmat next = r->model.backup[l];
    gp_err e = gp_code_regenerate(r->code, r->self, r->model.rows[l], r->model.cols[l], outs, n,
                                  r->model.updates, next, &rep, &why);
    if (e == GP_EUNVERIFIED) e = check_rebuilt(r, l, next, proj, npj, &why);
    run_count(r, &r->j->n.us_coding, gp_mono_us() - t0);
    if (e == GP_OK) {
        swap_block(r, l);
        run_count(r, &r->j->n.blocks_regenerated, 1);
        tlog(r->t,
             "job %016" PRIx64 ": step %" PRIu64 ": block of layer %d regenerated from %d peers",
             r->j->id, r->at.step, l, n);
    } else {
        tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": cannot regenerate layer %d: %s", r->j->id,
             r->at.step, l, why.text);
    }
    ex_advance(r, key + 1);
}

static bool repair(run *r, const slot *s, size_t len, uint64_t key, int phase);

/* The check exchange: projections and votes. Returns whether the step is
 * committed: a quorum of the cluster (more than half of its nodes, whether
 * they answered or not) voted that every decode of theirs in this attempt
 * succeeded and was checked. Two sides of a split network cannot both hold
 * a quorum, so at most one commits steps; a node that hears fewer than a
 * quorum sets no_quorum and waits (run_job). Repairs wrong blocks. */
bool integrity_check(run *r)
{
    size_t len = 0;
    for (int l = 0; l < r->L; l++) len += r->model.wt[l].rows;
    /* The projections go with every vote (their cost is one pass over the
     * blocks); this node checks the stored code every check_every steps, and
     * at every step while it holds some node for a suspect. Nodes may differ
     * on that (each judges from its own decodes): a node that checks uses
     * the projections of every node. */
    bool coded = r->info->scheme != GP_SCHEME_UNCODED;
    bool full = coded && (r->at.step % (uint64_t)r->job->check_every == 0 || r->check.suspects);
    r->check.broken = false;
    r->check.clean = false;
    gp_rmat proj = view(r->model.proj, coded ? len : 1, 1);
    if (coded)
        project(r, proj);
    else
        proj.data[0] = 0;
    uint64_t key = KEY(r->at.step, r->at.attempt, PH_CHECK), all = (1ull << r->P) - 1;
    ex_send(r, all, key, proj, r->at.own_ok);
    slot *s = ex_collect(r, key, all, r->t->cfg->peer_timeout_ms);
    if (!s) return false;
    int votes = __builtin_popcountll(s->have), yes = __builtin_popcountll(s->ok & s->have);
    bool commit = yes >= r->peers.quorum;
    r->at.no_quorum = votes < r->peers.quorum;
    run_count(r, &r->j->n.checks, 1);
    if (yes && yes < votes) run_count(r, &r->j->n.split_votes, 1);
    if (!commit || !full) {
        ex_advance(r, key + 1);
        return commit;
    }
    return repair(r, s, len, key, PH_REGEN);
}

/* Which stored blocks are off the code, from every node's projections in s
 * (the exchange `key`, layer after layer, len values in all), and rebuilds
 * them (exchanges at phase + layer). Returns true; sets r->check.broken if more
 * are off than the code can locate, r->check.clean if none is. */
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
        uint64_t t0 = gp_mono_us();
        gp_err e = gp_code_check_weights(r->code, r->model.rows[l], (size_t)r->info->n, outs, n,
                                         r->model.updates, &rep, &why);
        run_count(r, &r->j->n.us_coding, gp_mono_us() - t0);
        if (e == GP_EUNVERIFIED || e == GP_ENODES || rep.spare < 1)
            unchecked = true; /* too few blocks to check against: not known to be clean */
        if (e == GP_OK) {
            wrong[l] = rep.wrong;
            if (rep.wrong >> r->self & 1)
                tlog(r->t,
                     "job %016" PRIx64 ": step %" PRIu64 " attempt %d: this node's block of "
                     "layer %d is off the code (by the projections of %d nodes, %#" PRIx64 "; "
                     "off: %#" PRIx64 ")",
                     r->j->id, r->at.step, r->at.attempt, l, n, s->have, rep.wrong);
            if (rep.wrong) {
                pthread_mutex_lock(&r->t->mu);
                for (int p = 0; p < r->P; p++) r->j->node_off[p] += rep.wrong >> p & 1;
                pthread_mutex_unlock(&r->t->mu);
            }
        } else if (e == GP_EDETECTED) {
            tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 ": stored blocks of layer %d: %s",
                 r->j->id, r->at.step, l, why.text);
            r->check.broken = true;
        }
        off += r->model.wt[l].rows;
    }
    uint64_t have = s->have;
    /* every node's projections, kept to check rebuilt blocks against (the
     * exchange's slot is let go below, and reused once the floor moves) */
    uint64_t any_wrong = 0, pj_have = 0;
    size_t pj_off[GP_JOB_MAX_LAYERS];
    for (int l = 0, o = 0; l < r->L; o += (int)r->model.wt[l].rows, l++) {
        any_wrong |= wrong[l];
        pj_off[l] = (size_t)o;
    }
    double *pj = NULL;
    if (any_wrong && !r->check.broken && !(pj = malloc(len * (size_t)r->P * sizeof *pj)))
        tlog(r->t,
             "job %016" PRIx64 ": no memory to keep the projections: blocks off the code are "
             "not rebuilt at this step",
             r->j->id);
    for (int p = 0; pj && p < r->P; p++)
        if ((have >> p & 1) && s->part[p].rows == len && s->part[p].cols == 1) {
            memcpy(pj + (size_t)p * len, s->part[p].data, len * sizeof *pj);
            pj_have |= 1ull << p;
        }
    ex_advance(r, key + 1);
    if (r->check.broken) { /* beyond repair: the caller rolls back */
        free(pj);
        return true;
    }
    r->check.clean = !unchecked;
    for (int l = 0; l < r->L; l++) r->check.clean = r->check.clean && !wrong[l];
    for (int l = 0; l < r->L; l++) {
        /* suspects are no source for others, unless too few remain without them */
        uint64_t healthy = have & ~wrong[l], trusted = healthy & ~r->check.suspects;
        if (__builtin_popcountll(trusted) > r->info->k_storage) healthy = trusted;
        gp_node_output proj[GP_CONFIG_MAX_NODES];
        int npj = 0;
        for (int p = 0; pj && p < r->P; p++)
            if ((healthy >> p & 1) && (pj_have >> p & 1))
                proj[npj++] = (gp_node_output){p, pj + (size_t)p * len + pj_off[l]};
        if (wrong[l]) regenerate(r, l, wrong[l], healthy, phase, proj, npj);
    }
    free(pj);
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
void integrity_recheck(run *r)
{
    size_t len = 0;
    for (int l = 0; l < r->L; l++) len += r->model.wt[l].rows;
    gp_rmat proj = view(r->model.proj, len, 1);
    r->check.broken = false;
    project(r, proj);
    uint64_t key = KEY(r->at.step, r->at.attempt, PH_RECHECK), all = (1ull << r->P) - 1;
    ex_send(r, all, key, proj, true);
    slot *s = ex_collect(r, key, all, r->t->cfg->peer_timeout_ms);
    if (!s) return;
    bool clean = r->check.clean;
    repair(r, s, len, key, PH_REREGEN);
    r->check.clean = clean; /* that of the last committed step */
}

/* Keeps a copy of the blocks (all consistent at this step) to roll back to. */
void snap_take(run *r, uint64_t step)
{
    for (int l = 0; l < r->L; l++) gp_rmat_copy(r->check.snap[l], r->model.wt[l]);
    r->check.snap_step = step;
    r->check.snap_updates = r->model.updates;
    r->check.snap_valid = step % (uint64_t)r->job->checkpoint_every == 0;
}

/* Back to the blocks of the last snapshot, in generation gen (above this
 * node's): a rollback of the whole cluster, or one the others took. */
void roll_back(run *r, unsigned gen)
{
    tlog(r->t,
         "job %016" PRIx64 ": step %" PRIu64 ": rolled back to step %" PRIu64 " (generation %u)",
         r->j->id, r->at.step, r->check.snap_step, gen);
    for (int l = 0; l < r->L; l++) gp_rmat_copy(r->model.wt[l], r->check.snap[l]);
    r->model.updates = r->check.snap_updates;
    r->check.gen = gen;
    r->at.step = r->check.snap_step;
    pthread_mutex_lock(&r->t->mu);
    r->j->gen = r->check.gen;
    r->j->n.rollbacks++;
    pthread_mutex_unlock(&r->t->mu);
}
