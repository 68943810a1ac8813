#include "gp_bound.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gp_decode.h"
#include "gp_dla.h"
#include "gp_rng.h"

double gp_bound_kappa_limit(double max_bound, int K)
{
    return max_bound / gp_decode_bound(1.0, K);
}

static double subset_kappa(const double *G, int K, const int *rows)
{
    double a[GP_MAX_NODES * GP_MAX_NODES];
    for (int i = 0; i < K; i++) memcpy(a + i * K, G + (size_t)rows[i] * K, sizeof(double) * K);
    return gp_cond2(K, K, a, K);
}

static uint64_t rows_mask(const int *rows, int K)
{
    uint64_t m = 0;
    for (int i = 0; i < K; i++) m |= 1ull << rows[i];
    return m;
}

static bool next_comb(int *a, int K, int n)
{
    int i = K - 1;
    while (i >= 0 && a[i] == n - K + i) i--;
    if (i < 0) return false;
    a[i]++;
    for (int j = i + 1; j < K; j++) a[j] = a[j - 1] + 1;
    return true;
}

static double binom(int n, int k)
{
    double r = 1;
    for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
    return r;
}

/* Windows of consecutive rows, then a fixed sample of 64 random subsets. */
static void scan(const double *G, int P, int K, double *kmax, uint64_t *arg)
{
    int rows[GP_MAX_NODES] = {0};
    for (int s = 0; s + K <= P; s++) {
        for (int i = 0; i < K; i++) rows[i] = s + i;
        double k = subset_kappa(G, K, rows);
        if (!(k <= *kmax)) {
            *kmax = k;
            *arg = rows_mask(rows, K);
        }
    }
    gp_rng rng;
    gp_rng_seed(&rng, 0xB0B0ull + (uint64_t)P * 977 + (uint64_t)K);
    for (int t = 0; t < 64 && binom(P, K) > P; t++) {
        uint64_t pick = 0;
        while (__builtin_popcountll(pick) < K) pick |= 1ull << gp_rng_below(&rng, (uint64_t)P);
        for (int p = 0, i = 0; p < P; p++)
            if (pick >> p & 1) rows[i++] = p;
        double k = subset_kappa(G, K, rows);
        if (!(k <= *kmax)) {
            *kmax = k;
            *arg = pick;
        }
    }
}

double gp_bound_scan(const double *G, int P, int K)
{
    double k = 0;
    uint64_t arg = 0;
    scan(G, P, K, &k, &arg);
    return k;
}

/* ---- cache ---------------------------------------------------------------- */

#define CACHE_SIZE 512
static struct entry {
    uint64_t hash;
    int P, K;
    gp_worst w;
    bool used;
} cache[CACHE_SIZE];
static int cache_next;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t hash_G(const double *G, int P, int K)
{
    uint64_t h = 0x243F6A8885A308D3ull ^ (uint64_t)P << 32 ^ (uint64_t)K;
    for (int i = 0; i < P * K; i++) {
        uint64_t b;
        memcpy(&b, G + i, sizeof b);
        h = gp_mix64(h ^ b);
    }
    return h;
}

gp_err gp_bound_worst(const double *G, int P, int K, double kappa_limit, gp_worst *out)
{
    memset(out, 0, sizeof *out);
    if (K < 1 || K > P || P > GP_MAX_NODES) return GP_EINVAL;
    uint64_t h = hash_G(G, P, K);
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SIZE; i++)
        if (cache[i].used && cache[i].hash == h && cache[i].P == P && cache[i].K == K &&
            (cache[i].w.certified || cache[i].w.kappa > kappa_limit)) {
            *out = cache[i].w;
            pthread_mutex_unlock(&cache_lock);
            return GP_OK;
        }
    pthread_mutex_unlock(&cache_lock);

    double kmax = 0;
    uint64_t arg = 0;
    scan(G, P, K, &kmax, &arg);
    bool certified = false;
    if (kmax <= kappa_limit) {
        if (binom(P, K) > (double)GP_BOUND_MAX_SUBSETS) return GP_ERANGE;
        int rows[GP_MAX_NODES];
        for (int i = 0; i < K; i++) rows[i] = i;
        certified = true;
        do {
            double k = subset_kappa(G, K, rows);
            if (!(k <= kmax)) {
                kmax = k;
                arg = rows_mask(rows, K);
                if (!(kmax <= kappa_limit)) {
                    certified = false;
                    break;
                }
            }
        } while (next_comb(rows, K, P));
    }
    out->kappa = kmax;
    out->subset = arg;
    out->certified = certified;

    pthread_mutex_lock(&cache_lock);
    cache[cache_next] = (struct entry){h, P, K, *out, true};
    cache_next = (cache_next + 1) % CACHE_SIZE;
    pthread_mutex_unlock(&cache_lock);
    return GP_OK;
}
