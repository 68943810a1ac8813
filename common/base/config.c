/* config.c - the cluster file (see gp_config.h), with libyaml's document API
 * so that every value keeps its line and column for error messages. */
#include "gp_config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gp_mat.h"
#include "gp_rng.h"
#include "gp_file.h"
#include "gp_yaml.h"

static const char *const fault_ops[GP_FAULT_OP_COUNT_] = {
    [GP_FAULT_MULTIPLY] = "multiply", [GP_FAULT_ENCODE] = "encode",
    [GP_FAULT_DECODE] = "decode",     [GP_FAULT_ACTIVATION] = "activation",
    [GP_FAULT_HADAMARD] = "hadamard", [GP_FAULT_UPDATE] = "update",
};

const char *gp_fault_op_name(gp_fault_op op)
{
    return (unsigned)op < GP_FAULT_OP_COUNT_ ? fault_ops[op] : "unknown";
}

/* The faults that fire, each as an entry of a rows x cols matrix and what
 * is added to it: the stream both precisions draw from. */
static int fault_draw(const gp_fault_rule *rules, int n, double scale, uint64_t seed,
                      uint64_t stream, int node, gp_fault_op kind, size_t rows, size_t cols,
                      size_t *at, double *add)
{
    gp_rng g;
    gp_rng_seed(&g, gp_mix64(seed * 0x9E3779B97F4A7C15ull) /* the seed alone: runs repeat */ ^
                        gp_mix64(stream) ^ (uint64_t)node << 56 ^ (uint64_t)kind << 48);
    int fired = 0;
    for (int i = 0; i < n; i++) {
        const gp_fault_rule *f = &rules[i];
        if (f->op != kind || (f->node >= 0 && f->node != node)) continue;
        if (gp_rng_uniform(&g) >= f->probability * scale) continue;
        at[fired] = gp_rng_below(&g, rows * cols);
        add[fired] = gp_rng_uniform(&g) < 0.5 ? -f->magnitude : f->magnitude;
        fired++;
    }
    return fired;
}

int gp_fault_inject(const gp_fault_rule *rules, int n, double scale, uint64_t seed, uint64_t stream,
                    int node, gp_fault_op kind, gp_rmat m)
{
    if (!n || scale <= 0 || !m.data || !m.rows || !m.cols || n > GP_CONFIG_MAX_RULES) return 0;
    size_t at[GP_CONFIG_MAX_RULES];
    double add[GP_CONFIG_MAX_RULES];
    int fired = fault_draw(rules, n, scale, seed, stream, node, kind, m.rows, m.cols, at, add);
    for (int i = 0; i < fired; i++) m.data[at[i] / m.cols * m.ld + at[i] % m.cols] += add[i];
    return fired;
}

int gp_fault_inject_f32(const gp_fault_rule *rules, int n, double scale, uint64_t seed,
                        uint64_t stream, int node, gp_fault_op kind, gp_fmat m)
{
    if (!n || scale <= 0 || !m.data || !m.rows || !m.cols || n > GP_CONFIG_MAX_RULES) return 0;
    size_t at[GP_CONFIG_MAX_RULES];
    double add[GP_CONFIG_MAX_RULES];
    int fired = fault_draw(rules, n, scale, seed, stream, node, kind, m.rows, m.cols, at, add);
    for (int i = 0; i < fired; i++) {
        float *x = m.data + at[i] / m.cols * m.ld + at[i] % m.cols;
        *x = (float)((double)*x + add[i]);
    }
    return fired;
}

typedef struct ld {
    yaml_document_t *doc;
    const char *name;
    gp_msg *why;
} ld;

static gp_err at(const ld *L, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "file:line:col: reason" at node n. */
static gp_err at(const ld *L, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_err e = gp_yaml_vfail(L->why, GP_EINVAL, L->name, n, fmt, ap);
    va_end(ap);
    return e;
}

/* ---- typed values ------------------------------------------------------------------- */

static gp_err get_int(const ld *L, const yaml_node_t *v, const char *key, int64_t lo, int64_t hi,
                      int64_t *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    errno = 0;
    long long x = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno) return at(L, v, "'%s' must be an integer", key);
    if (x < lo || x > hi)
        return at(L, v, "'%s' is %lld; it must be between %lld and %lld", key, x, (long long)lo,
                  (long long)hi);
    *out = x;
    return GP_OK;
}

