#include "gp_err.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    const char *name;
    const char *text;
} err_table[GP_ERR_COUNT_] = {
    [GP_OK] = {"OK", "success"},
    [GP_ENOMEM] = {"ENOMEM", "out of memory"},
    [GP_EINVAL] = {"EINVAL", "invalid argument"},
    [GP_ERANGE] = {"ERANGE", "value out of range"},
    [GP_ENUMERIC] = {"ENUMERIC", "numerical error bound not met"},
    [GP_ENODES] = {"ENODES", "too few responders to decode"},
    [GP_EDETECTED] = {"EDETECTED", "errors detected, not correctable"},
    [GP_EUNVERIFIED] = {"EUNVERIFIED", "result could not be verified"},
    [GP_ENOTPART] = {"ENOTPART", "node takes no part in this operation"},
    [GP_EIO] = {"EIO", "input/output error"},
    [GP_EFORMAT] = {"EFORMAT", "malformed input"},
    [GP_ENOTSUP] = {"ENOTSUP", "not supported"},
    [GP_ENOTFOUND] = {"ENOTFOUND", "not found"},
    [GP_ETIMEOUT] = {"ETIMEOUT", "timed out"},
    [GP_ESTATE] = {"ESTATE", "operation not valid in this state"},
    [GP_EVERSION] = {"EVERSION", "unsupported protocol version"},
    [GP_ETYPE] = {"ETYPE", "unknown message type"},
    [GP_EAUTH] = {"EAUTH", "authentication failed"},
};

const char *gp_strerror(gp_err err)
{
    if ((unsigned)err >= GP_ERR_COUNT_) return "unknown error";
    return err_table[err].text;
}

const char *gp_errname(gp_err err)
{
    if ((unsigned)err >= GP_ERR_COUNT_) return "EUNKNOWN";
    return err_table[err].name;
}

gp_err gp_fail(gp_msg *msg, gp_err err, const char *fmt, ...)
{
    if (msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg->text, sizeof msg->text, fmt, ap);
        va_end(ap);
    }
    return err;
}
