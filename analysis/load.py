"""Read nnscape results files (HDF5, schema version 2) into pandas.

The schema is documented at the top of include/nnscape/store.hpp; the /trials columns and their
types are listed in src/store.cpp (class RowLayout). This module takes whatever columns a file
has, so columns added later (e.g. the closedness verdicts) arrive in the DataFrame unchanged.

Files are opened read-only and without HDF5 file locking, so a file that a run is still writing,
or that a killed run left behind, can be read: its unfinished trials have ``state == "pending"``.

Examples
--------
>>> from analysis.load import load, spectrum, trajectory          # doctest: +SKIP
>>> df = load(["shard0.h5", "shard1.h5"])                          # doctest: +SKIP
>>> done = df[df.state == "done"]                                  # doctest: +SKIP
>>> ev = spectrum("shard0.h5", int(done.trial_id.iloc[0]))         # doctest: +SKIP
"""
from __future__ import annotations

import os
import re
from typing import Sequence, Union

try:
    import h5py
    import numpy as np
    import pandas as pd
except ImportError as exc:  # pragma: no cover - depends on the machine
    raise ImportError(
        f"analysis needs Debian's python3 with numpy, pandas and h5py ({exc}); run it with "
        "/usr/bin/python3 and install: apt-get install python3-numpy python3-pandas python3-h5py"
    ) from exc

PathLike = Union[str, "os.PathLike[str]"]

SCHEMA_VERSION = 2

# /axes/<axis> → readable column, in trial-coordinate order (spec.hpp, enum Axis).
AXES = (
    ("architectures", "architecture"),
    ("activations", "activation"),
    ("datasets", "dataset"),
    ("sparsity", "pattern"),
    ("optimizers", "optimizer"),
    ("inits", "init"),
    ("weight_decay", "weight_decay"),
    ("replicates", "replicate"),
)
AXIS_COLUMNS = tuple(col for _, col in AXES)

STATES = {0: "pending", 1: "done", 2: "failed"}

# Columns known before a trial runs (written at creation): never masked for pending rows.
_DESCRIPTION = re.compile(r"^(trial_id|axis_.*|seed|data_seed|P|N|.*_offset|.*_capacity)$")
# Integer result columns that are counts: −1 there means "not known / not applicable".
_COUNT = re.compile(r"^(n_.*|.*_n_(neg|zero|pos|undecided)|predicted_nullity.*|measured_nullity.*|"
                    r"certificate_(core_width|jacobian_nullity))$")

# Float results that are norms or distances: a negative value is the "not applicable" marker
# (product_error is −1 unless the data are linear).
_NONNEGATIVE = {"product_error", "redundancy_distance"}


class ResultsFileError(Exception):
    """A path that is not a readable nnscape results file (the message says why)."""


