/* train_local.h - what the two local trainers share (train.c in float64,
 * train32.c in float32): the progress they report. Not installed. */
#ifndef GP_TRAIN_LOCAL_H
#define GP_TRAIN_LOCAL_H

#include "gp_train.h"

#define LOCAL_LOSS_WINDOW 50 /* steps the reported loss is the mean of */
#define LOCAL_CB_EVERY    20 /* steps between progress callbacks */

/* The progress p of a local run: the mean loss of the last steps, samples
 * per second over the training steps only (not evaluating). */
typedef struct local_clock {
    gp_train_progress p;
    double ring[LOCAL_LOSS_WINDOW], t0, eval_s;
    size_t samples;
} local_clock;

void local_clock_start(local_clock *c, uint64_t steps);
/* After step `step` (0-based) of b samples with mean loss `loss`; calls cb
 * every LOCAL_CB_EVERY steps but on an epoch's last step (last). */
void local_clock_step(local_clock *c, uint64_t step, double loss, size_t b, bool last,
                      gp_train_cb cb, void *arg);
/* At the end of epoch ep (0-based): evaluates w on test (if any), not
 * counting that time, then calls cb. */
gp_err local_clock_epoch(local_clock *c, int ep, const gp_job *job, const gp_rmat *w,
                         const gp_dataset *test, gp_norm_stats st, gp_train_cb cb, void *arg,
                         gp_msg *why);

#endif
