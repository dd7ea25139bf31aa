#!/usr/bin/env python3
"""Reference trial for the trial benchmark: SciPy's L-BFGS on the same loss, in float64.

Trains a one-hidden-layer tanh network on /X, /Y of an HDF5 file by
``scipy.optimize.minimize(method="L-BFGS-B")`` with an exact numpy gradient, from PyTorch's
default initialization, and prints one JSON line: seconds, iterations, function evaluations,
final loss and gradient 2-norm. This is what a careful user without second-order tools would run.

Usage: scipy_lbfgs.py DATA.h5 WIDTH SEED [GTOL]
"""
import json
import sys
import time

import h5py
import numpy as np
from scipy.optimize import minimize


def main(path, width, seed, gtol):
    with h5py.File(path, "r") as f:
        x = np.asarray(f["X"], dtype=np.float64)
        y = np.asarray(f["Y"], dtype=np.float64).reshape(len(x), -1)
    n, d = x.shape
    m = y.shape[1]
    sizes = [width * d, width, m * width, m]
    rng = np.random.default_rng(seed)
    bound1, bound2 = 1 / np.sqrt(d), 1 / np.sqrt(width)
    theta0 = np.concatenate([rng.uniform(-bound1, bound1, sizes[0] + sizes[1]),
                             rng.uniform(-bound2, bound2, sizes[2] + sizes[3])])

    def unpack(t):
        a, b, c = np.cumsum(sizes[:3])
        return t[:a].reshape(width, d), t[a:b], t[b:c].reshape(m, width), t[c:]

    def fun(t):
        w1, b1, w2, b2 = unpack(t)
        h = np.tanh(x @ w1.T + b1)
        r = h @ w2.T + b2 - y
        loss = np.sum(r * r) / n
        delta = (2.0 / n) * r
        gw2 = delta.T @ h
        gb2 = delta.sum(axis=0)
        e = (delta @ w2) * (1.0 - h * h)
        gw1 = e.T @ x
        gb1 = e.sum(axis=0)
        return loss, np.concatenate([gw1.ravel(), gb1, gw2.ravel(), gb2])

    start = time.perf_counter()
    res = minimize(fun, theta0, jac=True, method="L-BFGS-B",
                   options={"gtol": gtol, "ftol": 0.0, "maxiter": 20000, "maxfun": 40000,
                            "maxcor": 20})
    seconds = time.perf_counter() - start
    loss, grad = fun(res.x)
    print(json.dumps({"seconds": seconds, "iterations": int(res.nit), "function_evals": int(res.nfev),
                      "loss": float(loss), "grad_norm": float(np.linalg.norm(grad)),
                      "message": str(res.message)}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
         float(sys.argv[4]) if len(sys.argv) > 4 else 1e-10)
