#!/bin/sh
# train_cluster_test.sh - training jobs on a local 8-node cluster, against
# the local reference trainer (gpdot-client train --local) and numpy.
#   (a) error-free: the cluster's model equals train --local's
#   (b) soft errors in every kind of step on every node: the same model
#   (c) B = 1
#   (d) the other strategies run on the same daemons: mds, replication, uncoded;
#       and gpd with `precision: float32` (products and partials in single
#       precision): with a smooth activation the model is train --local's in
#       float32; with soft errors the accuracy is float64's within 0.5 points
#   (e) cancel; a bad job file; a learning rate that diverges (the job fails
#       naming it); the data shipped with --upload
#   (f) a persistently faulty node (every product of node 3 wrong, some of its
#       updates too, blocks checked only every 10 steps): it becomes a suspect,
#       its blocks are then checked and rebuilt at every step, status shows the
#       per-node error counts and the suspect; the model is still the same
#   (g) a daemon killed with SIGKILL mid-job: the rest finish it, it is recorded
#   (h) then a second one: six of 8 left, the backward products have exactly
#       K_b = 6 outputs and nothing to check them with, so the job waits (no
#       node commits a step) until an empty replacement for node 5 has joined;
#       then it goes on, and the model is still train --local's
# usage: train_cluster_test.sh BUILD_DIR PYTHON
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup train "$1" "$2"
gp_need_fashion
GP_LOG_LINES=8
cd "$tmp"

# A small network on the first 6400 training images, one epoch, B = 64,
# with soft errors in every kind of step (about 1.25 per step on 8 nodes at
# scale 1: each node makes 26 faultable operations per step).
job=$tmp/job.yaml
cat > "$job" <<JOB
name: small
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 3}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  train_limit: 6400
  test_limit: 2000
training: {batch: 64, epochs: 1, lr: 0.1, shuffle_seed: 5}
code: {scheme: gpd, m: 2, n: 2}
faults:
  seed: 11
  rules:
    - {node: all, op: multiply, probability: 0.006, magnitude: 1.0}
    - {node: all, op: encode, probability: 0.006, magnitude: 1.0}
    - {node: all, op: decode, probability: 0.006, magnitude: 1.0}
    - {node: all, op: activation, probability: 0.006, magnitude: 1.0}
    - {node: all, op: hadamard, probability: 0.006, magnitude: 1.0}
    - {node: all, op: update, probability: 0.006, magnitude: 1.0}
JOB
cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/c" --timeout-ms 2000)
C() { "$client" -c "$cfg" "$@"; }

# json FILE KEY: a value from a one-line JSON object
json() {
    "$py" -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)" "$1" "$2"
}

# run NAME ARGS...: submits, watches, fetches the model into NAME/, writes NAME.json
run() {
    name=$1
    shift
    id=$(C submit "$job" "$@") || fail "$name: submit"
    C watch "$id" > "$name.watch" 2>&1 || { cat "$name.watch"; fail "$name: the job did not succeed"; }
    C status "$id" --json > "$name.json" || fail "$name: status"
    C fetch "$id" -o "$name" > /dev/null || fail "$name: fetch"
    echo "  $name: $(cat "$name.json")"
}

# same A B TOL: the models in A/ and B/ agree: max |W_A - W_B| / max |W_B| <= TOL per layer
same() {
    "$py" - "$1" "$2" "$3" <<'EOF' || fail "models $1 and $2 differ"
import sys, glob, numpy as np
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
worst = 0.0
files = sorted(glob.glob(b + "/W*.npy")) + sorted(glob.glob(b + "/b*.npy"))
assert files, "no model files"
for f in files:
    x = np.load(a + f[len(b):]); y = np.load(f)
    assert x.shape == y.shape, (f, x.shape, y.shape)
    worst = max(worst, np.abs(x - y).max() / np.abs(y).max())
print(f"  {a} against {b}: largest relative difference {worst:.1e} (at most {tol:g})")
sys.exit(0 if worst <= tol else 1)
EOF
}

# accuracy DIR LIMIT: numpy's own evaluation of a saved model on the first LIMIT test images
accuracy() {
    "$py" - "$1" "$2" "$data" <<'EOF'
import sys, gzip, re, numpy as np
d, limit, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def idx(p):
    b = gzip.open(p).read(); nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)
