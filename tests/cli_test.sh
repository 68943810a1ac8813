#!/bin/sh
# gpdot-client as a user runs it: plan (table and JSON, checked with python's
# json module), bad arguments, and the code demo's outcomes.
set -u
client=$1
python=${2:-python3}
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; fi; }

out=$("$client" plan --nodes 8 2>&1); rc=$?
check "plan table exits 0" "[ $rc -eq 0 ]"
check "plan table lists gpd 2x2" "echo \"\$out\" | grep -q '^gpd  *2  *2 row  *5  *6  *4'"

"$client" plan --nodes 12 --errors 2 --layer 784x256 --batch 64 --json > /tmp/gp_plan_$$.json; rc=$?
check "plan --json exits 0" "[ $rc -eq 0 ]"
check "plan --json is an array with the documented keys" "$python - /tmp/gp_plan_$$.json <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
keys = {'scheme', 'm', 'n', 'nodes', 'k_forward', 'k_backward', 'k_storage',
        'random_errors_forward', 'random_errors_backward', 'adversarial_errors_forward',
        'adversarial_errors_backward', 'storage_fraction', 'bytes_per_product', 'worst_relative_error'}
assert rows and all(keys <= set(r) for r in rows), 'keys'
assert all(r['random_errors_forward'] >= 2 and r['random_errors_backward'] >= 2 for r in rows), '--errors'
assert all(r['worst_relative_error'] <= 1e-9 for r in rows), 'bound'
g = [r for r in rows if r['scheme'] == 'gpd' and r['m'] == 2 and r['n'] == 2 and r['orientation'] == 'row'][0]
assert (g['k_forward'], g['k_backward'], g['k_storage']) == (5, 6, 4)
assert g['random_errors_forward'] == 12 - 5 - 1 and g['random_errors_backward'] == 12 - 6 - 1
assert g['bytes_per_product'] == 392 * 64 * 8 * 11, g['bytes_per_product']
PY"
rm -f /tmp/gp_plan_$$.json

"$client" plan --nodes 0 >/dev/null 2>/tmp/gp_err_$$; rc=$?
check "plan --nodes 0 is refused (exit 2) with a message" "[ $rc -eq 2 ] && grep -q 'nodes must be' /tmp/gp_err_$$"
"$client" plan --nodes 8 --layer 12 >/dev/null 2>/tmp/gp_err_$$; rc=$?
check "plan --layer without x is refused" "[ $rc -eq 2 ] && grep -q 'ROWSxCOLS' /tmp/gp_err_$$"
"$client" frobnicate >/dev/null 2>&1; rc=$?
check "unknown command exits 2" "[ $rc -eq 2 ]"
rm -f /tmp/gp_err_$$

out=$("$client" code-demo --layer 256x200 --batch 8 2>&1); rc=$?
check "code-demo: all outcomes as expected" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q 'all outcomes as expected'"
out=$("$client" code-demo --nodes 12 --m 2 --n 3 --layer 120x90 --batch 3 --errors 3 2>&1); rc=$?
check "code-demo on 12 nodes, m=2 n=3, 3 errors" "[ $rc -eq 0 ]"
"$client" code-demo --nodes 24 --m 3 --n 3 >/dev/null 2>/tmp/gp_err_$$; rc=$?
check "a refused code says its bound" "[ $rc -eq 1 ] && grep -q 'exceeds 1e-09' /tmp/gp_err_$$"
rm -f /tmp/gp_err_$$
exit $fail
