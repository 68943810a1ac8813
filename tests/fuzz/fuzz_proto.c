/* fuzz_proto.c - the wire protocol's decoder, gp_proto_decode_frames, over
 * any message a peer could send: a header frame, and data frames after it
 * when the input starts with 0xc1 (a byte msgpack never uses), then the
 * number of data frames (mod 5), then each as a 2-byte length and its bytes;
 * the header is the rest.
 *
 * Besides memory errors (ASan), undefined behaviour (UBSan) and leaks, it
 * checks what the decoder promises: only the documented error codes; a
 * decoded message passes gp_proto_check and is accepted by the encoder
 * (both sides check the same things); and encode(decode(encode(m))) gives
 * the same bytes as encode(m), so that nothing is lost or changed between
 * the two halves of the codec. The encoder reads every view the decoder
 * made, so a view reaching outside the frame is an ASan report. */
#include "fuzz.h"
#include "gp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gp_pmsg m;
    gp_msg why = {{0}};
    gp_pstr frames[GP_PROTO_MAX_FRAMES];
    int nframes = 0;
    if (size >= 2 && data[0] == 0xc1) {
        int want = data[1] % (GP_PROTO_MAX_FRAMES + 1);
        data += 2, size -= 2;
        for (; nframes < want && size >= 2; nframes++) {
            size_t len = (size_t)data[0] << 8 | data[1];
            if (len > size - 2) len = size - 2;
            frames[nframes] = (gp_pstr){(const char *)data + 2, len};
            data += 2 + len, size -= 2 + len;
        }
    }
    gp_err e = gp_proto_decode_frames(data, size, frames, nframes, &m, &why);
    if (fuzz_verbose())
        fprintf(stderr, "decode: %s %s %s\n", gp_errname(e), gp_mtype_name(m.type), why.text);
    FUZZ_CHECK(e == GP_OK || e == GP_EFORMAT || e == GP_EVERSION || e == GP_ETYPE,
               "undocumented error %s: %s", gp_errname(e), why.text);
    if (e != GP_OK) return 0;
    FUZZ_CHECK(gp_proto_check(data, size, NULL) == GP_OK, "decoded but fails gp_proto_check");
    /* a matrix's data, inline or in a frame, lies within what was given */
    if (gp_pmsg_has(&m, GP_F_VALUE) && m.v[GP_F_VALUE].m.frame) {
        const gp_pmat *v = &m.v[GP_F_VALUE].m;
        FUZZ_CHECK(v->data == frames[v->frame - 1].p, "a matrix's data is not its frame");
    }

    void *a = NULL, *b = NULL;
    size_t alen = 0, blen = 0;
    gp_pmsg back;
    e = gp_proto_encode(&m, &a, &alen, &why);
    FUZZ_CHECK(e == GP_OK, "a decoded %s does not encode: %s", gp_mtype_name(m.type), why.text);
    e = gp_proto_decode_frames(a, alen, frames, nframes, &back, &why);
    FUZZ_CHECK(e == GP_OK, "a re-encoded %s does not decode: %s", gp_mtype_name(m.type), why.text);
    FUZZ_CHECK(back.type == m.type && back.id == m.id && back.present == m.present,
               "a re-encoded %s decodes to another type, id or set of fields",
               gp_mtype_name(m.type));
    e = gp_proto_encode(&back, &b, &blen, &why);
    FUZZ_CHECK(e == GP_OK, "%s", why.text);
    FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0, "%s: encode(decode(encode(m))) differs",
               gp_mtype_name(m.type));
    free(a);
    free(b);
    return 0;
}
