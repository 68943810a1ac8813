/* step.c - one attempt at a training step, in the paper's order: encode,
 * product, exchange, decode, activation, Hadamard, update, check. */
#define _GNU_SOURCE
#include "trainer_impl.h"

#include <float.h>

/* The record of each node whose output a verified decode used or corrected:
 * consecutive wrong outputs make it a suspect, consecutive right ones clear
 * it again. */
void judge(run *r, const gp_node_output *outs, int n, uint64_t wrong)
{
    uint64_t became = 0, cleared = 0;
    pthread_mutex_lock(&r->t->mu);
    for (int i = 0; i < n; i++) {
        int p = outs[i].node;
        int *k = &r->check.streak[p];
        if (wrong >> p & 1) {
            r->j->node_wrong[p]++;
            *k = *k > 0 ? *k + 1 : 1;
            if (*k == SUSPECT_AFTER && !(r->check.suspects >> p & 1)) became |= 1ull << p;
        } else {
            *k = *k < 0 ? *k - 1 : -1;
            if (*k == -SUSPECT_CLEAR && (r->check.suspects >> p & 1)) cleared |= 1ull << p;
        }
    }
    r->check.suspects = (r->check.suspects | became) & ~cleared;
    r->j->suspects = r->check.suspects;
    pthread_mutex_unlock(&r->t->mu);
    for (int p = 0; p < r->P; p++) {
        if (became >> p & 1)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 ": node %d is a suspect: its last %d "
                 "outputs were wrong; its stored blocks are checked at every step",
                 r->j->id, r->at.step, p, SUSPECT_AFTER);
        if (cleared >> p & 1)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 ": node %d is no longer a suspect: its last "
                 "%d outputs were right",
                 r->j->id, r->at.step, p, SUSPECT_CLEAR);
    }
}

/* One coded product of layer l in direction dir with this node's copy of
 * the input, the exchange, and the decode into result. */
