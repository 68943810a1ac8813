/* proto_test.c - the wire codec against hand-written msgpack bytes (the
 * reference: the msgpack specification, byte by byte), round trips of every
 * message type, and every kind of bad frame PROTOCOL.md lists. */
#include <stdint.h>

#include "../testlib.h"
#include "gp_proto.h"
#include "gp_rng.h"

static gp_err dec(const void *b, size_t n, gp_pmsg *m)
{
    gp_msg why = {{0}};
    gp_err e = gp_proto_decode(b, n, m, &why);
    if (getenv("DBG")) fprintf(stderr, "  %s: %s\n", gp_errname(e), why.text);
    return e;
}

/* [1, "PING", 7, {}] and [1, "PONG", 300, {"node": 2, "uptime_ms": 70000}],
 * written out from the msgpack specification. */
static void known_bytes(void)
{
    static const uint8_t ping[] = {0x94, 0x02, 0xa4, 'P', 'I', 'N', 'G', 0x07, 0x80};
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_PING, 7);
    void *buf;
    size_t len;
    REQUIRE(gp_proto_encode(&m, &buf, &len, NULL) == GP_OK);
    CHECK(len == sizeof ping && memcmp(buf, ping, len) == 0);
    free(buf);

    static const uint8_t pong[] = {0x94, 0x02, 0xa4, 'P', 'O', 'N',  'G',  0xcd, 0x01, 0x2c, 0x82,
                                   0xa4, 'n',  'o',  'd', 'e', 0x02, 0xa9, 'u',  'p',  't',  'i',
                                   'm',  'e',  '_',  'm', 's', 0xce, 0x00, 0x01, 0x11, 0x70};
    REQUIRE(dec(pong, sizeof pong, &m) == GP_OK);
    CHECK(m.type == GP_MT_PONG && m.id == 300);
    CHECK(m.v[GP_F_NODE].u == 2 && m.v[GP_F_UPTIME_MS].u == 70000);
    CHECK(m.present == (GP_FBIT(GP_F_NODE) | GP_FBIT(GP_F_UPTIME_MS)));

    /* MULTIPLY with a 1x2 f64 matrix {1.0, -2.5}: fields in any order */
    static const uint8_t mul[] = {0x94,
                                  0x02,
                                  0xa8,
                                  'M',
                                  'U',
                                  'L',
                                  'T',
                                  'I',
                                  'P',
                                  'L',
                                  'Y',
                                  0x05,
                                  0x84,
                                  0xa3,
                                  'o',
                                  'u',
                                  't',
                                  0xa1,
                                  'y',
                                  0xa4,
                                  'n',
                                  'a',
                                  'm',
                                  'e',
                                  0xa2,
                                  'W',
                                  '1',
                                  0xa9,
                                  't',
                                  'r',
                                  'a',
                                  'n',
                                  's',
                                  'p',
                                  'o',
                                  's',
                                  'e',
                                  0xc3,
                                  0xa1,
                                  'x',
                                  0x84,
                                  0xa4,
                                  'd',
                                  'a',
                                  't',
                                  'a',
                                  0xc4,
                                  16,
                                  /* 1.0 */ 0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0xf0,
                                  0x3f,
                                  /* -2.5 */ 0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0x00,
                                  0x04,
                                  0xc0,
                                  0xa5,
                                  'd',
                                  't',
                                  'y',
                                  'p',
                                  'e',
                                  0xa3,
                                  'f',
                                  '6',
                                  '4',
                                  0xa4,
                                  'r',
                                  'o',
                                  'w',
                                  's',
                                  0x01,
                                  0xa4,
                                  'c',
                                  'o',
                                  'l',
                                  's',
                                  0x02};
    REQUIRE(dec(mul, sizeof mul, &m) == GP_OK);
    CHECK(m.type == GP_MT_MULTIPLY && m.id == 5 && m.v[GP_F_TRANSPOSE].b);
    CHECK(m.v[GP_F_NAME].s.len == 2 && memcmp(m.v[GP_F_NAME].s.p, "W1", 2) == 0);
    gp_pmat x = m.v[GP_F_X].m;
    CHECK(x.rows == 1 && x.cols == 2 && !x.f32);
    double v[2];
    memcpy(v, x.data, sizeof v);
    CHECK(v[0] == 1.0 && v[1] == -2.5);
    CHECK((const uint8_t *)x.data > mul && (const uint8_t *)x.data < mul + sizeof mul); /* a view */
}

