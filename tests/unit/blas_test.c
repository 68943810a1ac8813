/* blas_test.c - the BLAS kernel gpdot runs: the decision (which OpenBLAS
 * cores are narrower than the CPU), the reference product check, and
 * gp_blas_settle end to end: this program runs itself ("show") under each
 * override and reads back its PID and the kernel it settled on. */
#define _GNU_SOURCE
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../testlib.h"
#include "gp_blas.h"
#include "gp_rng.h"
#include <float.h>
#include <math.h>

static char self_path[4096];

static void decision(void)
{
    /* a pre-AVX core on CPUs of each level */
    CHECK(gp_blas_better_core("Prescott", 0) == NULL);
    CHECK(strcmp(gp_blas_better_core("Prescott", 1), "Sandybridge") == 0);
    CHECK(strcmp(gp_blas_better_core("Prescott", 2), "Haswell") == 0);
    CHECK(strcmp(gp_blas_better_core("Prescott", 3), "SkylakeX") == 0);
    CHECK(strcmp(gp_blas_better_core("NEHALEM", 3), "SkylakeX") == 0); /* as OpenBLAS: any case */
    CHECK(strcmp(gp_blas_better_core("Sandybridge", 2), "Haswell") == 0);
    CHECK(strcmp(gp_blas_better_core("Haswell", 3), "SkylakeX") == 0);
    CHECK(strcmp(gp_blas_better_core("Zen", 3), "SkylakeX") == 0);
    /* as wide as the CPU, or wider: kept */
    CHECK(gp_blas_better_core("Haswell", 2) == NULL);
    CHECK(gp_blas_better_core("SkylakeX", 3) == NULL);
    CHECK(gp_blas_better_core("Cooperlake", 3) == NULL);
    CHECK(gp_blas_better_core("SapphireRapids", 2) == NULL);
    /* cores gpdot leaves alone, and CPUs it does not judge (not x86) */
    CHECK(gp_blas_better_core("Bulldozer", 3) == NULL);
    CHECK(gp_blas_better_core("Excavator", 2) == NULL);
    CHECK(gp_blas_better_core("ARMV8", 3) == NULL);
    CHECK(gp_blas_better_core("Prescott", -1) == NULL);
    CHECK(gp_blas_core_level("Prescott") == 0 && gp_blas_core_level("SkylakeX") == 3);
#if defined(__x86_64__)
    CHECK(gp_blas_cpu_level() >= 0); /* every x86-64 CPU has SSE2 */
#endif
}

static void reference_check(void)
{
    gp_msg why = {{0}};
    CHECKF(gp_blas_check(&why) == GP_OK, "%s", why.text);
    /* the bound is tight enough to matter: an element wrong by 1e-12 of its
     * size would be 100 times over it (k u = 83 x 1.1e-16 = 9.2e-15) */
    double r = gp_blas_check_ratio();
    printf("  %s: largest error %.3g of the bound gamma_k |A| |B|\n", openblas_get_corename(), r);
    CHECK(r >= 0 && r <= 1);
}

/* The out-of-place rank-k update against a naive loop in long double, for
 * the ranks that take the banded path (1, 3, 8) and one that does not (24),
 * on shapes whose bands do not divide the rows: every element within the
 * bound of a dot product of length k + 1 in double with one more rounding for
 * the scaling by a, gamma_{k+2} (|S| + |a| |X| |Y|^T) (Higham, Thm 3.5; the
 * long double reference is 2^11 times tighter);
 * SRC left as it was; and an element off by four times the bound caught. */
static void rank_update_into(void)
{
    const size_t shapes[][3] = {
        {1, 1, 1}, {37, 513, 1}, {301, 257, 3}, {1000, 64, 8}, {65, 300, 24}};
    gp_rng g;
    gp_rng_seed(&g, 3);
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        size_t m = shapes[t][0], n = shapes[t][1], k = shapes[t][2];
        gp_rmat x, y, src, dst, keep;
        CHECK(gp_rmat_alloc(&x, m, k) == GP_OK && gp_rmat_alloc(&y, n, k) == GP_OK &&
              gp_rmat_alloc(&src, m, n) == GP_OK && gp_rmat_alloc(&dst, m, n) == GP_OK &&
              gp_rmat_alloc(&keep, m, n) == GP_OK);
        for (size_t i = 0; i < m * k; i++) x.data[i] = gp_rng_normal(&g);
        for (size_t i = 0; i < n * k; i++) y.data[i] = gp_rng_normal(&g);
        for (size_t i = 0; i < m * n; i++) src.data[i] = gp_rng_normal(&g);
        gp_rmat_copy(keep, src);
        double alpha = -0.37;
        gp_rank_update_into(alpha, x, y, src, dst);
        CHECK(memcmp(keep.data, src.data, m * n * sizeof(double)) == 0);
        double gamma = (double)(k + 2) * DBL_EPSILON / 2 / (1 - (double)(k + 2) * DBL_EPSILON / 2);
        double worst = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                long double e = src.data[i * n + j], a = fabs(src.data[i * n + j]);
                for (size_t q = 0; q < k; q++) {
                    long double p = (long double)alpha * x.data[i * k + q] * y.data[j * k + q];
                    e += p;
                    a += fabsl(p);
                }
                double r = (double)(fabsl(dst.data[i * n + j] - e) / (gamma * a));
                if (r > worst) worst = r;
            }
        CHECKF(worst <= 1, "%zux%zu rank %zu: largest error %.3g of the bound", m, n, k, worst);
        /* the same bound fails an element off by four times it */
        size_t w = (m / 2) * n + n / 2;
        double e = src.data[w], a = fabs(e);
        for (size_t q = 0; q < k; q++) {
            double p = alpha * x.data[(m / 2) * k + q] * y.data[(n / 2) * k + q];
            e += p;
            a += fabs(p);
        }
        dst.data[w] += 4 * gamma * a;
        CHECK(fabs(dst.data[w] - e) > gamma * a);
        gp_rmat_free(&x);
        gp_rmat_free(&y);
        gp_rmat_free(&src);
        gp_rmat_free(&dst);
        gp_rmat_free(&keep);
    }
}

