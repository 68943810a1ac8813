#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan in their
# own build directory and runs them, one after the other.
#
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]   fuzz (default 60 s each)
#   tests/fuzz/run.sh --replay [TARGET...]               each seed once (fast)
#
# Targets: proto config job npy idx csv (default: all). The build directory is
# $GP_FUZZ_DIR (default build-fuzz/ in the source tree); each run fuzzes a fresh copy of
# corpus/<target> under $GP_FUZZ_DIR/run/, so the repository is never
# written. Exits non-zero if any target finds a crash, leak, timeout or
# out-of-memory, and prints the reproducer's path (rerun it with
# $GP_FUZZ_DIR/tests/fuzz/fuzz_<target> FILE). Installs clang and libFuzzer
# when missing (Debian: clang, libclang-rt-<version>-dev).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
dir=${GP_FUZZ_DIR:-$top/build-fuzz}
all="proto config job npy idx csv"

replay=0
secs=60
if [ "${1:-}" = --replay ]; then
    replay=1
    shift
elif [ -n "${1:-}" ] && [ "$1" -eq "$1" ] 2>/dev/null; then
    secs=$1
    shift
fi
targets=${*:-$all}

# ---- tools ----------------------------------------------------------------------------
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
apt_install() {
    echo "fuzz: installing $*" >&2
    as_root apt-get update -q >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}
have_libfuzzer() {
    t=$(mktemp -d /tmp/gpdot-fuzz-probe.XXXXXX)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\n%s\n' \
        'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n; }' \
        >"$t/p.c"
    ok=0
    clang -fsanitize=fuzzer,address,undefined "$t/p.c" -o "$t/p" >/dev/null 2>&1 || ok=1
    rm -rf "$t"
    return $ok
}
"$top/deploy/install-deps.sh"
command -v clang >/dev/null 2>&1 || apt_install clang
if ! have_libfuzzer; then
    major=$(clang -dumpversion | cut -d. -f1)
    apt_install "libclang-rt-$major-dev"
    have_libfuzzer || { echo "fuzz: clang -fsanitize=fuzzer does not link" >&2; exit 1; }
fi

# ---- build ----------------------------------------------------------------------------
# -O1 -g without NDEBUG: assert()s stay on while fuzzing.
cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=clang -DGP_FUZZ=ON -DGP_SANITIZE=address,undefined \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" >/dev/null
cmake --build "$dir" --target gp_fuzz -j "$(nproc)" >"$dir/fuzz-build.log" 2>&1 ||
    { tail -n 40 "$dir/fuzz-build.log" >&2; exit 1; }

export OPENBLAS_NUM_THREADS=1
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
bin=$dir/tests/fuzz
failed=""

# ---- replay ---------------------------------------------------------------------------
if [ $replay -eq 1 ]; then
    for t in $targets; do
        if "$bin/fuzz_$t" "$here/corpus/$t"/* >"$dir/replay-$t.log" 2>&1; then
            echo "fuzz replay $t: $(ls "$here/corpus/$t" | wc -l) seeds ok"
        else
            tail -n 40 "$dir/replay-$t.log" >&2
            echo "fuzz replay $t: FAILED (log $dir/replay-$t.log)" >&2
            failed="$failed $t"
        fi
    done
    [ -z "$failed" ] || { echo "fuzz replay failed:$failed" >&2; exit 1; }
    exit 0
fi

# ---- fuzz -----------------------------------------------------------------------------
for t in $targets; do
    work=$dir/run/$t
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts"
    cp "$here/corpus/$t"/* "$work/corpus/"
    dict=""
    [ -f "$here/$t.dict" ] && dict="-dict=$here/$t.dict"
    echo "fuzz $t: ${secs}s on a copy of corpus/$t ($work)"
    rc=0
    "$bin/fuzz_$t" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" $dict "$work/corpus" \
        >"$work/log" 2>&1 || rc=$?
    # the last status line (#N DONE cov: ft: corp: exec/s:) and the final stats
    grep -E '^#[0-9]+' "$work/log" | tail -n 1 | sed "s/^/  /"
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$work/log" |
        sed "s/^/  /"
    if [ $rc -ne 0 ] || [ -n "$(ls "$work/artifacts")" ]; then
        grep -E 'ERROR: |SUMMARY: |fuzz check failed|runtime error' "$work/log" | head -n 5 >&2 || true
        for a in "$work/artifacts"/*; do
            [ -e "$a" ] && echo "  reproducer: $a (replay: $bin/fuzz_$t $a)" >&2
        done
        echo "fuzz $t: FAILED (exit $rc, log $work/log)" >&2
        failed="$failed $t"
    fi
done
[ -z "$failed" ] || { echo "fuzz failed:$failed" >&2; exit 1; }
echo "fuzz: no findings in $(echo $targets | wc -w) targets, ${secs}s each"
