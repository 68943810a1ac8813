/* faults.c - the soft errors a job injects into its own steps. */
#define _GNU_SOURCE
#include "trainer_impl.h"

/* Injects the job's faults for one kind of step into m (see gpdotd's inject:
 * the same rule semantics, the job's seed and scale). */
int fault_inject(run *r, gp_fault_op kind, uint64_t phase, gp_rmat m)
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
