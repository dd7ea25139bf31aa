#!/usr/bin/env bash
# What pinning the CPU kernels costs (src/cpu_kernels.cpp), as ratios on this machine:
#   1. the loss engine (engine_bench: DGEMM, gradient, Hessian products) with OpenBLAS's Haswell
#      kernels (what nnscape pins) against the kernels OpenBLAS picks for this CPU;
#   2. whole trials, `nnscape trial` as a user runs it, pinned (default) against
#      NNSCAPE_CPU_KERNELS=native, median of 5 runs each.
# A ratio above 1 means pinning is slower. Timings are CPU seconds for (1), wall seconds for (2);
# run on a quiet machine. Usage: tests/bench/cpu_kernels_bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
native_core=$(env -u OPENBLAS_CORETYPE NNSCAPE_CPU_KERNELS=native "$build/nnscape" --version \
  | sed -n 's/.*BLAS core \([^,]*\),.*/\1/p')
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); OpenBLAS picks $native_core"

# 1. Engine.
filter=${ENGINE_FILTER:-BM_(dgemm|gradient|hvp)}
env -u OPENBLAS_CORETYPE "$build/tests/bench/engine_bench" --benchmark_filter="$filter" \
  --benchmark_min_time=0.3 --benchmark_out="$work/native.json" --benchmark_out_format=json > /dev/null 2>&1
OPENBLAS_CORETYPE=Haswell "$build/tests/bench/engine_bench" --benchmark_filter="$filter" \
  --benchmark_min_time=0.3 --benchmark_out="$work/pinned.json" --benchmark_out_format=json > /dev/null 2>&1
/usr/bin/python3 - "$work/native.json" "$work/pinned.json" "$native_core" <<'PY'
import json, sys
native = {b["name"]: b["cpu_time"] for b in json.load(open(sys.argv[1]))["benchmarks"]}
pinned = {b["name"]: b["cpu_time"] for b in json.load(open(sys.argv[2]))["benchmarks"]}
print(f"{'engine benchmark':<48} {sys.argv[3]:>12} {'Haswell':>12} {'pinned/native':>14}")
for name, t in native.items():
    if name in pinned:
        print(f"{name:<48} {t:>12.4g} {pinned[name]:>12.4g} {pinned[name] / t:>14.3f}")
PY

# 2. Whole trials.
median_time() {  # runs "$@" 5 times, prints the median wall time in seconds
  local TIMEFORMAT=%R
  for _ in 1 2 3 4 5; do
    { time "$@" > /dev/null 2>&1; } 2>&1
  done | sort -g | sed -n 3p
}
printf '%-48s %12s %12s %14s\n' "trial (wall s, median of 5)" native pinned pinned/native
for args in "--data teacher:width=3,d=3,n=700 --widths 5 --optimizer nls --seed 2" \
            "--data gp:d=4,n=2000 --widths 64 --optimizer lmvm --seed 3 -opt_lmvm_tao_max_it 2000" \
            "--data teacher:width=8,d=10,n=4096 --widths 16 --optimizer lmvm --seed 1 -opt_lmvm_tao_max_it 3000"; do
  # shellcheck disable=SC2086
  tn=$(NNSCAPE_CPU_KERNELS=native median_time "$build/nnscape" trial $args)
  # shellcheck disable=SC2086
  tp=$(median_time "$build/nnscape" trial $args)
  printf '%-48s %12s %12s %14.3f\n' "$(echo "$args" | cut -d' ' -f2,4,6)" "$tn" "$tp" "$(awk -v p="$tp" -v n="$tn" 'BEGIN { print p / n }')"
done
