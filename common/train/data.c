/* data.c - data sets: IDX files (plain or gzipped) and CSV files, from disk
 * or from memory, checked before anything large is allocated.
 *
 * IDX: a big-endian header, magic 0x00000803 (unsigned bytes, 3 dimensions:
 * count, rows, cols) for images and 0x00000801 (1 dimension: count) for
 * labels, then the bytes. A plain file must hold exactly the declared bytes.
 * A gzipped one is inflated as a stream: the header first, then the kept
 * samples straight into their buffer, then the rest into a small scratch
 * buffer only to be counted, so memory is allocated for what the header
 * declares (at most GP_DATA_MAX_BYTES) and a stream that ends early or runs
 * past the declared size is an error either way.
 *
 * CSV: one sample per line, the label (an integer 0 .. 255) first, then the
 * features (finite numbers); every line has the same number of columns. A
 * first line whose first field is not a number is a header and skipped.
 * Empty lines are skipped; CR before LF is allowed. */
#include "gp_data.h"
#include "gp_file.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GP_DATA_MAX_BYTES ((size_t)1 << 31) /* decompressed size of one file */
#define IDX_IMAGES        0x00000803u
#define IDX_LABELS        0x00000801u

void gp_data_free(gp_dataset *ds)
{
    if (!ds) return;
    free(ds->u8);
    free(ds->f32);
    free(ds->labels);
    memset(ds, 0, sizeof *ds);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_gzip(const unsigned char *p, size_t len)
{
    return len >= 2 && p[0] == 0x1f && p[1] == 0x8b;
}

/* ---- a reader over plain or gzipped bytes --------------------------------------------- */

typedef struct src {
    const char *name;
    const unsigned char *buf;
    size_t len, pos; /* plain: position in buf */
    bool gz;
    z_stream z;
    bool z_open, z_end;
    size_t produced; /* bytes delivered so far */
} src;

static gp_err src_open(src *s, const void *buf, size_t len, const char *name, gp_msg *why)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->buf = buf;
    s->len = len;
    s->gz = is_gzip(buf, len);
    if (!s->gz) return GP_OK;
    if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
        return gp_fail(why, GP_ENOMEM, "%s: cannot start gzip decompression", name);
    s->z_open = true;
    s->z.next_in = (unsigned char *)(uintptr_t)buf;
    s->z.avail_in = 0;
    return GP_OK;
}

static void src_close(src *s)
{
    if (s->z_open) inflateEnd(&s->z);
    s->z_open = false;
}

/* Reads up to n bytes into dst; *got is how many arrived (fewer only at the
 * end of the data). */
static gp_err src_read(src *s, void *dst, size_t n, size_t *got, gp_msg *why)
{
    *got = 0;
    if (!s->gz) {
        size_t k = s->len - s->pos < n ? s->len - s->pos : n;
        memcpy(dst, s->buf + s->pos, k);
        s->pos += k;
        *got = k;
        s->produced += k;
        return GP_OK;
    }
    unsigned char *out = dst;
    while (*got < n && !s->z_end) {
        size_t left_in = s->len - (size_t)(s->z.next_in - s->buf);
        if (s->z.avail_in == 0 && left_in > 0)
            s->z.avail_in = left_in > (1u << 30) ? (1u << 30) : (uInt)left_in;
        size_t want = n - *got;
        s->z.next_out = out + *got;
        s->z.avail_out = want > (1u << 30) ? (1u << 30) : (uInt)want;
        uInt before = s->z.avail_out;
        int r = inflate(&s->z, Z_NO_FLUSH);
        size_t made = before - s->z.avail_out;
        *got += made;
        s->produced += made;
        if (r == Z_STREAM_END) {
            /* another gzip member may follow (concatenated files) */
            size_t rest = s->len - (size_t)(s->z.next_in - s->buf);
            if (rest == 0) {
                s->z_end = true;
            } else if (is_gzip(s->z.next_in, rest)) {
                if (inflateReset(&s->z) != Z_OK)
                    return gp_fail(why, GP_EFORMAT, "%s: corrupt gzip data", s->name);
            } else {
                return gp_fail(why, GP_EFORMAT, "%s: %zu bytes of garbage after the gzip data",
                               s->name, rest);
            }
        } else if (r == Z_BUF_ERROR) {
            /* no progress with input and room given: the input has run out */
            if (made == 0)
                return gp_fail(why, GP_EFORMAT,
                               "%s: the gzip data is truncated (ends after %zu bytes)", s->name,
                               s->produced);
        } else if (r != Z_OK) {
            return gp_fail(why, GP_EFORMAT, "%s: corrupt gzip data (%s)", s->name,
                           s->z.msg ? s->z.msg : "inflate failed");
        }
    }
    return GP_OK;
}

