#!/bin/sh
# two_out_test.sh - two nodes out at once on a local 12-node cluster, gpd
# m = n = 2 (K_f = 5, K_b = 6: ten nodes still decode with 4 outputs to
# spare), the Fashion-MNIST 784-64-32-10 job with soft errors in every kind
# of step on every node (the example's rates):
#   (a) nodes 4 and 9 SIGKILLed together, both started again 3 s later
#   (b) node 2 SIGKILLed and started again, and node 7 SIGKILLed while node 2
#       is still rejoining; node 7 started again
# The others train on throughout; every node rejoins; the job ends done on
# all 12 within 0.5 test-accuracy points of the fault-free run (train
# --local), with no step skipped.
# usage: two_out_test.sh BUILD_DIR PYTHON
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup two-out "$1" "$2"
gp_need_fashion
GP_LOG_SKIP="regenerated|redone|missing"
cd "$tmp"
cat > job.yaml << JOB
name: two-out
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 3}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  test_limit: 2000
training: {batch: 64, epochs: 2, lr: 0.1, shuffle_seed: 5}
code: {scheme: gpd, m: 2, n: 2}
faults:
  seed: 21
  rules:
    - {node: all, op: multiply, probability: 0.01, magnitude: 1.0}
    - {node: all, op: encode, probability: 0.004, magnitude: 1.0}
    - {node: all, op: decode, probability: 0.005, magnitude: 1.0}
    - {node: all, op: activation, probability: 0.01, magnitude: 1.0}
    - {node: all, op: hadamard, probability: 0.01, magnitude: 1.0}
    - {node: all, op: update, probability: 0.01, magnitude: 1.0}
JOB
"$client" train --local job.yaml -o local --json > local.json 2> /dev/null || fail "train --local"
cfg=$(sh "$cl" up --nodes 12 --dir "$tmp/c" --timeout-ms 2000)
C() { "$client" -c "$cfg" "$@"; }
id=$(C submit job.yaml) || fail "submit"
step() { C status "$id" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])" 2>/dev/null || echo 0; }
wait_step() {
    i=0
    while [ "$(step)" -lt "$1" ]; do
        i=$((i + 1)); [ $i -lt 2400 ] || fail "the job does not reach step $1"; sleep 0.05
    done
}
start() {
    nohup "$gpdotd" --config "$cfg" --node "$1" >> "$tmp/c/node$1.log" 2>&1 &
    echo $! > "$tmp/c/node$1.pid"
}
lines() { wc -l < "$tmp/c/node$1.log"; }
# caught NODE SINCE_LINE: waits (up to 90 s) for the node's "caught up" after line SINCE
caught() {
    i=0
    until tail -n +"$2" "$tmp/c/node$1.log" | grep -q "caught up"; do
        i=$((i + 1)); [ $i -lt 900 ] || fail "node $1 did not rejoin"
        sleep 0.1
    done
    echo "  node $1: $(tail -n +"$2" "$tmp/c/node$1.log" | grep "rejoined at step" | head -1 | cut -c14-)"
}

wait_step 150
s0=$(step)
kill -9 "$(cat "$tmp/c/node4.pid")" "$(cat "$tmp/c/node9.pid")"
echo "(a) nodes 4 and 9 killed together at step $s0"
sleep 3
s1=$(step)
[ "$s1" -gt "$s0" ] || fail "(a) the others did not go on with two nodes out ($s0 -> $s1)"
echo "  the others went on: step $s0 -> $s1 in 3 s"
l4=$(lines 4) l9=$(lines 9)
start 4
start 9
caught 4 "$l4"
caught 9 "$l9"

wait_step $(($(step) + 150))
l2=$(lines 2)
kill -9 "$(cat "$tmp/c/node2.pid")"
echo "(b) node 2 killed at step $(step)"
sleep 2.5
start 2
# node 7 goes while node 2 is on its way back (before it has caught up)
i=0
until tail -n +"$l2" "$tmp/c/node2.log" | grep -q "rejoining"; do
    i=$((i + 1)); [ $i -lt 600 ] || fail "(b) node 2 did not start to rejoin"
    sleep 0.02
done
tail -n +"$l2" "$tmp/c/node2.log" | grep -q "caught up" && fail "(b) node 2 caught up before node 7 could be killed"
l7=$(lines 7)
kill -9 "$(cat "$tmp/c/node7.pid")"
echo "  node 7 killed at step $(step), while node 2 rejoins"
caught 2 "$l2"
sleep 2
start 7
caught 7 "$l7"

C watch "$id" > watch.txt 2>&1 || { cat watch.txt; fail "the job did not finish"; }
C status "$id" --json > status.json
C fetch "$id" -o model > /dev/null || fail "fetch"
"$py" - << 'EOF' || fail "the job's result"
import json, glob, numpy as np
s = json.load(open("status.json")); l = json.load(open("local.json"))
worst = max(np.abs(np.load(f) - np.load("local/" + f.split("/")[-1])).max() /
            np.abs(np.load("local/" + f.split("/")[-1])).max() for f in glob.glob("model/*.npy"))
print(f"  done: test accuracy {s['test_accuracy']} (fault-free {l['test_accuracy']}), "
      f"largest relative weight difference {worst:.1e}; errors injected {s['errors_injected']}, "
      f"corrected {s['errors_corrected']}, steps redone {s['steps_redone']}, skipped "
      f"{s['steps_skipped']}, rollbacks {s['rollbacks']}, nodes lost {s['nodes_lost']}")
assert s["state"] == "done" and all(st == "done" for st in s["node_states"]), s["node_states"]
assert s["steps_skipped"] == 0
assert abs(s["test_accuracy"] - l["test_accuracy"]) <= 0.005
EOF
echo ok
