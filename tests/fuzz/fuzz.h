/* fuzz.h - what the libFuzzer targets share: a check that aborts (so that
 * libFuzzer keeps the input as a crash), verbose reasons on request, and
 * temporary files under /tmp for the loaders that read paths. */
#ifndef GP_FUZZ_H
#define GP_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep; its failure is a finding like a crash. */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* GP_FUZZ_VERBOSE=1 prints each input's outcome (to see what seeds reach). */
static inline int fuzz_verbose(void)
{
    static int v = -1;
    if (v < 0) v = getenv("GP_FUZZ_VERBOSE") && *getenv("GP_FUZZ_VERBOSE") == '1';
    return v;
}

/* Writes n bytes to a new file /tmp/gpdot-fuzz-XXXXXX (path: 32 bytes at
 * least); the caller unlinks it. 0 on success. */
static inline int fuzz_tmpfile(const void *data, size_t n, char *path)
{
    strcpy(path, "/tmp/gpdot-fuzz-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    const char *p = data;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return close(fd);
}

#endif
