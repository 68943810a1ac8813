#include "gp_points.h"

#include <stddef.h>

#include "gp_detmath.h"

static const double betas[GP_POINT_FAMILIES] = {1.0, 0.9, 0.75, 0.5, 0.25, 0.0, -0.2, -0.4};

double gp_points_beta(int family)
{
    return betas[family];
}

void gp_points(int family, int P, double *a)
{
    double beta = betas[family];
    for (int p = 0; p < P; p++) {
        double t = -1.0 + (double)(2 * p + 1) / (double)P;
        if (beta > 0) {
            double h = beta * (GP_PI / 2);
            a[p] = gp_det_sin(h * t) / gp_det_sin(h);
        } else if (beta < 0) {
            double g = -3.0 * beta;
            a[p] = gp_det_sinh(g * t) / gp_det_sinh(g);
        } else {
            a[p] = t;
        }
    }
    /* Make the family exactly symmetric: a_{P-1-p} = -a_p (and a = 0 in the middle). */
    for (int p = 0; p < P / 2; p++) a[P - 1 - p] = -a[p];
    if (P % 2) a[P / 2] = 0.0;
}

void gp_vandermonde(const double *a, int P, int K, double *G)
{
    for (int p = 0; p < P; p++) {
        double v = 1.0;
        for (int k = 0; k < K; k++) {
            G[(size_t)p * K + k] = v;
            v *= a[p];
        }
    }
}
