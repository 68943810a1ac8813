/* gp_points.h - evaluation points of the polynomial codes.
 *
 * Node p of P gets the real point a_p, increasing in p. The points come from a
 * one-parameter family over t_p = -1 + (2p+1)/P (midpoints of P equal cells):
 *
 *   beta > 0:  a_p = sin(beta pi/2 t_p) / sin(beta pi/2)   (beta = 1: Chebyshev points)
 *   beta = 0:  a_p = t_p                                    (equispaced)
 *   beta < 0:  a_p = sinh(-3 beta t_p) / sinh(-3 beta)      (denser near 0)
 *
 * Chebyshev points condition a decode best when few nodes are missing; denser
 * centres do better when many may be missing (any K of P must decode). Each
 * code picks the family member with the smallest certified worst-case bound.
 * Computed with gp_detmath, so every machine gets the same bits.
 */
#ifndef GP_POINTS_H
#define GP_POINTS_H

#define GP_POINT_FAMILIES 8

/* beta of family f (0 <= f < GP_POINT_FAMILIES); family 0 is Chebyshev. */
double gp_points_beta(int family);

/* Writes the P points of family f to a[0..P-1]. */
void gp_points(int family, int P, double *a);

/* G[p][k] = a_p^k (P x K, row-major), by repeated multiplication. */
void gp_vandermonde(const double *a, int P, int K, double *G);

#endif
