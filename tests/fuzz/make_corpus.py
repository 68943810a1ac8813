#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into corpus/<target>/, and
proto.dict from the type and field tables of proto/proto.c (python3's
standard library only; the files are checked in, rerun this after changing
it). Small valid inputs of every kind each target reads, and a few near
misses the readers must refuse, a few KB per target in all."""
import gzip
import os
import re
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


# ---- msgpack, after the specification (as much as the protocol uses) -----------------

def mp(x):
    if x is None:
        return b"\xc0"
    if x is True:
        return b"\xc3"
    if x is False:
        return b"\xc2"
    if isinstance(x, int):
        if 0 <= x < 0x80:
            return bytes([x])
        if -32 <= x < 0:
            return struct.pack("b", x)
        if 0 <= x < 1 << 8:
            return b"\xcc" + struct.pack(">B", x)
        if 0 <= x < 1 << 16:
            return b"\xcd" + struct.pack(">H", x)
        if 0 <= x < 1 << 32:
            return b"\xce" + struct.pack(">I", x)
        if 0 <= x:
            return b"\xcf" + struct.pack(">Q", x)
        return b"\xd3" + struct.pack(">q", x)
    if isinstance(x, F32):
        return b"\xca" + struct.pack(">f", x.v)
    if isinstance(x, float):
        return b"\xcb" + struct.pack(">d", x)
    if isinstance(x, str):
        b = x.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(x, bytes):
        if len(x) < 256:
            return b"\xc4" + bytes([len(x)]) + x
        return b"\xc5" + struct.pack(">H", len(x)) + x
    if isinstance(x, list):
        h = bytes([0x90 | len(x)]) if len(x) < 16 else b"\xdc" + struct.pack(">H", len(x))
        return h + b"".join(mp(e) for e in x)
    if isinstance(x, dict):
        h = bytes([0x80 | len(x)]) if len(x) < 16 else b"\xde" + struct.pack(">H", len(x))
        return h + b"".join(mp(k) + mp(v) for k, v in x.items())
    raise TypeError(x)


class F32:
    def __init__(self, v):
        self.v = v


def mat(rows, cols, f32=False):
    vals = [0.5 * i - 1 for i in range(rows * cols)]
    data = struct.pack("<%d%s" % (len(vals), "f" if f32 else "d"), *vals)
    return {"rows": rows, "cols": cols, "dtype": "f32" if f32 else "f64", "data": data}


VERSION = 2  # proto/gp_proto.h GP_PROTO_VERSION


def msg(t, i, body):
    return mp([VERSION, t, i, body])


def framed(header, frames):
    """A header with data frames after it, in fuzz_proto's layout."""
    out = b"\xc1" + bytes([len(frames)])
    for f in frames:
        out += struct.pack(">H", len(f)) + f
    return out + header


