/* state_test.c - gpdotd's durable state files (daemon/state.c): a payload
 * written and read back; every truncation, every extension and every single
 * flipped bit of a small file refused; the directory; a missing file. */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../testlib.h"
#include "../../daemon/state.h"

static char dir[64];

static void setup_dir(void)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/gpdot-state-test-XXXXXX");
        if (!mkdtemp(dir)) dir[0] = 0;
    }
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)len);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

static void round_trip(void)
{
    setup_dir();
    REQUIRE(dir[0]);
    char sub[128], path[256];
    gp_msg why = {{0}};
    REQUIRE(st_dir(dir, 3, sub, sizeof sub, &why) == GP_OK);
    CHECK(strstr(sub, "/node3") != NULL);
    struct stat sb;
    CHECK(stat(sub, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 0777) == 0700);
    snprintf(path, sizeof path, "%s/ckpt-0.bin", sub);
    st_buf b = {0};
    st_put_u64(&b, 42);
    double data[1000];
    for (int i = 0; i < 1000; i++) data[i] = i * 0.25 - 3;
    st_put(&b, data, sizeof data);
    REQUIRE(st_write(path, ST_CKPT, &b, &why) == GP_OK);
    free(b.p);
    st_buf r;
    REQUIRE(st_read(path, ST_CKPT, &r, &why) == GP_OK);
    CHECK(st_get_u64(&r) == 42);
    double back[1000];
    st_get(&r, back, sizeof back);
    CHECK(!r.bad && r.at == r.len && memcmp(back, data, sizeof data) == 0);
    st_get_u64(&r); /* past the end */
    CHECK(r.bad);
    free(r.p);
    CHECK(st_read(path, ST_JOB, &r, &why) == GP_EFORMAT); /* another kind */
    snprintf(path, sizeof path, "%s/none.bin", sub);
    CHECK(st_read(path, ST_CKPT, &r, &why) == GP_ENOTFOUND);
    snprintf(path, sizeof path, "%s/ckpt-0.bin.tmp", sub);
    CHECK(access(path, F_OK) != 0); /* renamed away */
}

/* Every truncation, a longer file, and every flipped bit: refused. */
static void damage(void)
{
    setup_dir();
    REQUIRE(dir[0]);
    char path[256], copy[256];
    snprintf(path, sizeof path, "%s/small.bin", dir);
    snprintf(copy, sizeof copy, "%s/damaged.bin", dir);
    st_buf b = {0};
    const char text[] = "a small payload: 40 bytes of job text..";
    st_put(&b, text, sizeof text);
    gp_msg why = {{0}};
    REQUIRE(st_write(path, ST_JOB, &b, &why) == GP_OK);
    free(b.p);
    size_t n;
    uint8_t *good = read_file(path, &n);
    REQUIRE(good && n == 24 + sizeof text + 8);
    st_buf r;
    int refused = 0, tried = 0;
    for (size_t len = 0; len < n; len++, tried++) {
        write_file(copy, good, len);
        gp_err e = st_read(copy, ST_JOB, &r, &why);
        refused += e == GP_EFORMAT;
        CHECKF(e == GP_EFORMAT && strstr(why.text, "truncated"), "length %zu: %s", len, why.text);
    }
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, good, n);
    longer[n] = 0;
    write_file(copy, longer, n + 1);
    CHECK(st_read(copy, ST_JOB, &r, &why) == GP_EFORMAT);
    free(longer);
    for (size_t bit = 0; bit < 8 * n; bit++, tried++) {
        good[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        write_file(copy, good, n);
        good[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        gp_err e = st_read(copy, ST_JOB, &r, &why);
        refused += e == GP_EFORMAT;
        CHECKF(e == GP_EFORMAT, "bit %zu flipped: accepted", bit);
        if (e == GP_OK) free(r.p);
    }
    printf("  %d of %d damaged files refused\n", refused, tried);
    free(good);
    unlink(copy);
    unlink(path);
}

static void cleanup(void)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/node3/ckpt-0.bin", dir);
    unlink(sub);
    snprintf(sub, sizeof sub, "%s/node3", dir);
    rmdir(sub);
    CHECK(rmdir(dir) == 0);
}

static const test_case cases[] = {
    {"round_trip", round_trip},
    {"damage", damage},
    {"cleanup", cleanup},
};

TEST_MAIN(cases)
