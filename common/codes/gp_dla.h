/* gp_dla.h - small dense linear algebra for decoding matrices (K <= 64).
 *
 * Plain C in a fixed order of operations, so that every node computes the
 * same decoding coefficients bit for bit (LAPACK's blocking and kernels vary
 * between machines). All matrices are row-major with a leading dimension.
 */
#ifndef GP_DLA_H
#define GP_DLA_H

#include <stdbool.h>

#include <stddef.h>

/* LU factorisation with partial pivoting of the n x n matrix a, in place.
 * piv[i] is the row swapped with row i at step i. Returns 0, or k+1 when the
 * pivot at step k is exactly zero (the matrix is singular). */
int gp_lu_factor(int n, double *a, int lda, int *piv);

/* Solves A x = b for one right-hand side in place, with the factors from
 * gp_lu_factor. */
void gp_lu_solve(int n, const double *lu, int lda, const int *piv, double *b);

/* Singular values of the m x n matrix a (m >= n), in decreasing order, by
 * one-sided Jacobi (accurate to a few ulps relative to the largest). Returns
 * 0, or -1 on a bad shape. */
int gp_svd_values(int m, int n, const double *a, int lda, double *sv);

/* 2-norm condition number of the m x n matrix (m >= n); +Inf if singular. */
double gp_cond2(int m, int n, const double *a, int lda);

/* Chooses k of the ncand rows cand[] of g (each row has k entries, leading
 * dimension ldg) that span well: greedy pivoted Gram-Schmidt on the rows, ties
 * to the earlier candidate. Writes the chosen row indices, in the order of
 * cand[], to sel[]. Returns the number chosen (< k if the rows are rank
 * deficient). */
int gp_select_rows(int k, const double *g, int ldg, const int *cand, int ncand, int *sel);

/* Steps a[0] < ... < a[k-1] to the next k-subset of 0..n-1 in lexicographic
 * order; false after the last one. */
bool gp_next_subset(int *a, int k, int n);

#endif
