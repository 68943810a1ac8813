#!/bin/sh
# mds_regen_test.sh - the mds strategy keeps its stored code by regeneration,
# with no rollback. 12 daemons, mds m = n = 2 (the 4 x 4 layout: rows of
# four blocks, columns of four), a 784-64-32-10 network, B = 1, 2000
# Fashion-MNIST samples, an update error per node every 500 steps on
# average. Every block an update error spoils must be rebuilt from its own
# row or column (gp_code_regen_sources), the only blocks it is a
# combination of. The job must end done, with no "cannot regenerate", no
# rollback, no step skipped, and the model of `train --local` to the
# rounding of the regenerations.
#
# usage: mds_regen_test.sh BUILD_DIR PYTHON
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup mds-regen "$1" "$2"
gp_need_fashion
cd "$tmp"
cat > job.yaml << JOB
name: mds-regen
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 1}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  train_limit: 2000
  test_limit: 2000
training: {batch: 1, epochs: 1, lr: 0.01}
code: {scheme: mds, m: 2, n: 2}
faults:
  seed: 3
  rules:
    - {node: all, op: update, probability: 0.002, magnitude: 1.0}
JOB
"$client" train --local job.yaml -o local --json > local.json 2> /dev/null || fail "train --local"
cfg=$(sh "$cl" up --nodes 12 --dir "$tmp/c" --timeout-ms 2000)
C() { "$client" -c "$cfg" "$@"; }
id=$(C submit job.yaml) || fail "submit"
C watch "$id" > watch.txt 2>&1 || { cat watch.txt; fail "the job did not finish"; }
C status "$id" --json > status.json
C fetch "$id" -o model > /dev/null || fail "fetch"
cannot=$(cat c/node*.log | grep -c "cannot regenerate" || true)
rebuilt=$(cat c/node*.log | grep -c "regenerated from" || true)
echo "  blocks regenerated (node log lines): $rebuilt; regenerations refused: $cannot"
[ "$cannot" -eq 0 ] || fail "$cannot regenerations refused for too few sources"
[ "$rebuilt" -gt 0 ] || fail "no block was regenerated: the test injected nothing"
REBUILT=$rebuilt "$py" - << 'EOF' || fail "the job's result"
import json, glob, os, numpy as np
s = json.load(open("status.json")); l = json.load(open("local.json"))
worst = max(np.abs(np.load(f) - np.load("local/" + f.split("/")[-1])).max() /
            np.abs(np.load("local/" + f.split("/")[-1])).max() for f in glob.glob("model/*.npy"))
print(f"  done: test accuracy {s['test_accuracy']} (fault-free {l['test_accuracy']}), "
      f"largest relative weight difference {worst:.1e}; errors injected {s['errors_injected']}, "
      f"steps redone {s['steps_redone']}, skipped {s['steps_skipped']}, "
      f"rollbacks {s['rollbacks']}")
assert s["state"] == "done", s["state"]
assert s["rollbacks"] == 0 and s["steps_skipped"] == 0
# every node up, though only 8 of the 12 take part in an mds product
assert s["nodes_up"] == 12, s["nodes_up"]
assert s["errors_injected"] > 0
# Every regenerated block carries the rounding of its rebuild: the row or
# column code's conditioning (~10 for four points) times (2K + 2) = 10 units
# of roundoff of the block's scale; later steps carry it on, allowed a
# factor 10. One wrong update left in (magnitude 1, weights ~0.1) would be
# ten orders of magnitude more.
bound = int(os.environ["REBUILT"]) * 10 * 10 * 2.0**-53 * 10
assert worst <= bound, (worst, bound)
assert abs(s["test_accuracy"] - l["test_accuracy"]) <= 0.002
EOF
echo ok
