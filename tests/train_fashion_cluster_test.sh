#!/bin/sh
# train_fashion_cluster_test.sh - the Fashion-MNIST example on a local 8-node
# cluster, 784-256-128-10 relu, B = 64, 2 epochs, against train --local:
#   gpd m = n = 2 error-free, and with soft errors in every kind of step on
#   every node (deploy/examples/fashion-mnist.yaml: about 1.5 per step):
#   both within 0.5 points of train --local (which must reach 0.85), and so
#   with soft errors in float32 (`precision: float32`: the nodes' products
#   and partials in single precision);
#   uncoded and replication at the same fault rates: they must do
#   measurably worse (fail, or lose more than a point).
# Prints the table. usage: train_fashion_cluster_test.sh BUILD_DIR PYTHON
# Exits 77 (skipped) without Fashion-MNIST (Debian: dataset-fashion-mnist).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib.sh"
gp_setup fashion-cluster "$1" "$2"
job=$top/deploy/examples/fashion-mnist.yaml
gp_need_fashion
cd "$tmp"
json() {
    "$py" -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v)" "$1" "$2"
}

"$client" train --local "$job" --json > local.json 2> /dev/null || fail "train --local"
ref=$(json local.json test_accuracy)
echo "train --local: test accuracy $ref in $(json local.json elapsed_s) s"
"$py" -c "import sys; sys.exit(0 if $ref >= 0.85 else 1)" || fail "train --local reached only $ref"

cfg=$(sh "$cl" up --nodes 8 --dir "$tmp/c" --timeout-ms 2000)
# run NAME ARGS...: the job on the cluster; NAME.json is its final status
run() {
    name=$1
    shift
    id=$("$client" -c "$cfg" submit "$job" --set name="$name" "$@") || fail "$name: submit"
    "$client" -c "$cfg" watch "$id" > "$name.watch" 2>&1 || true
    "$client" -c "$cfg" status "$id" --json > "$name.json" || fail "$name: status"
}
run gpd-clean --set faults.scale=0
run gpd-faults
run gpd-faults-f32 --set precision=float32
run uncoded-faults --set code.scheme=uncoded --set code.m=4
run replication-faults --set code.scheme=replication

printf '\n| run | code | storage/node | state | test accuracy | errors injected | corrected | steps redone | skipped | blocks regenerated | rollbacks | seconds |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|\n'
printf '| train --local | none | 1 | done | %s | 0 | 0 | 0 | 0 | 0 | 0 | %s |\n' "$ref" \
    "$(json local.json elapsed_s)"
for r in gpd-clean:gpd_2x2:1/4 gpd-faults:gpd_2x2:1/4 gpd-faults-f32:gpd_2x2_float32:1/4 \
    uncoded-faults:uncoded_4x2:1/8 \
    replication-faults:replication_2x2_r=2:1/4; do
    n=${r%%:*}
    rest=${r#*:}
    f=$n.json
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
        "$(echo "${rest%%:*}" | tr _ ' ')" "${rest#*:}" "$(json "$f" state)" \
        "$(json "$f" test_accuracy)" "$(json "$f" errors_injected)" \
        "$(json "$f" errors_corrected)" "$(json "$f" steps_redone)" "$(json "$f" steps_skipped)" \
        "$(json "$f" blocks_regenerated)" "$(json "$f" rollbacks)" "$(json "$f" elapsed_s)"
done
echo

for n in gpd-clean gpd-faults gpd-faults-f32; do
    [ "$(json $n.json state)" = done ] || fail "$n: $(json $n.json state): $(json $n.json reason)"
    acc=$(json $n.json test_accuracy)
    "$py" -c "import sys; sys.exit(0 if abs($acc - $ref) <= 0.005 else 1)" ||
        fail "$n: accuracy $acc, more than 0.5 points from $ref"
done
steps=$(json gpd-faults.json steps)
inj=$(json gpd-faults.json errors_injected)
"$py" -c "import sys; sys.exit(0 if $inj >= $steps else 1)" ||
    fail "gpd-faults: only $inj errors injected in $steps steps"
for n in uncoded-faults replication-faults; do
    st=$(json $n.json state)
    acc=$(json $n.json test_accuracy)
    if [ "$st" = done ] && [ "$acc" != None ]; then
        "$py" -c "import sys; sys.exit(0 if $acc < $ref - 0.01 else 1)" ||
            fail "$n: accuracy $acc is not measurably worse than $ref"
    fi
    echo "$n: $st, test accuracy $acc (train --local: $ref)"
done
echo ok
