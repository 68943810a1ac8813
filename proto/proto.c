/* proto.c - the gpdot wire protocol codec (see gp_proto.h, PROTOCOL.md).
 *
 * Decoding uses its own bounded reader rather than msgpack-c's unpacker:
 * msgpack-c reserves memory for a container's declared size before it reads
 * the elements, so a 5-byte frame claiming 100 million entries would cost
 * gigabytes. Here a first pass walks the frame and checks every length
 * against the bytes left and the caps; the second pass reads fields as views
 * into the frame. Encoding packs with msgpack-c.
 */
#include "gp_proto.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

typedef enum kind {
    K_UINT,
    K_F64,
    K_BOOL,
    K_STR,
    K_BLOB,
    K_NAME,
    K_MAT,
    K_IDS,
    K_NAMES,
    K_MATS,
    K_COUNTERS
} kind;

static const struct {
    const char *key;
    kind k;
} fields[GP_F_COUNT_] = {
    [GP_F_CLIENT] = {"client", K_STR},
    [GP_F_CLUSTER] = {"cluster", K_STR},
    [GP_F_NODE] = {"node", K_UINT},
    [GP_F_NODES] = {"nodes", K_UINT},
    [GP_F_VERSION] = {"version", K_UINT},
    [GP_F_UPTIME_MS] = {"uptime_ms", K_UINT},
    [GP_F_NODES_UP] = {"nodes_up", K_IDS},
    [GP_F_MATRICES] = {"matrices", K_NAMES},
    [GP_F_COUNTERS] = {"counters", K_COUNTERS},
    [GP_F_NAME] = {"name", K_NAME},
    [GP_F_ROWS] = {"rows", K_UINT},
    [GP_F_COLS] = {"cols", K_UINT},
    [GP_F_SCHEME] = {"scheme", K_STR},
    [GP_F_M] = {"m", K_UINT},
    [GP_F_N] = {"n", K_UINT},
    [GP_F_ORIENTATION] = {"orientation", K_STR},
    [GP_F_BLOCK] = {"block", K_MAT},
    [GP_F_X] = {"x", K_MAT},
    [GP_F_TRANSPOSE] = {"transpose", K_BOOL},
    [GP_F_OUT] = {"out", K_NAME},
    [GP_F_DIGEST] = {"digest", K_UINT},
    [GP_F_WRONG] = {"wrong", K_IDS},
    [GP_F_CORRECTED] = {"corrected", K_UINT},
    [GP_F_FN] = {"fn", K_STR},
    [GP_F_DERIVATIVE] = {"derivative", K_BOOL},
    [GP_F_A] = {"a", K_NAME},
    [GP_F_B] = {"b", K_NAME},
    [GP_F_ALPHA] = {"alpha", K_F64},
    [GP_F_DELTA] = {"delta", K_NAME},
    [GP_F_INPUT] = {"input", K_NAME},
    [GP_F_VALUE] = {"value", K_MAT},
    [GP_F_OP] = {"op", K_UINT},
    [GP_F_SENDERS] = {"senders", K_IDS},
    [GP_F_VALUES] = {"values", K_MATS},
    [GP_F_CODE] = {"code", K_UINT},
    [GP_F_ERROR] = {"error", K_STR},
    [GP_F_REASON] = {"reason", K_STR},
    [GP_F_STEP] = {"step", K_UINT},
    [GP_F_PHASE] = {"phase", K_STR},
    [GP_F_FROM] = {"from", K_UINT},
    [GP_F_EPOCH] = {"epoch", K_UINT},
    [GP_F_UP] = {"up", K_IDS},
    [GP_F_DIGEST_ONLY] = {"digest_only", K_BOOL},
    [GP_F_JOB] = {"job", K_UINT},
    [GP_F_TEXT] = {"text", K_BLOB},
    [GP_F_SET] = {"set", K_BLOB},
    [GP_F_TRAIN_DATA] = {"train_data", K_BLOB},
    [GP_F_TRAIN_LABELS] = {"train_labels", K_BLOB},
    [GP_F_TEST_DATA] = {"test_data", K_BLOB},
    [GP_F_TEST_LABELS] = {"test_labels", K_BLOB},
    [GP_F_STATE] = {"state", K_STR},
    [GP_F_EPOCHS] = {"epochs", K_UINT},
    [GP_F_STEPS] = {"steps", K_UINT},
    [GP_F_LOSS] = {"loss", K_F64},
    [GP_F_ACCURACY] = {"accuracy", K_F64},
    [GP_F_RATE] = {"rate", K_F64},
    [GP_F_ELAPSED] = {"elapsed", K_F64},
    [GP_F_MEAN] = {"mean", K_F64},
    [GP_F_SCALE] = {"scale", K_F64},
    [GP_F_OK] = {"ok", K_BOOL},
    [GP_F_NODE_STATS] = {"node_stats", K_MAT},
    [GP_F_SPARE] = {"spare", K_UINT},
    [GP_F_UNVERIFIED] = {"unverified", K_BOOL},
    [GP_F_KEY] = {"key", K_UINT},
    [GP_F_GEN] = {"gen", K_UINT},
    [GP_F_SEQ] = {"seq", K_UINT},
    [GP_F_BLAS] = {"blas", K_STR},
};

