#!/usr/bin/env python3
"""Write the quickstart's data set and two parameter vectors.

The data: a tanh teacher network (d = 2 inputs, 3 hidden neurons, 1 output) on N = 1000 inputs
drawn uniformly from [-1, 1]^2, so the targets are exactly realizable.

- ``theta_efficient.txt``: the teacher itself, read as a width-3 student. A zero-loss fit by an
  efficient network: Benning & Dereich predict a positive definite Hessian.
- ``theta_redundant.txt``: a width-4 student realizing the same function, with neuron 0 split
  into two copies that share its output weight. Redundant: the Hessian is singular, with
  nullity d + 2 = 4 for one duplicate pair at zero loss (papers.md).

Parameters are in nnscape's (PyTorch ``nn.Linear``) order: W1 row-major (out x in), b1, W2, b2.

The targets are computed with Python's ``math.tanh`` (glibc's libm) and sums in a fixed order,
not with numpy's matrix product or ufuncs: those dispatch on the CPU (OpenBLAS kernels, AVX-512
loops), so the same script would write other last bits on another machine, and the quickstart's
round-off-level numbers (loss ~1e-33) would differ with them.
"""
import math
import sys

try:
    import h5py
    import numpy as np
except ImportError as exc:  # pragma: no cover - environment check
    sys.exit(f"demo_data.py: {exc}; install Debian's python3-numpy and python3-h5py "
             "(bash jobs/install-deps does)")


def teacher(xi, w1, b1, a, c):
    """f(x) = c + sum_j a_j tanh(w_j . x + b_j), added left to right in float64."""
    out = c
    for j in range(len(b1)):
        z = b1[j]
        for k in range(len(xi)):
            z += w1[j][k] * xi[k]
        out += a[j] * math.tanh(z)
    return out


def main(out_dir):
    rng = np.random.default_rng(20251124)
    d, width, n = 2, 3, 1000
    w1 = rng.normal(0.0, 1.5, size=(width, d))
    b1 = rng.normal(0.0, 0.5, size=width)
    w2 = rng.normal(0.0, 1.0, size=(1, width))
    b2 = rng.normal(0.0, 0.1, size=1)
    x = rng.uniform(-1.0, 1.0, size=(n, d))
    y = np.array([[teacher(xi, w1, b1, w2[0], b2[0])] for xi in x.tolist()])

    with h5py.File(f"{out_dir}/data.h5", "w") as f:
        f["X"] = x
        f["Y"] = y
    efficient = np.concatenate([w1.ravel(), b1, w2.ravel(), b2])
    w1r = np.vstack([w1, w1[:1]])
    b1r = np.concatenate([b1, b1[:1]])
    w2r = np.concatenate([w2[0], w2[0, :1]])
    w2r[0] *= 0.3   # the copies share a_0: 0.3 a_0 + 0.7 a_0
    w2r[-1] *= 0.7
    redundant = np.concatenate([w1r.ravel(), b1r, w2r, b2])
    np.savetxt(f"{out_dir}/theta_efficient.txt", efficient, fmt="%.17g")
    np.savetxt(f"{out_dir}/theta_redundant.txt", redundant, fmt="%.17g")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
