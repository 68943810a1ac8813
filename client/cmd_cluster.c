/* cmd_cluster.c - the gpdot-client commands that talk to a cluster:
 * ping, status, store, multiply, fetch, drop. The cluster file comes from
 * -c FILE before the command (or GPDOT_CLUSTER). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gp_npy.h"
#include "gpdot.h"

static int fail(gpdot_t **c, gp_err e, const gp_msg *why)
{
    gpdot_close(c);
    return cli_error(e == GP_EDETECTED ? 3 : 1, "%s (%s)", why->text, gp_errname(e));
}

const char cmd_ping_usage[] = "usage: gpdot-client -c CLUSTER.yaml ping [--timeout MS]\n"
                              "Exits 0 when every node answers, 1 otherwise.\n";

int cmd_ping(int argc, char **argv)
{
    const char *v;
    long timeout = 3000;
    for (int i = 1; i < argc; i++)
        if (cli_opt(argc, argv, &i, "--timeout", &v))
            timeout = cli_long("--timeout", v, 1, 3600000);
        else
            return cli_error(2, "ping: unknown argument '%s'", argv[i]);
    gpdot_t *c = cli_open_cluster();
    gpdot_set_timeout(c, (int)timeout);
    uint64_t up;
    gp_msg why = {{0}};
    gp_err e = gpdot_ping(c, &up, &why);
    int n = gpdot_nodes(c);
    printf("%d of %d nodes answered", __builtin_popcountll(up), n);
    if (e != GP_OK) {
        printf("; not answering:");
        for (int p = 0; p < n; p++)
            if (!(up >> p & 1)) printf(" %d", p);
    }
    printf("\n");
    if (e == GP_EAUTH) cli_error(1, "%s", why.text);
    gpdot_close(&c);
    return e == GP_OK ? 0 : 1;
}

const char cmd_keygen_usage[] =
    "usage: gpdot-client keygen -o FILE [--force]\n"
    "Makes a CURVE key pair: FILE (secret, mode 0600) and FILE.pub, and prints the\n"
    "public key. A node's public key goes into its entry of the cluster file\n"
    "(public_key: \"...\") and its FILE to gpdotd --key (or the systemd credential\n"
    "gpdotd.key); a client's public key goes into security.clients and its FILE\n"
    "to gpdot-client -k (or GPDOT_KEY). --force replaces existing files.\n";

int cmd_keygen(int argc, char **argv)
{
    const char *out = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++)
        if (cli_opt(argc, argv, &i, "-o", &out) || cli_opt(argc, argv, &i, "--output", &out))
            continue;
        else if (!strcmp(argv[i], "--force"))
            force = true;
        else
            return cli_error(2, "keygen: unknown argument '%s'", argv[i]);
    if (!out) return cli_error(2, "keygen: give the file to write with -o FILE");
    char pub[41];
    gp_msg why = {{0}};
    gp_err e = gpdot_keygen(out, force, pub, &why);
    if (e != GP_OK) return cli_error(1, "keygen: %s", why.text);
    printf("public_key: \"%s\"\n", pub);
    fprintf(stderr, "wrote %s (secret, mode 0600) and %s.pub\n", out, out);
    return 0;
}

const char cmd_status_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml status [--json]\n"
    "       gpdot-client -c CLUSTER.yaml status JOB [--json]   (a training job)\n"
    "Each node's view: nodes up and counters.\n";

int cmd_status(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* status JOB: a training job's */
        if (argv[i][0] != '-') return cmd_job_status(argc, argv);
    bool json = false;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--json"))
            json = true;
        else
            return cli_error(2, "status: unknown argument '%s'", argv[i]);
    gpdot_t *c = cli_open_cluster();
    gpdot_set_timeout(c, 3000);
    int n = gpdot_nodes(c);
    gpdot_status *st = calloc((size_t)n, sizeof *st);
    gp_msg why = {{0}};
    gpdot_status_all(c, st, &why);
    int answered = 0;
    if (json) printf("[");
    for (int p = 0; p < n; p++) {
        answered += st[p].answered;
        if (json) {
            printf("%s{\"node\": %d, \"answered\": %s, \"nodes_up\": [", p ? ", " : "", p,
                   st[p].answered ? "true" : "false");
            for (int q = 0, k = 0; q < n; q++)
                if (st[p].nodes_up >> q & 1) printf("%s%d", k++ ? ", " : "", q);
            printf("], \"blas\": ");
            cli_json_str(st[p].blas);
            printf(", \"counters\": {");
            for (int i = 0; i < st[p].ncounters; i++)
                printf("%s\"%s\": %llu", i ? ", " : "", st[p].counter_name[i],
                       (unsigned long long)st[p].counter[i]);
            printf("}}");
            continue;
        }
        if (!st[p].answered) {
            printf("node %d: not answering\n", p);
            continue;
        }
        printf("node %d: sees %d of %d up;", p, __builtin_popcountll(st[p].nodes_up), n);
        if (st[p].blas[0]) printf(" BLAS %s;", st[p].blas);
        for (int i = 0; i < st[p].ncounters; i++)
            if (st[p].counter[i])
                printf(" %s %llu", st[p].counter_name[i], (unsigned long long)st[p].counter[i]);
        printf("\n");
    }
    if (json) printf("]\n");
    free(st);
    gpdot_close(&c);
    return answered == n ? 0 : 1;
}