_Static_assert(GP_F_COUNT_ <= 128, "fields are bits of a gp_fset");

#define F(x) GP_FBIT(GP_F_##x)

/* Per type: the fields it requires, and the optional ones it also allows. */
static const struct {
    const char *name;
    gp_fset required, optional;
} types[GP_MT_COUNT_] = {
    [GP_MT_NONE] = {"NONE", 0, 0},
    [GP_MT_HELLO] = {"HELLO", F(CLIENT), 0},
    [GP_MT_HELLO_OK] = {"HELLO_OK", F(NODE) | F(NODES) | F(VERSION) | F(CLUSTER), 0},
    [GP_MT_PING] = {"PING", 0, 0},
    [GP_MT_PONG] = {"PONG", F(NODE) | F(UPTIME_MS), 0},
    [GP_MT_STATUS] = {"STATUS", 0, 0},
    [GP_MT_STATUS_OK] = {"STATUS_OK", F(NODE) | F(NODES_UP) | F(MATRICES) | F(COUNTERS), F(BLAS)},
    [GP_MT_STORE] = {"STORE",
                     F(NAME) | F(ROWS) | F(COLS) | F(SCHEME) | F(M) | F(N) | F(ORIENTATION) |
                         F(BLOCK),
                     0},
    [GP_MT_OK] = {"OK", 0, 0},
    [GP_MT_MULTIPLY] = {"MULTIPLY", F(NAME) | F(X) | F(OUT), F(TRANSPOSE) | F(UNVERIFIED)},
    [GP_MT_ACTIVATE] = {"ACTIVATE", F(NAME) | F(FN) | F(OUT), F(DERIVATIVE)},
    [GP_MT_HADAMARD] = {"HADAMARD", F(A) | F(B) | F(OUT), 0},
    [GP_MT_DONE] = {"DONE", F(OUT) | F(ROWS) | F(COLS) | F(DIGEST) | F(WRONG) | F(CORRECTED),
                    F(SPARE)},
    [GP_MT_UPDATE] = {"UPDATE", F(NAME) | F(ALPHA) | F(DELTA) | F(INPUT), 0},
    [GP_MT_FETCH] = {"FETCH", F(NAME), F(DIGEST_ONLY)},
    [GP_MT_MATRIX] = {"MATRIX", F(NAME) | F(DIGEST), F(VALUE)},
    [GP_MT_PARTIALS] = {"PARTIALS", F(OP), 0},
    [GP_MT_PARTIALS_OK] = {"PARTIALS_OK", F(OP) | F(SENDERS) | F(VALUES), 0},
    [GP_MT_DROP] = {"DROP", F(NAME), 0},
    [GP_MT_ERROR] = {"ERROR", F(CODE) | F(ERROR) | F(REASON), 0},
    [GP_MT_PARTIAL] = {"PARTIAL", F(OP) | F(PHASE) | F(FROM) | F(VALUE), 0},
    [GP_MT_BLOCK] = {"BLOCK", F(NAME) | F(FROM) | F(VALUE), 0},
    [GP_MT_BLOCK_REQ] = {"BLOCK_REQ", F(NAME) | F(FROM), 0},
    [GP_MT_HEARTBEAT] = {"HEARTBEAT", F(FROM) | F(SEQ) | F(UP), 0},
    [GP_MT_PUT] = {"PUT", F(NAME) | F(VALUE), 0},
    [GP_MT_SUBMIT] = {"SUBMIT", F(JOB) | F(TEXT),
                      F(SET) | F(TRAIN_DATA) | F(TRAIN_LABELS) | F(TEST_DATA) | F(TEST_LABELS)},
    [GP_MT_JOB_STATUS] = {"JOB_STATUS", F(JOB), 0},
    [GP_MT_JOB_INFO] = {"JOB_INFO",
                        F(JOB) | F(NAME) | F(STATE) | F(EPOCH) | F(EPOCHS) | F(STEP) | F(STEPS) |
                            F(COUNTERS) | F(NODES_UP) | F(ELAPSED),
                        F(LOSS) | F(ACCURACY) | F(RATE) | F(TEXT) | F(MEAN) | F(SCALE) | F(REASON) |
                            F(NODE_STATS)},
    [GP_MT_CANCEL] = {"CANCEL", F(JOB), 0},
    [GP_MT_JOIN] = {"JOIN", F(FROM) | F(JOB), F(STEP) | F(GEN) | F(STATE)},
    [GP_MT_JOIN_INFO] = {"JOIN_INFO", F(FROM) | F(JOB) | F(STATE),
                         F(STEP) | F(GEN) | F(RATE) | F(TEXT) | F(SET) | F(TRAIN_DATA) |
                             F(TRAIN_LABELS) | F(TEST_DATA) | F(TEST_LABELS)},
    [GP_MT_JOB_PARTIAL] = {"JOB_PARTIAL", F(JOB) | F(KEY) | F(FROM) | F(VALUE), F(OK)},
};

