#!/usr/bin/env bash
# Integration test of `nnscape pattern check` and `nnscape trial --pattern`: the real binary.
#   - LU on 2,2,2: not closed, a witness and products converging to it (text and --json);
#     dense: closed by the dense rule; scalar output: optimum guaranteed by the theorem;
#   - mask files (text and HDF5) give the same verdict as the pattern text;
#   - trial --pattern LU on linear anti-identity data: diverged, with the true loss in the
#     trajectory falling; trial --pattern that cannot apply, or malformed masks, fail clearly;
#   - bad input (unknown kind or key, wrong shape, non-0/1 entry, missing file) exits non-zero
#     with a message naming the problem.
# Environment (set by tests/CMakeLists.txt): NNSCAPE = the binary.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" pattern_cli_test
json() { "$PY" -c "import json,sys; r=json.load(open('$1')); print($2)"; }

# 1. The three verdict kinds, as JSON for tools.
if "$NNSCAPE" pattern check --pattern LU --widths 2,2,2 --json > lu.json 2> err.txt; then
  [ "$(json lu.json 'r["verdict"]')" = not_closed ] && pass "LU 2x2 not closed" \
    || fail "LU verdict $(json lu.json 'r["verdict"]')"
  [ "$(json lu.json 'r["optimum"]')" = optimum_may_not_exist ] && pass "LU: optimum may not exist" \
    || fail "LU optimum $(json lu.json 'r["optimum"]')"
  [ "$(json lu.json 'r["witness"]')" = "[[0.0, 1.0], [1.0, 0.0]]" ] && pass "witness J" \
    || fail "witness $(json lu.json 'r["witness"]')"
  # Products approach J within each epsilon while their norm grows.
  "$PY" - <<'PYEOF' && pass "sequence converges with growing norm" || fail "sequence"
import json, numpy as np
r = json.load(open("lu.json"))
a = np.array(r["witness"])
norms = []
for s in r["sequence"]:
    w1 = np.array(s["factors"][0]).reshape(2, 2); w2 = np.array(s["factors"][1]).reshape(2, 2)
    assert w1[0, 1] == 0 and w2[1, 0] == 0, "masked entries must stay zero"
    assert np.abs(w2 @ w1 - a).max() < s["epsilon"]
    norms.append(s["norm"])
assert len(norms) >= 3 and all(b > a for a, b in zip(norms, norms[1:]))
PYEOF
else
  fail "pattern check LU failed: $(cat err.txt)"
fi
"$NNSCAPE" pattern check --pattern dense --widths 3,2,2 --json > dense.json
[ "$(json dense.json 'r["verdict"], r["rule"], r["optimum"]')" = "closed dense unknown" ] \
  && pass "dense: closed by the dense rule, no ReLU guarantee" \
  || fail "dense: $(json dense.json 'r["verdict"], r["rule"], r["optimum"]')"
"$NNSCAPE" pattern check --pattern random:density=0.5,seed=4 --widths 4,5,1 --json > scalar.json
[ "$(json scalar.json 'r["optimum"], r["optimum_rule"]')" = \
  "optimum_guaranteed scalar_output_one_hidden" ] && pass "scalar output: optimum guaranteed" \
  || fail "scalar output: $(json scalar.json 'r["optimum"], r["optimum_rule"]')"

# 2. Text for people names the verdict, rule and the ReLU statement.
"$NNSCAPE" pattern check --pattern UL --widths 2,2,2 > ul.txt
grep -q "not_closed (rule witness_search" ul.txt && grep -q "optimum_may_not_exist" ul.txt \
  && pass "text output" || fail "text output: $(cat ul.txt)"

# 3. Mask files, text and HDF5, agree with the pattern text.
printf '1 0\n1 1\n' > w1.txt
printf '1 1\n0 1\n' > w2.txt
"$PY" -c "
import h5py, numpy as np
with h5py.File('lu.h5', 'w') as f:
    f['mask1'] = np.array([[1, 0], [1, 1]], dtype=np.int32)
    f['mask2'] = np.array([[1, 1], [0, 1]], dtype=np.int32)
with h5py.File('bad.h5', 'w') as f:
    f['mask1'] = np.array([[1, 0.5], [1, 1]])
"
for masks in w1.txt,w2.txt lu.h5; do
  "$NNSCAPE" pattern check --masks "$masks" --json > m.json
  [ "$(json m.json 'r["verdict"], r["widths"]')" = "not_closed [2, 2, 2]" ] \
    && pass "--masks $masks" || fail "--masks $masks: $(cat m.json)"
done

# 4. trial --pattern: the LU trial of Le et al. diverges; the true loss falls along the run. It
# starts on the divergent family W1 = [[1/e, 0], [1/e, e]], W2 = [[-1/e, 1/e], [0, e]] at e = 1
# (product [[0, 1], [1, e^2]], biases 0): below the loss of any bounded set the norm must grow.
printf '1\n1\n1\n0\n0\n-1\n1\n1\n0\n0\n' > lu_start.txt
if "$NNSCAPE" trial --data linear:d=2,n=300,matrix=anti_identity --widths 2 --activation identity \
     --pattern LU --optimizer lmvm --start lu_start.txt > trial.json 2> err.txt; then
  [ "$(json trial.json 'r["status"], r["pattern"], r["P"]')" = "diverged LU 10" ] \
    && pass "trial --pattern LU diverged" || fail "trial: $(json trial.json 'r["status"], r["pattern"], r["P"]')"
  [ "$(json trial.json 'r["optimization"]["trajectory_columns"][-1]')" = true_loss ] \
    && pass "true_loss column" || fail "columns $(json trial.json 'r["optimization"]["trajectory_columns"]')"
  [ "$(json trial.json 'r["optimization"]["trajectory"][-1][4] < 0.1 * r["optimization"]["trajectory"][0][4]')" = True ] \
    && pass "true loss falls" || fail "true loss $(json trial.json 'r["optimization"]["trajectory"]')"
else
  fail "trial --pattern LU failed: $(cat err.txt)"
fi

# 5. Bad input: non-zero exit and a message naming the problem.
printf '1 0\n1 2\n' > two.txt
printf '1 0 1\n1 1 1\n' > wide.txt
expect_error "unknown pattern kind 'zigzag'" pattern check --pattern zigzag --widths 2,2,2
expect_error "unknown key 'blocks'" pattern check --pattern banded:blocks=2 --widths 2,2,2
expect_error "one-hidden-layer" pattern check --pattern LU --widths 2,2,2,2
expect_error "power of two" pattern check --pattern butterfly --widths 3,3
expect_error "needs --widths" pattern check --pattern LU
expect_error "entry '2' is not 0 or 1" pattern check --masks w1.txt,two.txt
expect_error "must chain" pattern check --masks w2.txt,wide.txt
expect_error "entries must be 0 or 1" pattern check --masks bad.h5
expect_error "no such file" pattern check --masks w1.txt,missing.txt
expect_error "is 2x2 but W_1 is 3x3" trial --data linear:d=3,n=50 --widths 3 --masks w1.txt,w2.txt
expect_error "one-hidden-layer" trial --data linear:d=2,n=50 --widths 2,2 --pattern LU
expect_error "unknown pattern kind" trial --data teacher --pattern nonsense

finish