/* Reads exactly n bytes into a new buffer. From gzip the buffer grows with
 * the bytes that actually arrive, so a header that declares more than the
 * stream holds never leads to a large allocation. */
static gp_err src_need_alloc(src *s, size_t n, const char *what, size_t declared,
                             unsigned char **out, gp_msg *why)
{
    *out = NULL;
    size_t cap = s->gz && n > ((size_t)1 << 20) ? (size_t)1 << 20 : n, have = 0;
    unsigned char *b = malloc(cap ? cap : 1);
    while (b) {
        size_t want = cap - have, got;
        gp_err e = src_read(s, b + have, want, &got, why);
        have += got;
        if (e == GP_OK && got < want)
            e = gp_fail(why, GP_EFORMAT,
                        "%s: truncated: the header declares %zu bytes of %s, the data ends after "
                        "%zu bytes",
                        s->name, declared, what, s->produced);
        if (e != GP_OK) {
            free(b);
            return e;
        }
        if (have == n) {
            *out = b;
            return GP_OK;
        }
        cap = n - cap < cap ? n : 2 * cap;
        unsigned char *nb = realloc(b, cap);
        if (!nb) free(b);
        b = nb;
    }
    return gp_fail(why, GP_ENOMEM, "%s: no memory for %zu bytes", s->name, n);
}

/* Everything after the kept bytes: counted, and must be exactly `rest`. */
static gp_err src_skip(src *s, size_t rest, size_t declared, gp_msg *why)
{
    if (!s->gz) { /* plain: the length was checked before */
        s->pos += rest;
        return GP_OK;
    }
    unsigned char scratch[65536];
    while (rest > 0) {
        size_t k = rest < sizeof scratch ? rest : sizeof scratch, got;
        gp_err e = src_read(s, scratch, k, &got, why);
        if (e != GP_OK) return e;
        if (got < k)
            return gp_fail(why, GP_EFORMAT,
                           "%s: truncated: the header declares %zu bytes of data, the data ends "
                           "after %zu bytes",
                           s->name, declared, s->produced);
        rest -= k;
    }
    size_t got;
    gp_err e = src_read(s, scratch, 1, &got, why);
    if (e != GP_OK) return e;
    if (got)
        return gp_fail(why, GP_EFORMAT, "%s: more data than the header declares (%zu bytes)",
                       s->name, declared);
    return GP_OK;
}

/* ---- IDX ---------------------------------------------------------------------------- */

/* Reads an IDX header: dims (1 or 3) big-endian sizes after the magic.
 * Returns the declared total size in *total, checked against the cap and,
 * for plain data, against the bytes present. */
