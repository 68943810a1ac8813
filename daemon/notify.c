/* notify.c - sd_notify without libsystemd (see notify.h). */
#define _GNU_SOURCE
#include "notify.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

bool gp_notify(const char *fmt, ...)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) return false;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    /* a path, or an abstract name written with a leading '@' */
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) return false;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = 0;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0) return false;
    if ((size_t)n >= sizeof msg) n = sizeof msg - 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    bool ok = sendto(fd, msg, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) == n;
    close(fd);
    return ok;
}
