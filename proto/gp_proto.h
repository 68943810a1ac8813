/* gp_proto.h - the codec of the gpdot wire protocol (see PROTOCOL.md).
 *
 * A message is [version, type, id, body] in one msgpack object. Decoding
 * reads straight from the received frame and allocates nothing: strings,
 * binary matrix data and lists are views into the frame, valid as long as
 * the frame is. Every declared length is checked against the bytes left and
 * against the caps below before anything is read, so a short frame cannot
 * make the receiver reserve memory for what it only claims to hold.
 * Encoding packs with msgpack-c into a growing buffer.
 *
 * Every key has one meaning and one type across all messages (the field
 * table); each message type allows a fixed set of fields, some required.
 */
#ifndef GP_PROTO_H
#define GP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_err.h"

#define GP_PROTO_VERSION     2
#define GP_PROTO_MAX_DEPTH   8          /* nesting of arrays and maps */
#define GP_PROTO_MAX_OBJECTS 4096       /* msgpack objects in one message */
#define GP_PROTO_MAX_STR     4096       /* bytes in one str */
#define GP_PROTO_MAX_NAME    64         /* bytes in a name */
#define GP_PROTO_MAX_LIST    64         /* entries of an array field */
#define GP_PROTO_MAX_FRAMES  4          /* data frames after a header */
#define GP_PROTO_MAX_ELEMS   (1u << 28) /* rows * cols of one matrix */

typedef enum gp_mtype {
    GP_MT_NONE = 0,
    GP_MT_HELLO,
    GP_MT_HELLO_OK,
    GP_MT_PING,
    GP_MT_PONG,
    GP_MT_STATUS,
    GP_MT_STATUS_OK,
    GP_MT_STORE,
    GP_MT_OK,
    GP_MT_MULTIPLY,
    GP_MT_ACTIVATE,
    GP_MT_HADAMARD,
    GP_MT_DONE,
    GP_MT_UPDATE,
    GP_MT_FETCH,
    GP_MT_MATRIX,
    GP_MT_PARTIALS,
    GP_MT_PARTIALS_OK,
    GP_MT_DROP,
    GP_MT_ERROR,
    GP_MT_PARTIAL,
    GP_MT_BLOCK,
    GP_MT_BLOCK_REQ,
    GP_MT_HEARTBEAT,
    GP_MT_PUT,
    GP_MT_SUBMIT,
    GP_MT_JOB_STATUS,
    GP_MT_JOB_INFO,
    GP_MT_CANCEL,
    GP_MT_JOIN,
    GP_MT_JOIN_INFO,
    GP_MT_JOB_PARTIAL,
    GP_MT_COUNT_
} gp_mtype;

/* Fields, by key. */
typedef enum gp_field {
    GP_F_CLIENT,       /* str */
    GP_F_CLUSTER,      /* str */
    GP_F_NODE,         /* uint */
    GP_F_NODES,        /* uint */
    GP_F_VERSION,      /* uint */
    GP_F_UPTIME_MS,    /* uint */
    GP_F_NODES_UP,     /* uint list */
    GP_F_MATRICES,     /* name list */
    GP_F_COUNTERS,     /* map str -> uint */
    GP_F_NAME,         /* name */
    GP_F_ROWS,         /* uint */
    GP_F_COLS,         /* uint */
    GP_F_SCHEME,       /* str */
    GP_F_M,            /* uint */
    GP_F_N,            /* uint */
    GP_F_ORIENTATION,  /* str */
    GP_F_BLOCK,        /* matrix */
    GP_F_X,            /* matrix */
    GP_F_TRANSPOSE,    /* bool */
    GP_F_OUT,          /* name */
    GP_F_DIGEST,       /* uint */
    GP_F_WRONG,        /* uint list */
    GP_F_CORRECTED,    /* uint */
    GP_F_FN,           /* str */
    GP_F_DERIVATIVE,   /* bool */
    GP_F_A,            /* name */
    GP_F_B,            /* name */
    GP_F_ALPHA,        /* float64 */
    GP_F_DELTA,        /* name */
    GP_F_INPUT,        /* name */
    GP_F_VALUE,        /* matrix */
    GP_F_OP,           /* uint */
    GP_F_SENDERS,      /* uint list */
    GP_F_VALUES,       /* matrix list */
    GP_F_CODE,         /* uint */
    GP_F_ERROR,        /* str */
    GP_F_REASON,       /* str */
    GP_F_STEP,         /* uint */
    GP_F_PHASE,        /* str */
    GP_F_FROM,         /* uint */
    GP_F_EPOCH,        /* uint */
    GP_F_UP,           /* uint list */
    GP_F_DIGEST_ONLY,  /* bool */
    GP_F_JOB,          /* uint */
    GP_F_TEXT,         /* blob */
    GP_F_SET,          /* blob */
    GP_F_TRAIN_DATA,   /* blob */
    GP_F_TRAIN_LABELS, /* blob */
    GP_F_TEST_DATA,    /* blob */
    GP_F_TEST_LABELS,  /* blob */
    GP_F_STATE,        /* str */
    GP_F_EPOCHS,       /* uint */
    GP_F_STEPS,        /* uint */
    GP_F_LOSS,         /* float64 */
    GP_F_ACCURACY,     /* float64 */
    GP_F_RATE,         /* float64 */
    GP_F_ELAPSED,      /* float64 */
    GP_F_MEAN,         /* float64 */
    GP_F_SCALE,        /* float64 */
    GP_F_OK,           /* bool */
    GP_F_NODE_STATS,   /* matrix */
    GP_F_SPARE,        /* uint */
    GP_F_UNVERIFIED,   /* bool */
    GP_F_KEY,          /* uint */
    GP_F_GEN,          /* uint */
    GP_F_SEQ,          /* uint */
    GP_F_BLAS,         /* str */
    GP_F_COUNT_
} gp_field;

