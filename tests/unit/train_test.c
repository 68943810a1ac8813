/* train_test.c - the model's arithmetic: the schedules, initial weights and
 * sample orders, the elementwise steps, a finite-difference check of the
 * backward pass, the local trainer on a problem it must learn, model files,
 * and (case numpy_reference) whole training runs against an independent
 * numpy implementation, tests/ref/train_ref.py. */
#include <float.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testlib.h"
#include "gp_blas.h"
#include "gp_npy.h"
#include "gp_rng.h"
#include "gp_model.h"
#include "gp_train.h"

static gp_job base_job(int L, const int *sizes, const gp_act *act)
{
    gp_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.name, sizeof j.name, "t");
    j.nlayers = L;
    for (int l = 0; l <= L; l++) j.sizes[l] = sizes[l];
    for (int l = 0; l < L - 1; l++) j.act[l] = act[l];
    j.init_seed = 1;
    j.normalize = GP_NORM_STANDARDIZE;
    j.batch = 8;
    j.epochs = 2;
    j.lr = 0.1;
    j.schedule = GP_SCHED_CONSTANT;
    j.step_every = 1;
    j.gamma = 0.5;
    j.shuffle_seed = 1;
    return j;
}

/* ---- schedules ------------------------------------------------------------------------ */

static void schedule(void)
{
    int sizes[] = {4, 3};
    gp_job j = base_job(1, sizes, NULL);
    j.lr = 0.4;
    j.epochs = 6;
    for (uint64_t s = 0; s < 100; s++) CHECK(gp_train_lr(&j, s, 10) == 0.4);
    /* step: lr * gamma^floor(epoch / step_every), epoch = floor(step / steps_per_epoch) */
    j.schedule = GP_SCHED_STEP;
    j.gamma = 0.5;
    j.step_every = 2;
    CHECK(gp_train_lr(&j, 0, 10) == 0.4 && gp_train_lr(&j, 19, 10) == 0.4);
    CHECK(gp_train_lr(&j, 20, 10) == 0.2 && gp_train_lr(&j, 39, 10) == 0.2);
    CHECK(gp_train_lr(&j, 40, 10) == 0.1 && gp_train_lr(&j, 59, 10) == 0.1);
    j.gamma = 0.1;
    j.step_every = 1;
    CHECK(fabs(gp_train_lr(&j, 35, 10) - 0.4e-3) < 1e-18);
    /* cosine: lr_min + (lr - lr_min) (1 + cos(pi step / total)) / 2, total = 6 * 10 */
    j.schedule = GP_SCHED_COSINE;
    j.lr_min = 0.01;
    CHECK(gp_train_lr(&j, 0, 10) == 0.4);
    CHECK(fabs(gp_train_lr(&j, 30, 10) - 0.205) < 1e-16);
    CHECK(fabs(gp_train_lr(&j, 60, 10) - 0.01) <= 2 * DBL_EPSILON * 0.4);
    CHECK(gp_train_lr(&j, 1000, 10) == gp_train_lr(&j, 60, 10)); /* beyond the end: lr_min */
    double worst = 0, prev = 1;
    bool falling = true;
    for (uint64_t s = 0; s <= 60; s++) {
        double want = 0.01 + 0.39 * (1 + cos(acos(-1.0) * (double)s / 60)) / 2,
               got = gp_train_lr(&j, s, 10);
        worst = fmax(worst, fabs(got - want));
        falling = falling && got <= prev;
        prev = got;
    }
    /* within a few ulp of 0.4 of libm's cos (gp_det_sin is within 2 ulp) */
    CHECKF(worst <= 4 * DBL_EPSILON * 0.4 && falling, "worst %.3g", worst);
}

/* ---- initial weights and orders ------------------------------------------------------- */