/* Runs this program as "show" with the environment changes `env` (NAME=VALUE
 * sets, NAME= unsets; NULL-terminated); returns its output line and exit
 * status; *pid is the child's PID as fork saw it. */
static int show(const char *const *env, char *out, size_t len, pid_t *pid)
{
    int fd[2];
    if (pipe(fd) != 0) return -1;
    pid_t p = fork();
    if (p == 0) {
        close(fd[0]);
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        unsetenv("OPENBLAS_CORETYPE");
        unsetenv("GP_BLAS_CORE");
        for (int i = 0; env[i]; i++) {
            char name[64];
            const char *eq = strchr(env[i], '=');
            snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
            if (eq[1])
                setenv(name, eq + 1, 1);
            else
                unsetenv(name);
        }
        execl(self_path, self_path, "show", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < len && (k = read(fd[0], out + n, len - 1 - n)) > 0) n += (size_t)k;
    out[n] = 0;
    close(fd[0]);
    int st = 0;
    waitpid(p, &st, 0);
    *pid = p;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* "PID KERNEL" of a child that settled */
static void settled(const char *const *env, int want_status, const char *want, pid_t *same)
{
    char out[512];
    pid_t pid = 0;
    int st = show(env, out, sizeof out, &pid);
    CHECKF(st == want_status, "%s: exit %d, output: %s", env[0] ? env[0] : "(none)", st, out);
    CHECKF(strstr(out, want) != NULL, "%s: '%s' not in: %s", env[0] ? env[0] : "(none)", want, out);
    if (same && want_status == 0) { /* run again in place: the same process */
        long got = strtol(out, NULL, 10);
        CHECKF(got == (long)pid, "the child ran as PID %ld, forked as %ld", got, (long)pid);
    }
}

static void settle(void)
{
    pid_t same;
    const char *none[] = {NULL};
    printf("  this machine: OpenBLAS %s, CPU level %d\n", openblas_get_corename(),
           gp_blas_cpu_level());
    settled(none, 0, "checked)", &same);
    /* an OpenBLAS that would not run the wider core gpdot asked for: the
     * program, started again, finds OpenBLAS's own pick (the mark it gets
     * names the core it had before) and says so */
    char out[512], mark[96], want[160];
    pid_t pid;
    const char *plain[] = {"GP_BLAS_CORE=openblas", NULL};
    REQUIRE(show(plain, out, sizeof out, &pid) == 0);
    char core[64] = "";
    long child = 0;
    sscanf(out, "%ld %63s", &child, core);
    snprintf(mark, sizeof mark, "GP_BLAS_REEXEC=+%s", core);
    const char *refused[] = {mark, NULL};
    snprintf(want, sizeof want, "%s (OpenBLAS's choice; it would not run a wider core; checked)",
             core);
    settled(refused, 0, want, &same);
    /* the user's OPENBLAS_CORETYPE is kept, even a narrow one */
    const char *user[] = {"OPENBLAS_CORETYPE=Prescott", NULL};
    settled(user, 0, "Prescott (OPENBLAS_CORETYPE=Prescott; checked)", &same);
    /* a named core: the program runs again with it */
    const char *named[] = {"GP_BLAS_CORE=Haswell", NULL};
    settled(named, 0, "Haswell (GP_BLAS_CORE=Haswell; checked); passes on OPENBLAS_CORETYPE=-",
            &same);
    const char *keep[] = {"GP_BLAS_CORE=openblas", "OPENBLAS_CORETYPE=", NULL};
    settled(keep, 0, "(OpenBLAS's choice, GP_BLAS_CORE=openblas; checked)", &same);
    const char *bad[] = {"GP_BLAS_CORE=Pentium9", NULL};
    settled(bad, 1, "GP_BLAS_CORE=Pentium9: not an OpenBLAS core gpdot knows", NULL);
    /* OpenBLAS on the narrow core, as Debian's on a CPU it does not know:
     * gpdot runs the program again on the widest core this CPU supports */
    const char *generic[] = {"OPENBLAS_CORETYPE=Prescott", "GP_BLAS_CORE=auto", NULL};
    const char *best = gp_blas_better_core("Prescott", gp_blas_cpu_level());
    if (best) {
        char best_want[128];
        snprintf(best_want, sizeof best_want,
                 "%s (chosen by gpdot: OpenBLAS picked Prescott on this CPU; checked); passes on "
                 "OPENBLAS_CORETYPE=-",
                 best);
        settled(generic, 0, best_want, &same);
        printf("  OpenBLAS on Prescott here is run again on %s\n", best);
    } else {
        settled(generic, 0, "Prescott (OpenBLAS's choice; checked)", &same);
    }
}

static const test_case cases[] = {
    {"decision", decision},
    {"reference_check", reference_check},
    {"rank_update_into", rank_update_into},
    {"settle", settle},
};

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "show") == 0) {
        gp_blas_settle_or_exit(argv, "blas_test");
        /* and what programs it starts would see of OPENBLAS_CORETYPE */
        const char *e = getenv("OPENBLAS_CORETYPE");
        printf("%ld %s; passes on OPENBLAS_CORETYPE=%s\n", (long)getpid(), gp_blas_kernel(),
               e ? e : "-");
        return 0;
    }
    ssize_t n = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (n <= 0) return 1;
    self_path[n] = 0;
    return test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);
}
