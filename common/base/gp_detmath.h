/* gp_detmath.h - elementary functions that give the same bits everywhere.
 *
 * Evaluation points and code generators must be identical on every node,
 * or the nodes would decode different things. libm's sin and log may differ
 * in the last bit between versions and machines; these use only IEEE +, -,
 * *, /, sqrt, frexp and ldexp in a fixed order (the build disables FMA
 * contraction), so they are bitwise reproducible. They are within 2 ulp of
 * libm on the stated domains, which the unit tests check.
 */
#ifndef GP_DETMATH_H
#define GP_DETMATH_H

#define GP_PI 3.14159265358979323846

/* sin(x) for |x| <= pi/2. */
double gp_det_sin(double x);

/* sinh(x) for |x| <= 3. */
double gp_det_sinh(double x);

/* Natural logarithm for finite x > 0. */
double gp_det_log(double x);

/* e^x for every x (0 below -745.2, +Inf above 709.78, NaN for NaN). */
double gp_det_exp(double x);

/* tanh(x) for every x, within 4 ulp of libm (e^2x - 1, a sum and a quotient). */
double gp_det_tanh(double x);

#endif