const char cmd_store_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml store NAME W.npy [--scheme S] [--m M] [--n N]\n"
    "                    [--orientation row|col]\n"
    "Encodes W (float64 or float32, C order) and stores each node's coded block.\n"
    "Default code: gpd m = n = 2 when the cluster has the nodes for it.\n";

int cmd_store(int argc, char **argv)
{
    const char *name = NULL, *file = NULL, *v;
    gpdot_code code = {0};
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--scheme", &v))
            code.scheme = v;
        else if (cli_opt(argc, argv, &i, "--m", &v))
            code.m = (int)cli_long("--m", v, 1, 24);
        else if (cli_opt(argc, argv, &i, "--n", &v))
            code.n = (int)cli_long("--n", v, 1, 24);
        else if (cli_opt(argc, argv, &i, "--orientation", &v))
            code.orientation = v;
        else if (argv[i][0] == '-')
            return cli_error(2, "store: unknown option '%s'", argv[i]);
        else if (!name)
            name = argv[i];
        else if (!file)
            file = argv[i];
        else
            return cli_error(2, "store: too many arguments");
    }
    if (!name || !file) return cli_error(2, "store: NAME and W.npy are needed");
    if ((code.m || code.n) && !code.scheme) code.scheme = "gpd";
    if (code.scheme && (!code.m || !code.n)) {
        if (!code.m) code.m = !strcmp(code.scheme, "matdot") ? 1 : 2;
        if (!code.n) code.n = !strcmp(code.scheme, "polynomial") ? 1 : 2;
    }
    gp_rmat w;
    gp_msg why = {{0}};
    gp_err e = gp_npy_read(file, &w, &why);
    if (e != GP_OK) return cli_error(1, "%s", why.text);
    gpdot_t *c = cli_open_cluster();
    e = gpdot_store(c, name, w, &code, &why);
    gp_rmat_free(&w);
    if (e != GP_OK) return fail(&c, e, &why);
    printf("stored %s on %d nodes\n", name, gpdot_nodes(c));
    gpdot_close(&c);
    return 0;
}

const char cmd_multiply_usage[] =
    "usage: gpdot-client -c CLUSTER.yaml multiply NAME X.npy -o Y.npy [--transpose]\n"
    "                    [--out RESULT] [--unverified]\n"
    "Y = W X (or W^T X) on the cluster, verified, written as float64 .npy. The result\n"
    "also stays on the daemons under RESULT (default: NAME.out). The line printed says\n"
    "how many outputs beyond the code's threshold the decodes had (spare). A product\n"
    "decoded from exactly the threshold could not have seen an error: it is refused\n"
    "(EUNVERIFIED, exit status 1) unless --unverified takes it, flagged \"spare 0\".\n";

