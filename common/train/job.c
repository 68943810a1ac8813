/* job.c - the job file (see gp_job.h), with libyaml's document API so that
 * every value keeps its line and column for error messages.
 *
 * One table lists every key by its dotted path: the sections (mappings) and
 * the values with their type, bounds and place in gp_job. The file is walked
 * against it, and each --set override KEY=VALUE is looked up in the same
 * table and its value put through the same setter. Paths given in the file
 * are relative to its directory; paths given with --set are taken as they
 * are (relative to the current directory of whoever typed them). */
#include "gp_job.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "gp_code.h"
#include "gp_file.h"
#include "gp_yaml.h"

typedef enum ftype {
    F_SECTION, /* a mapping of more keys */
    F_INT,     /* int, [lo, hi] */
    F_U64,     /* uint64_t, any non-negative integer */
    F_SIZE,    /* size_t, [lo, hi] */
    F_NUM,     /* double, [lo, hi], lo excluded when lo_open */
    F_STR,     /* char[size] */
    F_PATH,    /* char[GP_JOB_MAX_PATH], a data file */
    F_ENUM,    /* int-sized enum, one of names */
    F_LAYERS,  /* model.layers */
    F_ACT,     /* model.activation */
    F_SCHEME,  /* code.scheme */
    F_RULES,   /* faults.rules */
} ftype;

static const char *const act_names[] = {"relu", "tanh", "sigmoid", "identity", NULL};

const char *gp_act_name(gp_act a)
{
    return (unsigned)a <= GP_ACT_IDENTITY ? act_names[a] : "unknown";
}
static const char *const norm_names[] = {"standardize", "scale", "none", NULL};
static const char *const sched_names[] = {"constant", "step", "cosine", NULL};
static const char *const prec_names[] = {"float64", "float32", NULL};
static const char *const orient_names[] = {"row", "col", "auto", NULL};

typedef struct field {
    const char *path;
    ftype type;
    double lo, hi;
    bool lo_open;
    size_t off, size;
    const char *const *names;
} field;

#define AT(member) offsetof(gp_job, member), sizeof(((gp_job *)0)->member)

static const field fields[] = {
    {"name", F_STR, 0, 0, false, AT(name), NULL},
    {"model", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"model.layers", F_LAYERS, 0, 0, false, 0, 0, NULL},
    {"model.activation", F_ACT, 0, 0, false, 0, 0, NULL},
    {"model.init_seed", F_U64, 0, 0, false, AT(init_seed), NULL},
    {"data", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"data.train", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"data.train.images", F_PATH, 0, 0, false, AT(train.images), NULL},
    {"data.train.labels", F_PATH, 0, 0, false, AT(train.labels), NULL},
    {"data.train.csv", F_PATH, 0, 0, false, AT(train.csv), NULL},
    {"data.test", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"data.test.images", F_PATH, 0, 0, false, AT(test.images), NULL},
    {"data.test.labels", F_PATH, 0, 0, false, AT(test.labels), NULL},
    {"data.test.csv", F_PATH, 0, 0, false, AT(test.csv), NULL},
    {"data.normalize", F_ENUM, 0, 0, false, AT(normalize), norm_names},
    {"data.train_limit", F_SIZE, 0, 1e12, false, AT(train_limit), NULL},
    {"data.test_limit", F_SIZE, 0, 1e12, false, AT(test_limit), NULL},
    {"training", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"training.batch", F_INT, 1, GP_JOB_MAX_BATCH, false, AT(batch), NULL},
    {"training.epochs", F_INT, 1, GP_JOB_MAX_EPOCHS, false, AT(epochs), NULL},
    {"training.lr", F_NUM, 0, 1000, true, AT(lr), NULL},
    {"training.schedule", F_ENUM, 0, 0, false, AT(schedule), sched_names},
    {"training.step_every", F_INT, 1, GP_JOB_MAX_EPOCHS, false, AT(step_every), NULL},
    {"training.gamma", F_NUM, 0, 1, true, AT(gamma), NULL},
    {"training.lr_min", F_NUM, 0, 1000, false, AT(lr_min), NULL},
    {"training.shuffle_seed", F_U64, 0, 0, false, AT(shuffle_seed), NULL},
    {"training.check_every", F_INT, 1, 1000000, false, AT(check_every), NULL},
    {"training.checkpoint_every", F_INT, 1, 1000000, false, AT(checkpoint_every), NULL},
    {"training.max_redo", F_INT, 0, 100, false, AT(max_redo), NULL},
    {"code", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"code.scheme", F_SCHEME, 0, 0, false, AT(scheme), NULL},
    {"code.m", F_INT, 1, GP_MAX_SPLIT, false, AT(m), NULL},
    {"code.n", F_INT, 1, GP_MAX_SPLIT, false, AT(n), NULL},
    {"code.orientation", F_ENUM, 0, 0, false, 0, 0, orient_names},
    {"code.spare", F_INT, 1, 16, false, AT(spare), NULL},
    {"faults", F_SECTION, 0, 0, false, 0, 0, NULL},
    {"faults.seed", F_U64, 0, 0, false, AT(fault_seed), NULL},
    {"faults.scale", F_NUM, 0, 1e6, false, AT(fault_scale), NULL},
    {"faults.rules", F_RULES, 0, 0, false, 0, 0, NULL},
    {"precision", F_ENUM, 0, 0, false, AT(precision), prec_names},
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const field *find_field(const char *path)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (!strcmp(fields[i].path, path)) return &fields[i];
    return NULL;
}