def proto():
    m = mat(2, 3)
    data = m.pop("data")
    m["frame"] = 1
    out = {
        # a training exchange as daemons send it: the matrix in frame 1
        "job_partial_frame": framed(msg("JOB_PARTIAL", 13, {"job": 4, "key": 7 << 20, "from": 3,
                                                            "value": m, "ok": True}), [data]),
        "bad_frame_unnamed": framed(msg("PING", 7, {}), [b"\x00" * 8]),
        "hello": msg("HELLO", 1, {"client": "gpdot-client"}),
        "hello_ok": msg("HELLO_OK", 1, {"node": 0, "nodes": 8, "version": VERSION, "cluster": "demo"}),
        "ping": msg("PING", 7, {}),
        "pong": msg("PONG", 300, {"node": 2, "uptime_ms": 70000}),
        "status": msg("STATUS", 2, {}),
        "status_ok": msg("STATUS_OK", 2, {"node": 0, "nodes_up": [0, 1, 2],
                                          "matrices": ["W1", "x.out:2"],
                                          "counters": {"injected": 3, "corrected": 2},
                                          "blas": "SkylakeX (chosen by gpdot; checked)"}),
        "store": msg("STORE", 3, {"name": "W", "rows": 4, "cols": 2, "scheme": "gpd", "m": 2,
                                  "n": 2, "orientation": "row", "block": mat(2, 2)}),
        "ok": msg("OK", 3, {}),
        "multiply": msg("MULTIPLY", 5, {"name": "W", "x": mat(2, 1, True), "out": "y",
                                        "transpose": True}),
        "activate": msg("ACTIVATE", 6, {"name": "y", "fn": "relu", "out": "z",
                                        "derivative": False}),
        "hadamard": msg("HADAMARD", 7, {"a": "y", "b": "z", "out": "d"}),
        "done": msg("DONE", 5, {"out": "y", "rows": 4, "cols": 1, "digest": 2**64 - 59,
                                "wrong": [3], "corrected": 1}),
        "update": msg("UPDATE", 8, {"name": "W", "alpha": -0.125, "delta": "d", "input": "x"}),
        "fetch": msg("FETCH", 9, {"name": "W", "digest_only": True}),
        "matrix": msg("MATRIX", 9, {"name": "W", "digest": 12345, "value": mat(1, 3)}),
        "partials_ok": msg("PARTIALS_OK", 10, {"op": 4, "senders": [1, 2],
                                               "values": [mat(1, 1), mat(1, 2, True)]}),
        "drop": msg("DROP", 11, {"name": "W"}),
        "error": msg("ERROR", 12, {"code": 10, "error": "EFORMAT", "reason": "bad frame"}),
        "partial": msg("PARTIAL", 13, {"op": 4, "phase": "fwd", "from": 3,
                                       "value": mat(2, 1, True)}),
        "job_partial": msg("JOB_PARTIAL", 13, {"job": 4, "key": (1 << 56) | (7 << 20) | 32,
                                               "from": 3, "value": mat(2, 1), "ok": True}),
        "block": msg("BLOCK", 14, {"name": "W", "from": 1, "value": mat(1, 2)}),
        "heartbeat": msg("HEARTBEAT", 0, {"from": 2, "seq": 5, "up": [0, 1, 2, 3]}),
        "put": msg("PUT", 15, {"name": "x", "value": mat(2, 2, True)}),
        "submit": msg("SUBMIT", 16, {"job": 1, "text": b"model: {layers: [4, 2]}\n",
                                     "set": b"training.epochs=1\x00", "train_data": b"1,2,3\n"}),
        "job_status": msg("JOB_STATUS", 17, {"job": 1}),
        "job_info": msg("JOB_INFO", 17, {"job": 1, "name": "fashion", "state": "running",
                                         "epoch": 1, "epochs": 2, "step": 10, "steps": 100,
                                         "counters": {"redo": 1}, "nodes_up": [0, 1],
                                         "elapsed": 1.5, "loss": F32(0.75), "accuracy": 0.5}),
        "cancel": msg("CANCEL", 18, {"job": 1}),
        "join": msg("JOIN", 19, {"from": 5, "job": 1, "step": 120, "gen": 2, "state": "running"}),
        "join_info": msg("JOIN_INFO", 19, {"from": 0, "job": 1, "state": "running", "step": 121,
                                           "gen": 2, "rate": 12.5, "text": b"name: x\n",
                                           "set": b"", "train_data": b"\x00\x00\x08\x03"}),
        "job_info_stats": msg("JOB_INFO", 20, {"job": 2, "name": "j", "state": "done", "epoch": 2,
                                               "epochs": 2, "step": 4, "steps": 4,
                                               "counters": {}, "nodes_up": [0], "elapsed": 0.5,
                                               "node_stats": mat(2, 3)}),
        # refused: the frame that once reserved gigabytes, another version, a map key not a str
        "bad_declared_array": bytes([0xDD, 0x05, 0xF5, 0xE1, 0x00]),
        "bad_version": mp([VERSION + 1, "PING", 1, {}]),
        "bad_key": mp([VERSION, "PING", 1, {}])[:-1] + b"\x81\x01\x02",
    }
    return {k + ".msgpack": v for k, v in out.items()}


# ---- YAML files ---------------------------------------------------------------------

CLUSTER = """cluster: example
nodes:
  - {id: 0, client: "tcp://192.0.2.10:7100", peer: "tcp://192.0.2.10:7200"}
  - {id: 1, client: "tcp://192.0.2.11:7100", peer: "tcp://192.0.2.11:7200"}
  - {id: 2, client: "tcp://192.0.2.12:7100", peer: "tcp://192.0.2.12:7200"}
defaults:
  heartbeat_ms: 500
  peer_timeout_ms: 5000
  state_dir: /var/lib/gpdot
  workers: 1
  blas_threads: 1
  max_message: 268435456
code: {scheme: gpd, m: 2, n: 2}
"""

