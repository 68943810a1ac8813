/* mat_test.c - matrices: the block combinations every encoding is made of,
 * against a naive element-by-element reference, on contiguous matrices and
 * on views into wider ones; zeroing; the staggered allocator. */
#include <stdint.h>

#include "../testlib.h"
#include "gp_mat.h"
#include "gp_rng.h"

/* dst[r][q] = sum over blocks (i, j) of coef[i*nbc+j] * src[i*R + r][j*C + q],
 * zero where the block runs past src, accumulated in the order of (i, j) as
 * the documented definition says (0 + first term + ...). */
static double ref_entry(gp_rmat src, size_t R, size_t C, int nbr, int nbc, const double *coef,
                        size_t r, size_t q)
{
    double s = 0;
    for (int i = 0; i < nbr; i++)
        for (int j = 0; j < nbc; j++) {
            size_t sr = (size_t)i * R + r, sc = (size_t)j * C + q;
            double a = coef[i * nbc + j];
            if (a == 0.0 || sr >= src.rows || sc >= src.cols) continue;
            s += a * src.data[sr * src.ld + sc];
        }
    return s;
}

static void combine_blocks(void)
{
    gp_rng rng;
    gp_rng_seed(&rng, 3);
    /* rows, cols of src; block grid; extra columns of padding around src and dst */
    const int cfg[][6] = {{1024, 1, 2, 1, 0, 0}, {1024, 64, 2, 1, 0, 0}, {1023, 5, 2, 1, 0, 0},
                          {9, 7, 3, 2, 0, 0},    {1024, 1, 2, 1, 3, 0},  {1024, 1, 2, 1, 0, 2},
                          {30, 64, 4, 1, 5, 7},  {17, 33, 2, 3, 1, 1},   {8, 8, 1, 1, 0, 0}};
    for (size_t t = 0; t < sizeof cfg / sizeof cfg[0]; t++) {
        size_t rows = (size_t)cfg[t][0], cols = (size_t)cfg[t][1];
        int nbr = cfg[t][2], nbc = cfg[t][3];
        size_t padS = (size_t)cfg[t][4], padD = (size_t)cfg[t][5];
        size_t R = (rows + nbr - 1) / nbr, C = (cols + nbc - 1) / nbc;
        gp_rmat sbuf, dbuf;
        CHECK(gp_rmat_alloc(&sbuf, rows, cols + padS) == GP_OK);
        CHECK(gp_rmat_alloc(&dbuf, R, C + padD) == GP_OK);
        for (size_t i = 0; i < rows * (cols + padS); i++) sbuf.data[i] = gp_rng_normal(&rng);
        for (size_t i = 0; i < R * (C + padD); i++) dbuf.data[i] = 7.0; /* stale values */
        gp_rmat src = gp_rmat_view(sbuf.data, rows, cols, cols + padS);
        gp_rmat dst = gp_rmat_view(dbuf.data, R, C, C + padD);
        double coef[16];
        for (int k = 0; k < nbr * nbc; k++) coef[k] = k == 1 ? 0.0 : gp_rng_normal(&rng);
        gp_rmat_combine_blocks(dst, src, nbr, nbc, coef);
        int bad = 0;
        for (size_t r = 0; r < R; r++) {
            for (size_t q = 0; q < C; q++)
                bad += dst.data[r * dst.ld + q] != ref_entry(src, R, C, nbr, nbc, coef, r, q);
            for (size_t q = C; q < C + padD; q++) bad += dst.data[r * dst.ld + q] != 7.0;
        }
        CHECKF(bad == 0, "src %zux%zu (ld %zu), %dx%d blocks, dst ld %zu: %d entries differ", rows,
               cols, src.ld, nbr, nbc, dst.ld, bad);
        gp_rmat_free(&sbuf);
        gp_rmat_free(&dbuf);
    }
}

static void zero_views(void)
{
    gp_rmat m;
    CHECK(gp_rmat_alloc(&m, 6, 10) == GP_OK);
    for (size_t i = 0; i < 60; i++) m.data[i] = 1.0;
    gp_rmat_zero(gp_rmat_sub(m, 1, 2, 3, 4)); /* a strided view: only its own entries */
    int bad = 0;
    for (size_t r = 0; r < 6; r++)
        for (size_t q = 0; q < 10; q++) {
            bool in = r >= 1 && r < 4 && q >= 2 && q < 6;
            bad += m.data[r * 10 + q] != (in ? 0.0 : 1.0);
        }
    CHECK(bad == 0);
    gp_rmat_zero(m);
    for (size_t i = 0; i < 60; i++) bad += m.data[i] != 0.0;
    CHECK(bad == 0);
    gp_rmat_free(&m);
}

/* Large buffers: zeroed, 64-byte aligned, and no two of 16 consecutive ones
 * at the same offset within a 4 KiB page. Small ones: zeroed and aligned. */
static void staggered_alloc(void)
{
    double *p[16];
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        p[i] = gp_alloc_doubles(32768);
        CHECK(p[i] != NULL);
        CHECK((uintptr_t)p[i] % 64 == 0);
        for (size_t l = 0; l < 32768; l++) bad += p[i][l] != 0.0;
        p[i][32767] = 1.0; /* the whole length is usable */
    }
    CHECK(bad == 0);
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < i; j++)
            CHECKF((uintptr_t)p[i] % 4096 != (uintptr_t)p[j] % 4096,
                   "buffers %d and %d at the same page offset %zu", i, j,
                   (size_t)((uintptr_t)p[i] % 4096));
    for (int i = 0; i < 16; i++) gp_free_doubles(p[i]);
    double *s = gp_alloc_doubles(3);
    CHECK(s && (uintptr_t)s % 64 == 0 && s[0] == 0.0 && s[2] == 0.0);
    gp_free_doubles(s);
    gp_free_doubles(NULL);
    CHECK(gp_alloc_doubles(SIZE_MAX / 4) == NULL);
}

/* gp_rmat_alloc_uninit: the same alignment, size checks and staggering,
 * without the zero fill; gp_rmat_alloc still zero-fills memory that held
 * data before. */
static void uninit_alloc(void)
{
    gp_rmat a, b, z;
    REQUIRE(gp_rmat_alloc_uninit(&a, 300, 301) == GP_OK);
    CHECK(a.rows == 300 && a.cols == 301 && a.ld == 301 && (uintptr_t)a.data % 64 == 0);
    for (size_t i = 0; i < 300 * 301; i++) a.data[i] = (double)i; /* the whole of it is usable */
    CHECK(a.data[300 * 301 - 1] == 300.0 * 301 - 1);
    REQUIRE(gp_rmat_alloc_uninit(&b, 0, 5) == GP_OK);
    CHECK(b.rows == 0 && b.cols == 5 && b.data != NULL);
    gp_rmat_free(&b);
    gp_rmat_free(&a);
    REQUIRE(gp_rmat_alloc(&z, 300, 301) == GP_OK);
    int bad = 0;
    for (size_t i = 0; i < 300 * 301; i++) bad += z.data[i] != 0.0;
    CHECK(bad == 0);
    gp_rmat_free(&z);
    gp_rmat o;
    CHECK(gp_rmat_alloc_uninit(&o, SIZE_MAX / 2, 4) == GP_ERANGE && o.data == NULL);
}

static const test_case cases[] = {
    {"combine_blocks", combine_blocks},
    {"uninit_alloc", uninit_alloc},
    {"zero_views", zero_views},
    {"staggered_alloc", staggered_alloc},
};

TEST_MAIN(cases)
