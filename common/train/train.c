/* train.c - the model's arithmetic (gp_train.h) and the local reference
 * trainer, which runs every product with plain OpenBLAS.
 *
 * Everything but the products is elementwise C in a fixed order with
 * gpdot's own exp, log and tanh (gp_detmath.h) and no FMA contraction, so
 * every daemon that calls these functions gets the same bits. The random
 * streams (initial weights, sample order) depend only on the job's seeds and
 * the layer or epoch. */
#include "gp_train.h"
#include "train_local.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp_blas.h"
#include "gp_clock.h"
#include "gp_detmath.h"
#include "gp_rng.h"

/* A seed for stream `index` of the kind `tag` (weights, order) from a job seed. */
static uint64_t stream_seed(uint64_t seed, uint64_t tag, uint64_t index)
{
    return gp_mix64(gp_mix64(seed ^ tag) + index);
}

#define TAG_INIT  0x696e6974ull /* "init" */
#define TAG_ORDER 0x6f726472ull /* "ordr" */

gp_err gp_job_check_data(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                         gp_msg *why)
{
    int L = job->nlayers, out = job->sizes[L];
    const gp_dataset *d[2] = {train, test};
    for (int i = 0; i < 2; i++) {
        if (!d[i]) continue;
        const char *which = i ? "test" : "training";
        if (d[i]->features != (size_t)job->sizes[0])
            return gp_fail(why, GP_EINVAL,
                           "model.layers starts with %d inputs but the %s data has %zu features "
                           "per sample",
                           job->sizes[0], which, d[i]->features);
        if (d[i]->classes > out)
            return gp_fail(why, GP_EINVAL,
                           "the %s data has labels up to %d but model.layers ends with %d outputs",
                           which, d[i]->classes - 1, out);
        if (d[i]->count == 0) return gp_fail(why, GP_EINVAL, "the %s data is empty", which);
    }
    return GP_OK;
}

uint64_t gp_train_steps_per_epoch(const gp_job *job, size_t train_count)
{
    return ((uint64_t)train_count + (uint64_t)job->batch - 1) / (uint64_t)job->batch;
}

void gp_train_init_weights(const gp_job *job, int l, gp_rmat w)
{
    size_t in = (size_t)job->sizes[l], out = (size_t)job->sizes[l + 1];
    bool relu = l < job->nlayers - 1 && job->act[l] == GP_ACT_RELU;
    /* He-uniform keeps the variance of relu layers' outputs; Glorot-uniform
     * that of symmetric activations and of the softmax layer. */
    double limit = relu ? sqrt(6.0 / (double)in) : sqrt(6.0 / (double)(in + out));
    gp_rng r;
    gp_rng_seed(&r, stream_seed(job->init_seed, TAG_INIT, (uint64_t)l));
    for (size_t i = 0; i < out; i++) {
        double *row = gp_rmat_at(w, i, 0);
        for (size_t j = 0; j < in; j++) row[j] = (2.0 * gp_rng_uniform(&r) - 1.0) * limit;
        row[in] = 0.0; /* bias */
    }
}

