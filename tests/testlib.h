/* testlib.h - a small table-driven test harness.
 *
 * A test file defines `static const test_case cases[]` and calls
 * test_main(argc, argv, cases, n). With no arguments every case runs; with
 * names, only those. CHECK records a failure and goes on; REQUIRE ends the
 * case. The exit status is non-zero if anything failed.
 */
#ifndef GP_TESTLIB_H
#define GP_TESTLIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct test_case {
    const char *name;
    void (*fn)(void);
} test_case;

static int tl_failures, tl_case_failed;
static const char *tl_case;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: [%s] check failed: %s\n", __FILE__, __LINE__, tl_case, #cond); \
            tl_case_failed = 1;                                                                    \
        }                                                                                          \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: [%s] check failed: %s: ", __FILE__, __LINE__, tl_case, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            tl_case_failed = 1;                                                                    \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: [%s] requirement failed: %s\n", __FILE__, __LINE__, tl_case,   \
                    #cond);                                                                        \
            tl_case_failed = 1;                                                                    \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static inline double tl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int test_main(int argc, char **argv, const test_case *cases, int n)
{
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int selected = argc < 2;
        for (int a = 1; a < argc; a++)
            if (strcmp(argv[a], cases[i].name) == 0) selected = 1;
        if (!selected) continue;
        tl_case = cases[i].name;
        tl_case_failed = 0;
        double t0 = tl_now();
        cases[i].fn();
        ran++;
        printf("%-4s %-40s %.2fs\n", tl_case_failed ? "FAIL" : "ok", cases[i].name, tl_now() - t0);
        fflush(stdout);
        tl_failures += tl_case_failed;
    }
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 2;
    }
    printf("%d of %d cases failed\n", tl_failures, ran);
    return tl_failures ? 1 : 0;
}

#define TEST_MAIN(cases)                                                                           \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return test_main(argc, argv, cases, (int)(sizeof cases / sizeof cases[0]));                \
    }

#endif
