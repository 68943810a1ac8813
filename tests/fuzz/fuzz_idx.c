/* fuzz_idx.c - the IDX reader (images and labels, each plain or gzipped).
 *
 * The input is [limit: 1 byte][images' length: 4 bytes, little-endian]
 * [images][labels] (a length beyond the input takes all that is left);
 * limit 0 keeps every sample. What gp_data_parse_idx accepts must have the
 * shape gp_data.h states, and gp_data_load on the same two files written
 * under /tmp must give the same data set. */
#include "fuzz.h"
#include "gp_data.h"

static void check(const gp_dataset *d, size_t limit)
{
    FUZZ_CHECK(d->count >= 1 && d->features >= 1 && d->u8 && d->labels && !d->f32,
               "%zu samples of %zu", d->count, d->features);
    FUZZ_CHECK(!limit || d->count <= limit, "%zu samples, limit %zu", d->count, limit);
    int mx = 0;
    for (size_t i = 0; i < d->count; i++)
        if (d->labels[i] > mx) mx = d->labels[i];
    FUZZ_CHECK(d->classes == mx + 1, "classes %d, largest label %d", d->classes, mx);
    /* every byte is there (ASan checks the allocation's size) */
    unsigned sum = 0;
    for (size_t i = 0; i < d->count * d->features; i++) sum += d->u8[i];
    gp_norm_stats st = gp_data_stats(d, GP_NORM_STANDARDIZE);
    FUZZ_CHECK(st.scale > 0 && st.mean >= 0 && st.mean <= 255, "stats %g %g (%u)", st.mean,
               st.scale, sum);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    size_t limit = data[0];
    size_t ilen =
        (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 | (size_t)data[4] << 24;
    data += 5;
    size -= 5;
    if (ilen > size) ilen = size;
    /* separate allocations, so that ASan sees a read past either end */
    uint8_t *img = malloc(ilen ? ilen : 1), *lab = malloc(size - ilen ? size - ilen : 1);
    if (!img || !lab) {
        free(img);
        free(lab);
        return 0;
    }
    memcpy(img, data, ilen);
    memcpy(lab, data + ilen, size - ilen);
    gp_dataset d, d2;
    gp_msg why = {{0}};
    gp_err e = gp_data_parse_idx(img, ilen, lab, size - ilen, "fuzz", limit, &d, &why);
    if (fuzz_verbose()) fprintf(stderr, "idx: %s %s\n", gp_errname(e), why.text);
    if (e != GP_OK) {
        FUZZ_CHECK(e == GP_EFORMAT || e == GP_ENOMEM, "error %s: %s", gp_errname(e), why.text);
        FUZZ_CHECK(!d.u8 && !d.labels && !d.f32, "an error leaves data behind");
    } else {
        check(&d, limit);
        gp_data_files fs = {{0}};
        if (fuzz_tmpfile(img, ilen, fs.images) == 0) {
            if (fuzz_tmpfile(lab, size - ilen, fs.labels) == 0) {
                e = gp_data_load(&fs, limit, &d2, &why);
                FUZZ_CHECK(e == GP_OK, "parsed from memory but not from files: %s", why.text);
                FUZZ_CHECK(d2.count == d.count && d2.features == d.features &&
                               d2.classes == d.classes &&
                               !memcmp(d2.u8, d.u8, d.count * d.features) &&
                               !memcmp(d2.labels, d.labels, d.count),
                           "gp_data_load and gp_data_parse_idx differ");
                gp_data_free(&d2);
                unlink(fs.labels);
            }
            unlink(fs.images);
        }
        gp_data_free(&d);
    }
    free(img);
    free(lab);
    return 0;
}