const char *gp_mtype_name(gp_mtype t)
{
    return (unsigned)t < GP_MT_COUNT_ ? types[t].name : "UNKNOWN";
}

const char *gp_field_key(gp_field f)
{
    return (unsigned)f < GP_F_COUNT_ ? fields[f].key : "unknown";
}

bool gp_mtype_allows(gp_mtype t, gp_field f)
{
    if ((unsigned)t >= GP_MT_COUNT_ || (unsigned)f >= GP_F_COUNT_) return false;
    return ((types[t].required | types[t].optional) >> f & 1) != 0;
}

uint64_t gp_proto_digest(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ---- building messages -------------------------------------------------------------- */

void gp_pmsg_init(gp_pmsg *m, gp_mtype type, uint64_t id)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    m->id = id;
}

void gp_pmsg_uint(gp_pmsg *m, gp_field f, uint64_t v)
{
    m->v[f].u = v;
    m->present |= GP_FBIT(f);
}

void gp_pmsg_f64(gp_pmsg *m, gp_field f, double v)
{
    m->v[f].f = v;
    m->present |= GP_FBIT(f);
}

void gp_pmsg_bool(gp_pmsg *m, gp_field f, bool v)
{
    m->v[f].b = v;
    m->present |= GP_FBIT(f);
}

void gp_pmsg_str(gp_pmsg *m, gp_field f, const char *s)
{
    m->v[f].s = (gp_pstr){s, strlen(s)};
    m->present |= GP_FBIT(f);
}

void gp_pmsg_mat(gp_pmsg *m, gp_field f, gp_pmat v)
{
    m->v[f].m = v;
    m->present |= GP_FBIT(f);
}

/* Marks list field f as holding n entries, or refuses more than fit. */
static gp_err set_list(gp_pmsg *m, gp_field f, size_t n)
{
    if (n > GP_PROTO_MAX_LIST) return GP_ERANGE;
    m->v[f].n = n;
    m->present |= GP_FBIT(f);
    return GP_OK;
}

gp_err gp_pmsg_ids(gp_pmsg *m, gp_field f, const uint64_t *v, size_t n)
{
    gp_err e = set_list(m, f, n);
    if (e == GP_OK && n) memcpy(m->ids, v, n * sizeof *v);
    return e;
}

gp_err gp_pmsg_names(gp_pmsg *m, gp_field f, const char *const *v, size_t n)
{
    gp_err e = set_list(m, f, n);
    for (size_t i = 0; e == GP_OK && i < n; i++) m->names[i] = (gp_pstr){v[i], strlen(v[i])};
    return e;
}

gp_err gp_pmsg_mats(gp_pmsg *m, gp_field f, const gp_pmat *v, size_t n)
{
    gp_err e = set_list(m, f, n);
    if (e == GP_OK && n) memcpy(m->mats, v, n * sizeof *v);
    return e;
}

gp_err gp_pmsg_counters(gp_pmsg *m, gp_field f, const gp_pcounter *v, size_t n)
{
    gp_err e = set_list(m, f, n);
    if (e == GP_OK && n) memcpy(m->counters, v, n * sizeof *v);
    return e;
}

/* ---- what both sides check -------------------------------------------------------------- */