static gp_err get_num(const ld *L, const yaml_node_t *v, const char *key, double lo, double hi,
                      bool lo_open, double *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    double x = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || !isfinite(x)) return at(L, v, "'%s' must be a finite number", key);
    if (x < lo || x > hi || (lo_open && x == lo))
        return at(L, v, "'%s' is %g; it must be %s %g and at most %g", key, x,
                  lo_open ? "above" : "at least", lo, hi);
    *out = x;
    return GP_OK;
}

static gp_err get_str(const ld *L, const yaml_node_t *v, const char *key, char *dst, size_t cap)
{
    const char *s = gp_yaml_scalar(v);
    if (!s) return at(L, v, "'%s' must be a string", key);
    size_t n = strlen(s);
    if (n == 0 || n >= cap) return at(L, v, "'%s' must be 1 to %zu characters", key, cap - 1);
    memcpy(dst, s, n + 1);
    return GP_OK;
}

static gp_err get_endpoint(const ld *L, const yaml_node_t *v, const char *key, char *dst)
{
    gp_err e = get_str(L, v, key, dst, GP_CONFIG_MAX_ENDPOINT);
    if (e != GP_OK) return e;
    bool tcp = strncmp(dst, "tcp://", 6) == 0, ipc = strncmp(dst, "ipc://", 6) == 0;
    if ((!tcp && !ipc) || !dst[6])
        return at(L, v, "'%s' must be a ZeroMQ endpoint, tcp://HOST:PORT or ipc://PATH", key);
    if (tcp) {
        const char *colon = strrchr(dst + 6, ':');
        char *end;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (!colon || colon == dst + 6 || !colon[1] || *end || port < 1 || port > 65535)
            return at(L, v, "'%s': %s needs a host and a port from 1 to 65535", key, dst);
    }
    return GP_OK;
}

/* ---- mappings ---------------------------------------------------------------------- */

typedef gp_err (*keyfn)(const ld *L, const char *key, const yaml_node_t *v, void *ctx);

/* Calls fn for each key of mapping m; unknown keys (fn returns GP_ENOTFOUND)
 * and repeated keys are errors. */
static gp_err each_key(const ld *L, const yaml_node_t *m, const char *what,
                       const char *const *known, keyfn fn, void *ctx)
{
    if (!m || m->type != YAML_MAPPING_NODE) return at(L, m, "%s must be a mapping", what);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(L->doc, p->key),
                    *v = yaml_document_get_node(L->doc, p->value);
        const char *ks = gp_yaml_scalar(k);
        if (!ks) return at(L, k, "keys of %s must be plain words", what);
        int idx = -1;
        for (int i = 0; known[i]; i++)
            if (!strcmp(ks, known[i])) idx = i;
        if (idx < 0) {
            char list[200] = "";
            for (int i = 0; known[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                         known[i]);
            return at(L, k, "unknown key '%s' in %s (known: %s)", ks, what, list);
        }
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++)
            if (!strcmp(gp_yaml_scalar(yaml_document_get_node(L->doc, q->key)), ks))
                return at(L, k, "'%s' given twice in %s", ks, what);
        gp_err e = fn(L, ks, v, ctx);
        if (e != GP_OK) return e;
    }
    return GP_OK;
}

static bool has_key(const ld *L, const yaml_node_t *m, const char *key)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
        if (!strcmp(gp_yaml_scalar(yaml_document_get_node(L->doc, p->key)), key)) return true;
    return false;
}

/* ---- sections ---------------------------------------------------------------------- */

static gp_err get_key(const ld *L, const yaml_node_t *v, const char *key, char *dst)
{
    const char *s = gp_yaml_scalar(v);
    if (!gp_key_valid(s))
        return at(L, v,
                  "'%s' must be a CURVE public key: 40 characters of Z85 in double quotes, "
                  "as gpdot-client keygen prints",
                  key);
    memcpy(dst, s, GP_KEY_LEN + 1);
    return GP_OK;
}

static const char *const node_keys[] = {"id", "client", "peer", "public_key", NULL};

