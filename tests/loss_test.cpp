// LossModel: value, gradient, Hessian and Gauss–Newton products against the documented math
// (shared/papers.md "Conventions"), checked independently of src/loss.cpp:
//   L(θ) = (1/N) Σ_i ||f(x_i) − y_i||² + (λ/2)||θ||²,  H = ∇²L,  G = (2/N) Σ_i J_iᵀ J_i.
// References: predict() for the value, central finite differences (step 1e-5) of value() for
// the gradient, of gradient() for H·v and of predict() for J.
//
// relu / leaky_relu are not differentiable at 0: for them every problem is drawn (fixed seeds,
// deterministic retry) so that min |z| over all hidden pre-activations and samples is > 1e-3,
// far larger than any change of z caused by a finite-difference step of 1e-5 (along a unit
// direction or one coordinate), so no kink is crossed and the finite differences are valid.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"
#include "nnscape/spectrum.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

using test::make_arch;
using test::Problem;

constexpr int kSamples = 30;
constexpr double kStep = 1e-5;     // finite-difference step
constexpr double kFdRel = 1e-6;    // ||fd − exact|| ≤ kFdRel · max(||exact||, kFdFloor)
constexpr double kFdFloor = 1e-3;
constexpr double kKinkMargin = 1e-3;

struct Config {
  std::string activation;
  std::vector<int> widths;
  bool masked = false;
  double lambda = 0.0;

  std::string label() const {
    std::string s = activation + " widths=" + ::testing::PrintToString(widths) +
                    (masked ? " masked" : " dense") + " lambda=" + std::to_string(lambda);
    return s;
  }
};

// Every activation × {one hidden layer, two hidden layers} × {dense, masked} × {λ = 0, 0.1};
// d = 3, m = 2.
std::vector<Config> all_configs() {
  std::vector<Config> out;
  for (const auto& name : activation_names())
    for (const auto& widths : std::vector<std::vector<int>>{{3, 4, 2}, {3, 4, 3, 2}})
      for (bool masked : {false, true})
        for (double lambda : {0.0, 0.1}) out.push_back({name, widths, masked, lambda});
  return out;
}

std::uint64_t seed_of(const Config& c, std::uint64_t base) {
  std::uint64_t s = base;
  for (char ch : c.label()) s = s * 1099511628211ull + static_cast<unsigned char>(ch);
  return s;
}

// Builds a problem with random masks (if asked), data and θ ~ N(0, 1). With zero_residual the
// targets are Y = predict(θ) (so the data loss is 0 at θ). For relu / leaky_relu, redraws until
// no hidden pre-activation is within kKinkMargin of 0. The model is left at θ.
std::unique_ptr<Problem> make_problem(const Config& c, std::uint64_t base_seed,
                                      bool zero_residual = false, int samples = kSamples) {
  const Activation act = parse_activation(c.activation);
  for (int attempt = 0; attempt < 500; ++attempt) {
    std::mt19937_64 rng(seed_of(c, base_seed) + 7919ull * attempt);
    auto masks = c.masked ? test::random_masks(c.widths, rng) : std::vector<Mask>{};
    Architecture arch = make_arch(c.widths, act, masks);
    Network probe(arch);
    Dataset data = test::random_dataset(samples, c.widths.front(), c.widths.back(), rng);
    std::vector<double> theta = test::normal_vector(probe.num_params(), rng);
    if (test::is_piecewise_linear(act) &&
        test::min_abs_hidden_preactivation(probe, theta, data) <= kKinkMargin)
      continue;
    if (zero_residual) data.y = probe.predict(theta, data.x.data(), data.n);
    auto p = std::make_unique<Problem>(std::move(arch), std::move(data), c.lambda);
    p->theta = std::move(theta);
    p->model.set_point(p->theta);
    return p;
  }
  throw std::runtime_error("make_problem: no draw satisfied the kink margin for " + c.label());
}

std::vector<double> unit_vector(std::ptrdiff_t p, std::ptrdiff_t j) {
  std::vector<double> e(p, 0.0);
  e[j] = 1.0;
  return e;
}

std::vector<double> to_vec(std::span<const double> s) { return {s.begin(), s.end()}; }

