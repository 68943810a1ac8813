#!/bin/sh
# train_bench.sh - seconds per epoch of Fashion-MNIST training on a local
# cluster of 8 nodes (--nodes) against `gpdot-client train --local` of the same job, side by
# side in one run (medians of --reps runs), with the cluster's time split into
# compute, coding and waiting for peers.
#
#   tests/bench/train_bench.sh [--reps N] [--quick] [--nodes P] [--set KEY=VALUE ...]
#
# --reps N     runs of each configuration (default 3)
# --quick      6400 training and 2000 test samples, 1 rep: checks that it runs
# --ipc        the daemons talk over Unix domain sockets, not TCP (cluster.sh --ipc)
# --nodes P    daemons in the cluster (default 8; the job's code must fit them)
# --set K=V    another override for every run (e.g. training.batch=256,
#              code.scheme=polynomial); values without spaces
#
# The job is deploy/examples/fashion-mnist.yaml with training.epochs=1. Every
# repetition runs, one after the other so that they see the same machine load:
#   train --local, cluster with faults.scale=0,
#   train --local, cluster with the job's fault rates (scale 1.0).
# The cluster (deploy/local/cluster.sh, --nodes daemons, default 8, the code from the job,
# peer timeout 2 s) is started in a directory of its own under /tmp and
# stopped on exit, whatever happens. Both sides use one OpenBLAS thread per
# process: the daemons because cluster.sh starts them so, train --local because
# OPENBLAS_NUM_THREADS=1 is set here.
#
# Seconds per epoch are training time only: the training samples divided by
# samples_per_s, which both trainers measure over the steps (not loading the
# data, not evaluating the test set). "whole job s" is elapsed_s as reported:
# for train --local the steps and the evaluation; for the cluster also each
# daemon's set-up (loading the data, encoding the initial weights) and the
# start barrier. compute, coding and waiting are node 0's trainer thread. The
# ratio is the median over the repetitions of (cluster run) / (the train
# --local run just before it). "daemon CPU s" is user + system time of the 8
# daemons from submit to the end of watch, from /proc, split into their
# ZeroMQ I/O threads, their main threads (the message loop) and the rest (the
# trainer threads, which also load the data and evaluate the test set).
# Partials and bytes are the daemons' counters of training messages. Each run
# also reports how many cores other processes on the machine kept busy.
#
# Binaries from GP_BUILD_DIR (default build/). Needs python3 (as cluster.sh).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
export GP_BUILD_DIR="${GP_BUILD_DIR:-$top/build}"
export OPENBLAS_NUM_THREADS=1 # deliberately: one BLAS thread for every process
client=$GP_BUILD_DIR/client/gpdot-client
job=$top/deploy/examples/fashion-mnist.yaml

die() { echo "train_bench.sh: $*" >&2; exit 2; }

reps=3 quick=0 extra= ipc= nodes=8
while [ $# -gt 0 ]; do
    case $1 in
    --reps) [ $# -ge 2 ] || die "--reps needs a number"; reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --ipc) ipc=--ipc; shift ;;
    --nodes) [ $# -ge 2 ] || die "--nodes needs a number"; nodes=$2; shift 2 ;;
    --set) [ $# -ge 2 ] || die "--set needs KEY=VALUE"; extra="$extra --set $2"; shift 2 ;;
    -h | --help) sed -n '2,38p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (--reps N, --quick, --nodes P, --ipc, --set KEY=VALUE)" ;;
    esac
done
case $reps in '' | *[!0-9]*) die "--reps takes a positive number, not '$reps'" ;; esac
[ "$reps" -ge 1 ] || die "--reps takes a positive number"
common="--set training.epochs=1"
if [ $quick = 1 ]; then
    reps=1
    common="$common --set data.train_limit=6400 --set data.test_limit=2000"
fi
common="$common$extra"
if [ ! -x "$client" ] || [ ! -x "$GP_BUILD_DIR/daemon/gpdotd" ]; then die "build first ($GP_BUILD_DIR)"; fi
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
    die "Fashion-MNIST is missing from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"
command -v python3 > /dev/null || die "python3 is needed"