/* Where a value came from, for the checks made once everything is read. */
typedef struct origin {
    bool set;
    const char *src; /* file name, or the override KEY=VALUE (the caller's string) */
    bool over;
    size_t line, col;
} origin;

typedef struct ld {
    yaml_document_t *doc;
    const char *src;      /* file name, or the override KEY=VALUE */
    bool over;            /* an override: no line and column */
    const char *dir;      /* prefix of relative paths (files only) */
    const char *over_key; /* the key an override sets */
    gp_msg *why;
    gp_job *job;
    /* state kept across the file and the overrides */
    bool have_layers;
    int nact; /* -1: one name for every hidden layer; else the list's length */
    gp_act acts[GP_JOB_MAX_LAYERS + 1];
    origin act_at, lr_min_at, code_at, train_at, test_at;
} ld;

static gp_err vfail(gp_msg *why, const char *src, bool over, size_t line, size_t col,
                    const char *path, const char *fmt, va_list ap)
{
    if (why) {
        char text[224];
        vsnprintf(text, sizeof text, fmt, ap);
        if (over)
            snprintf(why->text, sizeof why->text, "--set %s: %s%s%s", src, path, *path ? ": " : "",
                     text);
        else
            snprintf(why->text, sizeof why->text, "%s:%zu:%zu: %s%s%s", src, line, col, path,
                     *path ? ": " : "", text);
    }
    return GP_EINVAL;
}

