/* gp_gpdmm.h - Generalized PolyDot codes for one matrix product C = A B.
 *
 * A (rows x inner) is cut into t x s blocks, B (inner x cols) into s x t'
 * blocks (the last ones zero-padded). Node p of P, with point a_p, computes
 *   At_p = sum_{i,j} A[i][j] a_p^(j + s i),  Bt_p = sum_{k,l} B[k][l] a_p^((s-1-k) + s t l)
 * and the product At_p Bt_p; block C[i][l] is the coefficient of
 * a^(s-1 + s i + s t l), so any K = t t' s + s - 1 outputs determine C
 * (garbage alignment). t' = 1 is the layer forward product of gp_code with
 * X in place of x; splitting the batch (t' > 1) trades nodes for smaller
 * per-node products. Decoding, its guarantees and the certified error bound
 * are those of gp_decode and gp_code.
 */
#ifndef GP_GPDMM_H
#define GP_GPDMM_H

#include "gp_code.h"

typedef struct gp_gpdmm gp_gpdmm_t;

/* A code for P nodes and splits t, s, t' (each 1..GP_MAX_SPLIT). GP_EINVAL
 * if P < K, GP_ENUMERIC if the worst-case decode bound exceeds max_bound
 * (0: GP_DEFAULT_MAX_BOUND). */
gp_err gp_gpdmm_new(int P, int t, int s, int tp, double max_bound, gp_gpdmm_t **out, gp_msg *why);
void gp_gpdmm_destroy(gp_gpdmm_t **code);

/* Recovery threshold K = t t' s + s - 1, and the certified bound. */
int gp_gpdmm_threshold(const gp_gpdmm_t *code);
double gp_gpdmm_bound(const gp_gpdmm_t *code);

/* Shapes: At_p is ceil(rows/t) x ceil(inner/s), Bt_p ceil(inner/s) x ceil(cols/t'). */
gp_err gp_gpdmm_encode_a(const gp_gpdmm_t *code, int p, gp_rmat a, gp_rmat at);
gp_err gp_gpdmm_encode_b(const gp_gpdmm_t *code, int p, gp_rmat b, gp_rmat bt);

/* Decodes C (rows x cols) from node outputs At_p Bt_p (contiguous). */
gp_err gp_gpdmm_decode(const gp_gpdmm_t *code, size_t rows, size_t inner, size_t cols,
                       const gp_node_output *outs, int nouts, gp_rmat c, gp_decode_report *rep,
                       gp_msg *why);

#endif