CLUSTER_FAULTS = """cluster: lab
nodes:
  - id: 1
    client: ipc:///tmp/gpdot-1c
    peer: ipc:///tmp/gpdot-1p
  - {id: 0, client: "tcp://127.0.0.1:7100", peer: "tcp://127.0.0.1:7200"}
code: {scheme: matdot, m: 1, n: 2, orientation: col}
faults:
  seed: 7
  rules:
    - {node: 1, op: multiply, probability: 0.1, magnitude: 1.0}
    - {node: all, op: update, probability: 0.001, magnitude: 1e3}
"""

CLUSTER_SECURITY = """nodes:
  - {id: 0, client: "tcp://a:1", peer: "tcp://a:2", public_key: "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"}
  - {id: 1, client: "tcp://a:3", peer: "tcp://a:4", public_key: "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"}
security:
  clients:
    - {name: alice, public_key: "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"}
"""

CLUSTER_ANCHORS = """nodes:
  - &n {id: 0, client: "tcp://h:1", peer: "tcp://h:2"}
  - *n
"""

JOB = """name: fashion-small
model:
  layers: [784, 64, 10]
  activation: relu
data:
  train:
    images: train-images-idx3-ubyte.gz
    labels: train-labels-idx1-ubyte.gz
  test:
    images: /data/t10k-images-idx3-ubyte.gz
    labels: /data/t10k-labels-idx1-ubyte.gz
  train_limit: 10000
  test_limit: 2000
training:
  batch: 64
  epochs: 1
  lr: 0.1
"""

JOB_FULL = """name: all.keys
model: {layers: [4, 8, 6, 3], activation: [tanh, sigmoid], init_seed: 9}
data:
  train: {csv: train.csv}
  test: {csv: /abs/test.csv}
  normalize: scale
training:
  batch: 16
  epochs: 3
  lr: 0.5
  schedule: cosine
  lr_min: 0.01
  step_every: 2
  gamma: 0.5
  shuffle_seed: 3
  check_every: 5
  checkpoint_every: 10
  max_redo: 2
code: {scheme: polynomial, m: 2, n: 2, orientation: auto}
faults:
  seed: 4
  scale: 0.5
  rules:
    - {node: all, op: multiply, probability: 0.01, magnitude: 1.0}
    - {node: 2, op: hadamard, probability: 0.5}
"""

JOB_STEP = """model:
  layers: [2, 2]
data:
  train: {images: a, labels: b}
  test: {csv: c}
training: {schedule: step, step_every: 1, gamma: 0.1}
"""


def job():
    sets = [b"training.epochs=5", b"model.layers=[784,32,10]", b"data.train.csv=/x/t.csv",
            b"faults.rules=[{node: all, op: decode, probability: 0.2}]", b"code.scheme=",
            b"model.activation=[relu]", b"data.normalize=none"]
    return {
        "fashion-small.yaml": JOB.encode(),
        "all-keys.yaml": JOB_FULL.encode(),
        "step.yaml": JOB_STEP.encode(),
        "with-set.yaml": JOB.encode() + b"".join(b"\x00" + s for s in sets),
        "bad-key.yaml": b"model:\n  layers: [2, 2]\n  layer: 3\n",
    }


# ---- .npy ---------------------------------------------------------------------------

def npy(descr, shape, data, fortran=False, major=1):
    d = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False",
        "(%d,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape)))
    pre = 10 if major == 1 else 12
    hl = len(d) + 1
    hl += (64 - (pre + hl) % 64) % 64
    h = (d + " " * (hl - len(d) - 1) + "\n").encode()
    size = struct.pack("<H", hl) if major == 1 else struct.pack("<I", hl)
    return b"\x93NUMPY" + bytes([major, 0]) + size + h + data


def npy_files():
    return {
        "f8_2x3.npy": npy("<f8", (2, 3), struct.pack("<6d", 1, 2, 3, 4, 5, 6)),
        "f4_4.npy": npy("<f4", (4,), struct.pack("<4f", 1.5, -2, 3, 4)),
        "f8_v2.npy": npy("<f8", (1, 2), struct.pack("<2d", 0.25, -0.5), major=2),
        "f8_v3_col.npy": npy("<f8", (2, 1), struct.pack("<2d", 7, 8), major=3),
        "f8_fortran.npy": npy("<f8", (2, 2), struct.pack("<4d", 1, 3, 2, 4), fortran=True),
        "i8.npy": npy("<i8", (3,), struct.pack("<3q", 1, 2, 3)),
        "f8_big_endian.npy": npy(">f8", (2,), struct.pack(">2d", 1, 2)),
        "f8_3d.npy": npy("<f8", (1, 1, 2), struct.pack("<2d", 1, 2)),
        "f8_empty.npy": npy("<f8", (0, 3), b""),
    }


