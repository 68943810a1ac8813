/* gp_model.h - model files: a trained network as .npy weights and biases
 * with a YAML manifest, for numpy, PyTorch and `gpdot-client eval`. */
#ifndef GP_MODEL_H
#define GP_MODEL_H

#include "gp_data.h"
#include "gp_err.h"
#include "gp_job.h"
#include "gp_mat.h"

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
