/* gp_train.h - training jobs: the job file, the data sets, and the model's
 * arithmetic, shared by the daemons (which run the products coded) and the
 * local reference trainer (which runs them with plain OpenBLAS). Both call
 * the same functions for everything but the products, with the same seeds,
 * so that an error-free cluster run and `gpdot-client train --local` give
 * the same model up to the rounding of the codes.
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
 *
 * Job file (YAML; every key but model.layers and data.train/test optional):
 *   name: fashion                     # shown by status; default: the file's name
 *   model:
 *     layers: [784, 256, 128, 10]      # widths, input first, 2 .. 9 entries
 *     activation: relu                 # or a list, one per hidden layer
 *     init_seed: 1
 *   data:
 *     train: {images: PATH, labels: PATH}   # IDX (gzipped or not)
 *     test:  {images: PATH, labels: PATH}
 *     # or train: {csv: PATH}: one sample per line, label first
 *     normalize: standardize          # standardize | scale (x/255) | none
 *     train_limit: 0                  # use only the first N samples (0: all)
 *     test_limit: 0
 *   training:
 *     batch: 64                        # B >= 1
 *     epochs: 2
 *     lr: 0.1
 *     schedule: constant               # constant | step | cosine
 *     step_every: 1                    # step: epochs between decays
 *     gamma: 0.5                       # step: factor per decay
 *     lr_min: 0.0                      # cosine: the final rate
 *     shuffle_seed: 1
 *     check_every: 1                   # steps between checks of the stored code
 *     checkpoint_every: 50             # steps between checkpoints (memory and disk)
 *     max_redo: 3                      # redos of one step before the job fails
 *   code: {scheme: gpd, m: 2, n: 2, orientation: auto}   # default: plan's choice
 *     spare: 1                         # outputs beyond the threshold that every decode
 *                                      # of a committed step must have (1: an error
 *                                      # shows; e + 1: e wrong outputs are corrected
 *                                      # and one more still shows); uncoded: none
 *   faults:
 *     seed: 1
 *     scale: 1.0                       # multiplies every probability (0: none)
 *     rules:
 *       - {node: all, op: multiply, probability: 0.01, magnitude: 1.0}
 * Relative data paths are relative to the job file's directory.
 */
#ifndef GP_TRAIN_H
#define GP_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_config.h"
#include "gp_err.h"
#include "gp_mat.h"

#define GP_JOB_MAX_LAYERS 8     /* weight layers */
#define GP_JOB_MAX_WIDTH  65536 /* of any layer */
#define GP_JOB_MAX_BATCH  4096
#define GP_JOB_MAX_EPOCHS 10000
#define GP_JOB_MAX_RULES  GP_CONFIG_MAX_RULES
#define GP_JOB_MAX_PATH   512
#define GP_JOB_MAX_SET    32 /* --set overrides */

typedef enum gp_act { GP_ACT_RELU, GP_ACT_TANH, GP_ACT_SIGMOID, GP_ACT_IDENTITY } gp_act;
typedef enum gp_sched { GP_SCHED_CONSTANT, GP_SCHED_STEP, GP_SCHED_COSINE } gp_sched;
typedef enum gp_norm { GP_NORM_STANDARDIZE, GP_NORM_SCALE, GP_NORM_NONE } gp_norm;

const char *gp_act_name(gp_act a);

/* One data set's files: IDX images + labels, or one CSV file. */
typedef struct gp_data_files {
    char images[GP_JOB_MAX_PATH], labels[GP_JOB_MAX_PATH], csv[GP_JOB_MAX_PATH];
} gp_data_files;

typedef struct gp_job {
    char name[64];
    int nlayers;                       /* weight layers L */
    int sizes[GP_JOB_MAX_LAYERS + 1];  /* widths, input first */
    gp_act act[GP_JOB_MAX_LAYERS];     /* hidden layers 0 .. L-2; the output is softmax */
    uint64_t init_seed;
    gp_data_files train, test;
    gp_norm normalize;
    size_t train_limit, test_limit;    /* 0: all */
    int batch, epochs;
    double lr, gamma, lr_min;
    gp_sched schedule;
    int step_every;
    uint64_t shuffle_seed;
    int check_every, max_redo;
    int checkpoint_every; /* steps between checkpoints of the consistent blocks */
    char scheme[16]; /* "" : the default (plan's best choice for the cluster) */
    int m, n;        /* 0: chosen */
    char orientation[8];
    int spare;       /* outputs beyond K every decode of a committed step needs */
    uint64_t fault_seed;
    double fault_scale;
    int nrules;
    gp_fault_rule rules[GP_JOB_MAX_RULES];
} gp_job;