dir=$(mktemp -d /tmp/gpdot-train-bench-XXXXXX)
cleanup() {
    sh "$top/deploy/local/cluster.sh" down --dir "$dir" > /dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# the machine, and how busy it is
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
ncpu=$(nproc)
blas=$(dpkg-query -W -f '${Version}' libopenblas0-pthread 2> /dev/null ||
    dpkg-query -W -f '${Version}' libopenblas0 2> /dev/null || echo unknown)
others=$(pgrep -c -x gpdotd || true) # before ours start: other clusters' daemons
kernel=$("$client" --version | sed -n 's/^BLAS kernel //p')

cfg=$(sh "$top/deploy/local/cluster.sh" up --nodes "$nodes" --dir "$dir" --timeout-ms 2000 $ipc)
pids=$(cat "$dir"/node*.pid)

# user + system seconds of our daemons so far: all threads, ZeroMQ's I/O
# threads (which move the messages between the sockets and the queues) and the
# main threads
daemon_cpu() {
    for p in $pids; do
        if [ -r "/proc/$p/stat" ]; then
            echo "all $(cat "/proc/$p/stat")"
            for t in /proc/"$p"/task/*; do
                case $(cat "$t/comm" 2> /dev/null) in
                ZMQbg/IO*) echo "io $(cat "$t/stat" 2> /dev/null)" ;;
                *) [ "${t##*/}" = "$p" ] && echo "main $(cat "$t/stat" 2> /dev/null)" ;;
                esac
            done
        else
            echo "gone"
        fi
    done | awk -v hz="$(getconf CLK_TCK)" '
        /^gone/ { bad = 1; next }
        { k = $1; sub(/^[a-z]* [0-9]* \(.*\) /, ""); t[k] += $12 + $13 }  # utime, stime
        END { if (bad) print "nan nan nan"
              else printf "%.2f %.2f %.2f\n", t["all"] / hz, t["io"] / hz, t["main"] / hz }'
}

# busy seconds of the whole machine (all cores) and seconds since boot
machine() {
    awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f ", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
    cut -d ' ' -f 1 /proc/uptime
}

# user + system seconds of this shell's children in a file of `times` (called
# in this shell: in a command substitution it would count the subshell's)
children_cpu() {
    sed -n 2p "$1" | tr 'ms' '  ' | awk '{ printf "%.2f\n", 60 * $1 + $2 + 60 * $3 + $4 }'
}

# one line per run: kind rep json-file own-cpu-s io/main-cpu-s others-cores samples
# (others: what the other processes on the machine kept busy, in cores)
runs=$dir/runs
: > "$runs"
record() { # kind rep json-file m0 m1 own io
    echo "$4 $5 $6" | awk '{ o = ($3 - $1 - $5) / ($4 - $2); printf "%.2f\n", o < 0 ? 0 : o }' > "$dir/other"
    echo "$1 $2 $3 $6 $7 $(cat "$dir/other") ${samples:--}" >> "$runs"
    rate=$(sed -n 's/.*"samples_per_s": \([0-9.e+]*\).*/\1/p' "$3")
    case $1 in local) what="train --local" ;; *) what="cluster, $1" ;; esac
    awk -v what="$what" -v rate="$rate" -v n="$samples" -v o="$(cat "$dir/other")" \
        'BEGIN { printf "    %-16s %6.2f s per epoch  (other processes: %.2f cores)\n", what, n / rate, o }' >&2
}

local_run() { # rep
    out=$dir/local.$1.json
    m0=$(machine)
    times > "$dir/times0"
    # shellcheck disable=SC2086 # $common is a list of --set options
    if ! "$client" train --local "$job" --json $common > "$out" 2> "$dir/local.err"; then
        cat "$dir/local.err" >&2
        die "train --local failed"
    fi
    times > "$dir/times1"
    m1=$(machine)
    c0=$(children_cpu "$dir/times0") c1=$(children_cpu "$dir/times1")
    samples=$(sed -n 's/.*, \([0-9][0-9]*\) training and .*/\1/p' "$dir/local.err" | head -n 1)
    [ -n "$samples" ] || die "cannot read the number of training samples from train --local"
    record local "$1" "$out" "$m0" "$m1" "$(echo "$c0 $c1" | awk '{ print $2 - $1 }')" 0/0
}

