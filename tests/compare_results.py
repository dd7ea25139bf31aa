#!/usr/bin/python3
"""Compare two nnscape results files on every deterministic field.

Usage: compare_results.py A.h5 B.h5
Exit 0 when /study/spec, the spec hash, /axes, every /trials column except the ones that record
where and when a trial ran (rank, host, finished_at, seconds_*), and every /values array are
bitwise equal (NaN payloads included); else exit 1 naming the first differences.
"""
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # Debian: apt-get install python3-h5py python3-numpy
    sys.exit(f"compare_results.py needs h5py and numpy ({e}); apt-get install python3-h5py")

NOT_DETERMINISTIC = {"rank", "host", "finished_at"}


def deterministic_columns(names):
    return [n for n in names if n not in NOT_DETERMINISTIC and not n.startswith("seconds_")]


def main(a_path, b_path):
    problems = []
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        if a["study/spec"][()] != b["study/spec"][()]:
            problems.append("/study/spec differs")
        if a["study"].attrs["spec_hash"] != b["study"].attrs["spec_hash"]:
            problems.append("spec_hash differs")
        for axis in a["axes"]:
            if axis not in b["axes"] or not np.array_equal(a["axes"][axis][()], b["axes"][axis][()]):
                problems.append(f"/axes/{axis} differs")
        ta, tb = a["trials"][()], b["trials"][()]
        if ta.shape != tb.shape:
            problems.append(f"/trials has {ta.shape[0]} vs {tb.shape[0]} rows")
        else:
            for col in deterministic_columns(ta.dtype.names):
                x, y = ta[col], tb[col]
                same = (x.tobytes() == y.tobytes())
                if not same:
                    rows = [i for i in range(len(x)) if x[i:i + 1].tobytes() != y[i:i + 1].tobytes()]
                    problems.append(f"/trials column {col} differs in rows {rows[:5]} "
                                    f"(e.g. {x[rows[0]]!r} vs {y[rows[0]]!r})")
        for name in ("theta", "hessian", "gauss_newton", "trajectory"):
            x, y = a["values"][name][()], b["values"][name][()]
            if x.shape != y.shape or x.tobytes() != y.tobytes():
                problems.append(f"/values/{name} differs")
    for p in problems[:20]:
        print(f"compare_results: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
