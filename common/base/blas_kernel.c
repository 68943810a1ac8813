/* blas_kernel.c - which OpenBLAS kernel a gpdot program runs, settled at its
 * start: OpenBLAS's own pick, unless that is a core for narrower vectors than
 * the CPU runs (Debian's OpenBLAS 0.3.21 picks its SSE3 "Prescott" kernels on
 * x86 CPUs newer than it knows, at a fifth of the speed), then checked
 * against a reference product. */
#define _GNU_SOURCE
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gp_blas.h"
#include "gp_rng.h"

/* OpenBLAS's cores by the widest vectors their kernels use: 0 SSE (or
 * less), 1 AVX, 2 AVX2 with FMA, 3 AVX-512. AMD's Bulldozer family is left
 * out: its FMA4 kernels are what suits those CPUs. */
static const struct {
    const char *name;
    int level;
} cores[] = {
    {"Katmai", 0},       {"Coppermine", 0},     {"Northwood", 0}, {"Prescott", 0},
    {"Banias", 0},       {"Atom", 0},           {"Core2", 0},     {"Penryn", 0},
    {"Dunnington", 0},   {"Nehalem", 0},        {"Athlon", 0},    {"Opteron", 0},
    {"Opteron_SSE3", 0}, {"Barcelona", 0},      {"Nano", 0},      {"Bobcat", 0},
    {"Sandybridge", 1},  {"Haswell", 2},        {"Zen", 2},       {"SkylakeX", 3},
    {"Cooperlake", 3},   {"SapphireRapids", 3},
};
/* the core gpdot asks for at each level */
static const char *const best_at[] = {NULL, "Sandybridge", "Haswell", "SkylakeX"};

int gp_blas_core_level(const char *core)
{
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (core && strcasecmp(core, cores[i].name) == 0) return cores[i].level;
    return -1;
}

int gp_blas_cpu_level(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    /* __builtin_cpu_supports also checks that the OS saves the registers */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        return 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
    if (__builtin_cpu_supports("avx")) return 1;
    return 0;
#else
    return -1; /* not x86: OpenBLAS's pick stands */
#endif
}

const char *gp_blas_better_core(const char *picked, int cpu_level)
{
    int have = gp_blas_core_level(picked);
    if (have < 0 || cpu_level < 1 || cpu_level > 3 || have >= cpu_level) return NULL;
    return best_at[cpu_level];
}

/* what was settled, for gp_blas_kernel() */
static char kernel_text[200];

/* max |C - ref| / (gamma_k |A| |B|) over the elements of a small product of
 * each kind gpdot calls (gemm, gemm with A^T, gemv, the rank-k update),
 * against a long double loop; <= 1 is within the classical bound. */
double gp_blas_check_ratio(void)
{
    enum { M = 37, K = 83, N = 29 };
    static double a[M * K], at[K * M], b[K * N], c[M * N], x[M * 3], y[N * 3], v[K], w[M];
    gp_rng rng;
    gp_rng_seed(&rng, 12345);
    double *fill[] = {a, b, x, y};
    size_t len[] = {M * K, K * N, M * 3, N * 3};
    for (int f = 0; f < 4; f++)
        for (size_t i = 0; i < len[f]; i++) fill[f][i] = gp_rng_uniform(&rng) - 0.5;
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) at[k * M + i] = a[i * K + k];
    for (int i = 0; i < K; i++) v[i] = b[i * N];
    const double u = 0x1p-53;
    double worst = 0;
    /* C = A B, then C = (A^T)^T B with A^T stored, then w = A v, then
     * C += X Y^T: each against its reference */
    for (int kind = 0; kind < 4; kind++) {
        gp_rmat A = gp_rmat_view(a, M, K, K), AT = gp_rmat_view(at, K, M, M),
                B = gp_rmat_view(b, K, N, N), C = gp_rmat_view(c, M, N, N);
        int kk = K, cols = N;
        if (kind == 0) gp_gemm_rm(false, 1.0, A, B, 0.0, C);
        if (kind == 1) gp_gemm_rm(true, 1.0, AT, B, 0.0, C);
        if (kind == 2) {
            gp_gemm_rm(false, 1.0, A, gp_rmat_view(v, K, 1, 1), 0.0, gp_rmat_view(w, M, 1, 1));
            cols = 1;
        }
        if (kind == 3) {
            memset(c, 0, sizeof c);
            gp_rank_update_rm(1.0, gp_rmat_view(x, M, 3, 3), gp_rmat_view(y, N, 3, 3), C);
            kk = 3;
        }
        double gamma = kk * u / (1 - kk * u);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < cols; j++) {
                long double ref = 0, mag = 0;
                for (int k = 0; k < kk; k++) {
                    long double p = kind == 3   ? (long double)x[i * 3 + k] * y[j * 3 + k]
                                    : kind == 2 ? (long double)a[i * K + k] * v[k]
                                                : (long double)a[i * K + k] * b[k * N + j];
                    ref += p;
                    mag += fabsl(p);
                }
                double got = kind == 2 ? w[i] : c[i * N + j];
                /* the reference's own rounding to double: u |ref| more */
                double allow = gamma * (double)mag + u * fabs((double)ref) + 0x1p-1074;
                double r = fabs(got - (double)ref) / allow;
                if (!(r <= worst)) worst = r; /* a NaN stays */
            }
    }
    return worst;
}