static void product(run *r, int l, gp_dir dir, gp_rmat in, gp_rmat result)
{
    size_t b = in.cols, R = r->model.rows[l], C = r->model.cols[l];
    int phase = dir == GP_FORWARD ? PH_FWD + l : PH_BWD + (GP_JOB_MAX_LAYERS - 1 - l);
    uint64_t key = KEY(r->at.step, r->at.attempt, phase);
    size_t erows = dir == GP_FORWARD ? r->model.wt[l].cols : r->model.wt[l].rows;
    size_t orows = gp_code_output_rows(r->code, dir, R, C);
    gp_rmat out = view(r->model.out, orows, b);
    if (gp_code_takes_part(r->code, r->self, dir)) {
        gp_rmat enc = view(r->model.enc, erows, b);
        uint64_t t0 = gp_mono_us();
        gp_code_encode_input(r->code, r->self, dir, in, enc);
        uint64_t t1 = gp_mono_us();
        fault_inject(r, GP_FAULT_ENCODE, (uint64_t)phase, enc);
        uint64_t all = (1ull << r->P) - 1; /* every node decodes */
        /* float32: the input rounded once, the product and the wire in float32 */
        gp_fmat encf = fview(r->model.encf, erows, b), outf = fview(r->model.outf, orows, b);
        if (r->model.f32) {
            gp_fmat_round(encf, enc);
            gp_code_node_product_f32(dir, r->model.wf[l], encf, outf);
        } else {
            gp_code_node_product(dir, r->model.wt[l], enc, out);
        }
        uint64_t t2 = gp_mono_us();
        if (r->model.f32)
            fault_inject_f32(r, GP_FAULT_MULTIPLY, (uint64_t)phase, outf);
        else
            fault_inject(r, GP_FAULT_MULTIPLY, (uint64_t)phase, out);
        run_count(r, &r->j->n.us_coding, t1 - t0);
        run_count(r, &r->j->n.us_compute, t2 - t1);
        if (r->model.f32)
            ex_send_f32(r, all, key, outf, true);
        else
            ex_send(r, all, key, out, true);
    }
    slot *s = ex_collect(r, key, r->part_mask[dir], r->t->cfg->peer_timeout_ms);
    if (!s) return;
    gp_node_output outs[GP_CONFIG_MAX_NODES];
    int n = ex_outputs(r, s, orows, b, outs);
    gp_decode_report rep;
    gp_msg why = {{0}};
    uint64_t t0 = gp_mono_us();
    gp_err e =
        gp_code_decode_stored(r->code, dir, R, C, b, r->model.updates, outs, n, result, &rep, &why);
    run_count(r, &r->j->n.us_coding, gp_mono_us() - t0);
    /* Never committed unless checked: a decode with fewer spare outputs than
     * the job asks (exactly K: none) could not have seen an error. Its
     * result is used for the rest of the attempt, but the node votes no. */
    bool coded = r->info->scheme != GP_SCHEME_UNCODED;
    if ((e == GP_OK || e == GP_EUNVERIFIED) && coded &&
        (e == GP_EUNVERIFIED || rep.spare < r->job->spare)) {
        int k = dir == GP_FORWARD ? r->info->k_forward : r->info->k_backward;
        if (!r->at.short_handed)
            tlog(r->t,
                 "job %016" PRIx64 ": step %" PRIu64 " attempt %d %s layer %d: %d outputs for a "
                 "threshold of %d: %d spare, the job asks %d: not committed",
                 r->j->id, r->at.step, r->at.attempt, dir == GP_FORWARD ? "forward" : "backward", l,
                 n, k, rep.spare, r->job->spare);
        snprintf(r->at.last_error, sizeof r->at.last_error,
                 "%s product of layer %d from %d nodes: %d spare outputs, %d needed to check it",
                 dir == GP_FORWARD ? "forward" : "backward", l, n, rep.spare, r->job->spare);
        r->at.short_handed = true;
        r->at.short_k = k;
        r->at.own_ok = false;
    }
    if (e == GP_OK || e == GP_EUNVERIFIED) {
        if (rep.nwrong) {
            run_count(r, &r->j->n.errors_corrected, (uint64_t)rep.nwrong);
            r->at.wrong_seen |= rep.wrong;
        }
        if (e == GP_OK) judge(r, outs, n, rep.wrong);
        fault_inject(r, GP_FAULT_DECODE, (uint64_t)phase, result);
    } else {
        run_count(r, &r->j->n.errors_detected, 1);
        tlog(r->t, "job %016" PRIx64 ": step %" PRIu64 " attempt %d %s layer %d: %s", r->j->id,
             r->at.step, r->at.attempt, dir == GP_FORWARD ? "forward" : "backward", l, why.text);
        /* Products that overflow the job's precision agree on nothing: not
         * a fault of some nodes but a model that diverged. Each entry of a
         * node's output is a sum of `inner` terms each at most max|in|
         * max|block|; past the largest number / 16 of that (or with Inf or
         * NaN in either) the outputs cannot be told apart from errors. */
        double in_max = gp_rmat_maxabs(in), w_max = gp_rmat_maxabs(r->model.wt[l]);
        double inner = (double)(dir == GP_FORWARD ? r->model.wt[l].cols : r->model.wt[l].rows);
        r->at.overflow = !(in_max * w_max * inner <= (r->model.f32 ? FLT_MAX : DBL_MAX) / 16);
        if (r->at.overflow)
            snprintf(r->at.last_error, sizeof r->at.last_error,
                     "the %s product of layer %d overflows %s precision: its input reaches "
                     "%.3g and this node's block %.3g",
                     dir == GP_FORWARD ? "forward" : "backward", l,
                     r->model.f32 ? "single" : "double", in_max, w_max);
        else
            snprintf(r->at.last_error, sizeof r->at.last_error,
                     "%s product of layer %d from %d nodes: %s",
                     dir == GP_FORWARD ? "forward" : "backward", l, n, why.text);
        r->at.own_ok = false;
        gp_rmat_zero(result);
    }
    ex_advance(r, key + 1);
}

/* One attempt at a step: forward, backward, the updates, the check.
 * Returns whether the step is committed. */