static gp_err node_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_node_cfg *n = ctx;
    int64_t id;
    if (!strcmp(key, "id")) {
        gp_err e = get_int(L, v, key, 0, GP_CONFIG_MAX_NODES - 1, &id);
        n->id = (int)id;
        return e;
    }
    if (!strcmp(key, "public_key")) return get_key(L, v, key, n->public_key);
    return get_endpoint(L, v, key, !strcmp(key, "client") ? n->client : n->peer);
}

/* The integer settings of `defaults`: key, bounds, default, place. */
static const struct {
    const char *key;
    int64_t lo, hi, def;
    size_t off;
} ints[] = {
    {"heartbeat_ms", 10, 60000, 500, offsetof(gp_config, heartbeat_ms)},
    {"peer_timeout_ms", 50, 600000, 5000, offsetof(gp_config, peer_timeout_ms)},
    {"workers", 1, 64, 1, offsetof(gp_config, workers)},
    {"blas_threads", 1, 64, 1, offsetof(gp_config, blas_threads)},
    {"max_message", 4096, (int64_t)1 << 31, (int64_t)1 << 28, offsetof(gp_config, max_message)},
};
#define NINTS (sizeof ints / sizeof ints[0])

static const char *const default_keys[] = {
    "heartbeat_ms", "peer_timeout_ms", "workers", "blas_threads", "max_message", "state_dir", NULL};

static gp_err default_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_config *c = ctx;
    if (!strcmp(key, "state_dir")) return get_str(L, v, key, c->state_dir, sizeof c->state_dir);
    for (size_t i = 0; i < NINTS; i++)
        if (!strcmp(key, ints[i].key))
            return get_int(L, v, key, ints[i].lo, ints[i].hi, (int64_t *)((char *)c + ints[i].off));
    return GP_ENOTFOUND;
}

static const char *const rule_keys[] = {"node", "op", "probability", "magnitude", NULL};

static gp_err rule_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_fault_rule *r = ctx;
    if (!strcmp(key, "node")) {
        const char *s = gp_yaml_scalar(v);
        if (s && !strcmp(s, "all")) {
            r->node = -1;
            return GP_OK;
        }
        int64_t id;
        gp_err e = get_int(L, v, "node", 0, GP_CONFIG_MAX_NODES - 1, &id);
        r->node = (int)id;
        return e == GP_OK ? e : at(L, v, "'node' must be a node id or all");
    }
    if (!strcmp(key, "op")) {
        const char *s = gp_yaml_scalar(v);
        for (int i = 0; s && i < GP_FAULT_OP_COUNT_; i++)
            if (!strcmp(s, fault_ops[i])) {
                r->op = (gp_fault_op)i;
                return GP_OK;
            }
        return at(L, v,
                  "'op' must be one of multiply, encode, decode, activation, hadamard, "
                  "update");
    }
    if (!strcmp(key, "probability")) return get_num(L, v, key, 0, 1, false, &r->probability);
    return get_num(L, v, key, 0, 1e300, true, &r->magnitude);
}

static const char *const fault_keys[] = {"seed", "rules", NULL};

static gp_err fault_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_config *c = ctx;
    if (!strcmp(key, "seed")) return get_int(L, v, key, 0, INT64_MAX, &c->fault_seed);
    if (v->type != YAML_SEQUENCE_NODE) return at(L, v, "'rules' must be a list");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *rn = yaml_document_get_node(L->doc, *it);
        if (c->nrules == GP_CONFIG_MAX_RULES)
            return at(L, rn, "more than %d fault rules", GP_CONFIG_MAX_RULES);
        gp_fault_rule *r = &c->rules[c->nrules];
        *r = (gp_fault_rule){-1, GP_FAULT_MULTIPLY, 0, 1.0};
        gp_err e = each_key(L, rn, "a fault rule", rule_keys, rule_key, r);
        if (e != GP_OK) return e;
        if (!has_key(L, rn, "op") || !has_key(L, rn, "probability"))
            return at(L, rn, "a fault rule needs 'op' and 'probability'");
        c->nrules++;
    }
    return GP_OK;
}

static const char *const code_keys[] = {"scheme", "m", "n", "orientation", NULL};

