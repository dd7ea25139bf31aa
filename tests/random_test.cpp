// Random room: Philox streams keyed by (seed, purpose, index) and derive_seed. The statistical
// checks use fixed seeds, so they are deterministic; their bounds are ~4 standard errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include "nnscape/random.hpp"

namespace nnscape {
namespace {

std::vector<std::uint64_t> words(RandomStream s, int n) {
  std::vector<std::uint64_t> v(static_cast<std::size_t>(n));
  for (auto& w : v) w = s.next_u64();
  return v;
}

TEST(RandomStream, SameKeySameSequence) {
  EXPECT_EQ(words(RandomStream(42, Purpose::init, 3), 100), words(RandomStream(42, Purpose::init, 3), 100));
  RandomStream a(7, Purpose::noise), b(7, Purpose::noise);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.normal(), b.normal());
    ASSERT_EQ(a.uniform(), b.uniform());
  }
}

TEST(RandomStream, DifferentSeedPurposeOrIndexDiffer) {
  const auto base = words(RandomStream(42, Purpose::init, 3), 16);
  EXPECT_NE(base, words(RandomStream(43, Purpose::init, 3), 16));
  EXPECT_NE(base, words(RandomStream(42, Purpose::inputs, 3), 16));
  EXPECT_NE(base, words(RandomStream(42, Purpose::init, 4), 16));
  EXPECT_NE(base, words(RandomStream(42, Purpose::init, 0), 16));
  // No word is shared between the neighbouring streams (a shared block would show up here).
  std::set<std::uint64_t> seen(base.begin(), base.end());
  for (auto s : {RandomStream(43, Purpose::init, 3), RandomStream(42, Purpose::inputs, 3),
                 RandomStream(42, Purpose::init, 4)})
    for (auto w : words(s, 16)) EXPECT_FALSE(seen.count(w));
}

TEST(RandomStream, WordsAreNotRepeatedWithinAStream) {
  const auto v = words(RandomStream(1, Purpose::test), 10000);
  EXPECT_EQ(std::set<std::uint64_t>(v.begin(), v.end()).size(), v.size());
}

TEST(RandomStream, UniformMomentsAndRange) {
  RandomStream s(2024, Purpose::test);
  const int n = 100000;
  double sum = 0.0, sum2 = 0.0, lo = 1.0, hi = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u = s.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 4 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 4 * std::sqrt(1.0 / 180 / n));
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1 - 1e-3);
}

TEST(RandomStream, UniformIs53BitsOfAWord) {
  RandomStream a(5, Purpose::test), b(5, Purpose::test);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(a.uniform(), static_cast<double>(b.next_u64() >> 11) * 0x1.0p-53);
}

TEST(RandomStream, UniformInterval) {
  RandomStream s(9, Purpose::test);
  double sum = 0.0;
  for (int i = 0; i < 10000; ++i) {
    const double u = s.uniform(-3.0, 5.0);
    ASSERT_GE(u, -3.0);
    ASSERT_LE(u, 5.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 1.0, 4 * 8 / std::sqrt(12.0 * 10000));
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

TEST(RandomStream, NormalMomentsAndKolmogorovSmirnov) {
  RandomStream s(31337, Purpose::test);
  const int n = 100000;
  std::vector<double> z(n);
  double sum = 0.0, sum2 = 0.0, sum4 = 0.0;
  for (auto& v : z) {
    v = s.normal();
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sum2 += v * v;
    sum4 += v * v * v * v;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 4 / std::sqrt(n));
  EXPECT_NEAR(var, 1.0, 4 * std::sqrt(2.0 / n));
  EXPECT_NEAR(sum4 / n, 3.0, 4 * std::sqrt(96.0 / n));  // Var(z⁴) = 105 − 9
  std::sort(z.begin(), z.end());
  double ks = 0.0;
  for (int i = 0; i < n; ++i) {
    const double f = normal_cdf(z[i]);
    ks = std::max({ks, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  EXPECT_LT(ks, 1.63 / std::sqrt(n));  // the 1% critical value of the KS statistic
}

TEST(RandomStream, NormalPairsAreUncorrelated) {
  RandomStream s(77, Purpose::test);
  const int n = 50000;
  double c = 0.0;
  for (int i = 0; i < n; ++i) c += s.normal() * s.normal();
  EXPECT_NEAR(c / n, 0.0, 4 / std::sqrt(n));
}

TEST(DeriveSeed, DeterministicAndDistinctForNeighbours) {
  EXPECT_EQ(derive_seed(1, 2, 3), derive_seed(1, 2, 3));
  std::set<std::uint64_t> seen;
  int count = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed)
    for (std::uint64_t a = 0; a < 20; ++a)
      for (std::uint64_t b = 0; b < 5; ++b) {
        seen.insert(derive_seed(seed, a, b));
        ++count;
      }
  EXPECT_EQ(static_cast<int>(seen.size()), count);
  EXPECT_NE(derive_seed(0, 1), derive_seed(1, 0));  // not symmetric
  EXPECT_EQ(derive_seed(5, Purpose::teacher), derive_seed(5, static_cast<std::uint64_t>(Purpose::teacher)));
  // Neighbouring seeds differ in about half their bits (avalanche).
  double bits = 0.0;
  for (std::uint64_t s = 0; s < 1000; ++s)
    bits += __builtin_popcountll(derive_seed(s, 0) ^ derive_seed(s + 1, 0));
  EXPECT_NEAR(bits / 1000, 32.0, 1.0);
}

}  // namespace
}  // namespace nnscape