static gp_err idx_header(src *s, uint32_t magic, uint32_t *dims, int nd, size_t *total, gp_msg *why)
{
    unsigned char h[16];
    size_t hl = 4 + 4 * (size_t)nd, got;
    gp_err e = src_read(s, h, hl, &got, why);
    if (e != GP_OK) return e;
    if (got < 4)
        return gp_fail(why, GP_EFORMAT, "%s: %zu bytes; too short for an IDX file", s->name, got);
    uint32_t m = be32(h);
    if (m != magic) {
        const char *want = magic == IDX_IMAGES ? "IDX images (magic 0x00000803: unsigned bytes, "
                                                 "3 dimensions)"
                                               : "IDX labels (magic 0x00000801: unsigned bytes, "
                                                 "1 dimension)";
        return gp_fail(why, GP_EFORMAT, "%s: magic 0x%08x; expected %s", s->name, m, want);
    }
    if (got < hl)
        return gp_fail(why, GP_EFORMAT, "%s: truncated IDX header (%zu of %zu bytes)", s->name, got,
                       hl);
    unsigned long long t = 1;
    for (int i = 0; i < nd; i++) {
        dims[i] = be32(h + 4 + 4 * i);
        t *= dims[i]; /* at most (2^32)^3 / ... checked step by step below */
        if (t > GP_DATA_MAX_BYTES)
            return gp_fail(why, GP_EFORMAT, "%s: the header declares more than %zu bytes of data",
                           s->name, GP_DATA_MAX_BYTES);
    }
    if (dims[0] == 0)
        return gp_fail(why, GP_EFORMAT, "%s: the header declares no samples", s->name);
    if (nd == 3 && (dims[1] == 0 || dims[2] == 0))
        return gp_fail(why, GP_EFORMAT, "%s: the header declares empty images (%u x %u)", s->name,
                       dims[1], dims[2]);
    *total = (size_t)t;
    /* deflate expands at most 1032:1: a larger declared size cannot be there */
    if (s->gz && *total / 1032 > s->len)
        return gp_fail(why, GP_EFORMAT,
                       "%s: the header declares %zu bytes of data; %zu bytes of gzip cannot hold "
                       "that many",
                       s->name, *total, s->len);
    if (!s->gz && s->len - hl != *total)
        return gp_fail(why, GP_EFORMAT,
                       "%s: the header declares %zu bytes of data, the file holds %zu%s", s->name,
                       *total, s->len - hl, s->len - hl < *total ? " (truncated)" : "");
    return GP_OK;
}

static gp_err parse_idx(const void *images, size_t ilen, const char *iname, const void *labels,
                        size_t llen, const char *lname, size_t limit, gp_dataset *ds, gp_msg *why)
{
    memset(ds, 0, sizeof *ds);
    src si, sl;
    uint32_t idim[3] = {0}, ldim[1] = {0};
    size_t itotal = 0, ltotal = 0;
    gp_err e = src_open(&si, images, ilen, iname, why);
    if (e != GP_OK) return e;
    e = src_open(&sl, labels, llen, lname, why);
    if (e != GP_OK) {
        src_close(&si);
        return e;
    }
    if ((e = idx_header(&si, IDX_IMAGES, idim, 3, &itotal, why)) != GP_OK ||
        (e = idx_header(&sl, IDX_LABELS, ldim, 1, &ltotal, why)) != GP_OK)
        goto out;
    if (idim[0] != ldim[0]) {
        e = gp_fail(why, GP_EFORMAT, "%s holds %u images but %s holds %u labels", iname, idim[0],
                    lname, ldim[0]);
        goto out;
    }
    size_t count = idim[0], features = (size_t)idim[1] * idim[2];
    size_t keep = limit && limit < count ? limit : count;
    ds->count = keep;
    ds->features = features;
    if ((e = src_need_alloc(&si, keep * features, "images", itotal, &ds->u8, why)) != GP_OK ||
        (e = src_skip(&si, itotal - keep * features, itotal, why)) != GP_OK ||
        (e = src_need_alloc(&sl, keep, "labels", ltotal, &ds->labels, why)) != GP_OK ||
        (e = src_skip(&sl, ltotal - keep, ltotal, why)) != GP_OK)
        goto out;
    int mx = 0;
    for (size_t i = 0; i < keep; i++)
        if (ds->labels[i] > mx) mx = ds->labels[i];
    ds->classes = mx + 1;
out:
    src_close(&si);
    src_close(&sl);
    if (e != GP_OK) gp_data_free(ds);
    return e;
}

gp_err gp_data_parse_idx(const void *images, size_t ilen, const void *labels, size_t llen,
                         const char *name, size_t limit, gp_dataset *ds, gp_msg *why)
{
    char in[256], ln[256];
    snprintf(in, sizeof in, "%s (images)", name ? name : "data");
    snprintf(ln, sizeof ln, "%s (labels)", name ? name : "data");
    return parse_idx(images, ilen, in, labels, llen, ln, limit, ds, why);
}

