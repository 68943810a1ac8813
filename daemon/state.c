/* state.c - gpdotd's durable state files (see state.h). */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAGIC     "GPDOTST1"
#define ST_MAX_BYTES ((uint64_t)16 << 30) /* no state file is larger */

void st_put(st_buf *b, const void *data, size_t n)
{
    if (b->bad) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) {
            b->bad = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, data, n);
    b->len += n;
}

void st_put_u64(st_buf *b, uint64_t v)
{
    st_put(b, &v, sizeof v);
}

const uint8_t *st_view(st_buf *b, size_t n)
{
    if (b->bad || n > b->len - b->at) {
        b->bad = true;
        return NULL;
    }
    const uint8_t *p = b->p + b->at;
    b->at += n;
    return p;
}

void st_get(st_buf *b, void *data, size_t n)
{
    const uint8_t *p = st_view(b, n);
    if (p)
        memcpy(data, p, n);
    else
        memset(data, 0, n);
}

uint64_t st_get_u64(st_buf *b)
{
    uint64_t v;
    st_get(b, &v, sizeof v);
    return v;
}

uint64_t st_checksum(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 32);
}

gp_err st_dir(const char *state_dir, int node, char *out, size_t cap, gp_msg *why)
{
    if (snprintf(out, cap, "%s/node%d", state_dir, node) >= (int)cap)
        return gp_fail(why, GP_EINVAL, "state_dir %s: path too long", state_dir);
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        return gp_fail(why, GP_EIO, "cannot make %s: %s", out, strerror(errno));
    return GP_OK;
}

static bool write_all(int fd, const void *p, size_t n)
{
    const uint8_t *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

gp_err st_write(const char *path, int kind, const st_buf *payload, gp_msg *why)
{
    if (payload->bad) return gp_fail(why, GP_ENOMEM, "%s: no memory for the state", path);
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return gp_fail(why, GP_EINVAL, "%s: path too long", path);
    uint8_t head[24];
    memcpy(head, ST_MAGIC, 8);
    uint64_t k = (uint64_t)kind, len = payload->len;
    memcpy(head + 8, &k, 8);
    memcpy(head + 16, &len, 8);
    /* the checksum covers the header and the payload */
    uint64_t h = st_checksum(head, sizeof head) ^ (st_checksum(payload->p, payload->len) * 31);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return gp_fail(why, GP_EIO, "%s: %s", tmp, strerror(errno));
    bool ok = write_all(fd, head, sizeof head) && write_all(fd, payload->p, payload->len) &&
              write_all(fd, &h, sizeof h) && fsync(fd) == 0;
    int err = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return gp_fail(why, GP_EIO, "%s: cannot write: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        err = errno;
        unlink(tmp);
        return gp_fail(why, GP_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(err));
    }
    /* the rename itself is durable once the directory is */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return GP_OK;
}

gp_err st_read(const char *path, int kind, st_buf *out, gp_msg *why)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? GP_ENOTFOUND
                               : gp_fail(why, GP_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    gp_err e = GP_OK;
    uint8_t head[24];
    uint64_t k = 0, len = 0;
    if (fstat(fd, &sb) != 0 || read(fd, head, sizeof head) != (ssize_t)sizeof head)
        e = gp_fail(why, GP_EFORMAT, "%s: truncated (%lld bytes)", path, (long long)sb.st_size);
    if (e == GP_OK) {
        memcpy(&k, head + 8, 8);
        memcpy(&len, head + 16, 8);
        if (memcmp(head, ST_MAGIC, 8) != 0 || k != (uint64_t)kind)
            e = gp_fail(why, GP_EFORMAT, "%s: not a gpdot state file of this kind", path);
        else if (len > ST_MAX_BYTES || (uint64_t)sb.st_size != sizeof head + len + 8)
            e = gp_fail(why, GP_EFORMAT,
                        "%s: truncated or extended: %lld bytes, the header says %llu", path,
                        (long long)sb.st_size, (unsigned long long)(sizeof head + len + 8));
    }
    if (e == GP_OK && !(out->p = malloc(len ? len : 1)))
        e = gp_fail(why, GP_ENOMEM, "%s: no memory for %llu bytes", path, (unsigned long long)len);
    uint64_t h = 0;
    if (e == GP_OK) {
        size_t got = 0;
        while (got < len) {
            ssize_t n = read(fd, out->p + got, len - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += (size_t)n;
        }
        if (got != len || read(fd, &h, sizeof h) != (ssize_t)sizeof h)
            e = gp_fail(why, GP_EFORMAT, "%s: truncated", path);
    }
    close(fd);
    if (e == GP_OK) {
        out->len = out->cap = len;
        if (h != (st_checksum(head, sizeof head) ^ (st_checksum(out->p, len) * 31)))
            e = gp_fail(why, GP_EFORMAT, "%s: checksum mismatch: the file is damaged", path);
    }
    if (e != GP_OK) {
        free(out->p);
        memset(out, 0, sizeof *out);
    }
    return e;
}
