/* gpdotd - the gpdot daemon: one per machine of a cluster.
 *
 *   gpdotd --config CLUSTER.yaml --node ID [--key FILE]   serve as node ID
 *   gpdotd --config CLUSTER.yaml --check-config [--node ID [--key FILE]]
 *
 * With a security section in the cluster file, every endpoint is a CURVE
 * server and every peer link a CURVE client (keys from --key FILE, else
 * $CREDENTIALS_DIRECTORY/gpdotd.key as systemd's LoadCredential= gives it);
 * zap.c decides who gets in.
 *
 * One I/O thread runs the zmq_poll loop over two bound ROUTER sockets, one
 * for clients and one for peers, a DEALER connected to each peer's ROUTER,
 * and the socket on which the worker threads (gp_pool.h) report finished
 * jobs. The loop never does BLAS work itself.
 *
 * A coded product (MULTIPLY) goes like this on every daemon: the client's
 * request arrives with the input; a worker encodes it for this node and
 * computes the node's coded product; the loop sends that PARTIAL to every
 * peer and collects theirs; when every node that is up has answered, or the
 * peer timeout has passed, a worker decodes from what arrived, and the loop
 * stores the result under its name and answers the client. No daemon waits
 * for a particular other one, and none is special.
 *
 * Malformed requests get an ERROR reply; malformed or unexpected peer
 * traffic is dropped and counted; the daemon goes on serving either way.
 *
 * main.c reads the arguments, the cluster file and the node's keys; server.c
 * runs the loop; daemon/README.md maps the other files.
 */
#define _GNU_SOURCE
#include "daemon.h"

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: gpdotd --config CLUSTER.yaml --node ID [--key FILE]\n"
               "       gpdotd --config CLUSTER.yaml --check-config [--node ID [--key FILE]]\n"
               "--key: this node's CURVE key pair (gpdot-client keygen), when the cluster file\n"
               "has a security section; default $CREDENTIALS_DIRECTORY/gpdotd.key\n");
}

/* This node's key pair, with security: from --key or the systemd credential,
 * and it must be the one the cluster file names for the node. */
static int load_node_key(const gp_config *cfg, int self, const char *key_path, char *pub, char *sec)
{
    char path[4096];
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    if (key_path)
        snprintf(path, sizeof path, "%s", key_path);
    else if (creds && *creds)
        snprintf(path, sizeof path, "%s/gpdotd.key", creds);
    else {
        fprintf(stderr,
                "gpdotd: %s has a security section: give node %d's key pair with --key FILE "
                "(made by gpdot-client keygen)\n",
                cfg->path, self);
        return 2;
    }
    gp_msg why = {{0}};
    char derived[GP_KEY_LEN + 1];
    if (gp_keypair_load(path, pub, sec, &why) != GP_OK) {
        fprintf(stderr, "gpdotd: %s\n", why.text);
        return 2;
    }
    if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0) {
        fprintf(stderr, "gpdotd: %s: the secret key does not belong to its public key\n", path);
        return 2;
    }
    if (strcmp(pub, cfg->nodes[self].public_key) != 0) {
        fprintf(stderr,
                "gpdotd: %s holds public key %s, but %s gives node %d the key %s: this is "
                "not node %d's key pair\n",
                path, pub, cfg->path, self, cfg->nodes[self].public_key, self);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    gp_blas_settle_or_exit(argv, "gpdotd"); /* may run gpdotd again with a faster kernel */
    const char *path = NULL, *key_path = NULL;
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            path = argv[++i];
        else if (!strcmp(argv[i], "--key") && i + 1 < argc)
            key_path = argv[++i];
        else if (!strcmp(argv[i], "--node") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v >= GP_CONFIG_MAX_NODES) {
                fprintf(stderr, "gpdotd: --node wants a node id, not '%s'\n", argv[i]);
                return 2;
            }
            node_id = (int)v;
        } else if (!strcmp(argv[i], "--check-config"))
            check = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (!path || (!check && node_id < 0)) {
        usage(stderr);
        return 2;
    }
    static gp_config cfg;
    gp_msg why = {{0}};
    if (gp_config_load(path, &cfg, &why) != GP_OK) {
        fprintf(stderr, "gpdotd: %s\n", why.text);
        return 2;
    }
    if (node_id >= cfg.nnodes) {
        fprintf(stderr, "gpdotd: %s has nodes 0 .. %d; there is no node %d\n", path, cfg.nnodes - 1,
                node_id);
        return 2;
    }
    static char pub[GP_KEY_LEN + 1], sec[GP_KEY_LEN + 1];
    if (cfg.curve && !zmq_has("curve")) {
        fprintf(stderr, "gpdotd: %s asks for CURVE, but this libzmq was built without it\n", path);
        return 2;
    }
    const char *creds = getenv("CREDENTIALS_DIRECTORY");
    bool check_key = cfg.curve && node_id >= 0 && (!check || key_path || (creds && *creds));
    if (check_key) {
        int rc = load_node_key(&cfg, node_id, key_path, pub, sec);
        if (rc) return rc;
    }
    if (check) {
        printf("%s: ok, cluster '%s', %d nodes%s", path, cfg.cluster, cfg.nnodes,
               cfg.nrules ? ", fault injection on" : "");
        if (cfg.curve)
            printf(", CURVE with %d client key%s", cfg.nclients, cfg.nclients == 1 ? "" : "s");
        else
            printf(", no authentication");
        if (check_key)
            printf("; %s is node %d's key pair", key_path ? key_path : "the credential gpdotd.key",
                   node_id);
        printf("\n");
        return 0;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return serve(&cfg, node_id, pub, sec);
}
