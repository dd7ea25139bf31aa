#!/usr/bin/env bash
# The README's quickstart claims, checked: runs `jobs/quickstart` exactly as the README's first
# command does (with the built binary, so without install and build) and requires that
#   1. it exits 0 and writes the report;
#   2. every README block marked "checked by tests/quickstart_test.sh" appears in its output, each
#      line exactly and in order (the probe table, the study's outcome counts, the outcome per
#      student, the trials of the spectra figure whose facts the figure caption states);
#   3. jobs/studies/quickstart.yaml quotes no outcome of its own (the README is the one place);
#   4. a second run resumes and does no work.
# A change that alters what the quickstart prints fails here until the README is updated: copy
# the lines from this test's output (printed on failure).
# Environment (tests/CMakeLists.txt): NNSCAPE, NNSCAPE_SOURCE_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" quickstart_test
src=${NNSCAPE_SOURCE_DIR:?set NNSCAPE_SOURCE_DIR to the repository}

if NNSCAPE_QUICKSTART_BINARY=$NNSCAPE bash "$src/jobs/quickstart" "$work/q" > out.txt 2> err.txt; then
  pass "jobs/quickstart exits 0"
else
  fail "jobs/quickstart failed: $(tail -5 err.txt)"
fi
[[ -s $work/q/report/index.html && -s $work/q/report/spectra.png ]] \
  && pass "report with the spectra figure written" || fail "no report in $work/q/report"

if "$PY" - "$src/README.md" out.txt <<'PYEOF'
import re, sys
readme = open(sys.argv[1], encoding="utf-8").read()
out = open(sys.argv[2], encoding="utf-8").read().splitlines()
blocks = re.findall(r"<!-- checked by tests/quickstart_test\.sh[^>]*-->\n```text\n(.*?)```",
                    readme, re.S)
if len(blocks) < 2:
    sys.exit(f"README.md has {len(blocks)} checked quickstart blocks, expected at least 2")
bad = 0
for k, block in enumerate(blocks, 1):
    lines = block.rstrip("\n").split("\n")
    it = iter(out)  # each line must be printed, after the block's previous line
    found = all(any(o == l for o in it) for l in lines)
    if not found:
        bad += 1
        missing = [l for l in lines if l not in out]
        print(f"README block {k} is not what jobs/quickstart prints; lines not printed: {missing}")
if bad:
    print("---- jobs/quickstart printed:")
    print("\n".join(out))
    sys.exit(1)
print(f"{len(blocks)} README blocks match the quickstart's output")
PYEOF
then
  pass "README's quickstart blocks equal the quickstart's output"
else
  fail "README's quickstart blocks differ from the quickstart's output (see above)"
fi

if grep -qiE "measured:|^# .*[0-9]+ of [0-9]+ trials" "$src/jobs/studies/quickstart.yaml"; then
  fail "quickstart.yaml quotes outcomes of its own: $(grep -iE 'measured:' "$src/jobs/studies/quickstart.yaml" | head -2)"
else
  pass "quickstart.yaml leaves the outcome to the checked README"
fi

if NNSCAPE_QUICKSTART_BINARY=$NNSCAPE bash "$src/jobs/quickstart" "$work/q" > out2.txt 2> err2.txt \
   && grep -q "16 done, 0 failed, 0 pending (this run: 0 in" out2.txt; then
  pass "a second run resumes and runs no trial"
else
  fail "second run: $(tail -3 err2.txt)"
fi
finish
