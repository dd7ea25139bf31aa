// count_inertia: zeros are found by the widest gap in the log-spectrum (inertia.hpp, papers.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/inertia.hpp"

namespace nnscape {
namespace {

// The measurement in papers.md: two true zeros at ~1e-15·λmax, the smallest genuine
// eigenvalue at 7e-9·λmax. The gap rule must count 2 where a fixed 1e-8 cut counts 3.
TEST(CountInertia, PapersCaseCountsTwoZerosWhereAFixedCutSaysThree) {
  const double lmax = 37.5;
  const std::vector<double> rel = {1.0, 0.31, 4e-2, 2e-3, 5e-5, 7e-9, 1.1e-15, -0.8e-15};
  std::vector<double> ev;
  for (double r : rel) ev.push_back(r * lmax);

  int fixed_cut = 0;
  for (double v : ev) fixed_cut += std::abs(v) < 1e-8 * lmax;
  ASSERT_EQ(fixed_cut, 3);

  const Inertia in = count_inertia(ev);
  EXPECT_EQ(in.n_zero, 2);
  EXPECT_EQ(in.n_pos, 6);
  EXPECT_EQ(in.n_neg, 0);
  EXPECT_DOUBLE_EQ(in.scale, lmax);
  EXPECT_TRUE(in.certain);
  EXPECT_NEAR(in.gap_decades, std::log10(7e-9 / 1.1e-15), 1e-9);
  EXPECT_NEAR(in.largest_zero, 1.1e-15, 1e-24);
  EXPECT_NEAR(in.smallest_nonzero, 7e-9, 1e-18);
  EXPECT_GT(in.threshold, 1.1e-15 * lmax);
  EXPECT_LT(in.threshold, 7e-9 * lmax);
}

TEST(CountInertia, WellSeparatedPositiveSpectrumHasNoZeros) {
  const Inertia in = count_inertia(std::vector<double>{2.0, 0.1, 1.0, 0.5});
  EXPECT_EQ(in.n_zero, 0);
  EXPECT_EQ(in.n_pos, 4);
  EXPECT_EQ(in.n_neg, 0);
  EXPECT_TRUE(in.certain);
  // k = 0 competes with the gap from the round-off level (1e-13) up to r_1 = 0.05.
  EXPECT_NEAR(in.gap_decades, std::log10(0.05 / 1e-13), 1e-12);
  EXPECT_EQ(in.largest_zero, 0.0);
  EXPECT_DOUBLE_EQ(in.smallest_nonzero, 0.05);
}

TEST(CountInertia, NegativesAreCountedAndZerosHaveEitherSign) {
  const Inertia in = count_inertia(std::vector<double>{-3.0, 0.5, -1e-2, -2e-15, 2.0, 3e-16});
  EXPECT_EQ(in.n_neg, 2);
  EXPECT_EQ(in.n_zero, 2);
  EXPECT_EQ(in.n_pos, 2);
  EXPECT_DOUBLE_EQ(in.scale, 3.0);
  EXPECT_TRUE(in.certain);
}

TEST(CountInertia, EmptySpectrum) {
  const Inertia in = count_inertia(std::vector<double>{});
  EXPECT_EQ(in.n_neg, 0);
  EXPECT_EQ(in.n_zero, 0);
  EXPECT_EQ(in.n_pos, 0);
  EXPECT_EQ(in.scale, 0.0);
  EXPECT_EQ(in.gap_decades, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(in.certain);
}

TEST(CountInertia, ZeroMatrixIsAllZeros) {
  const Inertia in = count_inertia(std::vector<double>{0.0, -0.0, 0.0});
  EXPECT_EQ(in.n_zero, 3);
  EXPECT_EQ(in.n_neg + in.n_pos, 0);
  EXPECT_TRUE(in.certain);
}

// An exact 0 next to round-off zeros must not open an infinite gap of its own.
TEST(CountInertia, ExactZerosJoinRoundOffZeros) {
  const Inertia in = count_inertia(std::vector<double>{0.0, 0.0, 3e-16, -5e-16, 1e-3, 1.0});
  EXPECT_EQ(in.n_zero, 4);
  EXPECT_EQ(in.n_pos, 2);
  EXPECT_TRUE(in.certain);
}

// Magnitudes one decade apart all the way down past the round-off level (1e-13): no split
// has a gap wider than one decade, below the required two, so the count is reported but
// flagged uncertain.
TEST(CountInertia, NarrowGapIsUncertain) {
  std::vector<double> ev;
  for (int e = -14; e <= 0; ++e) ev.push_back(std::pow(10.0, e));
  const Inertia in = count_inertia(ev);
  EXPECT_FALSE(in.certain);
  EXPECT_NEAR(in.gap_decades, 1.0, 1e-9);
  EXPECT_EQ(in.n_zero, 1);  // ties go to the smallest count
  EXPECT_EQ(in.n_zero + in.n_pos, 15);

  InertiaRule lenient;
  lenient.min_gap_decades = 0.5;
  EXPECT_TRUE(count_inertia(ev, lenient).certain);
}

// An efficient but badly conditioned minimum (the quickstart's: λmin/λmax ≈ 5e-6): nothing is
// near round-off, so "no zeros" is certain even though λmin sits close to the ceiling.
TEST(CountInertia, IllConditionedButNonSingularIsCertainlyNonSingular) {
  const Inertia in = count_inertia(std::vector<double>{5.2e-6, 3e-4, 0.02, 1.0});
  EXPECT_EQ(in.n_zero, 0);
  EXPECT_EQ(in.n_pos, 4);
  EXPECT_TRUE(in.certain);
  EXPECT_NEAR(in.gap_decades, std::log10(5.2e-6 / 1e-13), 1e-9);
}

TEST(CountInertia, NothingAboveTheCeilingCountsAsZero) {
  // A 10-decade gap sits above the ceiling (between 1e-2 and 1); it must not be used.
  const Inertia in = count_inertia(std::vector<double>{1e-12, 1e-2, 1.0});
  EXPECT_EQ(in.n_zero, 1);
  EXPECT_NEAR(in.gap_decades, 10.0, 1e-9);
}

TEST(CountInertia, OrderAndScaleDoNotMatter) {
  const std::vector<double> a = {1e-15, 1.0, -0.3, 7e-9, 2e-16, 4e-3};
  std::vector<double> b;
  for (double v : a) b.push_back(1e6 * v);
  std::reverse(b.begin(), b.end());
  const Inertia ia = count_inertia(a);
  const Inertia ib = count_inertia(b);
  EXPECT_EQ(ia.n_zero, ib.n_zero);
  EXPECT_EQ(ia.n_neg, ib.n_neg);
  EXPECT_EQ(ia.n_pos, ib.n_pos);
  EXPECT_NEAR(ia.gap_decades, ib.gap_decades, 1e-9);
  EXPECT_EQ(ia.n_zero, 2);
  EXPECT_EQ(ia.n_neg, 1);
}

TEST(CountInertia, RefusesNonFiniteValuesAndBadRules) {
  EXPECT_THROW(count_inertia(std::vector<double>{1.0, std::nan("")}), Error);
  InertiaRule bad;
  bad.zero_ceiling = 0.0;
  EXPECT_THROW(count_inertia(std::vector<double>{1.0}, bad), Error);
}

}  // namespace
}  // namespace nnscape