/* Every type, with every field it allows, encoded and decoded back. */
static void round_trip_every_type(void)
{
    double d6[6] = {1, 2, 3, 4, 5, 6};
    float f6[6] = {1, 2, 3, 4, 5, 6};
    gp_pmat mat = {2, 3, false, d6, 0}, mat32 = {3, 2, true, f6, 0};
    uint64_t ids[3] = {0, 5, 63};
    const char *names[2] = {"W1", "x.out:2"};
    gp_pcounter cnt[2] = {{{"injected", 8}, 12}, {{"corrected", 9}, 11}};
    static char blob[70000]; /* binary, longer than any string may be */
    for (size_t i = 0; i < sizeof blob; i++) blob[i] = (char)(i * 131 + 7);
    for (int t = 1; t < GP_MT_COUNT_; t++) {
        gp_pmsg m;
        gp_pmsg_init(&m, (gp_mtype)t, 1000 + (uint64_t)t);
        for (int f = 0; f < GP_F_COUNT_; f++) { /* every field the type takes */
            if (!gp_mtype_allows((gp_mtype)t, (gp_field)f)) continue;
            gp_pmsg one = m;
            switch (f) {
            case GP_F_ALPHA:
            case GP_F_LOSS:
            case GP_F_ACCURACY:
            case GP_F_RATE:
            case GP_F_ELAPSED:
            case GP_F_MEAN:
            case GP_F_SCALE:
                gp_pmsg_f64(&one, f, -0.125);
                break;
            case GP_F_TRANSPOSE:
            case GP_F_DIGEST_ONLY:
            case GP_F_DERIVATIVE:
            case GP_F_OK:
            case GP_F_UNVERIFIED:
                gp_pmsg_bool(&one, f, true);
                break;
            case GP_F_TEXT:
            case GP_F_SET:
            case GP_F_TRAIN_DATA:
            case GP_F_TRAIN_LABELS:
            case GP_F_TEST_DATA:
            case GP_F_TEST_LABELS:
                one.v[f].s = (gp_pstr){blob, sizeof blob};
                gp_pmsg_mark(&one, f);
                break;
            case GP_F_BLOCK:
            case GP_F_VALUE:
            case GP_F_NODE_STATS:
                gp_pmsg_mat(&one, f, mat);
                break;
            case GP_F_X:
                gp_pmsg_mat(&one, f, mat32);
                break;
            case GP_F_NODES_UP:
            case GP_F_WRONG:
            case GP_F_SENDERS:
            case GP_F_UP:
                gp_pmsg_ids(&one, f, ids, 3);
                break;
            case GP_F_MATRICES:
                gp_pmsg_names(&one, f, names, 2);
                break;
            case GP_F_VALUES: {
                gp_pmat two[2] = {mat, mat32};
                gp_pmsg_mats(&one, f, two, 2);
                break;
            }
            case GP_F_COUNTERS:
                gp_pmsg_counters(&one, f, cnt, 2);
                break;
            case GP_F_CLIENT:
            case GP_F_CLUSTER:
            case GP_F_SCHEME:
            case GP_F_ORIENTATION:
            case GP_F_FN:
            case GP_F_ERROR:
            case GP_F_REASON:
            case GP_F_PHASE:
            case GP_F_STATE:
            case GP_F_BLAS:
                gp_pmsg_str(&one, f, "some text, with spaces");
                break;
            case GP_F_NAME:
            case GP_F_OUT:
            case GP_F_A:
            case GP_F_B:
            case GP_F_DELTA:
            case GP_F_INPUT:
                gp_pmsg_str(&one, f, "layer1.W");
                break;
            default:
                gp_pmsg_uint(&one, f, 0xfedcba9876543210ull + (uint64_t)f);
                break;
            }
            m = one;
        }
        void *buf;
        size_t len;
        gp_msg why = {{0}};
        gp_err e = gp_proto_encode(&m, &buf, &len, &why);
        CHECKF(e == GP_OK, "%s: %s", gp_mtype_name((gp_mtype)t), why.text);
        if (e != GP_OK) continue;
        gp_pmsg back;
        e = dec(buf, len, &back);
        CHECKF(e == GP_OK, "%s decodes: %s", gp_mtype_name((gp_mtype)t), gp_errname(e));
        CHECK(back.type == m.type && back.id == m.id && back.present == m.present);
        for (int f = 0; f < GP_F_COUNT_; f++) {
            if (!gp_pmsg_has(&m, f)) continue;
            const gp_pval *a = &m.v[f], *b = &back.v[f];
            bool same = true;
            switch (f) {
            case GP_F_ALPHA:
            case GP_F_LOSS:
            case GP_F_ACCURACY:
            case GP_F_RATE:
            case GP_F_ELAPSED:
            case GP_F_MEAN:
            case GP_F_SCALE:
                same = a->f == b->f;
                break;
            case GP_F_TRANSPOSE:
            case GP_F_DIGEST_ONLY:
            case GP_F_DERIVATIVE:
            case GP_F_OK:
            case GP_F_UNVERIFIED:
                same = a->b == b->b;
                break;
            case GP_F_TEXT:
            case GP_F_SET:
            case GP_F_TRAIN_DATA:
            case GP_F_TRAIN_LABELS:
            case GP_F_TEST_DATA:
            case GP_F_TEST_LABELS:
                same = b->s.len == sizeof blob && memcmp(b->s.p, blob, sizeof blob) == 0;
                break;
            case GP_F_BLOCK:
            case GP_F_VALUE:
            case GP_F_X:
                same = a->m.rows == b->m.rows && a->m.cols == b->m.cols && a->m.f32 == b->m.f32 &&
                       memcmp(a->m.data, b->m.data,
                              (size_t)a->m.rows * a->m.cols * (a->m.f32 ? 4 : 8)) == 0;
                break;
            case GP_F_NODES_UP:
            case GP_F_WRONG:
            case GP_F_SENDERS:
            case GP_F_UP:
                same = b->n == 3 && memcmp(back.ids, ids, sizeof ids) == 0;
                break;
            case GP_F_MATRICES:
                same = b->n == 2 && back.names[1].len == 7 &&
                       memcmp(back.names[1].p, "x.out:2", 7) == 0;
                break;
            case GP_F_VALUES:
                same = b->n == 2 && back.mats[1].f32 && back.mats[1].rows == 3 &&
                       memcmp(back.mats[1].data, f6, sizeof f6) == 0;
                break;
            case GP_F_COUNTERS:
                same = b->n == 2 && back.counters[1].value == 11 && back.counters[1].key.len == 9 &&
                       memcmp(back.counters[1].key.p, "corrected", 9) == 0;
                break;
            default:
                if (f == GP_F_CLIENT || f == GP_F_CLUSTER || f == GP_F_SCHEME ||
                    f == GP_F_ORIENTATION || f == GP_F_FN || f == GP_F_ERROR || f == GP_F_REASON ||
                    f == GP_F_PHASE || f == GP_F_STATE || f == GP_F_NAME || f == GP_F_OUT ||
                    f == GP_F_A || f == GP_F_B || f == GP_F_DELTA || f == GP_F_INPUT ||
                    f == GP_F_BLAS)
                    same = a->s.len == b->s.len && memcmp(a->s.p, b->s.p, a->s.len) == 0;
                else
                    same = a->u == b->u;
            }
            CHECKF(same, "%s field %s", gp_mtype_name((gp_mtype)t), gp_field_key(f));
        }
        free(buf);
    }
}

