#!/usr/bin/env bash
# Same bits whatever BLAS kernel the CPU would pick (src/cpu_kernels.cpp). OpenBLAS chooses its
# kernels by CPU, and OPENBLAS_CORETYPE makes it choose as another CPU would, so one machine
# stands in for several here:
#   1. the quickstart study on 2 ranks with OPENBLAS_CORETYPE unset, Haswell, SkylakeX, Zen and
#      Sandybridge: the files are bitwise equal on every deterministic field
#      (tests/compare_results.py), and each file's provenance records the pinned kernels and the
#      core type that was asked for;
#   2. `nnscape trial` prints the same record under each setting (timings aside);
#   3. NNSCAPE_CPU_KERNELS=native opts out: the provenance says so and names the core that ran;
#      a bad NNSCAPE_CPU_KERNELS value is refused with exit 1 before anything runs.
# Environment (tests/CMakeLists.txt): NNSCAPE, NNSCAPE_MPIEXEC, NNSCAPE_TEST_DIR, NNSCAPE_SOURCE_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" cpu_kernels_test
: "${NNSCAPE_MPIEXEC:?set NNSCAPE_MPIEXEC to mpiexec}"
src=${NNSCAPE_SOURCE_DIR:?set NNSCAPE_SOURCE_DIR to the repository}
compare="$PY $NNSCAPE_TEST_DIR/compare_results.py"
study=$src/jobs/studies/quickstart.yaml
cores=(unset Haswell SkylakeX Zen Sandybridge)

# Runs the rest of the command line with OPENBLAS_CORETYPE set to $1 ("unset": removed).
with_core() {
  local core=$1; shift
  if [[ $core == unset ]]; then env -u OPENBLAS_CORETYPE "$@"; else OPENBLAS_CORETYPE=$core "$@"; fi
}
prov() {  # file key: the attribute of the file's first run, read by the project's loader
  (cd "$src" && "$PY" -c 'import sys; from analysis.load import provenance
print(provenance(sys.argv[1]).iloc[0][sys.argv[2]])' "$work/$1" "$2")
}

# 1. The study under every core type.
for core in "${cores[@]}"; do
  if with_core "$core" "$NNSCAPE_MPIEXEC" --oversubscribe -n 2 "$NNSCAPE" run "$study" \
       -o "q_$core.h5" > "run_$core.out" 2> "run_$core.err"; then
    pass "quickstart study with OPENBLAS_CORETYPE=$core"
  else
    fail "quickstart study with OPENBLAS_CORETYPE=$core: $(tail -3 "run_$core.err")"
    continue
  fi
  mode=$(prov "q_$core.h5" cpu_kernels_mode) blas_core=$(prov "q_$core.h5" blas_core)
  requested=$(prov "q_$core.h5" openblas_coretype_requested)
  if [[ $mode == pinned && ${blas_core,,} == haswell && $requested == "$core" ]]; then
    pass "provenance ($core): mode pinned, BLAS core $blas_core, requested $requested"
  else
    fail "provenance ($core): mode '$mode', core '$blas_core', requested '$requested'"
  fi
done
for core in "${cores[@]:1}"; do
  $compare q_unset.h5 "q_$core.h5" > "cmp_$core.txt" \
    && pass "quickstart study: unset vs $core bitwise equal" \
    || fail "quickstart study: unset vs $core differ: $(head -3 "cmp_$core.txt")"
done

# 2. One trial, printed as JSON: the same record under every setting but for its timings.
strip_times() {
  "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
r.pop("seconds", None)
r["optimization"].pop("seconds", None)
print(json.dumps(r, sort_keys=True))' "$1"
}
for core in "${cores[@]}"; do
  with_core "$core" "$NNSCAPE" trial --data teacher:width=3,d=2,n=200 --widths 4 \
    --optimizer ntr --seed 3 > "trial_$core.json" 2> "trial_$core.err" \
    || fail "trial with OPENBLAS_CORETYPE=$core: $(tail -2 "trial_$core.err")"
  strip_times "trial_$core.json" > "trial_$core.txt"
done
same=1
for core in "${cores[@]:1}"; do cmp -s trial_unset.txt "trial_$core.txt" || same=0; done
[[ $same == 1 && -s trial_unset.txt ]] && pass "nnscape trial: one record under all five settings" \
  || fail "nnscape trial records differ between core types"

# 3. The opt-out, and a bad value.
if NNSCAPE_CPU_KERNELS=native OPENBLAS_CORETYPE=SkylakeX "$NNSCAPE_MPIEXEC" --oversubscribe -n 1 \
     "$NNSCAPE" run "$study" -o native.h5 > native.out 2> native.err; then
  mode=$(prov native.h5 cpu_kernels_mode) blas_core=$(prov native.h5 blas_core)
  [[ $mode == "native: NNSCAPE_CPU_KERNELS=native" && ${blas_core,,} == skylakex ]] \
    && pass "NNSCAPE_CPU_KERNELS=native: provenance says '$mode', core $blas_core" \
    || fail "native run: mode '$mode', core '$blas_core'"
else
  fail "native run failed: $(tail -3 native.err)"
fi
if NNSCAPE_CPU_KERNELS=fast "$NNSCAPE" --version > bad.out 2> bad.err; then
  fail "NNSCAPE_CPU_KERNELS=fast accepted"
else
  [[ $? == 1 ]] && grep -q "NNSCAPE_CPU_KERNELS must be 'pinned'.*not 'fast'" bad.err \
    && pass "NNSCAPE_CPU_KERNELS=fast refused with exit 1" || fail "bad value: $(cat bad.err)"
fi
"$NNSCAPE" --version | grep -q "cpu kernels: pinned (BLAS core Haswell" \
  && pass "--version names the pinned kernels" || fail "--version: $("$NNSCAPE" --version)"
finish
