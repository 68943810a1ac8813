/* coding_bench - the coding core against plain OpenBLAS, side by side.
 *
 * (a) a node's whole forward step (encode its input, coded block product)
 *     against one raw OpenBLAS call of the same shape;
 * (b) decoding against the node's product, forward and backward, no errors
 *     and one wrong output;
 * (c) a node's per-step update (encode D and X, rank-B update of its block)
 *     against one uncoded update of the whole layer.
 * P = 8, m = n = 2, layers 1024..4096 wide, B = 1 and 64, one OpenBLAS
 * thread (OPENBLAS_NUM_THREADS is ignored: set here). Each figure is the
 * median of --reps runs. In (a) and (c) the two sides of a ratio alternate
 * run by run so that machine noise hits both; in (b) each kind of run has its
 * own loop, one right after the other, so that none disturbs the caches of
 * the next. Prints a table; exits 0 (this is a
 * measurement, not a test).
 *
 * usage: coding_bench [--reps N] [--quick]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gp_blas.h"
#include "gp_code.h"
#include "gp_rng.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static gp_rmat randm(gp_rng *r, size_t rows, size_t cols)
{
    gp_rmat m;
    gp_rmat_alloc(&m, rows, cols);
    for (size_t i = 0; i < rows * cols; i++) m.data[i] = gp_rng_normal(r);
    return m;
}

typedef struct setup {
    gp_code_t *c;
    size_t N, B, br, bc;
    gp_rmat w, blocks[8], x, d;
    gp_rmat out[8], outb[8]; /* forward and backward node outputs */
} setup;

static void make(setup *s, gp_code_t *c, size_t N, size_t B, gp_rng *rng)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->N = N;
    s->B = B;
    s->br = gp_code_block_rows(c, N);
    s->bc = gp_code_block_cols(c, N);
    s->w = randm(rng, N, N);
    s->x = randm(rng, N, B);
    s->d = randm(rng, N, B);
    for (int p = 0; p < 8; p++) {
        gp_rmat_alloc(&s->blocks[p], s->br, s->bc);
        gp_code_encode_weights(c, p, s->w, s->blocks[p]);
        gp_rmat enc;
        gp_rmat_alloc(&s->out[p], s->br, B);
        gp_rmat_alloc(&s->outb[p], s->bc, B);
        gp_rmat_alloc(&enc, s->bc, B);
        gp_code_encode_input(c, p, GP_FORWARD, s->x, enc);
        gp_code_node_product(GP_FORWARD, s->blocks[p], enc, s->out[p]);
        gp_rmat_free(&enc);
        gp_rmat_alloc(&enc, s->br, B);
        gp_code_encode_input(c, p, GP_BACKWARD, s->d, enc);
        gp_code_node_product(GP_BACKWARD, s->blocks[p], enc, s->outb[p]);
        gp_rmat_free(&enc);
    }
}

