// Network: architecture validation, the parameter layout (papers.md "Conventions") and predict().
// Expected values are derived from the documented conventions, not from src/network.cpp:
//   P = Σ_l (|I_l| + N_l); θ = layer by layer, the free entries of W_l row-major (out × in),
//   then b_l (PyTorch nn.Linear order); masked entries are not parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/network.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

using test::make_arch;

std::ptrdiff_t expected_num_params(const std::vector<int>& widths, const std::vector<Mask>& masks) {
  std::ptrdiff_t p = 0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    int free = masks.empty() ? widths[l] * widths[l + 1] : 0;
    if (!masks.empty())
      for (auto b : masks[l].bits) free += b ? 1 : 0;
    p += free + widths[l + 1];
  }
  return p;
}

// θ of the dense network that realizes the same function as masked θ: zeros at masked entries.
std::vector<double> dense_theta_from_masked(const std::vector<int>& widths,
                                            const std::vector<Mask>& masks,
                                            const std::vector<double>& theta) {
  std::vector<double> dense;
  std::size_t k = 0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    const Mask& m = masks[l];
    for (int r = 0; r < m.rows; ++r)
      for (int c = 0; c < m.cols; ++c) dense.push_back(m.at(r, c) ? theta[k++] : 0.0);
    for (int r = 0; r < widths[l + 1]; ++r) dense.push_back(theta[k++]);
  }
  EXPECT_EQ(k, theta.size());
  return dense;
}

TEST(Mask, DenseAndCount) {
  Mask m = Mask::dense(3, 2);
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 2);
  ASSERT_EQ(m.bits.size(), 6u);
  EXPECT_EQ(m.count(), 6);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) EXPECT_TRUE(m.at(r, c));
  m.bits[1] = 0;  // (0, 1)
  m.bits[4] = 0;  // (2, 0)
  EXPECT_EQ(m.count(), 4);
  EXPECT_FALSE(m.at(0, 1));
  EXPECT_FALSE(m.at(2, 0));
  EXPECT_TRUE(m.at(1, 1));
}

TEST(Network, NumParamsDense) {
  for (const auto& widths : std::vector<std::vector<int>>{
           {2, 3, 1}, {3, 4, 2}, {3, 4, 3, 2}, {1, 1}, {5, 2}, {2, 7, 1, 6, 3}}) {
    SCOPED_TRACE(::testing::PrintToString(widths));
    Network net(make_arch(widths, Activation::tanh));
    EXPECT_EQ(net.num_params(), expected_num_params(widths, {}));
    EXPECT_EQ(net.num_layers(), static_cast<int>(widths.size()) - 1);
    EXPECT_EQ(net.input_dim(), widths.front());
    EXPECT_EQ(net.output_dim(), widths.back());
  }
  // Hand-counted: {2,3,1}: 6 + 3 + 3 + 1 = 13; {3,4,3,2}: 12+4 + 12+3 + 6+2 = 39.
  EXPECT_EQ(Network(make_arch({2, 3, 1}, Activation::tanh)).num_params(), 13);
  EXPECT_EQ(Network(make_arch({3, 4, 3, 2}, Activation::relu)).num_params(), 39);
}

TEST(Network, NumParamsMaskedAndLayout) {
  std::mt19937_64 rng(101);
  for (const auto& widths : std::vector<std::vector<int>>{
           {2, 3, 1}, {3, 4, 2}, {3, 4, 3, 2}, {4, 4, 4}, {2, 7, 1, 6, 3}}) {
    SCOPED_TRACE(::testing::PrintToString(widths));
    auto masks = test::random_masks(widths, rng);
    Network net(make_arch(widths, Activation::sigmoid, masks));
    ASSERT_EQ(net.num_params(), expected_num_params(widths, masks));
    // Layout: layers follow each other; weights first (free entries, row-major), then biases.
    std::ptrdiff_t offset = 0;
    for (int l = 0; l < net.num_layers(); ++l) {
      const LayerLayout& ly = net.layer(l);
      EXPECT_EQ(ly.in, widths[l]);
      EXPECT_EQ(ly.out, widths[l + 1]);
      EXPECT_EQ(ly.weight_offset, offset);
      std::vector<int> free;
      for (int r = 0; r < ly.out; ++r)
        for (int c = 0; c < ly.in; ++c)
          if (masks[l].at(r, c)) free.push_back(r * ly.in + c);
      EXPECT_EQ(ly.free_entries, free);
      EXPECT_EQ(ly.bias_offset, offset + static_cast<std::ptrdiff_t>(free.size()));
      offset += static_cast<std::ptrdiff_t>(free.size()) + ly.out;
    }
    EXPECT_EQ(offset, net.num_params());
  }
}

