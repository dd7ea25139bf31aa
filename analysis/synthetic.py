"""Write a synthetic results file with the exact schema of src/store.cpp (development aid).

The numbers are invented (plausible, not computed): use it to exercise the loader and the
report on cases a small real study does not produce (linear data with the LU pattern, weight
decay, pending rows, extra columns such as the closedness verdicts). Real analyses read files
written by ``nnscape run``.

Usage: /usr/bin/python3 -m analysis.synthetic out.h5 [--pending K] [--closedness]
"""
from __future__ import annotations

import argparse

import h5py
import numpy as np

AXES = ["architectures", "activations", "datasets", "sparsity", "optimizers", "inits",
        "weight_decay", "replicates"]


def row_dtype(extra: bool) -> np.dtype:
    """The /trials compound of src/store.cpp (RowLayout), optionally with closedness columns."""
    c = [("trial_id", "<i8")] + [(f"axis_{a}", "<i4") for a in AXES]
    c += [("seed", "<u8"), ("data_seed", "<u8"), ("P", "<i8"), ("N", "<i8")]
    for v in ("theta", "hessian", "gauss_newton", "trajectory"):
        c += [(f"{v}_offset", "<i8"), (f"{v}_capacity", "<i8"), (f"{v}_count", "<i8")]
    c += [("state", "i1"), ("status", "S24"), ("error", "S512"), ("rank", "<i4"),
          ("host", "S64"), ("finished_at", "<f8"), ("init_seed", "<u8"),
          ("tao_type", "S24"), ("reason", "S40"), ("reason_code", "<i4"), ("converged", "i1"),
          ("diverged", "i1"), ("nonfinite", "i1"), ("iterations", "<i4"),
          ("function_evals", "<i4"), ("gradient_evals", "<i4"), ("hessian_evals", "<i4"),
          ("loss", "<f8"), ("grad_norm", "<f8"), ("param_norm", "<f8"),
          ("initial_param_norm", "<f8"), ("norm_growth_rate", "<f8"), ("local_rate", "S16")]
    for s in ("hessian", "gauss_newton"):
        c += [(f"{s}_complete", "i1"), (f"{s}_method", "S32"), (f"{s}_n_neg", "<i4"),
              (f"{s}_n_zero", "<i4"), (f"{s}_n_pos", "<i4"), (f"{s}_lambda_min", "<f8"),
              (f"{s}_lambda_max", "<f8"), (f"{s}_n_undecided", "<i4"),
              (f"{s}_threshold", "<f8"), (f"{s}_scale", "<f8"), (f"{s}_largest_zero", "<f8"),
              (f"{s}_smallest_nonzero", "<f8"), (f"{s}_certain", "i1"),
              (f"{s}_converged", "<i4"), (f"{s}_iterations", "<i4"), (f"{s}_tolerance", "<f8"),
              (f"{s}_max_residual", "<f8")]
    c += [("redundancy_applicable", "i1"), ("redundant", "i1"), ("redundancy_distance", "<f8"),
          ("redundancy_nearest", "S64"), ("n_dead", "<i4"), ("n_constant", "<i4"),
          ("n_duplicate", "<i4"), ("n_antipodal", "<i4"), ("predicted_nullity", "<i4"),
          ("predicted_nullity_h", "<i4"), ("measured_nullity", "<i4"),
          ("measured_nullity_g", "<i4"), ("nullity_matches", "i1"), ("product_error", "<f8")]
    c += [("certified", "i1"), ("certificate_method", "S32"), ("certificate_reason", "S160"),
          ("certificate_radius", "<f8"), ("certificate_lambda_min_lower", "<f8"),
          ("certificate_curvature_upper", "<f8"), ("certificate_loss_upper", "<f8"),
          ("certificate_reduction", "S64"), ("certificate_core_width", "<i4"),
          ("certificate_distance", "<f8"), ("certificate_jacobian_nullity", "<i4"),
          ("certificate_norm_ratio", "<f8"), ("certificate_runaway_units", "S64"),
          ("polish_steps", "<i4"), ("polish_distance", "<f8"), ("polish_grad_before", "<f8")]
    c += [(f"seconds_{t}", "<f8") for t in ("data", "init", "train", "spectrum", "analysis",
                                            "total")]
    if extra:
        c += [("closedness", "S16"), ("closedness_rule", "S64"), ("optimum", "S16")]
    return np.dtype(c)


SPEC = """study: {name: synthetic, seed: 1}
axes:
  architectures: [[2], [4]]
  activations: [tanh, relu]
  datasets: ["teacher:width=2,d=2,n=256", "linear:d=2,matrix=anti_identity"]
  sparsity: [dense, LU]
  optimizers: [{name: newton, type: ntr}, {name: lbfgs, type: lmvm}]
  weight_decay: [0, 0.001]
  replicates: 3
"""
LABELS = {"architectures": ["[2]", "[4]"], "activations": ["tanh", "relu"],
          "datasets": ["teacher:width=2,d=2,n=256", "linear:d=2,matrix=anti_identity"],
          "sparsity": ["dense", "LU"], "optimizers": ["newton", "lbfgs"],
          "inits": ["pytorch"], "weight_decay": ["0", "0.001"], "replicates": ["0", "1", "2"]}


