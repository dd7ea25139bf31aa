// Init room: parse_init and initialize (θ layout, determinism, the distribution of each scheme,
// masked networks).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/init.hpp"
#include "nnscape/network.hpp"
#include "nnscape/random.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

using test::make_arch;

void expect_error(const std::string& text, const std::string& phrase) {
  try {
    parse_init(text);
    ADD_FAILURE() << "parse_init(\"" << text << "\") did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(phrase), std::string::npos)
        << "message: " << e.what() << "\nexpected to contain: " << phrase;
  }
}

TEST(ParseInit, SchemesAndScales) {
  EXPECT_EQ(parse_init("pytorch").scheme, InitScheme::pytorch);
  EXPECT_EQ(parse_init("pytorch").scale, 1.0);
  EXPECT_EQ(parse_init("normal").scheme, InitScheme::normal);
  EXPECT_EQ(parse_init("normal").scale, 1.0);
  EXPECT_EQ(parse_init("normal:scale=0.5").scale, 0.5);
  EXPECT_EQ(parse_init("small").scheme, InitScheme::small);
  EXPECT_EQ(parse_init("small").scale, 1e-3);
  EXPECT_EQ(parse_init("small:scale=1e-4").scale, 1e-4);
  EXPECT_EQ(parse_init(" small : scale = 2e-2 ").scale, 2e-2);
  EXPECT_EQ(parse_init("pytorch:scale=2").scale, 2.0);
}

TEST(ParseInit, Errors) {
  expect_error("xavier", "unknown initialization 'xavier'");
  expect_error("xavier", "pytorch, normal, small");
  expect_error("", "unknown initialization ''");
  expect_error("normal:gain=2", "unknown key 'gain'");
  expect_error("normal:scale", "scale needs a value");
  expect_error("normal:scale=abc", "scale='abc'");
  expect_error("normal:scale=1x", "scale='1x'");
  expect_error("normal:scale=-1", "not a finite number > 0");
  expect_error("normal:scale=0", "not a finite number > 0");
  expect_error("normal:scale=inf", "not a finite number > 0");
  expect_error("normal:scale=nan", "not a finite number > 0");
  expect_error("normal:scale=1,scale=2", "scale twice");
}

Network net_of(std::vector<int> widths, std::vector<Mask> masks = {}) {
  return Network(make_arch(std::move(widths), Activation::tanh, std::move(masks)));
}

TEST(Initialize, LengthIsPAndDeterministic) {
  const Network net = net_of({3, 5, 4, 2});
  for (const char* s : {"pytorch", "normal", "small"}) {
    const InitSpec spec = parse_init(s);
    const auto a = initialize(net, spec, 11);
    EXPECT_EQ(static_cast<std::ptrdiff_t>(a.size()), net.num_params()) << s;
    EXPECT_EQ(a, initialize(net, spec, 11)) << s;
    EXPECT_NE(a, initialize(net, spec, 12)) << s;
    for (double v : a) EXPECT_TRUE(std::isfinite(v));
  }
}

TEST(Initialize, PytorchIsTheDocumentedStream) {
  // θ_j = bound_l·(2u_j − 1), u_j the j-th uniform of RandomStream(seed, Purpose::init).
  const Network net = net_of({3, 4, 2});
  const auto theta = initialize(net, parse_init("pytorch"), 5);
  RandomStream rng(5, Purpose::init);
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto& lay = net.layer(l);
    const double bound = 1.0 / std::sqrt(static_cast<double>(lay.in));
    for (std::ptrdiff_t j = lay.weight_offset; j < lay.bias_offset + lay.out; ++j)
      EXPECT_EQ(theta[j], bound * (2.0 * rng.uniform() - 1.0));
  }
}

TEST(Initialize, PytorchBoundsAndSpread) {
  const Network net = net_of({50, 200, 3});
  const auto theta = initialize(net, parse_init("pytorch"), 3);
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto& lay = net.layer(l);
    const double bound = 1.0 / std::sqrt(static_cast<double>(lay.in));
    double mx = 0.0, sum2 = 0.0;
    const std::ptrdiff_t end = lay.bias_offset + lay.out;
    for (std::ptrdiff_t j = lay.weight_offset; j < end; ++j) {
      ASSERT_LE(std::abs(theta[j]), bound);
      mx = std::max(mx, std::abs(theta[j]));
      sum2 += theta[j] * theta[j];
    }
    const double count = static_cast<double>(end - lay.weight_offset);
    EXPECT_GT(mx, 0.9 * bound);
    // U(−b, b) has variance b²/3.
    EXPECT_NEAR(sum2 / count, bound * bound / 3, 5 * bound * bound * std::sqrt(4.0 / 45 / count));
  }
}

