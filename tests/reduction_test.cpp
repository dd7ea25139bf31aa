// reduce_to_core, embed and jacobian_rank on constructed points of known truth: an efficient
// random teacher, widened by exact splits, dead and constant units that leave its function
// unchanged. Then (i) the reduction names the findings and recovers the teacher, (ii) the
// embedding of the core realizes the core's function, (iii) the Jacobian's nullity at the exact
// point is papers.md's count, certain, (iv) the teacher itself has nullity 0, (v) 1e-6 away
// the reduction still applies and its embedding is the projection onto the redundant set,
// (vi) networks outside the rules are refused with a reason.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "nnscape/classify.hpp"
#include "nnscape/error.hpp"
#include "nnscape/reduction.hpp"
#include "constructed_points.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

using namespace test;  // NOLINT: the constructions of constructed_points.hpp

// (i)–(iii) for an exactly constructed point `full` whose core is the teacher.
void check_exact(const std::string& what, const Teacher& t, const Params& full,
                 const std::string& description, int expected_nullity) {
  SCOPED_TRACE(what);
  const Network net(full.arch(t.act));
  const std::vector<double> theta = full.theta();
  const RedundancyReport rep = analyse_redundancy(net, theta, t.data);
  const Reduction r = reduce_to_core(net, theta, rep);
  ASSERT_TRUE(r.applicable) << r.reason;
  EXPECT_EQ(r.description, description);
  EXPECT_EQ(r.core.widths, (std::vector<int>{kD, kTeacherWidth, full.m}));
  // The reduction recovers the teacher (its units keep their order: representatives first).
  const std::vector<double> teacher = t.p.theta();
  EXPECT_LE(test::diff_norm(r.core_theta, teacher), 1e-14 * test::norm2(teacher));

  const Network core(r.core);
  const std::vector<double> emb = embed(net, r, r.core_theta);
  const auto f_core = core.predict(r.core_theta, t.data.x.data(), t.data.n);
  const auto f_full = net.predict(emb, t.data.x.data(), t.data.n);
  EXPECT_LE(test::max_abs_diff(f_full, f_core), 1e-14 * test::max_abs(f_core));
  EXPECT_LE(test::diff_norm(emb, theta), 1e-14 * test::norm2(theta));

  const JacobianRank jr = jacobian_rank(net, t.data, emb);
  const JacobianRank jc = jacobian_rank(core, t.data, r.core_theta);
  std::printf("[nullity] %-36s expected %2d measured %2d report %2d (P=%td, largest zero %.1e, "
              "smallest nonzero %.1e, relative to sigma_max; core nullity %d)\n",
              what.c_str(), expected_nullity, jr.nullity, rep.predicted_nullity, net.num_params(),
              jr.largest_zero / jr.sigma_max, jr.smallest_nonzero / jr.sigma_max, jc.nullity);
  EXPECT_TRUE(jr.certain);
  EXPECT_EQ(jr.nullity, expected_nullity);
  EXPECT_EQ(rep.predicted_nullity, expected_nullity);
  EXPECT_TRUE(jc.certain);
  EXPECT_EQ(jc.nullity, 0);
}

// (v): θ = θ_exact + 1e-6·u (‖u‖ = 1): still reduced, and embed(core) is at least as close to θ
// as θ_exact is (it is θ's projection onto the redundant set).
void check_near(const std::string& what, const Teacher& t, const Params& exact,
                const std::string& description, int exact_nullity) {
  SCOPED_TRACE(what + " (1e-6 away)");
  const Network net(exact.arch(t.act));
  const std::vector<double> theta_exact = exact.theta();
  std::mt19937_64 rng(99);
  std::vector<double> u = test::normal_vector(theta_exact.size(), rng, 1.0);
  const double un = test::norm2(u);
  std::vector<double> theta = theta_exact;
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] += 1e-6 * u[i] / un;
  const double dist = test::diff_norm(theta, theta_exact);

  const RedundancyReport rep = analyse_redundancy(net, theta, t.data);
  EXPECT_TRUE(rep.redundant) << rep.nearest << " " << rep.distance;
  const Reduction r = reduce_to_core(net, theta, rep);
  ASSERT_TRUE(r.applicable) << r.reason;
  EXPECT_EQ(r.description, description);
  const std::vector<double> emb = embed(net, r, r.core_theta);
  const double moved = test::diff_norm(emb, theta);
  EXPECT_LE(moved, dist * (1.0 + 1e-6));
  const Network core(r.core);
  const auto f_core = core.predict(r.core_theta, t.data.x.data(), t.data.n);
  const auto f_full = net.predict(emb, t.data.x.data(), t.data.n);
  EXPECT_LE(test::max_abs_diff(f_full, f_core), 1e-14 * test::max_abs(f_core));
  // Near, not on, the redundant set J has full rank in exact arithmetic, but some of the
  // redundancy's directions are second order (σ ~ distance²): they fall below or between the
  // bounds. Rank is lower semicontinuous, so only this much is a fact.
  const JacobianRank jr = jacobian_rank(net, t.data, theta);
  std::printf("[near]    %-36s moved %.2e of %.2e, nullity %d of %d (%d undecided; largest "
              "zero %.1e, smallest nonzero %.1e)\n",
              what.c_str(), moved, dist, jr.nullity, exact_nullity, jr.undecided,
              jr.largest_zero / jr.sigma_max, jr.smallest_nonzero / jr.sigma_max);
  EXPECT_LE(jr.nullity, exact_nullity);
}

