/* gpdot-client code-demo: the codes at work on simulated nodes in one
 * process: coded products, decoding, injected soft errors corrected, too
 * many errors detected, the coded update and a corrupted block rebuilt. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "gp_blas.h"
#include "gp_clock.h"
#include "gp_code.h"
#include "gp_rng.h"

const char cmd_code_demo_usage[] =
    "usage: gpdot-client code-demo [--nodes P] [--m M] [--n N] [--layer RxC] [--batch B]\n"
    "                              [--errors E] [--seed S]\n"
    "\n"
    "Runs a coded layer on P simulated nodes in this process: every node encodes its\n"
    "share of the weights and of the input and computes its product; the outputs are\n"
    "decoded and compared with one plain OpenBLAS product. Then E soft errors are\n"
    "injected into node outputs (a flipped exponent bit, a NaN, random noise) and\n"
    "corrected, more errors than the code corrects are detected, the coded update is\n"
    "checked against the updated weights, and a corrupted stored block is found and\n"
    "rebuilt. Defaults: 8 nodes, m = n = 2, a 1024x784 layer, batch 64, E = 2.\n"
    "Exits 0 when every outcome is the expected one.\n";

static double rel_err(gp_rmat a, gp_rmat ref)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.rows; i++)
        for (size_t j = 0; j < ref.cols; j++) {
            double d = a.data[i * a.ld + j] - ref.data[i * ref.ld + j];
            num += d * d;
            den += ref.data[i * ref.ld + j] * ref.data[i * ref.ld + j];
        }
    return sqrt(num / den);
}

static void nodes_str(uint64_t mask, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = 0;
    for (int p = 0; p < 64 && o + 4 < len; p++)
        if (mask >> p & 1) o += (size_t)snprintf(buf + o, len - o, "%s%d", o ? "," : "", p);
    if (!o) snprintf(buf, len, "none");
}

typedef struct demo {
    gp_code_t *c;
    const gp_code_info *in;
    size_t rows, cols, B;
    gp_rmat w, blocks[GP_MAX_NODES];
    gp_rng rng;
    int failures;
} demo;

static void expect(demo *d, int ok, const char *what)
{
    printf("    %-58s %s\n", what, ok ? "ok" : "UNEXPECTED");
    d->failures += !ok;
}

/* One product in direction dir: every node's share, decode, errors. */
static void product(demo *d, gp_dir dir, int nerr)
{
    const char *name = dir == GP_FORWARD ? "forward  W X" : "backward W^T D";
    size_t inner = dir == GP_FORWARD ? d->cols : d->rows,
           outr = dir == GP_FORWARD ? d->rows : d->cols;
    size_t orows = gp_code_output_rows(d->c, dir, d->rows, d->cols);
    int P = d->in->nodes, K = dir == GP_FORWARD ? d->in->k_forward : d->in->k_backward;
    gp_rmat x, ref, res, enc, outs[GP_MAX_NODES];
    gp_rmat_alloc(&x, inner, d->B);
    for (size_t i = 0; i < inner * d->B; i++) /* pixel-like inputs, or backpropagated errors */
        x.data[i] = dir == GP_FORWARD ? gp_rng_uniform(&d->rng) : 0.1 * gp_rng_normal(&d->rng);
    gp_rmat_alloc(&ref, outr, d->B);
    gp_rmat_alloc(&res, outr, d->B);
    double t0 = gp_mono_s();
    gp_gemm_rm(dir == GP_BACKWARD, 1.0, d->w, x, 0.0, ref);
    double t_ref = gp_mono_s() - t0, t_nodes = 0;
    gp_node_output v[GP_MAX_NODES];
    int nv = 0;
    for (int p = 0; p < P; p++) {
        memset(&outs[p], 0, sizeof outs[p]);
        if (!gp_code_takes_part(d->c, p, dir)) continue;
        gp_rmat_alloc(&enc, dir == GP_FORWARD ? d->blocks[p].cols : d->blocks[p].rows, d->B);
        gp_rmat_alloc(&outs[p], orows, d->B);
        t0 = gp_mono_s();
        gp_code_encode_input(d->c, p, dir, x, enc);
        gp_code_node_product(dir, d->blocks[p], enc, outs[p]);
        t_nodes += gp_mono_s() - t0;
        v[nv++] = (gp_node_output){p, outs[p].data};
        gp_rmat_free(&enc);
    }
    gp_decode_report rep;
    t0 = gp_mono_s();
    gp_err e = gp_code_decode(d->c, dir, d->rows, d->cols, d->B, v, nv, res, &rep, NULL);
    double t_dec = gp_mono_s() - t0;
    printf(
        "\n  %s: one node's share %.2f ms (all %d nodes %.1f ms, one plain OpenBLAS call %.1f ms), "
        "decode %.2f ms\n",
        name, 1e3 * t_nodes / nv, nv, 1e3 * t_nodes, 1e3 * t_ref, 1e3 * t_dec);
    char buf[160], nb[96];
    snprintf(buf, sizeof buf, "no errors: relative error %.1e (certified bound %.0e)",
             rel_err(res, ref), rep.bound);
    expect(d, e == GP_OK && rep.nwrong == 0, buf);

    /* soft errors at random nodes: exponent bit flip, NaN, noise */
    uint64_t bad = 0;
    while (__builtin_popcountll(bad) < nerr && nerr <= nv) {
        int p = v[gp_rng_below(&d->rng, (uint64_t)nv)].node;
        if (bad >> p & 1) continue;
        bad |= 1ull << p;
        double *y = outs[p].data;
        size_t l = gp_rng_below(&d->rng, orows * d->B);
        switch (__builtin_popcountll(bad) % 3) {
        case 1: {
            uint64_t b;
            memcpy(&b, &y[l], 8);
            b ^= 1ull << 61;
            memcpy(&y[l], &b, 8);
            break;
        }
        case 2:
            y[l] = NAN;
            break;
        default:
            for (size_t i = 0; i < orows * d->B; i++) y[i] += 1e-3 * gp_rng_normal(&d->rng);
        }
    }
    e = gp_code_decode(d->c, dir, d->rows, d->cols, d->B, v, nv, res, &rep, NULL);
    nodes_str(bad, nb, sizeof nb);
    snprintf(buf, sizeof buf, "%d soft errors (nodes %s): corrected, error %.1e", nerr, nb,
             rel_err(res, ref));
    int cap = dir == GP_FORWARD ? d->in->random_forward : d->in->random_backward;
    if (nerr <= cap)
        expect(d, e == GP_OK && rep.wrong == bad && rel_err(res, ref) < 1e-9, buf);
    else
        printf("    %d errors is more than this code corrects (%d): %s\n", nerr, cap,
               gp_strerror(e));

    /* as many errors as spare outputs: detected, never a wrong result */
    int spare = nv - K;
    if (d->in->scheme <= GP_SCHEME_MATDOT && spare > nerr) {
        while (__builtin_popcountll(bad) < spare) {
            int p = v[gp_rng_below(&d->rng, (uint64_t)nv)].node;
            if (bad >> p & 1) continue;
            bad |= 1ull << p;
            for (size_t i = 0; i < orows * d->B; i++)
                outs[p].data[i] += 1e-2 * gp_rng_normal(&d->rng);
        }
        gp_msg why;
        e = gp_code_decode(d->c, dir, d->rows, d->cols, d->B, v, nv, res, &rep, &why);
        snprintf(buf, sizeof buf, "%d errors (one per spare output): %s", spare,
                 e == GP_EDETECTED ? "detected, not correctable" : gp_strerror(e));
        expect(d, e == GP_EDETECTED, buf);
    }
    for (int p = 0; p < P; p++) gp_rmat_free(&outs[p]);
    gp_rmat_free(&x);
    gp_rmat_free(&ref);
    gp_rmat_free(&res);
}

