/* fuzz_csv.c - the CSV data set reader (what `data.train: {csv: F}` and an
 * uploaded CSV go through).
 *
 * The input is [limit: 1 byte][the file]; limit 0 keeps every sample. What
 * gp_data_parse_csv accepts must hold finite float features and labels in
 * 0 .. classes-1. */
#include <math.h>

#include "fuzz.h"
#include "gp_data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t limit = data[0];
    gp_dataset d;
    gp_msg why = {{0}};
    gp_err e = gp_data_parse_csv(data + 1, size - 1, "fuzz.csv", limit, &d, &why);
    if (fuzz_verbose()) fprintf(stderr, "csv: %s %s\n", gp_errname(e), why.text);
    if (e != GP_OK) {
        FUZZ_CHECK(e == GP_EFORMAT || e == GP_ENOMEM, "error %s: %s", gp_errname(e), why.text);
        FUZZ_CHECK(!d.u8 && !d.labels && !d.f32, "an error leaves data behind");
        return 0;
    }
    FUZZ_CHECK(d.count >= 1 && d.features >= 1 && d.f32 && d.labels && !d.u8, "%zu samples of %zu",
               d.count, d.features);
    FUZZ_CHECK(!limit || d.count <= limit, "%zu samples, limit %zu", d.count, limit);
    int mx = 0;
    for (size_t i = 0; i < d.count; i++)
        if (d.labels[i] > mx) mx = d.labels[i];
    FUZZ_CHECK(d.classes == mx + 1, "classes %d, largest label %d", d.classes, mx);
    for (size_t i = 0; i < d.count * d.features; i++)
        FUZZ_CHECK(isfinite(d.f32[i]), "feature %zu is %g", i, (double)d.f32[i]);
    gp_norm_stats st = gp_data_stats(&d, GP_NORM_STANDARDIZE);
    FUZZ_CHECK(isfinite(st.mean) && st.scale > 0, "stats %g %g", st.mean, st.scale);
    gp_data_free(&d);
    return 0;
}