static gp_err at(const ld *L, const yaml_node_t *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "file:line:col: key.path: reason" at node n (or "--set K=V: key.path: reason"). */
static gp_err at(const ld *L, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_err e = vfail(L->why, L->src, L->over, n ? n->start_mark.line + 1 : 1,
                     n ? n->start_mark.column + 1 : 1, path, fmt, ap);
    va_end(ap);
    return e;
}

static gp_err at_origin(const ld *L, const origin *o, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static gp_err at_origin(const ld *L, const origin *o, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_err e = vfail(L->why, o->src, o->over, o->line, o->col, path, fmt, ap);
    va_end(ap);
    return e;
}

static origin origin_of(const ld *L, const yaml_node_t *n)
{
    origin o = {true, L->src, L->over, n ? n->start_mark.line + 1 : 1,
                n ? n->start_mark.column + 1 : 1};
    return o;
}

/* ---- typed values ------------------------------------------------------------------- */

static gp_err get_i64(const ld *L, const yaml_node_t *v, const char *path, long long lo,
                      long long hi, long long *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    errno = 0;
    long long x = s ? strtoll(s, &end, 10) : 0;
    if (!s) return at(L, v, path, "must be an integer in %lld .. %lld", lo, hi);
    if (!*s || *end || errno || x < lo || x > hi)
        return at(L, v, path, "must be an integer in %lld .. %lld, not '%s'", lo, hi, s);
    *out = x;
    return GP_OK;
}

static gp_err get_u64(const ld *L, const yaml_node_t *v, const char *path, uint64_t *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    errno = 0;
    if (!s) return at(L, v, path, "must be a non-negative integer");
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || errno || strchr(s, '-') || !(*s >= '0' && *s <= '9'))
        return at(L, v, path, "must be an integer in 0 .. %llu, not '%s'", (unsigned long long)-1,
                  s);
    *out = x;
    return GP_OK;
}

static gp_err get_num(const ld *L, const yaml_node_t *v, const char *path, const field *f,
                      double *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    double x = s ? strtod(s, &end) : 0;
    const char *lo = f->lo_open ? "above" : "at least";
    if (!s) return at(L, v, path, "must be a number %s %g and at most %g", lo, f->lo, f->hi);
    if (!*s || *end || !isfinite(x) || x < f->lo || x > f->hi || (f->lo_open && x == f->lo))
        return at(L, v, path, "must be a number %s %g and at most %g, not '%s'", lo, f->lo, f->hi,
                  s);
    *out = x;
    return GP_OK;
}

static gp_err get_str(const ld *L, const yaml_node_t *v, const char *path, char *dst, size_t cap)
{
    const char *s = gp_yaml_scalar(v);
    if (!s) return at(L, v, path, "must be a string");
    size_t n = strlen(s);
    if (n == 0 || n >= cap) return at(L, v, path, "must be 1 to %zu characters", cap - 1);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return at(L, v, path, "must not hold control characters");
    memcpy(dst, s, n + 1);
    return GP_OK;
}

static gp_err get_enum(const ld *L, const yaml_node_t *v, const char *path,
                       const char *const *names, int *out)
{
    const char *s = gp_yaml_scalar(v);
    for (int i = 0; s && names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return GP_OK;
        }
    char list[160] = "";
    for (int i = 0; names[i]; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                 i == 0         ? ""
                 : names[i + 1] ? ", "
                                : " or ",
                 names[i]);
    if (!s) return at(L, v, path, "must be %s", list);
    return at(L, v, path, "must be %s, not '%s'", list, s);
}

/* A data file: relative paths from the file get its directory in front. */
static gp_err get_path(const ld *L, const yaml_node_t *v, const char *path, char *dst)
{
    char tmp[GP_JOB_MAX_PATH];
    gp_err e = get_str(L, v, path, tmp, sizeof tmp);
    if (e != GP_OK) return e;
    if (tmp[0] != '/' && L->dir && *L->dir && !L->over) {
        size_t dl = strlen(L->dir);
        int n =
            snprintf(dst, GP_JOB_MAX_PATH, "%s%s%s", L->dir, L->dir[dl - 1] == '/' ? "" : "/", tmp);
        if (n < 0 || n >= GP_JOB_MAX_PATH)
            return at(L, v, path, "%s/%s is longer than %d characters", L->dir, tmp,
                      GP_JOB_MAX_PATH - 1);
    } else {
        memcpy(dst, tmp, strlen(tmp) + 1);
    }
    return GP_OK;
}

/* ---- lists ------------------------------------------------------------------------- */

static gp_err get_layers(ld *L, const yaml_node_t *v, const char *path)
{
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return at(L, v, path, "must be a list of 2 to %d widths, e.g. [784, 256, 10]",
                  GP_JOB_MAX_LAYERS + 1);
    int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n < 2 || n > GP_JOB_MAX_LAYERS + 1)
        return at(L, v, path, "has %d entries; it must have 2 to %d (input, hidden..., output)", n,
                  GP_JOB_MAX_LAYERS + 1);
    for (int i = 0; i < n; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s[%d]", path, i);
        long long w;
        gp_err e = get_i64(L, yaml_document_get_node(L->doc, v->data.sequence.items.start[i]), p, 1,
                           GP_JOB_MAX_WIDTH, &w);
        if (e != GP_OK) return e;
        L->job->sizes[i] = (int)w;
    }
    L->job->nlayers = n - 1;
    L->have_layers = true;
    return GP_OK;
}

