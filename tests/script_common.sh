# Shared set-up of the script tests (sourced, not run): the binary, Debian's Python with numpy and
# h5py, a scratch directory removed on exit, and PASS/FAIL counting with the plain closing line.
# Usage: source script_common.sh NAME   (NAME prefixes messages and the scratch directory)
set -euo pipefail
test_name=$1
: "${NNSCAPE:?set NNSCAPE to the nnscape binary}"
PY=/usr/bin/python3
if ! "$PY" -c 'import h5py, numpy' 2>/dev/null; then
  echo "$test_name: needs numpy and h5py for $PY (Debian: apt-get install python3-numpy python3-h5py)"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nnscape_${test_name}.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

passed=0
failed=0
pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; failed=$((failed + 1)); }
# Skips the whole test where its environment cannot be provided: says why and exits 0.
skip() { echo "SKIP: $test_name: $1"; exit 0; }
# Runs nnscape with the arguments and passes when it fails with the phrase (a fixed string, any
# case) on stderr. Usage: expect_error "phrase" args...
expect_error() {
  local phrase=$1; shift
  if "$NNSCAPE" "$@" > out.txt 2> err.txt; then
    fail "'$*' succeeded, expected an error with '$phrase'"
  elif grep -qiF -- "$phrase" err.txt; then
    pass "error for '$*'"
  else
    fail "'$*': message lacks '$phrase': $(cat err.txt)"
  fi
}
# Prints the summary line and sets the exit status.
finish() {
  echo "$test_name: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
}
