#!/usr/bin/env bash
# Integration test of `nnscape plan`: the real binary on the reference study and on small specs.
#   - jobs/studies/quickstart.yaml: 16 trials, 8 per value of each 2-value axis, P from 9 ([2])
#     to 17 ([4]), no matrix-free trial, no warning; text and --json agree;
#   - exclude counts; dense_limit below P sends trials matrix-free; N·m ≤ P warns that claim A
#     cannot be tested; zip counts one digit;
#   - a bad spec exits non-zero naming the file and the line; a missing file too.
# Environment (set by tests/CMakeLists.txt): NNSCAPE = the binary, NNSCAPE_SOURCE_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" plan_cli_test
: "${NNSCAPE_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
quickstart=$NNSCAPE_SOURCE_DIR/jobs/studies/quickstart.yaml

# 1. The reference study.
if "$NNSCAPE" plan "$quickstart" --json > q.json 2> err.txt &&
   "$NNSCAPE" plan "$quickstart" > q.txt 2>> err.txt; then
  "$PY" - <<'PYEOF' && pass "quickstart: counts, P range, shapes, no warnings" || fail "quickstart plan"
import json
p = json.load(open("q.json"))
assert p["trials"] == 16 and p["full_size"] == 16 and p["excluded"] == 0, p["trials"]
for axis in ("architectures", "activations", "optimizers", "replicates"):
    assert [v["trials"] for v in p["axes"][axis]] == [8, 8], (axis, p["axes"][axis])
assert [v["value"] for v in p["axes"]["architectures"]] == ["[2]", "[4]"]
assert p["params"] == {"min": 9, "max": 17}, p["params"]
assert [s["P"] for s in p["shapes"]] == [9, 17]
assert all(s["N"] == 256 and s["Nm"] == 256 and not s["matrix_free"] for s in p["shapes"])
assert p["matrix_free_trials"] == 0 and p["claim_a_untestable_trials"] == 0
assert p["warnings"] == [] and len(p["hash"]) == 16
# Dense path: 3 P² doubles dominate; the estimate must at least hold them and the data.
assert p["max_memory_bytes"] >= 8 * (3 * 17 * 17 + 256 * 3)
PYEOF
  grep -q "^study quickstart: 16 trials" q.txt && grep -q "parameters P: 9 to 17" q.txt &&
    grep -q "warnings: none" q.txt && pass "quickstart: readable text" || fail "text: $(cat q.txt)"
  hash=$("$PY" -c 'import json; print(json.load(open("q.json"))["hash"])')
  grep -q "hash $hash" q.txt && pass "text and JSON show the same hash" || fail "hash differs"
else
  fail "plan quickstart failed: $(cat err.txt)"
fi

# 2. Exclude, matrix-free, claim A, zip.
cat > s.yaml <<'YEOF'
study: {name: small, seed: 3}
axes:
  architectures: [[4], [30]]
  activations: [tanh, relu]
  datasets: ["teacher:d=2,n=64", "gp:d=3,n=20"]
  optimizers: [ntr, lmvm]
  weight_decay: [0, 1.0e-3]
zip: [[architectures, datasets]]
exclude: [{activations: relu, optimizers: ntr}]
settings: {dense_limit: 50}
YEOF
if "$NNSCAPE" plan s.yaml --json > s.json 2> err.txt && "$NNSCAPE" plan s.yaml > s.txt; then
  "$PY" - <<'PYEOF' && pass "exclude, zip, matrix-free and N·m <= P counted" || fail "small plan"
import json
p = json.load(open("s.json"))
# zip: 2 (arch+data) × 2 act × 2 opt × 2 wd = 16; relu+ntr drops 2×2 = 4.
assert p["full_size"] == 16 and p["trials"] == 12 and p["excluded"] == 4, p
assert [v["trials"] for v in p["axes"]["activations"]] == [8, 4]
assert [v["trials"] for v in p["axes"]["optimizers"]] == [4, 8]
assert [v["trials"] for v in p["axes"]["weight_decay"]] == [6, 6]
# [4] on d=2, m=1: P = 4·3 + 5 = 17; [30] on d=3: P = 30·4 + 31 = 151 > 50 and ≥ N·m = 20.
assert [(s["architecture"], s["P"]) for s in p["shapes"]] == [("[4]", 17), ("[30]", 151)]
assert p["params"] == {"min": 17, "max": 151}
assert p["matrix_free_trials"] == 6 and p["claim_a_untestable_trials"] == 6
assert p["shapes"][1]["matrix_free"] and not p["shapes"][1]["claim_a_testable"]
assert p["zip"] == [["architectures", "datasets"]]
assert any("claim A" in w and "P = 151" in w for w in p["warnings"]), p["warnings"]
PYEOF
  grep -q "warning: .*claim A" s.txt && grep -q "matrix-free (P > dense_limit = 50): 6 trials" s.txt \
    && pass "text warns about claim A and matrix-free trials" || fail "text: $(cat s.txt)"
else
  fail "plan s.yaml failed: $(cat err.txt)"
fi

# 3. Refusals: non-zero exit, the file and the line named.
sed 's/activations: \[tanh, relu\]/activations: [tanh, relus]/' s.yaml > bad1.yaml
expect_error "bad1.yaml line 4:" plan bad1.yaml
expect_error "relus" plan bad1.yaml
printf 'axes:\n  architectures: [[2]]\n  activations: [tanh]\n  datasets: [teacher]\n  optimizers: [ntr]\nzip: [[architectures, replicates]]\n' > bad2.yaml
expect_error "bad2.yaml line 6: zip: replicates cannot be zipped" plan bad2.yaml
expect_error "no such file" plan missing.yaml

finish