double max_asymmetry(const std::vector<double>& a, std::ptrdiff_t p) {
  double s = 0.0;
  for (std::ptrdiff_t i = 0; i < p; ++i)
    for (std::ptrdiff_t j = 0; j < p; ++j) s = std::max(s, std::abs(a[i * p + j] - a[j * p + i]));
  return s;
}

// ---------------------------------------------------------------------------------------------
// Value.

TEST(LossValue, MatchesPredict) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 11);
    const Dataset& d = p->data;
    auto f = p->net.predict(p->theta, d.x.data(), d.n);
    ASSERT_EQ(f.size(), static_cast<std::size_t>(d.n) * d.m);
    double sq = 0.0;
    std::vector<double> r(f.size());
    for (std::size_t i = 0; i < f.size(); ++i) {
      r[i] = f[i] - d.y[i];
      sq += r[i] * r[i];
    }
    const double data_loss = sq / d.n;
    double tt = 0.0;
    for (double t : p->theta) tt += t * t;
    const double expected = data_loss + 0.5 * c.lambda * tt;
    EXPECT_NEAR(p->model.value(), expected, 1e-12 * std::max(1.0, std::abs(expected)));
    EXPECT_NEAR(p->model.data_loss(), data_loss, 1e-12 * std::max(1.0, data_loss));
    EXPECT_EQ(p->model.weight_decay(), c.lambda);
    EXPECT_EQ(p->model.num_params(), p->net.num_params());
    EXPECT_EQ(to_vec(p->model.point()), p->theta);
    ASSERT_EQ(p->model.residual().size(), r.size());
    EXPECT_LE(test::max_abs_diff(p->model.residual(), r), 1e-12 * std::max(1.0, test::max_abs(f)));
  }
}

// ---------------------------------------------------------------------------------------------
// Gradient and Hessian-vector product against central finite differences.

TEST(LossGradient, MatchesFiniteDifferences) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 22);
    auto g = to_vec(p->model.gradient());
    ASSERT_EQ(static_cast<std::ptrdiff_t>(g.size()), p->net.num_params());
    auto fd = test::fd_gradient(p->model, p->theta, kStep);
    const double err = test::diff_norm(fd, g);
    EXPECT_LE(err, kFdRel * std::max(test::norm2(g), kFdFloor))
        << "||fd − g|| = " << err << ", ||g|| = " << test::norm2(g);
  }
}

TEST(LossHessianProduct, MatchesFiniteDifferencesOfGradient) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 33);
    const std::ptrdiff_t np = p->net.num_params();
    std::mt19937_64 rng(seed_of(c, 34));
    std::vector<std::vector<double>> dirs;
    for (int k = 0; k < 3; ++k) {  // random unit directions
      auto v = test::normal_vector(np, rng);
      const double n = test::norm2(v);
      for (auto& e : v) e /= n;
      dirs.push_back(v);
    }
    dirs.push_back(unit_vector(np, 0));       // first weight of W_1
    dirs.push_back(unit_vector(np, np - 1));  // last output bias
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      SCOPED_TRACE("direction " + std::to_string(k));
      const auto& v = dirs[k];
      std::vector<double> hv(np);
      p->model.hessian_product(v, hv);
      auto fd = test::fd_hessian_product(p->model, p->theta, v, kStep);
      const double err = test::diff_norm(fd, hv);
      EXPECT_LE(err, kFdRel * std::max(test::norm2(hv), kFdFloor))
          << "||fd − Hv|| = " << err << ", ||Hv|| = " << test::norm2(hv);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Blocked products and dense matrices agree with single products.

TEST(LossBlocks, HessianBlockEqualsSeparateProducts) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 44);
    const std::ptrdiff_t np = p->net.num_params();
    const double value = p->model.value();
    const auto grad = to_vec(p->model.gradient());
    std::mt19937_64 rng(seed_of(c, 45));
    for (int k : {1, 2, 3, 7, static_cast<int>(np)}) {
      SCOPED_TRACE("k = " + std::to_string(k));
      auto v = test::normal_vector(static_cast<std::size_t>(k) * np, rng);
      std::vector<double> out(static_cast<std::size_t>(k) * np, -1.0);
      p->model.hessian_block(v.data(), k, out.data());
      for (int j = 0; j < k; ++j) {
        std::vector<double> ref(np);
        p->model.hessian_product(std::span<const double>(v.data() + j * np, np), ref);
        std::span<const double> col(out.data() + j * np, np);
        EXPECT_LE(test::max_abs_diff(col, ref), 1e-12 * std::max(test::max_abs(ref), 1e-300))
            << "column " << j;
      }
    }
    // Products must not disturb the point's results.
    EXPECT_EQ(p->model.value(), value);
    EXPECT_EQ(to_vec(p->model.gradient()), grad);
  }
}

