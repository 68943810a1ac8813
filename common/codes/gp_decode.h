/* gp_decode.h - decoding a real linear code from whatever outputs arrived.
 *
 * A code of dimension K over P nodes is given by its generator G (P x K,
 * row-major): the correct output of node p is y_p = sum_k G[p][k] c_k for
 * unknown coefficient vectors c_k of length len. Any K rows of G must be
 * independent (polynomial codes: G[p][k] = a_p^k). From the outputs of any
 * P' responders the decoder evaluates functionals of the coefficients,
 * out_r = sum_k F[r][k] c_k, and names the responders whose outputs were
 * wrong.
 *
 * Guarantees, with e the number of wrong outputs among the P' responders:
 *  - e <= P' - K - 1 random errors (any continuous distribution) are corrected
 *    and the wrong nodes named, with probability 1;
 *  - any pattern of up to t errors is corrected and any pattern of up to s
 *    errors is corrected or reported as detected (GP_EDETECTED), never
 *    returned wrong, whoever chose the errors (t, s: see gp_policy); the
 *    decoder accepts a codeword only if no second codeword agrees with
 *    P' - s or more outputs, which it searches for whenever more than t
 *    outputs disagree;
 *  - e >= P' - K random errors leave no K + 1 consistent outputs: detected;
 *  - NaN and Inf in an output make that output wrong.
 * The result is bitwise identical on every machine for the same inputs.
 *
 * Consistency: output q agrees with a base S of K outputs when
 *   max_l |y_q[l] - sum_k L_k(q) y_{S_k}[l]| <= eta' (|y_q|_inf + sum_k |L_k(q)| |y_{S_k}|_inf)
 * where L(q) = G_q G_S^{-1} are the interpolation weights and eta' = eta plus
 * the rounding of the weights themselves: 4 K u for polynomial codes, whose
 * weights come from the Lagrange formula to high relative accuracy, and
 * 8 K u kappa_inf(G_S) for general codes. The tolerance is the output noise
 * carried through the same weights, so it scales with the conditioning and
 * the data's norms. A deviation below it is of the size of rounding noise,
 * and its effect on the result is bounded by the same weights.
 */
#ifndef GP_DECODE_H
#define GP_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_err.h"

#define GP_MAX_NODES 64

typedef struct gp_lincode {
    int P, K;             /* nodes, dimension; 1 <= K <= P <= GP_MAX_NODES */
    const double *G;      /* P x K generator, row-major */
    const double *points; /* NULL, or distinct a_p with G[p][k] = a_p^k: enables the
                             divided-difference search */
} gp_lincode;

/* Adversarial guarantees. With P' responders the code has distance P' - K + 1,
 * so a decoder can correct every pattern of up to t errors and never return a
 * wrong result for up to s errors only when t + s <= P' - K. The policy picks
 * the split (random errors are corrected up to P' - K - 1 under all of them):
 *   BALANCED (default): s = min(floor((P'-K)/2) + 1, P'-K-1), t = P'-K-s
 *                       (never wrong just beyond the unique-decoding radius);
 *   CORRECT:            t = floor((P'-K)/2), s = P'-K-t (classic unique decoding);
 *   DETECT:             s = P'-K-1, t = 1.
 * gp_decode_policy_ts() gives the pair for a responder count. */
typedef enum gp_policy {
    GP_POLICY_BALANCED = 0,
    GP_POLICY_CORRECT = 1,
    GP_POLICY_DETECT = 2
} gp_policy;

typedef struct gp_decode_req {
    const gp_lincode *code;
    int nresp;              /* number of responders */
    const int *resp;        /* their node ids, distinct, in any order */
    const double *const *y; /* y[i] is the output of resp[i]: len doubles */
    size_t len;
    int nfun;              /* functionals to evaluate (may be 0: check only) */
    const double *F;       /* nfun x K, row-major */
    double *const *out;    /* out[r]: len doubles, written on success */
    int max_errors;        /* < 0: as many as the code allows; else at most this many
                              wrong outputs are corrected, more are reported detected */
    double eta;            /* relative noise of a correct output, > 0 */
    bool allow_unverified; /* accept P' == K (nothing to check against) */
    gp_policy policy;
} gp_decode_req;

typedef struct gp_decode_report {
    gp_err status;   /* the return value of gp_decode */
    uint64_t used;   /* bit p: node p's output was in the base of the result */
    uint64_t agreed; /* bit p: node p's output agreed with the result */
    uint64_t wrong;  /* bit p: node p was found wrong (or is a suspect, if detected) */
    int nwrong;      /* number of bits in wrong */
    int spare;       /* responders beyond K (the least of any group): 0 means nothing
                        could be checked, so an error would not have shown */
    bool fast;       /* no error: one pass over the outputs sufficed */
    double kappa;    /* 2-norm condition number of the base rows of G */
    double bound;    /* kappa * (2K + 2) * u: relative error the decode itself adds */
} gp_decode_report;

/* Decodes. Returns GP_OK (rep->wrong lists corrected outputs),
 * GP_EDETECTED (rep->wrong lists suspects; out[] is unspecified),
 * GP_ENODES (fewer than K responders), GP_EUNVERIFIED (exactly K responders
 * and allow_unverified false; out[] holds the unverified result),
 * GP_EINVAL (bad request), GP_ENOMEM, or GP_ENUMERIC (a base was numerically
 * singular). rep may be NULL. */
gp_err gp_decode(const gp_decode_req *req, gp_decode_report *rep, gp_msg *why);

/* The (t, s) pair of a policy for n responders of a dimension-K code. */
void gp_decode_policy_ts(gp_policy policy, int n, int K, int *t, int *s);

/* Worst-case relative error that decoding from the base rows S of G adds:
 * kappa_2(G_S) * (2K + 2) * u, for outputs exact to working precision.
 * Derivation: the outputs carry relative error u; the decoding weights are
 * computed with a backward-stable factorisation (error ~ K u kappa) and
 * applied with K multiply-adds per element (error ~ K u); each is amplified
 * by at most kappa. */
double gp_decode_bound(double kappa, int K);

#endif
