#!/bin/sh
# cluster_test.sh - a local 8-node cluster (deploy/local/cluster.sh), driven
# with gpdot-client, results against numpy: gpd m = n = 2, a 1024 x 1024
# matrix, B = 64.
#   (a) no faults: W X and W^T X within the certified bound
#   (b) errors injected into every product of nodes 2 and 5: corrected
#   (c) a daemon killed with SIGKILL while products run: the rest go on
#   (d) a daemon stopped with SIGSTOP: results arrive within the timeout
#   (e) more errors than the code corrects: "detected, not correctable",
#       exit status 3, no matrix written
#   (f) two daemons killed, one wrong: products say how many outputs they
#       had to spare; one decoded from exactly K_b outputs is refused
#       (EUNVERIFIED), and taken only with --unverified, flagged "spare 0"
#       (and wrong: node 4's error could not show)
# usage: cluster_test.sh BUILD_DIR PYTHON
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup cluster "$1" "$2"
GP_LOG_SKIP="^$" # every line
GP_LOG_LINES=5

cd "$tmp"
"$py" - <<'EOF'
import numpy as np
r = np.random.default_rng(7)
np.save("W.npy", r.standard_normal((1024, 1024)))
np.save("X.npy", r.standard_normal((1024, 64)))
np.save("D.npy", r.standard_normal((1024, 64)).astype(np.float32))
EOF
# check A.npy REF-EXPRESSION: max |A - ref| / max |ref| <= 1e-9, the decode's
# certified worst case (the products themselves add about 1e-14)
check() {
    "$py" - "$1" "$2" <<'EOF'
import sys, numpy as np
W = np.load("W.npy"); X = np.load("X.npy"); D = np.load("D.npy").astype(np.float64)
got = np.load(sys.argv[1]); ref = eval(sys.argv[2])
assert got.shape == ref.shape, (got.shape, ref.shape)
e = np.abs(got - ref).max() / np.abs(ref).max()
print(f"  {sys.argv[1]}: relative error {e:.1e} against numpy {sys.argv[2]}")
sys.exit(0 if e <= 1e-9 else 1)
EOF
}

echo "(a) no faults"
cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/a" --m 2 --n 2 --timeout-ms 2000)
"$client" -c "$cfg" ping > /dev/null || fail "ping"
"$client" -c "$cfg" store W W.npy > /dev/null || fail "store"
"$client" -c "$cfg" multiply W X.npy -o Y.npy || fail "multiply"
check Y.npy "W @ X" || fail "W X"
"$client" -c "$cfg" multiply W D.npy -o Z.npy --transpose --out Z || fail "multiply --transpose"
check Z.npy "W.T @ D" || fail "W^T D"
"$client" -c "$cfg" fetch W.out -o Y2.npy > /dev/null || fail "fetch"
cmp -s Y.npy Y2.npy || fail "fetched result differs"
"$client" -c "$cfg" fetch W -o W2.npy > /dev/null || fail "fetch of the stored W"
check W2.npy "W" || fail "W decoded from the nodes' blocks"
"$client" -c "$cfg" status --json > status.json || fail "status"
"$py" -c "
import json; s = json.load(open('status.json'))
assert len(s) == 8 and all(n['answered'] and n['nodes_up'] == list(range(8)) for n in s), s
assert all(n['counters']['operations'] == 2 for n in s), s
" || fail "status --json"
"$client" -c "$cfg" drop Z || fail "drop"
"$client" -c "$cfg" fetch Z -o none.npy 2>/dev/null && fail "fetch of a dropped matrix"

echo "(c) node 3 killed with SIGKILL while products run"
(for i in 1 2 3 4 5 6; do
    "$client" -c "$cfg" multiply W X.npy -o "R$i.npy" --out "R$i" > /dev/null || exit 1
done) &
runner=$!
while [ ! -e R2.npy ]; do sleep 0.01; done
kill -9 "$(cat "$tmp/a/node3.pid")"
wait $runner || fail "a product failed when node 3 was killed"
for i in 1 2 3 4 5 6; do check "R$i.npy" "W @ X" > /dev/null || fail "R$i"; done
echo "  6 products in a row, node 3 killed after the second: all within the bound"
"$client" -c "$cfg" ping > /dev/null && fail "ping with a node down should exit 1"
"$client" -c "$cfg" multiply W X.npy -o Y3.npy || fail "multiply with node 3 dead"
"$client" -c "$cfg" fetch W -o W3.npy > /dev/null || fail "fetch of W with node 3 dead"
check W3.npy "W" || fail "W from 7 blocks"
check Y3.npy "W @ X" || fail "W X with node 3 dead"

