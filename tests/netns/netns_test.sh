#!/bin/sh
# netns_test.sh - gpdot across hosts with their own addresses: 8 network
# namespaces ("hosts"), each joined by a veth pair to a bridge, with
# addresses 10.213.0.1 .. 10.213.0.8 chosen here; one gpdotd per namespace; a
# client in a ninth namespace (10.213.0.100) submits a training job; node 5's
# link is cut (ip link set ... down) while the job runs; the job must finish
# with the same model as train --local (the lost node is an erasure). Traffic
# goes only to the addresses inside the namespaces this test makes, and
# everything it made is removed on exit, whether it passes or fails.
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
[ "$(id -u)" = 0 ] || skip "network namespaces need root"
command -v ip > /dev/null 2>&1 || skip "ip(8) is missing (Debian: iproute2)"
[ -r "$data/train-images-idx3-ubyte.gz" ] || skip "Fashion-MNIST is missing (dataset-fashion-mnist)"
tag=gp$$ # names unique to this run
ip netns add "${tag}probe" 2> /dev/null || skip "cannot create network namespaces here"
ip netns del "${tag}probe"

tmp=$(mktemp -d /tmp/gpdot-netns-test-XXXXXX)
cleanup() {
    for f in "$tmp"/node*.pid; do
        [ -e "$f" ] && kill -KILL "$(cat "$f")" 2> /dev/null || true
    done
    for i in 0 1 2 3 4 5 6 7 c; do
        ip netns del "$tag$i" 2> /dev/null || true
        ip link del "${tag}v$i" 2> /dev/null || true
    done
    ip link del "${tag}br" 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/node*.log; do [ -e "$f" ] && { echo "--- $f" >&2; tail -5 "$f" >&2; }; done
    exit 1
}

# the bridge, in a namespace of its own so that nothing touches the host's links
ip netns add "${tag}c"
ip -n "${tag}c" link add "${tag}br" type bridge
ip -n "${tag}c" link set "${tag}br" up
# host i: namespace $tag$i, eth0 = 10.213.0.(i+1), its peer end on the bridge
addr() { if [ "$1" = c ]; then echo 10.213.0.100; else echo "10.213.0.$(($1 + 1))"; fi; }
for i in 0 1 2 3 4 5 6 7; do
    ip netns add "$tag$i"
    ip -n "${tag}c" link add "${tag}v$i" type veth peer name eth0 netns "$tag$i"
    ip -n "${tag}c" link set "${tag}v$i" master "${tag}br" up
done
# the client's end stays in the bridge's namespace
ip -n "${tag}c" link add "${tag}vc" type veth peer name "${tag}ec"
ip -n "${tag}c" link set "${tag}vc" master "${tag}br" up
for i in 0 1 2 3 4 5 6 7; do
    ip -n "$tag$i" addr add "$(addr $i)/24" dev eth0
    ip -n "$tag$i" link set eth0 up
    ip -n "$tag$i" link set lo up
done
# the client: an address on the bridge's namespace
ip -n "${tag}c" link set "${tag}ec" up
ip -n "${tag}c" addr add "$(addr c)/24" dev "${tag}ec"
ip -n "${tag}c" link set lo up
echo "8 hosts 10.213.0.1-8 and a client 10.213.0.100 on a bridge, in namespaces $tag*"

cfg=$tmp/cluster.yaml
{
    echo "cluster: netns"
    echo "nodes:"
    for i in 0 1 2 3 4 5 6 7; do
        echo "  - {id: $i, client: \"tcp://$(addr $i):7100\", peer: \"tcp://$(addr $i):7200\"}"
    done
    echo "defaults: {heartbeat_ms: 200, peer_timeout_ms: 2000, state_dir: \"$tmp\"}"
} > "$cfg"
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