static void init_order(void)
{
    int sizes[] = {300, 200, 100, 10};
    gp_act act[] = {GP_ACT_RELU, GP_ACT_TANH};
    gp_job j = base_job(3, sizes, act);
    for (int l = 0; l < 3; l++) {
        gp_rmat w, w2;
        REQUIRE(gp_rmat_alloc(&w, (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
        REQUIRE(gp_rmat_alloc(&w2, (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
        gp_train_init_weights(&j, l, w);
        gp_train_init_weights(&j, l, w2);
        CHECK(!memcmp(w.data, w2.data, w.rows * w.cols * sizeof(double)));
        /* He-uniform for the relu layer, Glorot-uniform for tanh and the output */
        double lim = l == 0 ? sqrt(6.0 / sizes[0]) : sqrt(6.0 / (sizes[l] + sizes[l + 1]));
        double mx = 0, s = 0, s2 = 0, bias = 0;
        size_t n = 0;
        for (size_t r = 0; r < w.rows; r++) {
            for (size_t c = 0; c < w.cols - 1; c++) {
                double v = *gp_rmat_at(w, r, c);
                mx = fmax(mx, fabs(v));
                s += v;
                s2 += v * v;
                n++;
            }
            bias = fmax(bias, fabs(*gp_rmat_at(w, r, w.cols - 1)));
        }
        CHECK(bias == 0 && mx <= lim && mx > 0.99 * lim);
        /* uniform on [-lim, lim]: mean 0, variance lim^2/3; n >= 2000 samples, so
         * the standard errors are below lim/sqrt(3 n) and lim^2 / (sqrt(5) n^0.5) */
        CHECKF(fabs(s / n) < 5 * lim / sqrt(3.0 * n), "layer %d mean %g", l, s / n);
        CHECKF(fabs(s2 / n - lim * lim / 3) < 5 * lim * lim / sqrt(5.0 * n), "layer %d var %g", l,
               s2 / n);
        /* another seed, other weights */
        j.init_seed = 2;
        gp_train_init_weights(&j, l, w2);
        CHECK(memcmp(w.data, w2.data, w.rows * w.cols * sizeof(double)) != 0);
        j.init_seed = 1;
        gp_rmat_free(&w);
        gp_rmat_free(&w2);
    }
    /* orders: permutations, reproducible, different per epoch and seed */
    enum { C = 1000 };
    static uint32_t a[C], b[C], c[C];
    gp_train_order(&j, 0, C, a);
    gp_train_order(&j, 0, C, b);
    CHECK(!memcmp(a, b, sizeof a));
    gp_train_order(&j, 1, C, c);
    CHECK(memcmp(a, c, sizeof a) != 0);
    j.shuffle_seed = 7;
    gp_train_order(&j, 0, C, b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    static bool seen[C];
    int fixed = 0, perm = 1;
    for (int i = 0; i < C; i++) {
        perm &= a[i] < C && !seen[a[i]];
        if (a[i] < C) seen[a[i]] = true;
        fixed += a[i] == (uint32_t)i;
    }
    CHECK(perm && fixed < 10); /* a random permutation has about 1 fixed point */
    uint32_t one;
    gp_train_order(&j, 3, 1, &one);
    CHECK(one == 0);
}

/* ---- elementwise steps ---------------------------------------------------------------- */

static void activations(void)
{
    enum { R = 5, B = 40 };
    double sd[R * B], xd[(R + 1) * B], cd[(R + 1) * B];
    gp_rng r;
    gp_rng_seed(&r, 3);
    for (int i = 0; i < R * B; i++) sd[i] = 12 * gp_rng_uniform(&r) - 6;
    sd[0] = 0;
    sd[1] = -800; /* exp(800) overflows: sigmoid must still be 0 */
    sd[2] = 800;
    gp_rmat s = gp_rmat_view(sd, R, B, B), x = gp_rmat_view(xd, R + 1, B, B),
            c = gp_rmat_view(cd, R + 1, B, B);
    for (int f = GP_ACT_RELU; f <= GP_ACT_IDENTITY; f++) {
        gp_train_activate((gp_act)f, s, x);
        for (int i = 0; i < R * B + B; i++) cd[i] = 3.0;
        gp_train_hadamard((gp_act)f, s, c);
        double worst = 0, worst_d = 0;
        for (int i = 0; i < R * B; i++) {
            double v = sd[i], want, dwant;
            switch (f) {
            case GP_ACT_RELU:
                want = v > 0 ? v : 0;
                dwant = v > 0 ? 1 : 0;
                break;
            case GP_ACT_TANH:
                want = tanh(v);
                dwant = 1 - want * want;
                break;
            case GP_ACT_SIGMOID:
                want = 1 / (1 + exp(-v));
                dwant = want * (1 - want);
                break;
            default:
                want = v;
                dwant = 1;
            }
            worst = fmax(worst, fabs(xd[i] - want));
            worst_d = fmax(worst_d, fabs(cd[i] - 3 * dwant));
        }
        /* values in [-1, 1] (or exact): a few ulp of 1 from libm (gp_det_tanh
         * is within 4 ulp, exp within 2 and the rest exact or one rounding) */
        CHECKF(worst <= 8 * DBL_EPSILON && worst_d <= 3 * 16 * DBL_EPSILON, "%s: %g %g",
               gp_act_name((gp_act)f), worst, worst_d);
        int ones = 1;
        for (int j = 0; j < B; j++) ones &= xd[R * B + j] == 1.0 && cd[R * B + j] == 3.0;
        CHECK(ones); /* the row of ones, and c's extra row untouched */
    }
    CHECK(!strcmp(gp_act_name(GP_ACT_IDENTITY), "identity"));
}

static void softmax(void)
{
    enum { K = 4, B = 6 };
    double sd[K * B], dd[K * B];
    gp_rng r;
    gp_rng_seed(&r, 5);
    for (int i = 0; i < K * B; i++) sd[i] = 8 * gp_rng_uniform(&r) - 4;
    for (int i = 0; i < K; i++) sd[i * B + 5] = 1000 + i; /* large: no overflow */
    uint8_t y[B] = {0, 1, 2, 3, 0, 3};
    int correct;
    gp_rmat s = gp_rmat_view(sd, K, B, B), d = gp_rmat_view(dd, K, B, B);
    double loss = gp_train_softmax_xent(s, y, d, &correct);
    long double want = 0;
    int want_ok = 0;
    double worst = 0;
    for (int j = 0; j < B; j++) {
        long double mx = -INFINITY, sum = 0;
        int arg = 0;
        for (int i = 0; i < K; i++)
            if (sd[i * B + j] > mx) {
                mx = sd[i * B + j];
                arg = i;
            }
        for (int i = 0; i < K; i++) sum += expl(sd[i * B + j] - mx);
        want += logl(sum) - (sd[y[j] * B + j] - mx);
        want_ok += arg == y[j];
        double col = 0;
        for (int i = 0; i < K; i++) {
            long double p = expl(sd[i * B + j] - mx) / sum;
            worst = fmax(worst, fabs(dd[i * B + j] - (double)((p - (i == y[j])) / B)));
            col += dd[i * B + j];
        }
        CHECK(fabs(col) < 4 * DBL_EPSILON); /* a column of delta sums to 0 */
    }
    /* the loss: B terms of size up to ~8, each within a few ulp */
    CHECKF(fabs(loss - (double)want) <= 16 * B * 8 * DBL_EPSILON, "%.17g %.17Lg", loss, want);
    CHECKF(worst <= 8 * DBL_EPSILON, "%g", worst);
    CHECK(correct == want_ok && correct > 0);
    CHECK(isfinite(loss) &&
          fabs(dd[3 * B + 5] - (double)((1 / (1 + expl(-1) + expl(-2) + expl(-3)) - 1) / B)) <
              1e-16);
}

/* ---- the backward pass against finite differences -------------------------------------- */

/* The mean cross-entropy of a batch, in long double, independently of
 * train.c; *pattern counts the positive relu pre-activations (a change
 * tells that a finite difference crossed a kink). */
static long double loss_ld(const gp_job *j, const gp_rmat *w, const double *x0, int b,
                           const uint8_t *y, uint64_t *pattern)
{
    long double a[64 * 16], s[64 * 16];
    int L = j->nlayers;
    for (int i = 0; i < (j->sizes[0] + 1) * b; i++) a[i] = x0[i];
    *pattern = 0;
    for (int l = 0; l < L; l++) {
        int in = j->sizes[l], out = j->sizes[l + 1];
        for (int r = 0; r < out; r++)
            for (int c = 0; c < b; c++) {
                long double t = 0;
                for (int k = 0; k <= in; k++)
                    t += (long double)*gp_rmat_at(w[l], r, k) * a[k * b + c];
                s[r * b + c] = t;
            }
        if (l == L - 1) break;
        for (int i = 0; i < out * b; i++) {
            long double v = s[i];
            switch (j->act[l]) {
            case GP_ACT_RELU:
                a[i] = v > 0 ? v : 0;
                *pattern = *pattern * 3 + (uint64_t)(v > 0);
                break;
            case GP_ACT_TANH:
                a[i] = tanhl(v);
                break;
            case GP_ACT_SIGMOID:
                a[i] = 1 / (1 + expl(-v));
                break;
            default:
                a[i] = v;
            }
        }
        for (int c = 0; c < b; c++) a[out * b + c] = 1;
    }
    int K = j->sizes[L];
    long double tot = 0;
    for (int c = 0; c < b; c++) {
        long double mx = s[c], sum = 0;
        for (int i = 1; i < K; i++) mx = fmaxl(mx, s[i * b + c]);
        for (int i = 0; i < K; i++) sum += expl(s[i * b + c] - mx);
        tot += logl(sum) - (s[y[c] * b + c] - mx);
    }
    return tot / b;
}

static void gradient_check(void)
{
    int sizes[] = {12, 7, 5, 3};
    gp_act acts[][2] = {{GP_ACT_RELU, GP_ACT_RELU},
                        {GP_ACT_TANH, GP_ACT_TANH},
                        {GP_ACT_SIGMOID, GP_ACT_SIGMOID},
                        {GP_ACT_TANH, GP_ACT_IDENTITY}};
    enum { B = 6, L = 3 };
    for (int v = 0; v < 4; v++) {
        gp_job j = base_job(L, sizes, acts[v]);
        j.init_seed = 11 + (uint64_t)v;
        gp_rmat w[L], x[L], s[L + 1], d[L + 1], g[L], c;
        REQUIRE(gp_rmat_alloc(&c, 13, B) == GP_OK);
        for (int l = 0; l < L; l++) {
            REQUIRE(gp_rmat_alloc(&w[l], (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
            REQUIRE(gp_rmat_alloc(&g[l], (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
            REQUIRE(gp_rmat_alloc(&x[l], (size_t)sizes[l] + 1, B) == GP_OK);
            REQUIRE(gp_rmat_alloc(&s[l + 1], (size_t)sizes[l + 1], B) == GP_OK);
            REQUIRE(gp_rmat_alloc(&d[l + 1], (size_t)sizes[l + 1], B) == GP_OK);
            gp_train_init_weights(&j, l, w[l]);
            /* biases too, so that their gradients are checked at a general point */
            for (int r = 0; r < sizes[l + 1]; r++)
                *gp_rmat_at(w[l], r, (size_t)sizes[l]) = 0.1 * (r % 3 - 1);
        }
        gp_rng r;
        gp_rng_seed(&r, 100 + (uint64_t)v);
        uint8_t y[B];
        for (int i = 0; i < 12 * B; i++) x[0].data[i] = 2 * gp_rng_uniform(&r) - 1;
        for (int i = 0; i < B; i++) x[0].data[12 * B + i] = 1;
        for (int i = 0; i < B; i++) y[i] = (uint8_t)gp_rng_below(&r, 3);
        /* forward, output, backward: the trainer's steps */
        for (int l = 0; l < L; l++) {
            gp_gemm_rm(false, 1.0, w[l], x[l], 0.0, s[l + 1]);
            if (l < L - 1) gp_train_activate(j.act[l], s[l + 1], x[l + 1]);
        }
        gp_train_softmax_xent(s[L], y, d[L], NULL);
        for (int l = L - 1; l >= 1; l--) {
            gp_rmat cv = gp_rmat_view(c.data, (size_t)sizes[l] + 1, B, B);
            gp_gemm_rm(true, 1.0, w[l], d[l + 1], 0.0, cv);
            gp_train_hadamard(j.act[l - 1], s[l], cv);
            gp_rmat_copy(d[l], gp_rmat_view(c.data, (size_t)sizes[l], B, B));
        }
        for (int l = 0; l < L; l++) gp_rank_update_rm(1.0, d[l + 1], x[l], g[l]); /* dL/dW_l */
        /* Central differences in long double with h = 1e-6: the truncation
         * error is h^2/6 |d^3 L| = 1.7e-13 |d^3 L|, and |d^3 L| is at most
         * about 10 for these weights and inputs in [-1, 1]: 1.7e-12. L is
         * a sum of dot products of at most 13 terms of size O(1) through 3
         * layers, within about 40 u_ld = 2e-18 in long double, which the
         * division by 2h turns into at most 2e-12. The double gradient is
         * within about 50 u = 6e-15 (dot products of at most 13 terms,
         * through 3 layers). So 1e-11 holds with a factor 2.5 over the sum;
         * a wrong derivative or a missing term is off by O(|g|) ~ 1e-2. */
        double worst = 0, gmax = 0;
        int skipped = 0, checked = 0;
        uint64_t p0, pp, pm;
        loss_ld(&j, w, x[0].data, B, y, &p0);
        for (int l = 0; l < L; l++)
            for (size_t i = 0; i < w[l].rows * w[l].cols; i++) {
                double keep = w[l].data[i];
                /* the weights are doubles: step by h = 1e-6 in double and
                 * divide by the step actually taken (exact in long double) */
                double up = keep + 1e-6, dn = keep - 1e-6;
                w[l].data[i] = up;
                long double lp = loss_ld(&j, w, x[0].data, B, y, &pp);
                w[l].data[i] = dn;
                long double lm = loss_ld(&j, w, x[0].data, B, y, &pm);
                w[l].data[i] = keep;
                if (pp != p0 || pm != p0) { /* a relu kink in between */
                    skipped++;
                    continue;
                }
                double fd = (double)((lp - lm) / ((long double)up - (long double)dn));
                worst = fmax(worst, fabs(fd - g[l].data[i]));
                gmax = fmax(gmax, fabs(g[l].data[i]));
                checked++;
            }
        printf("  %s/%s: worst %.3g over %d, %d skipped\n", gp_act_name(acts[v][0]),
               gp_act_name(acts[v][1]), worst, checked, skipped);
        CHECKF(worst <= 1e-11 && checked >= 140 && skipped <= 9 && gmax > 1e-3,
               "%s/%s: worst %.3g over %d (|g| up to %.3g), %d skipped", gp_act_name(acts[v][0]),
               gp_act_name(acts[v][1]), worst, checked, gmax, skipped);
        for (int l = 0; l < L; l++) {
            gp_rmat_free(&w[l]);
            gp_rmat_free(&g[l]);
            gp_rmat_free(&x[l]);
            gp_rmat_free(&s[l + 1]);
            gp_rmat_free(&d[l + 1]);
        }
        gp_rmat_free(&c);
    }
}

/* ---- batches, evaluation ------------------------------------------------------------- */

static gp_dataset blobs(size_t count, int features, int classes, uint64_t seed, bool bytes)
{
    gp_dataset d = {count, (size_t)features, classes, NULL, NULL, malloc(count)};
    if (bytes)
        d.u8 = malloc(count * (size_t)features);
    else
        d.f32 = malloc(count * (size_t)features * sizeof(float));
    gp_rng r;
    gp_rng_seed(&r, seed);
    for (size_t s = 0; s < count; s++) {
        int c = (int)gp_rng_below(&r, (uint64_t)classes);
        d.labels[s] = (uint8_t)c;
        for (int f = 0; f < features; f++) {
            /* class c is bright in features f with f % classes == c */
            double v = (f % classes == c ? 150 : 80) + 40 * gp_rng_normal(&r);
            if (bytes)
                d.u8[s * (size_t)features + (size_t)f] = (uint8_t)fmin(255, fmax(0, v));
            else
                d.f32[s * (size_t)features + (size_t)f] = (float)(v / 100);
        }
    }
    return d;
}

static void batch_eval(void)
{
    gp_dataset d = blobs(2500, 12, 3, 9, true);
    gp_norm_stats st = {100, 0.02};
    uint32_t order[3] = {17, 4, 2499};
    double xd[13 * 3];
    uint8_t lab[3];
    gp_train_batch(&d, st, order, 0, 3, gp_rmat_view(xd, 13, 3, 3), lab);
    int bad = 0;
    for (int j = 0; j < 3; j++) {
        for (int f = 0; f < 12; f++)
            bad += xd[f * 3 + j] != ((double)d.u8[order[j] * 12 + f] - 100) * 0.02;
        bad += xd[12 * 3 + j] != 1.0 || lab[j] != d.labels[order[j]];
    }
    CHECK(bad == 0);
    /* evaluation in chunks of 1000 against one pass over all 2500 */
    int sizes[] = {12, 6, 3};
    gp_act act[] = {GP_ACT_TANH};
    gp_job j = base_job(2, sizes, act);
    gp_rmat w[2], x0, s1, x1, s2, dl;
    for (int l = 0; l < 2; l++) {
        REQUIRE(gp_rmat_alloc(&w[l], (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
        gp_train_init_weights(&j, l, w[l]);
    }
    st = gp_data_stats(&d, GP_NORM_STANDARDIZE);
    double acc, loss;
    REQUIRE(gp_train_evaluate(&j, w, &d, st, &acc, &loss) == GP_OK);
    uint32_t *all = malloc(2500 * sizeof *all);
    uint8_t *labs = malloc(2500);
    for (int i = 0; i < 2500; i++) all[i] = (uint32_t)i;
    REQUIRE(gp_rmat_alloc(&x0, 13, 2500) == GP_OK && gp_rmat_alloc(&s1, 6, 2500) == GP_OK &&
            gp_rmat_alloc(&x1, 7, 2500) == GP_OK && gp_rmat_alloc(&s2, 3, 2500) == GP_OK &&
            gp_rmat_alloc(&dl, 3, 2500) == GP_OK);
    gp_train_batch(&d, st, all, 0, 2500, x0, labs);
    gp_gemm_rm(false, 1, w[0], x0, 0, s1);
    gp_train_activate(GP_ACT_TANH, s1, x1);
    gp_gemm_rm(false, 1, w[1], x1, 0, s2);
    int correct;
    double sum = gp_train_softmax_xent(s2, labs, dl, &correct);
    CHECKF(acc == correct / 2500.0, "%g %g", acc, correct / 2500.0);
    /* 2500 terms of size ~1 summed in two orders: a few hundred ulp of the sum */
    CHECKF(fabs(loss - sum / 2500) <= 2500 * 4 * DBL_EPSILON, "%.17g %.17g", loss, sum / 2500);
    gp_rmat_free(&x0);
    gp_rmat_free(&s1);
    gp_rmat_free(&x1);
    gp_rmat_free(&s2);
    gp_rmat_free(&dl);
    gp_rmat_free(&w[0]);
    gp_rmat_free(&w[1]);
    free(all);
    free(labs);
    /* check_data */
    gp_msg why;
    gp_dataset t = blobs(10, 12, 3, 10, true);
    CHECK(gp_job_check_data(&j, &d, &t, &why) == GP_OK);
    t.features = 11;
    CHECK(gp_job_check_data(&j, &d, &t, &why) == GP_EINVAL);
    CHECKF(strstr(why.text, "starts with 12 inputs but the test data has 11 features"), "%s",
           why.text);
    t.features = 12;
    d.classes = 5;
    CHECK(gp_job_check_data(&j, &d, &t, &why) == GP_EINVAL);
    CHECKF(strstr(why.text, "training data has labels up to 4 but model.layers ends with 3"), "%s",
           why.text);
    gp_data_free(&d);
    gp_data_free(&t);
    CHECK(gp_train_steps_per_epoch(&j, 16) == 2 && gp_train_steps_per_epoch(&j, 17) == 3);
}

/* ---- the local trainer --------------------------------------------------------------- */

typedef struct seen {
    int calls, epoch_ends;
    uint64_t last_step;
    bool monotonic;
    double last_acc;
} seen;

static void on_progress(const gp_train_progress *p, void *arg)
{
    seen *s = arg;
    s->calls++;
    s->monotonic = s->monotonic && p->step >= s->last_step && p->step <= p->steps;
    s->last_step = p->step;
    if (p->test_accuracy >= 0 && p->step % 38 == 0) s->epoch_ends++;
    s->last_acc = p->test_accuracy;
}

static void local_small(void)
{
    gp_dataset tr = blobs(600, 12, 3, 21, true), te = blobs(300, 12, 3, 22, true);
    int sizes[] = {12, 16, 3};
    gp_act act[] = {GP_ACT_RELU};
    gp_job j = base_job(2, sizes, act);
    j.batch = 16; /* 600 / 16: 37 full batches and one of 8 */
    j.epochs = 4;
    j.lr = 0.1;
    gp_rmat w[2], w2[2];
    gp_train_progress fin;
    seen s = {0, 0, 0, true, -1};
    gp_msg why = {{0}};
    REQUIRE(gp_train_local(&j, &tr, &te, w, on_progress, &s, &fin, &why) == GP_OK);
    CHECKF(fin.test_accuracy >= 0.95, "accuracy %g", fin.test_accuracy);
    CHECK(fin.epoch == 4 && fin.step == 4 * 38 && fin.steps == 4 * 38);
    CHECK(fin.loss > 0 && fin.loss < 0.3 && fin.samples_per_s > 0 && fin.elapsed_s > 0);
    /* every 20 steps (20, 40, ..., 140; none falls on an epoch's end), and at
     * each epoch's end */
    CHECKF(s.calls == 7 + 4 && s.epoch_ends == 4 && s.monotonic, "%d calls, %d ends", s.calls,
           s.epoch_ends);
    CHECK(s.last_acc == fin.test_accuracy);
    /* the same job again: the same bits */
    REQUIRE(gp_train_local(&j, &tr, NULL, w2, NULL, NULL, &fin, &why) == GP_OK);
    CHECK(fin.test_accuracy == -1);
    for (int l = 0; l < 2; l++) {
        CHECK(!memcmp(w[l].data, w2[l].data, w[l].rows * w[l].cols * sizeof(double)));
        gp_rmat_free(&w2[l]);
    }
    /* evaluation agrees with the trainer's figure */
    double acc;
    REQUIRE(gp_train_evaluate(&j, w, &te, gp_data_stats(&tr, j.normalize), &acc, NULL) == GP_OK);
    CHECK(acc == s.last_acc);
    gp_rmat_free(&w[0]);
    gp_rmat_free(&w[1]);
    /* divergence is an error, not a NaN model */
    j.lr = 1000;
    j.act[0] = GP_ACT_IDENTITY;
    j.normalize = GP_NORM_NONE;
    gp_err e = gp_train_local(&j, &tr, &te, w, NULL, NULL, &fin, &why);
    CHECKF(e == GP_ENUMERIC && strstr(why.text, "not finite"), "%s %s", gp_errname(e), why.text);
    /* data that does not fit the model */
    j.sizes[0] = 13;
    e = gp_train_local(&j, &tr, &te, w, NULL, NULL, &fin, &why);
    CHECK(e == GP_EINVAL && strstr(why.text, "13 inputs"));
    gp_data_free(&tr);
    gp_data_free(&te);
}

/* precision: float32. The initial weights are the float64 trainer's rounded
 * (lr = 0 leaves them so: exactly fl32(w64)); it learns the blobs as well;
 * it repeats bit for bit; and one step of softmax regression lies within the
 * error bound of float32 arithmetic from the float64 step:
 *   S:  |dS| <= (gamma_k + 2u + u^2) |W| |X|  (k = inputs + 1; W and X
 *       rounded to float, the sgemm's accumulation),
 *   D = (softmax(S) - onehot) / b: the softmax's Jacobian has infinity norm
 *       <= 1/2, so |dD_ij| <= max_i |dS_ij| / (2b) + u |D_ij| (+ the double
 *       arithmetic, 1e-15 relative, in the slack below),
 *   W' = W - lr D X^T in sgemm (beta = 1): |dW'| <= u |W| + lr (|dD| |X|^T +
 *       u |D| |X|^T) + gamma_{b+1} (|W| + lr |D| |X|^T),
 * with u = 2^-24, everything evaluated in double from the float64 run. */
static void local_float32(void)
{
    gp_dataset tr = blobs(600, 12, 3, 21, true), te = blobs(300, 12, 3, 22, true);
    int sizes[] = {12, 16, 3};
    gp_act act[] = {GP_ACT_RELU};
    gp_job j = base_job(2, sizes, act);
    j.batch = 16;
    j.epochs = 4;
    j.precision = GP_PREC_FLOAT32;
    gp_rmat w[2], w2[2], w64[2];
    gp_train_progress fin;
    gp_msg why = {{0}};
    REQUIRE(gp_train_local(&j, &tr, &te, w, NULL, NULL, &fin, &why) == GP_OK);
    CHECKF(fin.test_accuracy >= 0.95, "float32 accuracy %g", fin.test_accuracy);
    REQUIRE(gp_train_local(&j, &tr, &te, w2, NULL, NULL, &fin, &why) == GP_OK);
    for (int l = 0; l < 2; l++) {
        CHECK(!memcmp(w[l].data, w2[l].data, w[l].rows * w[l].cols * sizeof(double)));
        for (size_t i = 0; i < w[l].rows * w[l].cols; i++)
            CHECK(w[l].data[i] == (double)(float)w[l].data[i]); /* float32 values */
        gp_rmat_free(&w[l]);
        gp_rmat_free(&w2[l]);
    }
    /* lr = 0: the initial weights, rounded */
    j.lr = 0;
    j.epochs = 1;
    REQUIRE(gp_train_local(&j, &tr, NULL, w, NULL, NULL, &fin, &why) == GP_OK);
    j.precision = GP_PREC_FLOAT64;
    REQUIRE(gp_train_local(&j, &tr, NULL, w64, NULL, NULL, &fin, &why) == GP_OK);
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; i < w[l].rows * w[l].cols; i++)
            CHECK(w[l].data[i] == (double)(float)w64[l].data[i]);
        gp_rmat_free(&w[l]);
        gp_rmat_free(&w64[l]);
    }
    /* one step of softmax regression (12 inputs, 3 classes, b = 16) */
    gp_dataset one = blobs(16, 12, 3, 23, true);
    int sz1[] = {12, 3};
    gp_job k = base_job(1, sz1, NULL);
    k.batch = 16;
    k.epochs = 1;
    k.lr = 0.5;
    gp_norm_stats st = gp_data_stats(&one, k.normalize);
    gp_rmat w0, w1;
    REQUIRE(gp_rmat_alloc(&w0, 3, 13) == GP_OK);
    gp_train_init_weights(&k, 0, w0);
    REQUIRE(gp_train_local(&k, &one, NULL, &w1, NULL, NULL, &fin, &why) == GP_OK);
    k.precision = GP_PREC_FLOAT32;
    REQUIRE(gp_train_local(&k, &one, NULL, w, NULL, NULL, &fin, &why) == GP_OK);
    /* the float64 step's quantities: X (13 x 16, the bias row), S, D */
    double u = 0x1p-24, X[13][16], S[3][16], D[3][16], dS[16] = {0};
    uint32_t order[16];
    gp_train_order(&k, 0, 16, order);
    for (int c = 0; c < 16; c++) {
        for (int f = 0; f < 12; f++)
            X[f][c] = ((double)one.u8[order[c] * 12 + (size_t)f] - st.mean) * st.scale;
        X[12][c] = 1;
    }
    double gk = 13 * u / (1 - 13 * u), gb = 17 * u / (1 - 17 * u);
    for (int c = 0; c < 16; c++) {
        double mx = -INFINITY, sum = 0;
        for (int r = 0; r < 3; r++) {
            double acc = 0, mag = 0;
            for (int f = 0; f < 13; f++) {
                acc += w0.data[r * 13 + f] * X[f][c];
                mag += fabs(w0.data[r * 13 + f] * X[f][c]);
            }
            S[r][c] = acc;
            double e = (gk + 2 * u + u * u) * mag;
            if (e > dS[c]) dS[c] = e;
            if (acc > mx) mx = acc;
        }
        for (int r = 0; r < 3; r++) sum += exp(S[r][c] - mx);
        for (int r = 0; r < 3; r++)
            D[r][c] = (exp(S[r][c] - mx) / sum - (r == one.labels[order[c]])) / 16.0;
    }
    double worst = 0;
    for (int r = 0; r < 3; r++)
        for (int f = 0; f < 13; f++) {
            double dx = 0, mag = 0;
            for (int c = 0; c < 16; c++) {
                double dd = dS[c] / 32.0 + u * fabs(D[r][c]);
                dx += dd * fabs(X[f][c]);
                mag += fabs(D[r][c] * X[f][c]);
            }
            double W = fabs(w0.data[r * 13 + f]);
            double bound = u * W + k.lr * (dx + u * mag) + gb * (W + k.lr * mag);
            bound = bound * (1 + 1e-6) + 1e-300; /* the double arithmetic of the reference */
            double err = fabs(w[0].data[r * 13 + f] - w1.data[r * 13 + f]);
            CHECKF(err <= bound, "W[%d][%d]: float32 step off by %.3g, bound %.3g", r, f, err,
                   bound);
            if (err / bound > worst) worst = err / bound;
        }
    printf("  one float32 step: largest error %.3g of its bound\n", worst);
    gp_rmat_free(&w[0]);
    gp_rmat_free(&w0);
    gp_rmat_free(&w1);
    gp_data_free(&one);
    gp_data_free(&tr);
    gp_data_free(&te);
}

/* ---- model files --------------------------------------------------------------------- */

static void model_files(void)
{
    int sizes[] = {5, 4, 3, 2};
    gp_act act[] = {GP_ACT_SIGMOID, GP_ACT_TANH};
    gp_job j = base_job(3, sizes, act);
    snprintf(j.name, sizeof j.name, "a \"quoted\" name");
    j.normalize = GP_NORM_SCALE;
    gp_rmat w[3], r[3];
    for (int l = 0; l < 3; l++) {
        REQUIRE(gp_rmat_alloc(&w[l], (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
        gp_train_init_weights(&j, l, w[l]);
        for (int i = 0; i < sizes[l + 1]; i++)
            *gp_rmat_at(w[l], i, (size_t)sizes[l]) = 0.1 * i + 1e-17;
    }
    char dir[] = "/tmp/gpdot-model-test-XXXXXX", sub[128], path[256];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    gp_norm_stats st = {72.940352231, 1.0 / 89.95}, st2;
    gp_msg why = {{0}};
    REQUIRE(gp_model_save(sub, &j, w, st, "test_accuracy: 0.5\nepochs: 2\n", &why) == GP_OK);
    gp_job k;
    memset(&k, 0, sizeof k);
    REQUIRE(gp_model_load(sub, &k, r, &st2, &why) == GP_OK);
    CHECK(k.nlayers == 3 && k.sizes[0] == 5 && k.sizes[3] == 2 && k.act[0] == GP_ACT_SIGMOID &&
          k.act[1] == GP_ACT_TANH && k.normalize == GP_NORM_SCALE);
    CHECK(!strcmp(k.name, j.name));
    CHECK(st2.mean == st.mean && st2.scale == st.scale);
    for (int l = 0; l < 3; l++) {
        CHECK(r[l].rows == w[l].rows && r[l].cols == w[l].cols &&
              !memcmp(r[l].data, w[l].data, w[l].rows * w[l].cols * sizeof(double)));
        gp_rmat_free(&r[l]);
    }
    /* W0.npy is W without its bias column, b0.npy the biases */
    gp_rmat W0, b0;
    snprintf(path, sizeof path, "%s/W0.npy", sub);
    REQUIRE(gp_npy_read(path, &W0, &why) == GP_OK);
    snprintf(path, sizeof path, "%s/b0.npy", sub);
    REQUIRE(gp_npy_read(path, &b0, &why) == GP_OK);
    CHECK(W0.rows == 4 && W0.cols == 5 && b0.rows == 4 && b0.cols == 1);
    CHECK(*gp_rmat_at(W0, 3, 4) == *gp_rmat_at(w[0], 3, 4) &&
          b0.data[3] == *gp_rmat_at(w[0], 3, 5));
    gp_rmat_free(&b0);
    /* a W of the wrong shape is refused with the file's name */
    snprintf(path, sizeof path, "%s/W1.npy", sub);
    REQUIRE(gp_npy_write(path, W0, 0, &why) == GP_OK);
    gp_rmat_free(&W0);
    memset(&k, 0, sizeof k);
    CHECK(gp_model_load(sub, &k, r, &st2, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "W1.npy is 4 x 5; layer 1 needs 3 x 4"), "%s", why.text);
    /* a mistake in model.yaml names its line */
    snprintf(path, sizeof path, "%s/model.yaml", sub);
    FILE *f = fopen(path, "a");
    fputs("colour: blue\n", f);
    fclose(f);
    CHECK(gp_model_load(sub, &k, r, &st2, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "model.yaml:") && strstr(why.text, "unknown key 'colour'"), "%s",
           why.text);
    snprintf(path, sizeof path, "%s/none", dir);
    CHECK(gp_model_load(path, &k, r, &st2, &why) == GP_EIO);
    /* clean up */
    const char *files[] = {"W0.npy", "W1.npy", "W2.npy",    "b0.npy",
                           "b1.npy", "b2.npy", "model.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, files[i]);
        unlink(path);
    }
    rmdir(sub);
    snprintf(path, sizeof path, "%s/a", dir);
    rmdir(path);
    rmdir(dir);
    for (int l = 0; l < 3; l++) gp_rmat_free(&w[l]);
}

/* ---- against numpy ------------------------------------------------------------------- */

static gp_err save_vec(const char *dir, const char *name, const char *what, const double *v,
                       size_t rows, size_t cols)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s_%s.npy", dir, name, what);
    gp_msg why;
    return gp_npy_write(path, gp_rmat_view((double *)v, rows, cols, cols), cols == 1, &why);
}

static gp_err save_set(const char *dir, const char *name, const char *xs, const char *ys,
                       const gp_dataset *d)
{
    size_t n = d->count * d->features;
    double *x = malloc(n * sizeof *x), *y = malloc(d->count * sizeof *y);
    for (size_t i = 0; i < n; i++) x[i] = d->u8[i];
    for (size_t i = 0; i < d->count; i++) y[i] = d->labels[i];
    gp_err e = save_vec(dir, name, xs, x, d->count, d->features);
    if (e == GP_OK) e = save_vec(dir, name, ys, y, d->count, 1);
    free(x);
    free(y);
    return e;
}

/* Several small networks (12-7-5-3) trained for three epochs of 37 samples
 * in batches of 8 (the last batch short) by gp_train_local, from the
 * initial weights and sample orders the C side writes, against numpy. */
static void numpy_reference(void)
{
    const char *py = getenv("GP_PYTHON"), *ref = getenv("GP_TRAIN_REF");
    if (!py || !ref) {
        fprintf(stderr, "numpy_reference needs GP_PYTHON and GP_TRAIN_REF (set by CTest)\n");
        CHECK(py && ref);
        return;
    }
    static const struct {
        const char *name;
        gp_act a0, a1;
        gp_sched sched;
        gp_norm norm;
        double lr;
    } vs[] = {
        {"relu", GP_ACT_RELU, GP_ACT_RELU, GP_SCHED_CONSTANT, GP_NORM_STANDARDIZE, 0.5},
        {"tanh", GP_ACT_TANH, GP_ACT_TANH, GP_SCHED_COSINE, GP_NORM_STANDARDIZE, 0.5},
        {"sigmoid", GP_ACT_SIGMOID, GP_ACT_SIGMOID, GP_SCHED_STEP, GP_NORM_SCALE, 2.0},
        {"mixed", GP_ACT_RELU, GP_ACT_IDENTITY, GP_SCHED_STEP, GP_NORM_STANDARDIZE, 0.3},
    };
    enum { NV = sizeof vs / sizeof vs[0], L = 3 };
    int sizes[] = {12, 7, 5, 3};
    char dir[] = "/tmp/gpdot-train-ref-XXXXXX", path[512];
    REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    FILE *man = fopen(path, "w");
    REQUIRE(man != NULL);
    gp_job jobs[NV];
    gp_dataset tr = blobs(37, 12, 3, 77, true), te = blobs(23, 12, 3, 78, true);
    static const char *const sched[] = {"constant", "step", "cosine"}, *const norm[] = {
                                                                           "standardize", "scale",
                                                                           "none"};
    for (int v = 0; v < NV; v++) {
        gp_act act[2] = {vs[v].a0, vs[v].a1};
        gp_job *j = &jobs[v];
        *j = base_job(L, sizes, act);
        j->init_seed = 30 + (uint64_t)v;
        j->shuffle_seed = 40 + (uint64_t)v;
        j->epochs = 3;
        j->batch = 8;
        j->lr = vs[v].lr;
        j->schedule = vs[v].sched;
        j->normalize = vs[v].norm;
        j->gamma = 0.5;
        j->step_every = 1;
        j->lr_min = 0.05;
        for (int l = 0; l < L; l++) {
            gp_rmat w;
            REQUIRE(gp_rmat_alloc(&w, (size_t)sizes[l + 1], (size_t)sizes[l] + 1) == GP_OK);
            gp_train_init_weights(j, l, w);
            char what[8];
            snprintf(what, sizeof what, "W%d", l);
            CHECK(save_vec(dir, vs[v].name, what, w.data, w.rows, w.cols) == GP_OK);
            gp_rmat_free(&w);
        }
        double order[3 * 37];
        uint32_t o[37];
        for (int e = 0; e < 3; e++) {
            gp_train_order(j, e, 37, o);
            for (int i = 0; i < 37; i++) order[e * 37 + i] = o[i];
        }
        CHECK(save_vec(dir, vs[v].name, "order", order, 3, 37) == GP_OK);
        CHECK(save_set(dir, vs[v].name, "X", "y", &tr) == GP_OK);
        CHECK(save_set(dir, vs[v].name, "Xt", "yt", &te) == GP_OK);
        fprintf(man, "%s %s %s ; %s %s %.17g %.17g %d %.17g %d %d\n", vs[v].name,
                gp_act_name(act[0]), gp_act_name(act[1]), sched[j->schedule], norm[j->normalize],
                j->lr, j->gamma, j->step_every, j->lr_min, j->epochs, j->batch);
    }
    fclose(man);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' '%s'", py, ref, dir);
    int rc = system(cmd);
    REQUIRE(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0);

    for (int v = 0; v < NV; v++) {
        gp_rmat w[L];
        gp_train_progress fin;
        gp_msg why;
        REQUIRE(gp_train_local(&jobs[v], &tr, &te, w, NULL, NULL, &fin, &why) == GP_OK);
        /* Tolerance. Both sides compute the same 15 steps in double and
         * differ only by rounding: dot products of at most n = 13 terms
         * summed in other orders (OpenBLAS against numpy), each within
         * gamma_n = n u of the sum of the absolute terms; exp, tanh and log
         * within 4 ulp of numpy's; (x - mean) * (1/std) against
         * (x - mean) / std, 2 ulp. With weights, inputs and activations of
         * size O(1) and deltas O(1/B), a step's update differs by about
         * lr * gamma_13 * max|W|, and the 15 steps add up their differences
         * (a step maps a perturbation of W to one at most
         * 1 + lr |Hessian| ~ 1 times larger for these small rates and
         * networks). So |W - W_numpy| <= 15 * 13 u * max(1, |W|) times a
         * factor 4 for the elementary functions and the rates above 1, i.e.
         * 780 u max(1, |W|) = 8.7e-14 max(1, |W|). A wrong term in any
         * formula is O(lr |D| |X|) ~ 1e-2. */
        double tol = 780 * DBL_EPSILON / 2, worst = 0, wmax = 0;
        for (int l = 0; l < L; l++) {
            gp_rmat ref_w;
            snprintf(path, sizeof path, "%s/%s_W%d_final.npy", dir, vs[v].name, l);
            REQUIRE(gp_npy_read(path, &ref_w, &why) == GP_OK);
            REQUIRE(ref_w.rows == w[l].rows && ref_w.cols == w[l].cols);
            for (size_t i = 0; i < ref_w.rows * ref_w.cols; i++) {
                worst = fmax(worst, fabs(ref_w.data[i] - w[l].data[i]));
                wmax = fmax(wmax, fabs(ref_w.data[i]));
            }
            gp_rmat_free(&ref_w);
        }
        gp_rmat loss, test;
        snprintf(path, sizeof path, "%s/%s_loss.npy", dir, vs[v].name);
        REQUIRE(gp_npy_read(path, &loss, &why) == GP_OK && loss.rows == 15);
        snprintf(path, sizeof path, "%s/%s_test.npy", dir, vs[v].name);
        REQUIRE(gp_npy_read(path, &test, &why) == GP_OK && test.rows == 2);
        double mean = 0;
        for (int i = 0; i < 15; i++) mean += loss.data[i];
        mean /= 15; /* the trainer's loss: the mean of the last 50 (here all 15) steps */
        double tacc, tloss;
        REQUIRE(gp_train_evaluate(&jobs[v], w, &te, gp_data_stats(&tr, jobs[v].normalize), &tacc,
                                  &tloss) == GP_OK);
        printf("  %-8s max |W| %.3f, max |W - W_numpy| %.2g; loss %.6f (numpy %.6f); test "
               "accuracy %.4f (numpy %.4f), loss %.6f\n",
               vs[v].name, wmax, worst, fin.loss, mean, fin.test_accuracy, test.data[0], tloss);
        CHECKF(worst <= tol * fmax(1, wmax), "%s: %.3g", vs[v].name, worst);
        CHECKF(fabs(fin.loss - mean) <= tol * fmax(1, mean), "%s: loss %.17g numpy %.17g",
               vs[v].name, fin.loss, mean);
        CHECKF(fin.test_accuracy == test.data[0] && tacc == test.data[0], "%s: %g %g %g",
               vs[v].name, fin.test_accuracy, tacc, test.data[0]);
        CHECKF(fabs(tloss - test.data[1]) <= tol * fmax(1, test.data[1]),
               "%s: test loss %.17g numpy %.17g", vs[v].name, tloss, test.data[1]);
        /* the models moved: a comparison of untrained weights would prove little */
        CHECK(loss.data[14] != loss.data[0]);
        gp_rmat_free(&loss);
        gp_rmat_free(&test);
        for (int l = 0; l < L; l++) gp_rmat_free(&w[l]);
    }
    gp_data_free(&tr);
    gp_data_free(&te);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static const test_case cases[] = {
    {"schedule", schedule},
    {"init_order", init_order},
    {"activations", activations},
    {"softmax", softmax},
    {"gradient_check", gradient_check},
    {"batch_eval", batch_eval},
    {"local_small", local_small},
    {"local_float32", local_float32},
    {"model_files", model_files},
    {"numpy_reference", numpy_reference},
};

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "train_test");
    gp_blas_set_threads(1);
    return test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));
}