int cmd_multiply(int argc, char **argv)
{
    const char *name = NULL, *file = NULL, *outfile = NULL, *result = NULL, *v;
    bool transpose = false, unverified = false;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-o", &v))
            outfile = v;
        else if (cli_opt(argc, argv, &i, "--out", &v))
            result = v;
        else if (!strcmp(argv[i], "--transpose"))
            transpose = true;
        else if (!strcmp(argv[i], "--unverified"))
            unverified = true;
        else if (argv[i][0] == '-')
            return cli_error(2, "multiply: unknown option '%s'", argv[i]);
        else if (!name)
            name = argv[i];
        else if (!file)
            file = argv[i];
        else
            return cli_error(2, "multiply: too many arguments");
    }
    if (!name || !file || !outfile)
        return cli_error(2, "multiply: NAME, X.npy and -o Y.npy are needed");
    char def[80];
    snprintf(def, sizeof def, "%.60s.out", name);
    gp_rmat x, y;
    gp_msg why = {{0}};
    gp_err e = gp_npy_read(file, &x, &why);
    if (e != GP_OK) return cli_error(1, "%s", why.text);
    gpdot_t *c = cli_open_cluster();
    gpdot_allow_unverified(c, unverified);
    gpdot_report rep;
    e = gpdot_multiply(c, name, x, transpose, result ? result : def, &y, &rep, &why);
    gp_rmat_free(&x);
    if (e != GP_OK) return fail(&c, e, &why);
    e = gp_npy_write(outfile, y, 0, &why);
    size_t rows = y.rows, cols = y.cols;
    gp_rmat_free(&y);
    if (e != GP_OK) return fail(&c, e, &why);
    printf("%s: %zux%zu, %d of %d nodes agree", outfile, rows, cols, rep.agreed, gpdot_nodes(c));
    if (rep.spare >= 0)
        printf(", spare %d%s", rep.spare,
               rep.spare == 0 ? " (not verified: no output to spare)" : "");
    if (rep.wrong) {
        printf("; corrected wrong outputs of nodes");
        for (int p = 0; p < 64; p++)
            if (rep.wrong >> p & 1) printf(" %d", p);
    }
    printf("\n");
    gpdot_close(&c);
    return 0;
}

const char cmd_fetch_usage[] = "usage: gpdot-client -c CLUSTER.yaml fetch NAME -o FILE.npy\n"
                               "Fetches a result, verified against the daemons' digests.\n";

int cmd_fetch(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* fetch JOB -o DIR: a training job's weights */
        if (argv[i][0] != '-' && cli_is_job_id(argv[i])) return cmd_job_fetch(argc, argv);
    const char *name = NULL, *outfile = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "-o", &v))
            outfile = v;
        else if (argv[i][0] == '-')
            return cli_error(2, "fetch: unknown option '%s'", argv[i]);
        else if (!name)
            name = argv[i];
        else
            return cli_error(2, "fetch: too many arguments");
    }
    if (!name || !outfile) return cli_error(2, "fetch: NAME and -o FILE.npy are needed");
    gpdot_t *c = cli_open_cluster();
    gp_rmat m;
    gp_msg why = {{0}};
    gp_err e = gpdot_fetch(c, name, &m, &why);
    if (e != GP_OK) return fail(&c, e, &why);
    e = gp_npy_write(outfile, m, 0, &why);
    if (e == GP_OK) printf("%s: %zux%zu\n", outfile, m.rows, m.cols);
    gp_rmat_free(&m);
    if (e != GP_OK) return fail(&c, e, &why);
    gpdot_close(&c);
    return 0;
}

const char cmd_drop_usage[] = "usage: gpdot-client -c CLUSTER.yaml drop NAME\n";

int cmd_drop(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') return cli_error(2, "drop: NAME is needed");
    gpdot_t *c = cli_open_cluster();
    gp_msg why = {{0}};
    gp_err e = gpdot_drop(c, argv[1], &why);
    if (e != GP_OK) return fail(&c, e, &why);
    gpdot_close(&c);
    return 0;
}
