"""Tables and figures of a study, from the DataFrame of :func:`analysis.load.load`.

Every table function takes the trials DataFrame and returns a DataFrame; every figure function
returns a matplotlib Figure or raises :class:`Skip` with the reason the data cannot support it
(a missing column, no trial of the needed kind). Nothing here reads files except through the
arguments given (spectra and trajectories are passed in, read by analysis.load).

The science (shared/papers.md):
- seed A (Benning & Dereich): on the efficient domain of analytic activations, converged minima
  are strict (λ_min(H) > 0); on the redundant domain they are degenerate, with a predicted
  nullity;
- seed B (Le, Riccietti & Gribonval): for a pattern whose linear product set is not closed (LU),
  an optimum may not exist: the loss falls while ‖θ‖ grows without bound; weight decay restores
  an optimum.
"""
from __future__ import annotations

import math
from typing import Dict, Tuple

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        f"analysis needs Debian's python3 with numpy, pandas and matplotlib ({exc}); run it with "
        "/usr/bin/python3 and install: apt-get install python3-numpy python3-pandas "
        "python3-matplotlib") from exc

from analysis.load import AXIS_COLUMNS

MINIMA = ("strict_min", "degenerate_min")
STATUS_ORDER = ("strict_min", "degenerate_min", "saddle", "not_converged", "diverged",
                "failed_numerics", "error", "pending", "unknown")
STATUS_COLORS = {"strict_min": "#1b7837", "degenerate_min": "#7fbf7b", "saddle": "#f1a340",
                 "not_converged": "#998ec3", "diverged": "#d6604d", "failed_numerics": "#762a83",
                 "error": "#000000", "pending": "#bbbbbb", "unknown": "#666666"}
# Not a minimum and not a saddle: the trial did not end at a converged critical point.
FAILURES = ("not_converged", "diverged", "failed_numerics", "error", "unknown")

ANALYTIC = ("tanh", "sigmoid", "softplus", "gelu", "silu", "sin")

# TAO types by what their local rate is at a non-degenerate minimum.
NEWTON = {"ntr", "nls", "ntl", "tron", "bnls", "bntr", "bntl", "bqnktr", "bqnkls", "bqnktl"}
QUASI_NEWTON = {"lmvm", "blmvm", "bqnls", "owlqn"}
FIRST_ORDER = {"cg", "bncg", "gd", "bmrm", "nm", "pounders", "brgn"}
RATES = ("quadratic", "superlinear", "linear", "sublinear", "unknown")


class Skip(Exception):
    """The data cannot support this figure; the message says why (shown in the report)."""


# -----------------------------------------------------------------------------------------------
# Helpers.

def _finished(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["state"] != "pending"]