cluster_run() { # name rep scale
    out=$dir/$1.$2.json
    "$client" -c "$cfg" status --json > "$dir/$1.$2.before" || die "status failed"
    m0=$(machine) d0=$(daemon_cpu)
    # shellcheck disable=SC2086
    id=$("$client" -c "$cfg" submit "$job" $common --set "faults.scale=$3") ||
        die "submit failed"
    if ! timeout 3600 "$client" -c "$cfg" watch "$id" > "$dir/watch.log" 2>&1; then
        tail -n 5 "$dir/watch.log" >&2
        for f in "$dir"/node*.log; do echo "== $f" >&2; tail -n 5 "$f" >&2; done
        die "job $id ($1) did not finish"
    fi
    d1=$(daemon_cpu) m1=$(machine)
    "$client" -c "$cfg" status --json > "$dir/$1.$2.after" || die "status failed"
    "$client" -c "$cfg" status "$id" --json > "$out" || die "status $id failed"
    grep -q '"state": "done"' "$out" || { cat "$out" >&2; die "job $id ($1) did not end done"; }
    dd=$(echo "$d0 $d1" | awk '{ printf "%.2f %.2f/%.2f", $4 - $1, $5 - $2, $6 - $3 }')
    record "$1" "$2" "$out" "$m0" "$m1" "${dd% *}" "${dd#* }"
}

echo "train_bench: $reps repetition(s) of train --local, cluster (no faults), train --local," \
    "cluster (faults)$( [ $quick = 1 ] && echo ', quick')" >&2
r=1
while [ "$r" -le "$reps" ]; do
    local_run "$r.a"
    cluster_run clean "$r" 0
    local_run "$r.b"
    cluster_run faults "$r" 1.0
    echo "  repetition $r of $reps done" >&2
    r=$((r + 1))
done
others1=$(($(pgrep -c -x gpdotd || true) - nodes))

python3 - "$runs" "$ncpu" "$cpu" "$blas" "$others" "$others1" "$reps" "$common" "$kernel" "$ipc" "$nodes" <<'EOF'
import json, statistics, sys

runs, ncpu, cpu, blas, others, others1, reps, common, kernel, ipc, nodes = sys.argv[1:]
P = int(nodes)
others, others1, ncpu = max(int(others), 0), max(int(others1), 0), int(ncpu)
nan = float("nan")

def med(v):
    v = [x for x in v if x == x]
    return statistics.median(v) if v else nan

def num(x, fmt):
    return "-" if x != x else fmt.format(x)

def counters(path):
    """partials and their bytes sent, summed over the nodes"""
    n = b = 0
    for node in json.load(open(path)):
        c = node.get("counters", {})
        n += c.get("partials_sent", 0)
        b += c.get("partial_bytes_sent", 0)
    return n, b

rows = {"local": [], "clean": [], "faults": []}
order = []
samples = None
for line in open(runs):
    kind, rep, path, own, io, other, n = line.split()
    j = json.load(open(path))
    if n != "-":
        samples = int(n)
    io, main = io.split("/")
    j["_cpu"], j["_io"], j["_main"], j["_other"] = float(own), float(io), float(main), float(other)
    if kind != "local":
        n0, b0 = counters(path[:-5] + ".before")
        n1, b1 = counters(path[:-5] + ".after")
        j["_msgs"], j["_bytes"] = n1 - n0, b1 - b0
    rows[kind].append(j)
    order.append((kind, j))

def epoch_s(j):
    return samples / j["samples_per_s"] if j.get("samples_per_s") else nan

def per_epoch(j, key):
    return j[key] / max(j.get("epochs", 1), 1)

# each cluster run against the train --local run just before it
ratios = {"clean": [], "faults": []}
last = None
for kind, j in order:
    if kind == "local":
        last = j
    elif last is not None:
        ratios[kind].append(epoch_s(j) / epoch_s(last))

allruns = [j for _, j in order]
print(f"machine: {cpu}, nproc {ncpu}; OpenBLAS {blas}; OPENBLAS_NUM_THREADS=1 in every process; "
      f"the daemons' peers over {'Unix domain sockets (ipc://)' if ipc else 'TCP on 127.0.0.1'}")