/* ---- CSV ---------------------------------------------------------------------------- */

/* One field [p, end) as a number; false if it is not one. */
static bool field_num(const char *p, const char *end, double *x)
{
    char tmp[64];
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    size_t n = (size_t)(end - p);
    if (n == 0 || n >= sizeof tmp) return false;
    memcpy(tmp, p, n);
    tmp[n] = 0;
    char *e;
    errno = 0;
    *x = strtod(tmp, &e);
    return *e == 0 && isfinite(*x) && errno != ERANGE;
}

static size_t line_end(const char *t, size_t len, size_t pos)
{
    const char *nl = memchr(t + pos, '\n', len - pos);
    return nl ? (size_t)(nl - t) : len;
}

/* The content of a line without its CR. */
static size_t trim_cr(const char *t, size_t a, size_t b)
{
    return b > a && t[b - 1] == '\r' ? b - 1 : b;
}

gp_err gp_data_parse_csv(const void *text, size_t len, const char *name, size_t limit,
                         gp_dataset *ds, gp_msg *why)
{
    memset(ds, 0, sizeof *ds);
    const char *t = text;
    if (!name) name = "data";
    if (len > GP_DATA_MAX_BYTES)
        return gp_fail(why, GP_EFORMAT, "%s: larger than %zu bytes", name, GP_DATA_MAX_BYTES);
    if (memchr(t, 0, len)) return gp_fail(why, GP_EFORMAT, "%s: binary data, not CSV", name);
    /* pass 1: the header, the columns, the count */
    size_t cols = 0, count = 0, lineno = 0, pos = 0;
    bool header = false;
    while (pos < len) {
        size_t e = line_end(t, len, pos), b = trim_cr(t, pos, e);
        lineno++;
        if (b > pos) {
            size_t c = 1;
            for (size_t i = pos; i < b; i++) c += t[i] == ',';
            const char *comma = memchr(t + pos, ',', b - pos);
            double x;
            if (count == 0 && !header && !field_num(t + pos, comma ? comma : t + b, &x)) {
                header = true; /* a header line names the columns */
                cols = c;
            } else {
                if (cols && c != cols)
                    return gp_fail(why, GP_EFORMAT,
                                   "%s:%zu: %zu columns; the lines before have %zu", name, lineno,
                                   c, cols);
                cols = c;
                count++;
            }
        }
        pos = e + 1;
    }
    if (count == 0) return gp_fail(why, GP_EFORMAT, "%s: no samples", name);
    if (cols < 2)
        return gp_fail(why, GP_EFORMAT, "%s: one column; a line is a label, then the features",
                       name);
    size_t keep = limit && limit < count ? limit : count, features = cols - 1;
    ds->count = keep;
    ds->features = features;
    ds->f32 = malloc(keep * features * sizeof(float));
    ds->labels = malloc(keep);
    if (!ds->f32 || !ds->labels) {
        gp_data_free(ds);
        return gp_fail(why, GP_ENOMEM, "%s: no memory for %zu samples", name, keep);
    }
    /* pass 2: the values of the kept lines */
    pos = 0;
    lineno = 0;
    size_t s = 0;
    int mx = 0;
    bool skip_header = header;
    while (pos < len && s < keep) {
        size_t e = line_end(t, len, pos), b = trim_cr(t, pos, e);
        lineno++;
        if (b > pos && skip_header) {
            skip_header = false;
            b = pos; /* the header: nothing to read */
        }
        if (b > pos) {
            size_t f = pos;
            for (size_t c = 0; c < cols; c++) {
                const char *comma = memchr(t + f, ',', b - f);
                size_t fe = comma ? (size_t)(comma - t) : b;
                double x;
                if (!field_num(t + f, t + fe, &x)) {
                    gp_data_free(ds);
                    return gp_fail(why, GP_EFORMAT, "%s:%zu: column %zu: '%.*s' is not a number",
                                   name, lineno, c + 1, (int)(fe - f < 40 ? fe - f : 40), t + f);
                }
                if (c == 0) {
                    if (x != floor(x) || x < 0 || x > 255) {
                        gp_data_free(ds);
                        return gp_fail(why, GP_EFORMAT,
                                       "%s:%zu: the label %.*s must be an integer in 0 .. 255",
                                       name, lineno, (int)(fe - f < 40 ? fe - f : 40), t + f);
                    }
                    ds->labels[s] = (uint8_t)x;
                    if ((int)x > mx) mx = (int)x;
                } else {
                    if (fabs(x) > FLT_MAX) {
                        gp_data_free(ds);
                        return gp_fail(why, GP_EFORMAT,
                                       "%s:%zu: column %zu: %g is beyond the range of float", name,
                                       lineno, c + 1, x);
                    }
                    ds->f32[s * features + c - 1] = (float)x;
                }
                f = fe + 1;
            }
            s++;
        }
        pos = e + 1;
    }
    ds->classes = mx + 1;
    return GP_OK;
}