X = idx(data + "/t10k-images-idx3-ubyte.gz").reshape(10000, -1)[:limit].astype(float)
y = idx(data + "/t10k-labels-idx1-ubyte.gz")[:limit]
m = open(d + "/model.yaml").read()
mean = float(re.search(r"mean: ([-0-9.e+]+)", m).group(1))
scale = float(re.search(r"scale: ([-0-9.e+]+)", m).group(1))
L = len(re.findall(r"\{W: ", m))
h = ((X - mean) * scale).T
for l in range(L):
    h = np.load(f"{d}/W{l}.npy") @ h + np.load(f"{d}/b{l}.npy")[:, None]
    if l < L - 1: h = np.maximum(h, 0)
print(f"{(h.argmax(0) == y).mean():.4f}")
EOF
}

# The reference: the same job in one process.
"$client" train --local "$job" -o local --json > local.json 2> /dev/null || fail "train --local"
echo "  local: $(cat local.json)"
limit=$(sed -n 's/^ *test_limit: *\([0-9]*\).*/\1/p' "$job")

# Tolerance between the cluster's model and the local one: every decoded
# product differs from OpenBLAS's by at most the code's certified relative
# bound (1e-9, in practice about 1e-14), the rest of the arithmetic is the
# same code with the same seeds. Over the job's 100 steps such perturbations
# grow at most linearly with the steps times the learning rate times the
# weights' scale (about 1): 100 * 0.1 * 1e-9 = 1e-8. 1e-7 allows 10x.
tol=1e-7

echo "(a) error-free, gpd m = n = 2"
run clean --set faults.scale=0
same clean local $tol
[ "$(json clean.json state)" = done ] || fail "(a) state"
[ "$(json clean.json errors_injected)" = 0 ] || fail "(a) errors were injected"
acc=$(json clean.json test_accuracy)
[ "$acc" = "$(json local.json test_accuracy)" ] || fail "(a) accuracy $acc, train --local $(json local.json test_accuracy)"
np_acc=$(accuracy clean "$limit")
"$py" -c "import sys; sys.exit(0 if abs($np_acc - $acc) < 5e-5 else 1)" ||
    fail "(a) numpy evaluates the fetched model at $np_acc, the cluster said $acc"
eval_out=$("$client" eval clean --images "$data/t10k-images-idx3-ubyte.gz" \
    --labels "$data/t10k-labels-idx1-ubyte.gz" --json) || fail "(a) eval"
echo "  eval on all 10 000 test images: $eval_out"
for k in job state epoch step loss test_accuracy errors_injected errors_corrected \
    errors_detected steps_redone nodes_up; do
    grep -q "\"$k\":" clean.json || fail "status --json lacks $k"
done

echo "(b) soft errors in every kind of step on every node"
# probabilities 2x: about 2.5 errors per step; a step is redone up to 10 times
run faults --set faults.scale=2 --set training.max_redo=10
same faults local $tol
inj=$(json faults.json errors_injected)
steps=$(json faults.json steps)
cor=$(json faults.json errors_corrected)
reg=$(json faults.json blocks_regenerated)
"$py" -c "import sys; sys.exit(0 if $inj >= $steps and $cor > 0 and $reg > 0 else 1)" ||
    fail "(b) $inj errors injected in $steps steps, $cor corrected, $reg blocks regenerated"
echo "  $inj errors injected in $steps steps: $cor outputs corrected, $reg blocks regenerated," \
    "$(json faults.json steps_redone) steps redone, $(json faults.json rollbacks) rollbacks"
[ "$(json faults.json test_accuracy)" = "$acc" ] || fail "(b) accuracy differs"

echo "(c) B = 1"
"$client" train --local "$job" --set training.batch=1 --set training.lr=0.01 --set data.train_limit=300 \
    -o local1 --json > local1.json 2> /dev/null || fail "(c) train --local"
run b1 --set training.batch=1 --set training.lr=0.01 --set data.train_limit=300 --set faults.scale=0.25
[ "$(json b1.json steps)" = 300 ] || fail "(c) steps"
# 300 steps at lr 0.01: the linear bound above gives 300 * 0.01 * 1e-9 = 3e-9
same b1 local1 3e-7

