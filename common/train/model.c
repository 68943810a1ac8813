/* model.c - a trained model on disk: DIR/W<l>.npy, DIR/b<l>.npy (float64)
 * and DIR/model.yaml, the manifest:
 *
 *   # gpdot model
 *   format: 1
 *   name: "fashion-mnist"
 *   layers: [784, 256, 128, 10]
 *   activation: [relu, relu]
 *   output: softmax
 *   normalize: {how: standardize, mean: 72.94, scale: 0.0111}
 *   weights:
 *     - {W: W0.npy, b: b0.npy}
 *     - ...
 *   run:            # the caller's lines (the run's figures), not read back
 *     test_accuracy: 0.87
 *
 * Numbers are written with 17 significant digits, so they read back exactly. */
#include "gp_model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "gp_npy.h"
#include "gp_file.h"
#include "gp_yaml.h"

static const char *const norm_names[] = {"standardize", "scale", "none"};

/* mkdir -p */
static gp_err make_dir(const char *dir, gp_msg *why)
{
    char p[GP_JOB_MAX_PATH];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
        return gp_fail(why, GP_EINVAL, "%s: the path is too long", dir);
    for (char *q = p + 1;; q++) {
        if (*q == '/' || *q == 0) {
            char c = *q;
            *q = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST)
                return gp_fail(why, GP_EIO, "%s: %s", p, strerror(errno));
            *q = c;
            if (!c) break;
        }
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return gp_fail(why, GP_EIO, "%s: not a directory", dir);
    return GP_OK;
}

static gp_err path_in(char *dst, const char *dir, const char *file, gp_msg *why)
{
    int n = snprintf(dst, GP_JOB_MAX_PATH, "%s/%s", dir, file);
    if (n < 0 || n >= GP_JOB_MAX_PATH)
        return gp_fail(why, GP_EINVAL, "%s/%s: the path is too long", dir, file);
    return GP_OK;
}

