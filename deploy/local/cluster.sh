#!/bin/sh
# cluster.sh - a local gpdot cluster on 127.0.0.1, in one command.
#
#   deploy/local/cluster.sh up --nodes N --dir DIR [--m M --n N] [--scheme S]
#                              [--faults SPEC] [--timeout-ms MS] [--curve] [--ipc]
#   deploy/local/cluster.sh down --dir DIR
#
# `up` writes DIR/cluster.yaml (free ports, chosen now), starts N gpdotd
# daemons (logs in DIR/node<i>.log, pids in DIR/node<i>.pid), waits until
# every one answers `gpdot-client ping` and hears every other (`status`: "sees N of
# N up"), and prints the cluster file's path.
# --m/--n/--scheme set the cluster's default code; --faults injects errors,
# SPEC being rules NODE:OP:PROBABILITY:MAGNITUDE separated by commas (NODE a
# node id or all; OP multiply, encode, decode, activation, hadamard, update).
# --curve secures the cluster: a key pair per node (DIR/node<i>.key) and one
# client key pair (DIR/client.key, named "local" in security.clients); use it
# with gpdot-client -k DIR/client.key (or GPDOT_KEY=DIR/client.key).
# --ipc: the daemons reach each other over Unix domain sockets (ipc://DIR/
# node<i>.peer) instead of TCP on 127.0.0.1 (clients still use TCP): on one
# machine, the same messages for less of the kernel's time.
# `down` stops the daemons by their pids (SIGTERM, then SIGKILL after 5 s).
#
# Binaries come from GP_BUILD_DIR (default: build/ at the top of the tree).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${GP_BUILD_DIR:-$top/build}
gpdotd=$bin/daemon/gpdotd
client=$bin/client/gpdot-client

die() { echo "cluster.sh: $*" >&2; exit 2; }

# n distinct free ports: every socket stays bound until all are chosen, so the
# kernel cannot hand out the same port twice
free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

down() {
    dir=$1
    [ -d "$dir" ] || die "no directory $dir"
    for f in "$dir"/node*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        kill "$pid" 2>/dev/null || true
    done
    for f in "$dir"/node*.pid; do
        [ -e "$f" ] || continue
        pid=$(cat "$f")
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

cmd=${1:-}
[ -n "$cmd" ] || die "usage: cluster.sh up --nodes N --dir DIR ... | down --dir DIR"
shift
nodes= dir= m= n= scheme= faults= timeout=5000 curve= ipc=
while [ $# -gt 0 ]; do
    case $1 in
    --nodes) nodes=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --m) m=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --scheme) scheme=$2; shift 2 ;;
    --faults) faults=$2; shift 2 ;;
    --timeout-ms) timeout=$2; shift 2 ;;
    --curve) curve=1; shift ;;
    --ipc) ipc=1; shift ;;
    *) die "unknown argument '$1'" ;;
    esac
done
[ -n "$dir" ] || die "--dir DIR is needed"

case $cmd in
down) down "$dir"; exit 0 ;;
up) ;;
*) die "unknown command '$cmd' (up or down)" ;;
esac

[ -n "$nodes" ] || die "--nodes N is needed"
[ -x "$gpdotd" ] && [ -x "$client" ] || die "build first: $gpdotd or $client is missing"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
cfg=$dir/cluster.yaml
for f in "$dir"/node*.pid; do
    [ -e "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && die "a cluster is running in $dir already"
done
# --curve: DIR/node<i>.key and DIR/client.key; pub_of FILE prints ', public_key: "..."'
keyopt() { :; }
pub_of() { :; }
if [ -n "$curve" ]; then
    i=0
    while [ $i -lt "$nodes" ]; do
        "$client" keygen -o "$dir/node$i.key" --force > /dev/null 2>&1 || die "keygen failed"
        i=$((i + 1))
    done
    "$client" keygen -o "$dir/client.key" --force > /dev/null 2>&1 || die "keygen failed"
    pub_of() { printf ', %s' "$(cat "$1.pub")"; }
    keyopt() { echo "--key $dir/node$1.key"; }
fi
{
    echo "cluster: local"
    echo "nodes:"
    set -- $(free_ports $((2 * nodes)))
    i=0
    while [ $i -lt "$nodes" ]; do
        peer="tcp://127.0.0.1:$2"
        [ -n "$ipc" ] && peer="ipc://$dir/node$i.peer"
        echo "  - {id: $i, client: \"tcp://127.0.0.1:$1\", peer: \"$peer\"$(pub_of "$dir/node$i.key")}"
        shift 2
        i=$((i + 1))
    done
    echo "defaults: {heartbeat_ms: 200, peer_timeout_ms: $timeout, state_dir: \"$dir\"}"
    if [ -n "$curve" ]; then
        echo "security:"
        echo "  clients:"
        echo "    - {name: local$(pub_of "$dir/client.key")}"
    fi
    if [ -n "$scheme$m$n" ]; then
        printf 'code: {scheme: %s' "${scheme:-gpd}"
        [ -n "$m" ] && printf ', m: %s' "$m"
        [ -n "$n" ] && printf ', n: %s' "$n"
        echo "}"
    fi
    if [ -n "$faults" ]; then
        echo "faults:"
        echo "  rules:"
        echo "$faults" | tr ',' '\n' | while IFS=: read -r node op p mag; do
            [ -n "$op" ] && [ -n "$p" ] || die "a fault is NODE:OP:PROBABILITY[:MAGNITUDE], not '$node:$op:$p'"
            echo "    - {node: $node, op: $op, probability: $p, magnitude: ${mag:-1.0}}"
        done
    fi
} > "$cfg"
"$gpdotd" --config "$cfg" --check-config > /dev/null

i=0
while [ $i -lt "$nodes" ]; do
    OPENBLAS_NUM_THREADS=1 nohup "$gpdotd" --config "$cfg" --node $i $(keyopt $i) \
        > "$dir/node$i.log" 2>&1 &
    echo $! > "$dir/node$i.pid"
    i=$((i + 1))
done

# wait_until WHAT CMD...: CMD retried every 0.25 s for up to 20 s, else the
# cluster is taken down and WHAT named
wait_until() {
    what=$1
    shift
    t=0
    until "$@"; do
        t=$((t + 1))
        if [ $t -ge 80 ]; then
            down "$dir"
            die "the daemons did not all $what within 20 s (logs in $dir)"
        fi
        sleep 0.25
    done
}
answer() { "$client" -c "$cfg" ping --timeout 500 > /dev/null 2>&1; }
all_hear() { [ "$("$client" -c "$cfg" status 2>/dev/null | grep -c ": sees $nodes of $nodes up")" = "$nodes" ]; }
[ -n "$curve" ] && export GPDOT_KEY="$dir/client.key"
# ready when every node answers, and every node hears every other: their peer
# links are up, each way (a daemon sends to a peer only over a live connection)
wait_until answer answer
wait_until "hear each other" all_hear
echo "$cfg"
