#!/bin/sh
# fault_campaign_test.sh - one training job through a campaign of faults
# drawn from a seed: the Fashion-MNIST network of the example (784-256-128-10,
# relu, B = 64, two epochs of 938 steps) on a local 8-node cluster with soft
# errors in every kind of step on every node (the example's rules at half
# their rates), while daemons
# are SIGKILLed and started again (with their state, or as empty
# replacements) and stopped (SIGSTOP) and continued, at random steps, one
# node out at a time (an event waits for the node of the one before to be
# back: its step is the earliest it happens at). The job must finish within 0.5 accuracy points of the
# fault-free run (train --local, which the error-free cluster matches
# exactly). Prints what it did, and what the system observed.
# usage: fault_campaign_test.sh BUILD_DIR PYTHON [SEED]
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup campaign "$1" "$2"
seed=${3:-${GP_CAMPAIGN_SEED:-2026}}
gp_need_fashion
gp_before_cleanup() { # stopped daemons go on, so that they can be stopped
    for i in 0 1 2 3 4 5 6 7; do kill -CONT "$(cat "$tmp/c/node$i.pid" 2>/dev/null)" 2>/dev/null || true; done
}
fail() {
    echo "FAIL: $*" >&2
    for f in "$tmp"/c/node*.log; do
        [ -e "$f" ] || continue
        echo "--- $f: its last turns (rollbacks, joins, waits), then its last lines" >&2
        grep -E "rolled back|rejoin|caught up|joined|the others|failed|stored blocks" "$f" | tail -12 >&2
        echo "..." >&2
        grep -v "regenerated\|redone\|responders\|missing" "$f" | tail -5 >&2
    done
    exit 1
}
cd "$tmp"
job=$top/deploy/examples/fashion-mnist.yaml
# half the example's soft-error rates (about 0.75 per step): with a node out,
# the backward products of gpd 2 x 2 on 8 nodes have no error to spare, and at
# the full rates a long outage can meet ten undecodable steps in a row
set -- --set training.epochs=2 --set faults.scale=0.5
"$client" train --local "$job" "$@" -o local --json > local.json 2> /dev/null || fail "train --local"
ref=$("$py" -c "import json; print(json.load(open('local.json'))['test_accuracy'])")
echo "fault-free reference (train --local): test accuracy $ref"

# the campaign: (step, action, node, seconds) from the seed
"$py" - "$seed" > plan.txt <<'PY'
import random, sys
rng = random.Random(int(sys.argv[1]))
step = 80
while True:
    step += rng.randint(100, 220)
    if step > 1500:
        break
    action = rng.choice(["kill-restart", "kill-restart", "kill-replace", "stop-continue", "stop-continue"])
    print(step, action, rng.randrange(8), round(rng.uniform(1.5, 4.0), 1))
PY
echo "campaign from seed $seed:"
sed 's/^/  at step /' plan.txt

cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/c" --timeout-ms 2000)
C() { "$client" -c "$cfg" "$@"; }
id=$(C submit "$job" "$@") || fail "submit"
step() { C status "$id" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['step'])" 2>/dev/null || echo 0; }
state() { C status "$id" --json 2>/dev/null | "$py" -c "import json,sys; print(json.load(sys.stdin)['state'])" 2>/dev/null || echo unknown; }
start() {
    nohup "$gpdotd" --config "$cfg" --node "$1" >> "$tmp/c/node$1.log" 2>&1 &
    echo $! > "$tmp/c/node$1.pid"
}
t0=$(date +%s.%N)
now() { "$py" -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):6.1f} s')" "$(date +%s.%N)" "$t0"; }
# every node taking part again (one node out at a time: with 8 nodes the
# code corrects soft errors with one node missing, not with two)
all_back() {
    C status "$id" --json 2>/dev/null | "$py" -c "import json,sys; sys.exit(json.load(sys.stdin)['nodes_up'] != 8)"
}
while read -r at action node secs; do
    i=0
    while [ "$(step)" -lt "$at" ] || ! all_back; do
        i=$((i + 1)); [ $i -lt 3000 ] || fail "the job does not reach step $at with every node"
        case $(state) in done | failed | cancelled) break 2 ;; esac
        sleep 0.05
    done
    pid=$(cat "$tmp/c/node$node.pid")
    if [ "$(step)" -gt 1780 ]; then
        echo "  $(now) step $(step): too close to the end for '$action' of node $node: not done"
        continue
    fi
    case $action in
    kill-restart)
        kill -KILL "$pid"
        echo "  $(now) step $(step): node $node SIGKILLed; started again with its state after $secs s"
        sleep "$secs"; start "$node" ;;
    kill-replace)
        kill -KILL "$pid"
        rm -rf "$tmp/c/node$node"
        echo "  $(now) step $(step): node $node SIGKILLed and its state directory removed; an empty replacement starts after $secs s"
        sleep "$secs"; start "$node" ;;
    stop-continue)
        kill -STOP "$pid"
        echo "  $(now) step $(step): node $node stopped (SIGSTOP) for $secs s"
        sleep "$secs"; kill -CONT "$pid" ;;
    esac
done < plan.txt
echo "  $(now) step $(step): the campaign is over; waiting for the job"
C watch "$id" > watch.txt 2>&1 || { tail -3 watch.txt; fail "the job did not finish"; }
C status "$id" --json > job.json
echo "what the system observed:"
grep -h "rejoined at step\|caught up\|is a suspect\|rolled back\|resumed at\|taking it up" "$tmp"/c/node*.log |
    sort | sed 's/^/  /'
"$py" - "$ref" <<'PY' || fail "the job missed the fault-free accuracy by more than 0.5 points"
import json, sys
j, ref = json.load(open("job.json")), float(sys.argv[1])
print(f"  job {j['id']}: {j['state']}, test accuracy {j['test_accuracy']:.4f} "
      f"(fault-free {ref:.4f}, {100 * (j['test_accuracy'] - ref):+.2f} points)")
print(f"  soft errors injected {j['errors_injected']}, node outputs corrected {j['errors_corrected']}, "
      f"detected {j['errors_detected']}, blocks regenerated {j['blocks_regenerated']}, "
      f"steps redone {j['steps_redone']}, skipped {j['steps_skipped']}, rollbacks {j['rollbacks']}, "
      f"nodes lost (exchanges) {j['nodes_lost']}, nodes up at the end {j['nodes_up']}, "
      f"suspects {j['suspects']}, {j['elapsed_s']:.0f} s")
assert j["state"] == "done"
assert abs(j["test_accuracy"] - ref) <= 0.005
PY
echo "ok"
