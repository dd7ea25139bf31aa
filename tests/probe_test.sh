#!/usr/bin/env bash
# Integration test of `nnscape probe`: the real binary on small HDF5 data made with h5py.
#
# What it checks, against an independent numpy reference written below:
#   - P = Σ_l (|I_l| + N_l) and one eigenvalue per parameter (dense path);
#   - the loss (PyTorch nn.Linear parameter order, mean over samples of the summed squared
#     error) to 1e-12 relative, the gradient norm to 1e-6 against central finite differences;
#   - the Hessian spectrum against a finite-difference Hessian, the Gauss–Newton spectrum against
#     (2/N) JᵀJ, weight decay shifting H by exactly λ and leaving G alone;
#   - masks, several outputs and hidden layers, θ from HDF5, the matrix-free SLEPc path with
#     PETSc options passed through;
#   - every bad input exits non-zero with one clear message (and no HDF5 stack dump).
# Environment (set by tests/CMakeLists.txt): NNSCAPE = the binary; NNSCAPE_MPIEXEC optional.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" probe_test

# ---------------------------------------------------------------------------------------------
# The numpy reference. `make` writes the inputs; the other commands check one JSON output and
# exit non-zero (printing why) on a mismatch.
cat > ref.py <<'PYEOF'
import json
import sys

import h5py
import numpy as np

ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
}


def unpack(theta, widths, masks=None):
    """Return [(W, b)] from theta in nn.Linear order: free entries of W (row-major), then b."""
    layers, k = [], 0
    for l in range(len(widths) - 1):
        n_in, n_out = widths[l], widths[l + 1]
        mask = np.ones((n_out, n_in), bool) if masks is None else masks[l].astype(bool)
        w = np.zeros((n_out, n_in))
        nfree = int(mask.sum())
        w[mask] = theta[k:k + nfree]  # boolean indexing walks row-major, as nnscape does
        k += nfree
        b = theta[k:k + n_out]
        k += n_out
        layers.append((w, b))
    assert k == len(theta), (k, len(theta))
    return layers


def forward(theta, x, widths, act, masks=None):
    a = x
    layers = unpack(theta, widths, masks)
    for l, (w, b) in enumerate(layers):
        a = a @ w.T + b
        if l + 1 < len(layers):
            a = ACT[act](a)
    return a


def data_loss(theta, x, y, widths, act, masks=None):
    r = forward(theta, x, widths, act, masks) - y
    return np.mean(np.sum(r * r, axis=1))


def load(case):
    c = json.load(open(case + ".json"))
    with h5py.File(c["data"], "r") as f:
        x = f["X"][...]
        y = f["Y"][...]
    if y.ndim == 1:
        y = y[:, None]
    theta = np.loadtxt(c["theta"], ndmin=1)
    masks = [np.loadtxt(m, ndmin=2) for m in c["masks"]] if c.get("masks") else None
    return c, x, y, theta, masks


