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
    bool accepted;
    char refusal[320]; /* why not, for refused rows */
} gp_plan_row;

typedef struct gp_plan_req {
    int nodes;         /* P, 1..GP_MAX_NODES */
    size_t rows, cols; /* layer shape (W is rows x cols) */
    size_t batch;      /* B */
    int min_errors;    /* keep choices correcting at least this many random errors both ways */
} gp_plan_req;

/* Fills *rows (malloc'd; free with free()) with accepted rows first, sorted
 * by scheme, storage and split, then refused ones. */
gp_err gp_plan(const gp_plan_req *req, gp_plan_row **rows, int *nrows, gp_msg *why);

#endif