static bool name_ok(gp_pstr s)
{
    if (s.len < 1 || s.len > GP_PROTO_MAX_NAME) return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

static size_t mat_bytes(gp_pmat x)
{
    return (size_t)x.rows * x.cols * (x.f32 ? 4 : 8);
}

static gp_err mat_ok(gp_pmat x, const char *key, gp_msg *why)
{
    if (x.rows < 1 || x.cols < 1 || (uint64_t)x.rows * x.cols > GP_PROTO_MAX_ELEMS)
        return gp_fail(why, GP_EFORMAT,
                       "matrix '%s' is %ux%u: each side must be at least 1 and "
                       "rows * cols at most %u",
                       key, x.rows, x.cols, GP_PROTO_MAX_ELEMS);
    if (!x.data) return gp_fail(why, GP_EFORMAT, "matrix '%s' has no data", key);
    return GP_OK;
}

/* The fields of m against its type: required ones present, no others,
 * names, string and list lengths, matrices. */
static gp_err fields_ok(const gp_pmsg *m, gp_msg *why)
{
    if (m->type <= GP_MT_NONE || m->type >= GP_MT_COUNT_)
        return gp_fail(why, GP_ETYPE, "unknown message type %d", (int)m->type);
    gp_fset req = types[m->type].required, allowed = req | types[m->type].optional;
    for (int f = 0; f < GP_F_COUNT_; f++) {
        bool has = m->present >> f & 1;
        const char *key = fields[f].key;
        if (!has) {
            if (req >> f & 1)
                return gp_fail(why, GP_EFORMAT, "%s needs the field '%s'", types[m->type].name,
                               key);
            continue;
        }
        if (!(allowed >> f & 1))
            return gp_fail(why, GP_EFORMAT, "'%s' is not a field of %s", key, types[m->type].name);
        const gp_pval *v = &m->v[f];
        gp_err e;
        switch (fields[f].k) {
        case K_STR:
            if (v->s.len > GP_PROTO_MAX_STR || (!v->s.p && v->s.len))
                return gp_fail(why, GP_EFORMAT, "'%s' is longer than %d bytes", key,
                               GP_PROTO_MAX_STR);
            break;
        case K_NAME:
            if (!v->s.p || !name_ok(v->s))
                return gp_fail(why, GP_EFORMAT,
                               "'%s' must be 1 to %d characters of A-Z a-z 0-9 _ . : -", key,
                               GP_PROTO_MAX_NAME);
            break;
        case K_BLOB:
            if (!v->s.p && v->s.len) return gp_fail(why, GP_EFORMAT, "'%s' has no data", key);
            break;
        case K_MAT:
            if ((e = mat_ok(v->m, key, why)) != GP_OK) return e;
            break;
        case K_IDS:
        case K_NAMES:
        case K_MATS:
        case K_COUNTERS:
            if (v->n > GP_PROTO_MAX_LIST)
                return gp_fail(why, GP_EFORMAT, "'%s' has more than %d entries", key,
                               GP_PROTO_MAX_LIST);
            for (size_t i = 0; i < v->n; i++) {
                if (fields[f].k == K_NAMES && !name_ok(m->names[i]))
                    return gp_fail(why, GP_EFORMAT, "'%s' entry %zu is not a valid name", key, i);
                if (fields[f].k == K_MATS && (e = mat_ok(m->mats[i], key, why)) != GP_OK) return e;
                if (fields[f].k == K_COUNTERS && !name_ok(m->counters[i].key))
                    return gp_fail(why, GP_EFORMAT, "'%s' key %zu is not a valid name", key, i);
            }
            break;
        default:
            break;
        }
    }
    return GP_OK;
}

/* ---- encoding ------------------------------------------------------------------------- */

static void pack_str(msgpack_packer *pk, const char *p, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, p, n);
}

static void pack_mat(msgpack_packer *pk, gp_pmat x)
{
    msgpack_pack_map(pk, 4);
    pack_str(pk, "rows", 4);
    msgpack_pack_uint32(pk, x.rows);
    pack_str(pk, "cols", 4);
    msgpack_pack_uint32(pk, x.cols);
    pack_str(pk, "dtype", 5);
    pack_str(pk, x.f32 ? "f32" : "f64", 3);
    if (x.frame) {
        pack_str(pk, "frame", 5);
        msgpack_pack_uint8(pk, x.frame);
        return;
    }
    pack_str(pk, "data", 4);
    msgpack_pack_bin(pk, mat_bytes(x));
    msgpack_pack_bin_body(pk, x.data, mat_bytes(x));
}

gp_err gp_proto_encode(const gp_pmsg *m, void **out, size_t *len, gp_msg *why)
{
    *out = NULL;
    *len = 0;
    gp_err e = fields_ok(m, why);
    if (e != GP_OK) return e == GP_ETYPE ? e : GP_EINVAL;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, GP_PROTO_VERSION);
    pack_str(&pk, types[m->type].name, strlen(types[m->type].name));
    msgpack_pack_uint64(&pk, m->id);
    msgpack_pack_map(&pk, (size_t)(__builtin_popcountll((uint64_t)m->present) +
                                   __builtin_popcountll((uint64_t)(m->present >> 64))));
    for (int f = 0; f < GP_F_COUNT_; f++) {
        if (!(m->present >> f & 1)) continue;
        const gp_pval *v = &m->v[f];
        pack_str(&pk, fields[f].key, strlen(fields[f].key));
        switch (fields[f].k) {
        case K_UINT:
            msgpack_pack_uint64(&pk, v->u);
            break;
        case K_F64:
            msgpack_pack_double(&pk, v->f);
            break;
        case K_BOOL:
            v->b ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
            break;
        case K_STR:
        case K_NAME:
            pack_str(&pk, v->s.p, v->s.len);
            break;
        case K_BLOB:
            msgpack_pack_bin(&pk, v->s.len);
            msgpack_pack_bin_body(&pk, v->s.p, v->s.len);
            break;
        case K_MAT:
            pack_mat(&pk, v->m);
            break;
        case K_IDS:
            msgpack_pack_array(&pk, v->n);
            for (size_t i = 0; i < v->n; i++) msgpack_pack_uint64(&pk, m->ids[i]);
            break;
        case K_NAMES:
            msgpack_pack_array(&pk, v->n);
            for (size_t i = 0; i < v->n; i++) pack_str(&pk, m->names[i].p, m->names[i].len);
            break;
        case K_MATS:
            msgpack_pack_array(&pk, v->n);
            for (size_t i = 0; i < v->n; i++) pack_mat(&pk, m->mats[i]);
            break;
        case K_COUNTERS:
            msgpack_pack_map(&pk, v->n);
            for (size_t i = 0; i < v->n; i++) {
                pack_str(&pk, m->counters[i].key.p, m->counters[i].key.len);
                msgpack_pack_uint64(&pk, m->counters[i].value);
            }
            break;
        }
    }
    if (!sb.data) return GP_ENOMEM; /* the sbuffer's realloc failed */
    *out = sb.data;
    *len = sb.size;
    return GP_OK;
}