static gp_err get_act(ld *L, const yaml_node_t *v, const char *path)
{
    int a;
    if (v && v->type == YAML_SEQUENCE_NODE) {
        int n = (int)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (n > GP_JOB_MAX_LAYERS - 1)
            return at(L, v, path, "has %d entries; at most %d hidden layers", n,
                      GP_JOB_MAX_LAYERS - 1);
        for (int i = 0; i < n; i++) {
            char p[64];
            snprintf(p, sizeof p, "%s[%d]", path, i);
            gp_err e = get_enum(L, yaml_document_get_node(L->doc, v->data.sequence.items.start[i]),
                                p, act_names, &a);
            if (e != GP_OK) return e;
            L->acts[i] = (gp_act)a;
        }
        L->nact = n;
    } else {
        gp_err e = get_enum(L, v, path, act_names, &a);
        if (e != GP_OK) return e;
        L->acts[0] = (gp_act)a;
        L->nact = -1;
    }
    L->act_at = origin_of(L, v);
    return GP_OK;
}

static const char *const rule_keys[] = {"node", "op", "probability", "magnitude", NULL};

static gp_err get_rules(ld *L, const yaml_node_t *v, const char *path)
{
    gp_job *j = L->job;
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return at(L, v, path, "must be a list of {node, op, probability, magnitude}");
    j->nrules = 0; /* a list replaces the one before (an override replaces the file's) */
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *rn = yaml_document_get_node(L->doc, *it);
        char p[64], kp[96];
        snprintf(p, sizeof p, "%s[%d]", path, j->nrules);
        if (j->nrules == GP_JOB_MAX_RULES)
            return at(L, rn, p, "more than %d fault rules", GP_JOB_MAX_RULES);
        if (!rn || rn->type != YAML_MAPPING_NODE)
            return at(L, rn, p, "must be a mapping {node, op, probability, magnitude}");
        gp_fault_rule r = {-1, GP_FAULT_MULTIPLY, 0, 1.0};
        bool have_op = false, have_p = false;
        for (yaml_node_pair_t *q = rn->data.mapping.pairs.start; q < rn->data.mapping.pairs.top;
             q++) {
            yaml_node_t *k = yaml_document_get_node(L->doc, q->key),
                        *kv = yaml_document_get_node(L->doc, q->value);
            const char *ks = gp_yaml_scalar(k);
            if (!ks) return at(L, k, p, "keys must be plain words");
            snprintf(kp, sizeof kp, "%s.%s", p, ks);
            int idx = -1;
            for (int i = 0; rule_keys[i]; i++)
                if (!strcmp(ks, rule_keys[i])) idx = i;
            if (idx < 0)
                return at(L, k, kp, "unknown key (known: node, op, probability, magnitude)");
            for (yaml_node_pair_t *o = rn->data.mapping.pairs.start; o < q; o++) {
                const char *os = gp_yaml_scalar(yaml_document_get_node(L->doc, o->key));
                if (os && !strcmp(os, ks)) return at(L, k, kp, "given twice");
            }
            gp_err e = GP_OK;
            if (idx == 0) {
                const char *s = gp_yaml_scalar(kv);
                long long id;
                if (s && !strcmp(s, "all"))
                    r.node = -1;
                else if (get_i64(L, kv, kp, 0, GP_CONFIG_MAX_NODES - 1, &id) == GP_OK)
                    r.node = (int)id;
                else
                    e = at(L, kv, kp, "must be 'all' or a node id in 0 .. %d",
                           GP_CONFIG_MAX_NODES - 1);
            } else if (idx == 1) {
                static const char *const ops[] = {"multiply", "encode", "decode", "activation",
                                                  "hadamard", "update", NULL};
                int op = 0;
                e = get_enum(L, kv, kp, ops, &op);
                r.op = (gp_fault_op)op;
                if (e == GP_OK && strcmp(gp_fault_op_name(r.op), ops[op]) != 0)
                    e = at(L, kv, kp, "internal: fault op table out of step");
                have_op = true;
            } else if (idx == 2) {
                static const field pf = {"", F_NUM, 0, 1, false, 0, 0, NULL};
                e = get_num(L, kv, kp, &pf, &r.probability);
                have_p = true;
            } else {
                static const field mf = {"", F_NUM, 0, 1e300, true, 0, 0, NULL};
                e = get_num(L, kv, kp, &mf, &r.magnitude);
            }
            if (e != GP_OK) return e;
        }
        if (!have_op || !have_p) return at(L, rn, p, "a fault rule needs 'op' and 'probability'");
        j->rules[j->nrules++] = r;
    }
    return GP_OK;
}

