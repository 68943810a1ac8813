/* faults.c - the soft errors a job injects into its own steps: the one
 * injector (gp_fault_inject) with the job's rules, seed and scale, on the
 * stream of the exchange key, counted in the job's errors_injected. */
#define _GNU_SOURCE
#include "trainer_impl.h"

static void counted(run *r, int n)
{
    if (n) {
        pthread_mutex_lock(&r->t->mu);
        r->j->n.errors_injected += (uint64_t)n;
        pthread_mutex_unlock(&r->t->mu);
    }
}

int fault_inject(run *r, gp_fault_op kind, uint64_t phase, gp_rmat m)
{
    const gp_job *job = r->job;
    int n = gp_fault_inject(job->rules, job->nrules, job->fault_scale, job->fault_seed,
                            KEY(r->at.step, r->at.attempt, phase), r->self, kind, m);
    counted(r, n);
    return n;
}

int fault_inject_f32(run *r, gp_fault_op kind, uint64_t phase, gp_fmat m)
{
    const gp_job *job = r->job;
    int n = gp_fault_inject_f32(job->rules, job->nrules, job->fault_scale, job->fault_seed,
                                KEY(r->at.step, r->at.attempt, phase), r->self, kind, m);
    counted(r, n);
    return n;
}
