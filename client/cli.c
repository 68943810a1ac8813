/* cli.c - the helpers every gpdot-client command shares (cli.h). */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpdot.h"

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != 0) return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "gpdot-client: %s needs a value\n", name);
        exit(2);
    }
    *value = argv[++*i];
    return true;
}

long cli_long(const char *opt, const char *s, long min, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "gpdot-client: %s must be an integer in %ld..%ld, not '%s'\n", opt, min,
                max, s);
        exit(2);
    }
    return v;
}

const char *cli_bytes(double b, char *buf, size_t len)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gpdot-client: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

/* ---- the cluster and jobs ------------------------------------------------------------- */

const char *cli_cluster_file, *cli_key_file;

gpdot_t *cli_open_cluster(void)
{
    const char *path = cli_cluster_file ? cli_cluster_file : getenv("GPDOT_CLUSTER");
    if (!path) {
        cli_error(2, "no cluster file: give -c CLUSTER.yaml before the command");
        exit(2);
    }
    gp_msg why = {{0}};
    gpdot_t *c = gpdot_connect_key(path, cli_key_file, &why);
    if (!c) {
        cli_error(1, "%s", why.text);
        exit(1);
    }
    return c;
}

/* "3fa2c1d08e7b6a51" (16 hex digits) or "latest" (0). */
bool cli_parse_job(const char *s, uint64_t *id)
{
    if (!strcmp(s, "latest")) {
        *id = 0;
        return true;
    }
    if (strlen(s) != 16) return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 16);
    if (*end || errno || v == 0) return false;
    *id = v;
    return true;
}

bool cli_is_job_id(const char *s)
{
    uint64_t id;
    return strcmp(s, "latest") != 0 && cli_parse_job(s, &id);
}

void cli_json_str(const char *s)
{
    putchar('"');
    for (const char *q = s; *q; q++) {
        if (*q == '"' || *q == '\\') putchar('\\');
        if ((unsigned char)*q >= 0x20) putchar(*q);
    }
    putchar('"');
}