// ---------------------------------------------------------------------------------------------
// (iv) The premise of every construction: the teacher is efficient and J well conditioned.

TEST(Reduction, TeacherIsEfficient) {
  for (const Case& cs : kCases) {
    SCOPED_TRACE(label(cs));
    const Teacher t(cs);
    const Network net(t.p.arch(cs.act));
    const RedundancyReport rep = analyse_redundancy(net, t.p.theta(), t.data);
    EXPECT_GT(rep.distance, 0.1) << rep.nearest;
    const Reduction r = reduce_to_core(net, t.p.theta(), rep);
    EXPECT_FALSE(r.applicable);
    EXPECT_EQ(r.reason, "no redundancy in the report");
    const JacobianRank jr = jacobian_rank(net, t.data, t.p.theta());
    std::printf("[teacher] %-12s nullity %d, sigma_min/sigma_max %.1e, zero bound %.1e\n",
                label(cs).c_str(), jr.nullity, jr.smallest_nonzero / jr.sigma_max,
                jr.zero_bound / jr.sigma_max);
    EXPECT_TRUE(jr.certain);
    EXPECT_EQ(jr.nullity, 0);
    EXPECT_GT(jr.smallest_nonzero, 1e-4 * jr.sigma_max);
  }
}

// ---------------------------------------------------------------------------------------------
// Single redundancies (papers.md's table).

TEST(Reduction, DuplicateSplit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    split_parallel(full, cs.act, 1, +1);
    // m = 1: d + 2; m > 1 with parallel output weights: m fibre + d + 1 splitting directions.
    const int expected = cs.m + kD + 1;
    check_exact(label(cs) + " duplicate split", t, full, "duplicate 1,3", expected);
    check_near(label(cs) + " duplicate split", t, full, "duplicate 1,3", expected);
  }
}

TEST(Reduction, DuplicateSplitNonParallelOutputs) {
  for (const Case& cs : kCases) {
    if (cs.m < 2) continue;
    Teacher t(cs);
    Params full = t.p;
    split(full, cs.act, 1, +1, {0.9, -0.4});  // a_1 − v and v are not parallel: m zeros only
    check_exact(label(cs) + " duplicate, a not parallel", t, full, "duplicate 1,3", cs.m);
  }
}

TEST(Reduction, AntipodalSplit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    split_parallel(full, cs.act, 0, -1);
    check_exact(label(cs) + " antipodal split", t, full, "antipodal 0,3", cs.m + kD + 1);
    check_near(label(cs) + " antipodal split", t, full, "antipodal 0,3", cs.m + kD + 1);
  }
}

TEST(Reduction, DeadUnit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    add_dead(full, t.rng);
    check_exact(label(cs) + " dead unit", t, full, "dead 3", kD + 1);
    check_near(label(cs) + " dead unit", t, full, "dead 3", kD + 1);
  }
}

TEST(Reduction, ConstantUnit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    add_constant(full, cs.act, 0.6, t.rng);
    check_exact(label(cs) + " constant unit", t, full, "constant 3", cs.m + 1);
    check_near(label(cs) + " constant unit", t, full, "constant 3", cs.m + 1);
  }
}

// Disjoint redundancies add up.
TEST(Reduction, DeadUnitAndDuplicateSplit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    add_dead(full, t.rng);
    split_parallel(full, cs.act, 2, +1);
    check_exact(label(cs) + " dead + duplicate", t, full, "duplicate 2,4; dead 3",
                (kD + 1) + (cs.m + kD + 1));
    check_near(label(cs) + " dead + duplicate", t, full, "duplicate 2,4; dead 3",
               (kD + 1) + (cs.m + kD + 1));
  }
}

