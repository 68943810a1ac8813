/* npy_test.c - .npy reading and writing, and refusal of malformed files. */
#include <stdint.h>

#include "../testlib.h"
#include <unistd.h>

#include "gp_npy.h"

static size_t make(unsigned char *buf, const char *dict, const void *data, size_t n)
{
    size_t dl = strlen(dict), hl = dl + 1, pad = (64 - (10 + hl) % 64) % 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((hl + pad) & 0xff);
    buf[9] = (unsigned char)((hl + pad) >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', pad);
    buf[10 + dl + pad] = '\n';
    memcpy(buf + 10 + hl + pad, data, n);
    return 10 + hl + pad + n;
}

static void good_files(void)
{
    unsigned char buf[4096];
    double d[6] = {1, 2, 3, 4, 5, 6};
    float f[6] = {1.5f, 2, 3, 4, 5, 6.25f};
    gp_rmat m;
    size_t n =
        make(buf, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", d, sizeof d);
    REQUIRE(gp_npy_parse(buf, n, &m, NULL) == GP_OK);
    CHECK(m.rows == 2 && m.cols == 3 && m.data[5] == 6);
    gp_rmat_free(&m);
    n = make(buf, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", f, sizeof f);
    REQUIRE(gp_npy_parse(buf, n, &m, NULL) == GP_OK);
    CHECK(m.rows == 6 && m.cols == 1 && m.data[0] == 1.5 && m.data[5] == 6.25);
    gp_rmat_free(&m);
    /* round trip through a file */
    gp_rmat w;
    gp_rmat_alloc(&w, 3, 4);
    for (int i = 0; i < 12; i++) w.data[i] = i * 0.25 - 1;
    char path[] = "/tmp/gp_npy_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    REQUIRE(gp_npy_write(path, w, 0, NULL) == GP_OK);
    REQUIRE(gp_npy_read(path, &m, NULL) == GP_OK);
    CHECK(m.rows == 3 && m.cols == 4 && memcmp(m.data, w.data, 12 * sizeof(double)) == 0);
    unlink(path);
    gp_rmat_free(&m);
    gp_rmat_free(&w);
}

static void bad_files(void)
{
    unsigned char buf[4096];
    double d[6] = {0};
    gp_rmat m;
    gp_msg why;
    struct {
        const char *dict;
        size_t bytes;
        gp_err want;
        const char *says;
    } t[] = {
        {"{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", 48, GP_EFORMAT, "dtype"},
        {"{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", 48, GP_EFORMAT, "dtype"},
        {"{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 48, GP_EFORMAT, "Fortran"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2, 3), }", 48, GP_EFORMAT, "3-D"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 40, GP_EFORMAT, "bytes"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 47, GP_EFORMAT, "bytes"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (100000000, 100000000), }", 0,
         GP_ERANGE, "too large"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999, 1), }", 0,
         GP_ERANGE, "too large"},
        {"{'descr': '<f8', 'shape': (2, 3), }", 48, GP_EFORMAT, "lacks"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", 48, GP_EFORMAT,
         "malformed"},
        /* found by tests/fuzz: empty arrays were read as 0 x N matrices */
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }", 0, GP_EFORMAT, "empty"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 0, GP_EFORMAT, "empty"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 0), }", 0, GP_EFORMAT, "empty"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        size_t n = make(buf, t[i].dict, d, t[i].bytes);
        gp_err e = gp_npy_parse(buf, n, &m, &why);
        CHECKF(e == t[i].want && strstr(why.text, t[i].says), "case %zu: %s %s", i, gp_errname(e),
               why.text);
        CHECK(m.data == NULL);
    }
    CHECK(gp_npy_parse("\x93NUMPX\x01\x00\x00\x00", 10, &m, &why) == GP_EFORMAT);
    CHECK(gp_npy_parse("\x93NUMPY\x01\x00\xff\xff", 10, &m, &why) ==
          GP_EFORMAT); /* header past end */
    CHECK(gp_npy_parse("\x93NUMPY", 6, &m, &why) == GP_EFORMAT);
    CHECK(gp_npy_read("/nonexistent/x.npy", &m, &why) == GP_EIO &&
          strstr(why.text, "/nonexistent/x.npy"));
}

static const test_case cases[] = {{"good_files", good_files}, {"bad_files", bad_files}};

TEST_MAIN(cases)
