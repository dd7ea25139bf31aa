#!/usr/bin/env bash
# Verdict benchmark: seconds per trial (in-process run_trial: training, spectrum, analysis,
# certificate) for TAO lmvm, nls, ntr, bnls, bntr, blmvm and our lm on teacher–student problems,
# one core. Prints the table and writes the CSV. Reported, never pass/fail.
#   tests/bench/run_verdict_bench.sh [build dir] [verdict_bench flags: --quick, --seeds N,
#                                     --candidates a,b, --problems SUBSTR, --csv FILE]
# Build: cmake -DNNSCAPE_BUILD_BENCHMARKS=ON ... && cmake --build <dir> --target verdict_bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
shift || true
bin=$build/tests/bench/verdict_bench
[[ -x $bin ]] || { echo "run_verdict_bench.sh: no $bin (build target verdict_bench)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
args=("$@")
[[ " ${args[*]} " == *" --csv "* ]] || args+=(--csv "$build/verdict_bench.csv")
"$bin" "${args[@]}"
echo "cert = fraction of records with certified = true; times are wall seconds per run_trial call"
echo "(median, 90th percentile); statuses count the records' status field."