TEST(Reduction, ConstantUnitAndAntipodalSplit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    split_parallel(full, cs.act, 1, -1);
    add_constant(full, cs.act, -0.4, t.rng);
    check_exact(label(cs) + " constant + antipodal", t, full, "antipodal 1,3; constant 4",
                (cs.m + 1) + (cs.m + kD + 1));
    check_near(label(cs) + " constant + antipodal", t, full, "antipodal 1,3; constant 4",
               (cs.m + 1) + (cs.m + kD + 1));
  }
}

// ---------------------------------------------------------------------------------------------
// Overlapping findings: each unit's fate is decided once.

// Unit 3 is dead and duplicates unit 1: it is dropped, the pair is not merged (papers.md's
// measured count for a dead duplicate: m + d + 1).
TEST(Reduction, DeadDuplicateIsDroppedOnce) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    split(full, cs.act, 1, +1, std::vector<double>(cs.m, 0.0));
    const Network net(full.arch(cs.act));
    const RedundancyReport rep = analyse_redundancy(net, full.theta(), t.data);
    ASSERT_EQ(rep.duplicate.size(), 1u);
    ASSERT_EQ(rep.dead, std::vector<int>{3});
    check_exact(label(cs) + " dead duplicate", t, full, "dead 3", cs.m + kD + 1);
  }
}

// Two constant units share the output bias (and, for m = 1, their linear directions a_j σ'(b_j) x:
// papers.md's measured 2(m + 1) + d).
TEST(Reduction, TwoConstantUnits) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    add_constant(full, cs.act, 0.6, t.rng);
    add_constant(full, cs.act, -0.9, t.rng);
    const int expected = 2 * (cs.m + 1) + (cs.m == 1 ? kD : 0);
    check_exact(label(cs) + " two constant units", t, full, "constant 3,4", expected);
  }
}

// Three copies of one unit: one group, (k − 1)(d + 2) for m = 1 and parallel outputs
// ((k − 1)(m + d + 1) in general with all a parallel).
TEST(Reduction, ThreeCopiesMergeIntoOneUnit) {
  for (const Case& cs : kCases) {
    Teacher t(cs);
    Params full = t.p;
    split_parallel(full, cs.act, 0, +1);
    split_parallel(full, cs.act, 0, -1);
    check_exact(label(cs) + " three copies (+,-)", t, full, "merged 0,3,-4", 2 * (cs.m + kD + 1));
    check_near(label(cs) + " three copies (+,-)", t, full, "merged 0,3,-4", 2 * (cs.m + kD + 1));
  }
}

// A chain: 1 ≈ 3 and 3 ≈ 4 within the tolerance, 1 and 4 not. Union-find merges all three.
TEST(Reduction, ChainOfDuplicatesIsOneGroup) {
  const Case cs = kCases[0];
  Teacher t(cs);
  Params exact = t.p;
  split_parallel(exact, cs.act, 1, +1);
  split_parallel(exact, cs.act, 1, +1);
  Params full = exact;
  const double delta = 1e-3;
  for (int q = 0; q < kD; ++q) {
    full.w(3, q) += delta;
    full.w(4, q) += 2 * delta;
  }
  const Network net(full.arch(cs.act));
  const std::vector<double> theta = full.theta();
  const RedundancyReport wide = analyse_redundancy(net, theta, t.data, {1e-1});
  ASSERT_EQ(wide.duplicate.size(), 3u);
  double near = 0.0, far = 0.0;  // largest distance of the chain's links; that of 1,4
  for (const NeuronPair& p : wide.duplicate) {
    if (p.i == 1 && p.j == 4) far = p.distance;
    else near = std::max(near, p.distance);
  }
  ASSERT_LT(near, 0.75 * far);
  const RedundancyReport rep = analyse_redundancy(net, theta, t.data, {0.5 * (near + far)});
  ASSERT_EQ(rep.duplicate.size(), 2u);
  const Reduction r = reduce_to_core(net, theta, rep);
  ASSERT_TRUE(r.applicable) << r.reason;
  EXPECT_EQ(r.description, "duplicate 1,3,4");
  EXPECT_EQ(r.core.widths[1], kTeacherWidth);
  const std::vector<double> emb = embed(net, r, r.core_theta);
  EXPECT_LE(test::diff_norm(emb, theta), test::diff_norm(theta, exact.theta()));
  const Network core(r.core);
  const auto f_core = core.predict(r.core_theta, t.data.x.data(), t.data.n);
  const auto f_full = net.predict(emb, t.data.x.data(), t.data.n);
  EXPECT_LE(test::max_abs_diff(f_full, f_core), 1e-14 * test::max_abs(f_core));
}