def make():
    rng = np.random.default_rng(20240611)

    def write_case(name, n, d, hidden, m, act, y1d=False, masks=None):
        x = rng.uniform(-1, 1, (n, d))
        widths = [d] + hidden + [m]
        if masks is not None:
            for l, mk in enumerate(masks):
                np.savetxt(f"{name}_mask{l + 1}.txt", mk, fmt="%d")
        p = sum((int(masks[l].sum()) if masks else widths[l] * widths[l + 1]) + widths[l + 1]
                for l in range(len(widths) - 1))
        theta = rng.normal(0, 0.8, p)
        y = np.sin(2 * x[:, :1]) + 0.3 * x[:, -1:] ** 2 + 0.1 * rng.normal(size=(n, 1))
        y = np.hstack([y * (k + 1) for k in range(m)])
        with h5py.File(f"{name}.h5", "w") as f:
            f["X"] = x
            f["Y"] = y[:, 0] if y1d else y
        np.savetxt(f"{name}_theta.txt", theta, fmt="%.17g", header=f"theta for {name}")
        json.dump({"data": f"{name}.h5", "theta": f"{name}_theta.txt", "widths": widths,
                   "activation": act, "P": p,
                   "masks": [f"{name}_mask{l + 1}.txt" for l in range(len(masks))] if masks else None},
                  open(f"{name}.json", "w"))
        return theta

    # d = 2, one hidden layer of 3, m = 1: P = 2*3 + 3 + 3 + 1 = 13. /Y is 1-D.
    theta = write_case("basic", 60, 2, [3], 1, "tanh", y1d=True)
    with h5py.File("basic_theta.h5", "w") as f:
        f["theta"] = theta
        f["matrix"] = theta.reshape(1, -1)
    # Two hidden layers, two outputs, sigmoid: exercises the layer order and output sum.
    write_case("deep", 40, 3, [4, 3], 2, "sigmoid")
    # Masks: W1 (3x2) with 4 free entries, W2 (1x3) with 2: P = 4 + 3 + 2 + 1 = 10.
    write_case("masked", 50, 2, [3], 1, "tanh",
               masks=[np.array([[1, 0], [1, 1], [0, 1]]), np.array([[1, 0, 1]])])

    # Bad inputs.
    np.savetxt("short_theta.txt", theta[:12], fmt="%.17g")
    with open("nan_theta.txt", "w") as f:
        f.write("\n".join(["0.1"] * 6 + ["nan"] + ["0.1"] * 6) + "\n")
    with open("word_theta.txt", "w") as f:
        f.write("# theta\n0.1\n0.2\nzero\n")
    with h5py.File("basic.h5", "r") as src:
        x, y = src["X"][...], src["Y"][...]
    xn = x.copy()
    xn[5, 1] = np.nan
    with h5py.File("nan_data.h5", "w") as f:
        f["X"] = xn
        f["Y"] = y
    with h5py.File("no_y.h5", "w") as f:
        f["X"] = x
    with h5py.File("rows_differ.h5", "w") as f:
        f["X"] = x
        f["Y"] = y[:-1]
    with h5py.File("string_y.h5", "w") as f:
        f["X"] = x
        f["Y"] = np.array([b"a"] * len(y))
    with open("not_hdf5.h5", "w") as f:
        f.write("X,Y\n1,2\n")
    np.savetxt("mask_2x2.txt", np.ones((2, 2)), fmt="%d")
    with open("mask_bad_entry.txt", "w") as f:
        f.write("1 0\n1 2\n0 1\n")


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def check(cond, what):
    if not cond:
        print("  mismatch:", what)
    return cond