echo "(d) node 6 stopped with SIGSTOP"
kill -STOP "$(cat "$tmp/a/node6.pid")"
start=$(date +%s%N)
"$client" -c "$cfg" multiply W X.npy -o Y4.npy --out Y4 || fail "multiply with node 6 stopped"
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "  answered in $took ms (peer timeout 2000 ms)"
[ "$took" -lt 6000 ] || fail "took $took ms"
check Y4.npy "W @ X" || fail "W X with node 6 stopped"
kill -CONT "$(cat "$tmp/a/node6.pid")"
# node 6's partial for that product arrives after the others decoded: dropped
for i in 1 2 3 4 5 6 7 8 9 10; do
    "$client" -c "$cfg" status --json > status2.json 2>/dev/null || true
    "$py" -c "
import json, sys; s = json.load(open('status2.json'))
sys.exit(0 if sum(n['counters'].get('partials_late', 0) for n in s if n['answered']) > 0 else 1)
" && break
    sleep 0.5
done || fail "node 6's late partial was not dropped"
echo "  node 6 continued: its late partial dropped by the others"
sh "$cl" down --dir "$tmp/a"

echo "(b) and (e) errors injected into every product of nodes 2 and 5"
cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/e" --m 2 --n 2 --faults "2:multiply:1:1.0,5:multiply:1:1e6")
"$client" -c "$cfg" store W W.npy > /dev/null || fail "store"
out=$("$client" -c "$cfg" multiply W X.npy -o Y5.npy) || fail "multiply with faults"
echo "  $out"
echo "$out" | grep -q "corrected wrong outputs of nodes 2 5" || fail "nodes 2 and 5 not named"
check Y5.npy "W @ X" || fail "W X with faults"
set +e
"$client" -c "$cfg" multiply W D.npy -o Z5.npy --transpose 2> err.txt
rc=$?
set -e
cat err.txt | sed 's/^/  /'
[ $rc -eq 3 ] || fail "transposed product with 2 errors (K_b = 6 of 8 corrects 1): exit $rc, not 3"
grep -q "detected, not correctable" err.txt || fail "no clear message"
[ ! -e Z5.npy ] || fail "a matrix was written"
sh "$cl" down --dir "$tmp/e"

echo "(f) nodes 6 and 7 killed, node 4 wrong in every product"
cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/f" --m 2 --n 2 --faults "4:multiply:1:1e3")
"$client" -c "$cfg" store W W.npy > /dev/null || fail "store"
out=$("$client" -c "$cfg" multiply W X.npy -o Y6.npy) || fail "multiply with 8 nodes"
echo "  8 nodes: $out"
echo "$out" | grep -q "spare 3" || fail "8 outputs for K_f = 5: spare 3 not reported"
kill -9 "$(cat "$tmp/f/node6.pid")" "$(cat "$tmp/f/node7.pid")"
sleep 2.5 # the peer timeout: 6 and 7 are down
set +e
"$client" -c "$cfg" multiply W X.npy -o Y7.npy 2> err.txt
rc=$?
set -e
echo "  forward, 6 outputs (K_f = 5, one to spare): exit $rc: $(cat err.txt)"
[ $rc -eq 3 ] || fail "node 4's error with one output to spare must be detected: exit $rc"
set +e
"$client" -c "$cfg" multiply W D.npy -o Z7.npy --transpose 2> err.txt
rc=$?
set -e
echo "  transposed, 6 outputs (K_b = 6): exit $rc: $(cat err.txt)"
[ $rc -eq 1 ] && grep -q "EUNVERIFIED" err.txt || fail "a product from exactly K_b outputs was not refused"
[ ! -e Z7.npy ] || fail "a matrix was written"
out=$("$client" -c "$cfg" multiply W D.npy -o Z8.npy --transpose --unverified) ||
    fail "--unverified"
echo "  transposed, --unverified: $out"
echo "$out" | grep -q "spare 0 (not verified" || fail "not flagged"
check Z8.npy "W.T @ D" 2> /dev/null && fail "node 4's error was not in the unverified product?"
echo "  and it is wrong, as nothing could show node 4's error"
sh "$cl" down --dir "$tmp/f"

echo "all cluster tests passed"
