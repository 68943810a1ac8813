/* state.h - gpdotd's durable state: files in <state_dir>/node<ID>/.
 *
 *   job.bin        the running job: its id, file text, overrides and any
 *                  uploaded data (written once when the job starts)
 *   ckpt-0.bin,
 *   ckpt-1.bin     the two latest checkpoints of the job: the step, the
 *                  coded updates applied, this node's blocks, the counters
 *
 * Every file is written whole to a temporary file, fsync'ed, renamed over
 * the old one and the directory fsync'ed, so a crash leaves the old file or
 * the new one, never a mix. Each holds a magic, its kind, the payload length
 * and a 64-bit checksum of everything before it: a truncated file or one
 * with a flipped bit is refused (and its blocks rebuilt from the peers).
 */
#ifndef GP_STATE_H
#define GP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_err.h"
#include "gp_mat.h"

#define ST_MAX_LAYERS 8
#define ST_NCOUNTERS  16

/* A writer/reader of a flat payload. */
typedef struct st_buf {
    uint8_t *p;
    size_t len, cap, at;
    bool bad; /* a read past the end, or no memory */
} st_buf;

void st_put(st_buf *b, const void *data, size_t n);
void st_put_u64(st_buf *b, uint64_t v);
void st_get(st_buf *b, void *data, size_t n);
uint64_t st_get_u64(st_buf *b);
/* A view of the next n bytes (NULL past the end). */
const uint8_t *st_view(st_buf *b, size_t n);

enum { ST_JOB = 1, ST_CKPT = 2 };

/* <state_dir>/node<ID>, created if missing. */
gp_err st_dir(const char *state_dir, int node, char *out, size_t cap, gp_msg *why);

/* Writes kind + payload atomically to path (see above). */
gp_err st_write(const char *path, int kind, const st_buf *payload, gp_msg *why);

/* Reads and checks a file of that kind: its payload (malloc'd, in *out).
 * GP_ENOTFOUND if there is none, GP_EFORMAT if it is damaged (why says
 * how: truncated, checksum, ...). */
gp_err st_read(const char *path, int kind, st_buf *out, gp_msg *why);

/* 64-bit checksum (FNV-1a over 8-byte words, then the tail bytes). */
uint64_t st_checksum(const uint8_t *p, size_t n);

#endif
