// count_inertia: an eigenvalue is zero, nonzero or undecided by a stated error bound
// (inertia.hpp, papers.md); no gap heuristic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/inertia.hpp"

namespace nnscape {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// The measurement in papers.md: two true zeros at ~1e-15·λmax, the smallest genuine
// eigenvalue at 7e-9·λmax. The bound (4·P·eps·λmax ≈ 7e-15·λmax) separates them by decades.
TEST(CountInertia, PapersCaseCountsTwoZeros) {
  const double lmax = 37.5;
  const std::vector<double> rel = {1.0, 0.31, 4e-2, 2e-3, 5e-5, 7e-9, 1.1e-15, -0.8e-15};
  std::vector<double> ev;
  for (double r : rel) ev.push_back(r * lmax);
  const Inertia in = count_inertia(ev);
  EXPECT_EQ(in.n_zero, 2);
  EXPECT_EQ(in.n_pos, 6);
  EXPECT_EQ(in.n_neg, 0);
  EXPECT_EQ(in.n_undecided, 0);
  EXPECT_DOUBLE_EQ(in.scale, lmax);
  EXPECT_DOUBLE_EQ(in.threshold, 4.0 * 8 * kEps * lmax);
  EXPECT_TRUE(in.certain);
  EXPECT_NEAR(in.largest_zero, 1.1e-15, 1e-24);
  EXPECT_NEAR(in.smallest_nonzero, 7e-9, 1e-18);
}

// Issue 12's teacher (d = 3, width 5, m = 2, P = 32): λ from 5.8e-9 to 6.67 and no true zero.
// The widest-gap rule counted one zero here; the bound counts none.
TEST(CountInertia, IllConditionedStrictMinimumHasNoZero) {
  std::vector<double> ev;
  for (int i = 0; i < 32; ++i) ev.push_back(5.8e-9 * std::pow(6.67 / 5.8e-9, i / 31.0));
  const Inertia in = count_inertia(ev);
  EXPECT_EQ(in.n_zero, 0);
  EXPECT_EQ(in.n_pos, 32);
  EXPECT_TRUE(in.certain);
}

TEST(CountInertia, NegativesAreCountedAndZerosHaveEitherSign) {
  const Inertia in = count_inertia(std::vector<double>{-3.0, 0.5, -1e-2, -2e-15, 2.0, 3e-16});
  EXPECT_EQ(in.n_neg, 2);
  EXPECT_EQ(in.n_zero, 2);
  EXPECT_EQ(in.n_pos, 2);
  EXPECT_DOUBLE_EQ(in.scale, 3.0);
  EXPECT_TRUE(in.certain);
}

// A point 1e-3 from the critical set: the Hessian there differs by ~variation, so a small
// eigenvalue between the bound and margin·bound is undecided, never a guessed zero.
TEST(CountInertia, ValuesNearTheBoundAreUndecided) {
  InertiaBounds b;
  b.variation = 1e-8;
  const Inertia in = count_inertia(std::vector<double>{5e-9, 1e-7, 2e-5, 1.0}, b);
  EXPECT_EQ(in.n_zero, 1);       // 5e-9 ≤ 1e-8 + round-off
  EXPECT_EQ(in.n_undecided, 1);  // 1e-7 within 100 × the bound
  EXPECT_EQ(in.n_pos, 2);
  EXPECT_FALSE(in.certain);
  EXPECT_GT(in.threshold, 1e-8);
  EXPECT_LT(in.threshold, 1e-8 * (1 + 1e-6));
}

TEST(CountInertia, AnEstimatedVariationIsNeverCertain) {
  InertiaBounds b;
  b.variation_known = false;
  const Inertia in = count_inertia(std::vector<double>{0.5, 1.0}, b);
  EXPECT_EQ(in.n_pos, 2);
  EXPECT_EQ(in.n_undecided, 0);
  EXPECT_FALSE(in.certain);
}

TEST(CountInertia, EmptySpectrum) {
  const Inertia in = count_inertia(std::vector<double>{});
  EXPECT_EQ(in.n_neg + in.n_zero + in.n_pos + in.n_undecided, 0);
  EXPECT_EQ(in.scale, 0.0);
  EXPECT_TRUE(in.certain);
}

TEST(CountInertia, ZeroMatrixIsAllZeros) {
  const Inertia in = count_inertia(std::vector<double>{0.0, -0.0, 0.0});
  EXPECT_EQ(in.n_zero, 3);
  EXPECT_EQ(in.n_neg + in.n_pos, 0);
  EXPECT_TRUE(in.certain);
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
  EXPECT_NEAR(ia.threshold * 1e6, ib.threshold, 1e-9 * ib.threshold);
  EXPECT_EQ(ia.n_zero, 2);
  EXPECT_EQ(ia.n_neg, 1);
}

TEST(CountInertia, RefusesNonFiniteValuesAndBadBounds) {
  EXPECT_THROW(count_inertia(std::vector<double>{1.0, std::nan("")}), Error);
  InertiaBounds bad;
  bad.margin = 0.5;
  EXPECT_THROW(count_inertia(std::vector<double>{1.0}, bad), Error);
  bad = {};
  bad.variation = -1.0;
  EXPECT_THROW(count_inertia(std::vector<double>{1.0}, bad), Error);
}

}  // namespace
}  // namespace nnscape
