/* gp_rng.h - a small deterministic random number generator.
 *
 * xoshiro256** seeded through splitmix64: the same seed gives the same
 * stream on every machine. Used for code generators (the Gaussian parity rows
 * of the mds scheme), decoder projections and tests; never for secrets.
 */
#ifndef GP_RNG_H
#define GP_RNG_H

#include <stdint.h>

typedef struct gp_rng {
    uint64_t s[4];
} gp_rng;

void gp_rng_seed(gp_rng *r, uint64_t seed);
uint64_t gp_rng_u64(gp_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double gp_rng_uniform(gp_rng *r);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t gp_rng_below(gp_rng *r, uint64_t n);
/* Standard normal (Marsaglia's polar method with gp_det_log: reproducible). */
double gp_rng_normal(gp_rng *r);
/* splitmix64 step: a good 64-bit mix of x. */
uint64_t gp_mix64(uint64_t x);

#endif
