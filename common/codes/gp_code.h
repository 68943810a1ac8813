/* gp_code.h - the codes gpdot stores a layer's weights in.
 *
 * A layer's weight matrix W (rows x cols) is cut into a grid of m x n blocks
 * W[i][j] (the last row or column of blocks zero-padded) and every one of P
 * nodes stores one coded block Wt_p. With the same block a node serves
 *   forward:   its share of W X      (X: cols x B)
 *   backward:  its share of W^T D    (D: rows x B)
 *   update:    W += alpha D X^T, applied to Wt_p with no re-encoding.
 * Each product's node outputs are decoded (gp_decode) from any responders.
 *
 * Schemes (see CODES.md of the project's design notes, summarised here):
 *   gpd          Generalized PolyDot, m x n blocks. Orientation ROW stores
 *                W[i][j] at a^(j + n i): K_f = mn + n - 1, K_b = (2m - 1) n;
 *                COL stores it at a^(i + m j): K_f = (2n - 1) m, K_b = mn + m - 1.
 *                AUTO picks the smaller max(K_f, K_b), then the smaller sum, then ROW.
 *   polynomial   gpd with n = 1: K_f = m, K_b = 2m - 1.
 *   matdot       gpd with m = 1: K_f = 2n - 1, K_b = n.
 *   mds          the earlier two-dimensional systematic layout: a (Pr, qr)
 *                code over block rows and a (Pc, qc) code over block columns,
 *                each [I; R] with Gaussian R, on qr Pc + (Pr - qr) qc nodes.
 *                Forward decodes row sums, backward column sums, one error
 *                per decode corrected (leave-one-out), more detected.
 *   replication  r copies of each of the mn blocks, P = r m n; decoded by
 *                agreement of copies.
 *   uncoded      one copy of each block, P = m n; nothing is checked.
 *
 * Polynomial codes (gpd, polynomial, matdot) use real evaluation points
 * (gp_points); a code is accepted only if every decode it can be asked to do
 * (any K_f, K_b or K_w = mn responders) has a certified worst-case relative
 * error bound (gp_decode_bound) at most max_bound (default 1e-9).
 *
 * All matrices are row-major gp_rmat views; node outputs are contiguous
 * (ld == cols). A gp_code_t is immutable after creation and safe to share
 * between threads.
 */
#ifndef GP_CODE_H
#define GP_CODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_decode.h"
#include "gp_err.h"
#include "gp_mat.h"

#define GP_MAX_CODED_NODES   24 /* polynomial and mds codes: bounds certified up to here */
#define GP_MAX_SPLIT         24 /* largest m or n */
#define GP_DEFAULT_MAX_BOUND 1e-9

typedef enum gp_scheme {
    GP_SCHEME_GPD,
    GP_SCHEME_POLYNOMIAL,
    GP_SCHEME_MATDOT,
    GP_SCHEME_MDS,
    GP_SCHEME_REPLICATION,
    GP_SCHEME_UNCODED,
    GP_SCHEME_COUNT_
} gp_scheme;

typedef enum gp_orient { GP_ORIENT_AUTO = 0, GP_ORIENT_ROW, GP_ORIENT_COL } gp_orient;

typedef enum gp_dir { GP_FORWARD = 0, GP_BACKWARD = 1 } gp_dir;

typedef struct gp_code_params {
    gp_scheme scheme;
    int nodes;         /* P */
    int m, n;          /* block grid; mds: qr, qc */
    gp_orient orient;  /* gpd only */
    int copies;        /* replication: r (0: P / (m n)) */
    int pr, pc;        /* mds: code lengths (0: chosen) */
    int points;        /* polynomial codes: point family, -1 (or 0 with auto_points) picks */
    bool fixed_points; /* use `points` as given instead of choosing */
    double max_bound;  /* 0: GP_DEFAULT_MAX_BOUND */
    /* single precision products: the nodes multiply a float32 copy of
     * their block by their input rounded to float32, and send float32
     * outputs; the stored blocks, their updates and the decoder stay in
     * double. The noise a correct product output may carry (gp_code_eta)
     * is then taken with float32's unit roundoff 2^-24, that of stored
     * blocks with double's; the code's acceptance does not change (its
     * bounds are the decoder's). */
    bool single;
} gp_code_params;

