#!/usr/bin/env bash
# Trial benchmark: time to a certified critical point (‖∇L‖ ≤ 1e-10) with nnscape's exact-Hessian
# Newton (TAO ntr) against SciPy's L-BFGS on the same data, architecture and loss, one core each.
# Reported, never pass/fail (timings on shared machines are noisy); ratios are the figure of merit.
#   tests/bench/trial_bench.sh [path/to/nnscape] [seeds...]
# Cases: the trial issue's tanh teacher d=2 width 4 N=512 (student width 4), and d=10 width 16
# N=8192 (P = 193). Per case and seed: nnscape's iterations, status and time per phase; SciPy's
# iterations, time and the gradient norm it reached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/nnscape}
shift || true
seeds=("$@")
[[ ${#seeds[@]} -gt 0 ]] || seeds=(1 2 3)
PY=/usr/bin/python3
[[ -x $bin ]] || { echo "trial_bench.sh: no nnscape binary at $bin (build it first)" >&2; exit 1; }
"$PY" -c 'import scipy, h5py, numpy' 2>/dev/null ||
  { echo "trial_bench.sh: needs python3-scipy, python3-h5py, python3-numpy (bash jobs/install-deps)" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

work=$(mktemp -d "${TMPDIR:-/tmp}/nnscape_trial_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Both sides read the same file, written by nnscape's own generator (`nnscape data`).
printf '%-24s %4s %5s | %-10s %6s %9s %8s %8s | %6s %9s %9s | %7s\n' case P seed \
  "nnscape" iters "|grad|" "train_s" "total_s" iters "|grad|" "scipy_s" ratio
for case in "d=2,width=4,n=512:4" "d=10,width=16,n=8192:16"; do
  spec=${case%%:*}; width=${case##*:}
  data="$work/data_${width}.h5"
  "$bin" data --data "teacher:$spec" --seed 7 -o "$data"
  for seed in "${seeds[@]}"; do
    start=$(date +%s.%N)
    "$bin" trial --data "file:$data" --widths "$width" --optimizer ntr --seed "$seed" --compact \
      > "$work/rec.json"
    end=$(date +%s.%N)
    "$PY" "$here/scipy_lbfgs.py" "$data" "$width" "$seed" > "$work/scipy.json"
    "$PY" - "$work/rec.json" "$work/scipy.json" "$spec" "$seed" "$start" "$end" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
o = r["optimization"]; total = float(sys.argv[6]) - float(sys.argv[5])
ratio = s["seconds"] / max(o["seconds"], 1e-9)
print(f"{sys.argv[3]:<24} {r['P']:>4} {sys.argv[4]:>5} | {r['status']:<10} {o['iterations']:>6} "
      f"{o['grad_norm']:>9.1e} {r['seconds']['train']:>8.3f} {total:>8.3f} | {s['iterations']:>6} "
      f"{s['grad_norm']:>9.1e} {s['seconds']:>9.3f} | {ratio:>6.1f}x")
PY
  done
done
echo "ratio = SciPy L-BFGS seconds / nnscape TAO seconds (train phase); a SciPy run whose |grad|"
echo "stays above 1e-10 never certified a critical point at all."
