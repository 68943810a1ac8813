/* data_test.c - data sets: IDX files plain and gzipped (fixtures written
 * here), CSV files, the normalisation statistics, and bad input of every
 * kind, including random corruptions, which must give errors, never crashes. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../testlib.h"
#include "gp_rng.h"
#include "gp_data.h"

#define N    7
#define ROWS 3
#define COLS 4

/* An IDX pair: images N x ROWS x COLS, labels; pixel (s, f) = 31 s + 7 f mod 256. */
static size_t idx_images(unsigned char *buf, uint32_t count, uint32_t rows, uint32_t cols,
                         uint32_t magic)
{
    uint32_t h[4] = {magic, count, rows, cols};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++) buf[4 * i + k] = (unsigned char)(h[i] >> (24 - 8 * k));
    size_t n = 16;
    for (uint32_t s = 0; s < N; s++)
        for (uint32_t f = 0; f < ROWS * COLS; f++)
            buf[n++] = (unsigned char)((31 * s + 7 * f) % 256);
    return n;
}

static size_t idx_labels(unsigned char *buf, uint32_t count)
{
    uint32_t h[2] = {0x801, count};
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) buf[4 * i + k] = (unsigned char)(h[i] >> (24 - 8 * k));
    static const unsigned char l[N] = {3, 0, 9, 1, 1, 4, 2};
    memcpy(buf + 8, l, N);
    return 8 + N;
}