TEST(LossBlocks, GaussNewtonBlockEqualsSingleCalls) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 55);
    const std::ptrdiff_t np = p->net.num_params();
    std::mt19937_64 rng(seed_of(c, 56));
    for (int k : {2, 3, 7, static_cast<int>(np)}) {
      SCOPED_TRACE("k = " + std::to_string(k));
      auto v = test::normal_vector(static_cast<std::size_t>(k) * np, rng);
      std::vector<double> out(static_cast<std::size_t>(k) * np, -1.0);
      p->model.gauss_newton_block(v.data(), k, out.data());
      for (int j = 0; j < k; ++j) {
        std::vector<double> ref(np, -1.0);
        p->model.gauss_newton_block(v.data() + j * np, 1, ref.data());
        std::span<const double> col(out.data() + j * np, np);
        EXPECT_LE(test::max_abs_diff(col, ref), 1e-12 * std::max(test::max_abs(ref), 1e-300))
            << "column " << j;
      }
    }
  }
}

TEST(LossDense, ColumnsAreProducts) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 66);
    const std::ptrdiff_t np = p->net.num_params();
    auto h = p->model.dense_hessian();
    auto g = p->model.dense_gauss_newton();
    ASSERT_EQ(static_cast<std::ptrdiff_t>(h.size()), np * np);
    ASSERT_EQ(static_cast<std::ptrdiff_t>(g.size()), np * np);
    const double hmax = test::max_abs(h), gmax = test::max_abs(g);
    double herr = 0.0, gerr = 0.0;
    for (std::ptrdiff_t j = 0; j < np; ++j) {
      auto e = unit_vector(np, j);
      std::vector<double> hv(np), gv(np);
      p->model.hessian_product(e, hv);
      p->model.gauss_newton_block(e.data(), 1, gv.data());
      for (std::ptrdiff_t i = 0; i < np; ++i) {  // column j (row-major = column-major)
        herr = std::max(herr, std::abs(h[i * np + j] - hv[i]));
        gerr = std::max(gerr, std::abs(g[i * np + j] - gv[i]));
      }
    }
    EXPECT_LE(herr, 1e-12 * hmax) << "max |H[:,j] − H·e_j| = " << herr << ", max|H| = " << hmax;
    EXPECT_LE(gerr, 1e-12 * gmax) << "max |G[:,j] − G·e_j| = " << gerr << ", max|G| = " << gmax;
  }
}

TEST(LossDense, HessianIsSymmetric) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 77);
    const std::ptrdiff_t np = p->net.num_params();
    auto h = p->model.dense_hessian();
    ASSERT_EQ(static_cast<std::ptrdiff_t>(h.size()), np * np);
    const double asym = max_asymmetry(h, np), hmax = test::max_abs(h);
    EXPECT_LE(asym, 1e-10 * hmax) << "max |H − Hᵀ| = " << asym << ", max|H| = " << hmax;
  }
}

// ---------------------------------------------------------------------------------------------
// Gauss–Newton matrix.