/* A string or a blob (msgpack bin, for file contents): a view into the
 * frame when decoded; when encoding, any bytes. Blobs are limited only by
 * the frame (and so by the receiver's maximum message size). */
typedef struct gp_pstr {
    const char *p;
    size_t len;
} gp_pstr;

/* A matrix, row-major, little-endian; data is a view when decoded. With
 * frame k > 0 its data travels as the message's k-th frame after the header
 * (no copy into the header, none out of it): encoded as "frame": k in place
 * of "data"; the sender sends data as that frame. */
typedef struct gp_pmat {
    uint32_t rows, cols;
    bool f32;         /* float32, else float64 */
    const void *data; /* rows * cols * (f32 ? 4 : 8) bytes */
    uint8_t frame;    /* 0: data inline; k: in frame k after the header */
} gp_pmat;

typedef struct gp_pcounter {
    gp_pstr key;
    uint64_t value;
} gp_pcounter;

typedef union gp_pval {
    uint64_t u;
    double f;
    bool b;
    gp_pstr s;
    gp_pmat m;
    size_t n; /* list fields: number of entries in the message's list of that kind */
} gp_pval;

/* A set of fields, one bit per gp_field (more than 64 of them). */
typedef unsigned __int128 gp_fset;
#define GP_FBIT(f) ((gp_fset)1 << (f))

/* One message. A field is set when its bit is in `present`. List fields keep
 * their entries in the arrays below, one array per kind (a message type has
 * at most one list field of each kind). */
typedef struct gp_pmsg {
    gp_mtype type;
    uint64_t id;
    gp_fset present; /* GP_FBIT(gp_field) */
    gp_pval v[GP_F_COUNT_];
    uint64_t ids[GP_PROTO_MAX_LIST];
    gp_pstr names[GP_PROTO_MAX_LIST];
    gp_pmat mats[GP_PROTO_MAX_LIST];
    gp_pcounter counters[GP_PROTO_MAX_LIST];
} gp_pmsg;

/* Type names ("MULTIPLY") and field keys ("transpose"); never NULL. */
const char *gp_mtype_name(gp_mtype t);
const char *gp_field_key(gp_field f);

/* Whether type t allows field f. */
bool gp_mtype_allows(gp_mtype t, gp_field f);

/* Clears m and sets its type and id. */
void gp_pmsg_init(gp_pmsg *m, gp_mtype type, uint64_t id);

/* Setters for encoding; strings and matrix data are not copied (they must
 * outlive the encode call). The list setters copy the entries and return
 * GP_ERANGE beyond GP_PROTO_MAX_LIST. */
void gp_pmsg_uint(gp_pmsg *m, gp_field f, uint64_t v);
void gp_pmsg_f64(gp_pmsg *m, gp_field f, double v);
void gp_pmsg_bool(gp_pmsg *m, gp_field f, bool v);
void gp_pmsg_str(gp_pmsg *m, gp_field f, const char *s); /* NUL-terminated */
void gp_pmsg_mat(gp_pmsg *m, gp_field f, gp_pmat v);
gp_err gp_pmsg_ids(gp_pmsg *m, gp_field f, const uint64_t *v, size_t n);
gp_err gp_pmsg_names(gp_pmsg *m, gp_field f, const char *const *v, size_t n);
gp_err gp_pmsg_mats(gp_pmsg *m, gp_field f, const gp_pmat *v, size_t n);
gp_err gp_pmsg_counters(gp_pmsg *m, gp_field f, const gp_pcounter *v, size_t n);

static inline bool gp_pmsg_has(const gp_pmsg *m, gp_field f)
{
    return (m->present >> f & 1) != 0;
}

/* Marks field f present, for a value set directly in m->v[f] (a blob). */
static inline void gp_pmsg_mark(gp_pmsg *m, gp_field f)
{
    m->present |= GP_FBIT(f);
}

/* Encodes m into a new buffer (*out, *len; free() it). Checks what a
 * receiver would check of the fields (type, required fields, lengths, names,
 * matrix sizes): GP_EINVAL with a reason when m would be refused. */
gp_err gp_proto_encode(const gp_pmsg *m, void **out, size_t *len, gp_msg *why);

/* Decodes one frame into m. Errors, each with a reason:
 *   GP_EFORMAT  not one well-formed msgpack object, trailing bytes, a length
 *               beyond the bytes left or a cap, wrong field type, unknown or
 *               repeated or missing field, bad name, bad matrix;
 *   GP_EVERSION another protocol version;
 *   GP_ETYPE    an unknown message type.
 * m->id is set as soon as it could be read (else 0), so that an error reply
 * can carry it. Allocates nothing; m's views point into buf. */
gp_err gp_proto_decode(const void *buf, size_t len, gp_pmsg *m, gp_msg *why);
/* The same for a header frame followed by nframes frames of matrix data
 * (frames[k-1]: frame k): every matrix that names a frame gets it as its
 * data, whose length must be the matrix's size; every frame must be named
 * exactly once. */
gp_err gp_proto_decode_frames(const void *buf, size_t len, const gp_pstr *frames, int nframes,
                              gp_pmsg *m, gp_msg *why);

/* Checks that buf holds exactly one well-formed msgpack object within the
 * caps, without decoding it (the first half of gp_proto_decode). */
gp_err gp_proto_check(const void *buf, size_t len, gp_msg *why);

/* 64-bit FNV-1a of bytes: the digest of a result in DONE replies. */
uint64_t gp_proto_digest(const void *data, size_t len);

#endif
