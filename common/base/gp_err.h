/* gp_err.h - the one error enum of gpdot.
 *
 * Every function that can fail returns a gp_err. GP_OK is 0; the other codes
 * are stable (they travel in protocol error replies) and never reused.
 * Functions that can say more take an optional gp_msg * for a human-readable
 * reason ("file:line:col: ..." or "worst-case bound 3e-8 exceeds 1e-9").
 */
#ifndef GP_ERR_H
#define GP_ERR_H

#include <stddef.h>

typedef enum gp_err {
    GP_OK = 0,
    GP_ENOMEM = 1,      /* out of memory */
    GP_EINVAL = 2,      /* invalid argument or configuration */
    GP_ERANGE = 3,      /* a size or value beyond a limit */
    GP_ENUMERIC = 4,    /* refused: the numerical error bound is not met */
    GP_ENODES = 5,      /* too few responders to decode */
    GP_EDETECTED = 6,   /* errors detected, not correctable */
    GP_EUNVERIFIED = 7, /* decoded from exactly K outputs: nothing to verify with */
    GP_ENOTPART = 8,    /* this node takes no part in the operation */
    GP_EIO = 9,         /* a file or socket operation failed */
    GP_EFORMAT = 10,    /* malformed input (file or message) */
    GP_ENOTSUP = 11,    /* valid, but not supported */
    GP_ENOTFOUND = 12,  /* unknown name or id */
    GP_ETIMEOUT = 13,   /* no answer in time */
    GP_ESTATE = 14,     /* operation not valid in the current state */
    GP_EVERSION = 15,   /* a protocol version this side does not speak */
    GP_ETYPE = 16,      /* an unknown message type */
    GP_EAUTH = 17,      /* refused: authentication failed */
    GP_ERR_COUNT_
} gp_err;

/* Short English description of an error code; never NULL. */
const char *gp_strerror(gp_err err);

/* Stable identifier of an error code ("EDETECTED"); never NULL. */
const char *gp_errname(gp_err err);

/* A reason to go with an error code. */
typedef struct gp_msg {
    char text[320];
} gp_msg;

/* Formats a reason into msg (which may be NULL: then nothing happens) and
 * returns err, so that `return gp_fail(why, GP_EINVAL, "...")` reads well. */
gp_err gp_fail(gp_msg *msg, gp_err err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
