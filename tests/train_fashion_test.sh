#!/bin/sh
# train_fashion_test.sh CLIENT SOURCE_DIR - trains the Fashion-MNIST example
# with `gpdot-client train --local` for 2 epochs and checks the test accuracy
# (at least 0.85), the JSON summary's keys, and that `eval` of the saved model
# gives the same accuracy. Exits 77 (skipped) without the data set.
set -eu
client=$1
src=$2
data=/usr/share/datasets/fashion-mnist
for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz \
         t10k-labels-idx1-ubyte.gz; do
    if [ ! -r "$data/$f" ]; then
        echo "skipped: $data/$f is missing (Debian: apt-get install dataset-fashion-mnist)"
        exit 77
    fi
done
dir=$(mktemp -d /tmp/gpdot-fashion-XXXXXX)
trap 'rm -rf "$dir"' EXIT
OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
export OPENBLAS_NUM_THREADS

"$client" train --local "$src/deploy/examples/fashion-mnist.yaml" --set training.epochs=2 \
    -o "$dir/model" --json >"$dir/out.json" 2>"$dir/err.txt" || {
    cat "$dir/err.txt"
    echo "FAIL: train --local failed"
    exit 1
}
cat "$dir/err.txt"
cat "$dir/out.json"
keys=$(sed 's/"\([a-z_]*\)": /\n\1=\n/g' "$dir/out.json" | sed -n 's/=$//p' | tr '\n' ' ')
want="job state epoch step loss test_accuracy errors_injected errors_corrected errors_detected steps_redone nodes_up samples_per_s elapsed_s "
if [ "$keys" != "$want" ]; then
    echo "FAIL: JSON keys '$keys', want '$want'"
    exit 1
fi
acc=$(sed -n 's/.*"test_accuracy": \([0-9.e+-]*\).*/\1/p' "$dir/out.json")
epoch=$(sed -n 's/.*"epoch": \([0-9]*\).*/\1/p' "$dir/out.json")
step=$(sed -n 's/.*"step": \([0-9]*\).*/\1/p' "$dir/out.json")
if [ "$epoch" != 2 ] || [ "$step" != 1876 ]; then
    echo "FAIL: epoch $epoch step $step, want 2 and 1876 (938 steps of 64 per epoch)"
    exit 1
fi
if ! awk -v a="$acc" 'BEGIN { exit !(a >= 0.85) }'; then
    echo "FAIL: test accuracy $acc after 2 epochs, want at least 0.85"
    exit 1
fi
"$client" eval "$dir/model" --images "$data/t10k-images-idx3-ubyte.gz" \
    --labels "$data/t10k-labels-idx1-ubyte.gz" --json >"$dir/eval.json"
cat "$dir/eval.json"
eacc=$(sed -n 's/.*"accuracy": \([0-9.e+-]*\).*/\1/p' "$dir/eval.json")
if [ "$eacc" != "$acc" ]; then
    echo "FAIL: eval of the saved model gives accuracy $eacc, training said $acc"
    exit 1
fi
echo "ok: test accuracy $acc after 2 epochs"