def _need(df: pd.DataFrame, *columns: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise Skip(f"column(s) {', '.join(missing)} not in this results file")


def varying_axes(df: pd.DataFrame) -> list:
    """Return the axis columns that take more than one value (plus ``study`` for several)."""
    axes = [c for c in AXIS_COLUMNS if c in df and df[c].nunique(dropna=False) > 1]
    if "study" in df and df["study"].nunique() > 1:
        axes.insert(0, "study")
    return axes


def axis_label(value) -> str:
    """Return an axis value as the results file's /axes label writes it ("0", "0.001", "[4]")."""
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def _redundancy(df: pd.DataFrame) -> pd.Series:
    if "redundant" not in df:
        return pd.Series("unknown", index=df.index)
    r = df["redundant"]
    out = pd.Series("unknown", index=df.index, dtype=object)
    out[r.fillna(False).astype(bool)] = "redundant"
    out[(~r.fillna(True).astype(bool))] = "efficient"
    if "redundancy_applicable" in df:  # deeper networks: no analysis, whatever `redundant` says
        out[~df["redundancy_applicable"].fillna(False).astype(bool)] = "unknown"
    return out


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = pd.to_numeric(num, errors="coerce")
    den = pd.to_numeric(den, errors="coerce")
    return num / den.where(den > 0)


def _width_label(df: pd.DataFrame) -> pd.Series:
    return df["architecture"] if "architecture" in df else pd.Series("?", index=df.index)


def _tao_family(tao: str) -> str:
    t = str(tao).lower()
    if t in NEWTON:
        return "Newton"
    if t in QUASI_NEWTON:
        return "quasi-Newton"
    if t in FIRST_ORDER:
        return "first-order"
    return "other"


def predicted_rate(family: str, verdict: str) -> Tuple[str, ...]:
    """Return the local rates theory predicts for an optimizer family at a kind of minimum.

    Non-degenerate minimum: Newton quadratic, quasi-Newton superlinear, first-order linear.
    Degenerate (singular Hessian): Newton and quasi-Newton slow down to linear, first-order
    methods to linear or sublinear.
    """
    if verdict == "strict_min":
        return {"Newton": ("quadratic",), "quasi-Newton": ("superlinear", "quadratic"),
                "first-order": ("linear",)}.get(family, ())
    if verdict == "degenerate_min":
        return {"Newton": ("linear",), "quasi-Newton": ("linear", "sublinear"),
                "first-order": ("linear", "sublinear")}.get(family, ())
    return ()


# -----------------------------------------------------------------------------------------------
# Tables (the report writes each as CSV and JSON; tests recompute them from the HDF5 file).

def status_counts_by_axis(df: pd.DataFrame) -> pd.DataFrame:
    """Count trials by status for every value of every axis.

    Returns
    -------
    pandas.DataFrame
        Columns ``axis, value``, one column per status present (documented order first),
        ``total`` and ``certified`` (trials whose status is proven; see the README's
        "Verdicts"). The first row (axis ``all``) counts every trial. Every axis is listed, also
        those with a single value.
    """
    statuses = [s for s in STATUS_ORDER if (df["status"] == s).any()]
    statuses += sorted(set(df["status"]) - set(statuses))
    rows = []

    def add(axis, value, sub):
        counts = sub["status"].value_counts()
        row = {"axis": axis, "value": axis_label(value)}
        row.update({s: int(counts.get(s, 0)) for s in statuses})
        row["total"] = int(len(sub))
        row["certified"] = int(sub["certified"].fillna(False).astype(bool).sum()) \
            if "certified" in sub else 0
        rows.append(row)

    add("all", "all", df)
    axes = [c for c in AXIS_COLUMNS if c in df]
    if "study" in df and df["study"].nunique() > 1:
        axes.insert(0, "study")
    for axis in axes:
        for value, sub in df.groupby(axis, sort=False, dropna=False):
            add(axis, value, sub)
    return pd.DataFrame(rows, columns=["axis", "value", *statuses, "total", "certified"])


def strict_fraction_table(df: pd.DataFrame) -> pd.DataFrame:
    """Fraction of converged minima that are strict, by activation × architecture × domain.

    A converged minimum is a finished trial with status ``strict_min`` or ``degenerate_min``
    ``proven_strict`` and ``proven_degenerate`` count those whose verdict carries a certificate
    (``certified``: a ball-arithmetic proof, or for degenerate minima a proof for the reduced
    core); the others are unproven readings of the Hessian's counts. Domain: ``efficient`` /
    ``redundant`` from the redundancy analysis, ``unknown`` where it does not apply (more than
    one hidden layer).

    Returns
    -------
    pandas.DataFrame
        Columns ``activation, architecture, domain, minima, strict, degenerate, proven_strict,
        proven_degenerate, fraction_strict``.
    """
    _need(df, "activation", "architecture")
    m = _finished(df)
    m = m[m["status"].isin(MINIMA)].assign(domain=lambda d: _redundancy(d))
    cols = ["activation", "architecture", "domain", "minima", "strict", "degenerate",
            "proven_strict", "proven_degenerate", "fraction_strict"]
    if m.empty:
        return pd.DataFrame(columns=cols)
    proven = m["certified"].fillna(False).astype(bool) if "certified" in m else False
    m = m.assign(proven_strict=(m["status"] == "strict_min") & proven,
                 proven_degenerate=(m["status"] == "degenerate_min") & proven)
    g = m.groupby(["activation", "architecture", "domain"], sort=True)
    out = g.agg(minima=("status", "size"),
                strict=("status", lambda s: int((s == "strict_min").sum())),
                degenerate=("status", lambda s: int((s == "degenerate_min").sum())),
                proven_strict=("proven_strict", "sum"),
                proven_degenerate=("proven_degenerate", "sum")).reset_index()
    out[["proven_strict", "proven_degenerate"]] = out[["proven_strict", "proven_degenerate"]].astype(int)
    out["fraction_strict"] = out["strict"] / out["minima"]
    return out[cols]


def failure_reasons(df: pd.DataFrame) -> pd.DataFrame:
    """Count the trials that did not end at a converged critical point, by status and reason.

    Returns
    -------
    pandas.DataFrame
        Columns ``status, reason`` (TAO's converged reason), ``error`` (the trial's message,
        empty when none) and ``count``, largest count first. Statuses: not_converged,
        diverged, failed_numerics, error (and failed rows of any status).
    """
    f = _finished(df)
    f = f[f["status"].isin(FAILURES) | (f["state"] == "failed")]
    cols = ["status", "reason", "error", "count"]
    if f.empty:
        return pd.DataFrame(columns=cols)
    f = f.assign(reason=f["reason"] if "reason" in f else "",
                 error=f["error"] if "error" in f else "")
    out = f.groupby(["status", "reason", "error"], sort=True).size().reset_index(name="count")
    out = out.sort_values(["count", "status", "reason", "error"],
                          ascending=[False, True, True, True], kind="mergesort")
    return out.reset_index(drop=True)[cols]


def time_by_axis(df: pd.DataFrame) -> pd.DataFrame:
    """Wall time per finished trial (``seconds_total``) for every value of every axis.

    Returns
    -------
    pandas.DataFrame
        Columns ``axis, value, trials, total_seconds, mean_seconds, median_seconds,
        max_seconds``; first row axis ``all``. Trials without a finite time are left out.
    """
    _need(df, "seconds_total")
    f = _finished(df)
    f = f[np.isfinite(f["seconds_total"].astype(float))]
    rows = []

    def add(axis, value, s):
        s = s.astype(float).to_numpy()
        rows.append({"axis": axis, "value": axis_label(value), "trials": int(len(s)),
                     "total_seconds": float(s.sum()) if len(s) else 0.0,
                     "mean_seconds": float(s.mean()) if len(s) else math.nan,
                     "median_seconds": float(np.median(s)) if len(s) else math.nan,
                     "max_seconds": float(s.max()) if len(s) else math.nan})

    add("all", "all", f["seconds_total"])
    axes = [c for c in AXIS_COLUMNS if c in f]
    if "study" in f and f["study"].nunique() > 1:
        axes.insert(0, "study")
    for axis in axes:
        for value, sub in f.groupby(axis, sort=False, dropna=False):
            add(axis, value, sub["seconds_total"])
    return pd.DataFrame(rows, columns=["axis", "value", "trials", "total_seconds",
                                       "mean_seconds", "median_seconds", "max_seconds"])


def pattern_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per sparsity pattern and weight decay: the checker's verdict and the diverged fraction.

    Returns
    -------
    pandas.DataFrame
        Columns (``study`` when several) ``pattern, weight_decay, trials, diverged,
        fraction_diverged`` and, when the
        file has them, ``closedness``, ``closedness_rule``, ``optimum`` (the distinct values,
        joined by "/").
    """
    _need(df, "pattern", "weight_decay")
    f = _finished(df)
    if f.empty:
        raise Skip("no finished trial")
    keys = ["pattern", "weight_decay"]
    if "study" in f and f["study"].nunique() > 1:
        keys.insert(0, "study")
    g = f.groupby(keys, sort=True)
    out = g["status"].agg(trials="size",
                          diverged=lambda s: int((s == "diverged").sum())).reset_index()
    out["fraction_diverged"] = out["diverged"] / out["trials"]
    for c in ("closedness", "closedness_rule", "optimum"):
        if c in f:
            out[c] = [" / ".join(sorted({str(v) for v in sub[c] if str(v)}))
                      for _, sub in g]
    return out


def local_rate_table(df: pd.DataFrame) -> pd.DataFrame:
    """Observed local rate against the Hessian verdict and the optimizer family.

    Returns
    -------
    pandas.DataFrame
        Columns ``family, verdict, predicted`` and one count column per observed rate.
    """
    _need(df, "local_rate", "tao_type")
    f = _finished(df)
    f = f[f["status"].isin(MINIMA)]
    if f.empty:
        raise Skip("no converged minimum")
    f = f.assign(family=[_tao_family(t) for t in f["tao_type"]],
                 rate=f["local_rate"].replace("", "unknown"))
    rates = [r for r in RATES if (f["rate"] == r).any()] + sorted(set(f["rate"]) - set(RATES))
    rows = []
    for (fam, verdict), sub in f.groupby(["family", "status"], sort=True):
        row = {"family": fam, "verdict": verdict,
               "predicted": " or ".join(predicted_rate(fam, verdict)) or "?"}
        counts = sub["rate"].value_counts()
        row.update({r: int(counts.get(r, 0)) for r in rates})
        rows.append(row)
    return pd.DataFrame(rows, columns=["family", "verdict", "predicted", *rates])


# -----------------------------------------------------------------------------------------------
# Seed A figures.

def fig_strict_fraction(df: pd.DataFrame) -> plt.Figure:
    """Bar chart: fraction of converged minima that are strict, efficient vs redundant."""
    t = strict_fraction_table(df)
    if t.empty:
        raise Skip("no converged minimum (status strict_min or degenerate_min)")
    groups = t[["activation", "architecture"]].drop_duplicates().values.tolist()
    domains = [d for d in ("efficient", "redundant", "unknown") if (t["domain"] == d).any()]
    colors = {"efficient": "#2166ac", "redundant": "#b2182b", "unknown": "#999999"}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(groups) + 2.5), 4.2))
    w = 0.8 / len(domains)
    for k, d in enumerate(domains):
        xs, ys, ns = [], [], []
        for i, (act, arch) in enumerate(groups):
            hit = t[(t.activation == act) & (t.architecture == arch) & (t.domain == d)]
            if len(hit):
                xs.append(i + (k - (len(domains) - 1) / 2) * w)
                ys.append(float(hit.fraction_strict.iloc[0]))
                ns.append(int(hit.minima.iloc[0]))
        bars = ax.bar(xs, ys, width=w, color=colors[d], label=d)
        for b, n in zip(bars, ns):
            ax.annotate(f"n={n}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([f"{a}\n{arch}" + ("" if a in ANALYTIC else "\n(control)")
                        for a, arch in groups], fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("fraction of minima that are strict")
    ax.set_title("Theory (analytic σ): 1 on the efficient domain, 0 on the redundant one",
                 fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def fig_lambda_min(df: pd.DataFrame) -> plt.Figure:
    """Histograms of λ_min/λ_max of H and of G at converged points, efficient vs redundant."""
    f = _finished(df)
    f = f[f["status"].isin(MINIMA + ("saddle",))].assign(domain=lambda d: _redundancy(d))
    if f.empty:
        raise Skip("no converged point (minimum or saddle)")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    plotted = False
    for ax, (m, label) in zip(axes, (("hessian", "H"), ("gauss_newton", "G"))):
        if f"{m}_lambda_min" not in f:
            ax.text(0.5, 0.5, f"no {m}_lambda_min column", ha="center", transform=ax.transAxes)
            continue
        r = _ratio(f[f"{m}_lambda_min"], f[f"{m}_lambda_max"])
        ok = np.isfinite(r) & (r != 0)
        if not ok.any():
            ax.text(0.5, 0.5, "no finite spectrum", ha="center", transform=ax.transAxes)
            continue
        lr = np.log10(np.abs(r[ok].astype(float)))
        bins = np.linspace(min(-17.0, float(lr.min())), max(0.0, float(lr.max())), 35)
        for d, c in (("efficient", "#2166ac"), ("redundant", "#b2182b"), ("unknown", "#999999")):
            for sign, hatch in ((1, None), (-1, "//")):
                sel = (f.loc[ok.index[ok], "domain"] == d) & (np.sign(r[ok]) == sign)
                if sel.any():
                    ax.hist(lr[sel.to_numpy()], bins=bins, color=c, alpha=0.55, hatch=hatch,
                            edgecolor=c, label=f"{d}, λ_min {'>' if sign > 0 else '<'} 0")
                    plotted = True
        ax.set_xlabel(f"log10 |λ_min({label})| / λ_max({label})")
        ax.set_title(f"λ_min of {label}" + (" (Hessian)" if label == "H" else " (Gauss–Newton)"),
                     fontsize=9)
    if not plotted:
        plt.close(fig)
        raise Skip("no converged point has a finite spectrum")
    axes[0].set_ylabel("trials")
    axes[0].legend(fontsize=7)
    fig.suptitle("Strict minima sit decades above round-off (≈1e-15); degenerate ones at it",
                 fontsize=9)
    fig.tight_layout()
    return fig


def fig_nullity(df: pd.DataFrame) -> plt.Figure:
    """Measured vs predicted nullity of H and of G, with the diagonal."""
    _need(df, "predicted_nullity", "measured_nullity")
    f = _finished(df)
    f = f[f["status"].isin(MINIMA + ("saddle",))]
    panels = (("measured_nullity", "H"), ("measured_nullity_g", "G"))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    any_point = False
    for ax, (col, label) in zip(axes, panels):
        if col not in f:
            ax.text(0.5, 0.5, f"no {col} column", ha="center", transform=ax.transAxes)
            continue
        sub = f[f["predicted_nullity"].notna() & f[col].notna()]
        if sub.empty:
            ax.text(0.5, 0.5, "no trial with both counts", ha="center", transform=ax.transAxes)
            continue
        any_point = True
        x = sub["predicted_nullity"].astype(int)
        y = sub[col].astype(int)
        match = sub["nullity_matches"].fillna(False).astype(bool) if "nullity_matches" in sub \
            else pd.Series(False, index=sub.index)
        counts = pd.DataFrame({"x": x, "y": y, "m": match}).value_counts().reset_index(name="n")
        for m, color, lab in ((True, "#1b7837", "matches the applicable prediction"),
                              (False, "#d6604d", "does not match")):
            c = counts[counts["m"] == m]
            if len(c):
                ax.scatter(c["x"], c["y"], s=30 + 12 * np.sqrt(c["n"]), color=color, alpha=0.7,
                           label=lab, edgecolor="k", linewidth=0.4)
                for _, r in c.iterrows():
                    ax.annotate(str(int(r["n"])), (r["x"], r["y"]), fontsize=7,
                                xytext=(5, 4), textcoords="offset points")
        top = max(int(x.max()), int(y.max()), 1) + 1
        ax.plot([0, top], [0, top], "k--", lw=0.8, label="measured = predicted")
        ax.set_xlim(-0.5, top + 0.5)
        ax.set_ylim(-0.5, top + 0.5)
        ax.set_xlabel("predicted nullity (full count, zero-loss fit)")
        ax.set_ylabel(f"measured nullity of {label} (zero eigenvalues)")
        ax.set_title(f"{label}: " + ("below the diagonal expected with a residual (splitting "
                                     "directions curve)" if label == "H" else
                                     "theory: on the diagonal when N·m ≫ P"), fontsize=8)
        ax.legend(fontsize=7, loc="upper left")
    if not any_point:
        plt.close(fig)
        raise Skip("no converged trial has both a predicted and a measured nullity")
    fig.tight_layout()
    return fig


def fig_lambda_vs_distance(df: pd.DataFrame) -> plt.Figure:
    """λ_min(H)/λ_max(H) against the distance to the redundant set (log-log)."""
    _need(df, "redundancy_distance", "hessian_lambda_min", "hessian_lambda_max")
    f = _finished(df)
    f = f[f["status"].isin(MINIMA + ("saddle",))]
    r = _ratio(f["hessian_lambda_min"], f["hessian_lambda_max"])
    d = pd.to_numeric(f["redundancy_distance"], errors="coerce")
    ok = np.isfinite(r) & (r != 0) & np.isfinite(d) & (d > 0)
    if not ok.any():
        raise Skip("no converged trial with a positive redundancy distance and a finite "
                   "Hessian spectrum")
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    acts = sorted(f.loc[ok, "activation"].unique()) if "activation" in f else ["?"]
    cmap = plt.get_cmap("tab10")
    for i, a in enumerate(acts):
        sel = ok & ((f["activation"] == a) if "activation" in f else True)
        pos, neg = sel & (r > 0), sel & (r < 0)
        ax.scatter(d[pos], r[pos], color=cmap(i % 10), s=18, label=f"{a}, λ_min > 0")
        if neg.any():
            ax.scatter(d[neg], -r[neg], color=cmap(i % 10), marker="x", s=22,
                       label=f"{a}, λ_min < 0 (|·| shown)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distance to the redundant set (redundancy_distance)")
    ax.set_ylabel("|λ_min(H)| / λ_max(H)")
    ax.set_title("Curvature vanishes as the end point approaches the redundant set", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def choose_spectrum_trials(df: pd.DataFrame, k: int = 4) -> pd.DataFrame:
    """Pick up to k finished trials that show the kinds of end point (one per kind).

    Order: a strict efficient minimum, a degenerate redundant minimum, a saddle, a degenerate
    minimum off the redundant set (if any); ties broken by the largest P, then the smallest id.
    """
    f = _finished(df)
    f = f[(f["hessian_count"].fillna(0) > 0)] if "hessian_count" in f else f.iloc[0:0]
    f = f.assign(domain=_redundancy(f)) if len(f) else f
    picks = []
    for status, domain in (("strict_min", "efficient"), ("degenerate_min", "redundant"),
                           ("saddle", None), ("degenerate_min", "efficient"),
                           ("strict_min", None), ("degenerate_min", None)):
        c = f[f["status"] == status]
        if domain:
            c = c[c["domain"] == domain]
        c = c[~c.index.isin(picks)]
        if len(c):
            c = c.sort_values(["P", "trial_id"], ascending=[False, True])
            picks.append(c.index[0])
        if len(picks) >= k:
            break
    return f.loc[picks]


def fig_spectra(chosen: pd.DataFrame, spectra_h: Dict, spectra_g: Dict) -> plt.Figure:
    """Sorted |eigenvalues| / λ_max of H and G for the chosen trials, zeros threshold marked."""
    if chosen.empty:
        raise Skip("no finished trial with a stored spectrum")
    n = len(chosen)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 0.5, 3.8), squeeze=False)
    for ax, (_, t) in zip(axes[0], chosen.iterrows()):
        key = (t["file"], int(t["trial_id"]))
        for ev, mk, lab in ((spectra_h.get(key), "o", "H"), (spectra_g.get(key), "x", "G")):
            if ev is None or len(ev) == 0 or not np.isfinite(ev).any():
                continue
            ev = np.sort(ev[np.isfinite(ev)])
            scale = np.max(np.abs(ev))
            rel = np.abs(ev) / scale
            rel[rel == 0] = 1e-18
            idx = np.arange(1, len(ev) + 1)
            ax.semilogy(idx[ev >= 0], rel[ev >= 0], mk, ms=4, label=f"{lab}, λ ≥ 0",
                        mfc="none" if mk == "o" else None)
            if (ev < 0).any():
                ax.semilogy(idx[ev < 0], rel[ev < 0], mk, ms=5, color="red",
                            label=f"{lab}, λ < 0")
        thr, sc = t.get("hessian_threshold"), t.get("hessian_scale")
        if thr is not None and sc is not None and np.isfinite(thr) and np.isfinite(sc) and sc > 0 \
                and thr > 0:
            ax.axhline(thr / sc, color="gray", ls="--", lw=0.8, label="zero bound (H)")
        nz = t.get("hessian_n_zero")
        ax.set_title(f"trial {int(t['trial_id'])}: {t.get('activation', '')} "
                     f"{t.get('architecture', '')}\n{t['status']}, "
                     f"{'?' if pd.isna(nz) else int(nz)} zero(s), P={int(t['P'])}", fontsize=8)
        ax.set_xlabel("index (ascending λ)")
        ax.set_ylim(1e-18, 2)
    axes[0][0].set_ylabel("|λ| / max |λ|")
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    return fig


def fig_local_rate(df: pd.DataFrame) -> plt.Figure:
    """Counts of observed local rates per optimizer family and Hessian verdict.

    Predicted cells (predicted_rate) are outlined: theory says the counts should sit there.
    """
    t = local_rate_table(df)
    rates = [c for c in t.columns if c not in ("family", "verdict", "predicted")]
    m = t[rates].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.3 * len(rates) + 3.5, 0.55 * len(t) + 1.6))
    share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for i, (_, row) in enumerate(t.iterrows()):
        pred = predicted_rate(row["family"], row["verdict"])
        for j, r in enumerate(rates):
            ax.text(j, i, str(int(row[r])), ha="center", va="center", fontsize=9,
                    color="white" if share[i, j] > 0.5 else "black")
            if r in pred:
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2,
                                           edgecolor="#d6604d"))
    ax.set_xticks(range(len(rates)))
    ax.set_xticklabels(rates, fontsize=8)
    ax.set_yticks(range(len(t)))
    ax.set_yticklabels([f"{a} at {b}" for a, b in zip(t["family"], t["verdict"])], fontsize=8)
    ax.set_xlabel("observed local rate (last gradient norms)")
    ax.set_title("Local convergence rate vs the rate the Hessian predicts (outlined)", fontsize=9)
    fig.tight_layout()
    return fig


# -----------------------------------------------------------------------------------------------
# Seed B figures.

def fig_pattern_divergence(df: pd.DataFrame) -> plt.Figure:
    """Per pattern and weight decay: fraction of diverged trials, with the checker's verdict."""
    _need(df, "pattern")
    if df["pattern"].nunique() < 2 and "closedness" not in df:
        raise Skip("one sparsity pattern only and no closedness verdict: nothing to compare")
    t = pattern_table(df)
    labels = [f"{p}\nwd={axis_label(w)}" for p, w in zip(t["pattern"], t["weight_decay"])]
    if "study" in t:
        labels = [f"{s}\n{lab}" for s, lab in zip(t["study"], labels)]
    fig, ax = plt.subplots(figsize=(max(5.0, 1.1 * len(t) + 2), 4.0))
    colors = ["#d6604d" if w == 0 else "#4393c3" for w in t["weight_decay"]]
    bars = ax.bar(range(len(t)), t["fraction_diverged"], color=colors)
    for i, (b, (_, r)) in enumerate(zip(bars, t.iterrows())):
        verdict = r.get("closedness", "") if "closedness" in t else "verdict n/a"
        ax.annotate(f"{r['diverged']}/{r['trials']}\n{verdict or '—'}",
                    (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                    fontsize=7)
    ax.set_xticks(range(len(t)))
    ax.set_xticklabels(labels, fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_ylabel("fraction of trials diverged")
    ax.set_title("Not closed and no weight decay → no optimum → ‖θ‖ → ∞\n"
                 "(labels: diverged/trials, the checker's verdict)", fontsize=8)
    fig.tight_layout()
    return fig


def _band(traj: pd.DataFrame, column: str, grid: np.ndarray):
    """Geometric mean and ±1 sd (of log10) over trials of `column` at iterations `grid`."""
    curves = []
    for _, t in traj.groupby(["file", "trial_id"]):
        x = np.log10(t["iteration"].to_numpy(float) + 1)
        y = t[column].to_numpy(float)
        ok = np.isfinite(y) & (y > 0)
        if ok.sum() < 2:
            continue
        yi = np.interp(np.log10(grid + 1), x[ok], np.log10(y[ok]), left=np.nan, right=np.nan)
        curves.append(yi)
    if not curves:
        return None
    c = np.vstack(curves)
    with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("ignore", RuntimeWarning)
        mean, sd = np.nanmean(c, axis=0), np.nanstd(c, axis=0)
    return 10 ** mean, 10 ** (mean - sd), 10 ** (mean + sd), len(curves)


def fig_linear_trajectories(df: pd.DataFrame, traj: pd.DataFrame) -> plt.Figure:
    """Loss, ‖W_L···W_1 − A‖/‖A‖ and ‖θ‖ over iterations on linear data, by pattern and decay.

    Mean (geometric) ± one standard deviation of log10 over seeds, as in the paper's figure;
    solid lines without weight decay, dashed with.
    """
    _need(df, "dataset", "pattern", "weight_decay")
    lin = _finished(df)
    lin = lin[lin["dataset"].astype(str).str.startswith("linear")]
    if lin.empty:
        raise Skip("no finished trial on linear data (datasets 'linear:...')")
    keys = lin[["file", "trial_id"]].apply(tuple, axis=1)
    tr = traj[traj[["file", "trial_id"]].apply(tuple, axis=1).isin(set(keys))] if len(traj) \
        else traj
    if tr.empty:
        raise Skip("the linear-data trials have no stored trajectory")
    tr = tr.merge(lin[["file", "trial_id", "pattern", "weight_decay", "optimizer", "dataset"]],
                  on=["file", "trial_id"])
    optimizers = sorted(tr["optimizer"].unique())[:4]
    fig, axes = plt.subplots(len(optimizers), 3, figsize=(13, 3.4 * len(optimizers)),
                             squeeze=False)
    grid = np.unique(np.round(np.geomspace(1, max(2, tr["iteration"].max() + 1), 80)) - 1)
    cmap = plt.get_cmap("tab10")
    patterns = sorted(tr["pattern"].unique())
    true_loss_recorded = np.isfinite(tr["true_loss"].astype(float)).any()
    for row, opt in zip(axes, optimizers):
        sub = tr[tr["optimizer"] == opt]
        for (pat, wd), g in sub.groupby(["pattern", "weight_decay"]):
            color = cmap(patterns.index(pat) % 10)
            ls = "-" if wd == 0 else "--"
            for ax, col in zip(row, ("loss", "true_loss", "param_norm")):
                b = _band(g, col, grid)
                if b is None:
                    continue
                mean, lo, hi, n = b
                ax.plot(grid + 1, mean, ls=ls, color=color, label=f"{pat}, wd={wd:g} (n={n})")
                ax.fill_between(grid + 1, lo, hi, color=color, alpha=0.15)
            if not true_loss_recorded:
                ends = lin[(lin.optimizer == opt) & (lin.pattern == pat) & (lin.weight_decay == wd)]
                if "product_error" in ends:
                    ok = np.isfinite(ends["product_error"].astype(float))
                    row[1].scatter(ends.loc[ok, "iterations"].astype(float) + 1,
                                   ends.loc[ok, "product_error"].astype(float), color=color,
                                   marker="o" if wd == 0 else "s", s=18,
                                   label=f"{pat}, wd={wd:g}: final")
        for ax, title in zip(row, ("loss", "‖W_L···W_1 − A‖ / ‖A‖", "‖θ‖")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("iteration + 1")
            ax.set_title(f"{opt}: {title}", fontsize=9)
        if not true_loss_recorded:
            row[1].text(0.02, 0.98, "per-iteration product error not recorded;\n"
                        "points: final product_error per trial", transform=row[1].transAxes,
                        fontsize=7, va="top")
        row[0].legend(fontsize=7)
        if row[1].get_legend_handles_labels()[0]:
            row[1].legend(fontsize=6)
    fig.suptitle("Linear target A: the loss falls in every case; without weight decay on a "
                 "non-closed pattern ‖θ‖ keeps growing (no optimum)", fontsize=9)
    fig.tight_layout()
    return fig


# -----------------------------------------------------------------------------------------------
# Run health.

def fig_status_counts(df: pd.DataFrame) -> plt.Figure:
    """Stacked bars of trial statuses for every axis that varies (or overall)."""
    axes_ = varying_axes(df)[:6] or [None]
    statuses = [s for s in STATUS_ORDER if (df["status"] == s).any()]
    statuses += sorted(set(df["status"]) - set(statuses))
    ncol = min(3, len(axes_))
    nrow = math.ceil(len(axes_) / ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(4.4 * ncol + 0.5, 3.4 * nrow), squeeze=False)
    for ax, axis in zip(axs.flat, axes_):
        if axis is None:
            groups = [("all trials", df)]
        else:
            groups = [(axis_label(v), sub) for v, sub in df.groupby(axis, sort=False)]
        bottom = np.zeros(len(groups))
        for s in statuses:
            h = np.array([(sub["status"] == s).sum() for _, sub in groups], dtype=float)
            ax.bar(range(len(groups)), h, bottom=bottom, label=s,
                   color=STATUS_COLORS.get(s, "#444444"))
            bottom += h
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([g[:18] for g, _ in groups], rotation=30, ha="right", fontsize=7)
        ax.set_title(axis or "status of every trial", fontsize=9)
        ax.set_ylabel("trials")
    for ax in list(axs.flat)[len(axes_):]:
        ax.axis("off")
    axs.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_failure_reasons(df: pd.DataFrame) -> plt.Figure:
    """Horizontal bars: trials that did not end at a converged critical point, by reason."""
    t = failure_reasons(df)
    if t.empty:
        raise Skip("every finished trial ended at a minimum or saddle: no failures")
    g = t.groupby(["status", "reason"], sort=False)["count"].sum().reset_index()
    labels = [f"{s}: {r or '(no reason)'}" for s, r in zip(g["status"], g["reason"])]
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(g) + 1.4))
    ax.barh(range(len(g)), g["count"],
            color=[STATUS_COLORS.get(s, "#444444") for s in g["status"]])
    ax.set_yticks(range(len(g)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("trials")
    ax.set_title("Trials without a converged critical point, by status and TAO reason",
                 fontsize=9)
    fig.tight_layout()
    return fig


def fig_time_by_axis(df: pd.DataFrame) -> plt.Figure:
    """Box plots of seconds per trial for every varying axis (or overall)."""
    _need(df, "seconds_total")
    f = _finished(df)
    f = f[np.isfinite(f["seconds_total"].astype(float))]
    if f.empty:
        raise Skip("no finished trial with a recorded time")
    axes_ = varying_axes(f)[:6] or [None]
    ncol = min(3, len(axes_))
    nrow = math.ceil(len(axes_) / ncol)
    fig, axs = plt.subplots(nrow, ncol, figsize=(4.4 * ncol + 0.5, 3.4 * nrow), squeeze=False)
    for ax, axis in zip(axs.flat, axes_):
        groups = [("all", f)] if axis is None else [(axis_label(v), s) for v, s in
                                                    f.groupby(axis, sort=False)]
        ax.boxplot([s["seconds_total"].astype(float).to_numpy() for _, s in groups])
        ax.set_xticks(range(1, len(groups) + 1))
        ax.set_xticklabels([g[:18] for g, _ in groups], rotation=30, ha="right", fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("seconds per trial")
        ax.set_title(axis or "all trials", fontsize=9)
    for ax in list(axs.flat)[len(axes_):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


__all__ = [n for n in dir() if n.startswith(("fig_", "status_", "strict_", "failure_", "time_",
                                              "pattern_", "local_", "choose_"))] + ["Skip"]
