/* gp_file.h - reading a file whole, bounded: the one reader of the cluster
 * file, job files, model manifests, data sets, .npy files and the files a
 * client uploads. */
#ifndef GP_FILE_H
#define GP_FILE_H

#include <stddef.h>

#include "gp_err.h"

/* Reads the file at path whole into *buf (one NUL byte after the contents,
 * so that text can be parsed in place; free it), or refuses it with
 * "PATH: larger than MAX bytes; not WHAT" (GP_EINVAL) before reading more
 * than max + 1 bytes: a file can make it allocate about twice its size, never
 * more than 2 * max. GP_EIO when it cannot be opened or read, GP_ENOMEM. */
gp_err gp_read_file(const char *path, size_t max, const char *what, char **buf, size_t *len,
                    gp_msg *why);

#endif
