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

double gp_det_exp(double x)
{
    if (x != x) return x;
    if (x > 709.782712893384) return INFINITY;
    if (x < -745.2) return 0.0;
    /* x = k ln 2 + r, |r| <= ln 2 / 2; exp(r) by its Taylor series to r^14. */
    const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
    double k = nearbyint(x * 1.44269504088896340736);
    double r = (x - k * LN2_HI) - k * LN2_LO, p = 0.0;
    for (int i = 14; i >= 1; i--) p = (p + 1.0) * (r / (double)i);
    return ldexp(1.0 + p, (int)k);
}

/* e^y - 1 without cancellation for y >= 0: the series below 1/2 (terms to
 * y^18), e^y - 1 above, where it loses less than a bit. */
static double det_expm1(double y)
{
    if (y >= 0.5) return gp_det_exp(y) - 1.0;
    double p = 0.0;
    for (int i = 18; i >= 1; i--) p = (p + 1.0) * (y / (double)i);
    return p;
}

double gp_det_tanh(double x)
{
    if (x != x) return x;
    double a = fabs(x);
    if (a > 20.0) return x > 0 ? 1.0 : -1.0;
    if (a < 1e-9) return x; /* tanh x = x (1 - x^2/3 ...): x itself to the last bit */
    double em = det_expm1(2.0 * a), t = em / (em + 2.0);
    return x < 0 ? -t : t;
}