/* Encodes a valid MULTIPLY into buf; returns its length. */
static size_t valid_multiply(void **buf)
{
    static double d[4] = {1, 2, 3, 4};
    gp_pmsg m;
    gp_pmsg_init(&m, GP_MT_MULTIPLY, 42);
    gp_pmsg_str(&m, GP_F_NAME, "W");
    gp_pmsg_str(&m, GP_F_OUT, "Y");
    gp_pmsg_mat(&m, GP_F_X, (gp_pmat){2, 2, false, d, 0});
    size_t len;
    gp_proto_encode(&m, buf, &len, NULL);
    return len;
}

/* The frame that makes msgpack-c reserve gigabytes, and its relatives: each
 * refused at once for claiming more than it holds. */
static void declared_sizes(void)
{
    static const uint8_t frames[][6] = {
        {0xdd, 0x05, 0xf5, 0xe1, 0x00},       /* array of 100 000 000 */
        {0xdf, 0x05, 0xf5, 0xe1, 0x00},       /* map of 100 000 000 */
        {0xc6, 0xff, 0xff, 0xff, 0xff},       /* bin of 4 GiB */
        {0xdb, 0x7f, 0xff, 0xff, 0xff},       /* str of 2 GiB */
        {0x94, 0x02, 0xdc, 0xff, 0xff, 0x00}, /* array of 65535 inside */
    };
    const size_t lens[] = {5, 5, 5, 5, 6};
    for (size_t i = 0; i < 5; i++) {
        gp_pmsg m;
        double t0 = tl_now();
        CHECK(dec(frames[i], lens[i], &m) == GP_EFORMAT);
        CHECK(tl_now() - t0 < 0.01);
    }
    /* 5000 nils: every length fits, but more objects than a message may have */
    size_t n = 3 + 5000;
    uint8_t *b = malloc(n);
    b[0] = 0xdc;
    b[1] = 5000 >> 8;
    b[2] = 5000 & 0xff;
    memset(b + 3, 0xc0, 5000);
    gp_pmsg m;
    CHECK(dec(b, n, &m) == GP_EFORMAT);
    free(b);
    /* nested 9 deep */
    uint8_t deep[] = {0x94, 0x02, 0xa4, 'P',  'I',  'N',  'G',  0x01, 0x81, 0xa1,
                      'q',  0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x90};
    CHECK(dec(deep, sizeof deep, &m) == GP_EFORMAT);
}

