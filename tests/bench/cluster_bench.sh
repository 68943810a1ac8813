#!/bin/sh
# cluster_bench.sh - starts a local 8-node cluster (deploy/local/cluster.sh),
# runs cluster_bench against it, stops it. Arguments go to cluster_bench.
#   OPENBLAS_NUM_THREADS=1 tests/bench/cluster_bench.sh [--reps N] [--batch B ...]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export GP_BUILD_DIR=${GP_BUILD_DIR:-$top/build}
dir=$(mktemp -d /tmp/gpdot-bench-XXXXXX)
trap 'sh "$top/deploy/local/cluster.sh" down --dir "$dir"; rm -rf "$dir"' EXIT
cfg=$(sh "$top/deploy/local/cluster.sh" up --nodes 8 --dir "$dir" --timeout-ms 5000)
"$GP_BUILD_DIR/tests/cluster_bench" -c "$cfg" "$@"