echo "(d) the other strategies on the same daemons"
run mds --set code.scheme=mds --set faults.scale=0
same mds local $tol
run replication --set code.scheme=replication --set faults.scale=0
same replication local $tol
run uncoded --set code.scheme=uncoded --set code.m=4 --set faults.scale=0
same uncoded local $tol
# float32, with tanh: ReLU's derivative jumps at 0, so a pre-activation
# within float32's rounding of 0 may take either side in two float32 runs
# (a different, equally rounded trajectory); tanh's does not. Each decoded
# product differs from train --local's sgemm by at most the plan's float32
# bound for this code (kappa (2K + 2) 2^-24 = 2.4e-4), and train --local
# rounds its weights to float32 at each update (the cluster's blocks stay
# double): 2^-24 a step. Over 100 steps at lr 0.1 that grows at most to
# 100 * 0.1 * 2.4e-4 + 100 * 2^-24 = 2.4e-3.
set -- --set precision=float32 --set model.activation=tanh
"$client" train --local "$job" "$@" -o local32 --json > local32.json 2> /dev/null ||
    fail "(d) train --local float32"
run f32 "$@" --set faults.scale=0
same f32 local32 2.4e-3
[ "$(json f32.json errors_detected)" = 0 ] && [ "$(json f32.json blocks_regenerated)" = 0 ] ||
    fail "(d) float32's rounding taken for errors"
"$client" train --local "$job" --set model.activation=tanh -o local64t --json > local64t.json \
    2> /dev/null || fail "(d) train --local tanh"
run f32faults "$@" --set faults.scale=2 --set training.max_redo=10
"$py" - f32faults.json local64t.json <<'EOF' || fail "(d) float32 with soft errors"
import json, sys
f, d = (json.load(open(p)) for p in sys.argv[1:3])
print(f"  float32 with soft errors: accuracy {f['test_accuracy']} (float64 {d['test_accuracy']}); "
      f"{f['errors_injected']} injected, {f['errors_corrected']} corrected, "
      f"{f['blocks_regenerated']} blocks regenerated")
assert f["state"] == "done" and f["errors_corrected"] > 0 and f["blocks_regenerated"] > 0
assert abs(f["test_accuracy"] - d["test_accuracy"]) <= 0.005
EOF
echo "(e) cancel, a bad job file, divergence, --upload"
id=$(C submit "$job" --set training.epochs=50) || fail "(e) submit"
sleep 1
C cancel "$id" > /dev/null || fail "(e) cancel"
if C watch "$id" > cancel.watch 2>&1; then fail "(e) watch of a cancelled job exits 0"; fi
grep -q cancelled cancel.watch || fail "(e) not cancelled: $(cat cancel.watch)"
if C submit "$job" --set training.batch=0 2> bad.txt; then fail "(e) batch 0 accepted"; fi
grep -q "training.batch" bad.txt || fail "(e) the error does not name the key: $(cat bad.txt)"
echo "  refused: $(cat bad.txt)"
# a learning rate that makes the model diverge: the products overflow and no
# decode succeeds; the job fails saying so, not as if the nodes were at fault
id=$(C submit "$job" --set training.lr=50) || fail "(e) submit lr 50"
if C watch "$id" > diverged.watch 2>&1; then fail "(e) a diverging job ended well"; fi
C status "$id" > diverged.status || fail "(e) status"
grep -q "reason: the training diverged: .* overflows double precision.*training.lr" \
    diverged.status || fail "(e) divergence not named: $(cat diverged.status)"
echo "  diverged: $(grep reason: diverged.status | head -n 1)"
# the files exist only while the client reads them
mkdir up
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
    t10k-labels-idx1-ubyte.gz; do cp "$data/$f" up/; done
id=$(C submit "$job" --upload --set faults.scale=0 \
    --set data.train.images=up/train-images-idx3-ubyte.gz \
    --set data.train.labels=up/train-labels-idx1-ubyte.gz \
    --set data.test.images=up/t10k-images-idx3-ubyte.gz \
    --set data.test.labels=up/t10k-labels-idx1-ubyte.gz) || fail "(e) submit --upload"
rm -r up
C watch "$id" > up.watch 2>&1 || { cat up.watch; fail "(e) the uploaded job failed"; }
C fetch "$id" -o uploaded > /dev/null || fail "(e) fetch"
same uploaded local $tol

echo "(f) a persistently faulty node"
sed '/^faults:/,$d' "$job" > persistent.yaml
cat >> persistent.yaml <<JOB
faults:
  seed: 13
  rules:
    - {node: 3, op: multiply, probability: 1.0, magnitude: 1.0}
    - {node: 3, op: update, probability: 0.05, magnitude: 1.0}
