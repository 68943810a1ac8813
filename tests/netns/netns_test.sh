#!/bin/sh
# netns_test.sh - gpdot across hosts with their own addresses: 8 network
# namespaces ("hosts"), each joined by a veth pair to a bridge, with
# addresses 10.213.0.1 .. 10.213.0.8 chosen here; one gpdotd per namespace; a
# client in a ninth namespace (10.213.0.100) submits a training job; node 5's
# link is cut (ip link set ... down) while the job runs; the job must finish
# with the same model as train --local (the lost node is an erasure). Traffic
# goes only to the addresses inside the namespaces this test makes (lib.sh),
# and everything it made is removed on exit, whether it passes or fails.
# Needs root and ip(8) with netns support; skips (exit 77) otherwise.
# usage: netns_test.sh BUILD_DIR PYTHON
set -eu
build=$1
py=$2
gpdotd=$build/daemon/gpdotd
client=$build/client/gpdot-client
data=/usr/share/datasets/fashion-mnist
skip() {
    echo "skipped: $*"
    exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tag=gp$$ # names unique to this run
why=$(netns_usable "$tag") || skip "$why"
[ -r "$data/train-images-idx3-ubyte.gz" ] || skip "Fashion-MNIST is missing (dataset-fashion-mnist)"

tmp=$(mktemp -d /tmp/gpdot-netns-test-XXXXXX)
cleanup() {
    for f in "$tmp"/node*.pid; do
        [ -e "$f" ] && kill -KILL "$(cat "$f")" 2> /dev/null || true
    done
    netns_cleanup
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/node*.log; do [ -e "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
    exit 1
}

netns_hosts 8 "$tag"
echo "8 hosts 10.213.0.1-8 and a client 10.213.0.100 on a bridge, in namespaces $tag*"
cfg=$tmp/cluster.yaml
netns_cluster_file "$cfg" "$tmp" 200 2000
for i in 0 1 2 3 4 5 6 7; do
    OPENBLAS_NUM_THREADS=1 ip netns exec "$tag$i" "$gpdotd" --config "$cfg" --node "$i" \
        > "$tmp/node$i.log" 2>&1 &
    echo $! > "$tmp/node$i.pid"
done
C() { ip netns exec "${tag}c" "$client" -c "$cfg" "$@"; }
for k in $(seq 1 100); do
    C ping --timeout 500 > /dev/null 2>&1 && break
    [ "$k" = 100 ] && fail "the daemons do not all answer"
    sleep 0.1
done
echo "all 8 daemons answer"

job=$tmp/job.yaml
cat > "$job" << JOB
name: netns
model: {layers: [784, 64, 32, 10], activation: relu, init_seed: 3}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  train_limit: 19200
  test_limit: 2000
training: {batch: 64, epochs: 1, lr: 0.1, shuffle_seed: 5}
code: {scheme: gpd, m: 2, n: 2}
JOB
OPENBLAS_NUM_THREADS=1 "$client" train --local "$job" -o "$tmp/local" --json > "$tmp/local.json" 2> /dev/null ||
    fail "train --local"
id=$(C submit "$job" --upload) || fail "submit"
for k in $(seq 1 300); do
    step=$(C status "$id" --json | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])")
    [ "$step" -ge 30 ] && break
    sleep 0.1
done
ip -n "${tag}5" link set eth0 down
echo "host 5's link cut at step $step"
C watch "$id" > "$tmp/watch" 2>&1 || { cat "$tmp/watch"; fail "the job did not finish"; }
C status "$id" --json > "$tmp/status.json"
C fetch "$id" -o "$tmp/model" > /dev/null || fail "fetch"
cat "$tmp/status.json"
"$py" - "$tmp" << 'EOF' || fail "the model differs from train --local's"
import json, sys, glob, numpy as np
d = sys.argv[1]
s = json.load(open(d + "/status.json")); l = json.load(open(d + "/local.json"))
assert s["state"] == "done", s["state"]
assert s["nodes_up"] == 7 and s["nodes_lost"] >= 1, (s["nodes_up"], s["nodes_lost"])
worst = max(np.abs(np.load(f) - np.load(d + "/local/" + f.split("/")[-1])).max() /
            np.abs(np.load(d + "/local/" + f.split("/")[-1])).max()
            for f in glob.glob(d + "/model/*.npy"))
print(f"test accuracy {s['test_accuracy']} (train --local {l['test_accuracy']}); "
      f"largest relative difference of the weights {worst:.1e}")
# 300 steps: as in train_cluster_test.sh, at most 300 * 0.1 * 1e-9, 10x allowed
assert worst <= 3e-7 and s["test_accuracy"] == l["test_accuracy"]
EOF
echo ok