TEST(LossGaussNewton, EqualsJacobianGramMatrix) {
  for (const Config& c : all_configs()) {
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 88);
    const std::ptrdiff_t np = p->net.num_params();
    const int rows = p->data.n * p->data.m;
    auto jac = test::fd_jacobian(p->net, p->theta, p->data.x.data(), p->data.n, kStep);
    std::vector<double> ref(np * np, 0.0);
    for (std::ptrdiff_t a = 0; a < np; ++a)
      for (std::ptrdiff_t b = 0; b < np; ++b) {
        double s = 0.0;
        for (int r = 0; r < rows; ++r) s += jac[r * np + a] * jac[r * np + b];
        ref[a * np + b] = 2.0 * s / p->data.n;
      }
    auto g = p->model.dense_gauss_newton();
    ASSERT_EQ(static_cast<std::ptrdiff_t>(g.size()), np * np);
    const double gmax = test::max_abs(g);
    const double err = test::max_abs_diff(g, ref);
    EXPECT_LE(err, 1e-6 * test::max_abs(ref))
        << "max |G − (2/N)JᵀJ| = " << err << ", max|G| = " << gmax;
    const double asym = max_asymmetry(g, np);
    EXPECT_LE(asym, 1e-10 * gmax) << "max |G − Gᵀ| = " << asym;
    auto ev = symmetric_eigenvalues(g, np);
    ASSERT_EQ(static_cast<std::ptrdiff_t>(ev.size()), np);
    const double emax = std::max(std::abs(ev.front()), std::abs(ev.back()));
    EXPECT_GE(ev.front(), -1e-10 * emax) << "G not PSD: λmin = " << ev.front() << ", λmax = " << ev.back();
    // Cross-check the spectrum helper against plain LAPACK (it is used by other tests).
    auto ev_ref = test::reference_eigenvalues(g, np);
    EXPECT_LE(test::max_abs_diff(ev, ev_ref), 1e-12 * emax);
  }
}

// At zero residual (Y = predict(θ), λ = 0) the residual term vanishes and H = G.
TEST(LossGaussNewton, HessianEqualsGaussNewtonAtZeroResidual) {
  for (const Config& c : all_configs()) {
    if (c.lambda != 0.0) continue;
    SCOPED_TRACE(c.label());
    auto p = make_problem(c, 99, /*zero_residual=*/true);
    EXPECT_LE(p->model.data_loss(), 1e-20);
    auto h = p->model.dense_hessian();
    auto g = p->model.dense_gauss_newton();
    const double gmax = test::max_abs(g);
    const double err = test::max_abs_diff(h, g);
    EXPECT_LE(err, 1e-10 * gmax) << "max |H − G| = " << err << ", max|G| = " << gmax;
  }
}