/* ---- files -------------------------------------------------------------------------- */

static gp_err read_file(const char *path, unsigned char **buf, size_t *len, gp_msg *why)
{
    return gp_read_file(path, GP_DATA_MAX_BYTES, "a data file", (char **)buf, len, why);
}

gp_err gp_data_load(const gp_data_files *fs, size_t limit, gp_dataset *ds, gp_msg *why)
{
    memset(ds, 0, sizeof *ds);
    unsigned char *a = NULL, *b = NULL;
    size_t al, bl;
    gp_err e;
    if (fs->csv[0]) {
        if ((e = read_file(fs->csv, &a, &al, why)) != GP_OK) return e;
        if (is_gzip(a, al)) {
            free(a);
            return gp_fail(why, GP_ENOTSUP, "%s: gzipped CSV is not supported; gunzip it first",
                           fs->csv);
        }
        e = gp_data_parse_csv(a, al, fs->csv, limit, ds, why);
        free(a);
        return e;
    }
    if (!fs->images[0] || !fs->labels[0])
        return gp_fail(why, GP_EINVAL, "a data set needs images and labels, or a CSV file");
    if ((e = read_file(fs->images, &a, &al, why)) != GP_OK) return e;
    if ((e = read_file(fs->labels, &b, &bl, why)) != GP_OK) {
        free(a);
        return e;
    }
    e = parse_idx(a, al, fs->images, b, bl, fs->labels, limit, ds, why);
    free(a);
    free(b);
    return e;
}

/* ---- normalisation ------------------------------------------------------------------ */

gp_norm_stats gp_data_stats(const gp_dataset *d, gp_norm how)
{
    gp_norm_stats st = {0.0, 1.0};
    if (how == GP_NORM_NONE || !d || d->count == 0 || d->features == 0) return st;
    if (how == GP_NORM_SCALE) {
        st.scale = 1.0 / 255.0;
        return st;
    }
    size_t n = d->count * d->features;
    double mean, var = 0;
    if (d->u8) { /* a histogram: exact counts, then sums in a fixed order */
        uint64_t h[256] = {0};
        for (size_t i = 0; i < n; i++) h[d->u8[i]]++;
        double sum = 0;
        for (int v = 0; v < 256; v++) sum += (double)h[v] * v;
        mean = sum / (double)n;
        for (int v = 0; v < 256; v++) var += (double)h[v] * (v - mean) * (v - mean);
    } else { /* two passes, sums in blocks of 4096 (pairwise-ish, in a fixed order) */
        double sum = 0;
        for (size_t i = 0; i < n; i += 4096) {
            double part = 0;
            for (size_t k = i; k < n && k < i + 4096; k++) part += d->f32[k];
            sum += part;
        }
        mean = sum / (double)n;
        for (size_t i = 0; i < n; i += 4096) {
            double part = 0;
            for (size_t k = i; k < n && k < i + 4096; k++)
                part += ((double)d->f32[k] - mean) * ((double)d->f32[k] - mean);
            var += part;
        }
    }
    var /= (double)n;
    st.mean = mean;
    st.scale = var > 0 ? 1.0 / sqrt(var) : 1.0;
    return st;
}