static gp_err code_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_config *c = ctx;
    const char *s = gp_yaml_scalar(v);
    if (!strcmp(key, "scheme")) {
        const char *ok[] = {"gpd", "polynomial", "matdot", "mds", "replication", "uncoded"};
        for (size_t i = 0; s && i < sizeof ok / sizeof ok[0]; i++)
            if (!strcmp(s, ok[i])) return get_str(L, v, key, c->code_scheme, sizeof c->code_scheme);
        return at(L, v, "'scheme' must be gpd, polynomial, matdot, mds, replication or uncoded");
    }
    if (!strcmp(key, "orientation")) {
        if (s && (!strcmp(s, "row") || !strcmp(s, "col") || !strcmp(s, "auto")))
            return get_str(L, v, key, c->code_orientation, sizeof c->code_orientation);
        return at(L, v, "'orientation' must be row, col or auto");
    }
    return get_int(L, v, key, 1, 24, !strcmp(key, "m") ? &c->code_m : &c->code_n);
}

static const char *const client_keys[] = {"name", "public_key", NULL};

static gp_err client_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_client_key *k = ctx;
    if (!strcmp(key, "name")) {
        gp_err e = get_str(L, v, key, k->name, sizeof k->name);
        for (const char *p = k->name; e == GP_OK && *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || strchr("._-@", *p)))
                e = at(L, v, "'name' may hold letters, digits and . _ - @ only");
        return e;
    }
    return get_key(L, v, key, k->public_key);
}

static const char *const security_keys[] = {"clients", NULL};

static gp_err security_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_config *c = ctx;
    (void)key;
    if (v->type != YAML_SEQUENCE_NODE) return at(L, v, "'clients' must be a list");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *kn = yaml_document_get_node(L->doc, *it);
        if (c->nclients == GP_CONFIG_MAX_CLIENTS)
            return at(L, kn, "more than %d client keys", GP_CONFIG_MAX_CLIENTS);
        gp_client_key *k = &c->clients[c->nclients];
        memset(k, 0, sizeof *k);
        gp_err e = each_key(L, kn, "a client key", client_keys, client_key, k);
        if (e != GP_OK) return e;
        if (!k->name[0] || !k->public_key[0])
            return at(L, kn, "a client key needs 'name' and 'public_key'");
        for (int i = 0; i < c->nclients; i++)
            if (!strcmp(c->clients[i].public_key, k->public_key) ||
                !strcmp(c->clients[i].name, k->name))
                return at(L, kn, "client '%s' repeats the name or key of client '%s'", k->name,
                          c->clients[i].name);
        c->nclients++;
    }
    return GP_OK;
}

static const char *const top_keys[] = {"cluster", "nodes",    "defaults", "code",
                                       "faults",  "security", NULL};

static gp_err top_key(const ld *L, const char *key, const yaml_node_t *v, void *ctx)
{
    gp_config *c = ctx;
    if (!strcmp(key, "cluster")) return get_str(L, v, key, c->cluster, sizeof c->cluster);
    if (!strcmp(key, "defaults")) return each_key(L, v, "defaults", default_keys, default_key, c);
    if (!strcmp(key, "faults")) return each_key(L, v, "faults", fault_keys, fault_key, c);
    if (!strcmp(key, "security")) {
        c->curve = true;
        gp_err e = each_key(L, v, "security", security_keys, security_key, c);
        if (e == GP_OK && c->nclients == 0)
            return at(L, v,
                      "'security' needs 'clients': the client keys let in (none could connect)");
        return e;
    }
    if (!strcmp(key, "code")) {
        gp_err e = each_key(L, v, "code", code_keys, code_key, c);
        if (e == GP_OK && !c->code_scheme[0]) return at(L, v, "'code' needs a 'scheme'");
        return e;
    }
    /* nodes */
    if (v->type != YAML_SEQUENCE_NODE) return at(L, v, "'nodes' must be a list");
    const yaml_node_t *where[GP_CONFIG_MAX_NODES];
    bool seen[GP_CONFIG_MAX_NODES] = {false};
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *nn = yaml_document_get_node(L->doc, *it);
        if (c->nnodes == GP_CONFIG_MAX_NODES)
            return at(L, nn, "more than %d nodes", GP_CONFIG_MAX_NODES);
        gp_node_cfg n = {-1, "", "", ""};
        gp_err e = each_key(L, nn, "a node", node_keys, node_key, &n);
        if (e != GP_OK) return e;
        if (n.id < 0 || !n.client[0] || !n.peer[0])
            return at(L, nn, "a node needs 'id', 'client' and 'peer'");
        if (seen[n.id]) return at(L, nn, "node id %d appears twice", n.id);
        seen[n.id] = true;
        where[n.id] = nn;
        c->nodes[n.id] = n;
        c->nnodes++;
    }
    if (c->nnodes == 0) return at(L, v, "'nodes' is empty");
    for (int i = 0; i < c->nnodes; i++)
        if (!seen[i])
            return at(L, v, "node ids must be 0 .. %d, each once: %d is missing", c->nnodes - 1, i);
    for (int i = 0; i < c->nnodes; i++) /* every endpoint belongs to one socket */
        for (int j = 0; j <= i; j++) {
            const char *a[2] = {c->nodes[i].client, c->nodes[i].peer},
                       *b[2] = {c->nodes[j].client, c->nodes[j].peer};
            for (int x = 0; x < 2; x++)
                for (int y = 0; y < 2; y++)
                    if ((j < i || x < y) && !strcmp(a[x], b[y]))
                        return at(L, where[i], "endpoint %s is used twice (nodes %d and %d)", a[x],
                                  j, i);
        }
    return GP_OK;
}

