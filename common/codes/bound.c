#include "gp_bound.h"

#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gp_decode.h"
#include "gp_dla.h"
#include "gp_points.h"
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
        } while (gp_next_subset(rows, K, P));
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

gp_err gp_points_choose(int P, const int *K, int nK, int fixed, double max_bound,
                        gp_point_choice *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->worst = INFINITY;
    ch->certified = true;
    if (nK < 1 || nK > 8 || P < 1 || P > GP_MAX_NODES) return GP_EINVAL;
    double est[GP_POINT_FAMILIES], a[GP_MAX_NODES];
    int order[GP_POINT_FAMILIES], nf = 0;
    double *G = malloc(sizeof(double) * (size_t)P * GP_MAX_NODES);
    if (!G) return GP_ENOMEM;
    for (int f = 0; f < GP_POINT_FAMILIES; f++) {
        if (fixed >= 0 && f != fixed) continue;
        gp_points(f, P, a);
        double e = 0;
        for (int w = 0; w < nK; w++) {
            gp_vandermonde(a, P, K[w], G);
            double b = gp_decode_bound(gp_bound_scan(G, P, K[w]), K[w]);
            if (b > e) e = b;
        }
        int i = nf++;
        while (i > 0 && est[order[i - 1]] > e) {
            order[i] = order[i - 1];
            i--;
        }
        order[i] = f;
        est[f] = e;
    }
    for (int t = 0; t < nf; t++) {
        int f = order[t];
        if (est[f] > max_bound && ch->worst < INFINITY) break; /* the rest cannot pass */
        gp_points(f, P, a);
        double worst = 0;
        int worst_w = 0;
        bool ok = true, cert = true;
        for (int w = 0; w < nK && ok; w++) {
            gp_vandermonde(a, P, K[w], G);
            gp_worst wc;
            gp_err e = gp_bound_worst(G, P, K[w], gp_bound_kappa_limit(max_bound, K[w]), &wc);
            if (e == GP_ENOMEM) {
                free(G);
                return e;
            }
            if (e == GP_ERANGE) { /* too many subsets to certify */
                ok = cert = false;
                ch->bound[w] = gp_decode_bound(gp_bound_scan(G, P, K[w]), K[w]);
            } else {
                ch->bound[w] = gp_decode_bound(wc.kappa, K[w]);
                if (!wc.certified || ch->bound[w] > max_bound) ok = false;
                if (!wc.certified) cert = false;
            }
            if (ch->bound[w] > worst) {
                worst = ch->bound[w];
                worst_w = w;
            }
        }
        if (ok) {
            ch->family = f;
            free(G);
            return GP_OK;
        }
        if (worst < ch->worst) {
            ch->worst = worst;
            ch->worst_index = worst_w;
            ch->certified = cert;
        }
    }
    free(G);
    return GP_ENUMERIC;
}
