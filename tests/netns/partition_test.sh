#!/bin/sh
# partition_test.sh - split networks: 12 hosts in network namespaces (lib.sh),
# one gpdotd each, gpd m = n = 2 (K_f = 5, K_b = 6), a quorum of 7; the
# Fashion-MNIST 784-64-32-10 job with --upload. While it runs, the network
# is split by moving hosts' links to a second bridge, each time for long
# enough that the rest notice (6 peer timeouts), then healed:
#   6 | 6      neither side holds a quorum: both wait, no node commits a step
#   4 | 8      the 8 go on, the 4 wait; healed, the 4 rejoin
#   1 | 11     one node cut off: it waits, the 11 go on; healed, it rejoins
# Each side is asked for its state during the split (a client in a host of
# that side): the nodes of a side without a quorum must report "waiting"
# and must not have committed a step between two looks; a side with one
# must have. After the last heal the job must finish on every node with the
# model train --local gives (largest relative weight difference within
# steps x lr x 1e-9 x 10, as in train_cluster_test.sh) and its test accuracy.
# Run once without faults and once with soft errors in every kind of step.
# Traffic stays inside the namespaces this test makes; all is removed after.
# usage: partition_test.sh BUILD_DIR PYTHON [nofaults|faults]
# (or GP_PARTITION_ONLY=nofaults|faults; GP_PARTITION_EPOCHS sets the job's
# epochs of 938 steps, default 10: the majority side runs 2000-3000 steps
# in each split of 8 | 4 and 11 | 1, since a look from a side without a
# quorum waits for the nodes it cannot reach; with 6 the job once ended
# before the last heal)
set -eu
build=$1
py=$2
only=${3:-${GP_PARTITION_ONLY:-}}
epochs=${GP_PARTITION_EPOCHS:-10}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
gpdotd=$build/daemon/gpdotd
client=$build/client/gpdot-client
data=/usr/share/datasets/fashion-mnist
skip() {
    echo "skipped: $*"
    exit 77
}
tag=gq$$
why=$(netns_usable "$tag") || skip "$why"
[ -r "$data/train-images-idx3-ubyte.gz" ] || skip "Fashion-MNIST is missing (dataset-fashion-mnist)"

N=12
tmp=$(mktemp -d /tmp/gpdot-partition-test-XXXXXX)
stop_daemons() { # and wait until they are gone: the next job's daemons bind the same ports
    for f in "$tmp"/node*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        kill -KILL "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true # this shell's child: reaped, its ports free
        rm -f "$f"
    done
}
cleanup() {
    stop_daemons
    netns_cleanup
    if [ -n "${GP_KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/node*.log; do [ -e "$f" ] && { echo "--- $f" >&2; tail -8 "$f" >&2; }; done
    exit 1
}

netns_hosts $N "$tag"
echo "$N hosts 10.213.0.1-$N and a client 10.213.0.100 on a bridge, in namespaces $tag*"
cfg=$tmp/cluster.yaml
netns_cluster_file "$cfg" "$tmp" 200 2000

# a client on the main bridge, and one inside host H (it reaches H's side)
C() { ip netns exec "${tag}c" "$client" -c "$cfg" "$@"; }
CH() {
    h=$1
    shift
    ip netns exec "$tag$h" "$client" -c "$cfg" "$@"
}
# state and steps of every node a side reaches: "node state step" lines
look() {
    CH "$1" status "$2" --json 2> /dev/null | "$py" -c '
import json, sys
s = json.load(sys.stdin)
for p, (st, n) in enumerate(zip(s["node_states"], s["node_steps"])):
    if st is not None: print(p, st, n)' || true
}
step_of() { C status "$1" --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])"; }
wait_step() { # JOB STEP: until the main side's view has done STEP steps
    for k in $(seq 1 1200); do
        s=$(step_of "$1" 2> /dev/null || echo 0)
        [ "$s" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "step $2 not reached (at $s)"
}
# SIDE_NODES... : the nodes listed must all be up and near each other again
wait_together() {
    t0=$(date +%s%N)
    for k in $(seq 1 600); do
        if look 0 "$1" | "$py" -c '
import sys
rows = [l.split() for l in sys.stdin if l.strip()]
steps = [int(r[2]) for r in rows if r[1] == "running"]
sys.exit(0 if len(steps) == '"$N"' and max(steps) - min(steps) <= 3 else 1)'; then
            echo "    all $N nodes running together again $(( ($(date +%s%N) - t0) / 1000000 )) ms after the heal"
            return 0
        fi
        sleep 0.1
    done
    fail "the nodes did not come together after the heal"
}

# split JOB NAME "B-NODES" QUORUM_SIDE: B-NODES on the second bridge for
# 6 peer timeouts, each side looked at twice, then healed
split() {
    job=$1 name=$2 bnodes=$3 qside=$4
    anodes=""
    for i in $(seq 0 $((N - 1))); do
        case " $bnodes " in *" $i "*) ;; *) anodes="$anodes $i" ;; esac
    done
    for i in $bnodes; do netns_side "$i" 2; done
    echo "  split $name: {$anodes } | { $bnodes }"
    sleep 4 # twice the peer timeout: every node has noticed
    set -- $anodes
    ha=$1
    set -- $bnodes
    hb=$1
    a1=$(look "$ha" "$job" | tr '\n' ';')
    b1=$(look "$hb" "$job" | tr '\n' ';')
    sleep 8
    a2=$(look "$ha" "$job" | tr '\n' ';')
    b2=$(look "$hb" "$job" | tr '\n' ';')
    for i in $bnodes; do netns_side "$i" 1; done
    echo "    side A, 4 s and 12 s into the split: $a1 | $a2"
    echo "    side B: $b1 | $b2"
    "$py" - "$N" "$qside" "$a1" "$a2" "$b1" "$b2" << 'EOF' || fail "split $name: the quorum rule did not hold"