gp_err gp_blas_check(gp_msg *why)
{
    double r = gp_blas_check_ratio();
    if (r <= 1.0) return GP_OK;
    return gp_fail(why, GP_ENUMERIC,
                   "the BLAS kernel %s fails the reference product check: an error %.3g times "
                   "the classical bound gamma_k |A| |B|",
                   openblas_get_corename(), r);
}

/* Runs this program again with OpenBLAS told its core (core NULL: its own
 * pick), marking the environment so that the new image knows; returns only
 * if that fails. */
static void again(char **argv, const char *core, const char *mark)
{
    if (core)
        setenv("OPENBLAS_CORETYPE", core, 1);
    else
        unsetenv("OPENBLAS_CORETYPE");
    setenv("GP_BLAS_REEXEC", mark, 1);
    execv("/proc/self/exe", argv);
    unsetenv("GP_BLAS_REEXEC");
}

gp_err gp_blas_settle(char **argv, gp_msg *why)
{
    const char *core = openblas_get_corename();
    char mark[96] = "";
    const char *m = getenv("GP_BLAS_REEXEC");
    if (m) { /* this image was started by gp_blas_settle below */
        snprintf(mark, sizeof mark, "%s", m);
        unsetenv("GP_BLAS_REEXEC");
        unsetenv("OPENBLAS_CORETYPE"); /* read at load: programs this one starts decide anew */
    }
    const char *user = getenv("OPENBLAS_CORETYPE"), *mode = getenv("GP_BLAS_CORE");
    /* GP_BLAS_CORE=auto said outright: gpdot decides even over OPENBLAS_CORETYPE */
    if (mode && strcmp(mode, "auto") == 0) user = NULL;
    if (!mode || !*mode) mode = "auto";
    if (mark[0] == '+') { /* "+PICKED": gpdot asked for a better core than OpenBLAS's PICKED */
        if (strcasecmp(core, mark + 1) == 0) { /* this OpenBLAS would not run the better one */
            snprintf(kernel_text, sizeof kernel_text,
                     "%s (OpenBLAS's choice; it would not run a wider core; checked)", core);
            return gp_blas_check(why);
        }
        gp_msg bad = {{0}};
        if (gp_blas_check(&bad) != GP_OK) {
            char back[96];
            snprintf(back, sizeof back, "!%s", core);
            again(argv, NULL, back); /* OpenBLAS's own pick after all */
            return gp_fail(why, GP_ENUMERIC, "%s, and this program could not run again without it",
                           bad.text);
        }
        snprintf(kernel_text, sizeof kernel_text,
                 "%s (chosen by gpdot: OpenBLAS picked %s on this CPU; checked)", core, mark + 1);
        return GP_OK;
    }
    if (mark[0] == '!') { /* the core gpdot chose failed the check */
        snprintf(kernel_text, sizeof kernel_text,
                 "%s (OpenBLAS's choice; %s failed the reference check; checked)", core, mark + 1);
    } else if (mark[0] == '=') { /* GP_BLAS_CORE named a core */
        snprintf(kernel_text, sizeof kernel_text, "%s (GP_BLAS_CORE=%s; checked)", core, mode);
    } else if (user && *user) {
        snprintf(kernel_text, sizeof kernel_text, "%s (OPENBLAS_CORETYPE=%s; checked)", core, user);
    } else if (strcmp(mode, "auto") == 0) {
        const char *better = gp_blas_better_core(core, gp_blas_cpu_level());
        if (better) {
            char next[96];
            snprintf(next, sizeof next, "+%s", core);
            again(argv, better, next);
        }
        snprintf(kernel_text, sizeof kernel_text, "%s (OpenBLAS's choice; checked)", core);
    } else if (strcmp(mode, "openblas") == 0) {
        snprintf(kernel_text, sizeof kernel_text,
                 "%s (OpenBLAS's choice, GP_BLAS_CORE=openblas; checked)", core);
    } else if (strcasecmp(mode, core) != 0 && gp_blas_core_level(mode) >= 0) {
        again(argv, mode, "=");
        return gp_fail(why, GP_EINVAL, "GP_BLAS_CORE=%s: cannot run this program again with it",
                       mode);
    } else if (gp_blas_core_level(mode) < 0) {
        return gp_fail(
            why, GP_EINVAL,
            "GP_BLAS_CORE=%s: not an OpenBLAS core gpdot knows (auto, openblas, or "
            "one of Prescott, Nehalem, Sandybridge, Haswell, Zen, SkylakeX, Cooperlake, ...)",
            mode);
    } else {
        snprintf(kernel_text, sizeof kernel_text, "%s (GP_BLAS_CORE=%s; checked)", core, mode);
    }
    if (mark[0] == '=' && strcasecmp(core, mode) != 0)
        return gp_fail(why, GP_EINVAL, "GP_BLAS_CORE=%s: OpenBLAS runs %s instead", mode, core);
    return gp_blas_check(why);
}

void gp_blas_settle_or_exit(char **argv, const char *prog)
{
    gp_msg why = {{0}};
    if (gp_blas_settle(argv, &why) == GP_OK) return;
    fprintf(stderr, "%s: %s\n", prog, why.text);
    exit(1);
}

const char *gp_blas_kernel(void)
{
    if (!kernel_text[0])
        snprintf(kernel_text, sizeof kernel_text, "%s (not checked)", openblas_get_corename());
    return kernel_text;
}