static void truncated_and_trailing(void)
{
    void *buf;
    size_t len = valid_multiply(&buf);
    gp_pmsg m;
    REQUIRE(dec(buf, len, &m) == GP_OK);
    for (size_t n = 0; n < len; n++) CHECKF(dec(buf, n, &m) == GP_EFORMAT, "prefix of %zu", n);
    uint8_t *more = malloc(len + 1);
    memcpy(more, buf, len);
    more[len] = 0xc0;
    CHECK(dec(more, len + 1, &m) == GP_EFORMAT);
    free(more);
    free(buf);
}

/* Replaces the first occurrence of `from` in a copy of buf by `to`. */
static uint8_t *patch(const void *buf, size_t len, const void *from, size_t nf, const void *to,
                      size_t nt, size_t *out)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i + nf <= len; i++)
        if (memcmp(b + i, from, nf) == 0) {
            uint8_t *c = malloc(len - nf + nt);
            memcpy(c, b, i);
            memcpy(c + i, to, nt);
            memcpy(c + i + nt, b + i + nf, len - i - nf);
            *out = len - nf + nt;
            return c;
        }
    return NULL;
}

static void wrong_fields(void)
{
    void *buf;
    size_t len = valid_multiply(&buf), n;
    gp_pmsg m;
    struct {
        const char *what;
        const char *from, *to;
        size_t nf, nt;
        gp_err want;
    } cases[] = {
        {"version 3", "\x94\x02", "\x94\x03", 2, 2, GP_EVERSION},
        {"unknown type", "\xa8MULTIPLY", "\xa8MULTIPLX", 9, 9, GP_ETYPE},
        {"name a number", "\xa4name\xa1W", "\xa4name\x07", 7, 6, GP_EFORMAT},
        {"unknown field", "\xa3out", "\xa3oot", 4, 4, GP_EFORMAT},
        {"field of another type", "\xa3out",
         "\xa2"
         "fn",
         4, 3, GP_EFORMAT},
        {"bad name", "\xa4name\xa1W", "\xa4name\xa1/", 7, 7, GP_EFORMAT},
        {"empty name", "\xa4name\xa1W", "\xa4name\xa0", 7, 6, GP_EFORMAT},
        {"negative rows", "\xa4rows\x02", "\xa4rows\xff", 6, 6, GP_EFORMAT},
        {"zero rows", "\xa4rows\x02", "\xa4rows\x00", 6, 6, GP_EFORMAT},
        {"rows 3: data too short", "\xa4rows\x02", "\xa4rows\x03", 6, 6, GP_EFORMAT},
        {"rows * cols overflows", "\xa4rows\x02", "\xa4rows\xce\xff\xff\xff\xff", 6, 10,
         GP_EFORMAT},
        {"dtype f16",
         "\xa3"
         "f64",
         "\xa3"
         "f16",
         4, 4, GP_EFORMAT},
        {"data a string",
         "\xa4"
         "data\xc4",
         "\xa4"
         "data\xd9",
         6, 6, GP_EFORMAT},
        {"key not a string", "\xa3out", "\x03out", 4, 4, GP_EFORMAT},
        {"ext type", "\xa3out\xa1Y", "\xa3out\xd4\x01\x00", 6, 7, GP_EFORMAT},
        {"never-used tag", "\xa3out\xa1Y", "\xa3out\xc1", 6, 5, GP_EFORMAT},
        {"id negative", "\xa8MULTIPLY\x2a", "\xa8MULTIPLY\xd0\x80", 10, 11, GP_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *c = patch(buf, len, cases[i].from, cases[i].nf, cases[i].to, cases[i].nt, &n);
        REQUIRE(c);
        gp_err e = dec(c, n, &m);
        CHECKF(e == cases[i].want, "%s: %s, expected %s", cases[i].what, gp_errname(e),
               gp_errname(cases[i].want));
        if (e == GP_EVERSION || e == GP_ETYPE) CHECK(m.id == 42); /* for the error reply */
        free(c);
    }
    /* a missing required field, and a repeated one: built by hand */
    static const uint8_t missing[] = {0x94, 0x02, 0xa5, 'F', 'E', 'T', 'C', 'H', 0x01, 0x80};
    CHECK(dec(missing, sizeof missing, &m) == GP_EFORMAT);
    static const uint8_t twice[] = {0x94, 0x02, 0xa5, 'F', 'E', 'T', 'C',  'H',
                                    0x01, 0x82, 0xa4, 'n', 'a', 'm', 'e',  0xa1,
                                    'a',  0xa4, 'n',  'a', 'm', 'e', 0xa1, 'b'};
    CHECK(dec(twice, sizeof twice, &m) == GP_EFORMAT);
    /* Found by tests/fuzz: a version or type of the wrong type was read past
     * only its tag, so the next read started inside it (\xab read as a tag is
     * a string of 11 bytes, \xdb one of 2 GiB) and ran past the frame. Now
     * each is refused, and the id after it still read for the error reply. */
    static const uint8_t inside[][12] = {
        {0x94, 0xa1, 0xab, 0x74, 0x03, 0xa0}, /* ["\xab", 116, 3, ""] */
        {0x94, 0xa5, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0xa1, 'X', 0x2a, 0x80}, /* [str, "X", 42, {}] */
        {0x94, 0x02, 0x92, 0xa1, 0xdb, 0x01, 0x2a, 0x80},           /* [2, ["\xdb", 1], 42, {}] */
        {0x94, 0x81, 0xa1, 'k', 0xa1, 0xab, 0xa1, 'X', 0x2a, 0x80}, /* [{k: "\xab"}, "X", 42, {}] */
    };
    static const size_t inside_len[] = {6, 11, 8, 10};
    static const uint64_t inside_id[] = {3, 42, 42, 42};
    for (size_t i = 0; i < sizeof inside / sizeof inside[0]; i++) {
        uint8_t *c = malloc(inside_len[i]); /* exactly the frame: ASan sees a read past it */
        memcpy(c, inside[i], inside_len[i]);
        m.id = 7;
        CHECKF(dec(c, inside_len[i], &m) == GP_EFORMAT && m.id == inside_id[i],
               "frame %zu: id %llu", i, (unsigned long long)m.id);
        free(c);
    }
    static const uint8_t notarray[] = {0x84, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    CHECK(dec(notarray, sizeof notarray, &m) == GP_EFORMAT);
    CHECK(dec(NULL, 0, &m) == GP_EFORMAT);
    free(buf);
}

/* Encoding refuses what decoding would refuse. */
static void encode_refuses(void)
{
    gp_pmsg m;
    void *b;
    size_t n;
    gp_pmsg_init(&m, GP_MT_FETCH, 1);
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_EINVAL); /* no name */
    gp_pmsg_str(&m, GP_F_NAME, "has space");
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_EINVAL);
    gp_pmsg_str(&m, GP_F_NAME, "ok");
    gp_pmsg_uint(&m, GP_F_STEP, 3); /* not a FETCH field */
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_EINVAL);
    gp_pmsg_init(&m, (gp_mtype)99, 1);
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_ETYPE);
    /* one meaning per key: a client product's PARTIAL has no exchange key,
     * a training exchange's JOB_PARTIAL needs one (fields past the 64th) */
    static const double one[1] = {1.0};
    gp_pmsg_init(&m, GP_MT_PARTIAL, 1);
    gp_pmsg_uint(&m, GP_F_OP, 1);
    gp_pmsg_str(&m, GP_F_PHASE, "fwd");
    gp_pmsg_uint(&m, GP_F_FROM, 2);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){1, 1, false, one, 0});
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_OK);
    free(b);
    gp_pmsg_uint(&m, GP_F_KEY, 7);
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_EINVAL);
    gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, 1);
    gp_pmsg_uint(&m, GP_F_JOB, 1);
    gp_pmsg_uint(&m, GP_F_FROM, 2);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){1, 1, false, one, 0});
    CHECK(gp_proto_encode(&m, &b, &n, NULL) == GP_EINVAL); /* no key */
    gp_pmsg_uint(&m, GP_F_KEY, (uint64_t)1 << 56 | 7u << 20 | 32);
    REQUIRE(gp_proto_encode(&m, &b, &n, NULL) == GP_OK);
    gp_pmsg back;
    CHECK(dec(b, n, &back) == GP_OK && back.type == GP_MT_JOB_PARTIAL &&
          gp_pmsg_has(&back, GP_F_KEY) && back.v[GP_F_KEY].u == m.v[GP_F_KEY].u &&
          !gp_pmsg_has(&back, GP_F_STEP));
    free(b);
    uint64_t many[GP_PROTO_MAX_LIST + 1] = {0};
    gp_pmsg_init(&m, GP_MT_HEARTBEAT, 1);
    CHECK(gp_pmsg_ids(&m, GP_F_UP, many, GP_PROTO_MAX_LIST + 1) == GP_ERANGE);
}

