#pragma once
// Shared helpers for network_test.cpp and loss_test.cpp: deterministic random data, masks,
// finite differences and a reference LAPACK eigensolver. Everything here is derived from the
// documented conventions (shared/papers.md, the public headers), never from the implementation.
// LAPACK's own prototypes: liblapacke (the C wrapper) is not linked by the build, the Fortran
// LAPACK inside OpenBLAS is.
#include <lapack.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"

namespace nnscape::test {

// ---------------------------------------------------------------------------------------------
// Random data (fixed seeds by the caller: std::mt19937_64).

inline std::vector<double> normal_vector(std::size_t n, std::mt19937_64& rng, double sd = 1.0) {
  std::normal_distribution<double> dist(0.0, sd);
  std::vector<double> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

inline std::vector<double> uniform_vector(std::size_t n, std::mt19937_64& rng, double lo,
                                          double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

// A 0/1 mask with roughly a fraction keep of ones; when it has ≥ 2 entries it always holds at
// least one 0 and one 1 (so "masked" really masks something and the layer is not empty).
inline Mask random_mask(int rows, int cols, std::mt19937_64& rng, double keep = 0.6) {
  Mask m;
  m.rows = rows;
  m.cols = cols;
  m.bits.assign(static_cast<std::size_t>(rows) * cols, 1);
  std::bernoulli_distribution bit(keep);
  for (auto& b : m.bits) b = bit(rng) ? 1 : 0;
  if (m.bits.size() >= 2) {
    std::uniform_int_distribution<std::size_t> pick(0, m.bits.size() - 1);
    std::size_t i = pick(rng);
    std::size_t j = pick(rng);
    while (j == i) j = pick(rng);
    m.bits[i] = 1;
    m.bits[j] = 0;
  }
  return m;
}

// One mask per weight matrix: W_l is widths[l+1] × widths[l].
inline std::vector<Mask> random_masks(const std::vector<int>& widths, std::mt19937_64& rng,
                                      double keep = 0.6) {
  std::vector<Mask> masks;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l)
    masks.push_back(random_mask(widths[l + 1], widths[l], rng, keep));
  return masks;
}

inline Architecture make_arch(std::vector<int> widths, Activation act,
                              std::vector<Mask> masks = {}) {
  Architecture a;
  a.widths = std::move(widths);
  a.activation = act;
  a.masks = std::move(masks);
  return a;
}

// Inputs uniform in [-1, 1]^d, targets N(0, 0.5²).
inline Dataset random_dataset(int n, int d, int m, std::mt19937_64& rng) {
  Dataset data;
  data.n = n;
  data.d = d;
  data.m = m;
  data.x = uniform_vector(static_cast<std::size_t>(n) * d, rng, -1.0, 1.0);
  data.y = normal_vector(static_cast<std::size_t>(n) * m, rng, 0.5);
  return data;
}

// ---------------------------------------------------------------------------------------------
// Norms.

inline double norm2(std::span<const double> v) {
  double s = 0.0;
  for (double e : v) s += e * e;
  return std::sqrt(s);
}

// θ moved by `size` (2-norm) in a random direction: a point near one of known truth.
inline std::vector<double> nudged(const std::vector<double>& theta, double size,
                                  std::mt19937_64& rng) {
  std::vector<double> u = normal_vector(theta.size(), rng, 1.0);
  const double n = norm2(u);
  std::vector<double> out = theta;
  for (std::size_t i = 0; i < out.size(); ++i) out[i] += size * u[i] / n;
  return out;
}

inline double max_abs(std::span<const double> v) {
  double s = 0.0;
  for (double e : v) s = std::max(s, std::abs(e));
  return s;
}

inline double max_abs_diff(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s = std::max(s, std::abs(a[i] - b[i]));
  return s;
}

inline double diff_norm(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size()) return std::numeric_limits<double>::infinity();
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// ---------------------------------------------------------------------------------------------
// Independent reference forward pass: dense weights come from unpack_layer (tested on its own
// in network_test), the activation is supplied by the caller. Returns the pre-activations of
// every layer (l = 0..L-1), each n × out row-major; the last one is the network output.

inline std::vector<std::vector<double>> reference_preactivations(
    const Network& net, std::span<const double> theta, const double* x, int n,
    const std::function<double(double)>& s) {
  std::vector<std::vector<double>> zs;
  std::vector<double> in(x, x + static_cast<std::size_t>(n) * net.input_dim());
  for (int l = 0; l < net.num_layers(); ++l) {
    const LayerLayout& ly = net.layer(l);
    std::vector<double> w(static_cast<std::size_t>(ly.out) * ly.in), b(ly.out);
    net.unpack_layer(theta, l, w.data(), b.data());
    std::vector<double> z(static_cast<std::size_t>(n) * ly.out);
    for (int i = 0; i < n; ++i)
      for (int r = 0; r < ly.out; ++r) {
        double acc = b[r];
        for (int c = 0; c < ly.in; ++c) acc += w[static_cast<std::size_t>(r) * ly.in + c] * in[static_cast<std::size_t>(i) * ly.in + c];
        z[static_cast<std::size_t>(i) * ly.out + r] = acc;
      }
    zs.push_back(z);
    if (l + 1 < net.num_layers()) {
      in = z;
      for (auto& e : in) e = s(e);
    }
  }
  return zs;
}

// Smallest |z| over all hidden pre-activations (for the non-smooth activations: finite
// differences are only valid when no pre-activation is within the step of the kink at 0).
inline double min_abs_hidden_preactivation(const Network& net, std::span<const double> theta,
                                           const Dataset& data) {
  Activation act = net.architecture().activation;
  auto s = [act](double z) {
    switch (act) {
      case Activation::relu: return z > 0 ? z : 0.0;
      case Activation::leaky_relu: return z > 0 ? z : kLeakyReluSlope * z;
      default: throw std::logic_error("min_abs_hidden_preactivation: relu/leaky_relu only");
    }
  };
  auto zs = reference_preactivations(net, theta, data.x.data(), data.n, s);
  double mn = std::numeric_limits<double>::infinity();
  for (int l = 0; l + 1 < net.num_layers(); ++l)
    for (double z : zs[l]) mn = std::min(mn, std::abs(z));
  return mn;
}

inline bool is_piecewise_linear(Activation a) {
  return a == Activation::relu || a == Activation::leaky_relu;
}

// ---------------------------------------------------------------------------------------------
// Finite differences (central).

// ∇L by central differences of value(). Leaves the model at theta.
inline std::vector<double> fd_gradient(LossModel& model, std::span<const double> theta,
                                       double h = 1e-5) {
  std::vector<double> t(theta.begin(), theta.end()), g(theta.size());
  for (std::size_t j = 0; j < t.size(); ++j) {
    t[j] = theta[j] + h;
    model.set_point(t);
    double fp = model.value();
    t[j] = theta[j] - h;
    model.set_point(t);
    double fm = model.value();
    t[j] = theta[j];
    g[j] = (fp - fm) / (2 * h);
  }
  model.set_point(theta);
  return g;
}

// H·v by central differences of gradient(). Leaves the model at theta.
inline std::vector<double> fd_hessian_product(LossModel& model, std::span<const double> theta,
                                              std::span<const double> v, double h = 1e-5) {
  std::vector<double> t(theta.size());
  for (std::size_t j = 0; j < t.size(); ++j) t[j] = theta[j] + h * v[j];
  model.set_point(t);
  std::vector<double> gp(model.gradient().begin(), model.gradient().end());
  for (std::size_t j = 0; j < t.size(); ++j) t[j] = theta[j] - h * v[j];
  model.set_point(t);
  std::vector<double> gm(model.gradient().begin(), model.gradient().end());
  std::vector<double> hv(theta.size());
  for (std::size_t j = 0; j < hv.size(); ++j) hv[j] = (gp[j] - gm[j]) / (2 * h);
  model.set_point(theta);
  return hv;
}

// J = ∂f/∂θ over the data by central differences of predict(): (n·m) × P row-major, row
// i·m + k is output k of sample i.
inline std::vector<double> fd_jacobian(const Network& net, std::span<const double> theta,
                                       const double* x, int n, double h = 1e-5) {
  const std::size_t p = theta.size();
  const std::size_t rows = static_cast<std::size_t>(n) * net.output_dim();
  std::vector<double> t(theta.begin(), theta.end()), jac(rows * p);
  for (std::size_t j = 0; j < p; ++j) {
    t[j] = theta[j] + h;
    auto fp = net.predict(t, x, n);
    t[j] = theta[j] - h;
    auto fm = net.predict(t, x, n);
    t[j] = theta[j];
    for (std::size_t r = 0; r < rows; ++r) jac[r * p + j] = (fp[r] - fm[r]) / (2 * h);
  }
  return jac;
}

// ---------------------------------------------------------------------------------------------
// Reference eigenvalues (LAPACK dsyev, one triangle), ascending. The matrix is symmetric up to
// rounding, so row- vs column-major does not matter.
inline std::vector<double> reference_eigenvalues(std::vector<double> a, std::ptrdiff_t p) {
  std::vector<double> w(static_cast<std::size_t>(p));
  if (p == 0) return w;
  const char jobz = 'N', uplo = 'U';
  const lapack_int n = static_cast<lapack_int>(p);
  lapack_int info = 0, lwork = -1;
  double query = 0.0;
  LAPACK_dsyev(&jobz, &uplo, &n, a.data(), &n, w.data(), &query, &lwork, &info);
  if (info != 0) throw std::runtime_error("dsyev workspace query failed: " + std::to_string(info));
  lwork = static_cast<lapack_int>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max<lapack_int>(lwork, 1)));
  LAPACK_dsyev(&jobz, &uplo, &n, a.data(), &n, w.data(), work.data(), &lwork, &info);
  if (info != 0) throw std::runtime_error("dsyev failed: " + std::to_string(info));
  return w;
}

// ---------------------------------------------------------------------------------------------
// A network, its data and a loss model over them, built in place (LossModel keeps references,
// so this object must never move).
struct Problem {
  Problem(Architecture arch, Dataset d, double weight_decay)
      : net(std::move(arch)), data(std::move(d)), model(net, data, weight_decay) {}
  Problem(const Problem&) = delete;
  Problem& operator=(const Problem&) = delete;

  Network net;
  Dataset data;
  LossModel model;
  std::vector<double> theta;
};

}  // namespace nnscape::test
