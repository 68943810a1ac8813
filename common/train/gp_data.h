/* gp_data.h - data sets: IDX (gzipped or not) and CSV files, read from disk
 * or from the bytes a client uploaded, and their normalisation. */
#ifndef GP_DATA_H
#define GP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "gp_err.h"
#include "gp_job.h"

/* A data set: count samples of `features` raw values and a label in
 * 0 .. classes-1. IDX unsigned-byte images are kept as bytes. */
typedef struct gp_dataset {
    size_t count, features;
    int classes; /* 1 + the largest label */
    uint8_t *u8; /* count x features, or NULL */
    float *f32;  /* count x features, when not bytes */
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

#endif