/* ---- the walk ---------------------------------------------------------------------- */

static gp_err walk(ld *L, const char *path, const yaml_node_t *v);

/* The keys directly under a section, for messages. */
static void known_keys(const char *section, char *list, size_t cap)
{
    size_t sl = strlen(section);
    list[0] = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        const char *p = fields[i].path, *rest;
        if (sl) {
            if (strncmp(p, section, sl) != 0 || p[sl] != '.') continue;
            rest = p + sl + 1;
        } else {
            rest = p;
        }
        if (strchr(rest, '.')) continue;
        snprintf(list + strlen(list), cap - strlen(list), "%s%s", list[0] ? ", " : "", rest);
    }
}

static gp_err walk_section(ld *L, const char *path, const yaml_node_t *m)
{
    if (!m || m->type != YAML_MAPPING_NODE) {
        if (!*path) return at(L, m, "", "the job file must be a mapping");
        return at(L, m, path, "must be a mapping");
    }
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(L->doc, p->key),
                    *v = yaml_document_get_node(L->doc, p->value);
        const char *ks = gp_yaml_scalar(k);
        if (!ks || !*ks) return at(L, k, path, "keys must be plain words");
        char child[128];
        int cn = snprintf(child, sizeof child, "%s%s%s", path, *path ? "." : "", ks);
        if (cn < 0 || cn >= (int)sizeof child || strchr(ks, '.') || !find_field(child)) {
            char list[256];
            known_keys(path, list, sizeof list);
            return at(L, k, cn < (int)sizeof child ? child : path, "unknown key (known%s%s: %s)",
                      *path ? " in " : "", path, list);
        }
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            const char *qs = gp_yaml_scalar(yaml_document_get_node(L->doc, q->key));
            if (qs && !strcmp(qs, ks)) return at(L, k, child, "given twice");
        }
        gp_err e = walk(L, child, v);
        if (e != GP_OK) return e;
    }
    /* one data set: IDX images and labels, or a CSV file */
    if (!strcmp(path, "data.train") || !strcmp(path, "data.test")) {
        gp_data_files *f = !strcmp(path, "data.train") ? &L->job->train : &L->job->test;
        if (f->csv[0] && (f->images[0] || f->labels[0]))
            return at(L, m, path, "give either 'images' and 'labels' (IDX), or 'csv', not both");
        if (!f->csv[0] && (!f->images[0] || !f->labels[0]))
            return at(L, m, path, "needs 'images' and 'labels' (IDX files), or 'csv'");
        *(!strcmp(path, "data.train") ? &L->train_at : &L->test_at) = origin_of(L, m);
    }
    if (!strcmp(path, "code")) L->code_at = origin_of(L, m);
    return GP_OK;
}