typedef struct gp_code_info {
    gp_scheme scheme;
    int nodes, m, n;
    gp_orient orient;                    /* resolved (ROW or COL) for polynomial codes */
    int k_forward, k_backward;           /* outputs needed to decode */
    int k_storage;                       /* stored blocks needed to rebuild W */
    int random_forward, random_backward; /* random errors corrected with all nodes up */
    /* adversarial errors corrected (t), and never returned wrong (s), under the
     * decoder's default policy (gp_policy) with all nodes up */
    int adversarial_forward, adversarial_backward;
    int adversarial_detected_forward, adversarial_detected_backward;
    int nodes_forward, nodes_backward; /* nodes taking part (mds: fewer than P) */
    double storage_fraction;           /* of W, per node */
    int points;                        /* point family (polynomial codes), else -1 */
    int copies;                        /* replication */
    int pr, pc;                        /* mds */
    /* certified worst cases: the relative error a decode adds to outputs
     * exact to double's working precision. Each is linear in the unit
     * roundoff: for single-precision data (outputs correctly rounded in
     * float32) it is bound * unit_roundoff / 2^-53. */
    double bound_forward, bound_backward, bound_storage;
    double worst_bound;   /* the largest of the three */
    bool single;          /* gp_code_params.single */
    double unit_roundoff; /* of the products: 2^-53, or 2^-24 when single */
} gp_code_info;

typedef struct gp_code gp_code_t;

/* One node's output (or stored block) handed to a decode. data is contiguous. */
typedef struct gp_node_output {
    int node;
    const double *data;
} gp_node_output;

/* Scheme names: "gpd", "polynomial", "matdot", "mds", "replication", "uncoded". */
const char *gp_scheme_name(gp_scheme s);
/* Returns GP_OK and sets *s, or GP_EINVAL for an unknown name. */
gp_err gp_scheme_parse(const char *name, gp_scheme *s);
const char *gp_orient_name(gp_orient o);

/* Creates a code. Fails with GP_EINVAL (impossible parameters: the reason in
 * why), GP_ENUMERIC (the worst-case decode error bound exceeds max_bound: why
 * gives the bound) or GP_ENOMEM. */
gp_err gp_code_new(const gp_code_params *params, gp_code_t **out, gp_msg *why);

/* Frees the code and sets *code to NULL; safe on NULL and twice. */
void gp_code_destroy(gp_code_t **code);

const gp_code_info *gp_code_info_of(const gp_code_t *code);

/* Evaluation point of node p (polynomial codes; 0 otherwise). */
double gp_code_point(const gp_code_t *code, int p);

/* Shape of a node's stored block for a rows x cols layer. */
size_t gp_code_block_rows(const gp_code_t *code, size_t rows);
size_t gp_code_block_cols(const gp_code_t *code, size_t cols);

/* Rows of a node's output for a product in direction dir (times B columns). */
size_t gp_code_output_rows(const gp_code_t *code, gp_dir dir, size_t rows, size_t cols);

/* Whether node p computes a product in direction dir (mds: not all do). */
bool gp_code_takes_part(const gp_code_t *code, int p, gp_dir dir);

/* Relative noise level of a correct node output (the decoder's eta) for this
 * layer shape: 8 u (inner + 2(mn + K) + 16) sqrt(inner), inner the length of
 * the node's inner products. It covers encoding, the product and the drift of
 * stored blocks under many updates. */
double gp_code_eta(const gp_code_t *code, gp_dir dir, size_t rows, size_t cols);

/* Node p's stored block Wt (block_rows x block_cols) from W (rows x cols). */
gp_err gp_code_encode_weights(const gp_code_t *code, int p, gp_rmat w, gp_rmat wt);

/* Node p's encoded input for a product: forward X (cols x B) -> block_cols x B;
 * backward D (rows x B) -> block_rows x B. GP_ENOTPART if p takes no part. */
gp_err gp_code_encode_input(const gp_code_t *code, int p, gp_dir dir, gp_rmat in, gp_rmat enc);

/* Node p's product: forward out = Wt enc, backward out = Wt^T enc (OpenBLAS). */
void gp_code_node_product(gp_dir dir, gp_rmat wt, gp_rmat enc, gp_rmat out);

/* The same in single precision (gp_code_params.single): OpenBLAS sgemm. */
void gp_code_node_product_f32(gp_dir dir, gp_fmat wt, gp_fmat enc, gp_fmat out);

/* Node p's encodings for the update W += alpha D X^T: dt (block_rows x B) and
 * xt (block_cols x B); the node then applies Wt += alpha dt xt^T
 * (gp_code_node_update). */