// Duplicates are exact for every activation; a softplus antipodal pair is left alone.
TEST(Reduction, SoftplusDuplicateMergesAntipodalDoesNot) {
  const Case cs{Activation::softplus, 1, 3};
  Teacher t(cs);
  Params full = t.p;
  split_parallel(full, cs.act, 1, +1);
  // Unit 4 = −(w_0, b_0) adds σ(−z_0) = σ(z_0) − z_0, a new function: the data follow it.
  full.append({-full.w(0, 0), -full.w(0, 1)}, -full.b1[0], {0.5});
  const Network net(full.arch(cs.act));
  const std::vector<double> theta = full.theta();
  Dataset data = t.data;
  data.y = net.predict(theta, data.x.data(), data.n);
  const RedundancyReport rep = analyse_redundancy(net, theta, data);
  ASSERT_EQ(rep.antipodal.size(), 1u);
  const Reduction r = reduce_to_core(net, theta, rep);
  ASSERT_TRUE(r.applicable) << r.reason;
  EXPECT_EQ(r.description, "duplicate 1,3; antipodal 0,4 not merged (softplus)");
  EXPECT_EQ(r.core.widths[1], 4);
  const Network core(r.core);
  const std::vector<double> emb = embed(net, r, r.core_theta);
  EXPECT_LE(test::diff_norm(emb, theta), 1e-14 * test::norm2(theta));
  const auto f_core = core.predict(r.core_theta, data.x.data(), data.n);
  const auto f_full = net.predict(emb, data.x.data(), data.n);
  EXPECT_LE(test::max_abs_diff(f_full, f_core), 1e-14 * test::max_abs(f_core));
}

// ---------------------------------------------------------------------------------------------
// (vi) Not applicable.

TEST(Reduction, RefusesWhatItCannotReduce) {
  std::mt19937_64 rng(7);
  Dataset data = test::random_dataset(200, kD, 1, rng);
  {  // two hidden layers
    const Network net(test::make_arch({kD, 3, 3, 1}, Activation::tanh));
    std::vector<double> theta = test::normal_vector(net.num_params(), rng, 1.0);
    const RedundancyReport rep = analyse_redundancy(net, theta, data);
    const Reduction r = reduce_to_core(net, theta, rep);
    EXPECT_FALSE(r.applicable);
    EXPECT_NE(r.reason.find("more than one hidden layer"), std::string::npos) << r.reason;
  }
  {  // softplus: an antipodal pair alone is not an exact merge
    Teacher t({Activation::softplus, 1, 3});
    Params full = t.p;
    split_parallel(full, Activation::softplus, 1, -1);
    const Network net(full.arch(Activation::softplus));
    const RedundancyReport rep = analyse_redundancy(net, full.theta(), t.data);
    ASSERT_EQ(rep.antipodal.size(), 1u);
    const Reduction r = reduce_to_core(net, full.theta(), rep);
    EXPECT_FALSE(r.applicable);
    EXPECT_EQ(r.reason, "no exact reduction: antipodal 1,3 not merged (softplus)");
  }
  {  // identity: the report does not apply (linear networks)
    Params p = random_params(kD, 3, 1, rng, 1.0);
    const Network net(p.arch(Activation::identity));
    const RedundancyReport rep = analyse_redundancy(net, p.theta(), data);
    const Reduction r = reduce_to_core(net, p.theta(), rep);
    EXPECT_FALSE(r.applicable);
    EXPECT_EQ(r.reason.rfind("redundancy report not applicable", 0), 0u) << r.reason;
  }
  {  // masked layer, and a θ of the wrong size
    std::vector<Mask> masks{Mask::dense(3, kD), Mask::dense(1, 3)};
    masks[0].bits[0] = 0;
    const Network net(test::make_arch({kD, 3, 1}, Activation::tanh, masks));
    std::vector<double> theta = test::normal_vector(net.num_params(), rng, 1.0);
    const Reduction r = reduce_to_core(net, theta, analyse_redundancy(net, theta, data));
    EXPECT_FALSE(r.applicable);
    EXPECT_NE(r.reason.find("masked"), std::string::npos) << r.reason;
    theta.pop_back();
    EXPECT_THROW(reduce_to_core(net, theta, RedundancyReport{}), Error);
    EXPECT_THROW(jacobian_rank(net, data, theta), Error);
  }
}

// ---------------------------------------------------------------------------------------------
// jacobian_rank beyond one dense hidden layer.

