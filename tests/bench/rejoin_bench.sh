#!/bin/sh
# rejoin_bench.sh - how long a lost daemon takes to rejoin a running job, on
# a local 8-node cluster (gpd 2 x 2, B = 64, one BLAS thread per daemon):
#   fashion   the Fashion-MNIST network of the example, 784-256-128-10
#   4096      784-4095-4096-10: its middle layer W1 is 4096 x 4096 (with
#             the bias column), each node's coded block 2048 x 2048
# For each, node 5 is SIGKILLed --reps times during one job and started again
# with its state directory; the times come from the daemon's log: restart to
# the job loaded (data read, code set up), to the blocks rebuilt from the
# peers (the rejoined step: waiting for the peers to reach the step it asked
# for, then receiving their blocks and rebuilding its own), and to caught up
# (waiting for its peers again). Medians, with the range, of --reps runs.
# usage: tests/bench/rejoin_bench.sh [--reps N] [--only fashion|4096]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${GP_BUILD_DIR:-$top/build}
export GP_BUILD_DIR=$build OPENBLAS_NUM_THREADS=1
client=$build/client/gpdot-client
gpdotd=$build/daemon/gpdotd
cl=$top/deploy/local/cluster.sh
reps=3 only=
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: rejoin_bench.sh [--reps N] [--only fashion|4096]" >&2; exit 2 ;;
    esac
done
data=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d /tmp/gpdot-rejoin-bench-XXXXXX)
trap 'sh "$cl" down --dir "$tmp/c" 2>/dev/null || true; rm -rf "$tmp"' EXIT
ms() { echo "$1" | awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'; }

bench() {
    name=$1 layers=$2 limit=$3
    cat > "$tmp/job.yaml" <<JOB
name: rejoin-$name
model: {layers: $layers, activation: relu, init_seed: 1}
data:
  train: {images: $data/train-images-idx3-ubyte.gz, labels: $data/train-labels-idx1-ubyte.gz}
  test: {images: $data/t10k-images-idx3-ubyte.gz, labels: $data/t10k-labels-idx1-ubyte.gz}
  train_limit: $limit
  test_limit: 1000
training: {batch: 64, epochs: 1, lr: 0.01, shuffle_seed: 1}
code: {scheme: gpd, m: 2, n: 2}
JOB
    cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/c" --timeout-ms 3000)
    id=$("$client" -c "$cfg" submit "$tmp/job.yaml")
    step() { "$client" -c "$cfg" status "$id" --json 2>/dev/null | python3 -c "import json,sys; print(json.load(sys.stdin)['step'])" 2>/dev/null || echo 0; }
    until [ "$(step)" -ge 5 ]; do sleep 0.2; done
    t_start=$(date +%s.%N); s_start=$(step); sleep 5
    rate=$(python3 -c "print(($(step) - $s_start) / ($(date +%s.%N) - $t_start))")
    r=0
    while [ $r -lt "$reps" ]; do
        kill -KILL "$(cat "$tmp/c/node5.pid")"
        sleep 2
        line=$(($(wc -l < "$tmp/c/node5.log") + 1))
        nohup "$gpdotd" --config "$cfg" --node 5 >> "$tmp/c/node5.log" 2>&1 &
        echo $! > "$tmp/c/node5.pid"
        i=0
        until tail -n +"$line" "$tmp/c/node5.log" | grep -q "caught up"; do
            i=$((i + 1)); [ $i -lt 1800 ] || { echo "no rejoin" >&2; tail "$tmp/c/node5.log" >&2; exit 1; }
            sleep 0.1
        done
        tail -n +"$line" "$tmp/c/node5.log" > "$tmp/part.log"
        t0=$(ms "$(head -1 "$tmp/part.log" | cut -c1-12)")
        tl=$(ms "$(grep "training samples" "$tmp/part.log" | head -1 | cut -c1-12)")
        ta=$(ms "$(grep "asked for their blocks" "$tmp/part.log" | tail -1 | cut -c1-12)")
        tj=$(ms "$(grep "rejoined at step" "$tmp/part.log" | head -1 | cut -c1-12)")
        tc=$(ms "$(grep "caught up" "$tmp/part.log" | head -1 | cut -c1-12)")
        line_j=$(grep "rejoined at step" "$tmp/part.log" | head -1)
        wait_ms=$(echo "$line_j" | sed -n 's/.*: \([0-9.]*\) s waiting.*/\1/p' | awk '{ printf "%d", $1 * 1000 }')
        build_ms=$(echo "$line_j" | sed -n 's/.*, \([0-9.]*\) s receiving.*/\1/p' | awk '{ printf "%d", $1 * 1000 }')
        echo "$name $((tl - t0)) $((ta - tl)) $wait_ms $build_ms $((tj - t0)) $((tc - t0))" >> "$tmp/rows"
        r=$((r + 1))
        sleep 3
    done
    echo "$name rate $rate" >> "$tmp/rates"
    "$client" -c "$cfg" cancel "$id" > /dev/null 2>&1 || true
    sh "$cl" down --dir "$tmp/c"
    rm -rf "$tmp/c"
}

[ "$only" = 4096 ] || bench fashion "[784, 256, 128, 10]" 60000
[ "$only" = fashion ] || bench 4096 "[784, 4095, 4096, 10]" 60000
python3 - "$tmp/rows" "$tmp/rates" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
rates = {l.split()[0]: float(l.split()[2]) for l in open(sys.argv[2])}
print("| network | steps/s while running | restart to job loaded ms | then asking the peers ms | "
      "waiting for their step ms | receiving and rebuilding ms | restart to rejoined ms | "
      "restart to caught up ms | runs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in dict.fromkeys(r[0] for r in rows):
    v = [list(map(int, r[1:])) for r in rows if r[0] == name]
    med = [st.median(c) for c in zip(*v)]
    spread = [f"{min(c)}-{max(c)}" for c in zip(*v)]
    print(f"| {name} | {rates[name]:.1f} | " + " | ".join(f"{m:.0f} ({s})" for m, s in zip(med, spread))
          + f" | {len(v)} |")
PY