JOB
main_job=$job
job=$tmp/persistent.yaml
run persistent --set training.check_every=10 --set training.max_redo=10
job=$main_job
same persistent local $tol
"$py" - persistent.json <<'EOF' || fail "(f) the suspect"
import json, sys
j = json.load(open(sys.argv[1]))
errs, off = j["node_errors"], j["node_blocks_off_code"]
print(f"  outputs found wrong per node {errs}; stored blocks found off the code {off}; "
      f"suspects {j['suspects']}")
assert j["suspects"] == [3], j["suspects"]
assert errs[3] >= j["steps"], "node 3's products are all wrong"
assert all(e == 0 for p, e in enumerate(errs) if p != 3), "only node 3 was wrong"
assert off[3] > 0 and all(o == 0 for p, o in enumerate(off) if p != 3)
EOF
grep -q "node 3 is a suspect" "$tmp/c/node0.log" || fail "(f) no log line"
# blocks rebuilt at steps between the every-10th checks: the suspect's checks
steps=$(grep "job $(json persistent.json id).*block of layer .* regenerated" "$tmp/c/node3.log" |
    sed -n 's/.*: step \([0-9]*\): block.*/\1/p' | sort -un)
off_grid=$(for k in $steps; do [ $((k % 10)) -ne 0 ] && echo "$k"; done | wc -l)
echo "  node 3 rebuilt its blocks at steps $(echo $steps | head -c 80)...: $off_grid of them between the every-10th checks"
[ "$off_grid" -gt 0 ] || fail "(f) no check outside the check_every grid"

echo "(g) a daemon killed with SIGKILL mid-job"
id=$(C submit "$job" --set faults.scale=0 --set data.train_limit=19200) || fail "(g) submit"
for i in $(seq 1 100); do
    step=$(C status "$id" --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])")
    [ "$step" -ge 20 ] && break
    sleep 0.1
done
kill -KILL "$(cat "$tmp/c/node5.pid")"
echo "  node 5 killed at step $step"
C watch "$id" > killed.watch 2>&1 || { cat killed.watch; fail "(g) the job failed"; }
C status "$id" --json > killed.json
echo "  $(cat killed.json)"
[ "$(json killed.json nodes_up)" = 7 ] || fail "(g) nodes_up should be 7"
[ "$(json killed.json nodes_lost)" -ge 1 ] || fail "(g) the lost node is not recorded"
C fetch "$id" -o killed > /dev/null || fail "(g) fetch with a node down"
"$client" train --local "$job" --set data.train_limit=19200 -o local3 --json > local3.json \
    2> /dev/null || fail "(g) train --local"
# 300 steps: as in (c)
same killed local3 3e-7

echo "(h) a second daemon killed: too few outputs to check a decode"
# 10 epochs (3000 steps, about 30 s on 7 nodes: the submit and every look
# at the status wait for the dead node 5)
set -- --set faults.scale=0 --set data.train_limit=19200 --set training.epochs=10
id=$(C submit "$job" "$@") || fail "(h) submit"
step=$(C status "$id" --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])")
kill -KILL "$(cat "$tmp/c/node2.pid")"
echo "  node 2 killed at step $step of 3000 (node 5 is still down)"
sleep 3
C status "$id" --json > wait1.json
sleep 2
C status "$id" --json > wait2.json
"$py" - wait1.json wait2.json <<'EOF' || fail "(h) the job did not wait"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
print(f"  {b['state']}: {b['reason']}; steps {a['step']} -> {b['step']} in 2 s")
assert b["state"] == "waiting" and "redundancy" in b["reason"], b
assert a["node_steps"] == b["node_steps"], "a step was committed without a check"
EOF
rm -rf "$tmp/c/node5" # an empty replacement
nohup "$build/daemon/gpdotd" --config "$cfg" --node 5 >> "$tmp/c/node5.log" 2>&1 &
echo $! > "$tmp/c/node5.pid"
C watch "$id" > waited.watch 2>&1 || { cat waited.watch; fail "(h) the job failed"; }
C status "$id" --json > waited.json
echo "  node 5 replaced: $(grep "job $id" "$tmp/c/node5.log" | grep -o "rejoined at step [0-9]*" | head -1); the job ended $(json waited.json state), steps skipped $(json waited.json steps_skipped)"
[ "$(json waited.json steps_skipped)" = 0 ] || fail "(h) steps were skipped"
C fetch "$id" -o waited > /dev/null || fail "(h) fetch"
"$client" train --local "$job" "$@" -o local4 --json > local4.json 2> /dev/null ||
    fail "(h) train --local"
# 3000 steps: 3000 * 0.1 * 1e-9, 10x allowed
same waited local4 3e-6

echo "ok"
