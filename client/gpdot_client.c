/* gpdot-client - plans codes, and (with a cluster) stores matrices, runs
 * products and training jobs. Each command lives in its own cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gp_blas.h"

static const cli_cmd commands[] = {
    {"plan", "list the code choices for a cluster of P nodes", cmd_plan_usage, cmd_plan},
    {"code-demo", "encode, multiply and decode on simulated nodes, with injected errors",
     cmd_code_demo_usage, cmd_code_demo},
    {"train", "train a job's model in this process (--local), the reference for a cluster run",
     cmd_train_usage, cmd_train},
    {"eval", "accuracy and loss of a saved model on a data set", cmd_eval_usage, cmd_eval},
    {"ping", "check that every node of the cluster answers", cmd_ping_usage, cmd_ping},
    {"status", "each node's view of the cluster, and its counters", cmd_status_usage, cmd_status},
    {"store", "encode a matrix (.npy) and store its coded blocks on the nodes", cmd_store_usage,
     cmd_store},
    {"multiply", "W X or W^T X on the cluster, verified, into a .npy file", cmd_multiply_usage,
     cmd_multiply},
    {"fetch", "fetch a result into a .npy file, verified", cmd_fetch_usage, cmd_fetch},
    {"drop", "remove a matrix from every node", cmd_drop_usage, cmd_drop},
    {"submit", "send a training job to the cluster; the nodes train it together", cmd_submit_usage,
     cmd_submit},
    {"watch", "follow a training job with a progress line until it ends", cmd_watch_usage,
     cmd_watch},
    {"cancel", "stop a training job on every node", cmd_cancel_usage, cmd_cancel},
    {"keygen", "make a CURVE key pair for a node or a client", cmd_keygen_usage, cmd_keygen},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: gpdot-client [-c CLUSTER.yaml] [-k KEY] COMMAND [OPTIONS]\n"
               "-c: the cluster file (default $GPDOT_CLUSTER); -k: this client's key pair, for a\n"
               "cluster with a security section (default $GPDOT_KEY, else\n"
               "~/.config/gpdot/client.key)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'gpdot-client COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "gpdot-client");
    while (argc >= 3 && (!strcmp(argv[1], "-c") || !strcmp(argv[1], "--cluster") ||
                         !strcmp(argv[1], "-k") || !strcmp(argv[1], "--key"))) {
        if (argv[1][1] == 'c' || argv[1][2] == 'c')
            cli_cluster_file = argv[2];
        else
            cli_key_file = argv[2];
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gpdot-client %s\nBLAS kernel %s\n", GP_VERSION, gp_blas_kernel());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        for (int a = 2; a < argc; a++)
            if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
                fputs(commands[i].usage, stdout);
                return 0;
            }
        return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "gpdot-client: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
