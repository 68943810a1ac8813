/* train32.c - the local trainer in single precision (`precision: float32`):
 * weights, activations, deltas and products in float (OpenBLAS sgemm), the
 * same steps in the same order as the float64 trainer (train.c). The loss,
 * the softmax's sums and the data's standardisation are computed in double
 * and rounded once to float; the initial weights are the float64 trainer's,
 * rounded. The test set is evaluated by the float64 code on the float32
 * weights (exactly representable in double). */
#include "gp_train.h"
#include "train_local.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gp_blas.h"
#include "gp_detmath.h"

static gp_err falloc(gp_fmat *m, size_t rows, size_t cols)
{
    size_t bytes = rows * cols * sizeof(float);
    if (cols && rows > SIZE_MAX / sizeof(float) / cols) return GP_ERANGE;
    bytes = (bytes + 63) / 64 * 64;
    m->data = aligned_alloc(64, bytes ? bytes : 64);
    if (!m->data) return GP_ENOMEM;
    memset(m->data, 0, bytes);
    m->rows = rows, m->cols = cols, m->ld = cols;
    return GP_OK;
}

static void ffree(gp_fmat *m)
{
    free(m->data);
    memset(m, 0, sizeof *m);
}

static void batch32(const gp_dataset *ds, gp_norm_stats st, const uint32_t *order, size_t first,
                    size_t b, gp_fmat x0, uint8_t *labels)
{
    size_t F = ds->features;
    for (size_t j0 = 0; j0 < b; j0 += 8) { /* as gp_train_batch: a cache line per feature */
        size_t nb = b - j0 < 8 ? b - j0 : 8, s[8];
        for (size_t k = 0; k < nb; k++) s[k] = order[first + j0 + k];
        for (size_t f = 0; f < F; f++) {
            float *dst = x0.data + f * x0.ld + j0;
            if (ds->u8)
                for (size_t k = 0; k < nb; k++)
                    dst[k] = (float)(((double)ds->u8[s[k] * F + f] - st.mean) * st.scale);
            else
                for (size_t k = 0; k < nb; k++)
                    dst[k] = (float)(((double)ds->f32[s[k] * F + f] - st.mean) * st.scale);
        }
        for (size_t k = 0; k < nb; k++) {
            x0.data[F * x0.ld + j0 + k] = 1.0f;
            labels[j0 + k] = ds->labels[s[k]];
        }
    }
}

/* relu over one row, and its derivative times c: branch-free, so that they
 * vectorise (the arrays do not overlap) */
static void relu_row(const float *restrict a, float *restrict y, size_t n)
{
    for (size_t j = 0; j < n; j++) y[j] = a[j] > 0 ? a[j] : 0.0f;
}

static void relu_df_row(const float *restrict a, float *restrict y, size_t n)
{
    for (size_t j = 0; j < n; j++) y[j] *= a[j] > 0 ? 1.0f : 0.0f;
}

static void activate32(gp_act f, gp_fmat s, gp_fmat x)
{
    for (size_t i = 0; i < s.rows; i++) {
        const float *a = s.data + i * s.ld;
        float *y = x.data + i * x.ld;
        if (f == GP_ACT_RELU)
            relu_row(a, y, s.cols);
        else
            for (size_t j = 0; j < s.cols; j++) y[j] = (float)gp_act_f(f, a[j]);
    }
    float *one = x.data + s.rows * x.ld;
    for (size_t j = 0; j < s.cols; j++) one[j] = 1.0f;
}

static void hadamard32(gp_act f, gp_fmat s, gp_fmat c)
{
    for (size_t i = 0; i < s.rows; i++) {
        const float *a = s.data + i * s.ld;
        float *y = c.data + i * c.ld;
        if (f == GP_ACT_RELU)
            relu_df_row(a, y, s.cols);
        else
            for (size_t j = 0; j < s.cols; j++) y[j] *= (float)gp_act_df(f, a[j]);
    }
}

/* Softmax cross-entropy of the columns of s against labels: the summed loss
 * (double), and delta = (softmax - onehot) / b in float. */
static double xent32(gp_fmat s, const uint8_t *labels, gp_fmat delta)
{
    double loss = 0, b = (double)s.cols;
    for (size_t j = 0; j < s.cols; j++) {
        double mx = -INFINITY, sum = 0;
        for (size_t i = 0; i < s.rows; i++)
            if (s.data[i * s.ld + j] > mx) mx = s.data[i * s.ld + j];
        for (size_t i = 0; i < s.rows; i++) sum += gp_det_exp(s.data[i * s.ld + j] - mx);
        size_t y = labels[j];
        for (size_t i = 0; i < s.rows; i++) {
            double p = gp_det_exp(s.data[i * s.ld + j] - mx) / sum;
            delta.data[i * delta.ld + j] = (float)((p - (i == y ? 1.0 : 0.0)) / b);
        }
        loss += gp_det_log(sum) - (s.data[y * s.ld + j] - mx);
    }
    return loss;
}

