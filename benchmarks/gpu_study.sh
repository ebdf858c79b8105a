#!/usr/bin/env bash
# The long end of the quality-per-minute study, on one GPU through Keras's JAX backend: each
# (data, configuration, seed) trains for the steps a 2-core CPU makes in about an hour, all in
# parallel, scored at fixed steps. `time_to_quality.py --rates` then turns steps into CPU minutes
# with each configuration's pace measured on the CPU (docs/speed.md).
#
#   benchmarks/gpu_study.sh OUT_DIR MNIST.npz FASHION.npz [seconds]
#
# Runs cut by the time limit leave their scores in OUT_DIR/gpu-study.log; finished ones are rows
# of OUT_DIR/gpu-study.jsonl.
set -u
out=$1 mnist=$2 fashion=$3 limit=${4:-470}
export KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
marks=500,1000,1500,2000,3000,4000,6000,8000,10000,12000,16000,20000,24000,30000,36000,42000,50000,58000,65000
mkdir -p "$out/rows" "$out/logs"
# configuration:steps, about 65 minutes of each one's 2-core CPU pace
mnist_configs="reference:13000 b64-lr4e-4:24000 b32-lr4e-4:42000 b16-lr4e-4:65000 b32-lr4e-4-ema0.9999:42000"
fashion_configs="reference:13000 b32-lr4e-4:42000 b32-lr4e-4-ema0.9999:42000"
for set in mnist fashion; do
    data=$mnist configs=$mnist_configs
    [ $set = fashion ] && data=$fashion configs=$fashion_configs
    for c in $configs; do
        for seed in 0 1 2; do
            name=$set-${c%%:*}-$seed
            timeout "$limit" python benchmarks/time_to_quality.py --data "$data" \
                --configs "${c%%:*}" --seeds $seed --steps "${c##*:}" --step-marks $marks \
                --eval-samples 5000 --table "$out/rows/$name.jsonl" >"$out/logs/$name.log" 2>&1 &
        done
    done
done
wait
cat "$out"/rows/*.jsonl >"$out/gpu-study.jsonl" 2>/dev/null
for f in "$out"/logs/*.log; do
    echo "=== $(basename "$f" .log)"
    grep -v "UserWarning\|data_adapter\|^$" "$f" | tail -40
done >"$out/gpu-study.log"
rm -rf "$out/rows" "$out/logs"