static void destroy(setup *s)
{
    gp_rmat_free(&s->w);
    gp_rmat_free(&s->x);
    gp_rmat_free(&s->d);
    for (int p = 0; p < 8; p++) {
        gp_rmat_free(&s->blocks[p]);
        gp_rmat_free(&s->out[p]);
        gp_rmat_free(&s->outb[p]);
    }
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "coding_bench");
    int reps = 15;
    bool quick = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else {
            fprintf(stderr, "usage: coding_bench [--reps N] [--quick]\n");
            return 2;
        }
    }
    if (reps < 3) reps = 3;
    gp_blas_set_threads(1);
    gp_code_params pp = {.scheme = GP_SCHEME_GPD, .nodes = 8, .m = 2, .n = 2};
    gp_code_t *c;
    gp_msg why;
    if (gp_code_new(&pp, &c, &why) != GP_OK) {
        fprintf(stderr, "%s\n", why.text);
        return 1;
    }
    char desc[128];
    gp_code_describe(c, desc, sizeof desc);
    printf("coding_bench: %s, one OpenBLAS thread, median of %d runs\n%s\nBLAS kernel %s\n\n", desc,
           reps, gp_blas_config(), gp_blas_kernel());
    gp_rng rng;
    gp_rng_seed(&rng, 1);
    const size_t widths[] = {1024, 2048, 4096};
    const size_t batches[] = {1, 64};
    double *ta = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps),
           *tc = malloc(sizeof(double) * reps), *td = malloc(sizeof(double) * reps),
           *te = malloc(sizeof(double) * reps);

    printf("(a) node forward step (encode input + coded product) vs one OpenBLAS call of the same "
           "shape\n");
    printf("%6s %4s  %12s %12s %8s\n", "width", "B", "node ms", "openblas ms", "speed");
    for (size_t wi = 0; wi < (quick ? 1 : 3); wi++)
        for (size_t bi = 0; bi < 2; bi++) {
            setup s;
            make(&s, c, widths[wi], batches[bi], &rng);
            gp_rmat enc, o, xb;
            gp_rmat_alloc(&enc, s.bc, s.B);
            gp_rmat_alloc(&o, s.br, s.B);
            xb = randm(&rng, s.bc, s.B); /* the raw call's input: same shape, no encoding */
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                gp_gemm_rm(false, 1.0, s.blocks[3], xb, 0.0, o);
                ta[r] = now() - t0;
                t0 = now();
                gp_code_encode_input(c, 3, GP_FORWARD, s.x, enc);
                gp_code_node_product(GP_FORWARD, s.blocks[3], enc, o);
                tb[r] = now() - t0;
            }
            double raw = median(ta, reps), node = median(tb, reps);
            printf("%6zu %4zu  %12.3f %12.3f %7.2fx\n", s.N, s.B, 1e3 * node, 1e3 * raw,
                   raw / node);
            gp_rmat_free(&enc);
            gp_rmat_free(&o);
            gp_rmat_free(&xb);
            destroy(&s);
        }

    printf(
        "\n(b) decode vs the node's product (8 outputs, K_f = 5, K_b = 6). Outputs are decoded as\n"
        "    they arrive: each run first copies them into the receive buffers, as the network\n"
        "    would; 'cold' evicts them from the caches first, so that the decode also waits\n"
        "    for main memory. '1 wrong': one output carries a wrong entry\n");
    printf("%6s %4s %-8s  %10s %10s %8s %12s %8s %10s %8s\n", "width", "B", "dir", "product ms",
           "decode ms", "decode %", "1 wrong, ms", "1 wrong %", "cold ms", "cold %");
    bool named_ok = true;
    uint64_t base_used[2] = {0, 0};
    size_t flush_n = (size_t)64 << 20 >> 3; /* 64 MiB: larger than the caches */
    double *flush = malloc(flush_n * sizeof(double)), *tf = malloc(sizeof(double) * reps);
    for (size_t i = 0; i < flush_n; i++) flush[i] = (double)i;
    for (size_t wi = 0; wi < (quick ? 1 : 3); wi++)
        for (size_t bi = 0; bi < 2; bi++) {
            setup s;
            make(&s, c, widths[wi], batches[bi], &rng);
            for (int dir = 0; dir < 2; dir++) {
                gp_rmat *outs = dir ? s.outb : s.out, res, enc, o;
                size_t orows = dir ? s.bc : s.br;
                gp_rmat_alloc(&res, s.N, s.B);
                gp_rmat_alloc(&enc, dir ? s.br : s.bc, s.B);
                gp_rmat_alloc(&o, orows, s.B);
                gp_rmat bad, rx[8];
                gp_rmat_alloc(&bad, orows, s.B);
                gp_rmat_copy(bad, outs[5]);
                bad.data[orows * s.B / 2] += 1.0;
                gp_node_output vr[8];
                for (int p = 0; p < 8; p++) {
                    gp_rmat_alloc(&rx[p], orows, s.B);
                    vr[p] = (gp_node_output){p, rx[p].data};
                }
                /* each kind in its own loop, so one does not disturb the caches of
                 * the next: the product warm, the decodes right after arrival */
                for (int r = 0; r < reps; r++) {
                    double t0 = now();
                    gp_code_encode_input(c, 3, (gp_dir)dir, dir ? s.d : s.x, enc);
                    gp_code_node_product((gp_dir)dir, s.blocks[3], enc, o);
                    ta[r] = now() - t0;
                }
                for (int r = 0; r < reps; r++) {
                    for (int p = 0; p < 8; p++) gp_rmat_copy(rx[p], outs[p]); /* arrival */
                    gp_decode_report rep;
                    double t0 = now();
                    gp_code_decode(c, (gp_dir)dir, s.N, s.N, s.B, vr, 8, res, &rep, NULL);
                    tb[r] = now() - t0;
                    base_used[dir] = rep.used;
                }
                for (int r = 0; r < reps; r++) {
                    for (int p = 0; p < 8; p++) gp_rmat_copy(rx[p], p == 5 ? bad : outs[p]);
                    gp_decode_report rep;
                    double t0 = now();
                    gp_err e =
                        gp_code_decode(c, (gp_dir)dir, s.N, s.N, s.B, vr, 8, res, &rep, NULL);
                    tc[r] = now() - t0;
                    if (e != GP_OK || rep.wrong != 1u << 5) named_ok = false;
                }
                for (int r = 0; r < reps; r++) {
                    for (int p = 0; p < 8; p++) gp_rmat_copy(rx[p], outs[p]);
                    for (size_t i = 0; i < flush_n; i += 8) flush[i] += 1.0; /* evict */
                    double t0 = now();
                    gp_code_decode(c, (gp_dir)dir, s.N, s.N, s.B, vr, 8, res, NULL, NULL);
                    tf[r] = now() - t0;
                }
                double prod = median(ta, reps), dec = median(tb, reps), dec1 = median(tc, reps),
                       cold = median(tf, reps);
                printf("%6zu %4zu %-8s  %10.3f %10.3f %7.1f%% %12.3f %7.1f%% %10.3f %7.1f%%\n", s.N,
                       s.B, dir ? "backward" : "forward", 1e3 * prod, 1e3 * dec, 100 * dec / prod,
                       1e3 * dec1, 100 * dec1 / prod, 1e3 * cold, 100 * cold / prod);
                for (int p = 0; p < 8; p++) gp_rmat_free(&rx[p]);
                gp_rmat_free(&res);
                gp_rmat_free(&enc);
                gp_rmat_free(&o);
                gp_rmat_free(&bad);
            }
            destroy(&s);
        }

    printf("1 wrong: node 5's output has one entry off by 1.0; named as the wrong node in "
           "every run: %s\n",
           named_ok ? "yes" : "NO");
    for (int dir = 0; dir < 2; dir++) {
        printf("%s: the fast path's base is nodes", dir ? "backward" : "forward");
        for (int p = 0; p < 8; p++)
            if (base_used[dir] >> p & 1) printf(" %d", p);
        printf("\n");
    }
    free(flush);
    free(tf);
    printf("\n(c) per-step update: node (encode D, X + rank-B update of its block) vs one uncoded\n"
           "    update of the whole layer W += alpha D X^T\n");
    printf("%6s %4s  %12s %12s %8s\n", "width", "B", "node ms", "uncoded ms", "ratio");
    for (size_t wi = 0; wi < (quick ? 1 : 3); wi++)
        for (size_t bi = 0; bi < 2; bi++) {
            setup s;
            make(&s, c, widths[wi], batches[bi], &rng);
            gp_rmat dt, xt;
            gp_rmat_alloc(&dt, s.br, s.B);
            gp_rmat_alloc(&xt, s.bc, s.B);
            for (int r = 0; r < reps; r++) {
                double t0 = now();
                gp_rank_update_rm(-1e-3, s.d, s.x, s.w);
                td[r] = now() - t0;
                t0 = now();
                gp_code_encode_update(c, 3, s.d, s.x, dt, xt);
                gp_code_node_update(-1e-3, dt, xt, s.blocks[3]);
                te[r] = now() - t0;
            }
            double unc = median(td, reps), node = median(te, reps);
            printf("%6zu %4zu  %12.3f %12.3f %7.2fx\n", s.N, s.B, 1e3 * node, 1e3 * unc,
                   node / unc);
            gp_rmat_free(&dt);
            gp_rmat_free(&xt);
            destroy(&s);
        }
    printf("\nspeed in (a): raw / node time (1.00 = as fast as the raw call); ratio in (c): node / "
           "uncoded\n");
    free(ta);
    free(tb);
    free(tc);
    free(td);
    free(te);
    gp_code_destroy(&c);
    return 0;
}