// Singular values of a row-major rows × cols matrix (= those of its transpose, column-major).
std::vector<double> reference_singular_values(std::vector<double> a, int rows, int cols) {
  const lapack_int m = cols, n = rows, one = 1;
  std::vector<double> s(std::min(rows, cols));
  const char job = 'N';
  double u = 0.0, vt = 0.0, query = 0.0;
  lapack_int lwork = -1, info = 0;
  LAPACK_dgesvd(&job, &job, &m, &n, a.data(), &m, s.data(), &u, &one, &vt, &one, &query, &lwork,
                &info);
  lwork = static_cast<lapack_int>(query);
  std::vector<double> work(static_cast<std::size_t>(std::max<lapack_int>(lwork, 1)));
  LAPACK_dgesvd(&job, &job, &m, &n, a.data(), &m, s.data(), &u, &one, &vt, &one, work.data(),
                &lwork, &info);
  if (info != 0) throw std::runtime_error("dgesvd failed");
  return s;
}

// J by central differences has the same singular values (masked two-hidden-layer net; random
// masks may cut units off, which gives structural zeros: both sides must count them alike).
TEST(JacobianRank, MatchesFiniteDifferencesOnMaskedDeepNetwork) {
  std::mt19937_64 rng(17);
  const std::vector<int> widths{3, 4, 3, 2};
  const Network net(test::make_arch(widths, Activation::tanh, test::random_masks(widths, rng)));
  const std::vector<double> theta = test::normal_vector(net.num_params(), rng, 1.0);
  const Dataset data = test::random_dataset(300, 3, 2, rng);
  const auto s = reference_singular_values(test::fd_jacobian(net, theta, data.x.data(), data.n),
                                           data.n * data.m, static_cast<int>(net.num_params()));
  const JacobianRank jr = jacobian_rank(net, data, theta);
  EXPECT_NEAR(jr.sigma_max, s.front(), 1e-7 * s.front());
  // Central differences (h = 1e-5) err by ~4e-11 per entry, ~5e-9 in norm: measured zeros of
  // the difference Jacobian ≤ 2.1e-10, the smallest genuine σ 9.1e-7 (σ_max 27.9).
  const double fd_cut = 1e-9 * s.front();
  const int fd_zeros = static_cast<int>(
      std::count_if(s.begin(), s.end(), [&](double v) { return v < fd_cut; }));
  double fd_smallest = s.front();
  for (double v : s)
    if (v >= fd_cut) fd_smallest = std::min(fd_smallest, v);
  std::printf("[masked]  P=%td nullity %d (finite differences %d), smallest nonzero %.3e (%.3e)\n",
              net.num_params(), jr.nullity, fd_zeros, jr.smallest_nonzero, fd_smallest);
  EXPECT_TRUE(jr.certain);
  EXPECT_EQ(jr.nullity, fd_zeros);
  EXPECT_NEAR(jr.smallest_nonzero, fd_smallest, 1e-6 * s.front());
}

// A dead unit in the last hidden layer frees its incoming row and bias: n_1 + 1 zeros.
TEST(JacobianRank, DeadUnitInDeepNetwork) {
  std::mt19937_64 rng(19);
  const Network net(test::make_arch({kD, 4, 3, 1}, Activation::tanh));
  std::vector<double> theta = test::normal_vector(net.num_params(), rng, 1.0);
  const Dataset data = test::random_dataset(500, kD, 1, rng);
  const LayerLayout& last = net.layer(2);
  theta[last.weight_offset + 1] = 0.0;  // W3[0, 1]: hidden unit 1 of layer 2 reaches nothing
  const JacobianRank jr = jacobian_rank(net, data, theta);
  EXPECT_TRUE(jr.certain);
  EXPECT_EQ(jr.nullity, 4 + 1);
}

// Fewer rows than parameters: P − N·m exact zeros (J has full row rank generically); a linear
// network has GL(n) symmetry: nullity P − (m·d + m) once n ≥ min(d, m).
TEST(JacobianRank, WideJacobianAndLinearNetwork) {
  std::mt19937_64 rng(23);
  const Network net(test::make_arch({kD, 3, 1}, Activation::tanh));
  const std::vector<double> theta = test::normal_vector(net.num_params(), rng, 1.0);
  const Dataset few = test::random_dataset(4, kD, 1, rng);
  const JacobianRank wide = jacobian_rank(net, few, theta);
  EXPECT_TRUE(wide.certain);
  EXPECT_EQ(wide.nullity, net.num_params() - 4);

  const Network lin(test::make_arch({kD, 3, 1}, Activation::identity));
  const Dataset data = test::random_dataset(200, kD, 1, rng);
  const JacobianRank jr = jacobian_rank(lin, data, theta);
  EXPECT_TRUE(jr.certain);
  EXPECT_EQ(jr.nullity, net.num_params() - (1 * kD + 1));
}

}  // namespace
}  // namespace nnscape