def fd_gradient(f, theta, h=1e-6):
    g = np.empty_like(theta)
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        g[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return g


def fd_hessian(f, theta, h=1e-4):
    p = len(theta)
    hess = np.empty((p, p))
    eye = np.eye(p) * h
    for i in range(p):
        for j in range(i, p):
            v = (f(theta + eye[i] + eye[j]) - f(theta + eye[i] - eye[j])
                 - f(theta - eye[i] + eye[j]) + f(theta - eye[i] - eye[j])) / (4 * h * h)
            hess[i, j] = hess[j, i] = v
    return hess


def gauss_newton(theta, x, widths, act, masks, h=1e-6):
    n = x.shape[0]
    cols = []
    for i in range(len(theta)):
        e = np.zeros_like(theta)
        e[i] = h
        cols.append(((forward(theta + e, x, widths, act, masks)
                      - forward(theta - e, x, widths, act, masks)) / (2 * h)).ravel())
    jac = np.array(cols).T  # (n*m) x P
    return 2.0 / n * jac.T @ jac


def check_output(case, out_file, wd="0"):
    """Loss, gradient, P and both dense spectra against the reference."""
    c, x, y, theta, masks = load(case)
    out = json.load(open(out_file))
    wd = float(wd)
    widths, act = c["widths"], c["activation"]

    def loss(t):
        return data_loss(t, x, y, widths, act, masks) + 0.5 * wd * t @ t

    ok = True
    ok &= check(out["P"] == c["P"] == len(theta), f"P {out['P']} vs {c['P']}")
    ok &= check(out["architecture"] == widths, f"architecture {out['architecture']} vs {widths}")
    ok &= check((out["N"], out["d"], out["m"]) == (x.shape[0], x.shape[1], y.shape[1]), "N, d, m")
    ref_loss = loss(theta)
    ok &= check(rel(out["loss"], ref_loss) < 1e-12, f"loss {out['loss']!r} vs numpy {ref_loss!r}")
    ref_data = data_loss(theta, x, y, widths, act, masks)
    ok &= check(rel(out["data_loss"], ref_data) < 1e-12, f"data_loss {out['data_loss']!r}")
    gnorm = np.linalg.norm(fd_gradient(loss, theta))
    ok &= check(rel(out["gradient_norm"], gnorm) < 1e-6,
                f"gradient_norm {out['gradient_norm']!r} vs finite differences {gnorm!r}")

    p = len(theta)
    hess_ref = np.linalg.eigvalsh(fd_hessian(loss, theta))
    gn_ref = np.linalg.eigvalsh(gauss_newton(theta, x, widths, act, masks))
    for key, ref, tol in (("hessian", hess_ref, 1e-5), ("gauss_newton", gn_ref, 1e-7)):
        s = out[key]
        ev = np.array(s["eigenvalues"])
        ok &= check(len(ev) == p and s["complete"], f"{key}: {len(ev)} eigenvalues for P = {p}")
        if len(ev) == p:
            scale = np.abs(ref).max()
            err = np.abs(ev - ref).max() / scale
            ok &= check(err < tol, f"{key} eigenvalues differ from numpy by {err:.2e} relative")
            ok &= check(np.all(np.diff(ev) >= 0), f"{key} eigenvalues not ascending")
        ok &= check(s["n_neg"] + s["n_zero"] + s["n_pos"] + s["n_undecided"] == p,
                    f"{key} inertia does not sum to P")
        ok &= check(s["certain"] is False or s["n_undecided"] == 0, f"{key}: certain but undecided")
    # The verdict is proven (with its method) or says why not; counts are certain only if proven.
    cert = out["certificate"]
    ok &= check(out["certified"] == cert["certified"], "certified disagrees with the certificate")
    ok &= check(bool(cert["method"]) if out["certified"] else bool(cert["reason"]),
                f"certificate without method or reason: {cert}")
    ok &= check(out["certified"] or not out["hessian"]["certain"], "unproven yet certain counts")
    return ok


def check_weight_decay(plain_file, wd_file, wd):
    """H gains exactly λI and G is unchanged (loss.hpp: G is the data term's Gauss–Newton)."""
    a, b, wd = json.load(open(plain_file)), json.load(open(wd_file)), float(wd)
    ha, hb = np.array(a["hessian"]["eigenvalues"]), np.array(b["hessian"]["eigenvalues"])
    ga, gb = np.array(a["gauss_newton"]["eigenvalues"]), np.array(b["gauss_newton"]["eigenvalues"])
    scale = np.abs(ha).max()
    ok = check(np.abs(hb - (ha + wd)).max() < 1e-12 * scale, "H(λ) != H(0) + λI")
    ok &= check(np.abs(gb - ga).max() < 1e-12 * np.abs(ga).max(), "G changed with weight decay")
    ok &= check(a["data_loss"] == b["data_loss"], "data_loss changed with weight decay")
    return ok


def check_same(file_a, file_b):
    """Two runs that must agree exactly (θ from text versus from HDF5)."""
    a, b = json.load(open(file_a)), json.load(open(file_b))
    ok = check(a["loss"] == b["loss"], f"loss {a['loss']!r} vs {b['loss']!r}")
    ok &= check(a["hessian"]["eigenvalues"] == b["hessian"]["eigenvalues"], "hessian eigenvalues")
    return ok


def check_matrix_free(dense_file, mf_file, k):
    """SLEPc's k smallest and k largest against the dense spectrum; counts are -1."""
    dense, mf, k = json.load(open(dense_file)), json.load(open(mf_file)), int(k)
    ok = True
    for key in ("hessian", "gauss_newton"):
        d, s = np.array(dense[key]["eigenvalues"]), mf[key]
        ev = np.array(s["eigenvalues"])
        ok &= check(not s["complete"], f"{key}: matrix-free result claims to be complete")
        ok &= check(s["method"].startswith("slepc_"), f"{key}: method {s['method']}")
        ok &= check(len(ev) == 2 * k, f"{key}: {len(ev)} eigenvalues, expected {2 * k}")
        ok &= check(len(s["residuals"]) == len(ev), f"{key}: one residual per eigenvalue")
        ok &= check(s["n_zero"] == -1, f"{key}: uncertified counts should be -1")
        if len(ev) == 2 * k:
            want = np.concatenate([d[:k], d[-k:]])
            err = np.abs(ev - want).max() / np.abs(d).max()
            ok &= check(err < 1e-6, f"{key}: matrix-free eigenvalues differ by {err:.2e} relative")
    return ok


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make()
        sys.exit(0)
    fn = {"output": check_output, "weight_decay": check_weight_decay, "same": check_same,
          "matrix_free": check_matrix_free}[cmd]
    sys.exit(0 if fn(*args) else 1)
PYEOF

"$PY" ref.py make

# ---------------------------------------------------------------------------------------------
# Successful runs.

# run NAME ARGS...: runs `nnscape probe ARGS` into NAME.json; a failure is recorded, not fatal.
run() {
  local name=$1
  shift
  local rc=0
  "$NNSCAPE" probe "$@" > "$name.out.json" 2> "$name.err" || rc=$?
  if [[ $rc -ne 0 ]]; then
    fail "$name: exit $rc: $(head -c 800 "$name.err")"
    return 1
  fi
}

# verify NAME CHECK ARGS...: runs `ref.py CHECK ARGS` and records the outcome under NAME.
verify() {
  local name=$1
  shift
  if "$PY" ref.py "$@"; then pass "$name"; else fail "$name"; fi
}

# PETSc/SLEPc options anywhere on the line must reach PETSc and not upset the parser.
if run basic --data basic.h5 --widths 3 --activation tanh -hess_eps_type krylovschur \
    --params basic_theta.txt -gn_eps_tol 1e-10; then
  verify "basic: P = 13, loss, gradient, both spectra vs numpy" output basic basic.out.json
fi
if run basic_wd --data basic.h5 --widths 3 --params basic_theta.txt --weight-decay 0.25; then
  verify "weight decay: loss, gradient vs numpy" output basic basic_wd.out.json 0.25
  [[ -f basic.out.json ]] && verify "weight decay: H shifts by λ, G unchanged" \
    weight_decay basic.out.json basic_wd.out.json 0.25
fi
if run basic_h5 --data basic.h5 --widths 3 --params basic_theta.h5 --params-dataset /theta; then
  verify "θ from HDF5 equals θ from text" same basic.out.json basic_h5.out.json
fi
if run deep --data deep.h5 --widths 4,3 --activation sigmoid --params deep_theta.txt; then
  verify "two hidden layers, m = 2, sigmoid vs numpy" output deep deep.out.json
fi
if run masked --data masked.h5 --widths 3 --params masked_theta.txt \
    --masks masked_mask1.txt,masked_mask2.txt; then
  verify "masks: P = 10, loss, gradient, spectra vs numpy" output masked masked.out.json
fi
if run basic_mf --data basic.h5 --widths 3 --params basic_theta.txt --dense-limit 5 \
    --extremes 3 -hess_eps_tol 1e-12 -gn_eps_tol 1e-12; then
  verify "matrix-free SLEPc path matches the dense extremes" \
    matrix_free basic.out.json basic_mf.out.json 3
fi
# The options reach SLEPc under the per-curvature prefix: the solver named is the solver used.
if run basic_arnoldi --data basic.h5 --widths 3 --params basic_theta.txt --dense-limit 5 \
    --extremes 2 -hess_eps_type arnoldi; then
  if "$PY" -c 'import json, sys; j = json.load(open(sys.argv[1]))
sys.exit(not (j["hessian"]["method"] == "slepc_arnoldi"
              and j["gauss_newton"]["method"] == "slepc_krylovschur"))' basic_arnoldi.out.json; then
    pass "-hess_eps_type reaches the Hessian solver only"
  else
    fail "-hess_eps_type: methods in basic_arnoldi.out.json are not arnoldi/krylovschur"
  fi
fi

rc=0
"$NNSCAPE" --version > version.txt 2>&1 || rc=$?
if [[ $rc -eq 0 ]] && grep -q '^nnscape [0-9]' version.txt; then
  pass "--version"
else
  fail "--version: exit $rc: $(cat version.txt)"
fi

# ---------------------------------------------------------------------------------------------
# Refusals: exit code 1, the phrase on stderr, exactly one error line, no HDF5 stack dump.

# expect_clean_error NAME PHRASE CMD...
expect_clean_error() {
  local name=$1 phrase=$2
  shift 2
  local rc=0
  "$@" > bad.out 2> bad.err || rc=$?
  local why=""
  [[ $rc -eq 1 ]] || why="exit code $rc, expected 1"
  grep -qF -- "$phrase" bad.err || why="${why:+$why; }stderr lacks '$phrase'"
  ! grep -q 'HDF5-DIAG' bad.err || why="${why:+$why; }HDF5 printed its error stack"
  [[ $(grep -c 'nnscape: error:' bad.err) -eq 1 ]] || why="${why:+$why; }not exactly one error line"
  [[ ! -s bad.out ]] || why="${why:+$why; }something was printed on stdout"
  if [[ -z $why ]]; then pass "$name"; else fail "$name: $why; stderr: $(head -c 600 bad.err)"; fi
}

P=("$NNSCAPE" probe)
expect_clean_error "wrong parameter count" "has 12 values, network {2,3,1} needs 13" \
  "${P[@]}" --data basic.h5 --widths 3 --params short_theta.txt
expect_clean_error "NaN parameter" "line 7: the value nan is not finite" \
  "${P[@]}" --data basic.h5 --widths 3 --params nan_theta.txt
expect_clean_error "non-number parameter" "line 4: 'zero' is not a number" \
  "${P[@]}" --data basic.h5 --widths 3 --params word_theta.txt
expect_clean_error "NaN in data" "X has the non-finite value nan at row 5, column 1" \
  "${P[@]}" --data nan_data.h5 --widths 3 --params basic_theta.txt
expect_clean_error "missing data file" "cannot read 'nope.h5': no such file" \
  "${P[@]}" --data nope.h5 --widths 3 --params basic_theta.txt
expect_clean_error "missing parameter file" "cannot read 'nope.txt': no such file" \
  "${P[@]}" --data basic.h5 --widths 3 --params nope.txt
expect_clean_error "data file is not HDF5" "'not_hdf5.h5': not an HDF5 file" \
  "${P[@]}" --data not_hdf5.h5 --widths 3 --params basic_theta.txt
expect_clean_error "missing /Y" "HDF5 file 'no_y.h5' has no dataset /Y" \
  "${P[@]}" --data no_y.h5 --widths 3 --params basic_theta.txt
expect_clean_error "row counts differ" "row counts differ in 'rows_differ.h5'" \
  "${P[@]}" --data rows_differ.h5 --widths 3 --params basic_theta.txt
expect_clean_error "non-numeric /Y" "holds string values" \
  "${P[@]}" --data string_y.h5 --widths 3 --params basic_theta.txt
expect_clean_error "missing parameter dataset" "has no dataset /nope" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.h5 --params-dataset /nope
expect_clean_error "2-D parameter dataset" "a parameter vector must be 1-D" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.h5 --params-dataset /matrix
expect_clean_error "HDF5 parameters without a dataset name" "name the dataset with --params-dataset" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.h5
expect_clean_error "unknown activation" "unknown activation 'tanhh'" \
  "${P[@]}" --data basic.h5 --widths 3 --activation tanhh --params basic_theta.txt
expect_clean_error "no hidden width" "give at least one hidden width" \
  "${P[@]}" --data basic.h5 --params basic_theta.txt
expect_clean_error "empty --widths" "give at least one hidden width" \
  "${P[@]}" --data basic.h5 --widths "" --params basic_theta.txt
expect_clean_error "bad width" "'0' is not a positive integer" \
  "${P[@]}" --data basic.h5 --widths 3,0 --params basic_theta.txt
expect_clean_error "mask count" "got 1 mask file(s), network {2,3,1} has 2 weight matrices" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt --masks masked_mask1.txt
expect_clean_error "mask shape" "mask file 'mask_2x2.txt' is 2x2 but W_1 of network {2,3,1} is 3x2" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt \
  --masks mask_2x2.txt,masked_mask2.txt
expect_clean_error "mask entry" "line 2: entry '2' is not 0 or 1" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt \
  --masks mask_bad_entry.txt,masked_mask2.txt
expect_clean_error "negative weight decay" "--weight-decay must be a finite number >= 0" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt --weight-decay -1
expect_clean_error "zero extremes" "--extremes must be >= 1" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt --extremes 0
expect_clean_error "unknown flag" "--bogus" \
  "${P[@]}" --data basic.h5 --widths 3 --params basic_theta.txt --bogus
expect_clean_error "missing --data" "--data is required" \
  "${P[@]}" --widths 3 --params basic_theta.txt

# Probe is serial and says so under mpirun rather than repeating the work on every rank.
if [[ -n ${NNSCAPE_MPIEXEC:-} ]]; then
  rc=0
  "$NNSCAPE_MPIEXEC" --oversubscribe -n 2 "$NNSCAPE" probe --data basic.h5 --widths 3 \
    --params basic_theta.txt > bad.out 2> bad.err || rc=$?
  if [[ $rc -ne 0 ]] && grep -qF "probe is not parallel; run it on one rank (got 2 MPI ranks)" bad.err \
    && [[ $(grep -c 'nnscape: error:' bad.err) -eq 1 ]]; then
    pass "two MPI ranks refused once"
  else
    fail "two MPI ranks: exit $rc; stderr: $(head -c 600 bad.err)"
  fi
fi

finish