# ---- IDX and CSV --------------------------------------------------------------------

def idx_images(n, r, c):
    return struct.pack(">IIII", 0x803, n, r, c) + bytes((i * 37) & 0xFF for i in range(n * r * c))


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def gz(b):
    return gzip.compress(b, mtime=0)


def idx_input(img, lab, limit=0):
    return bytes([limit]) + struct.pack("<I", len(img)) + img + lab


def idx():
    img, lab = idx_images(3, 2, 2), idx_labels([0, 2, 1])
    return {
        "plain.idx": idx_input(img, lab),
        "gzip.idx": idx_input(gz(img), gz(lab)),
        "gzip_images_limit2.idx": idx_input(gz(img), lab, 2),
        "gzip_two_members.idx": idx_input(gz(img[:9]) + gz(img[9:]), gz(lab), 1),
        "plain_5x4x4.idx": idx_input(idx_images(5, 4, 4), idx_labels([9, 0, 1, 2, 3])),
        "bad_truncated.idx": idx_input(img[:-1], lab),
    }


def csv():
    return {
        "header.csv": b"\x00label,a,b\n0,1.5,2\n1,-3,4e2\n2,0,0\n",
        "plain_crlf_limit1.csv": b"\x01" + b"3,1,2,3\r\n1,4,5,6\r\n\r\n",
        "bad_columns.csv": b"\x00" + b"1,2\n1,2,3\n",
    }


def proto_dict():
    src = open(os.path.join(HERE, "..", "..", "proto", "proto.c")).read()
    types = re.findall(r'\[GP_MT_\w+\] = \{"(\w+)"', src)
    fields = re.findall(r'\[GP_F_\w+\] = \{"(\w+)"', src)

    def esc(b):
        return "".join(chr(c) if 32 <= c < 127 and chr(c) not in '"\\' else "\\x%02x" % c
                       for c in b)

    markers = {"array4": b"\x94", "version1": b"\x01", "map_empty": b"\x80", "map16": b"\xde",
               "map32": b"\xdf", "array16": b"\xdc", "array32": b"\xdd", "str8": b"\xd9",
               "str16": b"\xda", "str32": b"\xdb", "bin8": b"\xc4", "bin16": b"\xc5",
               "bin32": b"\xc6", "f32": b"\xca", "f64": b"\xcb", "u8": b"\xcc", "u16": b"\xcd",
               "u32": b"\xce", "u64": b"\xcf", "i8": b"\xd0", "i64": b"\xd3", "true": b"\xc3",
               "false": b"\xc2", "nil": b"\xc0", "fixext1": b"\xd4",
               "dtype_f64": mp("dtype") + mp("f64"), "dtype_f32": mp("dtype") + mp("f32"),
               "rows": mp("rows"), "cols": mp("cols"), "data": mp("data"), "frame": mp("frame"),
               "frames": b"\xc1", "matrix_map": b"\x84"}
    lines = ["# libFuzzer dictionary for fuzz_proto: msgpack markers, the message types and",
             "# field keys as msgpack strings (written by make_corpus.py from proto/proto.c)."]
    lines += ['%s="%s"' % (k, esc(v)) for k, v in markers.items()]
    lines += ['type_%s="%s"' % (t.lower(), esc(mp(t))) for t in types if t != "NONE"]
    lines += ['field_%s="%s"' % (f, esc(mp(f))) for f in fields]
    with open(os.path.join(HERE, "proto.dict"), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    proto_dict()
    sets = {
        "proto": proto(),
        "config": {"cluster.yaml": CLUSTER.encode(), "faults.yaml": CLUSTER_FAULTS.encode(),
                   "security.yaml": CLUSTER_SECURITY.encode(),
                   "anchors.yaml": CLUSTER_ANCHORS.encode()},
        "job": job(),
        "npy": npy_files(),
        "idx": idx(),
        "csv": csv(),
    }
    for target, files in sets.items():
        d = os.path.join(OUT, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        total = sum(len(v) for v in files.values())
        print("%-7s %2d files, %5d bytes" % (target, len(files), total), file=sys.stderr)


if __name__ == "__main__":
    main()