/* gzip of in (a fresh malloc'd buffer). */
static unsigned char *gzip_bytes(const unsigned char *in, size_t len, size_t *out_len)
{
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, len) + 64;
    unsigned char *out = malloc(cap);
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int r = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (r != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void check_fixture(const gp_dataset *d, size_t count)
{
    CHECK(d->count == count && d->features == ROWS * COLS && d->classes == 10);
    CHECK(d->u8 && !d->f32 && d->labels);
    if (!d->u8 || !d->labels) return;
    int bad = 0;
    for (size_t s = 0; s < count; s++)
        for (size_t f = 0; f < ROWS * COLS; f++)
            bad += d->u8[s * ROWS * COLS + f] != (31 * s + 7 * f) % 256;
    CHECK(bad == 0);
    static const unsigned char want[N] = {3, 0, 9, 1, 1, 4, 2};
    CHECK(!memcmp(d->labels, want, count));
}

/* Expects an error of kind err whose text holds want. */
#define EXPECT_ERR(call, err, want)                                                                \
    do {                                                                                           \
        gp_msg why_ = {{0}};                                                                       \
        gp_dataset d_;                                                                             \
        gp_err e_ = call(&d_, &why_);                                                              \
        CHECKF(e_ == (err) && strstr(why_.text, want), "%s: got %s '%s', want '%s'", #call,        \
               gp_errname(e_), why_.text, want);                                                   \
        if (e_ == GP_OK) gp_data_free(&d_);                                                        \
    } while (0)

static unsigned char img[4096], lab[64];
static size_t ilen, llen;

static void idx_plain(void)
{
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    gp_dataset d;
    gp_msg why = {{0}};
    REQUIRE(gp_data_parse_idx(img, ilen, lab, llen, "mem", 0, &d, &why) == GP_OK);
    check_fixture(&d, N);
    gp_data_free(&d);
    CHECK(d.u8 == NULL && d.count == 0);
    REQUIRE(gp_data_parse_idx(img, ilen, lab, llen, "mem", 4, &d, &why) == GP_OK);
    check_fixture(&d, 4);
    gp_data_free(&d);
    REQUIRE(gp_data_parse_idx(img, ilen, lab, llen, "mem", 100, &d, &why) == GP_OK);
    CHECK(d.count == N);
    gp_data_free(&d);
}

#define P_IDX(di, wi) gp_data_parse_idx(img, ilen, lab, llen, "mem", 0, di, wi)

static void idx_plain_errors(void)
{
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    gp_dataset d;
    gp_msg why;
    /* truncated, one byte short and one byte long */
    CHECK(gp_data_parse_idx(img, ilen - 1, lab, llen, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "mem (images): the header declares 84 bytes of data, the file holds 83 "
                            "(truncated)"),
           "%s", why.text);
    CHECK(gp_data_parse_idx(img, ilen + 1, lab, llen, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECK(strstr(why.text, "holds 85") != NULL);
    CHECK(gp_data_parse_idx(img, ilen, lab, llen - 1, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECK(strstr(why.text, "mem (labels)") != NULL);
    /* the header itself cut short, and nothing at all */
    CHECK(gp_data_parse_idx(img, 10, lab, llen, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECK(strstr(why.text, "truncated IDX header") != NULL);
    CHECK(gp_data_parse_idx(img, 0, lab, llen, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECK(strstr(why.text, "too short") != NULL);
    /* swapped files: the magic names what was expected */
    CHECK(gp_data_parse_idx(lab, llen, img, ilen, "mem", 0, &d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "magic 0x00000801; expected IDX images") != NULL, "%s", why.text);
    /* other element types */
    ilen = idx_images(img, N, ROWS, COLS, 0x0d03); /* float32 images */
    EXPECT_ERR(P_IDX, GP_EFORMAT, "magic 0x00000d03");
    /* count disagreement */
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N - 1);
    llen--;
    EXPECT_ERR(P_IDX, GP_EFORMAT, "holds 7 images but mem (labels) holds 6 labels");
    /* no samples, empty images */
    llen = idx_labels(lab, N);
    ilen = idx_images(img, 0, ROWS, COLS, 0x803);
    EXPECT_ERR(P_IDX, GP_EFORMAT, "declares no samples");
    ilen = idx_images(img, N, 0, COLS, 0x803);
    EXPECT_ERR(P_IDX, GP_EFORMAT, "empty images");
    /* sizes whose product overflows, and beyond the cap */
    ilen = idx_images(img, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x803);
    EXPECT_ERR(P_IDX, GP_EFORMAT, "declares more than 2147483648 bytes");
    ilen = idx_images(img, 60000, 28, 28, 0x803);
    EXPECT_ERR(P_IDX, GP_EFORMAT, "declares 47040000 bytes of data, the file holds 84");
}

static unsigned char *gimg, *glab;
static size_t gilen, gllen;
#define P_GZ(di, wi) gp_data_parse_idx(gimg, gilen, glab, gllen, "gz", 0, di, wi)

static void idx_gzip(void)
{
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    gimg = gzip_bytes(img, ilen, &gilen);
    glab = gzip_bytes(lab, llen, &gllen);
    REQUIRE(gimg && glab);
    gp_dataset d;
    gp_msg why = {{0}};
    REQUIRE(P_GZ(&d, &why) == GP_OK);
    check_fixture(&d, N);
    gp_data_free(&d);
    /* one gzipped, one plain; a limit */
    REQUIRE(gp_data_parse_idx(gimg, gilen, lab, llen, "gz", 3, &d, &why) == GP_OK);
    check_fixture(&d, 3);
    gp_data_free(&d);
    /* two gzip members one after the other (what cat a.gz b.gz gives) */
    size_t al, bl;
    unsigned char *a = gzip_bytes(img, 20, &al), *b = gzip_bytes(img + 20, ilen - 20, &bl);
    unsigned char *cat = malloc(al + bl);
    memcpy(cat, a, al);
    memcpy(cat + al, b, bl);
    REQUIRE(gp_data_parse_idx(cat, al + bl, glab, gllen, "cat", 0, &d, &why) == GP_OK);
    check_fixture(&d, N);
    gp_data_free(&d);
    /* ... but not garbage after the stream */
    memcpy(cat + al, "junk", 4);
    CHECK(gp_data_parse_idx(cat, al + 4, glab, gllen, "cat", 0, &d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "4 bytes of garbage after the gzip data"), "%s", why.text);
    free(a);
    free(b);
    free(cat);
    /* truncated compressed bytes: every cut is an error */
    int cut_ok = 0;
    for (size_t cut = 1; cut < gilen; cut++) {
        gp_err e = gp_data_parse_idx(gimg, cut, glab, gllen, "gz", 0, &d, &why);
        if (e == GP_OK) gp_data_free(&d);
        cut_ok += e == GP_EFORMAT && strstr(why.text, "gz (images)") != NULL;
    }
    CHECK(cut_ok == (int)gilen - 1);
    free(gimg);
    free(glab);
}

static void idx_gzip_sizes(void)
{
    gp_dataset d;
    gp_msg why;
    llen = idx_labels(lab, N);
    glab = gzip_bytes(lab, llen, &gllen);
    /* a well-formed gzip whose IDX header declares more than it holds */
    ilen = idx_images(img, 60000, 28, 28, 0x803); /* header of 47 MB, 84 bytes of data */
    gimg = gzip_bytes(img, ilen, &gilen);
    REQUIRE(gimg && glab);
    CHECK(P_GZ(&d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "gz (images): the header declares 47040000 bytes of data; ") &&
               strstr(why.text, "cannot hold that many"),
           "%s", why.text);
    free(gimg);
    /* declares a little more than it holds (within what the gzip could hold) */
    ilen = idx_images(img, N + 1, ROWS, COLS, 0x803);
    gimg = gzip_bytes(img, ilen, &gilen);
    llen = idx_labels(lab, N + 1); /* the labels are short too: the images fail first */
    free(glab);
    glab = gzip_bytes(lab, llen, &gllen);
    CHECK(P_GZ(&d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "gz (images): truncated: the header declares 96 bytes of images, the "
                            "data ends after 100 bytes"),
           "%s", why.text);
    free(gimg);
    /* declares less than it holds */
    ilen = idx_images(img, N - 1, ROWS, COLS, 0x803); /* the seventh image still there */
    llen = idx_labels(lab, N - 1);
    free(glab);
    glab = gzip_bytes(lab, llen, &gllen);
    gimg = gzip_bytes(img, ilen, &gilen);
    CHECK(P_GZ(&d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, "gz (images): more data than the header declares (72 bytes)"), "%s",
           why.text);
    free(gimg);
    /* a bigger honest file, and a limit: the rest is inflated only to be counted */
    size_t big = 16 + (size_t)5000 * 784;
    unsigned char *bi = malloc(big), *bl = malloc(8 + 5000);
    uint32_t h[4] = {0x803, 5000, 28, 28};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 4; k++) bi[4 * i + k] = (unsigned char)(h[i] >> (24 - 8 * k));
    for (size_t i = 16; i < big; i++) bi[i] = (unsigned char)(i * 2654435761u >> 13);
    memcpy(bl, "\0\0\x08\x01\0\0\x13\x88", 8);
    for (size_t i = 0; i < 5000; i++) bl[8 + i] = (unsigned char)(i % 10);
    size_t gbl, gll;
    unsigned char *gb = gzip_bytes(bi, big, &gbl), *gl = gzip_bytes(bl, 8 + 5000, &gll);
    REQUIRE(gp_data_parse_idx(gb, gbl, gl, gll, "big", 100, &d, &why) == GP_OK);
    CHECK(d.count == 100 && d.features == 784 && d.classes == 10);
    CHECK(!memcmp(d.u8, bi + 16, 100 * 784) && d.labels[99] == 9);
    gp_data_free(&d);
    REQUIRE(gp_data_parse_idx(gb, gbl, gl, gll, "big", 0, &d, &why) == GP_OK);
    CHECK(d.count == 5000 && !memcmp(d.u8, bi + 16, big - 16));
    gp_data_free(&d);
    free(bi);
    free(bl);
    free(gb);
    free(gl);
    free(glab);
}

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0 && write(fd, p, n) == (ssize_t)n);
    if (fd >= 0) close(fd);
}

static void files(void)
{
    char dir[] = "/tmp/gpdot-data-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    gp_data_files f;
    memset(&f, 0, sizeof f);
    snprintf(f.images, sizeof f.images, "%s/img.gz", dir);
    snprintf(f.labels, sizeof f.labels, "%s/lab", dir);
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    gimg = gzip_bytes(img, ilen, &gilen);
    write_file(f.images, gimg, gilen);
    write_file(f.labels, lab, llen);
    gp_dataset d;
    gp_msg why = {{0}};
    REQUIRE(gp_data_load(&f, 0, &d, &why) == GP_OK);
    check_fixture(&d, N);
    gp_data_free(&d);
    /* errors name the file */
    write_file(f.labels, lab, llen - 2);
    CHECK(gp_data_load(&f, 0, &d, &why) == GP_EFORMAT);
    CHECKF(strstr(why.text, f.labels) && strstr(why.text, "truncated"), "%s", why.text);
    write_file(f.labels, lab, llen);
    write_file(f.images, gimg, gilen / 2);
    CHECK(gp_data_load(&f, 0, &d, &why) == GP_EFORMAT);
    CHECKF(!strncmp(why.text, f.images, strlen(f.images)), "%s", why.text);
    free(gimg);
    char missing[GP_JOB_MAX_PATH];
    snprintf(missing, sizeof missing, "%s/none", dir);
    memcpy(f.labels, missing, sizeof missing);
    CHECK(gp_data_load(&f, 0, &d, &why) == GP_EIO);
    CHECK(strstr(why.text, missing) != NULL);
    /* CSV from a file */
    gp_data_files c;
    memset(&c, 0, sizeof c);
    snprintf(c.csv, sizeof c.csv, "%s/d.csv", dir);
    write_file(c.csv, "1,0.5,2\n0,1,-3\n", 15);
    REQUIRE(gp_data_load(&c, 0, &d, &why) == GP_OK);
    CHECK(d.count == 2 && d.features == 2 && d.f32[2] == 1.0f && d.classes == 2);
    gp_data_free(&d);
    write_file(c.csv, "1,0.5,2\n0,1\n", 12);
    CHECK(gp_data_load(&c, 0, &d, &why) == GP_EFORMAT);
    CHECKF(!strncmp(why.text, c.csv, strlen(c.csv)) &&
               strstr(why.text, ":2: 2 columns; the lines before have 3"),
           "%s", why.text);
    unlink(c.csv);
    snprintf(missing, sizeof missing, "%s/img.gz", dir);
    unlink(missing);
    snprintf(missing, sizeof missing, "%s/lab", dir);
    unlink(missing);
    rmdir(dir);
}

static void csv(void)
{
    const char text[] = "label,a,b,c\r\n"
                        "2, 0.5 ,-1,3e2\r\n"
                        "\r\n"
                        "0,1,2,3\n"
                        "7,-0.25,0,1e-3"; /* no final newline */
    gp_dataset d;
    gp_msg why = {{0}};
    REQUIRE(gp_data_parse_csv(text, sizeof text - 1, "t.csv", 0, &d, &why) == GP_OK);
    CHECK(d.count == 3 && d.features == 3 && d.classes == 8 && d.f32 && !d.u8);
    CHECK(d.labels[0] == 2 && d.labels[1] == 0 && d.labels[2] == 7);
    CHECK(d.f32[0] == 0.5f && d.f32[1] == -1.0f && d.f32[2] == 300.0f);
    CHECK(d.f32[6] == -0.25f && d.f32[8] == 1e-3f);
    gp_data_free(&d);
    REQUIRE(gp_data_parse_csv(text, sizeof text - 1, "t.csv", 2, &d, &why) == GP_OK);
    CHECK(d.count == 2 && d.classes == 3);
    gp_data_free(&d);

    const struct {
        const char *text, *want;
    } bad[] = {
        {"1,2,3\n1,2\n", "t.csv:2: 2 columns; the lines before have 3"},
        {"a,b,c\n1,2,3\n\n1,2,3,4\n", "t.csv:4: 4 columns; the lines before have 3"},
        {"1,2,3\n1,x,3\n", "t.csv:2: column 2: 'x' is not a number"},
        {"1,2,3\n1,2,\n", "t.csv:2: column 3: '' is not a number"},
        {"1,2,3\n256,2,3\n", "t.csv:2: the label 256 must be an integer in 0 .. 255"},
        {"1.5,2,3\n", "t.csv:1: the label 1.5 must be an integer"},
        {"-1,2,3\n", "t.csv:1: the label -1 must be"},
        {"1,2,1e400\n", "t.csv:1: column 3: '1e400' is not a number"},
        {"1,2,nan\n", "t.csv:1: column 3: 'nan' is not a number"},
        {"1,2,1e39\n", "t.csv:1: column 3: 1e+39 is beyond the range of float"},
        {"", "t.csv: no samples"},
        {"label,x\n\n", "t.csv: no samples"},
        {"1\n2\n", "t.csv: one column"},
        {"1,2\0,3\n", "t.csv: binary data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t len = strlen(bad[i].text);
        if (i == sizeof bad / sizeof bad[0] - 1) len = 7;
        gp_err e = gp_data_parse_csv(bad[i].text, len, "t.csv", 0, &d, &why);
        CHECKF(e == GP_EFORMAT && strstr(why.text, bad[i].want), "case %zu: %s '%s'", i,
               gp_errname(e), why.text);
        if (e == GP_OK) gp_data_free(&d);
    }
}

static void stats(void)
{
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    gp_dataset d;
    gp_msg why;
    REQUIRE(gp_data_parse_idx(img, ilen, lab, llen, "mem", 0, &d, &why) == GP_OK);
    long double s = 0, s2 = 0;
    size_t n = d.count * d.features;
    for (size_t i = 0; i < n; i++) s += d.u8[i];
    long double mean = s / n;
    for (size_t i = 0; i < n; i++) s2 += (d.u8[i] - mean) * (d.u8[i] - mean);
    double sd = sqrt((double)(s2 / n));
    gp_norm_stats st = gp_data_stats(&d, GP_NORM_STANDARDIZE);
    CHECKF(fabs(st.mean - (double)mean) <= 1e-14 * (double)mean, "%.17g %.17Lg", st.mean, mean);
    CHECKF(fabs(st.scale * sd - 1) <= 1e-14, "%.17g", st.scale * sd);
    st = gp_data_stats(&d, GP_NORM_SCALE);
    CHECK(st.mean == 0 && st.scale == 1.0 / 255);
    st = gp_data_stats(&d, GP_NORM_NONE);
    CHECK(st.mean == 0 && st.scale == 1);
    gp_data_free(&d);
    /* floats; a constant feature set has scale 1 */
    const char text[] = "0,1,2\n1,3,4\n0,5,6\n";
    REQUIRE(gp_data_parse_csv(text, sizeof text - 1, "f", 0, &d, &why) == GP_OK);
    st = gp_data_stats(&d, GP_NORM_STANDARDIZE);
    CHECK(st.mean == 3.5 && fabs(st.scale - 1 / sqrt(35.0 / 12)) < 1e-15);
    gp_data_free(&d);
    REQUIRE(gp_data_parse_csv("0,2,2\n1,2,2\n", 12, "f", 0, &d, &why) == GP_OK);
    st = gp_data_stats(&d, GP_NORM_STANDARDIZE);
    CHECK(st.mean == 2 && st.scale == 1);
    gp_data_free(&d);
}

/* Random corruptions of every input kind: flipped bytes, cuts, insertions.
 * Each parse must return OK with a consistent data set or EFORMAT with a
 * reason; never crash, never read out of bounds (run under ASan to see). */
static void fuzz(void)
{
    ilen = idx_images(img, N, ROWS, COLS, 0x803);
    llen = idx_labels(lab, N);
    size_t gil, gll;
    unsigned char *gi = gzip_bytes(img, ilen, &gil), *gl = gzip_bytes(lab, llen, &gll);
    const char csvt[] = "label,a,b\n1,2,3\n4,5.5,-6\n7,8e1,9\n";
    struct {
        const unsigned char *p;
        size_t n;
    } src[] = {{img, ilen}, {gi, gil}, {(const unsigned char *)csvt, sizeof csvt - 1}};
    gp_rng r;
    gp_rng_seed(&r, 424242);
    int ok = 0, err = 0, other = 0;
    unsigned char buf[8192];
    for (int it = 0; it < 30000; it++) {
        int k = (int)gp_rng_below(&r, 3);
        size_t n = src[k].n;
        memcpy(buf, src[k].p, n);
        int edits = 1 + (int)gp_rng_below(&r, 4);
        for (int e = 0; e < edits; e++) {
            switch (gp_rng_below(&r, 4)) {
            case 0: /* flip a bit */
                buf[gp_rng_below(&r, n)] ^= (unsigned char)(1u << gp_rng_below(&r, 8));
                break;
            case 1: /* a random byte */
                buf[gp_rng_below(&r, n)] = (unsigned char)gp_rng_u64(&r);
                break;
            case 2: /* cut */
                n = (size_t)gp_rng_below(&r, n + 1);
                if (n == 0) n = 1;
                break;
            default: /* insert a byte */
                if (n + 1 < sizeof buf) {
                    size_t at = (size_t)gp_rng_below(&r, n + 1);
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (unsigned char)gp_rng_u64(&r);
                    n++;
                }
            }
        }
        gp_dataset d;
        gp_msg why = {{0}};
        gp_err e;
        if (k == 2)
            e = gp_data_parse_csv(buf, n, "fz.csv", 0, &d, &why);
        else if (gp_rng_below(&r, 2))
            e = gp_data_parse_idx(buf, n, k == 1 ? gl : lab, k == 1 ? gll : llen, "fz", 0, &d,
                                  &why);
        else
            e = gp_data_parse_idx(k == 1 ? gi : img, k == 1 ? gil : ilen, buf, n, "fz", 0, &d,
                                  &why);
        if (e == GP_OK) {
            bool good = d.count > 0 && d.features > 0 && d.labels && (d.u8 || d.f32) &&
                        d.classes >= 1 && d.classes <= 256;
            for (size_t i = 0; good && i < d.count; i++) good = d.labels[i] < d.classes;
            CHECK(good);
            ok++;
            gp_data_free(&d);
        } else if (e == GP_EFORMAT && why.text[0] && strstr(why.text, "fz")) {
            err++;
        } else {
            other++;
            if (other < 5) fprintf(stderr, "unexpected %s '%s'\n", gp_errname(e), why.text);
        }
    }
    printf("fuzz: %d parsed, %d refused, %d other\n", ok, err, other);
    CHECK(other == 0 && err > 1000 && ok > 100);
    free(gi);
    free(gl);
}

static const test_case cases[] = {
    {"idx_plain", idx_plain}, {"idx_plain_errors", idx_plain_errors},
    {"idx_gzip", idx_gzip},   {"idx_gzip_sizes", idx_gzip_sizes},
    {"files", files},         {"csv", csv},
    {"stats", stats},         {"fuzz", fuzz},
};

TEST_MAIN(cases)
