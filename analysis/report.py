"""Write an HTML report of one study: figures, tables, the study spec and provenance.

Usage::

    /usr/bin/python3 -m analysis.report results.h5 [more.h5 ...] -o report/
    /usr/bin/python3 analysis/report.py results.h5 -o report/      # same, from any directory

Writes into the output directory:
  index.html            the report (no scripts, no network: opens from the file system)
  <figure>.png/.svg     every figure the data supports, referenced relatively
  tables/<table>.csv    every table at full precision (floats round-trip), and tables.json
  report.json           what was made, what was skipped and why

Several files are read as one study (shards) or side by side (several studies). A file still
being written, or left by a killed run, is reported with its pending trials counted. A path
that is not a readable nnscape results file stops with ``report: error: ...`` and exit status 1.
"""
from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the package importable
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = _root  # the analysis/ folder itself must not shadow module names
    else:
        sys.path.insert(0, _root)

import argparse
import datetime
import html
import json
import math
import traceback

try:
    import numpy as np
    import pandas as pd

    from analysis import figures as F
    from analysis import load as L
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"report: error: {exc}", file=sys.stderr)
    sys.exit(1)

CSS = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1250px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.4em 0 1em 0; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; vertical-align: top; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
figure { margin: 0.8em 0 1.4em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #444; max-width: 1000px; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; font-size: 0.8em; }
.note { color: #8a5a00; } .err { color: #b00; } .small { font-size: 0.85em; color: #555; }
"""


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if v is pd.NA or v is None:
        return None
    try:
        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v if isinstance(v, (int, str)) else str(v)


def _table_html(t: pd.DataFrame) -> str:
    if t.empty:
        return "<p class='small'>(no rows)</p>"

    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if not math.isfinite(v) else (f"{v:.4g}")
        if v is pd.NA or v is None:
            return ""
        return html.escape(str(v))

    left = [not pd.api.types.is_numeric_dtype(t[c]) for c in t.columns]
    out = ["<table><tr>"]
    out += [f"<th class='{'l' if l else ''}'>{html.escape(str(c))}</th>"
            for c, l in zip(t.columns, left)]
    out.append("</tr>")
    for row in t.itertuples(index=False):
        out.append("<tr>" + "".join(f"<td class='{'l' if l else ''}'>{cell(v)}</td>"
                                    for v, l in zip(row, left)) + "</tr>")
    out.append("</table>")
    return "".join(out)


class Report:
    """Collects figures, tables and notes, then writes index.html and its files."""

    def __init__(self, out_dir: str):
        self.out = out_dir
        os.makedirs(os.path.join(out_dir, "tables"), exist_ok=True)
        self.parts = []          # html fragments
        self.tables = {}         # name → DataFrame
        self.made, self.skipped, self.errors = [], [], []

    def html(self, fragment: str) -> None:
        self.parts.append(fragment)

    def figure(self, name: str, caption: str, make) -> None:
        """Draw `make()` into name.png and name.svg, or note why it was skipped."""
        import matplotlib.pyplot as plt
        try:
            fig = make()
        except F.Skip as why:
            self.skipped.append({"figure": name, "reason": str(why)})
            self.html(f"<p class='note'>Figure <b>{html.escape(name)}</b> skipped: "
                      f"{html.escape(str(why))}.</p>")
            return
        except Exception as exc:  # one broken figure must not cost the whole report
            self.errors.append({"figure": name, "error": f"{type(exc).__name__}: {exc}",
                                "traceback": traceback.format_exc()})
            print(f"report: warning: figure {name} failed: {type(exc).__name__}: {exc}",
                  file=sys.stderr)
            self.html(f"<p class='err'>Figure <b>{html.escape(name)}</b> failed: "
                      f"{html.escape(type(exc).__name__ + ': ' + str(exc))}</p>")
            return
        fig.savefig(os.path.join(self.out, f"{name}.png"), dpi=100)
        fig.savefig(os.path.join(self.out, f"{name}.svg"))
        plt.close(fig)
        self.made.append(name)
        self.html(f"<figure><img src='{name}.png' alt='{html.escape(caption, quote=True)}'>"
                  f"<figcaption>{html.escape(caption)} "
                  f"(<a href='{name}.svg'>SVG</a>)</figcaption></figure>")

    def table(self, name: str, title: str, make, caption: str = "") -> None:
        """Add the table `make()` returns (also as tables/name.csv), or note the skip."""
        try:
            t = make()
        except F.Skip as why:
            self.skipped.append({"table": name, "reason": str(why)})
            self.html(f"<p class='note'>Table <b>{html.escape(name)}</b> skipped: "
                      f"{html.escape(str(why))}.</p>")
            return
        self.tables[name] = t
        t.to_csv(os.path.join(self.out, "tables", f"{name}.csv"), index=False)
        self.html(f"<h3 id='table-{name}'>{html.escape(title)}</h3>"
                  + (f"<p class='small'>{html.escape(caption)}</p>" if caption else "")
                  + _table_html(t))

    def write(self, title: str, summary: dict) -> str:
        with open(os.path.join(self.out, "tables.json"), "w") as fh:
            json.dump({n: [{k: _jsonable(v) for k, v in r.items()}
                           for r in t.to_dict(orient="records")]
                       for n, t in self.tables.items()}, fh, indent=1, allow_nan=False)
        with open(os.path.join(self.out, "report.json"), "w") as fh:
            json.dump({**summary, "figures": self.made, "skipped": self.skipped,
                       "errors": self.errors, "tables": sorted(self.tables)}, fh, indent=1,
                      default=_jsonable)
        page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
                + "\n".join(self.parts) + "</body></html>")
        path = os.path.join(self.out, "index.html")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(page)
        return path


def build(paths, out_dir: str) -> dict:
    """Write the report of the results files `paths` into `out_dir`; return its summary.

    Raises
    ------
    analysis.load.ResultsFileError
        When a path is not a readable nnscape results file.
    """
    paths = [os.fspath(p) for p in paths]
    df = L.load(paths)
    infos = [L.study_info(p) for p in paths]
    specs = {}
    for p, info in zip(paths, infos):
        specs.setdefault(info.get("spec_hash", "?"), (info.get("name", "?"), L.study_spec(p)))
    prov = L.provenance(paths)

    names = sorted({str(i.get("name", "?")) for i in infos})
    title = f"nnscape report: {', '.join(names)}"
    r = Report(out_dir)
    states = df["state"].value_counts()
    n_pending = int(states.get("pending", 0))
    summary = {"title": title, "files": paths, "trials": int(len(df)),
               "done": int(states.get("done", 0)), "failed": int(states.get("failed", 0)),
               "pending": n_pending, "duplicates_dropped": int(df.attrs["duplicates_dropped"]),
               "generated": datetime.datetime.now(datetime.timezone.utc).strftime(
                   "%Y-%m-%dT%H:%M:%SZ")}

    # 0. Header.
    r.html(f"<h1>{html.escape(title)}</h1>")
    rows = "".join(
        f"<tr><td class='l'>{html.escape(p)}</td><td class='l'>{html.escape(str(i.get('name')))}"
        f"</td><td class='l'>{html.escape(str(i.get('spec_hash')))}</td>"
        f"<td>{html.escape(str(i.get('shard')))}</td><td>{html.escape(str(i.get('rows')))}</td>"
        f"<td>{html.escape(str(i.get('full_size')))}</td></tr>" for p, i in zip(paths, infos))
    r.html("<table><tr><th class='l'>file</th><th class='l'>study</th><th class='l'>spec hash"
           "</th><th>shard</th><th>rows</th><th>grid size</th></tr>" + rows + "</table>")
    r.html(f"<p>{summary['trials']} trials: {summary['done']} done, {summary['failed']} failed, "
           f"{n_pending} pending. Generated {summary['generated']}.</p>")
    if n_pending:
        r.html(f"<p class='note'>This study is incomplete: {n_pending} trial(s) pending (the run "
               "is still going or was stopped; running the same command again resumes it). "
               "Pending trials are counted in the status tables and left out of every "
               "figure.</p>")
    if summary["duplicates_dropped"]:
        r.html(f"<p class='note'>{summary['duplicates_dropped']} trial(s) appeared in more than "
               "one file; the finished copy was kept.</p>")
    r.html("<p class='small'>Sections: <a href='#seed-a'>seed A</a> · <a href='#seed-b'>seed B"
           "</a> · <a href='#health'>run health</a> · <a href='#tables'>tables</a> · "
           "<a href='#spec'>spec</a> · <a href='#provenance'>provenance</a></p>")

    # 1. Seed A.
    r.html("<h2 id='seed-a'>Seed A: strict minima on the efficient domain</h2>"
           "<p class='small'>Benning &amp; Dereich: for analytic activations (tanh, sigmoid, "
           "softplus, GELU, SiLU, sin) every minimum on the efficient domain is strict (positive "
           "definite Hessian); minima on the redundant domain are degenerate with a predictable "
           "nullity. Identity and ReLU are controls outside the theorem.</p>")
    r.figure("strict_fraction",
             "Fraction of converged minima that are strict (no Hessian eigenvalue within the "
             "trial's error bound of zero; the strict_fraction table says how many verdicts are "
             "proven by a certificate), by activation × architecture, efficient vs redundant; "
             "n = number of minima.", lambda: F.fig_strict_fraction(df))
    r.figure("lambda_min",
             "Distribution of λ_min/λ_max of the Hessian H and of the Gauss–Newton matrix G at "
             "converged points (hatched: negative λ_min).", lambda: F.fig_lambda_min(df))
    r.figure("nullity",
             "Measured number of zero eigenvalues against the predicted nullity (dashed: "
             "diagonal). Colour: the trial's own check against the prediction that applies "
             "(full count at zero loss, fibre count with a residual).",
             lambda: F.fig_nullity(df))
    r.figure("lambda_vs_distance",
             "λ_min(H)/λ_max(H) against the distance to the redundant set (log-log).",
             lambda: F.fig_lambda_vs_distance(df))
    chosen = F.choose_spectrum_trials(df) if "hessian_count" in df else df.iloc[0:0]
    sh = L.spectra(chosen, "hessian") if len(chosen) else {}
    sg = L.spectra(chosen, "gauss_newton") if len(chosen) and "gauss_newton_count" in df else {}
    r.figure("spectra",
             "Spectra of chosen trials (one per kind of end point): |λ|/max|λ| of H (circles) "
             "and G (crosses), negative eigenvalues in red, the H zero bound dashed.",
             lambda: F.fig_spectra(chosen, sh, sg))
    r.figure("local_rate",
             "Observed local convergence rate (from the last gradient norms) by optimizer family "
             "and Hessian verdict; outlined: the rate the Hessian predicts (Newton quadratic, "
             "quasi-Newton superlinear, first order linear at a strict minimum; linear or slower "
             "at a degenerate one).", lambda: F.fig_local_rate(df))

    # 2. Seed B.
    r.html("<h2 id='seed-b'>Seed B: existence of an optimum for sparse ReLU networks</h2>"
           "<p class='small'>Le, Riccietti &amp; Gribonval: when the pattern's set of realizable "
           "functions is not closed (e.g. LU), some targets have no optimum: the loss tends to "
           "its infimum while ‖θ‖ → ∞. Weight decay restores an optimum.</p>")
    if "closedness" not in df:
        r.html("<p class='note'>The results file has no <code>closedness</code> column "
               "(checker verdicts): the verdicts are left out.</p>")
    r.figure("pattern_divergence",
             "Per sparsity pattern and weight decay: fraction of trials that diverged, with "
             "diverged/trials and the closedness checker's verdict.",
             lambda: F.fig_pattern_divergence(df))
    lin = df[(df["state"] != "pending")
             & df.get("dataset", pd.Series("", index=df.index)).astype(str).str.startswith(
                 "linear")]
    traj = L.trajectories(lin) if len(lin) else pd.DataFrame(
        columns=["file", "trial_id", "iteration", "loss", "grad_norm", "param_norm",
                 "true_loss"])
    r.figure("linear_trajectories",
             "Linear targets: loss, ‖W_L···W_1 − A‖/‖A‖ and ‖θ‖ over iterations (geometric mean "
             "± one standard deviation over seeds); solid: no weight decay, dashed: with.",
             lambda: F.fig_linear_trajectories(df, traj))

    # 3. Run health.
    r.html("<h2 id='health'>Run health</h2>")
    r.figure("status_counts", "Trials by status for every axis that varies.",
             lambda: F.fig_status_counts(df))
    r.figure("failure_reasons",
             "Trials that did not end at a converged critical point, by status and TAO reason.",
             lambda: F.fig_failure_reasons(df))
    r.figure("time_by_axis", "Wall time per trial (seconds_total) by axis value.",
             lambda: F.fig_time_by_axis(df))

    # 4. Tables.
    r.html("<h2 id='tables'>Tables</h2><p class='small'>Also in <code>tables/*.csv</code> and "
           "<code>tables.json</code> at full precision.</p>")
    r.table("status_counts", "Status counts by axis", lambda: F.status_counts_by_axis(df),
            "Every trial, pending ones included; first row: all trials.")
    r.table("strict_fraction", "Strict fraction of converged minima",
            lambda: F.strict_fraction_table(df),
            "Minima: status strict_min or degenerate_min. Domain from the redundancy analysis "
            "(unknown: more than one hidden layer).")
    r.table("failure_reasons", "Failure reasons", lambda: F.failure_reasons(df),
            "Finished trials with status not_converged, diverged, failed_numerics or error.")
    r.table("time_by_axis", "Time per trial by axis", lambda: F.time_by_axis(df),
            "seconds_total of finished trials.")
    r.table("patterns", "Patterns: checker verdict and divergence", lambda: F.pattern_table(df))
    r.table("local_rate", "Local rate against the Hessian verdict",
            lambda: F.local_rate_table(df))

    # 5. Spec and provenance.
    r.html("<h2 id='spec'>Study spec</h2>")
    for h, (name, text) in specs.items():
        r.html(f"<h3>{html.escape(str(name))} (hash {html.escape(str(h))})</h3>"
               f"<pre>{html.escape(text)}</pre>")
    r.html("<h2 id='provenance'>Provenance</h2>")
    if prov.empty:
        r.html("<p class='small'>No run recorded.</p>")
    else:
        t = prov.set_index(["file", "run"]).T.reset_index().rename(columns={"index": "entry"})
        t.columns = [c if isinstance(c, str) else f"{os.path.basename(c[0])}: {c[1]}"
                     for c in t.columns]
        r.html(_table_html(t.fillna("")))
    r.write(title, summary)
    summary.update(figures=r.made, skipped=r.skipped, errors=r.errors)
    return summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m analysis.report",
        description="Write an HTML report (figures, tables, spec, provenance) of nnscape "
                    "results files.")
    ap.add_argument("results", nargs="+", help="results file(s) of `nnscape run` (shards: all)")
    ap.add_argument("-o", "--output", default="report",
                    help="output directory (created; default: report)")
    a = ap.parse_args(argv)
    try:
        s = build(a.results, a.output)
    except L.ResultsFileError as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {s['trials']} trials ({s['done']} done, {s['failed']} failed, "
          f"{s['pending']} pending); {len(s['figures'])} figures, {len(s['skipped'])} skipped; "
          f"wrote {os.path.join(a.output, 'index.html')}")
    for k in s["skipped"]:
        print(f"report: skipped {k.get('figure') or k.get('table')}: {k['reason']}")
    return 2 if s["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
