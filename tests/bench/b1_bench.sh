#!/bin/sh
# b1_bench.sh - B = 1 on 12 daemons: the configuration the earlier
# decentralized MDS strategy's reference implementation was measured at
# (784-1024-1024-10, B = 1, float64, 2000 training and 500 test samples, soft
# errors on), for gpdot's gpd code (m = 2, n = 3) and its uncoded path (m = 3,
# n = 4: a twelfth of each layer per daemon), each
# side by side with train --local (train_bench.sh --nodes 12: one table per
# scheme, with and without the job's soft errors).
#
#   tests/bench/b1_bench.sh [--reps N] [--ipc]
#
# --ipc: the daemons talk over Unix domain sockets (cluster.sh --ipc), as
# co-located processes may; MPI's local ranks use shared memory.
#
# The reference implementation is not part of gpdot. When GP_PEER_CMD is set
# (a shell command that runs it, e.g. "mpirun -np 12 python3 ..."), it runs
# too, once per repetition, and its samples/s are 2000 over the command's wall
# time (its start-up included, which favours gpdot by a few seconds' worth).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
reps=1
ipc=""
while [ $# -gt 0 ]; do
    case $1 in
    --reps) [ $# -ge 2 ] || { echo "b1_bench.sh: --reps needs a number" >&2; exit 2; }
        reps=$2; shift 2 ;;
    --ipc) ipc=--ipc; shift ;;
    *) echo "b1_bench.sh: unknown argument '$1' (--reps N, --ipc)" >&2; exit 2 ;;
    esac
done
common="--set training.batch=1 --set data.train_limit=2000 --set data.test_limit=500"
common="$common --set model.layers=[784,1024,1024,10] --set training.lr=0.01"
for scheme in "gpd --set code.n=3" "uncoded --set code.m=3 --set code.n=4"; do
    echo "## ${scheme%% *}: 12 daemons, B = 1, 784-1024-1024-10, 2000 samples"
    echo
    # shellcheck disable=SC2086 # lists of options
    sh "$top/tests/bench/train_bench.sh" --nodes 12 --reps "$reps" $ipc $common --set code.scheme=$scheme
    echo
done
if [ -n "${GP_PEER_CMD:-}" ]; then
    echo "## the reference implementation (GP_PEER_CMD)"
    for r in $(seq 1 "$reps"); do
        t0=$(date +%s.%N)
        sh -c "$GP_PEER_CMD" > /dev/null
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk '{ printf "repetition: %.1f samples/s (2000 samples in %.1f s)\n", 2000 / ($2 - $1), $2 - $1 }'
    done
else
    echo "the reference implementation: not run (set GP_PEER_CMD to the command that runs it)"
fi