/* Random corruption of valid frames: decoding never crashes or reads out of
 * bounds (run under AddressSanitizer in CI), and what it accepts encodes
 * back to a frame that decodes to the same message. */
static void random_corruption(void)
{
    void *buf;
    size_t len = valid_multiply(&buf);
    gp_rng r;
    gp_rng_seed(&r, 9);
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        uint8_t *c = malloc(len);
        memcpy(c, buf, len);
        int flips = 1 + (int)gp_rng_below(&r, 3);
        for (int k = 0; k < flips; k++)
            c[gp_rng_below(&r, len)] ^= (uint8_t)(1u << gp_rng_below(&r, 8));
        size_t n = gp_rng_below(&r, 8) == 0 ? gp_rng_below(&r, len + 1) : len;
        gp_pmsg m;
        if (dec(c, n, &m) == GP_OK) {
            accepted++;
            void *b2;
            size_t n2;
            gp_pmsg back;
            CHECK(gp_proto_encode(&m, &b2, &n2, NULL) == GP_OK);
            CHECK(dec(b2, n2, &back) == GP_OK && back.type == m.type && back.present == m.present);
            free(b2);
        }
        free(c);
    }
    printf("  %d of 20000 corrupted frames still valid messages (flipped data bits)\n", accepted);
    free(buf);
}