// θ = 1..P: unpack_layer puts 0 exactly at masked entries and each θ value exactly once, in the
// documented order; pack_layer ∘ unpack_layer is the identity on θ.
void check_unpack_pack(const std::vector<int>& widths, const std::vector<Mask>& masks) {
  Network net(make_arch(widths, Activation::tanh, masks));
  const std::ptrdiff_t p = net.num_params();
  std::vector<double> theta(p);
  std::iota(theta.begin(), theta.end(), 1.0);

  std::vector<double> seen;
  std::vector<double> packed(p, -1.0);
  double next = 1.0;  // the documented order: W_l row-major free entries, then b_l
  for (int l = 0; l < net.num_layers(); ++l) {
    SCOPED_TRACE("layer " + std::to_string(l));
    const int out = widths[l + 1], in = widths[l];
    std::vector<double> w(static_cast<std::size_t>(out) * in, -7.0), b(out, -7.0);
    net.unpack_layer(theta, l, w.data(), b.data());
    for (int r = 0; r < out; ++r)
      for (int c = 0; c < in; ++c) {
        double v = w[static_cast<std::size_t>(r) * in + c];
        bool free = masks.empty() || masks[l].at(r, c);
        if (free) {
          EXPECT_EQ(v, next) << "W(" << r << "," << c << ")";
          next += 1.0;
          seen.push_back(v);
        } else {
          EXPECT_EQ(v, 0.0) << "masked W(" << r << "," << c << ") must be 0";
        }
      }
    for (int r = 0; r < out; ++r) {
      EXPECT_EQ(b[r], next) << "b(" << r << ")";
      next += 1.0;
      seen.push_back(b[r]);
    }
    // Garbage at masked entries must not leak into θ.
    for (int r = 0; r < out; ++r)
      for (int c = 0; c < in; ++c)
        if (!(masks.empty() || masks[l].at(r, c))) w[static_cast<std::size_t>(r) * in + c] = 999.0;
    net.pack_layer(w.data(), b.data(), l, packed);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, theta) << "every θ value must appear exactly once";
  EXPECT_EQ(packed, theta) << "pack_layer ∘ unpack_layer must be the identity on θ";
}

TEST(Network, UnpackPackDense) {
  for (const auto& widths : std::vector<std::vector<int>>{{2, 3, 1}, {3, 4, 3, 2}, {1, 1}}) {
    SCOPED_TRACE(::testing::PrintToString(widths));
    check_unpack_pack(widths, {});
  }
}

TEST(Network, UnpackPackMasked) {
  std::mt19937_64 rng(202);
  for (const auto& widths : std::vector<std::vector<int>>{
           {2, 3, 1}, {3, 4, 2}, {3, 4, 3, 2}, {5, 5, 5}, {2, 7, 1, 6, 3}}) {
    for (int rep = 0; rep < 3; ++rep) {
      SCOPED_TRACE(::testing::PrintToString(widths) + " rep " + std::to_string(rep));
      check_unpack_pack(widths, test::random_masks(widths, rng, 0.5));
    }
  }
  // Explicit dense masks are the same as no masks.
  std::vector<Mask> dense = {Mask::dense(3, 2), Mask::dense(1, 3)};
  EXPECT_EQ(Network(make_arch({2, 3, 1}, Activation::tanh, dense)).num_params(), 13);
  check_unpack_pack({2, 3, 1}, dense);
}

