#!/usr/bin/env bash
# The scheduler over a TCP-only interconnect, as on Ethernet clusters: runs the scheduler_test
# binary under `mpiexec --mca btl self,tcp --mca osc pt2pt` with 3 and 2 ranks. That is the
# setting where an MPI-3 RMA counter stalls every rank while rank 0 computes; the test
# OthersKeepGettingItemsWhileRankZeroComputes must run (not skip) and pass there. Then once
# more with 3 ranks and NNSCAPE_SCHEDULER_THREAD=0 (the fallback without a service thread, used
# when MPI lacks MPI_THREAD_MULTIPLE): every item still exactly once, the starvation test skipped.
# Environment (set by tests/CMakeLists.txt): NNSCAPE_MPIEXEC, NNSCAPE_TEST_BIN_DIR.
set -euo pipefail
: "${NNSCAPE_MPIEXEC:?set NNSCAPE_MPIEXEC to mpiexec}"
: "${NNSCAPE_TEST_BIN_DIR:?set NNSCAPE_TEST_BIN_DIR to the directory holding scheduler_test}"
bin=$NNSCAPE_TEST_BIN_DIR/scheduler_test
if [[ ! -x $bin ]]; then
  echo "scheduler_tcp_test: no $bin (build the scheduler_test target)"
  exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/nnscape_scheduler_tcp.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }

tcp=(--oversubscribe --mca btl self,tcp --mca osc pt2pt --mca pml ob1)

# run NAME NP [extra mpiexec args...]: runs the binary, keeps its output in $work/NAME.log.
run() {
  local name=$1 np=$2
  shift 2
  if "$NNSCAPE_MPIEXEC" "${tcp[@]}" "$@" -n "$np" "$bin" --gtest_color=no >"$work/$name.log" 2>&1; then
    return 0
  fi
  cat "$work/$name.log"
  return 1
}

for np in 3 2; do
  name=tcp_np$np
  if run "$name" "$np"; then
    pass "scheduler_test over TCP with $np ranks"
  else
    fail "scheduler_test over TCP with $np ranks"
    continue
  fi
  # The starvation test must have run: one "rank r took N items" line per other rank.
  took=$(grep -c "items while rank 0 computed" "$work/$name.log" || true)
  if [[ $took -eq $((np - 1)) ]] && ! grep -q "SKIPPED" "$work/$name.log"; then
    pass "other ranks fed while rank 0 computed ($np ranks): $(grep "items while" "$work/$name.log" | tr '\n' ';')"
  else
    fail "the starvation test did not run with $np ranks"
    cat "$work/$name.log"
  fi
done

if run fallback_np3 3 -x NNSCAPE_SCHEDULER_THREAD=0; then
  if grep -q "OthersKeepGettingItemsWhileRankZeroComputes" "$work/fallback_np3.log" &&
     grep -q "scheduler without a service thread" "$work/fallback_np3.log"; then
    pass "fallback without the service thread over TCP with 3 ranks"
  else
    fail "fallback run did not use the fallback"
    cat "$work/fallback_np3.log"
  fi
else
  fail "fallback without the service thread over TCP with 3 ranks"
fi

echo "scheduler_tcp_test: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