TEST(Initialize, NormalVarianceIsScaleSquaredOverFanIn) {
  const Network net = net_of({40, 250, 2});
  const double scale = 1.5;
  const auto theta = initialize(net, parse_init("normal:scale=1.5"), 8);
  const auto& lay = net.layer(0);  // 40·250 + 250 entries
  double sum = 0.0, sum2 = 0.0;
  const std::ptrdiff_t end = lay.bias_offset + lay.out;
  for (std::ptrdiff_t j = lay.weight_offset; j < end; ++j) {
    sum += theta[j];
    sum2 += theta[j] * theta[j];
  }
  const double count = static_cast<double>(end - lay.weight_offset);
  const double var = scale * scale / 40;
  EXPECT_NEAR(sum / count, 0.0, 5 * std::sqrt(var / count));
  EXPECT_NEAR(sum2 / count, var, 5 * var * std::sqrt(2.0 / count));
}

TEST(Initialize, SmallScaleIsTheStandardDeviation) {
  const Network net = net_of({30, 100, 30});
  for (double scale : {1e-3, 1e-4}) {
    InitSpec spec = parse_init("small");
    spec.scale = scale;
    const auto theta = initialize(net, spec, 4);
    double sum2 = 0.0, mx = 0.0;
    for (double v : theta) {
      sum2 += v * v;
      mx = std::max(mx, std::abs(v));
    }
    const double count = static_cast<double>(theta.size());
    EXPECT_NEAR(sum2 / count, scale * scale, 5 * scale * scale * std::sqrt(2.0 / count));
    EXPECT_LT(mx, 7 * scale);
  }
}

TEST(Initialize, MaskedNetworkDrawsFreeEntriesOnly) {
  std::mt19937_64 rng(99);
  const std::vector<int> widths{4, 6, 3};
  const auto masks = test::random_masks(widths, rng, 0.5);
  const Network masked = net_of(widths, masks);
  const Network dense = net_of(widths);
  ASSERT_LT(masked.num_params(), dense.num_params());
  const InitSpec spec = parse_init("normal");
  const auto theta = initialize(masked, spec, 21);
  EXPECT_EQ(static_cast<std::ptrdiff_t>(theta.size()), masked.num_params());
  EXPECT_EQ(theta, initialize(masked, spec, 21));
  // θ_j is the j-th normal of the init stream, scaled by 1/√(dense fan-in).
  RandomStream s(21, Purpose::init);
  for (int l = 0; l < masked.num_layers(); ++l) {
    const auto& lay = masked.layer(l);
    const double sd = 1.0 / std::sqrt(static_cast<double>(lay.in));
    for (std::ptrdiff_t j = lay.weight_offset; j < lay.bias_offset + lay.out; ++j)
      EXPECT_EQ(theta[j], sd * s.normal());
  }
  // The unpacked weights are zero exactly at the masked entries.
  for (int l = 0; l < masked.num_layers(); ++l) {
    const auto& lay = masked.layer(l);
    std::vector<double> w(static_cast<std::size_t>(lay.in) * lay.out), b(lay.out);
    masked.unpack_layer(theta, l, w.data(), b.data());
    for (int r = 0; r < lay.out; ++r)
      for (int c = 0; c < lay.in; ++c)
        if (!masks[l].at(r, c)) EXPECT_EQ(w[static_cast<std::size_t>(r) * lay.in + c], 0.0);
        else EXPECT_NE(w[static_cast<std::size_t>(r) * lay.in + c], 0.0);
  }
}

TEST(Initialize, RejectsABadScale) {
  InitSpec spec;
  spec.scale = 0.0;
  EXPECT_THROW(initialize(net_of({2, 2, 1}), spec, 1), Error);
}

}  // namespace
}  // namespace nnscape