// Weight decay adds λθ to the gradient and λI to H; G is the data term's only.
TEST(LossWeightDecay, AddsLambdaToGradientAndHessianOnly) {
  const double lambda = 0.3;
  for (const auto& name : activation_names()) {
    for (bool masked : {false, true}) {
      Config c0{name, {3, 4, 3, 2}, masked, 0.0};
      SCOPED_TRACE(c0.label());
      auto p0 = make_problem(c0, 111);
      Dataset data = p0->data;
      Problem p1(p0->net.architecture(), data, lambda);
      p1.model.set_point(p0->theta);
      const std::ptrdiff_t np = p0->net.num_params();
      double tt = 0.0;
      for (double t : p0->theta) tt += t * t;
      EXPECT_NEAR(p1.model.data_loss(), p0->model.data_loss(), 1e-13 * p0->model.data_loss());
      EXPECT_NEAR(p1.model.value(), p0->model.value() + 0.5 * lambda * tt,
                  1e-12 * p1.model.value());
      std::vector<double> g_expected = to_vec(p0->model.gradient());
      for (std::ptrdiff_t i = 0; i < np; ++i) g_expected[i] += lambda * p0->theta[i];
      EXPECT_LE(test::max_abs_diff(p1.model.gradient(), g_expected),
                1e-12 * test::max_abs(g_expected));
      auto h0 = p0->model.dense_hessian(), h1 = p1.model.dense_hessian();
      for (std::ptrdiff_t i = 0; i < np; ++i) h0[i * np + i] += lambda;
      EXPECT_LE(test::max_abs_diff(h1, h0), 1e-12 * test::max_abs(h0)) << "H_λ ≠ H_0 + λI";
      auto g0 = p0->model.dense_gauss_newton(), g1 = p1.model.dense_gauss_newton();
      EXPECT_LE(test::max_abs_diff(g1, g0), 1e-12 * test::max_abs(g0)) << "G must not include λI";
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Symmetries of the loss (papers.md, Paper A).

// Dense weights/biases of every layer.
struct Layers {
  std::vector<std::vector<double>> w, b;
};

Layers unpack_all(const Network& net, const std::vector<double>& theta) {
  Layers ls;
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto& ly = net.layer(l);
    ls.w.emplace_back(static_cast<std::size_t>(ly.out) * ly.in);
    ls.b.emplace_back(ly.out);
    net.unpack_layer(theta, l, ls.w.back().data(), ls.b.back().data());
  }
  return ls;
}

std::vector<double> pack_all(const Network& net, const Layers& ls) {
  std::vector<double> theta(net.num_params());
  for (int l = 0; l < net.num_layers(); ++l)
    net.pack_layer(ls.w[l].data(), ls.b[l].data(), l, theta);
  return theta;
}

// Reorders the neurons of hidden layer h (the outputs of W_h, 0-based layer index h):
// new neuron i = old neuron perm[i]: rows of W_h and b_h, columns of W_{h+1}.
void permute_hidden(const Network& net, Layers& ls, int h, const std::vector<int>& perm) {
  const auto& a = net.layer(h);
  const auto& nx = net.layer(h + 1);
  auto w = ls.w[h], b = ls.b[h], w2 = ls.w[h + 1];
  for (int i = 0; i < a.out; ++i) {
    for (int c = 0; c < a.in; ++c) ls.w[h][i * a.in + c] = w[perm[i] * a.in + c];
    ls.b[h][i] = b[perm[i]];
    for (int r = 0; r < nx.out; ++r) ls.w[h + 1][r * nx.in + i] = w2[r * nx.in + perm[i]];
  }
}

// Flips the sign of neuron j of hidden layer h: row j of W_h, b_h[j] and column j of W_{h+1}.
void flip_hidden(const Network& net, Layers& ls, int h, int j) {
  const auto& a = net.layer(h);
  const auto& nx = net.layer(h + 1);
  for (int c = 0; c < a.in; ++c) ls.w[h][j * a.in + c] *= -1.0;
  ls.b[h][j] *= -1.0;
  for (int r = 0; r < nx.out; ++r) ls.w[h + 1][r * nx.in + j] *= -1.0;
}

void expect_same_spectrum(Problem& a, Problem& b, double rel) {
  const std::ptrdiff_t np = a.net.num_params();
  auto ea = test::reference_eigenvalues(a.model.dense_hessian(), np);
  auto eb = test::reference_eigenvalues(b.model.dense_hessian(), np);
  const double scale = std::max(std::abs(ea.front()), std::abs(ea.back()));
  const double err = test::max_abs_diff(ea, eb);
  EXPECT_LE(err, rel * scale) << "sorted spectra differ by " << err << ", |λ|max = " << scale;
}

TEST(LossSymmetry, PermutingHiddenNeuronsKeepsLossAndSpectrum) {
  for (const auto& name : activation_names()) {
    for (double lambda : {0.0, 0.1}) {
      for (const auto& widths : std::vector<std::vector<int>>{{3, 4, 2}, {3, 4, 3, 2}}) {
        Config c{name, widths, false, lambda};
        SCOPED_TRACE(c.label());
        auto p = make_problem(c, 222);
        Layers ls = unpack_all(p->net, p->theta);
        permute_hidden(p->net, ls, 0, {2, 0, 3, 1});
        if (widths.size() == 4) permute_hidden(p->net, ls, 1, {1, 2, 0});
        auto theta2 = pack_all(p->net, ls);
        ASSERT_NE(theta2, p->theta);
        Problem q(p->net.architecture(), p->data, lambda);
        q.model.set_point(theta2);
        const double v = p->model.value();
        EXPECT_NEAR(q.model.value(), v, 1e-10 * std::abs(v));
        expect_same_spectrum(*p, q, 1e-10);
      }
    }
  }
}

// tanh is odd: (w_j, b_j, a_j) → −(w_j, b_j, a_j) gives the same function (Sussmann's
// sign symmetry), also for a neuron of the first of two hidden layers.
TEST(LossSymmetry, TanhSignFlipKeepsLoss) {
  for (double lambda : {0.0, 0.1}) {
    for (const auto& widths : std::vector<std::vector<int>>{{3, 4, 2}, {3, 4, 3, 2}}) {
      Config c{"tanh", widths, false, lambda};
      SCOPED_TRACE(c.label());
      auto p = make_problem(c, 333);
      for (int j = 0; j < 4; ++j) {
        SCOPED_TRACE("neuron " + std::to_string(j));
        Layers ls = unpack_all(p->net, p->theta);
        flip_hidden(p->net, ls, 0, j);
        auto theta2 = pack_all(p->net, ls);
        Problem q(p->net.architecture(), p->data, lambda);
        q.model.set_point(theta2);
        const double v = p->model.value();
        EXPECT_NEAR(q.model.value(), v, 1e-12 * std::abs(v));
        expect_same_spectrum(*p, q, 1e-10);
      }
    }
  }
}

// Linear network d = 3, n = 2, m = 3 at a zero-loss point: W2 W1 = (W2 A⁻¹)(A W1) for A in
// GL(n) (b1 → A b1 too), so the Hessian has ≥ n² = 4 zero eigenvalues, and the n² tangent
// directions (E W1, E b1, −W2 E, 0) of that action are in its kernel.
TEST(LossSymmetry, LinearNetworkHasGLnFlatDirections) {
  const int n = 2;
  Config c{"identity", {3, n, 3}, false, 0.0};
  auto p = make_problem(c, 444, /*zero_residual=*/true, /*samples=*/50);
  const std::ptrdiff_t np = p->net.num_params();
  ASSERT_EQ(np, 3 * n + n + n * 3 + 3);
  EXPECT_LE(p->model.data_loss(), 1e-20);
  auto h = p->model.dense_hessian();
  auto ev = symmetric_eigenvalues(h, np);
  ASSERT_EQ(static_cast<std::ptrdiff_t>(ev.size()), np);
  const double lmax = std::max(std::abs(ev.front()), std::abs(ev.back()));
  int zeros = 0;
  for (double e : ev) zeros += std::abs(e) <= 1e-9 * lmax ? 1 : 0;
  EXPECT_GE(zeros, n * n) << "eigenvalues: " << ::testing::PrintToString(ev);

  Layers ls = unpack_all(p->net, p->theta);
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) {
      SCOPED_TRACE("generator E_" + std::to_string(a) + std::to_string(b));
      Layers dl = ls;  // δW1 = E W1, δb1 = E b1, δW2 = −W2 E, δb2 = 0 with E = e_a e_bᵀ
      std::fill(dl.w[0].begin(), dl.w[0].end(), 0.0);
      std::fill(dl.b[0].begin(), dl.b[0].end(), 0.0);
      std::fill(dl.w[1].begin(), dl.w[1].end(), 0.0);
      std::fill(dl.b[1].begin(), dl.b[1].end(), 0.0);
      for (int col = 0; col < 3; ++col) dl.w[0][a * 3 + col] = ls.w[0][b * 3 + col];
      dl.b[0][a] = ls.b[0][b];
      for (int r = 0; r < 3; ++r) dl.w[1][r * n + b] = -ls.w[1][r * n + a];
      auto delta = pack_all(p->net, dl);
      std::vector<double> hd(np);
      p->model.hessian_product(delta, hd);
      EXPECT_LE(test::norm2(hd), 1e-9 * lmax * test::norm2(delta));
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

void construct_model(const Network& net, const Dataset& data) {
  LossModel model(net, data, 0.0);
  (void)model;
}

TEST(LossModelErrors, DimensionMismatchThrows) {
  std::mt19937_64 rng(555);
  Network net(make_arch({3, 4, 2}, Activation::tanh));
  Dataset good = test::random_dataset(10, 3, 2, rng);
  EXPECT_NO_THROW(construct_model(net, good));
  Dataset wrong_d = test::random_dataset(10, 2, 2, rng);
  EXPECT_THROW(construct_model(net, wrong_d), Error);
  Dataset wrong_m = test::random_dataset(10, 3, 1, rng);
  EXPECT_THROW(construct_model(net, wrong_m), Error);
  Dataset both = test::random_dataset(10, 2, 3, rng);
  EXPECT_THROW(construct_model(net, both), Error);
}

TEST(LossModelErrors, SetPointWrongLengthThrows) {
  std::mt19937_64 rng(666);
  Network net(make_arch({3, 4, 2}, Activation::tanh));
  Dataset data = test::random_dataset(10, 3, 2, rng);
  LossModel model(net, data, 0.0);
  const std::ptrdiff_t np = net.num_params();
  std::vector<double> ok(np, 0.1), shorter(np - 1, 0.1), longer(np + 1, 0.1), empty;
  EXPECT_NO_THROW(model.set_point(ok));
  EXPECT_THROW(model.set_point(shorter), Error);
  EXPECT_THROW(model.set_point(longer), Error);
  EXPECT_THROW(model.set_point(empty), Error);
}

}  // namespace
}  // namespace nnscape
