#include "gp_npy.h"
#include "gp_file.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HEADER 65536

/* Finds "'key':" in the header dict and returns the text after it. */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s':", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    return p;
}

static gp_err parse_header(const char *hdr, int *is_f32, size_t *rows, size_t *cols, gp_msg *why)
{
    const char *d = dict_value(hdr, "descr"), *f = dict_value(hdr, "fortran_order"),
               *s = dict_value(hdr, "shape");
    if (!d || !f || !s)
        return gp_fail(why, GP_EFORMAT, "npy header lacks descr, fortran_order or shape");
    if (strncmp(d, "'<f8'", 5) == 0)
        *is_f32 = 0;
    else if (strncmp(d, "'<f4'", 5) == 0)
        *is_f32 = 1;
    else
        return gp_fail(why, GP_EFORMAT,
                       "npy dtype %.8s not supported: use float64 or float32 (little-endian)", d);
    if (strncmp(f, "False", 5) != 0)
        return gp_fail(why, GP_EFORMAT, "npy array is in Fortran order: save it in C order");
    if (*s != '(') return gp_fail(why, GP_EFORMAT, "npy shape is not a tuple");
    s++;
    uint64_t dims[3];
    int nd = 0;
    for (;;) {
        while (*s == ' ') s++;
        if (*s == ')') break;
        if (*s < '0' || *s > '9') return gp_fail(why, GP_EFORMAT, "npy shape is malformed");
        if (nd == 3) return gp_fail(why, GP_EFORMAT, "npy array has more than 2 dimensions");
        uint64_t v = 0;
        while (*s >= '0' && *s <= '9') {
            if (v > GP_NPY_MAX_ELEMS) return gp_fail(why, GP_ERANGE, "npy dimension too large");
            v = v * 10 + (uint64_t)(*s++ - '0');
        }
        dims[nd++] = v;
        while (*s == ' ') s++;
        if (*s == ',') s++;
    }
    if (nd == 0 || nd > 2)
        return gp_fail(why, GP_EFORMAT, "npy array must be 1-D or 2-D, not %d-D", nd);
    *rows = (size_t)dims[0];
    *cols = nd == 2 ? (size_t)dims[1] : 1;
    if (*rows == 0 || *cols == 0) /* gpdot has no empty matrices: say so here, not later */
        return gp_fail(why, GP_EFORMAT, "npy array is empty (shape %zu x %zu)", *rows, *cols);
    if (*rows > GP_NPY_MAX_ELEMS || *cols > GP_NPY_MAX_ELEMS ||
        (uint64_t)*rows * (uint64_t)*cols > GP_NPY_MAX_ELEMS)
        return gp_fail(why, GP_ERANGE, "npy array of %zu x %zu elements is too large", *rows,
                       *cols);
    return GP_OK;
}

gp_err gp_npy_parse(const void *buf, size_t len, gp_rmat *out, gp_msg *why)
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return gp_fail(why, GP_EFORMAT, "not a .npy file (bad magic)");
    int major = b[6];
    size_t hlen, off;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        off = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) return gp_fail(why, GP_EFORMAT, "truncated .npy header");
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        off = 12;
    } else {
        return gp_fail(why, GP_EFORMAT, ".npy format version %d not supported", major);
    }
    if (hlen > MAX_HEADER || off + hlen > len)
        return gp_fail(why, GP_EFORMAT, "truncated or oversized .npy header");
    char hdr[MAX_HEADER + 1];
    memcpy(hdr, b + off, hlen);
    hdr[hlen] = 0;
    int f32 = 0;
    size_t rows = 0, cols = 0;
    gp_err e = parse_header(hdr, &f32, &rows, &cols, why);
    if (e != GP_OK) return e;
    size_t esz = f32 ? 4 : 8, n = rows * cols, data = off + hlen;
    if (len - data != n * esz)
        return gp_fail(why, GP_EFORMAT, ".npy data is %zu bytes, shape %zux%zu needs %zu",
                       len - data, rows, cols, n * esz);
    if ((e = gp_rmat_alloc(out, rows, cols)) != GP_OK)
        return gp_fail(why, e, "cannot allocate %zux%zu", rows, cols);
    const unsigned char *p = b + data;
    for (size_t i = 0; i < n; i++) {
        if (f32) {
            float v;
            memcpy(&v, p + 4 * i, 4);
            out->data[i] = v;
        } else {
            memcpy(out->data + i, p + 8 * i, 8);
        }
    }
    return GP_OK;
}

gp_err gp_npy_read(const char *path, gp_rmat *out, gp_msg *why)
{
    memset(out, 0, sizeof *out);
    char *buf;
    size_t len;
    gp_err e =
        gp_read_file(path, GP_NPY_MAX_ELEMS * 8 + MAX_HEADER + 16, "a .npy file", &buf, &len, why);
    if (e != GP_OK) return e;
    e = gp_npy_parse((const unsigned char *)buf, len, out, why);
    if (e != GP_OK && why) {
        char tmp[sizeof why->text];
        memcpy(tmp, why->text, sizeof tmp);
        snprintf(why->text, sizeof why->text, "%.100s: %.200s", path, tmp);
    }
    free(buf);
    return e;
}

gp_err gp_npy_write(const char *path, gp_rmat m, int one_d, gp_msg *why)
{
    char dict[128];
    if (one_d && m.cols == 1)
        snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu,), }",
                 m.rows);
    else
        snprintf(dict, sizeof dict,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (%zu, %zu), }", m.rows, m.cols);
    size_t dl = strlen(dict), total = 10 + dl + 1, pad = (64 - total % 64) % 64;
    size_t hlen = dl + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) return gp_fail(why, GP_EIO, "%s: %s", path, strerror(errno));
    unsigned char pre[10] = {0x93,
                             'N',
                             'U',
                             'M',
                             'P',
                             'Y',
                             1,
                             0,
                             (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, dl, f) == dl;
    for (size_t i = 0; i < pad && ok; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    for (size_t i = 0; i < m.rows && ok; i++)
        ok = fwrite(m.data + i * m.ld, sizeof(double), m.cols, f) == m.cols;
    if (fclose(f) != 0) ok = 0;
    return ok ? GP_OK : gp_fail(why, GP_EIO, "%s: write failed", path);
}
