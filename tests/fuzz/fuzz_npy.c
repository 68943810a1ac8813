/* fuzz_npy.c - the .npy reader over any file.
 *
 * gp_npy_parse (the from-memory half of gp_npy_read) must refuse what is not
 * a 1-D or 2-D little-endian float64/float32 C-order array with exactly its
 * data; what it accepts must read back the same through a file under /tmp
 * (gp_npy_read), and survive gp_npy_write and a second read bit for bit. */
#include "fuzz.h"
#include "gp_npy.h"

static void same(gp_rmat a, gp_rmat b, const char *what)
{
    FUZZ_CHECK(a.rows == b.rows && a.cols == b.cols, "%s: %zux%zu, then %zux%zu", what, a.rows,
               a.cols, b.rows, b.cols);
    for (size_t i = 0; i < a.rows; i++)
        FUZZ_CHECK(!memcmp(a.data + i * a.ld, b.data + i * b.ld, a.cols * sizeof(double)),
                   "%s: row %zu differs", what, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gp_rmat m, f, w;
    gp_msg why = {{0}};
    gp_err e = gp_npy_parse(data, size, &m, &why);
    if (fuzz_verbose()) fprintf(stderr, "npy: %s %s\n", gp_errname(e), why.text);
    if (e != GP_OK) {
        FUZZ_CHECK(e == GP_EFORMAT || e == GP_ERANGE || e == GP_ENOMEM, "error %s: %s",
                   gp_errname(e), why.text);
        FUZZ_CHECK(m.data == NULL, "an error leaves a matrix behind");
        return 0;
    }
    FUZZ_CHECK(m.rows >= 1 && m.cols >= 1 && m.ld >= m.cols && m.data, "%zux%zu (ld %zu)", m.rows,
               m.cols, m.ld);
    FUZZ_CHECK(m.rows * m.cols <= GP_NPY_MAX_ELEMS, "%zux%zu", m.rows, m.cols);
    char path[32];
    if (fuzz_tmpfile(data, size, path) == 0) {
        e = gp_npy_read(path, &f, &why);
        FUZZ_CHECK(e == GP_OK, "parsed from memory but not from a file: %s", why.text);
        same(m, f, "gp_npy_read");
        gp_rmat_free(&f);
        e = gp_npy_write(path, m, m.cols == 1, &why);
        FUZZ_CHECK(e == GP_OK, "write: %s", why.text);
        e = gp_npy_read(path, &w, &why);
        FUZZ_CHECK(e == GP_OK, "what gp_npy_write wrote does not read: %s", why.text);
        same(m, w, "write and read");
        gp_rmat_free(&w);
        unlink(path);
    }
    gp_rmat_free(&m);
    return 0;
}
