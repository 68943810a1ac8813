/* store.c - named matrices: this node's coded blocks of stored matrices and
 * whole values (decoded results), with the byte budget they count against. */
#define _GNU_SOURCE
#include "daemon.h"

bool pstr_is(gp_pstr a, const char *b)
{
    return a.len == strlen(b) && memcmp(a.p, b, a.len) == 0;
}

int find_entry(const daemon_s *d, gp_pstr name)
{
    for (int i = 0; i < MAX_ENTRIES; i++)
        if (d->ent[i].used && pstr_is(name, d->ent[i].name)) return i;
    return -1;
}

void entry_free(daemon_s *d, entry *e)
{
    d->bytes -= e->m.rows * e->m.cols * sizeof(double);
    gp_rmat_free(&e->m);
    gp_code_destroy(&e->code);
    memset(e, 0, sizeof *e);
}

/* Puts m (owned; taken over) under name, replacing what was there unless it
 * is in use. */
gp_err entry_put(daemon_s *d, gp_pstr name, gp_rmat *m, bool coded, size_t rows, size_t cols,
                 gp_code_t **code, gp_msg *why)
{
    int i = find_entry(d, name);
    if (i >= 0 && d->ent[i].busy)
        return gp_fail(why, GP_ESTATE, "'%.*s' is in use by an operation", (int)name.len, name.p);
    if (i >= 0) entry_free(d, &d->ent[i]);
    for (i = 0; i < MAX_ENTRIES && d->ent[i].used; i++) continue;
    if (i == MAX_ENTRIES) return gp_fail(why, GP_ERANGE, "%d matrices held already", MAX_ENTRIES);
    entry *e = &d->ent[i];
    e->used = true;
    e->coded = coded;
    memcpy(e->name, name.p, name.len);
    e->name[name.len] = 0;
    e->m = *m;
    memset(m, 0, sizeof *m);
    e->rows = rows;
    e->cols = cols;
    if (code) {
        e->code = *code;
        *code = NULL;
    }
    return GP_OK;
}

/* A matrix from the wire, as doubles; refuses NaN and Inf (a client's data). */
gp_err mat_in(daemon_s *d, gp_pmat x, const char *what, gp_rmat *m, gp_msg *why)
{
    size_t n = (size_t)x.rows * x.cols, bytes = n * sizeof(double);
    if (d->bytes + bytes > MAX_BYTES)
        return gp_fail(why, GP_ERANGE, "no room for %s: the daemon holds %llu bytes already", what,
                       (unsigned long long)d->bytes);
    if (gp_rmat_alloc(m, x.rows, x.cols) != GP_OK)
        return gp_fail(why, GP_ENOMEM, "no memory for %s", what);
    for (size_t i = 0; i < n; i++) {
        double v;
        if (x.f32) {
            float f;
            memcpy(&f, (const char *)x.data + 4 * i, 4);
            v = f;
        } else {
            memcpy(&v, (const char *)x.data + 8 * i, 8);
        }
        if (!(v - v == 0)) {
            gp_rmat_free(m);
            return gp_fail(why, GP_EINVAL, "%s holds NaN or Inf (at row %zu, column %zu)", what,
                           i / x.cols, i % x.cols);
        }
        m->data[i] = v;
    }
    d->bytes += bytes;
    return GP_OK;
}

void mat_release(daemon_s *d, gp_rmat *m)
{
    if (!m->data) return;
    d->bytes -= m->rows * m->cols * sizeof(double);
    gp_rmat_free(m);
}

gp_err do_store(daemon_s *d, const gp_pmsg *m, gp_msg *why)
{
    gp_code_params cp = {
        .nodes = d->cfg->nnodes, .m = (int)m->v[GP_F_M].u, .n = (int)m->v[GP_F_N].u};
    char scheme[32];
    gp_pstr sc = m->v[GP_F_SCHEME].s, orient = m->v[GP_F_ORIENTATION].s;
    snprintf(scheme, sizeof scheme, "%.*s", (int)(sc.len < 31 ? sc.len : 31), sc.p);
    if (gp_scheme_parse(scheme, &cp.scheme) != GP_OK)
        return gp_fail(why, GP_EINVAL, "unknown scheme '%s'", scheme);
    if (pstr_is(orient, "row"))
        cp.orient = GP_ORIENT_ROW;
    else if (pstr_is(orient, "col"))
        cp.orient = GP_ORIENT_COL;
    else if (pstr_is(orient, "auto"))
        cp.orient = GP_ORIENT_AUTO;
    else
        return gp_fail(why, GP_EINVAL, "orientation must be row, col or auto");
    uint64_t rows = m->v[GP_F_ROWS].u, cols = m->v[GP_F_COLS].u;
    if (rows < 1 || cols < 1 || rows > GP_PROTO_MAX_ELEMS || cols > GP_PROTO_MAX_ELEMS ||
        cp.m < 1 || cp.n < 1 || cp.m > GP_MAX_SPLIT || cp.n > GP_MAX_SPLIT)
        return gp_fail(why, GP_EINVAL, "a %llux%llu matrix in %dx%d blocks is not possible",
                       (unsigned long long)rows, (unsigned long long)cols, cp.m, cp.n);
    gp_code_t *code;
    gp_err e = gp_code_new(&cp, &code, why);
    if (e != GP_OK) return e;
    gp_pmat b = m->v[GP_F_BLOCK].m;
    size_t br = gp_code_block_rows(code, rows), bc = gp_code_block_cols(code, cols);
    if (b.rows != br || b.cols != bc) {
        gp_code_destroy(&code);
        return gp_fail(why, GP_EINVAL,
                       "node %d's block of a %llux%llu matrix is %zux%zu, not %ux%u", d->self,
                       (unsigned long long)rows, (unsigned long long)cols, br, bc, b.rows, b.cols);
    }
    gp_rmat blk;
    if ((e = mat_in(d, b, "the block", &blk, why)) != GP_OK) {
        gp_code_destroy(&code);
        return e;
    }
    e = entry_put(d, m->v[GP_F_NAME].s, &blk, true, rows, cols, &code, why);
    mat_release(d, &blk);
    gp_code_destroy(&code);
    return e;
}

/* A value entry by name (not a stored coded matrix), or -1 with a reason. */
int value_entry(daemon_s *d, gp_pstr name, gp_msg *why)
{
    int i = find_entry(d, name);
    if (i < 0 || d->ent[i].coded) {
        gp_fail(why, GP_ENOTFOUND, "no result named '%.*s'", (int)name.len, name.p);
        return -1;
    }
    return i;
}

/* A finished job's block becomes a stored matrix, for FETCH. */
void adopt(void *arg, const char *name, gp_rmat *block, size_t rows, size_t cols, gp_code_t **code,
           uint64_t updates)
{
    daemon_s *d = arg;
    gp_msg why = {{0}};
    size_t bytes = block->rows * block->cols * sizeof(double);
    gp_pstr nm = {name, strlen(name)};
    if (entry_put(d, nm, block, true, rows, cols, code, &why) != GP_OK) {
        logf_("cannot keep %s: %s", name, why.text);
        return;
    }
    d->bytes += bytes;
    d->ent[find_entry(d, nm)].updates = updates;
}