void gp_train_order(const gp_job *job, int epoch, size_t count, uint32_t *order)
{
    gp_rng r;
    gp_rng_seed(&r, stream_seed(job->shuffle_seed, TAG_ORDER, (uint64_t)epoch));
    for (size_t i = 0; i < count; i++) order[i] = (uint32_t)i;
    for (size_t i = count; i > 1; i--) { /* Fisher-Yates */
        size_t j = (size_t)gp_rng_below(&r, i);
        uint32_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
}

double gp_train_lr(const gp_job *job, uint64_t step, uint64_t steps_per_epoch)
{
    if (steps_per_epoch == 0) steps_per_epoch = 1;
    switch (job->schedule) {
    case GP_SCHED_STEP: {
        uint64_t k = step / steps_per_epoch / (uint64_t)(job->step_every > 0 ? job->step_every : 1);
        double f = 1.0; /* gamma^k by repeated products: the same bits everywhere */
        for (uint64_t i = 0; i < k && f != 0.0; i++) f *= job->gamma;
        return job->lr * f;
    }
    case GP_SCHED_COSINE: {
        double total = (double)steps_per_epoch * (double)job->epochs;
        double t = (double)step / total;
        if (t > 1.0) t = 1.0;
        double c = gp_det_sin(GP_PI * (0.5 - t)); /* cos(pi t), argument within pi/2 */
        return job->lr_min + (job->lr - job->lr_min) * (1.0 + c) / 2.0;
    }
    case GP_SCHED_CONSTANT:
    default:
        return job->lr;
    }
}

void gp_train_batch(const gp_dataset *ds, gp_norm_stats st, const uint32_t *order, size_t first,
                    size_t b, gp_rmat x0, uint8_t *labels)
{
    size_t F = ds->features;
    /* Eight samples at a time: a feature's eight values are consecutive in
     * x0 (one cache line), where one sample at a time wrote each to a line
     * of its own. */
    for (size_t j0 = 0; j0 < b; j0 += 8) {
        size_t nb = b - j0 < 8 ? b - j0 : 8;
        size_t s[8];
        for (size_t k = 0; k < nb; k++) s[k] = order[first + j0 + k];
        for (size_t f = 0; f < F; f++) {
            double *dst = x0.data + f * x0.ld + j0;
            if (ds->u8)
                for (size_t k = 0; k < nb; k++)
                    dst[k] = ((double)ds->u8[s[k] * F + f] - st.mean) * st.scale;
            else
                for (size_t k = 0; k < nb; k++)
                    dst[k] = ((double)ds->f32[s[k] * F + f] - st.mean) * st.scale;
        }
        for (size_t k = 0; k < nb; k++) {
            x0.data[F * x0.ld + j0 + k] = 1.0;
            if (labels) labels[j0 + k] = ds->labels[s[k]];
        }
    }
}

/* relu over one row, and its derivative times c, as gp_act_f and gp_act_df
 * compute them, in loops that vectorise (the rows do not overlap) */
static void relu_row(const double *restrict a, double *restrict y, size_t n)
{
    for (size_t j = 0; j < n; j++) y[j] = a[j] > 0 ? a[j] : 0.0;
}

static void relu_df_row(const double *restrict a, double *restrict y, size_t n)
{
    for (size_t j = 0; j < n; j++) y[j] *= a[j] > 0 ? 1.0 : 0.0;
}

void gp_train_activate(gp_act f, gp_rmat s, gp_rmat x)
{
    for (size_t i = 0; i < s.rows; i++) {
        const double *a = gp_rmat_at(s, i, 0);
        double *y = gp_rmat_at(x, i, 0);
        if (f == GP_ACT_RELU)
            relu_row(a, y, s.cols);
        else
            for (size_t j = 0; j < s.cols; j++) y[j] = gp_act_f(f, a[j]);
    }
    double *one = gp_rmat_at(x, s.rows, 0);
    for (size_t j = 0; j < s.cols; j++) one[j] = 1.0;
}

void gp_train_hadamard(gp_act f, gp_rmat s, gp_rmat c)
{
    for (size_t i = 0; i < s.rows; i++) {
        const double *a = gp_rmat_at(s, i, 0);
        double *y = gp_rmat_at(c, i, 0);
        if (f == GP_ACT_RELU)
            relu_df_row(a, y, s.cols);
        else
            for (size_t j = 0; j < s.cols; j++) y[j] *= gp_act_df(f, a[j]);
    }
}

void gp_train_softmax(gp_rmat s, gp_rmat y)
{
    for (size_t j = 0; j < s.cols; j++) {
        double mx = -INFINITY, sum = 0;
        for (size_t i = 0; i < s.rows; i++)
            if (s.data[i * s.ld + j] > mx) mx = s.data[i * s.ld + j];
        for (size_t i = 0; i < s.rows; i++) {
            double e = gp_det_exp(s.data[i * s.ld + j] - mx);
            y.data[i * y.ld + j] = e;
            sum += e;
        }
        for (size_t i = 0; i < s.rows; i++) y.data[i * y.ld + j] /= sum;
    }
}

double gp_train_softmax_xent(gp_rmat s, const uint8_t *labels, gp_rmat delta, int *correct)
{
    double loss = 0;
    int ok = 0;
    double b = (double)s.cols;
    for (size_t j = 0; j < s.cols; j++) {
        double mx = -INFINITY;
        size_t arg = 0;
        for (size_t i = 0; i < s.rows; i++) {
            double v = s.data[i * s.ld + j];
            if (v > mx) {
                mx = v;
                arg = i;
            }
        }
        double sum = 0;
        for (size_t i = 0; i < s.rows; i++) {
            double e = gp_det_exp(s.data[i * s.ld + j] - mx);
            delta.data[i * delta.ld + j] = e;
            sum += e;
        }
        size_t y = labels[j];
        for (size_t i = 0; i < s.rows; i++) {
            double p = delta.data[i * delta.ld + j] / sum;
            delta.data[i * delta.ld + j] = (p - (i == y ? 1.0 : 0.0)) / b;
        }
        /* -log softmax_y = log(sum) - (s_y - max) */
        loss += gp_det_log(sum) - (s.data[y * s.ld + j] - mx);
        ok += arg == y && s.data[y * s.ld + j] == mx;
    }
    if (correct) *correct = ok;
    return loss;
}

/* ---- evaluation --------------------------------------------------------------------- */

#define EVAL_CHUNK 1000

gp_err gp_train_evaluate(const gp_job *job, const gp_rmat *w, const gp_dataset *ds,
                         gp_norm_stats st, double *accuracy, double *loss)
{
    int L = job->nlayers;
    size_t cb = ds->count < EVAL_CHUNK ? ds->count : EVAL_CHUNK;
    gp_rmat x[GP_JOB_MAX_LAYERS] = {{0}}, s = {0}, delta = {0};
    uint32_t *order = malloc(cb * sizeof *order);
    uint8_t *lab = malloc(cb);
    size_t smax = 0;
    gp_err e = order && lab ? GP_OK : GP_ENOMEM;
    for (int l = 0; l < L && e == GP_OK; l++) {
        e = gp_rmat_alloc(&x[l], (size_t)job->sizes[l] + 1, cb);
        if ((size_t)job->sizes[l + 1] > smax) smax = (size_t)job->sizes[l + 1];
    }
    if (e == GP_OK) e = gp_rmat_alloc(&s, smax, cb);
    if (e == GP_OK) e = gp_rmat_alloc(&delta, (size_t)job->sizes[L], cb);
    double sum = 0;
    size_t ok = 0;
    for (size_t first = 0; e == GP_OK && first < ds->count; first += cb) {
        size_t b = ds->count - first < cb ? ds->count - first : cb;
        for (size_t j = 0; j < b; j++) order[j] = (uint32_t)(first + j);
        gp_rmat x0 = gp_rmat_view(x[0].data, x[0].rows, b, x[0].ld);
        gp_train_batch(ds, st, order, 0, b, x0, lab);
        for (int l = 0; l < L; l++) {
            gp_rmat xl = gp_rmat_view(x[l].data, x[l].rows, b, x[l].ld);
            gp_rmat sl = gp_rmat_view(s.data, (size_t)job->sizes[l + 1], b, s.ld);
            gp_gemm_rm(false, 1.0, w[l], xl, 0.0, sl);
            if (l < L - 1)
                gp_train_activate(job->act[l], sl,
                                  gp_rmat_view(x[l + 1].data, x[l + 1].rows, b, x[l + 1].ld));
            else {
                int c;
                sum += gp_train_softmax_xent(sl, lab,
                                             gp_rmat_view(delta.data, delta.rows, b, delta.ld), &c);
                ok += (size_t)c;
            }
        }
    }
    for (int l = 0; l < L; l++) gp_rmat_free(&x[l]);
    gp_rmat_free(&s);
    gp_rmat_free(&delta);
    free(order);
    free(lab);
    if (e != GP_OK) return e;
    if (accuracy) *accuracy = (double)ok / (double)ds->count;
    if (loss) *loss = sum / (double)ds->count;
    return GP_OK;
}

/* ---- the local trainer -------------------------------------------------------------- */

void local_clock_start(local_clock *c, uint64_t steps)
{
    memset(c, 0, sizeof *c);
    c->p = (gp_train_progress){.epoch = 1, .steps = steps, .test_accuracy = -1};
    c->t0 = gp_mono_s();
}

static void local_clock_rate(local_clock *c)
{
    c->p.elapsed_s = gp_mono_s() - c->t0;
    c->p.samples_per_s =
        c->p.elapsed_s > c->eval_s ? (double)c->samples / (c->p.elapsed_s - c->eval_s) : 0;
}

void local_clock_step(local_clock *c, uint64_t step, double loss, size_t b, bool last,
                      gp_train_cb cb, void *arg)
{
    c->ring[step % LOCAL_LOSS_WINDOW] = loss;
    c->samples += b;
    size_t nw = step + 1 < LOCAL_LOSS_WINDOW ? (size_t)step + 1 : LOCAL_LOSS_WINDOW;
    double sum = 0;
    for (size_t i = 0; i < nw; i++) sum += c->ring[i];
    c->p.loss = sum / (double)nw;
    c->p.step = step + 1;
    local_clock_rate(c);
    if (cb && !last && (step + 1) % LOCAL_CB_EVERY == 0) cb(&c->p, arg);
}

gp_err local_clock_epoch(local_clock *c, int ep, const gp_job *job, const gp_rmat *w,
                         const gp_dataset *test, gp_norm_stats st, gp_train_cb cb, void *arg,
                         gp_msg *why)
{
    c->p.epoch = ep + 1;
    if (test) {
        double te = gp_mono_s();
        gp_err e = gp_train_evaluate(job, w, test, st, &c->p.test_accuracy, NULL);
        if (e != GP_OK) return gp_fail(why, e, "no memory to evaluate the test set");
        c->eval_s += gp_mono_s() - te;
    }
    local_clock_rate(c);
    if (cb) cb(&c->p, arg);
    return GP_OK;
}

gp_err gp_train_local(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                      gp_rmat *w, gp_train_cb cb, void *arg, gp_train_progress *final, gp_msg *why)
{
    if (job->precision == GP_PREC_FLOAT32)
        return gp_train_local_f32(job, train, test, w, cb, arg, final, why);
    int L = job->nlayers;
    size_t B = (size_t)job->batch;
    gp_err e = gp_job_check_data(job, train, test, why);
    if (e != GP_OK) return e;
    for (int l = 0; l < L; l++) w[l] = (gp_rmat){0};
    /* X_l: (sizes[l]+1) x B; S_l, D_l: sizes[l] x B (l >= 1); C: the largest X */
    gp_rmat x[GP_JOB_MAX_LAYERS] = {{0}}, s[GP_JOB_MAX_LAYERS + 1] = {{0}},
            d[GP_JOB_MAX_LAYERS + 1] = {{0}}, c = {0};
    uint32_t *order = malloc(train->count * sizeof *order);
    uint8_t *lab = malloc(B);
    size_t cmax = 0;
    if (!order || !lab) e = GP_ENOMEM;
    for (int l = 0; l < L && e == GP_OK; l++) {
        size_t in = (size_t)job->sizes[l], out = (size_t)job->sizes[l + 1];
        if ((e = gp_rmat_alloc(&w[l], out, in + 1)) != GP_OK) break;
        gp_train_init_weights(job, l, w[l]);
        if ((e = gp_rmat_alloc(&x[l], in + 1, B)) != GP_OK ||
            (e = gp_rmat_alloc(&s[l + 1], out, B)) != GP_OK ||
            (e = gp_rmat_alloc(&d[l + 1], out, B)) != GP_OK)
            break;
        if (l > 0 && in + 1 > cmax) cmax = in + 1;
    }
    if (e == GP_OK && cmax) e = gp_rmat_alloc(&c, cmax, B);
    if (e != GP_OK) {
        e = gp_fail(why, e, "no memory for the model and its activations");
        goto out;
    }

    gp_norm_stats st = gp_data_stats(train, job->normalize);
    uint64_t spe = gp_train_steps_per_epoch(job, train->count), step = 0;
    local_clock clk;
    local_clock_start(&clk, spe * (uint64_t)job->epochs);
    for (int ep = 0; ep < job->epochs; ep++) {
        clk.p.epoch = ep + 1;
        gp_train_order(job, ep, train->count, order);
        for (size_t first = 0; first < train->count; first += B, step++) {
            size_t b = train->count - first < B ? train->count - first : B;
            /* views of this batch's b columns */
            gp_rmat xv[GP_JOB_MAX_LAYERS], sv[GP_JOB_MAX_LAYERS + 1], dv[GP_JOB_MAX_LAYERS + 1];
            for (int l = 0; l < L; l++) {
                xv[l] = gp_rmat_view(x[l].data, x[l].rows, b, x[l].ld);
                sv[l + 1] = gp_rmat_view(s[l + 1].data, s[l + 1].rows, b, s[l + 1].ld);
                dv[l + 1] = gp_rmat_view(d[l + 1].data, d[l + 1].rows, b, d[l + 1].ld);
            }
            gp_train_batch(train, st, order, first, b, xv[0], lab);
            /* forward */
            for (int l = 0; l < L; l++) {
                gp_gemm_rm(false, 1.0, w[l], xv[l], 0.0, sv[l + 1]);
                if (l < L - 1) gp_train_activate(job->act[l], sv[l + 1], xv[l + 1]);
            }
            double loss = gp_train_softmax_xent(sv[L], lab, dv[L], NULL) / (double)b;
            if (!isfinite(loss)) {
                e = gp_fail(why, GP_ENUMERIC,
                            "the training loss is not finite at step %llu (epoch %d); the "
                            "learning rate may be too high",
                            (unsigned long long)step + 1, ep + 1);
                goto out;
            }
            /* backward, from the weights of before the step */
            for (int l = L - 1; l >= 1; l--) {
                gp_rmat cv = gp_rmat_view(c.data, (size_t)job->sizes[l] + 1, b, c.ld);
                gp_gemm_rm(true, 1.0, w[l], dv[l + 1], 0.0, cv);
                gp_train_hadamard(job->act[l - 1], sv[l], cv);
                gp_rmat_copy(dv[l], gp_rmat_view(c.data, (size_t)job->sizes[l], b, c.ld));
            }
            /* updates */
            double lr = gp_train_lr(job, step, spe);
            for (int l = 0; l < L; l++) gp_rank_update_rm(-lr, dv[l + 1], xv[l], w[l]);

            local_clock_step(&clk, step, loss, b, first + B >= train->count, cb, arg);
        }
        if ((e = local_clock_epoch(&clk, ep, job, w, test, st, cb, arg, why)) != GP_OK) goto out;
    }
    if (final) *final = clk.p;
out:
    for (int l = 0; l < L; l++) {
        gp_rmat_free(&x[l]);
        gp_rmat_free(&s[l + 1]);
        gp_rmat_free(&d[l + 1]);
        if (e != GP_OK) gp_rmat_free(&w[l]);
    }
    gp_rmat_free(&c);
    free(order);
    free(lab);
    return e;
}
