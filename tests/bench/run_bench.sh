#!/usr/bin/env bash
# Runs the loss-engine benchmark (already built) on one BLAS thread and prints its table and the
# per-case summary (GFLOP/s vs DGEMM, hvp/grad time ratio).
#   tests/bench/run_bench.sh [path/to/engine_bench] [extra --benchmark_* flags]
# The binary defaults to $ENGINE_BENCH, else build/tests/bench/engine_bench under the source tree.
# Build first, e.g.:
#   cmake -S . -B build -DNNSCAPE_BUILD_BENCHMARKS=ON && make -C build -j2 engine_bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${ENGINE_BENCH:-$here/../../build/tests/bench/engine_bench}
if [[ $# -gt 0 && $1 != --* ]]; then
  bin=$1
  shift
fi
if [[ ! -x $bin ]]; then
  echo "run_bench.sh: no engine_bench binary at $bin (build the engine_bench target first)" >&2
  exit 1
fi
# libbenchmark 1.7.1 takes --benchmark_min_time as plain seconds (the "0.2s"/"10x" forms are 1.8+).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
exec "$bin" --benchmark_min_time=0.2 "$@"
