// polish: Newton steps with the exact Hessian, on points of known truth — a teacher (an exact
// zero-residual strict minimum) and a zero-residual duplicate split (a non-isolated minimum).
// openblas cores: Haswell SkylakeX
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "nnscape/polish.hpp"
#include "nnscape/symmetric_eigen.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

// A tanh teacher d = 2, width 3, m = 1 on 300 inputs in [−1, 1]², targets its own outputs.
struct Teacher {
  Teacher(int width, std::uint64_t seed)
      : rng(seed),
        p(test::make_arch({2, width, 1}, Activation::tanh), test::random_dataset(300, 2, 1, rng),
          0.0) {
    p.theta = test::normal_vector(static_cast<std::size_t>(p.net.num_params()), rng, 1.0);
    p.data.y = p.net.predict(p.theta, p.data.x.data(), p.data.n);
  }
  std::mt19937_64 rng;
  test::Problem p;
};

TEST(Polish, ReturnsToAStrictMinimumToRoundOff) {
  Teacher t(3, 5);
  t.p.model.set_point(t.p.theta);
  // Premise: the teacher is a nondegenerate minimum (its Hessian's smallest eigenvalue is clear
  // of zero), so Newton converges quadratically to it from 1e-4 away.
  const auto ev = symmetric_eigenvalues(t.p.model.dense_hessian(), t.p.net.num_params());
  ASSERT_GT(ev.front(), 1e-8 * ev.back());
  const std::vector<double> start = test::nudged(t.p.theta, 1e-4, t.rng);
  const PolishResult r = polish(t.p.model, start);
  EXPECT_TRUE(r.applied);
  EXPECT_GE(r.steps, 2);
  EXPECT_LT(test::diff_norm(r.theta, t.p.theta), 1e-11);
  EXPECT_NEAR(r.distance, 1e-4, 1e-6);
  EXPECT_LT(r.grad_after, 1e-14);
  EXPECT_LT(r.grad_after, 1e-6 * r.grad_before);
  EXPECT_LT(r.loss_after, 1e-26);
  EXPECT_LT(r.next_step, 1e-11);
  // The model is left at the result.
  EXPECT_EQ(test::max_abs_diff(t.p.model.point(), r.theta), 0.0);
}

// Width 4 made of the width-3 teacher with unit 2 duplicated (output weight split 0.3/0.7):
// the zero-loss set through it is a manifold, and Newton with the pseudo-inverse walks to a
// point of it, not along it.
TEST(Polish, LandsOnANonIsolatedZeroResidualMinimum) {
  Teacher t(3, 5);
  const int d = 2, n = 3;
  const std::vector<double>& s = t.p.theta;  // W1 (3×2), b1 (3), W2 (1×3), c
  std::vector<double> wide;
  for (int j = 0; j < n; ++j) wide.insert(wide.end(), {s[j * d], s[j * d + 1]});
  wide.insert(wide.end(), {s[2 * d], s[2 * d + 1]});
  for (int j = 0; j < n; ++j) wide.push_back(s[n * d + j]);
  wide.push_back(s[n * d + 2]);
  const double a2 = s[n * d + n + 2];
  for (int j = 0; j < 2; ++j) wide.push_back(s[n * d + n + j]);
  wide.insert(wide.end(), {0.3 * a2, 0.7 * a2, s[n * d + n + n]});
  test::Problem wp(test::make_arch({2, 4, 1}, Activation::tanh), t.p.data, 0.0);
  ASSERT_EQ(wide.size(), static_cast<std::size_t>(wp.net.num_params()));
  wp.model.set_point(wide);
  ASSERT_LT(wp.model.value(), 1e-28);  // premise: an exact zero-residual point

  const std::vector<double> start = test::nudged(wide, 1e-5, t.rng);
  const PolishResult r = polish(wp.model, start);
  EXPECT_TRUE(r.applied);
  EXPECT_GE(r.steps, 1);
  EXPECT_LT(r.loss_after, 1e-26);
  EXPECT_LT(r.grad_after, 1e-13);
  // It stays near where it started (the set is a manifold; any point of it will do).
  EXPECT_LT(r.distance, 2e-5);
}

TEST(Polish, NeverMovesFartherThanItsBudget) {
  Teacher t(3, 7);
  std::vector<double> far = test::normal_vector(t.p.theta.size(), t.rng, 1.0);
  PolishOptions o;
  o.max_move = 1e-3;
  const PolishResult r = polish(t.p.model, far, o);
  EXPECT_LE(r.distance, 1e-3 * std::max(1.0, test::norm2(far)) * (1 + 1e-12));
  EXPECT_LE(r.grad_after, r.grad_before);
}

TEST(Polish, LargeNetworksAndNonFinitePointsAreLeftAlone) {
  Teacher t(3, 5);
  PolishOptions o;
  o.dense_limit = 5;
  const PolishResult big = polish(t.p.model, t.p.theta, o);
  EXPECT_FALSE(big.applied);
  EXPECT_EQ(big.steps, 0);
  EXPECT_EQ(test::max_abs_diff(big.theta, t.p.theta), 0.0);
  std::vector<double> bad = t.p.theta;
  bad[0] = std::nan("");
  const PolishResult nf = polish(t.p.model, bad);
  EXPECT_FALSE(nf.applied);
  EXPECT_EQ(nf.steps, 0);
}

}  // namespace
}  // namespace nnscape
