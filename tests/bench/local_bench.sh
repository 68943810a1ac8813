#!/bin/sh
# local_bench.sh - `gpdot-client train --local` against the BLAS floor and
# against PyTorch, side by side in one run (medians of --reps runs).
#
#   tests/bench/local_bench.sh [--reps N] [--quick]
#
# --reps N   runs of each configuration (default 3)
# --quick    6400 training samples, 1 rep: checks that it runs
#
# For each network of the Fashion-MNIST example, the small one (784-256-128-10)
# and a wide one (784-1024-1024-10), B = 64, plain SGD, one epoch, every process
# with one BLAS thread, each repetition runs one after the other:
#   gemm_rate (the one-thread dgemm and sgemm rate at 1024, the floor),
#   train --local in float64 and in float32 (precision=float32),
#   PyTorch float64 and float32 (tests/bench/torch_epoch.py: the same network,
#   initial scales, batch, learning rate and input standardisation), when
#   python3 can import torch (Debian: python3-torch).
# The floor is the epoch's flops over the gemm rate measured in the same
# repetition: per sample, 2 x (in + 1) x out for each layer's forward product
# and its update, and for each layer's backward product but the first's (no
# gradient of the input). Seconds are the training steps only (both trainers
# measure them so: not loading, not evaluating).
#
# Binaries from GP_BUILD_DIR (default build/); GP_PYTHON picks the python
# (default: python3, else /usr/bin/python3, whichever imports torch).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${GP_BUILD_DIR:-$top/build}
export OPENBLAS_NUM_THREADS=1 # deliberately: one BLAS thread for every process
client=$build/client/gpdot-client
rate=$build/tests/gemm_rate
job=$top/deploy/examples/fashion-mnist.yaml

die() { echo "local_bench.sh: $*" >&2; exit 2; }

reps=3 quick=0
while [ $# -gt 0 ]; do
    case $1 in
    --reps) [ $# -ge 2 ] || die "--reps takes a number"; reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) die "unknown argument '$1' (--reps N, --quick)" ;;
    esac
done
case $reps in '' | *[!0-9]*) die "--reps takes a positive number, not '$reps'" ;; esac
[ "$reps" -ge 1 ] || die "--reps takes a positive number"
[ -x "$client" ] && [ -x "$rate" ] || die "build first ($build)"
[ -r /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
    die "Fashion-MNIST is missing from /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist)"
limit="" tlimit=""
if [ $quick = 1 ]; then
    reps=1
    limit="--set data.train_limit=6400 --set data.test_limit=2000" tlimit="--samples 6400"
fi
py=
for p in ${GP_PYTHON:-} python3 /usr/bin/python3; do
    if "$p" -c 'import torch, numpy' 2> /dev/null; then py=$p; break; fi
done

dir=$(mktemp -d /tmp/gpdot-local-bench-XXXXXX)
trap 'rm -rf "$dir"' EXIT INT TERM

# flops per sample of a network (comma-separated sizes)
flops() {
    echo "$1" | awk -F, '{ f = 0
        for (l = 1; l < NF; l++) { w = ($l + 1) * $(l + 1); f += 4 * w; if (l > 1) f += 2 * w }
        printf "%.0f\n", f }'
}