bool attempt_step(run *r, gp_rmat x0, const uint8_t *labels, size_t b, double lr, double *loss)
{
    const gp_job *job = r->job;
    int L = r->L;
    r->at.own_ok = true;
    r->at.wrong_seen = 0;
    r->at.overflow = false;
    r->at.short_handed = r->at.no_quorum = r->at.superseded = false;
    /* float32: the products' copy of each block as it is now (updated,
     * rebuilt, rolled back, or received since the last attempt) */
    for (int l = 0; l < L && r->model.f32; l++) gp_fmat_round(r->model.wf[l], r->model.wt[l]);
    gp_rmat_copy(view(r->model.x[0], x0.rows, b), x0);
    for (int l = 0; l < L; l++) {
        gp_rmat in = view(r->model.x[l], r->model.cols[l], b),
                s = view(r->model.s[l + 1], r->model.rows[l], b);
        product(r, l, GP_FORWARD, in, s);
        if (run_cancelled(r) || r->at.superseded) return false;
        if (l < L - 1) {
            gp_rmat xn = view(r->model.x[l + 1], r->model.cols[l + 1], b);
            uint64_t t0 = gp_mono_us();
            gp_train_activate(job->act[l], s, xn);
            run_count(r, &r->j->n.us_compute, gp_mono_us() - t0);
            fault_inject(r, GP_FAULT_ACTIVATION, (uint64_t)PH_FWD + (uint64_t)l,
                         gp_rmat_sub(xn, 0, 0, r->model.rows[l], b));
        }
    }
    gp_rmat dL = view(r->model.dl[L], r->model.rows[L - 1], b);
    int correct = 0;
    *loss =
        gp_train_softmax_xent(view(r->model.s[L], r->model.rows[L - 1], b), labels, dL, &correct);
    fault_inject(r, GP_FAULT_ACTIVATION, PH_FWD + (uint64_t)L, dL);
    for (int l = L - 1; l >= 1; l--) {
        gp_rmat d = view(r->model.dl[l + 1], r->model.rows[l], b),
                c = view(r->model.c, r->model.cols[l], b);
        product(r, l, GP_BACKWARD, d, c);
        if (run_cancelled(r) || r->at.superseded) return false;
        uint64_t t0 = gp_mono_us();
        gp_train_hadamard(job->act[l - 1], view(r->model.s[l], r->model.rows[l - 1], b), c);
        gp_rmat dn = view(r->model.dl[l], r->model.rows[l - 1], b);
        gp_rmat_copy(dn, gp_rmat_sub(c, 0, 0, r->model.rows[l - 1], b));
        run_count(r, &r->j->n.us_compute, gp_mono_us() - t0);
        fault_inject(r, GP_FAULT_HADAMARD, PH_BWD + (uint64_t)(GP_JOB_MAX_LAYERS - 1 - l), dn);
    }
    /* the updates, kept revocable until the check: each is written next to
     * the block it updates (backup), and the two swap places; a step not
     * committed swaps them back */
    bool updated[GP_JOB_MAX_LAYERS] = {false};
    for (int l = 0; l < L; l++) {
        if (!r->at.own_ok) continue; /* a stale block: the check finds it and it is rebuilt */
        gp_rmat d = view(r->model.dl[l + 1], r->model.rows[l], b),
                xin = view(r->model.x[l], r->model.cols[l], b);
        gp_rmat dt = view(r->model.dt, r->model.wt[l].rows, b),
                xt = view(r->model.xt, r->model.wt[l].cols, b);
        uint64_t t0 = gp_mono_us();
        gp_code_encode_update(r->code, r->self, d, xin, dt, xt);
        uint64_t t1 = gp_mono_us();
        fault_inject(r, GP_FAULT_ENCODE, PH_REGEN + (uint64_t)l, dt);
        gp_code_node_update_into(-lr, dt, xt, r->model.wt[l], r->model.backup[l]);
        swap_block(r, l);
        updated[l] = true;
        run_count(r, &r->j->n.us_coding, t1 - t0);
        run_count(r, &r->j->n.us_compute, gp_mono_us() - t1);
        fault_inject(r, GP_FAULT_UPDATE, PH_REGEN + (uint64_t)l, r->model.wt[l]);
    }
    r->model.updates++;
    bool commit = integrity_check(r);
    if (!commit) {
        r->model.updates--;
        for (int l = 0; l < L; l++)
            if (updated[l]) swap_block(r, l);
        if (r->info->scheme != GP_SCHEME_UNCODED && !r->check.broken && !r->t->behind &&
            !run_cancelled(r) && !r->at.superseded && !r->at.no_quorum)
            integrity_recheck(r); /* may set r->check.broken: the caller rolls back */
    }
    return commit;
}
