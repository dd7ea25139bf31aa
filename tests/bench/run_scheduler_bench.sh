#!/usr/bin/env bash
# Runs the scheduler benchmark (already built) with 2 and 3 ranks, over the default transports
# (shared memory) and over TCP only (`--mca btl self,tcp --mca osc pt2pt`, as on Ethernet
# clusters), and once without the service thread for comparison. Prints the machine load first:
# on a busy machine the latencies mean little.
#   tests/bench/run_scheduler_bench.sh [path/to/scheduler_bench] [extra scheduler_bench args]
# The binary defaults to $SCHEDULER_BENCH, else build/tests/bench/scheduler_bench under the source
# tree. Build first, e.g.:
#   cmake -S . -B build -DNNSCAPE_BUILD_BENCHMARKS=ON && make -C build -j2 scheduler_bench
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${SCHEDULER_BENCH:-$here/../../build/tests/bench/scheduler_bench}
if [[ $# -gt 0 && $1 != --* ]]; then
  bin=$1
  shift
fi
if [[ ! -x $bin ]]; then
  echo "run_scheduler_bench.sh: no scheduler_bench binary at $bin (build the scheduler_bench target first)" >&2
  exit 1
fi
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1}
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
mpiexec=${NNSCAPE_MPIEXEC:-mpiexec}

echo "# $(nproc --all) cores, load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for transport in default tcp; do
  mca=()
  [[ $transport == tcp ]] && mca=(--mca btl self,tcp --mca osc pt2pt --mca pml ob1)
  for np in 2 3; do
    echo "## transport=$transport np=$np"
    "$mpiexec" --oversubscribe "${mca[@]}" -n "$np" "$bin" "$@"
  done
done
echo "## without the service thread (NNSCAPE_SCHEDULER_THREAD=0), transport=tcp np=2"
"$mpiexec" --oversubscribe --mca btl self,tcp --mca osc pt2pt --mca pml ob1 \
  -x NNSCAPE_SCHEDULER_THREAD=0 -n 2 "$bin" --items 1e4 --remote-items 1e4 --idle-seconds 1 "$@" \
  2>&1 | grep -E "^(all|remote|fed) "
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