static gp_err walk(ld *L, const char *path, const yaml_node_t *v)
{
    const field *f = find_field(path);
    gp_job *j = L->job;
    void *dst = f ? (char *)j + f->off : NULL;
    gp_err e;
    switch (f->type) {
    case F_SECTION:
        return walk_section(L, path, v);
    case F_INT: {
        long long x;
        e = get_i64(L, v, path, (long long)f->lo, (long long)f->hi, &x);
        if (e == GP_OK) *(int *)dst = (int)x;
        return e;
    }
    case F_SIZE: {
        long long x;
        e = get_i64(L, v, path, (long long)f->lo, (long long)f->hi, &x);
        if (e == GP_OK) *(size_t *)dst = (size_t)x;
        return e;
    }
    case F_U64:
        return get_u64(L, v, path, (uint64_t *)dst);
    case F_NUM:
        e = get_num(L, v, path, f, (double *)dst);
        if (e == GP_OK && !strcmp(path, "training.lr_min")) L->lr_min_at = origin_of(L, v);
        return e;
    case F_STR:
        return get_str(L, v, path, (char *)dst, f->size);
    case F_PATH: {
        e = get_path(L, v, path, (char *)dst);
        if (e != GP_OK || !L->over || strcmp(L->over_key, path) != 0) return e;
        /* an override of one kind of file replaces the other kind */
        gp_data_files *fs = !strncmp(path, "data.train.", 11) ? &j->train : &j->test;
        if (strstr(path, ".csv"))
            fs->images[0] = fs->labels[0] = 0;
        else
            fs->csv[0] = 0;
        return GP_OK;
    }
    case F_ENUM: {
        int x;
        e = get_enum(L, v, path, f->names, &x);
        if (e != GP_OK) return e;
        if (f->names == orient_names)
            snprintf(j->orientation, sizeof j->orientation, "%s", orient_names[x]);
        else if (f->names == norm_names)
            j->normalize = (gp_norm)x;
        else if (f->names == prec_names)
            j->precision = (gp_prec)x;
        else
            j->schedule = (gp_sched)x;
        return GP_OK;
    }
    case F_LAYERS:
        return get_layers(L, v, path);
    case F_ACT:
        return get_act(L, v, path);
    case F_RULES:
        return get_rules(L, v, path);
    case F_SCHEME: {
        const char *s = gp_yaml_scalar(v);
        gp_scheme sc;
        if (s && !*s) { /* "": the default */
            j->scheme[0] = 0;
            return GP_OK;
        }
        if (!s || gp_scheme_parse(s, &sc) != GP_OK || strlen(s) >= sizeof j->scheme)
            return at(L, v, path,
                      "must be gpd, polynomial, matdot, mds, replication or uncoded%s%s%s",
                      s ? ", not '" : "", s ? s : "", s ? "'" : "");
        snprintf(j->scheme, sizeof j->scheme, "%s", gp_scheme_name(sc));
        return GP_OK;
    }
    }
    return at(L, v, path, "internal: no setter");
}

/* ---- overrides --------------------------------------------------------------------- */

/* KEY=VALUE: VALUE is YAML when it starts with [ or { (model.layers=[784,32,10]),
 * otherwise taken literally as one scalar (so paths need no quoting). */
