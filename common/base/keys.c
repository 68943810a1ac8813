/* keys.c - CURVE key pair files (see gp_keys.h). */
#include "gp_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char z85[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool gp_key_valid(const char *s)
{
    if (!s || strlen(s) != GP_KEY_LEN) return false;
    for (int i = 0; i < GP_KEY_LEN; i++)
        if (!strchr(z85, s[i]) || !s[i]) return false;
    return true;
}

/* The value of a "name: value" line, quotes removed, into out (41 bytes):
 * true if the line names `name`. */
static bool key_line(const char *line, const char *name, char *out, bool *bad)
{
    size_t n = strlen(name);
    if (strncmp(line, name, n) != 0 || line[n] != ':') return false;
    const char *v = line + n + 1;
    while (*v == ' ' || *v == '\t') v++;
    size_t len = strcspn(v, "\r\n");
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
    if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
        v++;
        len -= 2;
    }
    *bad = len != GP_KEY_LEN;
    if (!*bad) {
        memcpy(out, v, GP_KEY_LEN);
        out[GP_KEY_LEN] = 0;
        *bad = !gp_key_valid(out);
    }
    return true;
}

gp_err gp_keypair_load(const char *path, char *pub, char *sec, gp_msg *why)
{
    FILE *f = fopen(path, "r");
    if (!f) return gp_fail(why, GP_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0077)) {
        fclose(f);
        return gp_fail(why, GP_EINVAL,
                       "%s: a secret key must be readable by its owner only (chmod 600 %s)", path,
                       path);
    }
    char line[256];
    int lineno = 0;
    bool have_pub = false, have_sec = false;
    gp_err e = GP_OK;
    while (e == GP_OK && fgets(line, sizeof line, f)) {
        lineno++;
        bool bad = false;
        if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line)) continue;
        if (key_line(line, "public_key", pub, &bad))
            have_pub = !bad;
        else if (key_line(line, "secret_key", sec, &bad))
            have_sec = !bad;
        else
            bad = true;
        if (bad)
            e = gp_fail(why, GP_EFORMAT,
                        "%s:%d: expected public_key: \"KEY\" or secret_key: \"KEY\" (40 "
                        "characters of Z85), as gpdot-client keygen writes",
                        path, lineno);
    }
    fclose(f);
    if (e == GP_OK && (!have_pub || !have_sec))
        e = gp_fail(why, GP_EFORMAT, "%s: not a key pair file: it needs public_key and secret_key",
                    path);
    return e;
}

static gp_err write_file(const char *path, int mode, bool replace, const char *text, gp_msg *why)
{
    int fd = open(path, O_WRONLY | O_CREAT | (replace ? O_TRUNC : O_EXCL), mode);
    if (fd < 0)
        return gp_fail(why, GP_EIO, "%s: %s%s", path, strerror(errno),
                       errno == EEXIST ? " (--force replaces it)" : "");
    size_t len = strlen(text);
    bool ok =
        fchmod(fd, (mode_t)mode) == 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    return ok ? GP_OK : gp_fail(why, GP_EIO, "%s: cannot write: %s", path, strerror(errno));
}

gp_err gp_keypair_save(const char *path, const char *pub, const char *sec, bool replace,
                       gp_msg *why)
{
    if (!gp_key_valid(pub) || !gp_key_valid(sec))
        return gp_fail(why, GP_EINVAL, "not a pair of Z85 keys");
    char text[512], pubpath[4096];
    if (snprintf(pubpath, sizeof pubpath, "%s.pub", path) >= (int)sizeof pubpath)
        return gp_fail(why, GP_EINVAL, "path too long");
    snprintf(text, sizeof text,
             "# gpdot CURVE key pair (gpdot-client keygen). Keep this file secret;\n"
             "# the public key alone goes into the cluster file.\n"
             "public_key: \"%s\"\nsecret_key: \"%s\"\n",
             pub, sec);
    gp_err e = write_file(path, 0600, replace, text, why);
    if (e != GP_OK) return e;
    snprintf(text, sizeof text, "public_key: \"%s\"\n", pub);
    return write_file(pubpath, 0644, replace, text, why);
}