/* A matrix's data in a frame after the header: encoded as "frame": k, read
 * back as a view into that frame; every way the frames and the header can
 * disagree is refused with a reason. */
static void data_frames(void)
{
    static double d[6] = {1, 2, 3, 4, 5, 6};
    gp_pmsg m, back;
    void *b;
    size_t n;
    gp_msg why = {{0}};
    gp_pmsg_init(&m, GP_MT_JOB_PARTIAL, 9);
    gp_pmsg_uint(&m, GP_F_JOB, 1);
    gp_pmsg_uint(&m, GP_F_KEY, 77);
    gp_pmsg_uint(&m, GP_F_FROM, 3);
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){2, 3, false, d, 1});
    REQUIRE(gp_proto_encode(&m, &b, &n, NULL) == GP_OK);
    CHECK(n < 80); /* the header alone: no data in it */
    gp_pstr frame = {(const char *)d, sizeof d};
    CHECK(gp_proto_decode_frames(b, n, &frame, 1, &back, &why) == GP_OK);
    CHECK(back.v[GP_F_VALUE].m.data == (const void *)d && back.v[GP_F_VALUE].m.frame == 1 &&
          back.v[GP_F_VALUE].m.rows == 2 && back.v[GP_F_VALUE].m.cols == 3);
    CHECK(back.v[GP_F_KEY].u == 77);
    /* no frame where the header names one */
    CHECK(gp_proto_decode(b, n, &back, &why) == GP_EFORMAT && strstr(why.text, "frame 1"));
    /* a frame of the wrong size */
    gp_pstr shortf = {(const char *)d, sizeof d - 8};
    CHECK(gp_proto_decode_frames(b, n, &shortf, 1, &back, &why) == GP_EFORMAT &&
          strstr(why.text, "48 bytes of data expected, 40 sent"));
    /* a frame nobody names */
    gp_pstr two[2] = {frame, frame};
    CHECK(gp_proto_decode_frames(b, n, two, 2, &back, &why) == GP_EFORMAT &&
          strstr(why.text, "not every one named"));
    CHECK(gp_proto_decode_frames(b, n, two, GP_PROTO_MAX_FRAMES + 1, &back, &why) == GP_EFORMAT);
    free(b);
    /* inline data with frames after it */
    gp_pmsg_mat(&m, GP_F_VALUE, (gp_pmat){2, 3, false, d, 0});
    REQUIRE(gp_proto_encode(&m, &b, &n, NULL) == GP_OK);
    CHECK(gp_proto_decode_frames(b, n, &frame, 1, &back, &why) == GP_EFORMAT);
    CHECK(gp_proto_decode_frames(b, n, NULL, 0, &back, &why) == GP_OK &&
          back.v[GP_F_VALUE].m.frame == 0);
    free(b);
    /* a matrix with both data and a frame; one frame named twice */
    static const uint8_t both[] = {
        0x94, 0x02, 0xab, 'J',  'O',  'B',  '_',  'P',  'A',  'R',  'T',  'I',  'A',  'L',
        0x01, 0x84, 0xa3, 'j',  'o',  'b',  0x01, 0xa3, 'k',  'e',  'y',  0x02, 0xa4, 'f',
        'r',  'o',  'm',  0x03, 0xa5, 'v',  'a',  'l',  'u',  'e',  0x85, 0xa4, 'r',  'o',
        'w',  's',  0x01, 0xa4, 'c',  'o',  'l',  's',  0x01, 0xa5, 'd',  't',  'y',  'p',
        'e',  0xa3, 'f',  '6',  '4',  0xa5, 'f',  'r',  'a',  'm',  'e',  0x01, 0xa4, 'd',
        'a',  't',  'a',  0xc4, 0x08, 0,    0,    0,    0,    0,    0,    0xf0, 0x3f};
    gp_pstr eight = {(const char *)d, 8};
    CHECK(gp_proto_decode_frames(both, sizeof both, &eight, 1, &back, &why) == GP_EFORMAT &&
          strstr(why.text, "a second data"));
}

static const test_case cases[] = {
    {"known_bytes", known_bytes},
    {"data_frames", data_frames},
    {"round_trip_every_type", round_trip_every_type},
    {"declared_sizes", declared_sizes},
    {"truncated_and_trailing", truncated_and_trailing},
    {"wrong_fields", wrong_fields},
    {"encode_refuses", encode_refuses},
    {"random_corruption", random_corruption},
};

TEST_MAIN(cases)
