/* checkpoint.c - durable state: the job file, checkpoints, and resuming from
 * them. */
#define _GNU_SOURCE
#include "trainer_impl.h"

void state_path(const gp_trainer *t, const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", t->dir, name);
}

/* The job as submitted, so that a restarted daemon can resume it. */
void save_job(gp_trainer *t, tjob *j)
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
void drop_state(gp_trainer *t)
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
void save_checkpoint(run *r)
{
    gp_trainer *t = r->t;
    if (!t->dir[0]) return;
    uint64_t t0 = gp_mono_us();
    st_buf b = {0};
    st_put_u64(&b, r->j->id);
    st_put_u64(&b, (uint64_t)r->P);
    st_put_u64(&b, r->check.snap_step);
    st_put_u64(&b, r->check.snap_updates);
    st_put_u64(&b, (uint64_t)r->L);
    for (int l = 0; l < r->L; l++) {
        gp_rmat w = r->check.snap[l];
        st_put_u64(&b, w.rows);
        st_put_u64(&b, w.cols);
        for (size_t i = 0; i < w.rows; i++) st_put(&b, w.data + i * w.ld, w.cols * sizeof(double));
    }
    pthread_mutex_lock(&t->mu);
    st_put(&b, &r->j->n, sizeof r->j->n);
    pthread_mutex_unlock(&t->mu);
    char path[700], name[32];
    snprintf(name, sizeof name, "ckpt-%d.bin", r->check.ckpt_next);
    state_path(t, name, path, sizeof path);
    gp_msg why = {{0}};
    if (st_write(path, ST_CKPT, &b, &why) != GP_OK)
        tlog(t, "job %016" PRIx64 ": cannot write a checkpoint: %s", r->j->id, why.text);
    else
        r->check.ckpt_next ^= 1;
    free(b.p);
    run_count(r, &r->j->n.us_checkpoint, gp_mono_us() - t0);
}

/* Reads checkpoint i of this job; fills step/updates and (if blocks) the
 * blocks and counters. false if there is none or it is damaged or not this
 * job's (logged). */
bool load_checkpoint(run *r, int i, uint64_t *step, uint64_t *updates, bool blocks)
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
        run_count(r, &r->j->n.checkpoints_damaged, 1);
        return false;
    }
    bool ok = st_get_u64(&b) == r->j->id && st_get_u64(&b) == (uint64_t)r->P;
    *step = st_get_u64(&b);
    *updates = st_get_u64(&b);
    ok = ok && st_get_u64(&b) == (uint64_t)r->L;
    for (int l = 0; ok && l < r->L; l++) {
        gp_rmat w = r->model.wt[l];
        ok = st_get_u64(&b) == w.rows && st_get_u64(&b) == w.cols;
        const uint8_t *data = ok ? st_view(&b, w.rows * w.cols * sizeof(double)) : NULL;
        ok = data != NULL;
        if (ok && blocks)
            for (size_t k = 0; k < w.rows; k++)
                memcpy(w.data + k * w.ld, data + k * w.cols * sizeof(double),
                       w.cols * sizeof(double));
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

uint64_t resume_choice(int P, int kw, uint64_t have, const double info[][START_LEN],
                       uint64_t *updates, uint64_t *holders)
{
    uint64_t best = 0;
    *updates = *holders = 0;
    for (int p = 0; p < P; p++) {
        if (!(have >> p & 1)) continue;
        for (int c = 0; c < 2; c++) {
            double st = info[p][1 + 2 * c];
            if (st < 1) continue;
            uint64_t step = (uint64_t)st - 1, hold = 0;
            for (int q = 0; q < P; q++)
                if (have >> q & 1)
                    for (int d = 0; d < 2; d++)
                        if (info[q][1 + 2 * d] == st) hold |= 1ull << q;
            if (__builtin_popcountll(hold) > kw && step > best) { /* K_w + 1: checked */
                best = step;
                *updates = (uint64_t)info[p][2 + 2 * c];
                *holders = hold;
            }
        }
    }
    return best;
}

/* After the START exchange of a resumed job: the latest checkpoint step that
 * at least K_w + 1 nodes hold (resume_choice); the holders load theirs, the
 * others regenerate theirs from the holders'. Returns the step to go on
 * from (0: start afresh). */
uint64_t resume_job(run *r)
{
    int kw = r->info->k_storage;
    uint64_t best_updates, holders;
    uint64_t best =
        resume_choice(r->P, kw, r->check.start_have, r->check.start_info, &best_updates, &holders);
    if (best == 0) {
        tlog(r->t, "job %016" PRIx64 ": no checkpoint that %d nodes hold: starting afresh",
             r->j->id, kw + 1);
        return 0;
    }
    bool mine = false;
    for (int c = 0; c < 2 && !mine; c++) {
        uint64_t step, updates;
        if (load_checkpoint(r, c, &step, &updates, false) && step == best &&
            updates == best_updates)
            mine = load_checkpoint(r, c, &step, &updates, true);
    }
    uint64_t needy = r->check.start_have & ~holders;
    if (!mine) needy |= 1ull << r->self;
    holders &= ~needy;
    r->check.gen = 1; /* past the START exchange's keys */
    pthread_mutex_lock(&r->t->mu);
    r->j->gen = 1;
    pthread_mutex_unlock(&r->t->mu);
    r->model.updates = best_updates;
    r->at.step = best - 1;
    ex_advance(r, KEY(best - 1, 0, 0));
    for (int l = 0; l < r->L && needy; l++) {
        uint64_t key = KEY(best - 1, 0, PH_REGEN + l);
        if (mine) ex_send(r, needy, key, r->model.wt[l], true);
        if (mine) {
            ex_advance(r, key + 1);
            continue;
        }
        slot *s = ex_collect(r, key, holders, r->t->cfg->peer_timeout_ms);
        if (!s) return 0;
        gp_node_output outs[GP_CONFIG_MAX_NODES];
        int n = ex_outputs(r, s, r->model.wt[l].rows, r->model.wt[l].cols, outs);
        gp_decode_report rep;
        gp_msg why = {{0}};
        gp_err e = gp_code_regenerate(r->code, r->self, r->model.rows[l], r->model.cols[l], outs, n,
                                      r->model.updates, r->model.wt[l], &rep, &why);
        if (e == GP_OK) { /* exactly K_w blocks could not be checked: refused */
            run_count(r, &r->j->n.blocks_regenerated, 1);
            tlog(r->t,
                 "job %016" PRIx64 ": block of layer %d regenerated from %d peers' checkpoints",
                 r->j->id, l, n);
        } else {
            tlog(r->t, "job %016" PRIx64 ": cannot regenerate layer %d: %s", r->j->id, l, why.text);
        }
        ex_advance(r, key + 1);
    }
    ex_advance(r, KEY(best, 0, 0));
    tlog(r->t, "job %016" PRIx64 ": resumed at step %" PRIu64 " (%s)", r->j->id, best,
         mine ? "from this node's checkpoint" : "blocks rebuilt from the peers' checkpoints");
    return best;
}
