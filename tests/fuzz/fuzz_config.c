/* fuzz_config.c - the cluster file loader (YAML) over any file.
 *
 * The text goes to gp_config_parse, the from-memory half of
 * gp_config_load. A file it accepts must satisfy the promises of
 * gp_config.h (node ids 0 .. P-1 in place, fault rules naming existing
 * nodes, bounded settings), and the same bytes written to a file under /tmp
 * and read with gp_config_load must give the same cluster. Errors must be
 * GP_EINVAL with a reason that starts with the file's name. */
#include "fuzz.h"
#include "gp_config.h"

static void same(const gp_config *a, const gp_config *b)
{
    FUZZ_CHECK(a->nnodes == b->nnodes && a->nrules == b->nrules, "node or rule counts differ");
    FUZZ_CHECK(!strcmp(a->cluster, b->cluster) && !strcmp(a->state_dir, b->state_dir) &&
                   !strcmp(a->code_scheme, b->code_scheme) &&
                   !strcmp(a->code_orientation, b->code_orientation),
               "strings differ");
    FUZZ_CHECK(a->heartbeat_ms == b->heartbeat_ms && a->peer_timeout_ms == b->peer_timeout_ms &&
                   a->workers == b->workers && a->blas_threads == b->blas_threads &&
                   a->max_message == b->max_message && a->code_m == b->code_m &&
                   a->code_n == b->code_n && a->fault_seed == b->fault_seed,
               "settings differ");
    for (int i = 0; i < a->nnodes; i++)
        FUZZ_CHECK(a->nodes[i].id == b->nodes[i].id &&
                       !strcmp(a->nodes[i].client, b->nodes[i].client) &&
                       !strcmp(a->nodes[i].peer, b->nodes[i].peer),
                   "node %d differs", i);
    for (int i = 0; i < a->nrules; i++)
        FUZZ_CHECK(!memcmp(&a->rules[i], &b->rules[i], sizeof a->rules[i]), "rule %d differs", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gp_config c, c2; /* large: kept off the stack */
    static const char name[] = "cluster.yaml";
    gp_msg why = {{0}};
    gp_err e = gp_config_parse((const char *)data, size, name, &c, &why);
    if (fuzz_verbose()) fprintf(stderr, "config: %s %s\n", gp_errname(e), why.text);
    if (e != GP_OK) {
        FUZZ_CHECK(e == GP_EINVAL || e == GP_ENOMEM, "error %s: %s", gp_errname(e), why.text);
        FUZZ_CHECK(e != GP_EINVAL || !strncmp(why.text, name, sizeof name - 1),
                   "a reason without the file's name: %s", why.text);
        return 0;
    }
    FUZZ_CHECK(c.nnodes >= 1 && c.nnodes <= GP_CONFIG_MAX_NODES, "%d nodes", c.nnodes);
    for (int i = 0; i < c.nnodes; i++) {
        FUZZ_CHECK(c.nodes[i].id == i, "node %d has id %d", i, c.nodes[i].id);
        FUZZ_CHECK(c.nodes[i].client[0] && c.nodes[i].peer[0], "node %d lacks endpoints", i);
    }
    FUZZ_CHECK(c.nrules >= 0 && c.nrules <= GP_CONFIG_MAX_RULES, "%d rules", c.nrules);
    for (int i = 0; i < c.nrules; i++) {
        const gp_fault_rule *r = &c.rules[i];
        FUZZ_CHECK(r->node >= -1 && r->node < c.nnodes, "rule %d names node %d", i, r->node);
        FUZZ_CHECK((unsigned)r->op < GP_FAULT_OP_COUNT_, "rule %d: op %d", i, (int)r->op);
        FUZZ_CHECK(r->probability >= 0 && r->probability <= 1 && r->magnitude > 0,
                   "rule %d: probability %g, magnitude %g", i, r->probability, r->magnitude);
    }
    FUZZ_CHECK(c.heartbeat_ms >= 10 && c.peer_timeout_ms >= 2 * c.heartbeat_ms && c.workers >= 1 &&
                   c.blas_threads >= 1 && c.max_message >= 4096,
               "settings out of bounds");
    /* the same bytes through the file loader */
    char path[32];
    if (fuzz_tmpfile(data, size, path) != 0) return 0;
    e = gp_config_load(path, &c2, &why);
    unlink(path);
    FUZZ_CHECK(e == GP_OK, "parsed from memory but not from a file: %s", why.text);
    same(&c, &c2);
    return 0;
}
