#include "gp_detmath.h"

#include <math.h>

/* Taylor series in Horner form: the terms decay fast enough on the stated
 * domains that truncation is below half an ulp. */
double gp_det_sin(double x)
{
    double x2 = x * x, s = 0.0;
    for (int k = 31; k >= 3; k -= 2) s = (s + 1.0) * (-x2 / ((double)k * (double)(k - 1)));
    return x + x * s;
}

double gp_det_sinh(double x)
{
    double x2 = x * x, s = 0.0;
    for (int k = 35; k >= 3; k -= 2) s = (s + 1.0) * (x2 / ((double)k * (double)(k - 1)));
    return x + x * s;
}

double gp_det_log(double x)
{
    /* x = m * 2^e with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(f), f = (m-1)/(m+1). */
    int e;
    double m = frexp(x, &e);
    if (m < 0.70710678118654752440) {
        m *= 2.0;
        e -= 1;
    }
    double f = (m - 1.0) / (m + 1.0), f2 = f * f, s = 0.0;
    for (int k = 41; k >= 3; k -= 2) s = (s + 1.0 / (double)k) * f2;
    double lm = 2.0 * f + 2.0 * f * s;
    /* ln 2 split so that e * LN2_HI is exact for |e| < 2^11. */
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    return ((double)e * LN2_HI + lm) + (double)e * LN2_LO;
}