/* Parses a job file's text. `name` is used in messages ("job.yaml:3:5:
 * training.batch: must be an integer in 1 .. 4096"); `dir`, if not NULL,
 * is prefixed to relative data paths. `set` holds nset overrides
 * "key=value" with dotted keys (training.epochs=1, faults.scale=0,
 * data.train.images=/x/y.gz, model.layers=[784,32,10]); an unknown key is an
 * error that names it. GP_EINVAL with the reason in why. */
gp_err gp_job_parse(const char *text, size_t len, const char *name, const char *dir,
                    const char *const *set, int nset, gp_job *job, gp_msg *why);
/* Reads and parses a file (dir: the file's directory). */
gp_err gp_job_load(const char *path, const char *const *set, int nset, gp_job *job, gp_msg *why);

/* ---- data ------------------------------------------------------------------------- */

/* A data set: count samples of `features` raw values and a label in
 * 0 .. classes-1. IDX unsigned-byte images are kept as bytes. */
typedef struct gp_dataset {
    size_t count, features;
    int classes;    /* 1 + the largest label */
    uint8_t *u8;    /* count x features, or NULL */
    float *f32;     /* count x features, when not bytes */
    uint8_t *labels;
} gp_dataset;

/* Loads IDX image and label files (gzip detected by its magic) or a CSV
 * file, from disk or from memory (the bytes a client uploaded). `limit` > 0
 * keeps the first `limit` samples. Errors name the file and what is wrong
 * (bad magic, sizes that disagree, a label out of range, a bad CSV field
 * with its line). Sizes are checked before anything is allocated. */
gp_err gp_data_load(const gp_data_files *f, size_t limit, gp_dataset *ds, gp_msg *why);
gp_err gp_data_parse_idx(const void *images, size_t ilen, const void *labels, size_t llen,
                         const char *name, size_t limit, gp_dataset *ds, gp_msg *why);
gp_err gp_data_parse_csv(const void *text, size_t len, const char *name, size_t limit,
                         gp_dataset *ds, gp_msg *why);
void gp_data_free(gp_dataset *ds);

/* Normalisation of raw values: x' = (x - mean) * scale, computed from the
 * training set as the job asks (standardize: mean and 1/std over all values;
 * scale: 0 and 1/255; none: 0 and 1). Deterministic. */
typedef struct gp_norm_stats {
    double mean, scale;
} gp_norm_stats;
gp_norm_stats gp_data_stats(const gp_dataset *train, gp_norm how);

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

/* x = [f(s); 1]: s is rows x b, x is (rows+1) x b. */
void gp_train_activate(gp_act f, gp_rmat s, gp_rmat x);
/* c = c o f'(s) on the first s.rows rows of c (c may have one more row). */
void gp_train_hadamard(gp_act f, gp_rmat s, gp_rmat c);
/* Output layer: delta = (softmax(s) - onehot(labels)) / b; returns the
 * summed cross-entropy of the b samples, and counts the correct ones. */
double gp_train_softmax_xent(gp_rmat s, const uint8_t *labels, gp_rmat delta, int *correct);

/* Accuracy and mean loss of weights w[0..L-1] on a data set (plain dgemm). */
gp_err gp_train_evaluate(const gp_job *job, const gp_rmat *w, const gp_dataset *ds,
                         gp_norm_stats st, double *accuracy, double *loss);

/* ---- the local reference trainer ------------------------------------------------------ */

/* Progress, shared with the daemons' job status. */
typedef struct gp_train_progress {
    int epoch;               /* 1-based, current */
    uint64_t step, steps;    /* done, in all */
    double loss;             /* mean training loss of the last 50 steps */
    double test_accuracy;    /* after the last finished epoch, -1 before */
    double samples_per_s;
    double elapsed_s;
} gp_train_progress;

typedef void (*gp_train_cb)(const gp_train_progress *p, void *arg);

/* Trains the job's model in this process. w[l] are allocated here (free
 * with gp_rmat_free). cb (may be NULL) is called every few steps and after
 * every epoch. */
gp_err gp_train_local(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                      gp_rmat *w, gp_train_cb cb, void *arg, gp_train_progress *final,
                      gp_msg *why);

/* ---- model files --------------------------------------------------------------------- */

/* Writes DIR/W<l>.npy (sizes[l+1] x sizes[l]) and DIR/b<l>.npy (sizes[l+1])
 * for every layer and DIR/model.yaml, the manifest: layers with their files
 * and activations, the normalisation, the job's name and `extra` (a YAML
 * mapping's lines, may be NULL: the run's figures). Creates DIR. */
gp_err gp_model_save(const char *dir, const gp_job *job, const gp_rmat *w, gp_norm_stats st,
                     const char *extra, gp_msg *why);
/* Reads a model written by gp_model_save: the job gets the model keys
 * (layers, activations); w[l] allocated here. */
gp_err gp_model_load(const char *dir, gp_job *job, gp_rmat *w, gp_norm_stats *st, gp_msg *why);

#endif
