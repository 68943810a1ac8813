/* yaml.c - the YAML readers' shared helpers (gp_yaml.h). */
#include "gp_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gp_err gp_yaml_load(const char *text, size_t len, const char *name, gp_err code,
                    yaml_document_t *doc, yaml_node_t **root, gp_msg *why)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return gp_fail(why, GP_ENOMEM, "no memory for YAML");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&parser, doc);
    gp_err e = GP_OK;
    if (!ok)
        e = gp_fail(why, code, "%s:%zu:%zu: %s", name, parser.problem_mark.line + 1,
                    parser.problem_mark.column + 1,
                    parser.problem ? parser.problem : "not valid YAML");
    yaml_parser_delete(&parser); /* the document owns its nodes */
    if (!ok) return e;
    if (!(*root = yaml_document_get_root_node(doc))) {
        yaml_document_delete(doc);
        return gp_fail(why, code, "%s: empty file", name);
    }
    return GP_OK;
}

const char *gp_yaml_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

gp_err gp_yaml_vfail(gp_msg *why, gp_err code, const char *name, const yaml_node_t *n,
                     const char *fmt, va_list ap)
{
    if (why) {
        char text[256];
        vsnprintf(text, sizeof text, fmt, ap);
        snprintf(why->text, sizeof why->text, "%s:%zu:%zu: %s", name,
                 n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, text);
    }
    return code;
}
