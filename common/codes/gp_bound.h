/* gp_bound.h - certified worst-case conditioning of a code's decodes.
 *
 * A decode from the K responders S of a code with generator G (P x K) adds a
 * relative error of at most kappa_2(G_S) (2K + 2) u (gp_decode_bound). A code
 * is accepted only when this holds below a limit for every K-subset S, so the
 * worst case over all C(P, K) subsets is computed exactly: first a quick scan
 * of likely bad subsets (consecutive points, a fixed random sample) that
 * refuses a bad code early, then every subset. Results are cached per
 * generator for the life of the process (thread-safe).
 */
#ifndef GP_BOUND_H
#define GP_BOUND_H

#include <stdbool.h>
#include <stdint.h>

#include "gp_err.h"

/* Largest number of subsets the certification enumerates. */
#define GP_BOUND_MAX_SUBSETS 4000000ull

typedef struct gp_worst {
    double kappa;    /* largest kappa_2(G_S) found */
    uint64_t subset; /* bit p: row p is in the worst subset */
    bool certified;  /* every subset was examined (else kappa is a lower bound) */
} gp_worst;

/* Worst kappa_2 over all K-subsets of the P rows of G (rows in increasing
 * order of their points, for the window scan). Stops early, uncertified, as
 * soon as a subset exceeds kappa_limit. Returns GP_OK, GP_ENOMEM, or GP_ERANGE
 * when C(P, K) exceeds GP_BOUND_MAX_SUBSETS and nothing exceeded the limit. */
gp_err gp_bound_worst(const double *G, int P, int K, double kappa_limit, gp_worst *out);

/* Quick lower estimate of the same (windows and a fixed sample only). */
double gp_bound_scan(const double *G, int P, int K);

/* kappa_2 limit that keeps gp_decode_bound(kappa, K) <= max_bound. */
double gp_bound_kappa_limit(double max_bound, int K);

/* The point family for a polynomial code that must decode with nK
 * thresholds K[] on P nodes: every family (or only `fixed` if >= 0) is
 * scanned, the most promising certified first; the first whose worst-case
 * bounds all stay within max_bound wins. */
typedef struct gp_point_choice {
    int family;
    double bound[8]; /* certified worst-case bound per threshold */
    double worst;    /* on refusal: the best worst-case bound seen */
    int worst_index; /* the threshold that set it */
    bool certified;  /* on refusal: whether `worst` is certified or a lower bound */
} gp_point_choice;

/* GP_OK, GP_ENUMERIC (refused; ch->worst says by how much) or GP_ENOMEM. */
gp_err gp_points_choose(int P, const int *K, int nK, int fixed, double max_bound,
                        gp_point_choice *ch);

#endif
