/* file.c - reading a file whole, bounded (gp_file.h). */
#include "gp_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gp_err gp_read_file(const char *path, size_t max, const char *what, char **buf, size_t *len,
                    gp_msg *why)
{
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return gp_fail(why, GP_EIO, "%s: %s", path, strerror(errno));
    char *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) { /* grows as it reads, doubling from 4 KiB up to max + 1 */
        if (n == cap) {
            if (cap > max) {
                free(b);
                fclose(f);
                return gp_fail(why, GP_EINVAL, "%s: larger than %zu bytes; not %s", path, max,
                               what);
            }
            cap = cap ? 2 * cap : 4096;
            if (cap > max + 1) cap = max + 1;
            char *nb = realloc(b, cap + 1);
            if (!nb) {
                free(b);
                fclose(f);
                return gp_fail(why, GP_ENOMEM, "%s: no memory to read it", path);
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (bad || n > max) {
        free(b);
        return bad ? gp_fail(why, GP_EIO, "%s: read error", path)
                   : gp_fail(why, GP_EINVAL, "%s: larger than %zu bytes; not %s", path, max, what);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return GP_OK;
}
