/* gpdot-client plan: the code choices for a cluster of P nodes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gp_plan.h"

const char cmd_plan_usage[] =
    "usage: gpdot-client plan --nodes P [--errors E] [--layer RxC] [--batch B]\n"
    "                         [--precision float64|float32] [--json]\n"
    "\n"
    "Lists every code the library accepts on P nodes for one layer: scheme, split m x n,\n"
    "storage orientation, the outputs each decode needs (K_f forward, K_b backward, K_w\n"
    "stored blocks to rebuild W), errors corrected per decode with every node up (random:\n"
    "independent errors of any size; adversarial: chosen by an opponent, under the\n"
    "decoder's default policy, which also never returns a wrong result for a few more),\n"
    "the fraction of W each node stores, the bytes each node sends per product, and the\n"
    "certified worst-case relative error a decode adds to outputs correct in the data's\n"
    "precision (at most 1e-9 in float64 for every accepted code), and the decoder's\n"
    "tolerance for the layer: the relative noise a correct output may carry, past which\n"
    "it is taken as an error (each grows with the unit roundoff: float32's is 2^29 times\n"
    "float64's). Polynomial codes that fit P but miss the bound are listed after, with it.\n"
    "\n"
    "  --nodes P     cluster size (1..64; coded schemes certified up to 24)\n"
    "  --errors E    only choices that correct at least E random errors in both directions\n"
    "  --layer RxC   layer shape for the byte counts (default 1024x1024)\n"
    "  --batch B     columns per product (default 1)\n"
    "  --precision P float64 (default) or float32: the job's `precision:`, in which\n"
    "                the nodes multiply, send and store (the decoder computes in float64)\n"
    "  --json        print a JSON array instead of the table\n";

static const char *scheme_label(const gp_plan_row *r)
{
    return gp_scheme_name(r->params.scheme);
}

static const char *orient_label(const gp_plan_row *r)
{
    if (r->params.scheme <= GP_SCHEME_MATDOT) return gp_orient_name(r->info.orient);
    return "-";
}

static void print_json(const gp_plan_row *rows, int n, int P)
{
    printf("[");
    int first = 1;
    for (int i = 0; i < n; i++) {
        const gp_plan_row *r = &rows[i];
        if (!r->accepted) continue;
        const gp_code_info *in = &r->info;
        printf("%s\n  {\"scheme\": \"%s\", \"m\": %d, \"n\": %d, \"orientation\": \"%s\", "
               "\"nodes\": %d, "
               "\"k_forward\": %d, \"k_backward\": %d, \"k_storage\": %d, "
               "\"random_errors_forward\": %d, \"random_errors_backward\": %d, "
               "\"adversarial_errors_forward\": %d, \"adversarial_errors_backward\": %d, "
               "\"adversarial_detected_forward\": %d, \"adversarial_detected_backward\": %d, "
               "\"storage_fraction\": %.6g, \"bytes_per_product\": %.0f, "
               "\"bytes_per_product_backward\": %.0f, \"worst_relative_error\": %.3e, "
               "\"tolerance_forward\": %.3e, \"tolerance_backward\": %.3e, "
               "\"precision\": \"%s\", \"nodes_forward\": %d, \"nodes_backward\": %d",
               first ? "" : ",", scheme_label(r), in->m, in->n, orient_label(r), P, in->k_forward,
               in->k_backward, in->k_storage, in->random_forward, in->random_backward,
               in->adversarial_forward, in->adversarial_backward, in->adversarial_detected_forward,
               in->adversarial_detected_backward, in->storage_fraction, r->bytes_forward,
               r->bytes_backward, r->worst_error, r->eta_forward, r->eta_backward,
               in->single ? "float32" : "float64", in->nodes_forward, in->nodes_backward);
        if (in->points >= 0) printf(", \"points\": %d", in->points);
        if (r->params.scheme == GP_SCHEME_MDS) printf(", \"pr\": %d, \"pc\": %d", in->pr, in->pc);
        if (r->params.scheme == GP_SCHEME_REPLICATION) printf(", \"copies\": %d", in->copies);
        printf("}");
        first = 0;
    }
    printf("\n]\n");
}

static void print_table(const gp_plan_row *rows, int n, const gp_plan_req *rq)
{
    printf("Code choices for %d nodes, layer %zux%zu, batch %zu, %s\n\n", rq->nodes, rq->rows,
           rq->cols, rq->batch, rq->single ? "float32" : "float64");
    printf("%-12s %2s %2s %-6s %4s %4s %4s  %-13s %-16s %8s  %-21s %-11s %s\n", "scheme", "m", "n",
           "orient", "K_f", "K_b", "K_w", "random f/b", "adversarial f/b", "storage",
           "bytes/product f/b", "worst error", "tolerance f/b");
    int accepted = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        const gp_plan_row *r = &rows[i];
        if (!r->accepted) {
            refused++;
            continue;
        }
        const gp_code_info *in = &r->info;
        char rnd[32], adv[32], bf[24], bb[24], bytes[64];
        snprintf(rnd, sizeof rnd, "%d/%d", in->random_forward, in->random_backward);
        snprintf(adv, sizeof adv, "%d/%d", in->adversarial_forward, in->adversarial_backward);
        snprintf(bytes, sizeof bytes, "%s / %s", cli_bytes(r->bytes_forward, bf, sizeof bf),
                 cli_bytes(r->bytes_backward, bb, sizeof bb));
        char extra[48] = "";
        if (r->params.scheme == GP_SCHEME_MDS)
            snprintf(extra, sizeof extra, "  (Pr=%d Pc=%d)", in->pr, in->pc);
        if (r->params.scheme == GP_SCHEME_REPLICATION)
            snprintf(extra, sizeof extra, "  (%d copies)", in->copies);
        printf("%-12s %2d %2d %-6s %4d %4d %4d  %-13s %-16s %8.4f  %-21s %-11.1e %.1e/%.1e%s\n",
               scheme_label(r), in->m, in->n, orient_label(r), in->k_forward, in->k_backward,
               in->k_storage, rnd, adv, in->storage_fraction, bytes, r->worst_error, r->eta_forward,
               r->eta_backward, extra);
        accepted++;
    }
    if (!accepted) printf("(none%s)\n", rq->min_errors ? ": try fewer --errors or more nodes" : "");
    if (refused) {
        printf("\nRefused: the worst-case decode error bound exceeds 1e-9\n");
        for (int i = 0; i < n; i++)
            if (!rows[i].accepted) printf("  %s\n", rows[i].refusal);
    }
    printf("\nrandom: independent errors corrected per decode (any size); adversarial: errors\n"
           "chosen by an opponent that are corrected, under the default decoder policy.\n");
}

int cmd_plan(int argc, char **argv)
{
    gp_plan_req rq = {.rows = 1024, .cols = 1024, .batch = 1};
    bool json = false;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--nodes", &v)) {
            rq.nodes = (int)cli_long("--nodes", v, 1, GP_MAX_NODES);
        } else if (cli_opt(argc, argv, &i, "--errors", &v)) {
            rq.min_errors = (int)cli_long("--errors", v, 0, GP_MAX_NODES);
        } else if (cli_opt(argc, argv, &i, "--batch", &v)) {
            rq.batch = (size_t)cli_long("--batch", v, 1, 1 << 20);
        } else if (cli_opt(argc, argv, &i, "--layer", &v)) {
            char *x = strchr(v, 'x');
            if (!x) return cli_error(2, "--layer must be ROWSxCOLS, e.g. 1024x784, not '%s'", v);
            char rbuf[32];
            snprintf(rbuf, sizeof rbuf, "%.*s", (int)(x - v), v);
            rq.rows = (size_t)cli_long("--layer rows", rbuf, 1, 1 << 24);
            rq.cols = (size_t)cli_long("--layer columns", x + 1, 1, 1 << 24);
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (strcmp(v, "float32") && strcmp(v, "float64"))
                return cli_error(2, "--precision must be float64 or float32, not '%s'", v);
            rq.single = strcmp(v, "float32") == 0;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            return cli_error(2, "plan: unknown option '%s' (see gpdot-client plan --help)",
                             argv[i]);
        }
    }
    if (rq.nodes == 0) return cli_error(2, "plan: --nodes P is required");
    gp_plan_row *rows;
    int n;
    gp_msg why;
    gp_err e = gp_plan(&rq, &rows, &n, &why);
    if (e != GP_OK) return cli_error(1, "plan: %s", why.text);
    if (json)
        print_json(rows, n, rq.nodes);
    else
        print_table(rows, n, &rq);
    free(rows);
    return 0;
}