// Parameter order = PyTorch nn.Linear: widths {2,3,1},
// θ = [W1 (3×2 row-major), b1 (3), W2 (1×3), b2 (1)]; predict() = the hand-written forward pass.
TEST(Network, PredictMatchesHandComputedForwardPass) {
  const std::vector<double> theta = {0.3, -0.7,  1.1,  0.4, -0.2, 0.9,   // W1 rows: w1, w2, w3
                                     0.05, -0.3, 0.6,                    // b1
                                     1.5, -0.8, 0.35,                    // W2 = (a1, a2, a3)
                                     -0.25};                             // b2
  const std::vector<double> x = {0.5, -1.0, -0.3, 0.8, 1.2, 0.1, 0.0, 0.0};  // 4 inputs in R²
  for (Activation act : {Activation::tanh, Activation::identity}) {
    SCOPED_TRACE(std::string(to_string(act)));
    auto s = [act](double z) { return act == Activation::tanh ? std::tanh(z) : z; };
    Network net(make_arch({2, 3, 1}, act));
    ASSERT_EQ(net.num_params(), 13);
    auto f = net.predict(theta, x.data(), 4);
    ASSERT_EQ(f.size(), 4u);
    for (int i = 0; i < 4; ++i) {
      double x1 = x[2 * i], x2 = x[2 * i + 1];
      double h1 = s(0.3 * x1 - 0.7 * x2 + 0.05);
      double h2 = s(1.1 * x1 + 0.4 * x2 - 0.3);
      double h3 = s(-0.2 * x1 + 0.9 * x2 + 0.6);
      double expected = 1.5 * h1 - 0.8 * h2 + 0.35 * h3 - 0.25;
      EXPECT_NEAR(f[i], expected, 1e-14) << "sample " << i;
    }
  }
}

// Two outputs: W2 is 2×3 row-major, so θ[9 + 3r + c] = W2(r, c).
TEST(Network, PredictTwoOutputsRowMajor) {
  std::vector<double> theta = {0.3, -0.7, 1.1, 0.4, -0.2, 0.9,  // W1
                               0.05, -0.3, 0.6,                 // b1
                               1.5, -0.8, 0.35,                 // W2 row 0
                               -0.6, 0.2, 0.9,                  // W2 row 1
                               -0.25, 0.4};                     // b2
  const std::vector<double> x = {0.5, -1.0, -0.3, 0.8};
  Network net(make_arch({2, 3, 2}, Activation::tanh));
  ASSERT_EQ(net.num_params(), 17);
  auto f = net.predict(theta, x.data(), 2);
  ASSERT_EQ(f.size(), 4u);
  for (int i = 0; i < 2; ++i) {
    double x1 = x[2 * i], x2 = x[2 * i + 1];
    double h1 = std::tanh(0.3 * x1 - 0.7 * x2 + 0.05);
    double h2 = std::tanh(1.1 * x1 + 0.4 * x2 - 0.3);
    double h3 = std::tanh(-0.2 * x1 + 0.9 * x2 + 0.6);
    EXPECT_NEAR(f[2 * i + 0], 1.5 * h1 - 0.8 * h2 + 0.35 * h3 - 0.25, 1e-14);
    EXPECT_NEAR(f[2 * i + 1], -0.6 * h1 + 0.2 * h2 + 0.9 * h3 + 0.4, 1e-14);
  }
}

// Two hidden layers, relu (exact arithmetic apart from rounding), hand-written.
TEST(Network, PredictTwoHiddenLayersRelu) {
  // widths {1, 2, 2, 1}: W1 2×1, b1 2, W2 2×2, b2 2, W3 1×2, b3 1 → P = 2+2+4+2+2+1 = 13.
  std::vector<double> theta = {1.0, -2.0, 0.5, 0.25, 1.0, 3.0, -1.0, 0.5, -0.1, 0.2, 2.0, -1.5,
                               0.7};
  Network net(make_arch({1, 2, 2, 1}, Activation::relu));
  ASSERT_EQ(net.num_params(), 13);
  const std::vector<double> x = {-1.0, 0.3, 2.0};
  auto f = net.predict(theta, x.data(), 3);
  ASSERT_EQ(f.size(), 3u);
  auto relu = [](double z) { return z > 0 ? z : 0.0; };
  for (int i = 0; i < 3; ++i) {
    double h1 = relu(1.0 * x[i] + 0.5), h2 = relu(-2.0 * x[i] + 0.25);
    double g1 = relu(1.0 * h1 + 3.0 * h2 - 0.1), g2 = relu(-1.0 * h1 + 0.5 * h2 + 0.2);
    EXPECT_NEAR(f[i], 2.0 * g1 - 1.5 * g2 + 0.7, 1e-14) << "x = " << x[i];
  }
}

