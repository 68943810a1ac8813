# tests/lib.sh - the preamble the shell tests share. A test sources it and
# calls gp_setup:
#
#     top=$(cd "$(dirname "$0")/.." && pwd)
#     . "$top/tests/lib.sh"
#     gp_setup NAME BUILD_DIR [PYTHON]
#
# gp_setup sets build (absolute), py, cl (deploy/local/cluster.sh), client,
# gpdotd and data (Fashion-MNIST's directory); exports GP_BUILD_DIR and
# OPENBLAS_NUM_THREADS=1 (several daemons share the cores); makes tmp, a new
# /tmp/gpdot-NAME-test-XXXXXX; and at exit stops every local cluster under
# $tmp (cluster.sh down on each of its directories, after gp_before_cleanup
# when the test defines it, e.g. to SIGCONT stopped daemons) and removes $tmp,
# unless GP_KEEP_TMP is set.
#
# fail MSG prints "FAIL: MSG" and the last $GP_LOG_LINES lines (default 6) of
# every daemon log under $tmp, leaving out lines that match $GP_LOG_SKIP (an
# extended regular expression; default: the routine regeneration and redo
# lines), and exits 1. gp_need_fashion exits 77 (skipped) when Fashion-MNIST
# is not installed.

gp_setup() {
    gp_name=$1
    build=$(cd "$2" && pwd)
    py=${3:-python3}
    top=${top:-$(cd "$(dirname "$0")/.." && pwd)}
    cl="$top/deploy/local/cluster.sh"
    client=$build/client/gpdot-client
    gpdotd=$build/daemon/gpdotd
    data=/usr/share/datasets/fashion-mnist
    GP_BUILD_DIR=$build
    OPENBLAS_NUM_THREADS=1
    export GP_BUILD_DIR OPENBLAS_NUM_THREADS
    tmp=$(mktemp -d "/tmp/gpdot-$gp_name-test-XXXXXX")
    trap gp_cleanup EXIT
}

gp_cleanup() {
    if command -v gp_before_cleanup > /dev/null 2>&1; then gp_before_cleanup || true; fi
    for d in "$tmp"/*/; do
        [ -e "$d/cluster.yaml" ] && sh "$cl" down --dir "$d" 2> /dev/null || true
    done
    if [ -n "${GP_KEEP_TMP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

gp_logs() {
    for f in "$tmp"/*/node*.log; do
        [ -e "$f" ] || continue
        echo "--- $f" >&2
        grep -Ev "${GP_LOG_SKIP:-regenerated|redone}" "$f" | tail -"${GP_LOG_LINES:-6}" >&2
    done
}

fail() {
    echo "FAIL: $*" >&2
    gp_logs
    exit 1
}

gp_need_fashion() {
    for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
        t10k-labels-idx1-ubyte.gz; do
        [ -r "$data/$f" ] || {
            echo "skipped: $data/$f is missing (Debian: apt-get install dataset-fashion-mnist)"
            exit 77
        }
    done
}
