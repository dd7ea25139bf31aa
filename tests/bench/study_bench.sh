#!/usr/bin/env bash
# Speed-up of a real study with 2 ranks over 1, and the scheduler + store overhead per trial.
#   tests/bench/study_bench.sh [build-dir] [study.yaml]
# Runs the study (default tests/bench/speedup_study.yaml) with 1 and with 2 ranks into fresh files,
# reports wall times, their ratio, and the summed trial time against the wall time; then
# store_bench (10^4 synthetic records) on 1, 2 and 3 ranks. On a shared machine, run it twice.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
study=${2:-$here/speedup_study.yaml}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A wall inner
for n in 1 2; do
  start=$(date +%s.%N)
  mpiexec --oversubscribe -n $n "$build/nnscape" run "$study" -o "$work/r$n.h5" --progress-interval 60 \
    > "$work/out$n" 2> "$work/err$n"
  wall[$n]=$(echo "$(date +%s.%N) - $start" | bc -l)
  # The run's own time (from creating or opening the file to closing it), without mpiexec.
  inner[$n]=$(sed -n 's/.* in \([0-9.e+-]*\) s).*/\1/p' "$work/out$n")
  /usr/bin/python3 - "$work/r$n.h5" "${wall[$n]}" "$n" <<'PYEOF'
import sys, h5py
t = h5py.File(sys.argv[1], "r")["trials"][()]
busy = t["seconds_total"].sum()
wall, n = float(sys.argv[2]), int(sys.argv[3])
print(f"{n} rank(s): {len(t)} trials, wall {wall:.2f} s (mpiexec start-up included), "
      f"trial time summed {busy:.2f} s, ranks busy {100 * busy / (n * wall):.0f}% of the wall time")
PYEOF
done
echo "speed-up 2 ranks / 1 rank: $(echo "${wall[1]} / ${wall[2]}" | bc -l | cut -c1-5) with mpiexec" \
  "start-up, $(echo "${inner[1]} / ${inner[2]}" | bc -l | cut -c1-5) for the run itself" \
  "(${inner[1]} s vs ${inner[2]} s)"
if [[ -x $build/tests/bench/store_bench ]]; then
  for n in 1 2 3; do mpiexec --oversubscribe -n $n "$build/tests/bench/store_bench" 10000 "$work/sb.h5"; done
else
  echo "(store_bench not built: cmake --build $build --target store_bench)"
fi