def write(path: str, pending: int = 0, closedness: bool = False, seed: int = 0) -> None:
    """Write the synthetic study to `path` (every trial done except the last `pending`)."""
    rng = np.random.default_rng(seed)
    sizes = [len(LABELS[a]) for a in AXES]
    n = int(np.prod(sizes))
    dt = row_dtype(closedness)
    rows = np.zeros(n, dtype=dt)
    T = 16
    theta, hess, gn, traj = [], [], [], []
    for i in range(n):
        r = rows[i]
        coords = np.unravel_index(i, sizes)
        r["trial_id"] = i
        for a, c in zip(AXES, coords):
            r[f"axis_{a}"] = c
        width = [2, 4][coords[0]]
        linear = coords[2] == 1
        lu = coords[3] == 1
        wd = [0.0, 1e-3][coords[6]]
        P = width * 2 + width + width + 1
        r["seed"], r["data_seed"], r["P"], r["N"] = 1000 + i, 7, P, 256
        for v, cap, store in (("theta", P, theta), ("hessian", P, hess),
                              ("gauss_newton", P, gn), ("trajectory", T, traj)):
            r[f"{v}_offset"] = sum(len(x) for x in store) if v != "trajectory" else \
                sum(len(x) for x in traj)
            r[f"{v}_capacity"] = cap
            r[f"{v}_count"] = 0
        if i >= n - pending:
            for name in dt.names:
                if name in ("state",) or name.startswith("axis_") or name in (
                        "trial_id", "seed", "data_seed", "P", "N") or name.endswith(
                        ("_offset", "_capacity", "_count")):
                    continue
                kind = dt[name].kind
                r[name] = np.nan if kind == "f" else (b"" if kind == "S" else (
                    0 if kind == "u" else -1))
            r["state"] = 0
            theta.append(np.full(P, np.nan))
            hess.append(np.full(P, np.nan))
            gn.append(np.full(P, np.nan))
            traj.append(np.full((T, 5), np.nan))
            continue
        redundant = width == 4 and not linear
        diverge = linear and lu and wd == 0.0
        iters = np.unique(np.geomspace(1, 2000 if diverge else 200, T).astype(int))
        iters = np.concatenate([iters, np.arange(iters[-1] + 1, iters[-1] + 1 + T - len(iters))])
        loss = 0.5 * iters ** (-1.0 if diverge else -3.0) * rng.uniform(0.8, 1.2)
        pn = (3 + (np.sqrt(iters) if diverge else np.log1p(iters))) * rng.uniform(0.9, 1.1)
        t = np.column_stack([iters, loss, loss * 0.1, pn, np.full(T, np.nan)])
        lam = np.sort(np.abs(rng.normal(size=P)) * np.geomspace(1e-6, 10, P))
        nz = 4 if redundant else 0
        lam[:nz] = rng.normal(scale=1e-16, size=nz)
        lam.sort()
        g = lam.copy()
        status = "diverged" if diverge else ("degenerate_min" if redundant else "strict_min")
        if i % 17 == 5:
            status, lam[0] = "saddle", -1e-3
        r["state"] = 1
        r["status"] = status.encode()
        r["rank"] = i % 2
        r["host"] = b"node01"
        r["finished_at"] = 1.7e9 + i
        r["init_seed"] = 99 + i
        r["tao_type"] = [b"ntr", b"lmvm"][coords[4]]
        r["reason"] = b"CONVERGED_GATOL" if not diverge else b"DIVERGED_USER"
        r["reason_code"] = 3 if not diverge else -8
        r["converged"], r["diverged"], r["nonfinite"] = (not diverge), diverge, 0
        r["iterations"] = iters[-1]
        r["function_evals"] = r["gradient_evals"] = iters[-1] + 1
        r["hessian_evals"] = iters[-1] if coords[4] == 0 else 0
        r["loss"], r["grad_norm"], r["param_norm"] = loss[-1], loss[-1] * 0.1, pn[-1]
        r["initial_param_norm"] = pn[0]
        r["norm_growth_rate"] = 0.5 if diverge else 0.01
        r["local_rate"] = (b"quadratic" if coords[4] == 0 else b"superlinear") \
            if not redundant else b"linear"
        for s, ev in (("hessian", lam), ("gauss_newton", g)):
            r[f"{s}_complete"], r[f"{s}_method"] = 1, b"lapack"
            r[f"{s}_n_neg"] = int((ev < -1e-12).sum())
            r[f"{s}_n_zero"] = nz
            r[f"{s}_n_pos"] = P - nz - r[f"{s}_n_neg"]
            r[f"{s}_lambda_min"], r[f"{s}_lambda_max"] = ev[0], ev[-1]
            r[f"{s}_n_undecided"] = 0
            r[f"{s}_threshold"], r[f"{s}_scale"] = 1e-12, ev[-1]
            r[f"{s}_largest_zero"], r[f"{s}_smallest_nonzero"] = 1e-16, 1e-7
            r[f"{s}_certain"], r[f"{s}_converged"], r[f"{s}_iterations"] = 1, P, 1
            r[f"{s}_tolerance"], r[f"{s}_max_residual"] = 1e-12, 1e-14
        r["redundancy_applicable"] = 1
        r["redundant"] = redundant
        r["redundancy_distance"] = 1e-9 if redundant else rng.uniform(0.05, 1)
        r["redundancy_nearest"] = b"duplicate 1,3" if redundant else b""
        r["n_dead"], r["n_constant"] = 0, 0
        r["n_duplicate"], r["n_antipodal"] = int(redundant), 0
        r["predicted_nullity"] = 4 if redundant else 0
        r["predicted_nullity_h"] = 1 if redundant else 0
        r["measured_nullity"], r["measured_nullity_g"] = nz, nz
        r["nullity_matches"] = 1
        r["certified"] = int(status != "saddle")
        r["certificate_method"] = {"strict_min": b"krawczyk+cholesky",
                                   "degenerate_min": b"reduction+krawczyk+cholesky",
                                   "diverged": b"divergence_evidence"}.get(status, b"")
        r["certificate_reason"] = b"" if status != "saddle" else b"Krawczyk test failed"
        r["certificate_radius"] = 1e-12 if status in ("strict_min", "degenerate_min") else np.nan
        r["certificate_lambda_min_lower"] = 0.5 * lam[0] if status == "strict_min" else np.nan
        r["certificate_curvature_upper"] = np.nan
        r["certificate_loss_upper"] = loss[-1] * 1.01
        r["certificate_reduction"] = b"duplicate 1,3" if status == "degenerate_min" else b""
        r["certificate_core_width"] = -1
        r["certificate_distance"] = 1e-13 if status == "degenerate_min" else np.nan
        r["certificate_jacobian_nullity"] = nz if status == "degenerate_min" else -1
        r["certificate_norm_ratio"] = 30.0 if diverge else np.nan
        r["certificate_runaway_units"] = b"0,1" if diverge else b""
        r["polish_steps"], r["polish_distance"], r["polish_grad_before"] = 2, 1e-9, 1e-10
        r["product_error"] = 1.0 / iters[-1] if linear else np.nan
        secs = rng.uniform(0.001, 0.2, size=5)
        for k, name in enumerate(("data", "init", "train", "spectrum", "analysis")):
            r[f"seconds_{name}"] = secs[k]
        r["seconds_total"] = secs.sum()
        if closedness:
            r["closedness"] = b"not_closed" if lu else b"closed"
            r["closedness_rule"] = b"smt" if lu else b"dense"
            r["optimum"] = b"maybe_none" if lu and wd == 0 else b"exists"
        r["theta_count"], r["hessian_count"], r["gauss_newton_count"] = P, P, P
        r["trajectory_count"] = T
        theta.append(rng.normal(size=P) * pn[-1] / np.sqrt(P))
        hess.append(lam)
        gn.append(g)
        traj.append(t)
    with h5py.File(path, "w") as f:
        st = f.create_group("study")
        st.attrs["schema_version"] = np.int64(2)
        st.attrs["spec_hash"] = np.bytes_("0123456789abcdef")
        st.attrs["name"] = np.bytes_("synthetic")
        st.attrs["full_size"] = np.int64(n)
        st.attrs["shard"] = np.bytes_("0/1")
        st.attrs["rows"] = np.int64(n)
        st.attrs["complete"] = np.bytes_("yes")
        st.create_dataset("spec", data=np.bytes_(SPEC))
        ax = f.create_group("axes")
        for a in AXES:
            ax.create_dataset(a, data=np.array([s.encode() for s in LABELS[a]]))
        f.create_dataset("trials", data=rows)
        v = f.create_group("values")
        v.create_dataset("theta", data=np.concatenate(theta))
        v.create_dataset("hessian", data=np.concatenate(hess))
        v.create_dataset("gauss_newton", data=np.concatenate(gn))
        v.create_dataset("trajectory", data=np.concatenate(traj))
        g = f.create_group("provenance").create_group("run_0001")
        for k, val in (("nnscape_version", "0.1"), ("hosts", "node01"), ("ranks", "2"),
                       ("command_line", "nnscape run synthetic.yaml -o synthetic.h5"),
                       ("start_time", "2026-01-01T00:00:00Z"),
                       ("end_time", "2026-01-01T00:01:00Z"), ("ended", "complete")):
            g.attrs[k] = np.bytes_(val)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--pending", type=int, default=0, help="leave the last K trials pending")
    ap.add_argument("--closedness", action="store_true", help="add closedness columns")
    a = ap.parse_args()
    write(a.output, a.pending, a.closedness)


if __name__ == "__main__":
    main()