def _open(path: PathLike) -> "h5py.File":
    """Open `path` read-only after checking it is an nnscape results file of schema 2."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise ResultsFileError(f"results file '{p}': no such file")
    if os.path.isdir(p):
        raise ResultsFileError(f"results file '{p}' is a directory, not an HDF5 file")
    try:
        is_hdf5 = h5py.is_hdf5(p)
    except OSError as exc:
        raise ResultsFileError(f"cannot read '{p}': {exc}") from exc
    if not is_hdf5:
        raise ResultsFileError(
            f"'{p}' is not an HDF5 file (no HDF5 signature); give a results file written by "
            "`nnscape run ... -o results.h5`")
    try:
        try:
            # Without locking: a run that is writing the file must not block (or be blocked by)
            # the reader, and file systems without flock refuse locks altogether.
            f = h5py.File(p, "r", locking=False)
        except TypeError:  # h5py built against an HDF5 without the locking switch
            f = h5py.File(p, "r")
        except OSError as exc:
            # HDF5 refuses a second open of a file this process holds open with other locking
            # flags (e.g. the caller's own h5py.File(p)): then open it as the caller did.
            if "locking" not in str(exc):
                raise
            f = h5py.File(p, "r")
    except OSError as exc:
        raise ResultsFileError(
            f"cannot open '{p}': the HDF5 file is corrupt or truncated ({exc})") from exc
    try:
        _check_schema(f, p)
    except BaseException:
        f.close()
        raise
    return f


def _check_schema(f: "h5py.File", p: str) -> None:
    try:
        missing = [name for name in ("study", "axes", "trials", "values") if name not in f]
        if missing:
            raise ResultsFileError(
                f"'{p}' is an HDF5 file but not an nnscape results file (no "
                f"{', '.join('/' + m for m in missing)}); it holds: "
                f"{', '.join('/' + k for k in list(f.keys())[:10]) or 'nothing'}")
        study = f["study"]
        if not isinstance(study, h5py.Group) or "schema_version" not in study.attrs:
            raise ResultsFileError(
                f"'{p}' is not an nnscape results file (/study has no schema_version)")
        version = int(np.asarray(study.attrs["schema_version"]).reshape(-1)[0])
        if version != SCHEMA_VERSION:
            raise ResultsFileError(
                f"'{p}' has results schema version {version}; this analysis reads version "
                f"{SCHEMA_VERSION}")
        trials = f["trials"]
        if (not isinstance(trials, h5py.Dataset) or trials.dtype.names is None
                or not {"trial_id", "state"} <= set(trials.dtype.names)):
            raise ResultsFileError(
                f"'{p}' is not an nnscape results file (/trials is not a table with trial_id "
                "and state)")
    except ResultsFileError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise ResultsFileError(
            f"cannot read '{p}': the HDF5 file is corrupt or truncated ({exc})") from exc


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.split(b"\0", 1)[0].decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray):
        return _text(value.reshape(-1)[0]) if value.size else ""
    return str(value)


def _attrs(obj) -> dict:
    out = {}
    for key, value in obj.attrs.items():
        if isinstance(value, (bytes, np.bytes_, str)):
            out[key] = _text(value)
        elif isinstance(value, np.ndarray) and value.size == 1:
            out[key] = value.reshape(-1)[0].item()
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _paths(paths) -> list:
    if isinstance(paths, (str, bytes, os.PathLike)):
        return [os.fspath(paths)]
    out = [os.fspath(p) for p in paths]
    if not out:
        raise ValueError("give at least one results file")
    return out


def _guard(p: str, fn):
    """Run fn(); HDF5 read errors inside become ResultsFileError naming the file."""
    try:
        return fn()
    except ResultsFileError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError, IndexError) as exc:
        raise ResultsFileError(
            f"cannot read '{p}': the HDF5 file is corrupt or truncated ({type(exc).__name__}: "
            f"{exc})") from exc


def _architecture_width(label: str):
    """Hidden widths "[8,8]" → (depth, width): width when one hidden layer, else NaN."""
    widths = [int(w) for w in re.findall(r"\d+", label)]
    if not widths:
        return np.nan, np.nan
    return len(widths), (widths[0] if len(widths) == 1 else np.nan)


def _number(label: str):
    try:
        return float(label)
    except ValueError:
        return np.nan


def _frame_of_file(p: str) -> pd.DataFrame:
    with _open(p) as f:
        def read():
            info = _attrs(f["study"])
            table = f["trials"][()]
            axes = {}
            for axis, _ in AXES:
                if axis in f["axes"]:
                    axes[axis] = [_text(v) for v in f["axes"][axis][()]]
            return info, table, axes
        info, table, axes = _guard(p, read)

    n = len(table)
    state_code = np.asarray(table["state"]).astype(np.int64)
    pending = state_code == 0
    cols = {}
    for name in table.dtype.names:
        col = table[name]
        kind = col.dtype.kind
        if kind == "S":
            cols[name] = np.array([_text(v) for v in col], dtype=object)
        elif kind in "iu" and name != "state":
            if _DESCRIPTION.match(name):
                cols[name] = col
                continue
            values = pd.array(col.astype(np.int64), dtype="Int64")
            mask = pending.copy()
            if _COUNT.match(name):
                mask |= col.astype(np.int64) < 0
            if col.dtype.itemsize == 1 and set(np.unique(col)).issubset({-1, 0, 1}):
                values = pd.array(col.astype(np.int64) == 1, dtype="boolean")
                mask |= col.astype(np.int64) < 0
            values[mask] = pd.NA
            cols[name] = values
        elif kind == "f":
            values = col.astype(np.float64)
            if name in _NONNEGATIVE:  # −1 there means "not applicable"
                values = np.where(values < 0, np.nan, values)
            cols[name] = values
        else:
            cols[name] = col
    df = pd.DataFrame(cols)

    df.insert(0, "file", p)
    df.insert(1, "row", np.arange(n))
    df.insert(2, "study", info.get("name", ""))
    df.insert(3, "spec_hash", info.get("spec_hash", ""))
    df["state_code"] = state_code
    df["state"] = [STATES.get(int(s), f"unknown({int(s)})") for s in state_code]
    if "status" in df:
        df.loc[pending, "status"] = "pending"
        df.loc[(~pending) & (df["status"] == ""), "status"] = "unknown"
    else:
        df["status"] = np.where(pending, "pending", "unknown")

    # Readable axis values next to the coordinates.
    position = 4
    for axis, column in AXES:
        coord = f"axis_{axis}"
        if coord not in df or axis not in axes:
            continue
        labels = np.array(axes[axis], dtype=object)
        idx = df[coord].to_numpy().astype(np.int64)
        bad = (idx < 0) | (idx >= len(labels))
        if bad.any():
            raise ResultsFileError(
                f"'{p}' is corrupt: /trials {coord} = {int(idx[bad][0])} outside /axes/{axis} "
                f"({len(labels)} values)")
        values = labels[idx]
        if column == "weight_decay":
            df.insert(position, column, [_number(v) for v in values])
        elif column == "replicate":
            df.insert(position, column, [int(v) if v.lstrip("-").isdigit() else v for v in values])
        else:
            df.insert(position, column, values)
        position += 1
    if "architecture" in df:
        dw = [_architecture_width(a) for a in df["architecture"]]
        df.insert(position, "depth", pd.array([d for d, _ in dw], dtype="Float64").astype("Int64"))
        df.insert(position + 1, "width",
                  pd.array([w for _, w in dw], dtype="Float64").astype("Int64"))
    df.attrs["study"] = info
    return df


def load(paths: Union[PathLike, Sequence[PathLike]]) -> pd.DataFrame:
    """Load one or several results files into one DataFrame, one row per trial.

    Parameters
    ----------
    paths : str or path-like, or a sequence of them
        Results files (``nnscape run`` outputs, shards or merged files). Shards of one study
        are concatenated; a trial found in several files is kept once, preferring a finished
        copy over a pending one (then the most recently finished).

    Returns
    -------
    pandas.DataFrame
        Every /trials column (strings decoded; integer results nullable and ``NA`` for pending
        trials; 0/1 flags as booleans; −1 in count columns such as ``measured_nullity`` and a
        negative ``product_error`` as missing) and, in front: ``file``, ``row``, ``study``, ``spec_hash``, the readable axis
        values ``architecture, activation, dataset, pattern, optimizer, init, weight_decay``
        (float), ``replicate`` (int), ``depth`` and ``width`` (the hidden width for one hidden
        layer, else NA); ``state`` as text (pending, done, failed); ``status`` is "pending"
        for pending trials.

    Raises
    ------
    ResultsFileError
        When a path is missing, not HDF5, corrupt, or not an nnscape results file.

    Examples
    --------
    >>> df = load("results.h5")                                    # doctest: +SKIP
    >>> df.groupby("activation").status.value_counts()             # doctest: +SKIP
    """
    frames = [_frame_of_file(p) for p in _paths(paths)]
    infos = {f["file"].iat[0] if len(f) else i: f.attrs["study"] for i, f in enumerate(frames)}
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    dropped = 0
    if len(frames) > 1 and len(df):
        order = df.assign(_rank=np.where(df["state"] == "pending", 0, 1),
                          _t=df.get("finished_at", pd.Series(0.0, index=df.index)).fillna(-np.inf))
        order = order.sort_values(["spec_hash", "trial_id", "_rank", "_t"])
        keep = ~order.duplicated(["spec_hash", "trial_id"], keep="last")
        dropped = int((~keep).sum())
        df = order[keep].drop(columns=["_rank", "_t"]).sort_values(
            ["study", "spec_hash", "trial_id"]).reset_index(drop=True)
    df.attrs["studies"] = infos
    df.attrs["duplicates_dropped"] = dropped
    return df


def study_info(path: PathLike) -> dict:
    """Return the /study attributes of one results file (name, spec_hash, shard, rows, ...)."""
    p = os.fspath(path)
    with _open(p) as f:
        return _guard(p, lambda: _attrs(f["study"]))


def study_spec(path: PathLike) -> str:
    """Return the study spec (YAML text) stored in a results file."""
    p = os.fspath(path)
    with _open(p) as f:
        def read():
            if "spec" not in f["study"]:
                return ""
            return _text(f["study"]["spec"][()])
        return _guard(p, read)


def provenance(paths: Union[PathLike, Sequence[PathLike]]) -> pd.DataFrame:
    """Return one row per run recorded in /provenance (every attribute a column).

    Columns: ``file``, ``run`` (the group name, e.g. ``run_0001`` or ``shard0_run_0001`` in
    merged files), then the attributes in the order of the first run that has them (versions,
    hosts, ranks, command_line, start_time, end_time, ended, Slurm ids, ...).
    """
    rows = []
    for p in _paths(paths):
        with _open(p) as f:
            def read():
                out = []
                if "provenance" not in f:
                    return out
                for name in sorted(f["provenance"].keys()):
                    out.append({"file": p, "run": name, **_attrs(f["provenance"][name])})
                return out
            rows.extend(_guard(p, read))
    return pd.DataFrame(rows, columns=None if rows else ["file", "run"])


def _trial_row(f, p: str, trial_id: int):
    ids = f["trials"]["trial_id"]
    hits = np.flatnonzero(ids == int(trial_id))
    if not len(hits):
        raise ResultsFileError(f"'{p}' has no trial {trial_id}")
    row = f["trials"][int(hits[0])]
    if int(row["state"]) == 0:
        raise ResultsFileError(f"trial {trial_id} of '{p}' is still pending: no values yet")
    return row


def _slot(path: PathLike, trial_id: int, name: str) -> np.ndarray:
    p = os.fspath(path)
    with _open(p) as f:
        def read():
            row = _trial_row(f, p, trial_id)
            names = row.dtype.names
            if f"{name}_offset" not in names:
                raise ResultsFileError(f"'{p}' /trials has no {name}_offset column")
            off, cnt = int(row[f"{name}_offset"]), int(row[f"{name}_count"])
            if cnt <= 0:
                return np.empty((0,) + f["values"][name].shape[1:])
            return np.asarray(f["values"][name][off:off + cnt], dtype=np.float64)
        return _guard(p, read)


def spectrum(path: PathLike, trial_id: int, which: str = "hessian") -> np.ndarray:
    """Return the stored eigenvalues of one trial, ascending.

    Parameters
    ----------
    path : str or path-like
        Results file holding the trial.
    trial_id : int
        The trial's id (column ``trial_id``).
    which : {"hessian", "gauss_newton"}
        Which matrix. Dense spectra hold all P eigenvalues; matrix-free ones the smallest and
        largest ``extremes`` (see the ``*_complete`` column).
    """
    if which not in ("hessian", "gauss_newton"):
        raise ValueError(f"which must be 'hessian' or 'gauss_newton', not {which!r}")
    return _slot(path, trial_id, which)


def params(path: PathLike, trial_id: int) -> np.ndarray:
    """Return θ at the end of one trial (empty when the study did not save parameters)."""
    return _slot(path, trial_id, "theta")


def trajectory(path: PathLike, trial_id: int) -> pd.DataFrame:
    """Return one trial's log-spaced trajectory.

    Returns
    -------
    pandas.DataFrame
        Columns ``iteration`` (int), ``loss``, ``grad_norm``, ``param_norm``, ``true_loss``
        (‖W_L···W_1 − A‖/‖A‖ for linear data, else NaN).
    """
    values = _slot(path, trial_id, "trajectory").reshape(-1, 5)
    df = pd.DataFrame(values, columns=["iteration", "loss", "grad_norm", "param_norm",
                                       "true_loss"])
    df["iteration"] = df["iteration"].astype(np.int64)
    return df


def trajectories(df: pd.DataFrame) -> pd.DataFrame:
    """Return the trajectories of every finished trial in `df` (long format).

    One file open per file rather than per trial. Columns: ``file``, ``trial_id`` and those of
    :func:`trajectory`.
    """
    parts = []
    for p, sub in df[df["state"] != "pending"].groupby("file"):
        with _open(p) as f:
            def read():
                traj = f["values"]["trajectory"]
                data = traj[()] if traj.size else np.empty((0, 5))
                out = []
                for tid, off, cnt in zip(sub["trial_id"], sub["trajectory_offset"],
                                         sub["trajectory_count"]):
                    cnt = 0 if pd.isna(cnt) else int(cnt)
                    if cnt <= 0:
                        continue
                    block = pd.DataFrame(data[int(off):int(off) + cnt],
                                         columns=["iteration", "loss", "grad_norm",
                                                  "param_norm", "true_loss"])
                    block.insert(0, "trial_id", int(tid))
                    block.insert(0, "file", p)
                    out.append(block)
                return out
            parts.extend(_guard(p, read))
    if not parts:
        return pd.DataFrame(columns=["file", "trial_id", "iteration", "loss", "grad_norm",
                                     "param_norm", "true_loss"])
    out = pd.concat(parts, ignore_index=True)
    out["iteration"] = out["iteration"].astype(np.int64)
    return out


def spectra(df: pd.DataFrame, which: str = "hessian") -> dict:
    """Return {(file, trial_id): eigenvalues} for every finished trial in `df`."""
    out = {}
    for p, sub in df[df["state"] != "pending"].groupby("file"):
        with _open(p) as f:
            def read():
                values = f["values"][which][()]
                for tid, off, cnt in zip(sub["trial_id"], sub[f"{which}_offset"],
                                         sub[f"{which}_count"]):
                    cnt = 0 if pd.isna(cnt) else int(cnt)
                    out[(p, int(tid))] = values[int(off):int(off) + max(cnt, 0)]
            _guard(p, read)
    return out


__all__ = ["ResultsFileError", "load", "study_info", "study_spec", "provenance", "spectrum",
           "params", "trajectory", "trajectories", "spectra", "AXES", "AXIS_COLUMNS"]