static void update_and_repair(demo *d)
{
    int P = d->in->nodes;
    double alpha = -0.01;
    gp_rmat dd, xx, dt, xt, w2, wd;
    gp_rmat_alloc(&dd, d->rows, d->B);
    gp_rmat_alloc(&xx, d->cols, d->B);
    for (size_t i = 0; i < d->rows * d->B; i++) dd.data[i] = 0.1 * gp_rng_normal(&d->rng);
    for (size_t i = 0; i < d->cols * d->B; i++) xx.data[i] = gp_rng_uniform(&d->rng);
    gp_rmat_alloc(&w2, d->rows, d->cols);
    gp_rmat_copy(w2, d->w);
    gp_rank_update_rm(alpha, dd, xx, w2);
    gp_rmat_alloc(&dt, d->blocks[0].rows, d->B);
    gp_rmat_alloc(&xt, d->blocks[0].cols, d->B);
    gp_node_output v[GP_MAX_NODES];
    for (int p = 0; p < P; p++) {
        gp_code_encode_update(d->c, p, dd, xx, dt, xt);
        gp_code_node_update(alpha, dt, xt, d->blocks[p]);
        v[p] = (gp_node_output){p, d->blocks[p].data};
    }
    gp_rmat_alloc(&wd, d->rows, d->cols);
    gp_decode_report rep;
    gp_err e = gp_code_decode_weights(d->c, d->rows, d->cols, v, P, 1, wd, &rep, NULL);
    char buf[160];
    printf("\n  update W += alpha D X^T applied to every stored block, no re-encoding\n");
    snprintf(buf, sizeof buf, "weights decoded from the blocks: error %.1e vs plain update",
             rel_err(wd, w2));
    expect(d, e == GP_OK && rel_err(wd, w2) < 1e-12, buf);
    if (d->in->scheme != GP_SCHEME_UNCODED) {
        int p = (int)gp_rng_below(&d->rng, (uint64_t)P);
        gp_rmat saved;
        gp_rmat_alloc(&saved, d->blocks[p].rows, d->blocks[p].cols);
        gp_rmat_copy(saved, d->blocks[p]);
        d->blocks[p].data[7] += 0.25; /* a persistent error in node p's stored block */
        e = gp_code_check_weights(d->c, d->rows, d->cols, v, P, 1, &rep, NULL);
        snprintf(buf, sizeof buf, "block of node %d corrupted: found by the consistency check", p);
        expect(d, (e == GP_OK || e == GP_EDETECTED) && (rep.wrong >> p & 1), buf);
        e = gp_code_regenerate(d->c, p, d->rows, d->cols, v, P, 1, d->blocks[p], &rep, NULL);
        snprintf(buf, sizeof buf, "rebuilt from the other blocks: error %.1e",
                 rel_err(d->blocks[p], saved));
        expect(d, (e == GP_OK || e == GP_EUNVERIFIED) && rel_err(d->blocks[p], saved) < 1e-12, buf);
        gp_rmat_free(&saved);
    }
    gp_rmat *m[] = {&dd, &xx, &dt, &xt, &w2, &wd};
    for (size_t i = 0; i < 6; i++) gp_rmat_free(m[i]);
}