static gp_err apply_override(ld *L, const char *set)
{
    char key[128];
    const char *eq = strchr(set, '=');
    if (!eq || eq == set)
        return gp_fail(L->why, GP_EINVAL, "--set %s: must be KEY=VALUE, e.g. training.epochs=1",
                       set);
    if ((size_t)(eq - set) >= sizeof key)
        return gp_fail(L->why, GP_EINVAL, "--set %.60s...: the key is too long", set);
    memcpy(key, set, (size_t)(eq - set));
    key[eq - set] = 0;
    const char *val = eq + 1;
    if (!find_field(key)) {
        char list[256], section[128];
        snprintf(section, sizeof section, "%s", key);
        char *dot = strrchr(section, '.');
        if (dot)
            *dot = 0;
        else
            section[0] = 0;
        const field *sf = find_field(section);
        if (*section && (!sf || sf->type != F_SECTION))
            return gp_fail(L->why, GP_EINVAL, "--set %s: unknown key '%s'", set, key);
        known_keys(section, list, sizeof list);
        return gp_fail(L->why, GP_EINVAL, "--set %s: unknown key '%s' (known%s%s: %s)", set, key,
                       *section ? " in " : "", section, list);
    }
    yaml_document_t doc;
    yaml_parser_t parser;
    gp_err e;
    bool parsed = val[0] == '[' || val[0] == '{';
    if (parsed) {
        if (!yaml_parser_initialize(&parser)) return gp_fail(L->why, GP_ENOMEM, "no memory");
        yaml_parser_set_input_string(&parser, (const unsigned char *)val, strlen(val));
        if (!yaml_parser_load(&parser, &doc)) {
            e = gp_fail(L->why, GP_EINVAL, "--set %s: %s: not valid YAML (%s at column %zu)", set,
                        key, parser.problem ? parser.problem : "syntax error",
                        parser.problem_mark.column + 1);
            yaml_parser_delete(&parser);
            return e;
        }
    } else {
        if (!yaml_document_initialize(&doc, NULL, NULL, NULL, 1, 1)) {
            return gp_fail(L->why, GP_ENOMEM, "no memory");
        }
        if (!yaml_document_add_scalar(&doc, NULL, (yaml_char_t *)(uintptr_t)val, (int)strlen(val),
                                      YAML_PLAIN_SCALAR_STYLE)) {
            yaml_document_delete(&doc);
            return gp_fail(L->why, GP_ENOMEM, "no memory");
        }
    }
    /* messages say "--set KEY=VALUE: key: reason"; set[] outlives the parse */
    L->doc = &doc;
    L->src = set;
    L->over = true;
    L->over_key = key;
    e = walk(L, key, yaml_document_get_root_node(&doc));
    yaml_document_delete(&doc);
    if (parsed) yaml_parser_delete(&parser);
    return e;
}

/* ---- the whole job ------------------------------------------------------------------ */

/* Job names travel as protocol names: A-Z a-z 0-9 _ . : - */
static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

static void defaults(gp_job *j, const char *name)
{
    memset(j, 0, sizeof *j);
    /* the file's base name without its extension */
    const char *base = name ? strrchr(name, '/') : NULL;
    base = base ? base + 1 : name ? name : "";
    size_t n = strlen(base);
    const char *ext = strrchr(base, '.');
    if (ext && ext != base) n = (size_t)(ext - base);
    if (n >= sizeof j->name) n = sizeof j->name - 1;
    memcpy(j->name, base, n);
    j->name[n] = 0;
    for (size_t i = 0; i < n; i++)
        if (!name_char(j->name[i])) j->name[i] = '_';
    if (!j->name[0]) snprintf(j->name, sizeof j->name, "job");
    j->init_seed = 1;
    j->normalize = GP_NORM_STANDARDIZE;
    j->batch = 64;
    j->epochs = 2;
    j->lr = 0.1;
    j->schedule = GP_SCHED_CONSTANT;
    j->step_every = 1;
    j->gamma = 0.5;
    j->lr_min = 0.0;
    j->shuffle_seed = 1;
    j->check_every = 1;
    j->checkpoint_every = 50;
    j->max_redo = 3;
    snprintf(j->orientation, sizeof j->orientation, "auto");
    j->spare = 1;
    j->fault_seed = 1;
    j->fault_scale = 1.0;
}

/* Checks that need the whole job: required keys, the activations against
 * the layers, the schedule's bounds, the code. */