// A masked network computes the same function as the dense one with zeros at masked entries.
TEST(Network, MaskedPredictEqualsDenseWithZeros) {
  std::mt19937_64 rng(303);
  for (const auto& widths : std::vector<std::vector<int>>{{3, 4, 2}, {3, 4, 3, 2}}) {
    for (const auto& name : activation_names()) {
      SCOPED_TRACE(::testing::PrintToString(widths) + " " + name);
      Activation act = parse_activation(name);
      auto masks = test::random_masks(widths, rng);
      Network masked(make_arch(widths, act, masks));
      Network dense(make_arch(widths, act));
      auto theta = test::normal_vector(masked.num_params(), rng);
      auto theta_dense = dense_theta_from_masked(widths, masks, theta);
      ASSERT_EQ(static_cast<std::ptrdiff_t>(theta_dense.size()), dense.num_params());
      auto x = test::uniform_vector(10 * widths.front(), rng, -1, 1);
      auto fm = masked.predict(theta, x.data(), 10);
      auto fd = dense.predict(theta_dense, x.data(), 10);
      ASSERT_EQ(fm.size(), static_cast<std::size_t>(10 * widths.back()));
      EXPECT_LE(test::max_abs_diff(fm, fd), 1e-13 * std::max(1.0, test::max_abs(fd)));
    }
  }
}

// Builds and discards a network (the constructor is what validates).
void construct(Architecture arch) {
  Network net(std::move(arch));
  (void)net;
}

TEST(Network, BadArchitecturesThrow) {
  EXPECT_THROW(construct(make_arch({}, Activation::tanh)), Error);
  EXPECT_THROW(construct(make_arch({3}, Activation::tanh)), Error);
  EXPECT_THROW(construct(make_arch({2, 0, 1}, Activation::tanh)), Error);
  EXPECT_THROW(construct(make_arch({0, 3, 1}, Activation::tanh)), Error);
  EXPECT_THROW(construct(make_arch({2, 3, 0}, Activation::tanh)), Error);
  EXPECT_THROW(construct(make_arch({2, -1, 1}, Activation::tanh)), Error);

  // Sanity: the valid masked architecture is accepted.
  EXPECT_NO_THROW(construct(make_arch({2, 3, 1}, Activation::tanh,
                                    {Mask::dense(3, 2), Mask::dense(1, 3)})));
  // Wrong number of masks.
  EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh, {Mask::dense(3, 2)})), Error);
  EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh,
                                 {Mask::dense(3, 2), Mask::dense(1, 3), Mask::dense(1, 1)})),
               Error);
  // Wrong shapes (transposed, wrong rows, wrong cols).
  EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh,
                                 {Mask::dense(2, 3), Mask::dense(1, 3)})),
               Error);
  EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh,
                                 {Mask::dense(3, 2), Mask::dense(3, 1)})),
               Error);
  EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh,
                                 {Mask::dense(3, 2), Mask::dense(1, 2)})),
               Error);
  // bits of the wrong length for rows × cols.
  {
    Mask bad = Mask::dense(3, 2);
    bad.bits.pop_back();
    EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh, {bad, Mask::dense(1, 3)})), Error);
    Mask longer = Mask::dense(1, 3);
    longer.bits.push_back(1);
    EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh, {Mask::dense(3, 2), longer})),
                 Error);
  }
  // Entries other than 0/1.
  {
    Mask two = Mask::dense(3, 2);
    two.bits[3] = 2;
    EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh, {two, Mask::dense(1, 3)})), Error);
    Mask big = Mask::dense(1, 3);
    big.bits[0] = 255;
    EXPECT_THROW(construct(make_arch({2, 3, 1}, Activation::tanh, {Mask::dense(3, 2), big})), Error);
  }
}

}  // namespace
}  // namespace nnscape