: > "$dir/runs"
for net in 784,256,128,10 784,1024,1024,10; do
    layers="[$net]"
    for rep in $(seq 1 "$reps"); do
        set -- $("$rate")
        dg=$1 sg=$2
        for prec in float64 float32; do
            # shellcheck disable=SC2086 # $limit is a list of --set options
            "$client" train --local "$job" --json --set training.epochs=1 --set precision=$prec \
                --set "model.layers=$layers" $limit > "$dir/local.json" 2> "$dir/local.err" ||
                { cat "$dir/local.err" >&2; die "train --local failed"; }
            samples=$(sed -n 's/.*, \([0-9][0-9]*\) training and .*/\1/p' "$dir/local.err" | head -n 1)
            [ -n "$samples" ] || die "cannot read the number of training samples from train --local"
            r=$(sed -n 's/.*"samples_per_s": \([0-9.e+]*\).*/\1/p' "$dir/local.json")
            a=$(sed -n 's/.*"test_accuracy": \([0-9.e+-]*\).*/\1/p' "$dir/local.json")
            if [ $prec = float64 ]; then lr=$r acc=$a; else lr32=$r acc32=$a; fi
        done
        t64=- t32=- a64=- a32=-
        if [ -n "$py" ]; then
            for dt in float64 float32; do
                # shellcheck disable=SC2086
                "$py" "$top/tests/bench/torch_epoch.py" --layers "$net" --dtype $dt $tlimit \
                    > "$dir/torch.json" || die "torch_epoch.py failed"
                s=$(sed -n 's/.*"seconds": \([0-9.e+-]*\).*/\1/p' "$dir/torch.json")
                a=$(sed -n 's/.*"test_accuracy": \([0-9.e+-]*\).*/\1/p' "$dir/torch.json")
                if [ $dt = float64 ]; then t64=$s a64=$a; else t32=$s a32=$a; fi
            done
        fi
        echo "$net $rep $dg $sg $samples $lr $acc $t64 $a64 $t32 $a32 $lr32 $acc32" >> "$dir/runs"
        echo "  $net repetition $rep: dgemm $dg sgemm $sg GFLOP/s; train --local f64 $(awk -v n="$samples" -v r="$lr" 'BEGIN { printf "%.2f", n / r }') s, f32 $(awk -v n="$samples" -v r="$lr32" 'BEGIN { printf "%.2f", n / r }') s; PyTorch f64 $t64 s, f32 $t32 s" >&2
    done
done

kernel=$("$rate" --n 64 --reps 1 | cut -d ' ' -f 3-)
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: $cpu, nproc $(nproc); BLAS kernel: $kernel; one BLAS thread in every process"
echo "PyTorch: $([ -n "$py" ] && "$py" -c 'import torch; print(torch.__version__)' || echo 'not installed (python3-torch): its columns are -')"
echo "job: deploy/examples/fashion-mnist.yaml, training.epochs=1, B = 64; medians of $reps run(s)"
echo
echo "| network | precision | epoch GFLOP | gemm GFLOP/s | floor s | train --local s | / floor | PyTorch s | train --local / PyTorch | test accuracy gpdot / PyTorch |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for net in 784,256,128,10 784,1024,1024,10; do
    f=$(flops "$net")
    for prec in float64 float32; do
        grep "^$net " "$dir/runs" | awk -v f="$f" -v net="$net" -v prec="$prec" '
            function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
                if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
                return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
            { n++; f64 = prec == "float64"; g[n] = f64 ? $3 : $4; fl = f * $5 / 1e9
              floor[n] = fl / g[n]; loc[n] = $5 / (f64 ? $6 : $12); acc = f64 ? $7 : $13
              r[n] = loc[n] / floor[n]
              t = f64 ? $8 : $10
              if (t != "-") { pt[n] = t; q[n] = loc[n] / t; pacc = f64 ? $9 : $11; torch = 1 } }
            END { gsub(",", "-", net)
                  printf "| %s | %s | %.1f | %.1f | %.2f | %.2f | %.2f | %s | %s | %s / %s |\n",
                      net, prec, fl, med(g, n), med(floor, n), med(loc, n), med(r, n),
                      torch ? sprintf("%.2f", med(pt, n)) : "-", torch ? sprintf("%.2f", med(q, n)) : "-",
                      acc, torch ? pacc : "-" }'
    done
done
echo
echo "floor: the epoch's flops / the one-thread gemm rate (dgemm or sgemm) of the same repetition;"
echo "/ floor and train --local / PyTorch: medians of the per-repetition ratios; seconds: the"
echo "training steps of one epoch; accuracy: the last repetition's."
