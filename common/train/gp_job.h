/* gp_job.h - a training job as its file describes it: the network, the data,
 * the schedule, the code and the soft errors to inject.
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
#ifndef GP_JOB_H
#define GP_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_config.h"
#include "gp_err.h"

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
/* The arithmetic of the products, the weights and the activations. */
typedef enum gp_prec { GP_PREC_FLOAT64, GP_PREC_FLOAT32 } gp_prec;

const char *gp_act_name(gp_act a);

/* One data set's files: IDX images + labels, or one CSV file. */
typedef struct gp_data_files {
    char images[GP_JOB_MAX_PATH], labels[GP_JOB_MAX_PATH], csv[GP_JOB_MAX_PATH];
} gp_data_files;

typedef struct gp_job {
    char name[64];
    gp_prec precision;                /* "precision:" float64 (the default) or float32 */
    int nlayers;                      /* weight layers L */
    int sizes[GP_JOB_MAX_LAYERS + 1]; /* widths, input first */
    gp_act act[GP_JOB_MAX_LAYERS];    /* hidden layers 0 .. L-2; the output is softmax */
    uint64_t init_seed;
    gp_data_files train, test;
    gp_norm normalize;
    size_t train_limit, test_limit; /* 0: all */
    int batch, epochs;
    double lr, gamma, lr_min;
    gp_sched schedule;
    int step_every;
    uint64_t shuffle_seed;
    int check_every, max_redo;
    int checkpoint_every; /* steps between checkpoints of the consistent blocks */
    char scheme[16];      /* "" : the default (plan's best choice for the cluster) */
    int m, n;             /* 0: chosen */
    char orientation[8];
    int spare; /* outputs beyond K every decode of a committed step needs */
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

#endif