static gp_err finish(ld *L, const yaml_node_t *root, const char *name)
{
    gp_job *j = L->job;
    L->src = name;
    L->over = false;
    L->doc = NULL;
    if (!L->have_layers) return at(L, root, "model.layers", "is required (e.g. [784, 256, 10])");
    const gp_data_files *fs[2] = {&j->train, &j->test};
    const origin *fo[2] = {&L->train_at, &L->test_at};
    for (int i = 0; i < 2; i++) {
        const char *p = i ? "data.test" : "data.train";
        if (!fs[i]->csv[0] && !fs[i]->images[0] && !fs[i]->labels[0])
            return at(L, root, p, "is required ({images: F, labels: F} or {csv: F})");
        if (!fs[i]->csv[0] && (!fs[i]->images[0] || !fs[i]->labels[0]))
            return at_origin(L, fo[i], p, "needs 'images' and 'labels' (IDX files), or 'csv'");
    }
    int hidden = j->nlayers - 1;
    if (L->nact < 0) {
        for (int l = 0; l < hidden; l++) j->act[l] = L->acts[0];
    } else if (L->nact >= 0 && L->act_at.set) {
        if (L->nact != hidden)
            return at_origin(L, &L->act_at, "model.activation",
                             "lists %d activations; model.layers has %d hidden layer%s", L->nact,
                             hidden, hidden == 1 ? "" : "s");
        for (int l = 0; l < hidden; l++) j->act[l] = L->acts[l];
    }
    if (j->schedule == GP_SCHED_COSINE && j->lr_min > j->lr) {
        origin o = L->lr_min_at.set ? L->lr_min_at : origin_of(L, root);
        return at_origin(L, &o, "training.lr_min", "is %g; it must not exceed training.lr (%g)",
                         j->lr_min, j->lr);
    }
    if ((j->m || j->n) && !j->scheme[0]) {
        origin o = L->code_at.set ? L->code_at : origin_of(L, root);
        return at_origin(L, &o, "code", "'m' and 'n' need a 'scheme'");
    }
    return GP_OK;
}

gp_err gp_job_parse(const char *text, size_t len, const char *name, const char *dir,
                    const char *const *set, int nset, gp_job *job, gp_msg *why)
{
    if (!name) name = "job";
    defaults(job, name);
    if (nset < 0 || nset > GP_JOB_MAX_SET || (nset > 0 && !set))
        return gp_fail(why, GP_EINVAL, "at most %d --set overrides", GP_JOB_MAX_SET);
    ld L = {.src = name, .dir = dir, .why = why, .job = job, .nact = -1};
    L.acts[0] = GP_ACT_RELU;

    yaml_document_t doc;
    yaml_node_t *root;
    gp_err e = gp_yaml_load(text, len, name, GP_EINVAL, &doc, &root, why);
    if (e != GP_OK) return e;
    L.doc = &doc;
    e = walk_section(&L, "", root);
    for (int i = 0; e == GP_OK && i < nset; i++) e = apply_override(&L, set[i]);
    if (e == GP_OK) e = finish(&L, root, name);
    for (const char *c = job->name; e == GP_OK && *c; c++)
        if (!name_char(*c))
            e = gp_fail(why, GP_EINVAL, "%s: name: '%s' may hold only A-Z a-z 0-9 _ . : -", name,
                        job->name);
    yaml_document_delete(&doc);
    return e;
}

gp_err gp_job_load(const char *path, const char *const *set, int nset, gp_job *job, gp_msg *why)
{
    char *buf;
    size_t len; /* a job file is a few hundred bytes */
    gp_err e = gp_read_file(path, (size_t)1 << 20, "a job file", &buf, &len, why);
    if (e != GP_OK) return e;
    char dir[GP_JOB_MAX_PATH] = "";
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) {
            free(buf);
            return gp_fail(why, GP_EINVAL, "%s: the path is too long", path);
        }
        memcpy(dir, path, n);
        dir[n] = 0;
        if (n == 0) snprintf(dir, sizeof dir, "/");
    }
    e = gp_job_parse(buf, len, path, slash ? dir : NULL, set, nset, job, why);
    free(buf);
    return e;
}
