#!/usr/bin/env bash
# Integration test of the analysis package (analysis/) on results of the real binary.
#   1. two small studies run with `nnscape run` on 2 ranks: 16 teacher trials (tanh/softplus,
#      widths 2 and 4, Newton and L-BFGS) and 8 trials on a linear target with the dense and the
#      LU pattern, with and without weight decay;
#   2. the loader: one row per trial with the axis labels of /axes, status and state as text,
#      and every trial's spectrum, parameters and trajectory equal to its slice of /values;
#   3. `python3 -m analysis.report`: exit 0, no figure errors, and every number of its tables
#      (CSV next to the HTML, and the cells of the HTML tables) equal to the same numbers
#      computed here from the HDF5 file with h5py alone; the script form
#      (`python3 analysis/report.py`, as the Slurm merge job calls it) on both files, from
#      another directory, draws the seed-B figures;
#   4. a run killed with kill -9 mid-way: the loader reads the file while the run writes it,
#      and afterwards reports the pending trials (status tables count them);
#   5. a truncated file, a scrambled one, a foreign HDF5 file, a text file and a missing path
#      each stop the report with "report: error: ..." naming the problem, exit 1, no traceback;
#   6. the report in headless Debian Chromium: a screenshot that is a real picture, every <img>
#      decoded by the browser (checked from a checker page, with a negative control that removes
#      one figure), every PNG with real pixel variance, every SVG present, no script, no URL.
#      Chromium is installed with apt-get when missing (root); if that fails, only this part
#      says SKIP.
# Environment (tests/CMakeLists.txt): NNSCAPE, NNSCAPE_MPIEXEC, NNSCAPE_SOURCE_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" analysis_test
: "${NNSCAPE_MPIEXEC:?set NNSCAPE_MPIEXEC to mpiexec}"
src=${NNSCAPE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export PYTHONPATH="$src${PYTHONPATH:+:$PYTHONPATH}"
export OPENBLAS_NUM_THREADS=1
mpi() { local n=$1; shift; "$NNSCAPE_MPIEXEC" --oversubscribe -n "$n" "$@"; }
if ! "$PY" -c 'import pandas, matplotlib' 2>/dev/null; then
  echo "analysis_test: needs pandas and matplotlib for $PY" \
       "(Debian: apt-get install python3-pandas python3-matplotlib)"
  exit 1
fi

# ---------------------------------------------------------------------------------------------
# 1. Two real studies.
cat > study.yaml <<'EOF'
study: {name: analysis_test, seed: 7}
axes:
  architectures: [[2], [4]]
  activations:   [tanh, softplus]
  datasets:      ["teacher:width=2,d=2,n=128"]
  optimizers:
    - {name: newton, type: ntr, options: {tao_max_it: 300}}
    - {name: lbfgs, type: lmvm, options: {tao_max_it: 2000}}
  replicates:    2
settings: {trajectory_length: 32}
EOF
cat > sparse.yaml <<'EOF'
study: {name: analysis_test_lu, seed: 3}
axes:
  architectures: [[2]]
  activations:   [relu]
  datasets:      ["linear:d=2,matrix=anti_identity,n=64"]
  sparsity:      [dense, LU]
  optimizers:
    - {name: lbfgs, type: lmvm, options: {tao_max_it: 2000}}
  weight_decay:  [0, 1.0e-3]
  replicates:    2
settings: {trajectory_length: 32}
EOF
for s in study:r sparse:b; do
  if mpi 2 "$NNSCAPE" run "${s%%:*}.yaml" -o "${s##*:}.h5" > "run_${s##*:}.out" 2> "run_${s##*:}.err"; then
    pass "nnscape run ${s%%:*}.yaml on 2 ranks"
  else
    fail "nnscape run ${s%%:*}.yaml: $(tail -3 "run_${s##*:}.err")"
    finish; exit 1
  fi
done

# ---------------------------------------------------------------------------------------------
# 2. The loader against h5py.
"$PY" - > loader.txt 2>&1 <<'PYEOF' && pass "loader: rows, labels, spectra, parameters, trajectories, spec, provenance" \
  || fail "loader: $(tail -5 loader.txt)"
import h5py, numpy as np
from analysis.load import load, spectrum, params, trajectory, study_spec, provenance
AX = [("architectures", "architecture"), ("activations", "activation"), ("datasets", "dataset"),
      ("sparsity", "pattern"), ("optimizers", "optimizer"), ("inits", "init"),
      ("weight_decay", "weight_decay"), ("replicates", "replicate")]
df = load("r.h5")
with h5py.File("r.h5", "r") as f:
    t = f["trials"][()]
    assert len(df) == len(t) == 16, (len(df), len(t))
    assert list(df.trial_id) == list(t["trial_id"])
    assert list(df.status) == [s.decode() for s in t["status"]]
    # Every trial ran (none pending); whether one ends done or failed is the trial's business,
    # and the loader must say the same as the file either way.
    assert (t["state"] != 0).all() and ((df.state == "done") == (t["state"] == 1)).all()
    with_spectra = 0
    for axis, col in AX:
        labels = [v.decode() for v in f["axes"][axis][()]]
        got = [str(v) for v in df[col]]
        want = [labels[i] for i in t["axis_" + axis]]
        if col == "weight_decay":
            assert np.allclose(df[col].astype(float), [float(w) for w in want]), (got, want)
        else:
            assert got == want, (col, got[:3], want[:3])
    for r in t:
        tid = int(r["trial_id"])
        if r["state"] != 1:
            continue  # a failed trial's slots may be empty
        for which in ("hessian", "gauss_newton"):
            off, cnt = int(r[which + "_offset"]), int(r[which + "_count"])
            if cnt == 0:
                continue
            with_spectra += 1
            ev = spectrum("r.h5", tid, which)
            assert len(ev) == cnt and np.array_equal(ev, f["values"][which][off:off + cnt])
        th = params("r.h5", tid)
        assert len(th) == int(r["P"]) and np.array_equal(
            th, f["values/theta"][int(r["theta_offset"]):int(r["theta_offset"]) + len(th)])
        tr = trajectory("r.h5", tid)
        off, cnt = int(r["trajectory_offset"]), int(r["trajectory_count"])
        assert len(tr) == cnt > 0
        assert np.array_equal(tr[["iteration", "loss", "grad_norm", "param_norm"]].to_numpy(),
                              f["values/trajectory"][off:off + cnt, :4])
        assert tr.iteration.is_monotonic_increasing
    assert with_spectra > 0, "no trial stored a spectrum: the comparison above checked nothing"
    assert study_spec("r.h5") == f["study/spec"][()].decode()
    # product_error is −1 ("not applicable") for teacher data: the loader makes it NaN.
    assert (t["product_error"] == -1).all() and df.product_error.isna().all()
p = provenance("r.h5")
assert len(p) == 1 and "run" in p.columns and p.iloc[0]["run"] == "run_0001", p
assert any("run" in str(v) and "study.yaml" in str(v) for v in p.iloc[0].values), p.iloc[0]
both = load(["r.h5", "b.h5"])
assert len(both) == 24 and sorted(both.study.unique()) == ["analysis_test", "analysis_test_lu"]
assert both[both.study == "analysis_test_lu"].product_error.notna().all()
print("ok")
PYEOF

# ---------------------------------------------------------------------------------------------
# 3. The report and its numbers against h5py.
# Recomputes every table of the report from the HDF5 file with h5py and numpy only, then
# compares with the CSV files (exactly; means to 1e-12) and with the cells of the HTML tables
# (integers exactly, floats to the 4 digits shown).
cat > check_tables.py <<'PYEOF'
import csv, math, sys
from collections import Counter, defaultdict
from html.parser import HTMLParser
import h5py, numpy as np

paths, rep = sys.argv[1:-1], sys.argv[-1]
AXES = [("architectures", "architecture"), ("activations", "activation"), ("datasets", "dataset"),
        ("sparsity", "pattern"), ("optimizers", "optimizer"), ("inits", "init"),
        ("weight_decay", "weight_decay"), ("replicates", "replicate")]
FAIL = {"not_converged", "diverged", "failed_numerics", "error", "unknown"}
rows = []
for p in paths:
    with h5py.File(p, "r") as f:
        name = f["study"].attrs["name"]
        name = name.decode() if isinstance(name, bytes) else str(name)
        labels = {a: [v.decode() for v in f["axes"][a][()]] for a, _ in AXES}
        for r in f["trials"][()]:
            d = {"study": name, "state": int(r["state"]),
                 "status": "pending" if r["state"] == 0 else (r["status"].decode() or "unknown"),
                 "reason": r["reason"].decode(), "error": r["error"].decode(),
                 "redundant": int(r["redundant"]) if r["redundancy_applicable"] == 1 else -1,
                 "seconds": float(r["seconds_total"]),
                 "certified": int(r["certified"] == 1) if r["state"] != 0 else 0}
            for a, c in AXES:
                d[c] = labels[a][int(r["axis_" + a])]
            rows.append(d)
axes = ([("study", "study")] if len({r["study"] for r in rows}) > 1 else []) + AXES
read = lambda n: list(csv.DictReader(open(f"{rep}/tables/{n}.csv")))
problems = []
def same(what, got, want, rel=0.0):
    if isinstance(want, float):
        ok = (math.isnan(want) and got == "") or (got != "" and math.isclose(float(got), want, rel_tol=rel, abs_tol=0.0))
    else:
        ok = str(got) == str(want)
    if not ok:
        problems.append(f"{what}: report {got!r}, h5py {want!r}")

# Status counts by axis (every trial, pending included).
got = {(r["axis"], r["value"]): r for r in read("status_counts")}
want = {("all", "all"): rows}
for _, c in axes:
    for r in rows:
        want.setdefault((c, r[c]), []).append(r)
statuses = set(next(iter(got.values())).keys()) - {"axis", "value", "total", "certified"}
if set(got) != set(want):
    problems.append(f"status_counts keys {sorted(set(got) ^ set(want))}")
for k, rs in want.items():
    counts = Counter(r["status"] for r in rs)
    if set(counts) - statuses:
        problems.append(f"status_counts {k}: statuses {set(counts) - statuses} missing")
    for s in statuses:
        same(f"status_counts {k} {s}", got.get(k, {}).get(s), counts.get(s, 0))
    same(f"status_counts {k} total", got.get(k, {}).get("total"), len(rs))
    same(f"status_counts {k} certified", got.get(k, {}).get("certified"),
         sum(r["certified"] for r in rs))

# Strict fraction of converged minima.
groups = defaultdict(list)
for r in rows:
    if r["state"] != 0 and r["status"] in ("strict_min", "degenerate_min"):
        dom = {1: "redundant", 0: "efficient"}.get(r["redundant"], "unknown")
        groups[(r["activation"], r["architecture"], dom)].append((r["status"], r["certified"]))
got = {(r["activation"], r["architecture"], r["domain"]): r for r in read("strict_fraction")}
if set(got) != set(groups):
    problems.append(f"strict_fraction groups {sorted(set(got) ^ set(groups))}")
for k, st in groups.items():
    g = got.get(k, {})
    names = [x for x, _ in st]
    n, s = len(st), names.count("strict_min")
    same(f"strict {k} minima", g.get("minima"), n)
    same(f"strict {k} strict", g.get("strict"), s)
    same(f"strict {k} degenerate", g.get("degenerate"), names.count("degenerate_min"))
    same(f"strict {k} proven strict", g.get("proven_strict"), st.count(("strict_min", 1)))
    same(f"strict {k} proven degenerate", g.get("proven_degenerate"),
         st.count(("degenerate_min", 1)))
    same(f"strict {k} fraction", g.get("fraction_strict"), s / n)

# Failure reasons.
want = Counter((r["status"], r["reason"], r["error"]) for r in rows
               if r["state"] != 0 and (r["status"] in FAIL or r["state"] == 2))
got = {(r["status"], r["reason"], r["error"]): r["count"] for r in read("failure_reasons")}
if set(got) != set(want):
    problems.append(f"failure_reasons keys {sorted(set(got) ^ set(want))}")
for k, n in want.items():
    same(f"failure {k}", got.get(k), n)

# Time per trial by axis (finished trials with a finite time).
done = [r for r in rows if r["state"] != 0 and math.isfinite(r["seconds"])]
want = {("all", "all"): [r["seconds"] for r in done]}
for _, c in axes:
    for r in done:
        want.setdefault((c, r[c]), []).append(r["seconds"])
got = {(r["axis"], r["value"]): r for r in read("time_by_axis")}
if set(got) != set(want):
    problems.append(f"time_by_axis keys {sorted(set(got) ^ set(want))}")
for k, s in want.items():
    g, s = got.get(k, {}), np.array(s)
    same(f"time {k} trials", g.get("trials"), len(s))
    same(f"time {k} total", g.get("total_seconds"), float(s.sum()), 1e-12)
    same(f"time {k} mean", g.get("mean_seconds"), float(s.mean()), 1e-12)
    same(f"time {k} median", g.get("median_seconds"), float(np.median(s)), 0.0)
    same(f"time {k} max", g.get("max_seconds"), float(s.max()), 0.0)

# The HTML tables show the CSV numbers (integers exactly, floats to 4 significant digits).
class Tables(HTMLParser):
    def __init__(self):
        super().__init__(); self.tables, self.name, self.cell = {}, None, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h3" and a.get("id", "").startswith("table-"):
            self.name = a["id"][6:]
        elif tag == "table" and self.name:
            self.tables[self.name] = []
        elif tag == "tr" and self.name in self.tables:
            self.tables[self.name].append([])
        elif tag in ("td", "th") and self.name in self.tables:
            self.cell = ""
    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[self.name][-1].append(self.cell); self.cell = None
        elif tag == "table":
            self.name = None
parser = Tables()
parser.feed(open(f"{rep}/index.html", encoding="utf-8").read())
for name in ("status_counts", "strict_fraction", "failure_reasons", "time_by_axis"):
    table = read(name)
    html = parser.tables.get(name)
    if table and not html:
        problems.append(f"HTML has no table {name}"); continue
    if not table:
        continue
    header, body = html[0], html[1:]
    if header != list(table[0].keys()) or len(body) != len(table):
        problems.append(f"HTML table {name}: header {header} / {len(body)} rows vs CSV {len(table)}")
        continue
    for hr, cr in zip(body, table):
        for h, (col, c) in zip(hr, cr.items()):
            try:
                ci = int(c); ok = h == str(ci)
            except ValueError:
                try:
                    cf = float(c); ok = math.isclose(float(h), cf, rel_tol=5e-4) if h else math.isnan(cf)
                except ValueError:
                    ok = h == c
            if not ok:
                problems.append(f"HTML {name} {col}: {h!r} vs CSV {c!r}")
n_checked = sum(len(read(n)) for n in ("status_counts", "strict_fraction", "failure_reasons", "time_by_axis"))
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
print(f"{n_checked} table rows equal")
PYEOF

rm -rf rep
if "$PY" -m analysis.report r.h5 -o rep > rep.out 2> rep.err; then
  pass "python3 -m analysis.report r.h5 -o rep"
else
  fail "report on r.h5: $(tail -5 rep.err)"
fi
[[ -f rep/index.html && -f rep/tables.json && -f rep/tables/status_counts.csv ]] \
  && pass "index.html, tables.json and tables/*.csv written" || fail "report files missing"
"$PY" -c "import json; r = json.load(open('rep/report.json')); assert not r['errors'], r['errors']; \
assert r['trials'] == 16 and r['done'] + r['failed'] == 16, r; \
assert {'strict_fraction', 'status_counts', 'time_by_axis', 'spectra'} <= set(r['figures']), r['figures']" \
  2> json.err && pass "report.json: 16 trials, no figure errors" || fail "report.json: $(tail -2 json.err)"
"$PY" check_tables.py r.h5 rep > check.txt 2>&1 && pass "report tables equal h5py: $(tail -1 check.txt)" \
  || fail "report tables differ from h5py: $(head -8 check.txt)"
grep -q "study: {name: analysis_test, seed: 7}" rep/index.html && grep -q "run_0001" rep/index.html \
  && pass "the spec text and provenance are in the report" || fail "spec or provenance missing"

# The script form, from another directory and without PYTHONPATH, on both studies.
mkdir -p elsewhere
if (cd elsewhere && env -u PYTHONPATH "$PY" "$src/analysis/report.py" ../r.h5 ../b.h5 -o ../rep2 \
      > ../rep2.out 2> ../rep2.err); then
  pass "python3 analysis/report.py r.h5 b.h5 (script form)"
else
  fail "script form: $(tail -5 rep2.err)"
fi
"$PY" check_tables.py r.h5 b.h5 rep2 > check2.txt 2>&1 \
  && pass "two-study report tables equal h5py: $(tail -1 check2.txt)" \
  || fail "two-study tables differ: $(head -8 check2.txt)"
"$PY" - > seedb.txt 2>&1 <<'PYEOF' && pass "seed B: pattern table equals h5py, both seed-B figures drawn" \
  || fail "seed B: $(tail -5 seedb.txt)"
import csv, json, h5py
r = json.load(open("rep2/report.json"))
assert {"pattern_divergence", "linear_trajectories"} <= set(r["figures"]), r["figures"]
with h5py.File("b.h5", "r") as f:
    t = f["trials"][()]
    pat = [v.decode() for v in f["axes/sparsity"][()]]
    wd = [float(v.decode()) for v in f["axes/weight_decay"][()]]
want = {}
for row in t:
    k = (pat[row["axis_sparsity"]], wd[row["axis_weight_decay"]])
    n, d = want.get(k, (0, 0))
    want[k] = (n + 1, d + (row["status"] == b"diverged"))
got = {(r["pattern"], float(r["weight_decay"])): (int(r["trials"]), int(r["diverged"]))
       for r in csv.DictReader(open("rep2/tables/patterns.csv")) if r["study"] == "analysis_test_lu"}
assert got == want, (got, want)
print("ok")
PYEOF

# ---------------------------------------------------------------------------------------------
# 4. A run killed mid-way: read while it writes, then report the pending trials.
cat > slow.yaml <<'EOF'
study: {name: analysis_killed, seed: 5}
axes:
  architectures: [[16]]
  activations:   [tanh]
  datasets:      ["gp:d=2,n=600,length=0.3"]
  optimizers:
    - {name: lbfgs, type: lmvm, options: {tao_max_it: 6000, tao_gatol: 1.0e-14}}
  replicates:    12
settings: {trajectory_length: 32}
EOF
"$NNSCAPE_MPIEXEC" --oversubscribe -n 2 "$NNSCAPE" run slow.yaml -o killed.h5 > slow.out 2> slow.err &
bg=$!
cat > poll.py <<'PYEOF'
import sys, time
from analysis.load import load, ResultsFileError
seen = None
for _ in range(1200):  # up to 120 s
    try:
        df = load("killed.h5")
    except ResultsFileError:
        time.sleep(0.1); continue  # not created yet
    n = (df.state != "pending").sum()
    if n >= 2:
        print(int(n), int((df.state == "pending").sum())); sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PYEOF
if read -r done_seen pending_seen < <("$PY" poll.py); then
  # Kill the ranks first (direct children of mpiexec), then mpiexec: nothing flushes or ends.
  ranks=$(pgrep -P "$bg" || true)
  [[ -n $ranks ]] && kill -9 $ranks 2> /dev/null || true
  kill -9 "$bg" 2> /dev/null || true
  wait "$bg" 2> /dev/null || true
  if (( pending_seen > 0 )); then
    pass "read while the run writes: $done_seen finished, $pending_seen pending"
  else
    fail "the run finished before it was read mid-way (pending 0)"
  fi
  "$PY" - > killed.txt 2>&1 <<'PYEOF' && pass "after kill -9: $(tail -1 killed.txt)" \
    || fail "after kill -9: $(tail -5 killed.txt)"
import h5py, numpy as np
from analysis.load import load, spectrum, ResultsFileError
df = load("killed.h5")
with h5py.File("killed.h5", "r") as f:
    state = f["trials"]["state"][()]
pending = df[df.state == "pending"]
assert len(df) == 12 and len(pending) == int((state == 0).sum()) > 0, (len(df), len(pending))
assert (pending.status == "pending").all()
assert pending.loss.isna().all() and pending.iterations.isna().all()
assert pending.measured_nullity.isna().all() and pending.converged.isna().all()
try:
    spectrum("killed.h5", int(pending.trial_id.iloc[0]))
    raise SystemExit("spectrum of a pending trial did not raise")
except ResultsFileError as e:
    assert "pending" in str(e), e
print(f"{len(pending)} of 12 pending, their results missing, spectrum() refuses them")
PYEOF
  if "$PY" -m analysis.report killed.h5 -o rep_killed > rk.out 2> rk.err; then
    "$PY" - > rk.txt 2>&1 <<'PYEOF' && pass "report of the killed run counts the pending trials" \
      || fail "report of the killed run: $(tail -3 rk.txt)"
import csv, h5py
pending = int((h5py.File("killed.h5", "r")["trials"]["state"][()] == 0).sum())
row = next(r for r in csv.DictReader(open("rep_killed/tables/status_counts.csv")) if r["axis"] == "all")
assert int(row["pending"]) == pending > 0, (row, pending)
assert "incomplete" in open("rep_killed/index.html").read()
PYEOF
  else
    fail "report on the killed run: $(tail -3 rk.err)"
  fi
else
  kill -9 $(pgrep -P "$bg" || true) "$bg" 2> /dev/null || true
  wait "$bg" 2> /dev/null || true
  fail "the slow run never finished 2 trials: $(tail -3 slow.err)"
fi

# ---------------------------------------------------------------------------------------------
# 5. Files that are not results: a clear error, exit 1, no traceback.
head -c 20000 r.h5 > truncated.h5
"$PY" - <<'PYEOF'
import h5py
b = bytearray(open("r.h5", "rb").read())
b[600:6000] = b"\xab" * 5400  # the object headers and the B-tree of the root group
open("scrambled.h5", "wb").write(b)
with h5py.File("foreign.h5", "w") as f:
    f["X"] = [[1.0, 2.0]]
    f["Y"] = [3.0]
open("text.h5", "w").write("not an HDF5 file\n")
PYEOF
for case in "truncated.h5:corrupt or truncated" "scrambled.h5:corrupt or truncated" \
            "foreign.h5:not an nnscape results file" "text.h5:not an HDF5 file" \
            "missing.h5:no such file"; do
  file=${case%%:*}; want=${case#*:}
  if "$PY" -m analysis.report "$file" -o "rep_$file" > bad.out 2> bad.err; then
    fail "$file: report succeeded"
  else
    rc=$?
    if [[ $rc -eq 1 ]] && grep -q "report: error: .*$want" bad.err && ! grep -q Traceback bad.err; then
      pass "$file: exit 1, '$(head -c 110 bad.err)'"
    else
      fail "$file: exit $rc, stderr: $(head -c 300 bad.err)"
    fi
  fi
done

# ---------------------------------------------------------------------------------------------
# 6. The report in headless Chromium.
chrome=$(command -v chromium || command -v chromium-browser || true)
if [[ -z $chrome && $(id -u) -eq 0 ]] && command -v apt-get > /dev/null; then
  echo "analysis_test: installing chromium (apt-get)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq > apt.log 2>&1 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium \
      >> apt.log 2>&1 || true
  chrome=$(command -v chromium || true)
fi
if [[ -z $chrome ]]; then
  echo "PART SKIPPED: analysis_test: Chromium part: no chromium (apt-get install chromium failed or not root)"
  finish
  exit $?
fi
browser() {  # profile dir, then chromium arguments; never leaves a process behind
  local profile=$1; shift
  local rc=0 left
  timeout -k 5 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --enable-logging=stderr --v=0 "$@" || rc=$?
  left=$(pgrep -f -- "--user-data-dir=$profile" || true)
  [[ -n $left ]] && kill -9 $left 2> /dev/null || true
  return $rc
}
# A checker page loads the report in an iframe and asks the browser, for every <img>, whether it
# decoded it (complete, natural size > 0). File pages may read each other only with
# --allow-file-access-from-files; the report itself has no script.
cat > check.html <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"><script>
function check(frame) {
  var d = frame.contentDocument, out = [];
  if (!d) { document.getElementById('out').textContent = 'NO-ACCESS'; return; }
  for (var i = 0; i < d.images.length; i++) {
    var im = d.images[i];
    out.push('IMG ' + im.getAttribute('src') + ' ' +
             (im.complete && im.naturalWidth > 0 ? im.naturalWidth + 'x' + im.naturalHeight : 'BROKEN'));
  }
  document.getElementById('out').textContent = 'IMAGES ' + d.images.length + '\n' + out.join('\n') + '\nEND';
}
</script></head><body><iframe src="REPORT/index.html" onload="check(this)" style="width:1200px;height:3000px"></iframe>
<pre id="out">NOT-RUN</pre></body></html>
EOF
for r in rep rep2; do
  sed "s#REPORT#$r#" check.html > "check_$r.html"
  browser "$work/profile_shot_$r" --screenshot="$work/shot_$r.png" --window-size=1200,3000 \
    "file://$work/$r/index.html" > "shot_$r.out" 2> "shot_$r.err" \
    || fail "chromium screenshot of $r exited non-zero: $(grep -v dbus "shot_$r.err" | tail -2)"
  browser "$work/profile_dom_$r" --allow-file-access-from-files --virtual-time-budget=10000 \
    --dump-dom "file://$work/check_$r.html" > "dom_$r.html" 2> "dom_$r.err" \
    || fail "chromium --dump-dom of $r exited non-zero"
  if grep -E "CONSOLE|Uncaught|ERR_FILE_NOT_FOUND|Failed to load resource" "shot_$r.err" "dom_$r.err" \
       > console.txt; then
    fail "$r: browser console errors: $(head -3 console.txt)"
  else
    pass "$r: no console errors in Chromium"
  fi
  "$PY" - "$r" > "img_$r.txt" 2>&1 <<'PYEOF' && pass "$r in Chromium: $(tail -1 "img_$r.txt")" \
    || fail "$r in Chromium: $(tail -6 "img_$r.txt")"
import json, re, sys, os
import numpy as np
from matplotlib import image
r = sys.argv[1]
page = open(f"{r}/index.html", encoding="utf-8").read()
srcs = re.findall(r"<img src='([^']+)'", page)
made = json.load(open(f"{r}/report.json"))["figures"]
assert srcs == [f"{m}.png" for m in made] and len(srcs) >= 9, (srcs, made)
assert not re.search(r"<script|https?://|<link ", page), "script or URL in the report"
dom = open(f"dom_{r}.html").read()
m = re.search(r"IMAGES (\d+)\n(.*?)\nEND", dom, re.S)
assert m, "the checker page did not run: " + dom[-300:]
lines = m.group(2).split("\n")
assert int(m.group(1)) == len(srcs) == len(lines), (m.group(1), len(srcs))
for line, src in zip(lines, srcs):
    _, s, size = line.split(" ")
    assert s == src and size != "BROKEN", line
    w, h = map(int, size.split("x"))
    assert w >= 300 and h >= 150, line
for src in srcs:
    px = image.imread(f"{r}/{src}")
    assert px.ndim == 3 and px.shape[0] >= 150 and float(px[..., :3].std()) > 0.02, (src, px.shape)
    svg = open(f"{r}/{src[:-4]}.svg").read(4000)
    assert "<svg" in svg, src
shot = image.imread(f"shot_{r}.png")
assert shot.shape[:2] == (3000, 1200) and float(shot[..., :3].std()) > 0.05, shot.shape
print(f"{len(srcs)} figures decoded by the browser, PNGs with pixel variance, SVGs present; "
      f"screenshot {os.path.getsize(f'shot_{r}.png')} bytes")
PYEOF
done
# Negative control: the check must see a figure that is missing.
cp -r rep rep_broken && rm rep_broken/nullity.png 2> /dev/null || rm "rep_broken/$(ls rep_broken | grep -m1 '\.png$')"
sed "s#REPORT#rep_broken#" check.html > check_broken.html
browser "$work/profile_broken" --allow-file-access-from-files --virtual-time-budget=10000 \
  --dump-dom "file://$work/check_broken.html" > dom_broken.html 2> dom_broken.err || true
grep -q " BROKEN" dom_broken.html && pass "negative control: a removed figure shows as BROKEN" \
  || fail "negative control: the checker did not notice a missing figure"

finish
