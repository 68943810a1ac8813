/* gp_train.h - the model's arithmetic, shared by the daemons (which run the
 * products coded) and the local reference trainer (which runs them with plain
 * OpenBLAS). Both call the same functions for everything but the products,
 * with the same seeds, so that an error-free cluster run and `gpdot-client
 * train --local` give the same model up to the rounding of the codes.
 *
 * The model: a fully connected network sizes[0] - sizes[1] - ... - sizes[L],
 * hidden layers with activation act[l] (relu, tanh, sigmoid), the output
 * layer softmax with cross-entropy. Every layer has a bias, kept as the last
 * column of its weight matrix: W_l is sizes[l+1] x (sizes[l] + 1), and every
 * activation matrix X_l is (sizes[l] + 1) x B with a last row of ones. Plain
 * SGD on the mean loss of each mini-batch:
 *     forward   S_{l+1} = W_l X_l,  X_{l+1} = [f_l(S_{l+1}); 1]
 *     output    D_L = (softmax(S_L) - onehot(y)) / B
 *     backward  C_l = W_l^T D_{l+1} (first sizes[l] rows), D_l = C_l o f'(S_l)
 *     update    W_l += -lr(step) D_{l+1} X_l^T
 * Every update uses the weights of before the step (all deltas first).
 */
#ifndef GP_TRAIN_H
#define GP_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "gp_data.h"
#include "gp_detmath.h"
#include "gp_err.h"
#include "gp_job.h"
#include "gp_mat.h"

/* ---- the model's arithmetic ---------------------------------------------------------- */

/* Checks the job against the data: sizes[0] == features, sizes[L] >= classes. */
gp_err gp_job_check_data(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                         gp_msg *why);

/* Steps per epoch: ceil(train_count / batch) (the last batch may be short). */
uint64_t gp_train_steps_per_epoch(const gp_job *job, size_t train_count);

/* The initial W_l (sizes[l+1] x (sizes[l]+1)): He-uniform for relu hidden
 * layers, Glorot-uniform otherwise, bias 0, from init_seed and l only. */
void gp_train_init_weights(const gp_job *job, int l, gp_rmat w);

/* The order of the training samples in epoch `epoch` (0-based): a
 * permutation of 0 .. count-1 from shuffle_seed and epoch only. */
void gp_train_order(const gp_job *job, int epoch, size_t count, uint32_t *order);

/* Learning rate at global step `step` (0-based). */
double gp_train_lr(const gp_job *job, uint64_t step, uint64_t steps_per_epoch);

/* Fills X0 ((features+1) x b, last row ones) and labels[b] with samples
 * order[first .. first+b-1], normalised. */
void gp_train_batch(const gp_dataset *ds, gp_norm_stats st, const uint32_t *order, size_t first,
                    size_t b, gp_rmat x0, uint8_t *labels);

/* f(x) and f'(x) of an activation, with gpdot's own elementary functions
 * (gp_detmath.h), so that every daemon gets the same bits: the training
 * step's and a client's ACTIVATE (relu maps NaN to 0). */
static inline double gp_act_f(gp_act f, double x)
{
    switch (f) {
    case GP_ACT_RELU:
        return x > 0 ? x : 0.0;
    case GP_ACT_TANH:
        return gp_det_tanh(x);
    case GP_ACT_SIGMOID:
        return 1.0 / (1.0 + gp_det_exp(-x));
    case GP_ACT_IDENTITY:
    default:
        return x;
    }
}

static inline double gp_act_df(gp_act f, double x)
{
    switch (f) {
    case GP_ACT_RELU:
        return x > 0 ? 1.0 : 0.0;
    case GP_ACT_TANH: {
        double t = gp_det_tanh(x);
        return 1.0 - t * t;
    }
    case GP_ACT_SIGMOID: {
        double sg = 1.0 / (1.0 + gp_det_exp(-x));
        return sg * (1.0 - sg);
    }
    case GP_ACT_IDENTITY:
    default:
        return 1.0;
    }
}

/* x = [f(s); 1]: s is rows x b, x is (rows+1) x b. */
void gp_train_activate(gp_act f, gp_rmat s, gp_rmat x);
/* c = c o f'(s) on the first s.rows rows of c (c may have one more row). */
void gp_train_hadamard(gp_act f, gp_rmat s, gp_rmat c);
/* y = softmax over each column of s (a column is a sample); y may be s. */
void gp_train_softmax(gp_rmat s, gp_rmat y);
/* Output layer: delta = (softmax(s) - onehot(labels)) / b; returns the
 * summed cross-entropy of the b samples, and counts the correct ones. */
double gp_train_softmax_xent(gp_rmat s, const uint8_t *labels, gp_rmat delta, int *correct);

/* Accuracy and mean loss of weights w[0..L-1] on a data set (plain dgemm). */
gp_err gp_train_evaluate(const gp_job *job, const gp_rmat *w, const gp_dataset *ds,
                         gp_norm_stats st, double *accuracy, double *loss);

/* ---- the local reference trainer ------------------------------------------------------ */

/* Progress, shared with the daemons' job status. */
typedef struct gp_train_progress {
    int epoch;            /* 1-based, current */
    uint64_t step, steps; /* done, in all */
    double loss;          /* mean training loss of the last 50 steps */
    double test_accuracy; /* after the last finished epoch, -1 before */
    double samples_per_s;
    double elapsed_s;
} gp_train_progress;

typedef void (*gp_train_cb)(const gp_train_progress *p, void *arg);

/* Trains the job's model in this process, in the job's precision (float32:
 * gp_train_local_f32). w[l] are allocated here (free with gp_rmat_free); a
 * float32 model's weights are returned widened to double (exactly). cb (may
 * be NULL) is called every few steps and after every epoch. */
gp_err gp_train_local(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                      gp_rmat *w, gp_train_cb cb, void *arg, gp_train_progress *final, gp_msg *why);
gp_err gp_train_local_f32(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                          gp_rmat *w, gp_train_cb cb, void *arg, gp_train_progress *final,
                          gp_msg *why);

#endif