gp_err gp_config_parse(const char *text, size_t len, const char *name, gp_config *c, gp_msg *why)
{
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s", name);
    snprintf(c->cluster, sizeof c->cluster, "gpdot");
    snprintf(c->state_dir, sizeof c->state_dir, "/var/lib/gpdot");
    for (size_t i = 0; i < NINTS; i++) *(int64_t *)((char *)c + ints[i].off) = ints[i].def;
    c->fault_seed = 1;

    yaml_document_t doc;
    yaml_node_t *root;
    gp_err e = gp_yaml_load(text, len, name, GP_EINVAL, &doc, &root, why);
    if (e != GP_OK) return e;
    ld L = {&doc, name, why};
    if ((e = each_key(&L, root, "the cluster file", top_keys, top_key, c)) == GP_OK &&
        !has_key(&L, root, "nodes"))
        e = at(&L, root, "the cluster file needs 'nodes'");
    if (e == GP_OK && c->peer_timeout_ms < 2 * c->heartbeat_ms)
        e = gp_fail(why, GP_EINVAL,
                    "%s: peer_timeout_ms (%lld) must be at least twice "
                    "heartbeat_ms (%lld)",
                    name, (long long)c->peer_timeout_ms, (long long)c->heartbeat_ms);
    for (int i = 0; e == GP_OK && i < c->nnodes; i++) /* keys: on every node, or on none */
        if (!c->nodes[i].public_key[0] != !c->curve)
            e = gp_fail(why, GP_EINVAL,
                        c->curve ? "%s: with 'security', every node needs a 'public_key' (node "
                                   "%d has none)"
                                 : "%s: node %d has a 'public_key' but the file has no 'security' "
                                   "section naming the client keys",
                        name, i);
    for (int i = 0; e == GP_OK && i < c->nnodes; i++)
        for (int j = 0; j < i; j++)
            if (c->curve && !strcmp(c->nodes[i].public_key, c->nodes[j].public_key)) {
                e = gp_fail(why, GP_EINVAL, "%s: nodes %d and %d have the same public_key", name, j,
                            i);
                break;
            }
    for (int i = 0; e == GP_OK && i < c->nrules; i++)
        if (c->rules[i].node >= c->nnodes)
            e = gp_fail(why, GP_EINVAL, "%s: fault rule %d names node %d; the cluster has %d", name,
                        i + 1, c->rules[i].node, c->nnodes);
    yaml_document_delete(&doc);
    return e;
}

gp_err gp_config_load(const char *path, gp_config *c, gp_msg *why)
{
    char *buf;
    size_t len;
    gp_err e = gp_read_file(path, (size_t)16 << 20, "a cluster file", &buf, &len, why);
    if (e != GP_OK) return e;
    e = gp_config_parse(buf, len, path, c, why);
    free(buf);
    return e;
}
