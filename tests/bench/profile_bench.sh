#!/bin/sh
# profile_bench.sh - where the CPU goes while a local 8-node cluster trains:
# Debian's linux-perf samples every CPU of the machine for SECONDS in the
# middle of one epoch of the Fashion-MNIST example, then the samples of the
# gpdotd processes are summed by what they were doing.
#
#   tests/bench/profile_bench.sh [--seconds S] [--set KEY=VALUE ...] [--keep DIR]
#
# --seconds S  how long perf samples (default 10), starting 3 s into the steps
# --set K=V    an override for the job (e.g. training.batch=256), as train_bench
# --keep DIR   keep perf.data and the full reports there
#
# Categories (by the sampled function and its library, self time only):
#   products      OpenBLAS (gemm, gemv and their copies into its buffers)
#   gpdot: coding, check, bookkeeping   the rest of gpdotd's own code: the
#                 coding core (encodings, decodes, regeneration), the stored-code
#                 check's projections, the trainer's own bookkeeping
#   elementwise   the model's own arithmetic (gp_train_*: activations,
#                 Hadamard, loss, the batch's input)
#   serialise     msgpack and gpdot's protocol codec
#   copies        memcpy/memmove/memset in libc
#   alloc         malloc/free and the kernel's page faults behind them
#   zeromq        libzmq in user space (its I/O threads and the sockets' queues)
#   kernel: network                the kernel's TCP or Unix socket path, with
#                 its copies of the payload
#   kernel: wake-ups               futex, poll/epoll, scheduling
#   kernel: system calls, other    the rest of the kernel
#   other         everything else (libc's locks and strings)
# Needs perf (linux-perf) and python3; binaries from GP_BUILD_DIR (default build/).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${GP_BUILD_DIR:-$top/build}
client=$build/client/gpdot-client
seconds=10
keep=""
common="--set training.epochs=1"
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --set) common="$common --set $2"; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    *) echo "usage: profile_bench.sh [--seconds S] [--set KEY=VALUE ...] [--keep DIR]" >&2; exit 2 ;;
    esac
done
command -v perf > /dev/null || { echo "profile_bench.sh: perf is missing (apt-get install linux-perf)" >&2; exit 2; }
dir=$(mktemp -d /tmp/gpdot-profile-XXXXXX)
cleanup() {
    sh "$top/deploy/local/cluster.sh" down --dir "$dir" > /dev/null 2>&1 || true
    if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$dir"/perf.* "$keep"/ 2> /dev/null || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
cfg=$(GP_BUILD_DIR=$build sh "$top/deploy/local/cluster.sh" up --nodes 8 --dir "$dir" --timeout-ms 2000)
kernel=$("$client" -c "$cfg" status --json | python3 -c \
    'import json,sys; print(sorted({n.get("blas","?") for n in json.load(sys.stdin) if n["answered"]}))')
# shellcheck disable=SC2086
id=$("$client" -c "$cfg" submit "$top/deploy/examples/fashion-mnist.yaml" $common --set faults.scale=0)
step() { "$client" -c "$cfg" status "$id" --json 2> /dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["step"])' 2> /dev/null || echo 0; }
while [ "$(step)" -lt 1 ]; do sleep 0.2; done
sleep 3
s0=$(step)
perf record -q -a -F 999 -o "$dir/perf.data" -- sleep "$seconds" > /dev/null 2>&1
s1=$(step)
"$client" -c "$cfg" cancel "$id" > /dev/null 2>&1 || true
perf report -i "$dir/perf.data" --no-children --sort comm,dso,sym --stdio \
    --percent-limit 0 2> /dev/null > "$dir/perf.report"
echo "profile_bench: $cpu, $(nproc) cores; BLAS kernel of the daemons: $kernel"
echo "job: deploy/examples/fashion-mnist.yaml $common, 8 daemons, one BLAS thread each;" \
    "perf record -a -F 999 for $seconds s: steps $s0 to $s1 ($(( (s1 - s0) / seconds )) steps/s)"
python3 - "$dir/perf.report" << 'EOF'
import re, sys
# the daemons' threads: main (the message loop), the trainer, the workers,
# the ZAP handler, ZeroMQ's I/O and reaper threads
THREADS = {"gpdotd": "main (message loop)", "gp-trainer": "trainer", "gp-worker": "workers",
           "gp-zap": "ZAP handler", "ZMQbg/IO/0": "ZeroMQ I/O", "ZMQbg/Reaper": "ZeroMQ reaper"}
rows, threads, everything = [], {}, 0.0
for line in open(sys.argv[1]):
    m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
    if not m:
        continue
    pct, comm = float(m.group(1)), m.group(2)
    everything += pct
    if comm not in THREADS:
        continue
    threads[THREADS[comm]] = threads.get(THREADS[comm], 0) + pct
    rows.append((pct, m.group(3), m.group(4), m.group(5).strip()))
def cat(dso, kind, sym):
    s = sym.lower()
    if "openblas" in dso: return "products"
    if "zmq" in dso: return "zeromq"
    if "msgpack" in dso or s.startswith(("gp_proto", "gp_pmsg")): return "serialise"
    if kind == "k":
        if any(w in s for w in ("tcp", "skb", "sock", "inet", "ip_", "loopback", "net_", "__dev",
                                "netif", "napi", "unix_", "csum", "_copy_to_iter",
                                "_copy_from_iter", "copy_user", "check_object_size")):
            return "kernel: network"
        if any(w in s for w in ("futex", "sched", "schedule", "poll", "epoll", "wake", "switch",
                                "pick_", "enqueue", "dequeue", "update_curr", "hrtimer",
                                "select_task", "_raw_spin_unlock")):
            return "kernel: wake-ups"
        if any(w in s for w in ("page", "fault", "mmap", "munmap", "clear_", "alloc_", "free_",
                                "tlb", "lru", "mem_cgroup", "rmqueue")):
            return "alloc"
        return "kernel: system calls, other"
    if any(w in s for w in ("memcpy", "memmove", "memset")): return "copies"
    if any(w in s for w in ("malloc", "free", "calloc", "realloc", "_int_", "tcache", "arena")):
        return "alloc"
    if dso == "gpdotd":
        if s.startswith("gp_train"): return "elementwise"
        return "gpdot: coding, check, bookkeeping"
    return "other"
tot = {}
top = {}
for pct, dso, kind, sym in rows:
    c = cat(dso, kind, sym)
    tot[c] = tot.get(c, 0) + pct
    top.setdefault(c, []).append((pct, sym, dso))
allp = sum(tot.values())
print(f"the daemons' threads: {allp:.1f} % of all samples (idle and other processes the rest); "
      "by thread: " + ", ".join(f"{k} {v / allp * 100:.1f} %" for k, v in
                                sorted(threads.items(), key=lambda x: -x[1])))
print()
print("| where the daemons' CPU goes | share | largest functions |")
print("|---|---:|---|")
for c, p in sorted(tot.items(), key=lambda x: -x[1]):
    fns = ", ".join(f"{s.split()[-1][:40]} {q / allp * 100:.1f}" for q, s, d in sorted(top[c], reverse=True)[:3])
    print(f"| {c} | {p / allp * 100:.1f} % | {fns} |")
EOF
