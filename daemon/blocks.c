/* blocks.c - this node's stored blocks in the job's precision.
 *
 * A float64 job keeps each layer's coded block, and the buffer beside it, in
 * r->model.wt and r->model.backup. A float32 job (`precision: float32`)
 * keeps them in r->model.wf and r->model.bf, and wt and backup give only
 * their shapes. The step's products and update are done in each precision
 * by step.c; everything else that reads or writes a block goes through
 * here: decoding or rebuilding one (in double, then rounded once to float),
 * sending one (as stored: float32 on the wire, widened exactly by the
 * receiver), projecting one, injecting faults, the snapshot, checkpoints and
 * the fetched model. */
#define _GNU_SOURCE
#include "trainer_impl.h"

gp_rmat blk_work(run *r, int l, bool beside)
{
    if (!r->model.f32) return beside ? r->model.backup[l] : r->model.wt[l];
    gp_fmat f = beside ? r->model.bf[l] : r->model.wf[l];
    return gp_rmat_view(r->model.wide.data, f.rows, f.cols, f.cols);
}

void blk_settle(run *r, int l, bool beside, gp_rmat w)
{
    if (r->model.f32) gp_fmat_round(beside ? r->model.bf[l] : r->model.wf[l], w);
}

void blk_send(run *r, uint64_t dest, uint64_t key, int l)
{
    if (r->model.f32)
        ex_send_f32(r, dest, key, r->model.wf[l], true);
    else
        ex_send(r, dest, key, r->model.wt[l], true);
}

double blk_maxabs(run *r, int l)
{
    return r->model.f32 ? gp_fmat_maxabs(r->model.wf[l]) : gp_rmat_maxabs(r->model.wt[l]);
}

int blk_fault(run *r, gp_fault_op kind, uint64_t phase, int l)
{
    return r->model.f32 ? fault_inject_f32(r, kind, phase, r->model.wf[l])
                        : fault_inject(r, kind, phase, r->model.wt[l]);
}

void blk_snap_take(run *r)
{
    for (int l = 0; l < r->L; l++) {
        if (!r->model.f32) {
            gp_rmat_copy(r->check.snap[l], r->model.wt[l]);
            continue;
        }
        gp_fmat d = r->check.snapf[l], s = r->model.wf[l];
        memcpy(d.data, s.data, s.rows * s.cols * sizeof(float));
    }
}

void blk_snap_restore(run *r)
{
    for (int l = 0; l < r->L; l++) {
        if (!r->model.f32) {
            gp_rmat_copy(r->model.wt[l], r->check.snap[l]);
            continue;
        }
        gp_fmat d = r->model.wf[l], s = r->check.snapf[l];
        memcpy(d.data, s.data, s.rows * s.cols * sizeof(float));
    }
}

size_t blk_elem(const run *r)
{
    return r->model.f32 ? sizeof(float) : sizeof(double);
}

void *blk_snap_row(run *r, int l, size_t i)
{
    if (r->model.f32) return r->check.snapf[l].data + i * r->check.snapf[l].ld;
    return r->check.snap[l].data + i * r->check.snap[l].ld;
}

void *blk_row(run *r, int l, size_t i)
{
    if (r->model.f32) return r->model.wf[l].data + i * r->model.wf[l].ld;
    return r->model.wt[l].data + i * r->model.wt[l].ld;
}

gp_err blk_copy_out(run *r, int l, gp_rmat *out)
{
    if (!r->model.f32) { /* the block itself changes hands */
        *out = r->model.wt[l];
        memset(&r->model.wt[l], 0, sizeof r->model.wt[l]);
        return GP_OK;
    }
    gp_fmat f = r->model.wf[l];
    gp_err e = gp_rmat_alloc_uninit(out, f.rows, f.cols);
    if (e == GP_OK) gp_rmat_widen(*out, f);
    return e;
}