gp_err gp_code_encode_update(const gp_code_t *code, int p, gp_rmat d, gp_rmat x, gp_rmat dt,
                             gp_rmat xt);
void gp_code_node_update(double alpha, gp_rmat dt, gp_rmat xt, gp_rmat wt);
/* The same out of place: next = wt + alpha dt xt^T, wt left as it was (a
 * node that may have to take the update back keeps both and swaps). */
void gp_code_node_update_into(double alpha, gp_rmat dt, gp_rmat xt, gp_rmat wt, gp_rmat next);

/* Decodes a product: result is rows x B (forward) or cols x B (backward).
 * outs[] are the outputs that arrived (any order, any subset). Returns as
 * gp_decode: GP_OK (rep->wrong: nodes corrected), GP_EDETECTED, GP_ENODES,
 * GP_EUNVERIFIED (result filled but unchecked; the uncoded scheme returns
 * GP_OK instead, since it never checks). */
gp_err gp_code_decode(const gp_code_t *code, gp_dir dir, size_t rows, size_t cols, size_t batch,
                      const gp_node_output *outs, int nouts, gp_rmat result, gp_decode_report *rep,
                      gp_msg *why);
/* The same for stored blocks that have had `updates` coded updates since
 * they were encoded: their noise grows with sqrt(updates) (see below), and
 * so does what a correct output may differ by. gp_code_decode is this with
 * updates 0. */
gp_err gp_code_decode_stored(const gp_code_t *code, gp_dir dir, size_t rows, size_t cols,
                             size_t batch, uint64_t updates, const gp_node_output *outs, int nouts,
                             gp_rmat result, gp_decode_report *rep, gp_msg *why);

/* Stored-block operations take `updates`, the number of coded updates applied
 * since the blocks were encoded: each adds rounding, and the consistency
 * tolerance grows with its square root.
 *
 * Checks that stored blocks (rows x cols layer) lie on the code; rep->wrong
 * names blocks off it. GP_OK when all given blocks are consistent or the wrong
 * ones were identified; GP_EDETECTED when they cannot be told apart. */
gp_err gp_code_check_weights(const gp_code_t *code, size_t rows, size_t cols,
                             const gp_node_output *blocks, int nblocks, uint64_t updates,
                             gp_decode_report *rep, gp_msg *why);

/* Rebuilds node p's stored block from other nodes' blocks (checked for
 * consistency on the way). */
gp_err gp_code_regenerate(const gp_code_t *code, int p, size_t rows, size_t cols,
                          const gp_node_output *blocks, int nblocks, uint64_t updates, gp_rmat wt,
                          gp_decode_report *rep, gp_msg *why);

/* The nodes whose blocks gp_code_regenerate should be given to rebuild node
 * p's, among `healthy` (bit q: node q's block is sound): for the polynomial
 * codes the K_w + spare whose points lie nearest p's (ties: the lower id), so
 * that the block is interpolated between its neighbours rather than
 * extrapolated from one end of the points, which would multiply the
 * sources' rounding by the Lagrange weights' sum; for mds the healthy
 * members of p's row and column groups (its block is a combination of its
 * own row's or column's blocks only); for replication p's other copies.
 * Never p itself; 0 for uncoded storage (one copy: nothing to rebuild from).
 *
 * K_w blocks are the least a polynomial code rebuilds a block from (each
 * stored block is a generic combination of the K_w blocks of W: any K_w
 * determine it, fewer do not, and the code has no smaller repair), and a
 * rebuild from exactly K_w is not checked by the code itself
 * (GP_EUNVERIFIED): spare 1 has it checked there, spare 0 leaves the check
 * to the caller (the trainer checks a rebuilt block against the stored-code
 * check's projections, which cost a vector per block rather than a block). */
uint64_t gp_code_regen_sources(const gp_code_t *code, int p, uint64_t healthy, int spare);

/* Decodes W (rows x cols) from stored blocks. */
gp_err gp_code_decode_weights(const gp_code_t *code, size_t rows, size_t cols,
                              const gp_node_output *blocks, int nblocks, uint64_t updates,
                              gp_rmat w, gp_decode_report *rep, gp_msg *why);

/* One-line description: "gpd m=2 n=2 row P=8 (K_f=5 K_b=6)". */
void gp_code_describe(const gp_code_t *code, char *buf, size_t len);

#endif
