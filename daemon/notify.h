/* notify.h - the systemd readiness protocol (sd_notify), without libsystemd.
 *
 * When the service manager sets NOTIFY_SOCKET (a Type=notify unit), the
 * daemon sends it datagrams such as "READY=1", "STATUS=..." and
 * "STOPPING=1". Without NOTIFY_SOCKET nothing is sent. */
#ifndef GP_NOTIFY_H
#define GP_NOTIFY_H

#include <stdbool.h>

/* Sends one notification (printf-style text); true if it was delivered. */
bool gp_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