gp_err gp_model_save(const char *dir, const gp_job *job, const gp_rmat *w, gp_norm_stats st,
                     const char *extra, gp_msg *why)
{
    gp_err e = make_dir(dir, why);
    if (e != GP_OK) return e;
    int L = job->nlayers;
    char path[GP_JOB_MAX_PATH], file[32];
    for (int l = 0; l < L; l++) {
        size_t rows = (size_t)job->sizes[l + 1], cols = (size_t)job->sizes[l];
        if (w[l].rows != rows || w[l].cols != cols + 1)
            return gp_fail(why, GP_EINVAL, "layer %d is %zu x %zu; the job says %zu x %zu", l,
                           w[l].rows, w[l].cols, rows, cols + 1);
        snprintf(file, sizeof file, "W%d.npy", l);
        if ((e = path_in(path, dir, file, why)) != GP_OK ||
            (e = gp_npy_write(path, gp_rmat_sub(w[l], 0, 0, rows, cols), 0, why)) != GP_OK)
            return e;
        snprintf(file, sizeof file, "b%d.npy", l);
        if ((e = path_in(path, dir, file, why)) != GP_OK ||
            (e = gp_npy_write(path, gp_rmat_sub(w[l], 0, cols, rows, 1), 1, why)) != GP_OK)
            return e;
    }
    if ((e = path_in(path, dir, "model.yaml", why)) != GP_OK) return e;
    FILE *f = fopen(path, "w");
    if (!f) return gp_fail(why, GP_EIO, "%s: %s", path, strerror(errno));
    fprintf(f, "# gpdot model: W<l>.npy is sizes[l+1] x sizes[l], b<l>.npy has sizes[l+1]\n");
    fprintf(f, "format: 1\nname: \"");
    for (const char *c = job->name; *c; c++) {
        if (*c == '"' || *c == '\\') fputc('\\', f);
        fputc(*c, f);
    }
    fprintf(f, "\"\nlayers: [");
    for (int l = 0; l <= L; l++) fprintf(f, "%s%d", l ? ", " : "", job->sizes[l]);
    fprintf(f, "]\nactivation: [");
    for (int l = 0; l < L - 1; l++) fprintf(f, "%s%s", l ? ", " : "", gp_act_name(job->act[l]));
    fprintf(f, "]\noutput: softmax\n");
    fprintf(f, "normalize: {how: %s, mean: %.17g, scale: %.17g}\n",
            norm_names[job->normalize <= GP_NORM_NONE ? job->normalize : GP_NORM_NONE], st.mean,
            st.scale);
    fprintf(f, "weights:\n");
    for (int l = 0; l < L; l++) fprintf(f, "  - {W: W%d.npy, b: b%d.npy}\n", l, l);
    if (extra && *extra) {
        fprintf(f, "run:\n");
        for (const char *p = extra; *p;) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            if (n) fprintf(f, "  %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
    if (ferror(f) | (fclose(f) != 0)) return gp_fail(why, GP_EIO, "%s: write failed", path);
    return GP_OK;
}

/* ---- reading ------------------------------------------------------------------------- */

typedef struct rd {
    yaml_document_t *doc;
    const char *name;
    gp_msg *why;
} rd;

static gp_err at(const rd *R, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static gp_err at(const rd *R, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gp_err e = gp_yaml_vfail(R->why, GP_EFORMAT, R->name, n, fmt, ap);
    va_end(ap);
    return e;
}

static yaml_node_t *item(const rd *R, const yaml_node_t *seq, int i)
{
    return yaml_document_get_node(R->doc, seq->data.sequence.items.start[i]);
}

static int seq_len(const yaml_node_t *n)
{
    return n && n->type == YAML_SEQUENCE_NODE
               ? (int)(n->data.sequence.items.top - n->data.sequence.items.start)
               : -1;
}

/* The value of `key` in mapping m, or NULL; unknown keys are errors. */
static gp_err lookup(const rd *R, const yaml_node_t *m, const char *what, const char *const *keys,
                     yaml_node_t **vals)
{
    if (!m || m->type != YAML_MAPPING_NODE) return at(R, m, "%s must be a mapping", what);
    for (int i = 0; keys[i]; i++) vals[i] = NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(R->doc, p->key);
        const char *ks = gp_yaml_scalar(k);
        int idx = -1;
        for (int i = 0; ks && keys[i]; i++)
            if (!strcmp(ks, keys[i])) idx = i;
        if (idx < 0) return at(R, k, "unknown key '%s' in %s", ks ? ks : "?", what);
        if (vals[idx]) return at(R, k, "'%s' given twice in %s", ks, what);
        vals[idx] = yaml_document_get_node(R->doc, p->value);
    }
    return GP_OK;
}

static gp_err num(const rd *R, const yaml_node_t *v, const char *key, double *out)
{
    const char *s = gp_yaml_scalar(v);
    char *end;
    if (!s) return at(R, v, "'%s' must be a number", key);
    *out = strtod(s, &end);
    if (!*s || *end || !isfinite(*out)) return at(R, v, "'%s' must be a finite number", key);
    return GP_OK;
}

static gp_err file_name(const rd *R, const yaml_node_t *v, const char *key, const char *dir,
                        char *path, gp_msg *why)
{
    const char *s = gp_yaml_scalar(v);
    if (!s || !*s) return at(R, v, "'%s' must be a file name", key);
    if (s[0] == '/') return at(R, v, "'%s' must be relative to the model's directory", key);
    return path_in(path, dir, s, why);
}

static gp_err read_model(const rd *R, const yaml_node_t *root, const char *dir, gp_job *job,
                         gp_rmat *w, gp_norm_stats *st, gp_msg *why)
{
    static const char *const top[] = {"format",    "name",    "layers", "activation", "output",
                                      "normalize", "weights", "run",    NULL};
    enum { K_FORMAT, K_NAME, K_LAYERS, K_ACT, K_OUTPUT, K_NORM, K_WEIGHTS };
    yaml_node_t *v[9];
    gp_err e = lookup(R, root, "model.yaml", top, v);
    if (e != GP_OK) return e;
    for (int k = K_FORMAT; k <= K_WEIGHTS; k++)
        if (!v[k] && k != K_NAME) return at(R, root, "model.yaml needs '%s'", top[k]);
    if (!gp_yaml_scalar(v[K_FORMAT]) || strcmp(gp_yaml_scalar(v[K_FORMAT]), "1"))
        return at(R, v[K_FORMAT], "'format' is not 1: a model of another gpdot version");
    int n = seq_len(v[K_LAYERS]);
    if (n < 2 || n > GP_JOB_MAX_LAYERS + 1)
        return at(R, v[K_LAYERS], "'layers' must be a list of 2 to %d widths",
                  GP_JOB_MAX_LAYERS + 1);
    int L = n - 1, sizes[GP_JOB_MAX_LAYERS + 1];
    for (int i = 0; i < n; i++) {
        const char *s = gp_yaml_scalar(item(R, v[K_LAYERS], i));
        char *end;
        long x = s ? strtol(s, &end, 10) : 0;
        if (!s || !*s || *end || x < 1 || x > GP_JOB_MAX_WIDTH)
            return at(R, item(R, v[K_LAYERS], i), "a width must be an integer in 1 .. %d",
                      GP_JOB_MAX_WIDTH);
        sizes[i] = (int)x;
    }
    gp_act act[GP_JOB_MAX_LAYERS];
    if (seq_len(v[K_ACT]) != L - 1)
        return at(R, v[K_ACT], "'activation' must list %d activations, one per hidden layer",
                  L - 1);
    for (int i = 0; i < L - 1; i++) {
        const char *s = gp_yaml_scalar(item(R, v[K_ACT], i));
        int a = -1;
        for (int k = GP_ACT_RELU; s && k <= GP_ACT_IDENTITY; k++)
            if (!strcmp(s, gp_act_name((gp_act)k))) a = k;
        if (a < 0)
            return at(R, item(R, v[K_ACT], i),
                      "an activation must be relu, tanh, sigmoid or "
                      "identity");
        act[i] = (gp_act)a;
    }
    if (!gp_yaml_scalar(v[K_OUTPUT]) || strcmp(gp_yaml_scalar(v[K_OUTPUT]), "softmax"))
        return at(R, v[K_OUTPUT], "'output' must be softmax");
    static const char *const nk[] = {"how", "mean", "scale", NULL};
    yaml_node_t *nv[3];
    if ((e = lookup(R, v[K_NORM], "normalize", nk, nv)) != GP_OK) return e;
    int how = -1;
    for (int k = 0; k < 3 && gp_yaml_scalar(nv[0]); k++)
        if (!strcmp(gp_yaml_scalar(nv[0]), norm_names[k])) how = k;
    if (how < 0)
        return at(R, nv[0] ? nv[0] : v[K_NORM], "'how' must be standardize, scale or none");
    gp_norm_stats ns;
    if (!nv[1] || !nv[2]) return at(R, v[K_NORM], "normalize needs 'mean' and 'scale'");
    if ((e = num(R, nv[1], "mean", &ns.mean)) != GP_OK ||
        (e = num(R, nv[2], "scale", &ns.scale)) != GP_OK)
        return e;
    if (seq_len(v[K_WEIGHTS]) != L) return at(R, v[K_WEIGHTS], "'weights' must list %d layers", L);
    gp_rmat tmp[GP_JOB_MAX_LAYERS] = {{0}};
    for (int l = 0; l < L && e == GP_OK; l++) {
        static const char *const wk[] = {"W", "b", NULL};
        yaml_node_t *wv[2];
        yaml_node_t *wn = item(R, v[K_WEIGHTS], l);
        char pw[GP_JOB_MAX_PATH], pb[GP_JOB_MAX_PATH];
        if ((e = lookup(R, wn, "a layer", wk, wv)) != GP_OK) break;
        if (!wv[0] || !wv[1]) {
            e = at(R, wn, "a layer needs 'W' and 'b'");
            break;
        }
        if ((e = file_name(R, wv[0], "W", dir, pw, why)) != GP_OK ||
            (e = file_name(R, wv[1], "b", dir, pb, why)) != GP_OK)
            break;
        gp_rmat W = {0}, b = {0};
        size_t rows = (size_t)sizes[l + 1], cols = (size_t)sizes[l];
        if ((e = gp_npy_read(pw, &W, why)) == GP_OK && (e = gp_npy_read(pb, &b, why)) == GP_OK) {
            if (W.rows != rows || W.cols != cols)
                e = gp_fail(why, GP_EFORMAT, "%s is %zu x %zu; layer %d needs %zu x %zu", pw,
                            W.rows, W.cols, l, rows, cols);
            else if (b.rows != rows || b.cols != 1)
                e = gp_fail(why, GP_EFORMAT, "%s has %zu x %zu values; layer %d needs %zu", pb,
                            b.rows, b.cols, l, rows);
            else if ((e = gp_rmat_alloc(&tmp[l], rows, cols + 1)) == GP_OK) {
                gp_rmat_copy(gp_rmat_sub(tmp[l], 0, 0, rows, cols), W);
                gp_rmat_copy(gp_rmat_sub(tmp[l], 0, cols, rows, 1), b);
            } else {
                e = gp_fail(why, e, "no memory for layer %d", l);
            }
        }
        gp_rmat_free(&W);
        gp_rmat_free(&b);
    }
    if (e != GP_OK) {
        for (int l = 0; l < L; l++) gp_rmat_free(&tmp[l]);
        return e;
    }
    const char *nm = gp_yaml_scalar(v[K_NAME]);
    if (!job->name[0] && nm) snprintf(job->name, sizeof job->name, "%s", nm);
    job->nlayers = L;
    memcpy(job->sizes, sizes, sizeof sizes);
    memcpy(job->act, act, sizeof act);
    job->normalize = (gp_norm)how;
    for (int l = 0; l < L; l++) w[l] = tmp[l];
    *st = ns;
    return GP_OK;
}

gp_err gp_model_load(const char *dir, gp_job *job, gp_rmat *w, gp_norm_stats *st, gp_msg *why)
{
    char path[GP_JOB_MAX_PATH];
    gp_err e = path_in(path, dir, "model.yaml", why);
    if (e != GP_OK) return e;
    char *text;
    size_t len; /* a manifest is a few hundred bytes */
    if ((e = gp_read_file(path, (size_t)1 << 20, "a model manifest", &text, &len, why)) !=
        GP_OK)
        return e;
    yaml_document_t doc;
    yaml_node_t *root;
    e = gp_yaml_load(text, len, path, GP_EFORMAT, &doc, &root, why);
    free(text);
    if (e != GP_OK) return e;
    rd R = {&doc, path, why};
    e = read_model(&R, root, dir, job, w, st, why);
    yaml_document_delete(&doc);
    return e;
}
