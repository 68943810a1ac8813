/* gp_yaml.h - what the three YAML readers (the cluster file, job files,
 * model manifests) share (each reads its file with gp_file.h): loading a document
 * with a located syntax error, scalars, and "file:line:column: reason"
 * messages. Each reader keeps its own keys and checks. */
#ifndef GP_YAML_H
#define GP_YAML_H

#include <stdarg.h>
#include <stddef.h>
#include <yaml.h>

#include "gp_err.h"

/* Parses text into *doc and gives its root. A syntax error returns `code`
 * with "NAME:LINE:COL: problem"; a document without a root (an empty file)
 * "NAME: empty file". On success delete doc with yaml_document_delete. */
gp_err gp_yaml_load(const char *text, size_t len, const char *name, gp_err code,
                    yaml_document_t *doc, yaml_node_t **root, gp_msg *why);

/* The text of a scalar node; NULL for any other node and for none. */
const char *gp_yaml_scalar(const yaml_node_t *n);

/* Writes "NAME:LINE:COL: reason" of node n (1:1 when n is NULL) into why
 * (which may be NULL) and returns code: the body of each reader's own
 * variadic error function. */
gp_err gp_yaml_vfail(gp_msg *why, gp_err code, const char *name, const yaml_node_t *n,
                     const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#endif
