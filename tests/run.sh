#!/bin/sh
# Runs every test: installs what is missing, builds, runs CTest on both cores.
#
#   tests/run.sh [CTEST ARGS]     the suite on the normal build (build/)
#   tests/run.sh --sanitize       the whole suite again on a build with
#                                 AddressSanitizer and UndefinedBehaviorSanitizer
#                                 (build-asan/); every report of either fails it
#   tests/run.sh --fuzz [SECONDS] each libFuzzer target for SECONDS (default 30;
#                                 --all: 20)
#                                 on a copy of its seed corpus (tests/fuzz/run.sh)
#   tests/run.sh --all            the suite, the suite under the sanitizers,
#                                 then the fuzzers (what CI runs)
#
# Extra arguments go to ctest (e.g. -L unit, -R decode).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

# (each step chained: under `|| ...` below, set -e does not stop a function)
normal() {
    "$top/deploy/install-deps.sh" --tests &&
        "$top/deploy/build.sh" &&
        cd "${GP_BUILD_DIR:-$top/build}" &&
        ctest --output-on-failure -j "$(nproc)" "$@"
}

# The sanitizers slow the arithmetic about threefold: the two 10 000-trial
# sweeps run 100 trials per error count here (the same code as their first
# trials); the 2-epoch Fashion-MNIST strategies table, the fault campaign,
# two nodes out, the split networks and mds regeneration (2000 steps on 12
# daemons) are left out (their code paths are train_cluster's, resume's,
# rejoin's and netns's, which run, waiting for redundancy and joining waiting
# peers too, in train_cluster (h); their timing is the normal build's); the
# rest runs as it is.
sanitize() {
    "$top/deploy/install-deps.sh" --tests || return 1
    dir=${GP_ASAN_BUILD_DIR:-$top/build-asan}
    GP_BUILD_DIR=$dir GP_CMAKE_ARGS="-DGP_SANITIZE=address,undefined" "$top/deploy/build.sh" || return 1
    reports=$dir/sanitizer-reports
    rm -rf "$reports"
    mkdir -p "$reports"
    # every process of the suite (daemons too) writes its reports there
    export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:exitcode=86"
    export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1:exitcode=86"
    export GP_TRIALS=100
    cd "$dir"
    status=0
    ctest --output-on-failure -j "$(nproc)" -E '^(train_fashion_cluster|fault_campaign|two_out|partition|mds_regen)$' "$@" || status=1
    if [ -n "$(ls -A "$reports")" ]; then
        echo "sanitizer reports:" >&2
        for f in "$reports"/*; do echo "--- $f" >&2; head -40 "$f" >&2; done
        status=1
    else
        echo "no sanitizer report from any process of the suite"
    fi
    return $status
}

case ${1:-} in
--sanitize) shift; sanitize "$@" ;;
--fuzz) shift; "$top/tests/fuzz/run.sh" "${1:-30}" ;;
--all)
    shift
    # all three run, whatever the first ones gave; any failure fails the run
    failed=""
    (normal "$@") || failed="$failed suite"
    (sanitize "$@") || failed="$failed sanitizers"
    "$top/tests/fuzz/run.sh" 20 || failed="$failed fuzzers"
    if [ -n "$failed" ]; then echo "tests/run.sh --all: failed:$failed" >&2; exit 1; fi
    echo "tests/run.sh --all: the suite, the suite under the sanitizers and the fuzzers passed" ;;
*) normal "$@" ;;
esac