/* ---- reading ------------------------------------------------------------------------ */

typedef struct rd {
    const uint8_t *p, *end;
    const gp_pstr *frames; /* data frames after the header */
    int nframes;
    unsigned used; /* frames named so far (bit k-1) */
} rd;

static size_t left(const rd *r)
{
    return (size_t)(r->end - r->p);
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

/* Reads n big-endian bytes; false if the frame ends first. */
static bool take(rd *r, int n, uint64_t *v)
{
    if (left(r) < (size_t)n) return false;
    *v = be(r->p, n);
    r->p += n;
    return true;
}

typedef enum tkind {
    T_NIL,
    T_BOOL,
    T_UINT,
    T_INT,
    T_F32,
    T_F64,
    T_STR,
    T_BIN,
    T_ARRAY,
    T_MAP,
    T_BAD
} tkind;

/* Reads one object's header: its kind and, for containers, str and bin, the
 * declared count or length (a str's or bin's bytes are not consumed); for
 * scalars the value (raw bits for floats). T_BAD on a truncated header, an
 * unused tag or ext. */
static tkind head(rd *r, uint64_t *val)
{
    if (left(r) < 1) return T_BAD;
    uint8_t t = *r->p++;
    uint64_t v = 0;
    if (t <= 0x7f) {
        *val = t;
        return T_UINT;
    }
    if (t >= 0xe0) {
        *val = (uint64_t)(int64_t)(int8_t)t;
        return T_INT;
    }
    if (t >= 0x80 && t <= 0x8f) return *val = t & 0x0f, T_MAP;
    if (t >= 0x90 && t <= 0x9f) return *val = t & 0x0f, T_ARRAY;
    if (t >= 0xa0 && t <= 0xbf) return *val = t & 0x1f, T_STR;
    switch (t) {
    case 0xc0:
        return T_NIL;
    case 0xc2:
        return *val = 0, T_BOOL;
    case 0xc3:
        return *val = 1, T_BOOL;
    case 0xc4:
        return take(r, 1, val) ? T_BIN : T_BAD;
    case 0xc5:
        return take(r, 2, val) ? T_BIN : T_BAD;
    case 0xc6:
        return take(r, 4, val) ? T_BIN : T_BAD;
    case 0xca:
        return take(r, 4, val) ? T_F32 : T_BAD;
    case 0xcb:
        return take(r, 8, val) ? T_F64 : T_BAD;
    case 0xcc:
        return take(r, 1, val) ? T_UINT : T_BAD;
    case 0xcd:
        return take(r, 2, val) ? T_UINT : T_BAD;
    case 0xce:
        return take(r, 4, val) ? T_UINT : T_BAD;
    case 0xcf:
        return take(r, 8, val) ? T_UINT : T_BAD;
    case 0xd0:
        if (!take(r, 1, &v)) return T_BAD;
        *val = (uint64_t)(int64_t)(int8_t)v;
        return T_INT;
    case 0xd1:
        if (!take(r, 2, &v)) return T_BAD;
        *val = (uint64_t)(int64_t)(int16_t)v;
        return T_INT;
    case 0xd2:
        if (!take(r, 4, &v)) return T_BAD;
        *val = (uint64_t)(int64_t)(int32_t)v;
        return T_INT;
    case 0xd3:
        return take(r, 8, val) ? T_INT : T_BAD;
    case 0xd9:
        return take(r, 1, val) ? T_STR : T_BAD;
    case 0xda:
        return take(r, 2, val) ? T_STR : T_BAD;
    case 0xdb:
        return take(r, 4, val) ? T_STR : T_BAD;
    case 0xdc:
        return take(r, 2, val) ? T_ARRAY : T_BAD;
    case 0xdd:
        return take(r, 4, val) ? T_ARRAY : T_BAD;
    case 0xde:
        return take(r, 2, val) ? T_MAP : T_BAD;
    case 0xdf:
        return take(r, 4, val) ? T_MAP : T_BAD;
    default:
        return T_BAD; /* 0xc1 (never used), ext and fixext */
    }
}

/* One object and everything in it, checking lengths and caps. */
static gp_err walk(rd *r, int depth, size_t *nobj, bool want_str, gp_msg *why)
{
    if (++*nobj > GP_PROTO_MAX_OBJECTS)
        return gp_fail(why, GP_EFORMAT, "more than %d objects in one message",
                       GP_PROTO_MAX_OBJECTS);
    if (left(r) == 0) return gp_fail(why, GP_EFORMAT, "the message ends too early");
    uint8_t tag = *r->p;
    uint64_t v;
    tkind k = head(r, &v);
    if (k == T_BAD)
        return gp_fail(why, GP_EFORMAT, "truncated or unsupported msgpack (tag 0x%02x)", tag);
    if (want_str && k != T_STR) return gp_fail(why, GP_EFORMAT, "a map key is not a string");
    switch (k) {
    case T_STR:
    case T_BIN:
        if (v > left(r))
            return gp_fail(why, GP_EFORMAT, "a %s declares %llu bytes, %zu are left",
                           k == T_STR ? "string" : "binary", (unsigned long long)v, left(r));
        if (k == T_STR && v > GP_PROTO_MAX_STR)
            return gp_fail(why, GP_EFORMAT, "a string of %llu bytes (at most %d)",
                           (unsigned long long)v, GP_PROTO_MAX_STR);
        r->p += v;
        return GP_OK;
    case T_ARRAY:
    case T_MAP: {
        if (depth >= GP_PROTO_MAX_DEPTH)
            return gp_fail(why, GP_EFORMAT, "nested deeper than %d", GP_PROTO_MAX_DEPTH);
        uint64_t n = k == T_MAP ? 2 * v : v; /* each element takes a byte at least */
        if (n > left(r))
            return gp_fail(why, GP_EFORMAT, "%s declares %llu %s, only %zu bytes are left",
                           k == T_MAP ? "a map" : "an array", (unsigned long long)v,
                           k == T_MAP ? "entries" : "elements", left(r));
        for (uint64_t i = 0; i < n; i++) {
            gp_err e = walk(r, depth + 1, nobj, k == T_MAP && i % 2 == 0, why);
            if (e != GP_OK) return e;
        }
        return GP_OK;
    }
    default:
        return GP_OK;
    }
}

gp_err gp_proto_check(const void *buf, size_t len, gp_msg *why)
{
    if (!buf || len == 0) return gp_fail(why, GP_EFORMAT, "empty message");
    rd r = {buf, (const uint8_t *)buf + len, NULL, 0, 0};
    size_t nobj = 0;
    gp_err e = walk(&r, 0, &nobj, false, why);
    if (e != GP_OK) return e;
    if (left(&r) != 0) return gp_fail(why, GP_EFORMAT, "%zu bytes after the message", left(&r));
    return GP_OK;
}

/* ---- decoding (after gp_proto_check: every length is known to fit) ------------------ */

static bool rd_uint(rd *r, uint64_t *u)
{
    uint64_t v;
    tkind k = head(r, &v);
    if (k == T_UINT || (k == T_INT && (int64_t)v >= 0)) {
        *u = v;
        return true;
    }
    return false;
}

static bool rd_str(rd *r, gp_pstr *s)
{
    uint64_t n;
    if (head(r, &n) != T_STR) return false;
    *s = (gp_pstr){(const char *)r->p, (size_t)n};
    r->p += n;
    return true;
}

/* Moves r past the object that starts at `at` (the frame has passed
 * gp_proto_check, so walk cannot fail). */
static void skip(rd *r, const uint8_t *at)
{
    size_t nobj = 0;
    r->p = at;
    walk(r, 0, &nobj, false, NULL);
}

static bool key_is(gp_pstr k, const char *s)
{
    return k.len == strlen(s) && memcmp(k.p, s, k.len) == 0;
}

static gp_err rd_mat(rd *r, const char *key, gp_pmat *x, gp_msg *why)
{
    uint64_t n, rows = 0, cols = 0, blen = 0, frame = 0;
    gp_pstr dtype = {0}, k = {0};
    const void *data = NULL;
    unsigned seen = 0;
    if (head(r, &n) != T_MAP) return gp_fail(why, GP_EFORMAT, "'%s' must be a matrix map", key);
    for (uint64_t i = 0; i < n; i++) {
        rd_str(r, &k);
        /* "data" (inline) and "frame" (the data in a frame of its own) are
         * one key: a matrix has one or the other */
        unsigned bit = key_is(k, "rows")                         ? 1
                       : key_is(k, "cols")                       ? 2
                       : key_is(k, "dtype")                      ? 4
                       : key_is(k, "data") || key_is(k, "frame") ? 8
                                                                 : 0;
        if (!bit || (seen & bit))
            return gp_fail(why, GP_EFORMAT, "matrix '%s': %s key '%.*s'", key,
                           bit == 8 ? "a second data"
                           : bit    ? "repeated"
                                    : "unknown",
                           (int)(k.len > 40 ? 40 : k.len), k.p);
        seen |= bit;
        bool ok;
        if (bit == 1)
            ok = rd_uint(r, &rows) && rows <= UINT32_MAX;
        else if (bit == 2)
            ok = rd_uint(r, &cols) && cols <= UINT32_MAX;
        else if (bit == 4)
            ok = rd_str(r, &dtype) && (key_is(dtype, "f64") || key_is(dtype, "f32"));
        else if (key_is(k, "frame"))
            ok = rd_uint(r, &frame) && frame >= 1 && frame <= GP_PROTO_MAX_FRAMES;
        else {
            ok = head(r, &blen) == T_BIN;
            data = r->p;
            if (ok) r->p += blen;
        }
        if (!ok)
            return gp_fail(why, GP_EFORMAT,
                           "matrix '%s': bad '%.*s' (rows, cols: uint; dtype: "
                           "\"f64\" or \"f32\"; data: bin; frame: 1 to %d)",
                           key, (int)k.len, k.p, GP_PROTO_MAX_FRAMES);
    }
    if (seen != 15)
        return gp_fail(why, GP_EFORMAT, "matrix '%s' needs rows, cols, dtype, and data or frame",
                       key);
    if (frame) {
        if ((int)frame > r->nframes)
            return gp_fail(why, GP_EFORMAT,
                           "matrix '%s' is in frame %llu after the header; the message has %d", key,
                           (unsigned long long)frame, r->nframes);
        if (r->used >> (frame - 1) & 1)
            return gp_fail(why, GP_EFORMAT, "matrix '%s': frame %llu is named twice", key,
                           (unsigned long long)frame);
        r->used |= 1u << (frame - 1);
        data = r->frames[frame - 1].p;
        blen = r->frames[frame - 1].len;
    }
    *x = (gp_pmat){(uint32_t)rows, (uint32_t)cols, key_is(dtype, "f32"), data, (uint8_t)frame};
    gp_err e = mat_ok(*x, key, why);
    if (e != GP_OK) return e;
    if (blen != mat_bytes(*x))
        return gp_fail(why, GP_EFORMAT,
                       "matrix '%s' is %llux%llu %.*s: %zu bytes of data "
                       "expected, %llu sent",
                       key, (unsigned long long)rows, (unsigned long long)cols, 3, dtype.p,
                       mat_bytes(*x), (unsigned long long)blen);
    return GP_OK;
}

static gp_err rd_field(rd *r, gp_pmsg *m, gp_field f, gp_msg *why)
{
    const char *key = fields[f].key;
    gp_pval *v = &m->v[f];
    uint64_t n, raw;
    tkind k;
    switch (fields[f].k) {
    case K_UINT:
        if (!rd_uint(r, &v->u))
            return gp_fail(why, GP_EFORMAT, "'%s' must be an unsigned integer", key);
        return GP_OK;
    case K_F64:
        k = head(r, &raw);
        if (k == T_F64) {
            memcpy(&v->f, &raw, sizeof v->f);
        } else if (k == T_F32) {
            uint32_t b = (uint32_t)raw;
            float x;
            memcpy(&x, &b, sizeof x);
            v->f = x;
        } else {
            return gp_fail(why, GP_EFORMAT, "'%s' must be a float", key);
        }
        return GP_OK;
    case K_BOOL:
        if (head(r, &raw) != T_BOOL)
            return gp_fail(why, GP_EFORMAT, "'%s' must be true or false", key);
        v->b = raw != 0;
        return GP_OK;
    case K_STR:
    case K_NAME:
        if (!rd_str(r, &v->s)) return gp_fail(why, GP_EFORMAT, "'%s' must be a string", key);
        return GP_OK;
    case K_BLOB:
        if (head(r, &n) != T_BIN) return gp_fail(why, GP_EFORMAT, "'%s' must be binary", key);
        v->s = (gp_pstr){(const char *)r->p, (size_t)n};
        r->p += n;
        return GP_OK;
    case K_MAT:
        return rd_mat(r, key, &v->m, why);
    case K_IDS:
    case K_NAMES:
    case K_MATS:
        if (head(r, &n) != T_ARRAY) return gp_fail(why, GP_EFORMAT, "'%s' must be an array", key);
        if (n > GP_PROTO_MAX_LIST)
            return gp_fail(why, GP_EFORMAT, "'%s' has %llu entries (at most %d)", key,
                           (unsigned long long)n, GP_PROTO_MAX_LIST);
        for (uint64_t i = 0; i < n; i++) {
            bool ok = true;
            if (fields[f].k == K_IDS)
                ok = rd_uint(r, &m->ids[i]);
            else if (fields[f].k == K_NAMES)
                ok = rd_str(r, &m->names[i]);
            else {
                gp_err e = rd_mat(r, key, &m->mats[i], why);
                if (e != GP_OK) return e;
            }
            if (!ok)
                return gp_fail(why, GP_EFORMAT, "'%s' entry %llu has the wrong type", key,
                               (unsigned long long)i);
        }
        v->n = (size_t)n;
        return GP_OK;
    case K_COUNTERS:
        if (head(r, &n) != T_MAP) return gp_fail(why, GP_EFORMAT, "'%s' must be a map", key);
        if (n > GP_PROTO_MAX_LIST)
            return gp_fail(why, GP_EFORMAT, "'%s' has %llu entries (at most %d)", key,
                           (unsigned long long)n, GP_PROTO_MAX_LIST);
        for (uint64_t i = 0; i < n; i++) {
            rd_str(r, &m->counters[i].key);
            if (!rd_uint(r, &m->counters[i].value))
                return gp_fail(why, GP_EFORMAT, "'%s' values must be unsigned integers", key);
        }
        v->n = (size_t)n;
        return GP_OK;
    }
    return GP_OK;
}

gp_err gp_proto_decode(const void *buf, size_t len, gp_pmsg *m, gp_msg *why)
{
    return gp_proto_decode_frames(buf, len, NULL, 0, m, why);
}

gp_err gp_proto_decode_frames(const void *buf, size_t len, const gp_pstr *frames, int nframes,
                              gp_pmsg *m, gp_msg *why)
{
    gp_pmsg_init(m, GP_MT_NONE, 0);
    if (nframes < 0 || nframes > GP_PROTO_MAX_FRAMES)
        return gp_fail(why, GP_EFORMAT, "%d frames after the header (at most %d)", nframes,
                       GP_PROTO_MAX_FRAMES);
    gp_err e = gp_proto_check(buf, len, why);
    if (e != GP_OK) return e;
    rd r = {buf, (const uint8_t *)buf + len, frames, nframes, 0};
    uint64_t n, version = 0, id = 0;
    gp_pstr type = {0};
    if (head(&r, &n) != T_ARRAY || n != 4)
        return gp_fail(why, GP_EFORMAT, "a message is an array of 4: [version, type, id, body]");
    /* A header field of the wrong type is skipped whole, so that the next is
     * read where it starts: read on from inside a string (["\xdb...", ...]),
     * the reader ran past the frame. */
    const uint8_t *at = r.p;
    bool vok = rd_uint(&r, &version);
    if (!vok) skip(&r, at);
    at = r.p;
    bool tok = rd_str(&r, &type);
    if (!tok) skip(&r, at);
    bool iok = rd_uint(&r, &id);
    if (iok) m->id = id;
    if (!vok || !tok || !iok)
        return gp_fail(why, GP_EFORMAT, "version and id must be unsigned integers, type a string");
    if (version != GP_PROTO_VERSION)
        return gp_fail(why, GP_EVERSION, "protocol version %llu; this side speaks %d",
                       (unsigned long long)version, GP_PROTO_VERSION);
    for (int t = 1; t < GP_MT_COUNT_ && m->type == GP_MT_NONE; t++)
        if (key_is(type, types[t].name)) m->type = (gp_mtype)t;
    if (m->type == GP_MT_NONE)
        return gp_fail(why, GP_ETYPE, "unknown message type '%.*s'",
                       (int)(type.len > 40 ? 40 : type.len), type.p);
    if (head(&r, &n) != T_MAP) return gp_fail(why, GP_EFORMAT, "the body must be a map");
    for (uint64_t i = 0; i < n; i++) {
        gp_pstr k = {0};
        rd_str(&r, &k); /* keys are strings: checked */
        int f = 0;
        while (f < GP_F_COUNT_ && !key_is(k, fields[f].key)) f++;
        if (f == GP_F_COUNT_)
            return gp_fail(why, GP_EFORMAT, "%s: unknown field '%.*s'", types[m->type].name,
                           (int)(k.len > 40 ? 40 : k.len), k.p);
        if (m->present >> f & 1)
            return gp_fail(why, GP_EFORMAT, "%s: field '%s' repeated", types[m->type].name,
                           fields[f].key);
        if (!((types[m->type].required | types[m->type].optional) >> f & 1))
            return gp_fail(why, GP_EFORMAT, "'%s' is not a field of %s", fields[f].key,
                           types[m->type].name);
        if ((e = rd_field(&r, m, (gp_field)f, why)) != GP_OK) return e;
        m->present |= GP_FBIT(f);
    }
    if (r.used != (nframes ? (1u << nframes) - 1 : 0u))
        return gp_fail(why, GP_EFORMAT, "%s: %d frames after the header, not every one named",
                       types[m->type].name, nframes);
    return fields_ok(m, why);
}
