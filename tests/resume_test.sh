#!/bin/sh
# resume_test.sh - durable state: a local 8-node cluster trains a job with
# checkpoints every 10 steps; every daemon is killed with SIGKILL mid-job and
# started again.
#   (a) the job resumes from the last checkpoint on its own and finishes with
#       the model train --local makes (so the same accuracy)
#   (b) the same, with node 2's newest checkpoint truncated and a bit flipped
#       in node 5's: both are refused (checksum, length), and those nodes
#       rebuild their blocks from the peers' checkpoints
# usage: resume_test.sh BUILD_DIR PYTHON
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup resume "$1" "$2"
gp_need_fashion
cd "$tmp"
job=$tmp/job.yaml
cat > "$job" <<JOB
name: resume
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 3}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  train_limit: 12800
  test_limit: 2000
training: {batch: 64, epochs: 1, lr: 0.1, shuffle_seed: 5, checkpoint_every: 10}
code: {scheme: gpd, m: 2, n: 2}
JOB
cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/c" --timeout-ms 2000)
C() { "$client" -c "$cfg" "$@"; }
json() { "$py" -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
step_of() { C status "$1" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])" 2>/dev/null || echo 0; }
# the same command line as cluster.sh's
start_all() {
    for i in 0 1 2 3 4 5 6 7; do
        nohup "$gpdotd" --config "$cfg" --node $i >> "$tmp/c/node$i.log" 2>&1 &
        echo $! > "$tmp/c/node$i.pid"
    done
}
kill_all() {
    for i in 0 1 2 3 4 5 6 7; do kill -KILL "$(cat "$tmp/c/node$i.pid")" 2>/dev/null || true; done
    for i in 0 1 2 3 4 5 6 7; do
        while kill -0 "$(cat "$tmp/c/node$i.pid")" 2>/dev/null; do sleep 0.05; done
    done
}
same() {
    "$py" - "$1" "$2" "$3" <<'PY' || fail "models $1 and $2 differ"
import sys, glob, numpy as np
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
worst = 0.0
for f in sorted(glob.glob(b + "/W*.npy")) + sorted(glob.glob(b + "/b*.npy")):
    x = np.load(a + f[len(b):]); y = np.load(f)
    worst = max(worst, np.abs(x - y).max() / np.abs(y).max())
print(f"  {a} against {b}: largest relative difference {worst:.1e} (at most {tol:g})")
sys.exit(0 if worst <= tol else 1)
PY
}

"$client" train --local "$job" -o local --json > local.json 2> /dev/null || fail "train --local"
echo "  train --local: test accuracy $(json local.json test_accuracy)"

# run NAME KILL_AT [DAMAGE]: submit, SIGKILL all at step >= KILL_AT, restart, finish
run() {
    name=$1 at=$2 damage=${3:-}
    id=$(C submit "$job") || fail "$name: submit"
    i=0
    while [ "$(step_of "$id")" -lt "$at" ]; do
        i=$((i + 1)); [ $i -lt 600 ] || fail "$name: the job does not reach step $at"; sleep 0.05
    done
    seen=$(step_of "$id")
    kill_all
    echo "  $name: every daemon killed with SIGKILL at step $seen; node 0 holds: $(cd "$tmp/c/node0" && ls | tr '\n' ' ')"
    if [ -n "$damage" ]; then
        newest() { ls -t "$tmp/c/node$1"/ckpt-*.bin | head -1; }
        f2=$(newest 2) f5=$(newest 5)
        truncate -s -100 "$f2"
        "$py" -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[len(b)//2] ^= 0x10; open(p,'wb').write(b)" "$f5"
        echo "  damaged: $f2 truncated by 100 bytes, one bit flipped in $f5"
    fi
    start_all
    C watch "$id" > "$name.watch" 2>&1 || { cat "$name.watch"; fail "$name: the resumed job did not finish"; }
    C status "$id" --json > "$name.json"
    C fetch "$id" -o "$name" > /dev/null || fail "$name: fetch"
    grep -h "resumed at step" "$tmp"/c/node*.log | tail -8 | sed 's/^/    /'
    echo "  $name: state $(json "$name.json" state), test accuracy $(json "$name.json" test_accuracy)"
    [ "$(json "$name.json" state)" = done ] || fail "$name: state"
    [ "$(json "$name.json" test_accuracy)" = "$(json local.json test_accuracy)" ] || fail "$name: accuracy"
    # same arithmetic as train_cluster_test's tolerance: 200 steps * 0.1 * 1e-9
    same "$name" local 1e-7
}

echo "(a) SIGKILL every daemon, start them again"
run resumed 70
n=$(grep -h "resumed at step" "$tmp"/c/node*.log | wc -l)
[ "$n" -ge 8 ] || fail "(a) $n of 8 nodes resumed"
echo "(b) the same with damaged checkpoints"
run damaged 130 damage
grep -q "checkpoint refused: .*truncated" "$tmp/c/node2.log" || fail "(b) node 2's truncated checkpoint not refused"
grep -q "checkpoint refused: .*checksum mismatch" "$tmp/c/node5.log" || fail "(b) node 5's flipped bit not found"
grep -h "checkpoint refused\|regenerated from" "$tmp"/c/node2.log "$tmp"/c/node5.log | tail -6 | sed 's/^/    /'
echo "ok"
