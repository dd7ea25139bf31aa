#!/usr/bin/env bash
# Integration test of `nnscape trial`: the real binary end to end.
#   - a small tanh teacher trial prints a JSON record whose status is one of the documented
#     types, with P, the TAO reason, a trajectory and both spectra;
#   - --save-params writes θ that `nnscape probe` reads back to the same loss;
#   - --spec (YAML) fills settings, flags override it, and PETSc options with the optimizer's
#     prefix pass through (-opt_<name>_tao_max_it);
#   - bad input (NaN data, impossible widths, unknown optimizer / activation / data kind / YAML
#     key, missing file) exits non-zero with a message naming the problem.
# Environment (set by tests/CMakeLists.txt): NNSCAPE = the binary.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" trial_cli_test
json() { "$PY" -c "import json,sys; r=json.load(open('$1')); print($2)"; }

# 1. A trial with its record.
if "$NNSCAPE" trial --data teacher:width=3,d=2,n=256 --widths 3 --optimizer ntr --seed 4 \
     --save-params theta.txt > rec.json 2> err.txt; then
  status=$(json rec.json 'r["status"]')
  case "$status" in
    strict_min|degenerate_min|saddle|not_converged|diverged|failed_numerics) pass "status $status";;
    *) fail "unexpected status '$status'";;
  esac
  [ "$(json rec.json 'r["P"]')" = 13 ] && pass "P = 13" || fail "P = $(json rec.json 'r["P"]')"
  [ "$(json rec.json 'len(r["hessian"]["eigenvalues"])')" = 13 ] && pass "13 Hessian eigenvalues" \
    || fail "Hessian eigenvalue count"
  json rec.json 'r["optimization"]["reason"]' | grep -q . && pass "TAO reason recorded" \
    || fail "no TAO reason"
  [ "$(json rec.json 'len(r["optimization"]["trajectory"]) > 0')" = True ] && pass "trajectory" \
    || fail "empty trajectory"
  [ "$(wc -l < theta.txt)" = 13 ] && pass "--save-params wrote 13 values" || fail "theta.txt"
else
  fail "trial run failed: $(cat err.txt)"
fi

# 2. probe reads the saved θ back to the same loss (file data, so both see the same samples).
"$PY" - <<'PYEOF'
import h5py, numpy as np
rng = np.random.default_rng(3)
x = rng.uniform(-1, 1, size=(200, 2))
y = np.tanh(x @ np.array([[1.0, -2.0], [0.5, 1.5]]).T) @ np.array([1.0, -1.0])
with h5py.File("data.h5", "w") as f:
    f["X"] = x
    f["Y"] = y
xn = x.copy(); xn[7, 1] = np.nan
with h5py.File("nan.h5", "w") as f:
    f["X"] = xn
    f["Y"] = y
PYEOF
if "$NNSCAPE" trial --data file:data.h5 --widths 2 --optimizer lmvm --seed 1 \
     --save-params th2.txt > rec2.json 2> err.txt &&
   "$NNSCAPE" probe --data data.h5 --widths 2 --params th2.txt > probe.json 2>> err.txt; then
  "$PY" - <<'PYEOF' && pass "probe reproduces the trial's final loss" || fail "loss mismatch"
import json
a = json.load(open("rec2.json"))["optimization"]["loss"]
b = json.load(open("probe.json"))["loss"]
assert abs(a - b) <= 1e-12 * max(abs(a), 1e-300) + 1e-300, (a, b)
PYEOF
else
  fail "file trial or probe failed: $(cat err.txt)"
fi

# 3. YAML spec, flag override, PETSc option pass-through with the optimizer's prefix.
cat > t.yaml <<'YEOF'
data: teacher:width=2,d=2,n=128
widths: [2]
optimizer: lmvm
optimizer_name: quick
seed: 2
YEOF
if "$NNSCAPE" trial --spec t.yaml --seed 3 -opt_quick_tao_max_it 2 > rec3.json 2> err.txt; then
  [ "$(json rec3.json 'r["seed"]')" = 3 ] && pass "flag overrides YAML" || fail "seed override"
  [ "$(json rec3.json 'r["optimization"]["iterations"] <= 2')" = True ] &&
    pass "-opt_quick_tao_max_it 2 honoured" || fail "max_it pass-through"
  [ "$(json rec3.json 'r["optimization"]["reason"]')" = DIVERGED_MAXITS ] &&
    pass "reason DIVERGED_MAXITS verbatim" || fail "reason $(json rec3.json 'r["optimization"]["reason"]')"
else
  fail "YAML trial failed: $(cat err.txt)"
fi

# 4. `nnscape data` writes generated data deterministically (same seed → same bytes of X, Y).
if "$NNSCAPE" data --data teacher:width=3,d=2,n=50 --seed 5 -o g1.h5 > /dev/null &&
   "$NNSCAPE" data --data teacher:width=3,d=2,n=50 --seed 5 --output g2.h5 > /dev/null &&
   "$NNSCAPE" data --data teacher:width=3,d=2,n=50 --seed 6 -o g3.h5 > /dev/null; then
  "$PY" - <<'PYEOF' && pass "data: shapes, determinism, seed dependence" || fail "data output"
import h5py, numpy as np
a, b, c = (h5py.File(f, "r") for f in ("g1.h5", "g2.h5", "g3.h5"))
assert a["X"].shape == (50, 2) and a["Y"].shape == (50, 1)
assert np.array_equal(a["X"][()], b["X"][()]) and np.array_equal(a["Y"][()], b["Y"][()])
assert not np.array_equal(a["X"][()], c["X"][()])
PYEOF
else
  fail "nnscape data failed"
fi

# 5. Bad input: non-zero exit and a message naming the problem.
expect_error "non-finite" trial --data file:nan.h5 --widths 2
expect_error "positive integer" trial --data teacher --widths 0
expect_error "no_such_opt" trial --data teacher --optimizer no_such_opt
expect_error "swish" trial --data teacher --activation swish
expect_error "unknown data" trial --data nonsense:n=3
expect_error "no such file" trial --data file:missing.h5
printf 'widths: [2]\nlearning_rate: 0.1\n' > bad.yaml
expect_error "learning_rate" trial --spec bad.yaml
expect_error "no such file" trial --spec missing.yaml
expect_error "cannot create" data --data teacher -o /nonexistent_dir/d.h5

finish
