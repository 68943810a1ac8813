#!/bin/sh
# load_bench.sh - starts a local 8-node cluster (deploy/local/cluster.sh) in a
# directory of its own under /tmp, runs load_bench against it (16 clients for
# 60 s by default: no failed request, bounded daemon memory, latency
# percentiles), and stops it on exit, whatever happens. Builds nothing: the
# binaries come from GP_BUILD_DIR (default build/).
#
#   tests/bench/load_bench.sh [--quick] [load_bench options ...]
#
# --quick   4 clients for 5 s, RSS sampled every 0.25 s, medians of the halves
#           within 25 % (halves of 2 s are noisier than the default 20 %
#           allows): checks that it runs (CTest load_bench_runs)
# Other arguments go to load_bench (--clients N, --seconds S, --size N,
# --batch B, --inputs K, --interval S, --rss-limit PCT, --warmup S,
# --rss-log FILE); later ones win.
# Exits with load_bench's status: 0 when no request failed and memory stayed
# bounded. Every daemon runs with one worker and one OpenBLAS thread.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
export GP_BUILD_DIR="${GP_BUILD_DIR:-$top/build}"
export OPENBLAS_NUM_THREADS=1 # the daemons (cluster.sh sets it too) and the references
bench=$GP_BUILD_DIR/tests/load_bench

die() { echo "load_bench.sh: $*" >&2; exit 2; }

quick=
if [ "${1:-}" = --quick ]; then
    # 24 MiB: four clients' requests in flight at 3 MiB a daemon, and as much
    # again that the allocator keeps (load_bench.c, --rss-allow)
    quick="--clients 4 --seconds 5 --interval 0.25 --rss-limit 25 --rss-allow 24"
    shift
fi
[ -x "$bench" ] || die "build first: $bench is missing"
[ -x "$GP_BUILD_DIR/daemon/gpdotd" ] || die "build first: $GP_BUILD_DIR/daemon/gpdotd is missing"

dir=$(mktemp -d /tmp/gpdot-load-bench-XXXXXX)
cleanup() {
    sh "$top/deploy/local/cluster.sh" down --dir "$dir" > /dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cfg=$(sh "$top/deploy/local/cluster.sh" up --nodes 8 --dir "$dir" --timeout-ms 5000)
rc=0
# shellcheck disable=SC2086 # $quick is a list of options
"$bench" -c "$cfg" --dir "$dir" $quick "$@" || rc=$?
if [ $rc -ne 0 ]; then # what the daemons said, for the record
    for f in "$dir"/node*.log; do
        echo "== $f (last lines)" >&2
        tail -n 5 "$f" >&2
    done
fi
exit $rc