int cmd_code_demo(int argc, char **argv)
{
    int P = 8, m = 2, n = 2, nerr = 2;
    size_t rows = 1024, cols = 784, B = 64;
    uint64_t seed = 1;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--nodes", &v))
            P = (int)cli_long("--nodes", v, 1, GP_MAX_CODED_NODES);
        else if (cli_opt(argc, argv, &i, "--m", &v))
            m = (int)cli_long("--m", v, 1, GP_MAX_SPLIT);
        else if (cli_opt(argc, argv, &i, "--n", &v))
            n = (int)cli_long("--n", v, 1, GP_MAX_SPLIT);
        else if (cli_opt(argc, argv, &i, "--errors", &v))
            nerr = (int)cli_long("--errors", v, 0, GP_MAX_CODED_NODES);
        else if (cli_opt(argc, argv, &i, "--batch", &v))
            B = (size_t)cli_long("--batch", v, 1, 4096);
        else if (cli_opt(argc, argv, &i, "--seed", &v))
            seed = (uint64_t)cli_long("--seed", v, 0, 1L << 62);
        else if (cli_opt(argc, argv, &i, "--layer", &v)) {
            if (sscanf(v, "%zux%zu", &rows, &cols) != 2 || rows < 1 || cols < 1 || rows > 16384 ||
                cols > 16384)
                return cli_error(2, "--layer must be ROWSxCOLS (each 1..16384), not '%s'", v);
        } else
            return cli_error(2, "code-demo: unknown option '%s' (see --help)", argv[i]);
    }
    gp_blas_set_threads(1);
    demo d = {.rows = rows, .cols = cols, .B = B};
    gp_rng_seed(&d.rng, seed);
    gp_code_params pp = {.scheme = n == 1   ? GP_SCHEME_POLYNOMIAL
                                   : m == 1 ? GP_SCHEME_MATDOT
                                            : GP_SCHEME_GPD,
                         .nodes = P,
                         .m = m,
                         .n = n};
    gp_msg why;
    gp_err e = gp_code_new(&pp, &d.c, &why);
    if (e != GP_OK) return cli_error(1, "code-demo: %s", why.text);
    d.in = gp_code_info_of(d.c);
    char desc[160];
    gp_code_describe(d.c, desc, sizeof desc);
    printf("gpdot code demo: %s\n", desc);
    printf("  layer %zux%zu, batch %zu, one OpenBLAS thread; each node stores %.1f%% of W\n", rows,
           cols, B, 100 * d.in->storage_fraction);
    printf("  corrects %d random errors forward, %d backward; decodes add at most %.0e relative "
           "error\n",
           d.in->random_forward, d.in->random_backward, d.in->worst_bound);
    gp_rmat_alloc(&d.w, rows, cols);
    for (size_t i = 0; i < rows * cols; i++)
        d.w.data[i] = gp_rng_normal(&d.rng) / sqrt((double)cols);
    for (int p = 0; p < P; p++) {
        gp_rmat_alloc(&d.blocks[p], gp_code_block_rows(d.c, rows), gp_code_block_cols(d.c, cols));
        gp_code_encode_weights(d.c, p, d.w, d.blocks[p]);
    }
    product(&d, GP_FORWARD, nerr);
    product(&d, GP_BACKWARD, nerr);
    update_and_repair(&d);
    printf("\n%s\n",
           d.failures ? "some outcomes were not the expected ones" : "all outcomes as expected");
    for (int p = 0; p < P; p++) gp_rmat_free(&d.blocks[p]);
    gp_rmat_free(&d.w);
    gp_code_destroy(&d.c);
    return d.failures ? 1 : 0;
}
