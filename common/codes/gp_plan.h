/* gp_plan.h - the code choices for a cluster of P nodes.
 *
 * Lists, for one layer shape and batch size, every scheme and split the
 * library accepts on P nodes (gpd in both orientations, polynomial, matdot,
 * mds, replication, uncoded with splits up to 6 x 6), with what each costs
 * and corrects; and the polynomial configurations that fit P but were
 * refused for their numerical bound, with that bound.
 */
#ifndef GP_PLAN_H
#define GP_PLAN_H

#include <stddef.h>

#include "gp_code.h"

typedef struct gp_plan_row {
    gp_code_params params; /* as given to gp_code_new */
    gp_code_info info;     /* accepted rows only */
    double bytes_forward;  /* bytes one node sends per forward product (to all peers) */
    double bytes_backward; /* the same for a backward product */
    /* the relative error a decode adds to outputs correct in the data's
     * precision (info.worst_bound at double's unit roundoff, scaled to the
     * data's: see gp_code_info) */
    double worst_error;
    /* the decoder's tolerance for this layer: the relative noise a correct
     * output may carry (gp_code_eta); a deviation past it is an error */
    double eta_forward, eta_backward;
    bool accepted;
    char refusal[320]; /* why not, for refused rows */
} gp_plan_row;

typedef struct gp_plan_req {
    int nodes;         /* P, 1..GP_MAX_NODES */
    size_t rows, cols; /* layer shape (W is rows x cols) */
    size_t batch;      /* B */
    int min_errors;    /* keep choices correcting at least this many random errors both ways */
    bool single;       /* float32 products, outputs and blocks (gp_code_params.single) */
} gp_plan_req;

/* Fills *rows (malloc'd; free with free()) with accepted rows first, sorted
 * by scheme, storage and split, then refused ones. */
gp_err gp_plan(const gp_plan_req *req, gp_plan_row **rows, int *nrows, gp_msg *why);

#endif