import sys
N, qside = int(sys.argv[1]), sys.argv[2]
def parse(t):
    return {int(r[0]): (r[1], int(r[2])) for r in (x.split() for x in t.split(";") if x.strip())}
a1, a2, b1, b2 = (parse(t) for t in sys.argv[3:7])
quorum = N // 2 + 1
for side, first, second in (("A", a1, a2), ("B", b1, b2)):
    nodes = sorted(second)
    assert nodes, f"side {side} did not answer"
    has_quorum = len(nodes) >= quorum
    assert has_quorum == (qside == side), f"side {side} has {len(nodes)} nodes"
    for p in nodes:
        st, n = second[p]
        before = first.get(p, (None, n))[1]
        if has_quorum:
            assert st == "running" and n > before, f"side {side} node {p}: {st} {before} -> {n}"
        else:
            assert st == "waiting", f"side {side} node {p} is {st}, not waiting"
            assert n == before, f"side {side} node {p} committed steps {before} -> {n} without a quorum"
print("    the quorum rule held: " +
      (f"only side {qside} committed steps" if qside else "neither side committed a step"))
EOF
}

run_job() { # NAME FAULTS(yes|no)
    name=$1
    rm -rf "$tmp/state" "$tmp/model" "$tmp/local"
    for i in $(seq 0 $((N - 1))); do
        OPENBLAS_NUM_THREADS=1 ip netns exec "$tag$i" "$gpdotd" --config "$cfg" --node "$i" \
            >> "$tmp/node$i.log" 2>&1 &
        echo $! > "$tmp/node$i.pid"
    done
    for k in $(seq 1 100); do
        C ping --timeout 500 > /dev/null 2>&1 && break
        [ "$k" = 100 ] && fail "the daemons do not all answer"
        sleep 0.1
    done
    job=$tmp/job.yaml
    cat > "$job" << JOB
name: partition
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 3}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  test_limit: 2000
training: {batch: 64, epochs: $epochs, lr: 0.1, shuffle_seed: 5}
code: {scheme: gpd, m: 2, n: 2}
JOB
    if [ "$2" = yes ]; then
        cat >> "$job" << 'JOB'
faults:
  seed: 4
  rules:
    - {node: all, op: multiply, probability: 0.01, magnitude: 1.0}
    - {node: all, op: encode, probability: 0.004, magnitude: 1.0}
    - {node: all, op: decode, probability: 0.005, magnitude: 1.0}
    - {node: all, op: activation, probability: 0.01, magnitude: 1.0}
    - {node: all, op: hadamard, probability: 0.01, magnitude: 1.0}
    - {node: all, op: update, probability: 0.01, magnitude: 1.0}
JOB
    fi
    OPENBLAS_NUM_THREADS=1 "$client" train --local "$job" -o "$tmp/local" --json \
        > "$tmp/local.json" 2> /dev/null || fail "train --local"
    id=$(C submit "$job" --upload) || fail "submit"
    echo "job $id ($name): $((epochs * 938)) steps on $N nodes"
    wait_step "$id" 100
    split "$id" "6 | 6" "6 7 8 9 10 11" ""
    wait_together "$id"
    wait_step "$id" $(($(step_of "$id") + 80))
    split "$id" "8 | 4" "8 9 10 11" A
    wait_together "$id"
    wait_step "$id" $(($(step_of "$id") + 80))
    split "$id" "11 | 1" "5" A
    wait_together "$id"
    C watch "$id" > "$tmp/watch" 2>&1 || { cat "$tmp/watch"; fail "the job did not finish"; }
    C status "$id" --json > "$tmp/status.json"
    C fetch "$id" -o "$tmp/model" > /dev/null || fail "fetch"
    "$py" - "$tmp" << 'EOF' || fail "$name: the model differs from train --local's"
import json, sys, glob, numpy as np
d = sys.argv[1]
s = json.load(open(d + "/status.json")); l = json.load(open(d + "/local.json"))
assert s["state"] == "done", s["state"]
assert all(st == "done" for st in s["node_states"]), s["node_states"]
worst = max(np.abs(np.load(f) - np.load(d + "/local/" + f.split("/")[-1])).max() /
            np.abs(np.load(d + "/local/" + f.split("/")[-1])).max()
            for f in glob.glob(d + "/model/*.npy"))
bound = s["steps"] * 0.1 * 1e-9 * 10
print(f"  done on all nodes: test accuracy {s['test_accuracy']} (train --local "
      f"{l['test_accuracy']}); largest relative weight difference {worst:.1e} (bound {bound:.1e}); "
      f"errors injected {s['errors_injected']}, corrected {s['errors_corrected']}, steps redone "
      f"{s['steps_redone']}, skipped {s['steps_skipped']}, rollbacks {s['rollbacks']}")
assert s["steps_skipped"] == 0, "a step was skipped"
assert worst <= bound and s["test_accuracy"] == l["test_accuracy"]
EOF
    stop_daemons
}

[ "$only" = faults ] || run_job "no faults" no
[ "$only" = nofaults ] || run_job "soft errors" yes
echo ok