static void widen(const gp_fmat *wf, gp_rmat *w, int L)
{
    for (int l = 0; l < L; l++)
        for (size_t i = 0; i < wf[l].rows; i++)
            for (size_t j = 0; j < wf[l].cols; j++)
                w[l].data[i * w[l].ld + j] = wf[l].data[i * wf[l].ld + j];
}

gp_err gp_train_local_f32(const gp_job *job, const gp_dataset *train, const gp_dataset *test,
                          gp_rmat *w, gp_train_cb cb, void *arg, gp_train_progress *final,
                          gp_msg *why)
{
    int L = job->nlayers;
    size_t B = (size_t)job->batch;
    gp_err e = gp_job_check_data(job, train, test, why);
    if (e != GP_OK) return e;
    for (int l = 0; l < L; l++) w[l] = (gp_rmat){0};
    gp_fmat wf[GP_JOB_MAX_LAYERS] = {{0}}, x[GP_JOB_MAX_LAYERS] = {{0}},
            s[GP_JOB_MAX_LAYERS + 1] = {{0}}, d[GP_JOB_MAX_LAYERS + 1] = {{0}}, c = {0};
    uint32_t *order = malloc(train->count * sizeof *order);
    uint8_t *lab = malloc(B);
    size_t cmax = 0;
    if (!order || !lab) e = GP_ENOMEM;
    for (int l = 0; l < L && e == GP_OK; l++) {
        size_t in = (size_t)job->sizes[l], out = (size_t)job->sizes[l + 1];
        if ((e = gp_rmat_alloc(&w[l], out, in + 1)) != GP_OK ||
            (e = falloc(&wf[l], out, in + 1)) != GP_OK || (e = falloc(&x[l], in + 1, B)) != GP_OK ||
            (e = falloc(&s[l + 1], out, B)) != GP_OK || (e = falloc(&d[l + 1], out, B)) != GP_OK)
            break;
        gp_train_init_weights(job, l, w[l]); /* the float64 trainer's, rounded */
        for (size_t i = 0; i < out; i++)
            for (size_t j = 0; j <= in; j++)
                wf[l].data[i * wf[l].ld + j] = (float)w[l].data[i * w[l].ld + j];
        if (l > 0 && in + 1 > cmax) cmax = in + 1;
    }
    if (e == GP_OK && cmax) e = falloc(&c, cmax, B);
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
            gp_fmat xv[GP_JOB_MAX_LAYERS], sv[GP_JOB_MAX_LAYERS + 1], dv[GP_JOB_MAX_LAYERS + 1];
            for (int l = 0; l < L; l++) {
                xv[l] = gp_fmat_view(x[l].data, x[l].rows, b, x[l].ld);
                sv[l + 1] = gp_fmat_view(s[l + 1].data, s[l + 1].rows, b, s[l + 1].ld);
                dv[l + 1] = gp_fmat_view(d[l + 1].data, d[l + 1].rows, b, d[l + 1].ld);
            }
            batch32(train, st, order, first, b, xv[0], lab);
            for (int l = 0; l < L; l++) {
                gp_sgemm_rm(false, 1.0f, wf[l], xv[l], 0.0f, sv[l + 1]);
                if (l < L - 1) activate32(job->act[l], sv[l + 1], xv[l + 1]);
            }
            double loss = xent32(sv[L], lab, dv[L]) / (double)b;
            if (!isfinite(loss)) {
                e = gp_fail(why, GP_ENUMERIC,
                            "the training loss is not finite at step %llu (epoch %d); the "
                            "learning rate may be too high",
                            (unsigned long long)step + 1, ep + 1);
                goto out;
            }
            for (int l = L - 1; l >= 1; l--) {
                gp_fmat cv = gp_fmat_view(c.data, (size_t)job->sizes[l] + 1, b, c.ld);
                gp_sgemm_rm(true, 1.0f, wf[l], dv[l + 1], 0.0f, cv);
                hadamard32(job->act[l - 1], sv[l], cv);
                for (size_t i = 0; i < (size_t)job->sizes[l]; i++)
                    memcpy(dv[l].data + i * dv[l].ld, cv.data + i * cv.ld, b * sizeof(float));
            }
            float lr = (float)gp_train_lr(job, step, spe);
            for (int l = 0; l < L; l++) gp_srank_update_rm(-lr, dv[l + 1], xv[l], wf[l]);

            local_clock_step(&clk, step, loss, b, first + B >= train->count, cb, arg);
        }
        if (test) widen(wf, w, L);
        if ((e = local_clock_epoch(&clk, ep, job, w, test, st, cb, arg, why)) != GP_OK) goto out;
    }
    widen(wf, w, L);
    if (final) *final = clk.p;
out:
    for (int l = 0; l < L; l++) {
        ffree(&wf[l]);
        ffree(&x[l]);
        ffree(&s[l + 1]);
        ffree(&d[l + 1]);
        if (e != GP_OK) gp_rmat_free(&w[l]);
    }
    ffree(&c);
    free(order);
    free(lab);
    return e;
}