daemon_kernels = set()
for kind, rep, path, *_ in (l.split() for l in open(runs)):
    if kind != "local":
        daemon_kernels |= {n.get("blas", "?") for n in json.load(open(path[:-5] + ".before"))
                           if n.get("answered")}
print(f"BLAS kernel: train --local {kernel}; daemons {', '.join(sorted(daemon_kernels))}")
print(f"other gpdotd processes: {others} at the start, {others1} at the end; other processes "
      f"kept {med([j['_other'] for j in allruns]):.2f} cores busy during the median run, "
      f"{max(j['_other'] for j in allruns):.2f} at most")
print(f"job: deploy/examples/fashion-mnist.yaml {common}; {samples} training samples; "
      f"medians of {reps} run(s) ({2 * int(reps)} of train --local)")
print()
names = {"local": "train --local (1 process, 1 thread)",
         "clean": "cluster, %d nodes, no faults" % P,
         "faults": "cluster, %d nodes, faults (scale 1.0)" % P}
print("| configuration | seconds per epoch (median) | samples/s | test accuracy "
      "| compute s | coding s | waiting s | ratio to train --local |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for kind in ("local", "clean", "faults"):
    js = rows[kind]
    if kind == "local":
        split = ["-", "-", "-"]
        ratio = "1.0"
    else:
        split = [num(med([per_epoch(j, k) for j in js]), "{:.2f}")
                 for k in ("seconds_compute", "seconds_coding", "seconds_waiting")]
        ratio = num(med(ratios[kind]), "{:.1f}")
    print(f"| {names[kind]} | {num(med([epoch_s(j) for j in js]), '{:.2f}')} "
          f"| {num(med([j['samples_per_s'] for j in js]), '{:.0f}')} "
          f"| {num(med([j['test_accuracy'] for j in js]), '{:.4f}')} "
          f"| {' | '.join(split)} | {ratio} |")
print()
print("| configuration | whole job s | errors injected | corrected | steps redone "
      "| blocks regenerated | partials sent per node per step | KiB sent per node per step "
      "| daemon CPU s (all %d) | ZeroMQ I/O threads | main threads | trainers and the rest "
      "| daemon CPU / (cores x whole job) |" % P)
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for kind in ("clean", "faults"):
    js = rows[kind]
    per_step = lambda j, k: j[k] / P / max(j["steps"], 1)
    print(f"| {names[kind]} | {num(med([j['elapsed_s'] for j in js]), '{:.1f}')} "
          f"| {num(med([j['errors_injected'] for j in js]), '{:.0f}')} "
          f"| {num(med([j['errors_corrected'] for j in js]), '{:.0f}')} "
          f"| {num(med([j['steps_redone'] for j in js]), '{:.0f}')} "
          f"| {num(med([j['blocks_regenerated'] for j in js]), '{:.0f}')} "
          f"| {num(med([per_step(j, '_msgs') for j in js]), '{:.1f}')} "
          f"| {num(med([per_step(j, '_bytes') / 1024 for j in js]), '{:.0f}')} "
          f"| {num(med([j['_cpu'] for j in js]), '{:.1f}')} "
          f"| {num(med([j['_io'] for j in js]), '{:.1f}')} "
          f"| {num(med([j['_main'] for j in js]), '{:.1f}')} "
          f"| {num(med([j['_cpu'] - j['_io'] - j['_main'] for j in js]), '{:.1f}')} "
          f"| {num(med([j['_cpu'] / (ncpu * j['elapsed_s']) for j in js]), '{:.2f}')} |")
print(f"| train --local | {num(med([j['elapsed_s'] for j in rows['local']]), '{:.1f}')} "
      "| | | | | | | | | | | |")
print()
print("seconds per epoch: training samples / samples_per_s (the steps only); compute, coding")
print("and waiting: node 0's trainer thread, per epoch; whole job s: elapsed_s as reported;")
print("ratio: median over repetitions of the cluster run / the train --local run before it;")
print("partials: training messages between daemons (heartbeats not counted); daemon CPU:")
print("user + system time of the %d daemons from submit to the end of watch, by thread: ZeroMQ's" % P)
print("I/O threads, the main threads (the message loop) and the rest (the trainer threads).")
EOF
