#!/bin/sh
# The demo: installs what is missing, builds, starts a local 8-node cluster,
# trains Fashion-MNIST on it (784-256-128-10, 2 epochs) with soft errors
# injected into every kind of step on every node while you watch, trains the
# same job in one process without errors (the reference), prints both
# accuracies, and stops the cluster.
#
#   deploy/demo.sh [--epochs N] [--keep DIR]
#
# --keep DIR leaves the cluster's files (logs, cluster.yaml) and the trained
# model (DIR/model: W<l>.npy, b<l>.npy, model.yaml) in DIR.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
epochs=2
keep=""
while [ $# -gt 0 ]; do
    case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: deploy/demo.sh [--epochs N] [--keep DIR]" >&2; exit 2 ;;
    esac
done
"$top/deploy/install-deps.sh"
"$top/deploy/build.sh"
build=${GP_BUILD_DIR:-$top/build}
client=$build/client/gpdot-client
job=$top/deploy/examples/fashion-mnist.yaml
# 8 daemons share this machine's cores: one BLAS thread each
export OPENBLAS_NUM_THREADS=1
dir=${keep:-$(mktemp -d /tmp/gpdot-demo-XXXXXX)}
mkdir -p "$dir"
stop() {
    GP_BUILD_DIR=$build sh "$top/deploy/local/cluster.sh" down --dir "$dir/cluster" > /dev/null 2>&1 || true
    [ -n "$keep" ] || rm -rf "$dir"
}
trap stop EXIT INT TERM

echo
echo "== starting 8 gpdotd daemons on 127.0.0.1"
cfg=$(GP_BUILD_DIR=$build sh "$top/deploy/local/cluster.sh" up --nodes 8 --dir "$dir/cluster" \
    --timeout-ms 2000)
"$client" -c "$cfg" ping
echo
echo "== training $job on the cluster, $epochs epochs"
echo "   gpd m = n = 2 codes on 8 nodes; soft errors injected into multiplies, encodings,"
echo "   decodes, activations, Hadamard products and updates on every node"
id=$("$client" -c "$cfg" submit "$job" --set training.epochs="$epochs")
echo "   job $id"
"$client" -c "$cfg" watch "$id" || true
"$client" -c "$cfg" status "$id" --json > "$dir/cluster.json"
"$client" -c "$cfg" fetch "$id" -o "$dir/model" > /dev/null || true
echo
echo "== the same job in one process, no codes, no errors (train --local)"
"$client" train --local "$job" --set training.epochs="$epochs" --json > "$dir/local.json"
echo
python3 - "$dir/cluster.json" "$dir/local.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); l = json.load(open(sys.argv[2]))
acc = lambda v: "-" if v is None else f"{v:.4f}"
print(f"{'':34} {'cluster (gpd, soft errors)':>28} {'train --local':>15}")
print(f"{'state':34} {c['state']:>28} {l['state']:>15}")
print(f"{'test accuracy':34} {acc(c['test_accuracy']):>28} {acc(l['test_accuracy']):>15}")
print(f"{'errors injected':34} {c['errors_injected']:>28} {0:>15}")
print(f"{'node outputs corrected':34} {c['errors_corrected']:>28} {'-':>15}")
print(f"{'stored blocks regenerated':34} {c['blocks_regenerated']:>28} {'-':>15}")
print(f"{'steps redone (detected errors)':34} {c['steps_redone']:>28} {'-':>15}")
print(f"{'seconds':34} {c['elapsed_s']:>28.1f} {l['elapsed_s']:>15.1f}")
EOF
[ -n "$keep" ] && echo "model and logs in $dir"
exit 0
