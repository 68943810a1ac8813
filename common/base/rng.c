#include "gp_rng.h"

#include <math.h>

#include "gp_detmath.h"

uint64_t gp_mix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void gp_rng_seed(gp_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9E3779B97F4A7C15ull;
        r->s[i] = gp_mix64(seed);
    }
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t gp_rng_u64(gp_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gp_rng_uniform(gp_rng *r)
{
    return (double)(gp_rng_u64(r) >> 11) * 0x1.0p-53;
}

uint64_t gp_rng_below(gp_rng *r, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do x = gp_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double gp_rng_normal(gp_rng *r)
{
    for (;;) {
        double u = 2.0 * gp_rng_uniform(r) - 1.0, v = 2.0 * gp_rng_uniform(r) - 1.0;
        double s = u * u + v * v;
        if (s > 0.0 && s < 1.0) return u * sqrt(-2.0 * gp_det_log(s) / s);
    }
}
