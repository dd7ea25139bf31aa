// optimize(): PETSc/TAO training runs on problems whose outcome the theory fixes in advance
// (shared/papers.md):
// - a tanh student started near its teacher (d = 2, width 4, N = 512 ≫ P = 17, zero residual):
//   the minimum is efficient, so H = G is positive definite there (Paper A) and Newton
//   (nls, ntr; dense or matrix-free Hessian) must reach ‖∇L‖ ≤ 1e-10 at a fast local rate;
// - the 2×2 linear "LU" network fitting the anti-identity (Paper B): the infimum is not
//   attained, so the loss keeps falling while ‖θ‖ grows without bound → diverged; weight decay
//   restores a minimum → converged with a bounded norm;
// - bookkeeping: counters, the log-spaced trajectory, option pass-through under the prefix
//   opt_<name>_, unknown types, NaN/Inf;
// - our Levenberg–Marquardt type "lm" at a teacher and at an exact split of it (zero residual).
// Each run prints one summary line (iterations, evaluations, seconds) for the record.
// openblas cores: Haswell SkylakeX Zen Sandybridge
#include <cblas.h>
#include <gtest/gtest.h>
#include <petscsys.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"
#include "nnscape/optimize.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

using test::make_arch;
using test::Problem;

void print_summary(const std::string& label, const OptimizeResult& r) {
  std::printf(
      "[optimize] %-22s type=%-5s reason=%-22s its=%5d fevals=%5d hevals=%3d loss=%.3e "
      "|g|=%.3e |theta|=%.3e growth=%.3f rate=%-11s %.3f s%s%s\n",
      label.c_str(), r.tao_type.c_str(), r.reason.c_str(), r.iterations, r.function_evals,
      r.hessian_evals, r.loss, r.grad_norm, r.param_norm, r.norm_growth_rate,
      r.local_rate.c_str(), r.seconds, r.error.empty() ? "" : " error: ", r.error.c_str());
}

// Teacher tanh network (2, 4, 1), N = 512 inputs uniform in [-1, 1]², targets its outputs; the
// student has the same architecture and starts at θ_teacher + 0.1·noise.
// The teacher is built, not drawn: four neurons with input directions 45° apart, |w| = 2.5,
// spread biases and output weights of alternating sign, so its minimum is well conditioned
// (κ(H) ≈ 6e3, λ_min ≈ 6.5e-4) and Newton started 0.1 away is in its quadratic basin within a
// few steps. A teacher with θ ~ N(0, 1) is efficient too but measured κ ≈ 1e6..1e8 (nearly
// linear neurons on [-1, 1]², the bad conditioning papers.md warns about): Newton then needs
// 30..13000 damped steps from the same distance, which tests TAO's globalization, not the
// Newton rate.
struct TeacherStudent {
  TeacherStudent() : problem(make_arch({2, 4, 1}, Activation::tanh), make_data(), 0.0) {
    for (int j = 0; j < 4; ++j) {  // W_1 rows (out × in), row-major
      const double phi = j * std::acos(-1.0) / 4 + 0.2;
      teacher.push_back(2.5 * std::cos(phi));
      teacher.push_back(2.5 * std::sin(phi));
    }
    for (double b : {-0.8, -0.25, 0.3, 0.9}) teacher.push_back(b);
    for (double a : {1.0, -1.2, 0.9, -0.7}) teacher.push_back(a);
    teacher.push_back(0.1);
    problem.data.y = problem.net.predict(teacher, problem.data.x.data(), problem.data.n);
    std::mt19937_64 rng(5);
    auto noise = test::normal_vector(teacher.size(), rng);
    start = teacher;
    for (std::size_t i = 0; i < start.size(); ++i) start[i] += 0.1 * noise[i];
  }
  static Dataset make_data() {
    std::mt19937_64 rng(7);
    Dataset d;
    d.n = 512;
    d.d = 2;
    d.m = 1;
    d.x = test::uniform_vector(1024, rng, -1.0, 1.0);
    d.y.assign(512, 0.0);  // filled from the teacher
    return d;
  }

  Problem problem;
  std::vector<double> teacher;
  std::vector<double> start;
};

// The LU network of Paper B for n = 2: identity activation, W1 lower triangular, W2 upper
// triangular (masks row-major out × in), target Y = J X with J the anti-identity, X uniform in
// [-1, 1]², N = 200.
struct LuProblem {
  explicit LuProblem(double weight_decay)
      : problem(make_arch({2, 2, 2}, Activation::identity,
                          {Mask{2, 2, {1, 0, 1, 1}}, Mask{2, 2, {1, 1, 0, 1}}}),
                make_data(), weight_decay) {
    std::mt19937_64 rng(99);
    start = test::normal_vector(static_cast<std::size_t>(problem.net.num_params()), rng, 0.5);
  }
  static Dataset make_data() {
    std::mt19937_64 rng(11);
    Dataset d;
    d.n = 200;
    d.d = 2;
    d.m = 2;
    d.x = test::uniform_vector(400, rng, -1.0, 1.0);
    d.y.resize(400);
    for (int i = 0; i < d.n; ++i) {
      d.y[2 * i] = d.x[2 * i + 1];
      d.y[2 * i + 1] = d.x[2 * i];
    }
    return d;
  }

  Problem problem;
  std::vector<double> start;
};

// The message of the nnscape::Error f throws ("" if none).
template <class F>
std::string thrown(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Invariants every run must satisfy, whatever the method and outcome.
void expect_consistent(const OptimizeResult& r, const OptimizeOptions& o, std::size_t p) {
  EXPECT_EQ(r.theta.size(), p);
  EXPECT_GE(r.function_evals, r.iterations);
  EXPECT_EQ(r.gradient_evals, r.function_evals);
  EXPECT_GE(r.seconds, 0.0);
  ASSERT_FALSE(r.trajectory.empty());
  EXPECT_LE(r.trajectory.size(), static_cast<std::size_t>(o.trajectory_length));
  EXPECT_EQ(r.trajectory.front().iteration, 0);
  for (std::size_t i = 1; i < r.trajectory.size(); ++i)
    EXPECT_LT(r.trajectory[i - 1].iteration, r.trajectory[i].iteration) << "point " << i;
  EXPECT_EQ(r.trajectory.back().iteration, r.iterations);
  EXPECT_DOUBLE_EQ(r.trajectory.back().loss, r.loss);
  EXPECT_DOUBLE_EQ(r.trajectory.back().grad_norm, r.grad_norm);
  EXPECT_DOUBLE_EQ(r.trajectory.back().param_norm, r.param_norm);
  EXPECT_NEAR(r.param_norm, test::norm2(r.theta), 1e-12 * (1.0 + r.param_norm));
  EXPECT_EQ(r.converged, r.reason_code > 0 && !r.diverged && !r.nonfinite && r.error.empty());
}

// ---------------------------------------------------------------------------------------------
// Newton near an efficient minimum.

class NewtonTest : public ::testing::TestWithParam<std::string> {};

TEST_P(NewtonTest, ReachesCertifiedCriticalPointFast) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "newton_" + GetParam();
  o.tao_type = GetParam();
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  print_summary(GetParam() + " dense", r);
  expect_consistent(r, o, ts.start.size());
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.tao_type, GetParam());
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_EQ(r.reason.rfind("CONVERGED", 0), 0u) << r.reason;
  EXPECT_LE(r.grad_norm, 1e-10);
  EXPECT_LT(r.loss, 1e-16);  // zero-residual problem
  EXPECT_GT(r.hessian_evals, 0);
  EXPECT_FALSE(r.diverged);
  EXPECT_FALSE(r.nonfinite);
  EXPECT_TRUE(r.local_rate == "quadratic" || r.local_rate == "superlinear") << r.local_rate;
}

TEST_P(NewtonTest, MatrixFreeHessianConverges) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "newton_mf_" + GetParam();
  o.tao_type = GetParam();
  o.dense_limit = 0;  // MATSHELL of exact Hessian-vector products
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  print_summary(GetParam() + " matrix-free", r);
  expect_consistent(r, o, ts.start.size());
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_TRUE(r.converged) << r.reason;
  EXPECT_LE(r.grad_norm, 1e-10);
  EXPECT_GT(r.hessian_evals, 0);
}

// ntl too: optimize() works around a crash of PETSc 3.18's NTL (see choose_preconditioner).
INSTANTIATE_TEST_SUITE_P(Types, NewtonTest, ::testing::Values("nls", "ntr", "ntl"));

TEST(Optimize, NtlRefusesAPreconditionerThatCrashesIt) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "ntl_pc";
  o.tao_type = "ntl";
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_ntl_pc_tao_ntl_pc_type", "none"), 0);
  EXPECT_THROW((void)optimize(ts.problem.model, ts.start, o), Error);
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_ntl_pc_tao_ntl_pc_type", "lmvm"), 0);
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_ntl_pc_tao_ntl_pc_type"), 0);
  EXPECT_TRUE(r.converged) << r.reason << " " << r.error;
}

// ---------------------------------------------------------------------------------------------
// First-order methods: bookkeeping.

class FirstOrderTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FirstOrderTest, CountersAndTrajectoryAreConsistent) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "first_" + GetParam();
  o.tao_type = GetParam();
  o.max_it = 2000;
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  print_summary(GetParam(), r);
  expect_consistent(r, o, ts.start.size());
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.tao_type, GetParam());
  EXPECT_EQ(r.hessian_evals, 0);
  EXPECT_GT(r.iterations, 0);
  EXPECT_FALSE(r.diverged);
  EXPECT_FALSE(r.nonfinite);
  // Every method descends from the start.
  EXPECT_LT(r.loss, r.trajectory.front().loss);
  // The log-spaced schedule: 0, 1, 2, 3, 4, 6, 8, 11, 16, ... (as far as the run went).
  const std::vector<int> schedule{0, 1, 2, 3, 4, 6, 8, 11, 16};
  for (std::size_t i = 0; i < schedule.size() && i + 1 < r.trajectory.size(); ++i)
    EXPECT_EQ(r.trajectory[i].iteration, schedule[i]);
  EXPECT_NE(r.local_rate, "unknown");
}

INSTANTIATE_TEST_SUITE_P(Types, FirstOrderTest, ::testing::Values("lmvm", "cg", "gd"));

TEST(Optimize, LmvmConvergesToGatol) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "lmvm_full";
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  print_summary("lmvm to gatol", r);
  expect_consistent(r, o, ts.start.size());
  EXPECT_TRUE(r.converged) << r.reason << " " << r.error;
  EXPECT_EQ(r.reason, "CONVERGED_GATOL");
  EXPECT_LE(r.grad_norm, 1e-10);
}

TEST(Optimize, ShortTrajectoryIsThinnedButKeepsEnds) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "thin";
  o.tao_type = "gd";
  o.max_it = 300;
  o.trajectory_length = 5;
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  expect_consistent(r, o, ts.start.size());
  // Thinning halves the record, so it is not always full, but both ends are there.
  EXPECT_GE(r.trajectory.size(), 3u);
  EXPECT_EQ(r.iterations, 300);
  EXPECT_EQ(r.reason, "DIVERGED_MAXITS");

  o.trajectory_length = 1;  // only the end point
  r = optimize(ts.problem.model, ts.start, o);
  ASSERT_EQ(r.trajectory.size(), 1u);
  EXPECT_EQ(r.trajectory[0].iteration, r.iterations);
}

// ---------------------------------------------------------------------------------------------
// Options database.

TEST(Optimize, CommandLineOptionsWinUnderTheRunsPrefix) {
  TeacherStudent ts;
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_test_tao_max_it", "3"), 0);
  OptimizeOptions o;
  o.name = "test";
  o.tao_type = "lmvm";  // needs more than 10 iterations here (lm, the default, needs 4)
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  OptimizeOptions other;
  other.name = "other";
  other.tao_type = "lmvm";
  other.max_it = 10;
  OptimizeResult r_other = optimize(ts.problem.model, ts.start, other);
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_test_tao_max_it"), 0);

  print_summary("max_it 3 from options", r);
  expect_consistent(r, o, ts.start.size());
  EXPECT_LE(r.iterations, 3);
  EXPECT_EQ(r.reason, "DIVERGED_MAXITS");
  EXPECT_FALSE(r.converged);
  // Another prefix is untouched.
  EXPECT_EQ(r_other.iterations, 10);

  // The type, too, comes from the options database when given there.
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_test_tao_type", "nls"), 0);
  r = optimize(ts.problem.model, ts.start, o);
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_test_tao_type"), 0);
  EXPECT_EQ(r.tao_type, "nls");
  EXPECT_GT(r.hessian_evals, 0);
  EXPECT_TRUE(r.converged) << r.reason << " " << r.error;
}

TEST(Optimize, GradientDescentOptionDoesNotLeak) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "leak";
  o.tao_type = "gd";
  o.max_it = 5;
  OptimizeResult r = optimize(ts.problem.model, ts.start, o);
  EXPECT_EQ(r.tao_type, "gd");
  PetscBool present = PETSC_TRUE;
  ASSERT_EQ(PetscOptionsHasName(nullptr, nullptr, "-opt_leak_tao_bncg_type", &present), 0);
  EXPECT_FALSE(present);
  o.tao_type = "bncg";
  r = optimize(ts.problem.model, ts.start, o);
  EXPECT_EQ(r.tao_type, "bncg");
}

TEST(Optimize, UnknownTypeThrowsNamingIt) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.tao_type = "no_such_method";
  const std::string message = thrown([&] { (void)optimize(ts.problem.model, ts.start, o); });
  EXPECT_NE(message.find("no_such_method"), std::string::npos) << message;
}

TEST(Optimize, BadArgumentsThrow) {
  TeacherStudent ts;
  std::vector<double> short_theta(ts.start.begin(), ts.start.end() - 1);
  EXPECT_THROW((void)optimize(ts.problem.model, short_theta), Error);
  OptimizeOptions o;
  o.name = "has space";
  EXPECT_THROW((void)optimize(ts.problem.model, ts.start, o), Error);
}

// ---------------------------------------------------------------------------------------------
// Levenberg–Marquardt (our TAO type "lm").

// θ ± size in every coordinate, signs from a seeded stream.
std::vector<double> perturbed(std::vector<double> out, double size, unsigned seed) {
  std::mt19937_64 rng(seed);
  for (double& e : out) e += (rng() & 1) ? size : -size;
  return out;
}

// The teacher is an isolated zero-loss minimum (H = G positive definite): LM is Gauss–Newton
// there and must come back to it.
TEST(LevenbergMarquardt, ReturnsToTheTeacher) {
  TeacherStudent ts;
  OptimizeOptions o;
  o.name = "lm_teacher";
  o.tao_type = "lm";
  const auto start = perturbed(ts.teacher, 1e-3, 21);
  const OptimizeResult r = optimize(ts.problem.model, start, o);
  print_summary("lm teacher+1e-3", r);
  expect_consistent(r, o, start.size());
  EXPECT_EQ(r.tao_type, "lm");
  EXPECT_TRUE(r.converged && r.reason == "CONVERGED_GATOL") << r.reason << " " << r.error;
  EXPECT_LT(test::max_abs_diff(r.theta, ts.teacher), 1e-8);
  EXPECT_GT(r.hessian_evals, 0);
}

// The ±size sign vector of perturbed() projected on the range of G (eigenvalues above
// 1e-10·λ_max).
std::vector<double> range_direction(const std::vector<double>& gn, double size, unsigned seed) {
  const lapack_int n = static_cast<lapack_int>(std::lround(std::sqrt(gn.size())));
  const std::size_t p = static_cast<std::size_t>(n);
  std::vector<double> v = gn, w(p), work(p * 64), out(p, 0.0);
  const char jobz = 'V', uplo = 'L';
  lapack_int lwork = static_cast<lapack_int>(work.size()), info = 0;
  LAPACK_dsyev(&jobz, &uplo, &n, v.data(), &n, w.data(), work.data(), &lwork, &info);
  EXPECT_EQ(info, 0);
  const auto noise = perturbed(std::vector<double>(p, 0.0), size, seed);
  for (std::size_t k = 0; k < p; ++k) {
    if (w[k] <= 1e-10 * w.back()) continue;
    const double c = cblas_ddot(n, v.data() + k * p, 1, noise.data(), 1);
    cblas_daxpy(n, c, v.data() + k * p, 1, out.data(), 1);
  }
  return out;
}

// Width-5 student = the teacher with neuron 0 split (same (w, b), output weights 0.4a + 0.6a):
// a non-isolated zero-loss minimum where LM with μ ~ ‖F‖ is fast under a local error bound.
// The d + 1 splitting directions are in ker J but the loss grows like t⁴ there (no error
// bound): from a generic start 1e-3 away LM is measured linear, so the start is ±1e-3 projected
// on range(G). It then takes 3 iterations (‖∇L‖ 6.9e-3, 3.5e-6, 3.0e-10, 9.6e-16), too few for
// local_rate (needs 4), so the trajectory is checked: the gain per step grows (superlinear).
TEST(LevenbergMarquardt, ZeroResidualOnANonIsolatedMinimum) {
  TeacherStudent ts;
  Problem wide(make_arch({2, 5, 1}, Activation::tanh), TeacherStudent::make_data(), 0.0);
  wide.data.y = ts.problem.data.y;
  const std::vector<double>& t = ts.teacher;  // W1 (4×2), b1 (4), W2 (1×4), b2
  const std::vector<double> split{t[0],  t[1],  t[2],  t[3],  t[4],        t[5],  t[6],
                                  t[7],  t[0],  t[1],  t[8],  t[9],        t[10], t[11],
                                  t[8],  0.4 * t[12], t[13], t[14], t[15], 0.6 * t[12], t[16]};
  wide.model.set_point(split);
  ASSERT_LT(wide.model.value(), 1e-28);
  OptimizeOptions o;
  o.name = "lm_split";
  o.tao_type = "lm";
  o.gatol = 1e-14;  // far enough below 1e-10 to see the local rate
  std::vector<double> start = range_direction(wide.model.dense_gauss_newton(), 1e-3, 22);
  for (std::size_t i = 0; i < start.size(); ++i) start[i] += split[i];
  OptimizeResult r = optimize(wide.model, start, o);
  print_summary("lm split+1e-3", r);
  expect_consistent(r, o, split.size());
  EXPECT_TRUE(r.converged && r.loss < 1e-20) << r.reason << " " << r.error << " " << r.loss;
  EXPECT_TRUE(r.local_rate == "quadratic" || r.local_rate == "superlinear" ||
              (r.local_rate == "unknown" && r.iterations >= 3))
      << r.local_rate;
  const auto& tr = r.trajectory;
  ASSERT_EQ(static_cast<int>(tr.size()), r.iterations + 1);  // every iteration kept
  for (std::size_t k = 2; k < tr.size(); ++k)
    EXPECT_GT(tr[k - 1].grad_norm / tr[k].grad_norm, tr[k - 2].grad_norm / tr[k - 1].grad_norm);
}

TEST(LevenbergMarquardt, OptionsComeFromTheDatabaseUnderThePrefix) {
  TeacherStudent ts;
  const auto start = perturbed(ts.teacher, 1e-3, 23);
  OptimizeOptions o;
  o.name = "lm_opts";
  o.tao_type = "lm";
  const OptimizeResult plain = optimize(ts.problem.model, start, o);
  // A huge initial damping turns the first steps into short gradient steps.
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_lm_opts_tao_lm_mu0", "1e4"), 0);
  const OptimizeResult damped = optimize(ts.problem.model, start, o);
  o.name = "lm_other";  // another prefix does not see it
  const OptimizeResult other = optimize(ts.problem.model, start, o);
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_lm_opts_tao_lm_mu0"), 0);
  EXPECT_TRUE(damped.converged) << damped.reason << " " << damped.error;
  EXPECT_GT(damped.iterations, plain.iterations);
  EXPECT_EQ(other.theta, plain.theta);

  o.name = "lm_opts";
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_lm_opts_tao_lm_delta", "3"), 0);  // not in [1, 2]
  const std::string message = thrown([&] { (void)optimize(ts.problem.model, start, o); });
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_lm_opts_tao_lm_delta"), 0);
  EXPECT_NE(message.find("-opt_lm_opts_tao_lm_delta"), std::string::npos) << message;

  // The type itself may come from the database; lm then still gets its model.
  ASSERT_EQ(PetscOptionsSetValue(nullptr, "-opt_lm_opts_tao_type", "lm"), 0);
  o.tao_type = "lmvm";
  const OptimizeResult typed = optimize(ts.problem.model, start, o);
  ASSERT_EQ(PetscOptionsClearValue(nullptr, "-opt_lm_opts_tao_type"), 0);
  EXPECT_EQ(typed.tao_type, "lm");
  EXPECT_TRUE(typed.converged) << typed.reason << " " << typed.error;

  o.tao_type = "lm";
  o.dense_limit = 16;  // P = 17: lm factors a dense P × P matrix
  const std::string refused = thrown([&] { (void)optimize(ts.problem.model, start, o); });
  EXPECT_NE(refused.find("dense_limit"), std::string::npos) << refused;
}

// ---------------------------------------------------------------------------------------------
// NaN / Inf.

TEST(Optimize, NanStartIsReportedNotThrown) {
  TeacherStudent ts;
  std::vector<double> theta = ts.start;
  theta[3] = std::numeric_limits<double>::quiet_NaN();
  for (const char* type : {"lmvm", "nls", "lm"}) {
    OptimizeOptions o;
    o.name = std::string("nan_") + type;
    o.tao_type = type;
    OptimizeResult r;
    ASSERT_NO_THROW(r = optimize(ts.problem.model, theta, o));
    print_summary(std::string("NaN start ") + type, r);
    EXPECT_TRUE(r.nonfinite);
    EXPECT_FALSE(r.converged);
    EXPECT_FALSE(r.error.empty());
    ASSERT_FALSE(r.trajectory.empty());
  }
}

TEST(Optimize, OverflowingLossIsReportedNotThrown) {
  TeacherStudent ts;
  // Huge output weights: tanh saturates, the outputs are ~1e200 and their squares overflow.
  std::vector<double> theta = ts.start;
  const LayerLayout& out = ts.problem.net.layer(1);
  for (int j = 0; j < 4; ++j) theta[out.weight_offset + j] = 1e200;
  OptimizeOptions o;
  o.name = "overflow";
  OptimizeResult r;
  ASSERT_NO_THROW(r = optimize(ts.problem.model, theta, o));
  print_summary("overflow start", r);
  EXPECT_TRUE(r.nonfinite);
  EXPECT_FALSE(r.converged);
}

// ---------------------------------------------------------------------------------------------
// Paper B: the LU network has no minimum for the anti-identity; weight decay gives it one.

TEST(Optimize, LuNetworkDivergesWithDecreasingLoss) {
  LuProblem lu(0.0);
  OptimizeOptions o;
  o.name = "lu";
  o.tao_type = "lmvm";
  o.max_it = 1000000;
  o.gatol = 0.0;  // the gradient does tend to 0 along the escape; only the norm may stop it
  // Measured: ‖θ‖ grows like t^0.7 until the loss (≈ 1e-10 at ‖θ‖ ≈ 600, after 1e5 iterations)
  // is too small for the line search to resolve a decrease, which ends the run with
  // DIVERGED_LS_FAILURE before the default limit 1e3·‖θ0‖ is reached. 100·‖θ0‖ ≈ 150 is
  // reached after ~900 iterations.
  o.divergence_factor = 100.0;
  OptimizeResult r = optimize(lu.problem.model, lu.start, o);
  print_summary("LU no decay", r);
  expect_consistent(r, o, lu.start.size());
  EXPECT_TRUE(r.diverged);
  EXPECT_FALSE(r.converged);
  EXPECT_FALSE(r.nonfinite);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.reason, "DIVERGED_USER");
  EXPECT_GT(r.param_norm, o.divergence_factor * std::max(1.0, r.initial_param_norm));
  EXPECT_GT(r.norm_growth_rate, 0.0);
  // The loss keeps falling while the norm grows: the infimum 0 is approached, not attained.
  for (std::size_t i = 1; i < r.trajectory.size(); ++i)
    EXPECT_LE(r.trajectory[i].loss, r.trajectory[i - 1].loss) << "point " << i;
  EXPECT_LT(r.loss, 1e-6 * r.trajectory.front().loss);
  EXPECT_GT(r.param_norm, r.initial_param_norm);
}

TEST(Optimize, LuNetworkWithWeightDecayConverges) {
  // λ = 1e-3 restores a minimum. Newton certifies it to the default gatol; L-BFGS reaches
  // ‖∇L‖ ≈ 2e-9, where its line search can no longer resolve a decrease of L ≈ 2e-2
  // (‖∇L‖²·step ≈ 1e-18 is below round-off of L), so its run is held to 1e-8.
  for (const char* type : {"nls", "lmvm", "lm"}) {
    LuProblem lu(1e-3);
    OptimizeOptions o;
    o.name = std::string("lu_decay_") + type;
    o.tao_type = type;
    o.max_it = 1000000;
    if (o.tao_type == "lmvm") o.gatol = 1e-8;
    OptimizeResult r = optimize(lu.problem.model, lu.start, o);
    print_summary(std::string("LU decay 1e-3 ") + type, r);
    expect_consistent(r, o, lu.start.size());
    EXPECT_TRUE(r.converged) << r.reason << " " << r.error;
    EXPECT_FALSE(r.diverged);
    EXPECT_LE(r.grad_norm, o.gatol);
    EXPECT_LT(r.param_norm, 10.0 * r.initial_param_norm);
  }
}

// ---------------------------------------------------------------------------------------------
// The local-rate rule on synthetic sequences.

TEST(LocalRate, ClassifiesTextbookSequences) {
  using detail::classify_local_rate;
  EXPECT_EQ(classify_local_rate(std::vector<double>{1e-1, 1e-2, 1e-4}), "unknown");
  EXPECT_EQ(classify_local_rate(std::vector<double>{1e-1, 1e-2, 1e-4, 1e-8, 1e-16}), "quadratic");
  // Newton's last step stopped by round-off (1e-8 → 1e-15, not 1e-16).
  EXPECT_EQ(classify_local_rate(std::vector<double>{3e-1, 1e-1, 1e-2, 1e-4, 1e-8, 1e-15}),
            "quadratic");
  EXPECT_EQ(classify_local_rate(std::vector<double>{1e-2, 1e-3, 1e-5, 1e-8, 1e-12}), "superlinear");
  EXPECT_EQ(classify_local_rate(std::vector<double>{1.0, 0.5, 0.25, 0.125, 0.0625}), "linear");
  // Noisy linear (L-BFGS-like): not mistaken for superlinear.
  EXPECT_EQ(classify_local_rate(std::vector<double>{1.0, 0.5, 0.15, 0.09, 0.036, 0.0162}), "linear");
  // Measured on NLS: a damped, non-monotone start, then Newton's tail.
  EXPECT_EQ(classify_local_rate(std::vector<double>{3.36e-4, 1.04e-3, 4.3e-5, 1.38e-6, 1.13e-9,
                                                    1.24e-13}),
            "superlinear");
  // Non-monotone but contracting.
  EXPECT_EQ(classify_local_rate(std::vector<double>{1.0, 1.2, 0.3, 0.4, 0.05}), "linear");
  // g ~ 1/k at k ≈ 1000.
  EXPECT_EQ(classify_local_rate(std::vector<double>{1.0 / 1000, 1.0 / 1001, 1.0 / 1002, 1.0 / 1003}),
            "sublinear");
}

TEST(LogLogSlope, RecoversPowerLaw) {
  std::vector<int> x{3, 7, 15, 31};
  std::vector<double> y;
  for (int v : x) y.push_back(2.0 * std::pow(v + 1.0, 0.5));
  EXPECT_NEAR(detail::log_log_slope(x, y), 0.5, 1e-12);
  EXPECT_EQ(detail::log_log_slope(std::vector<int>{1}, std::vector<double>{1.0}), 0.0);
}

std::vector<TrajectoryPoint> synthetic_trajectory(double norm_exponent, bool loss_falls) {
  std::vector<TrajectoryPoint> t;
  for (int it : {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}) {
    const double loss = loss_falls ? 1.0 / (it + 1.0) : 0.5;
    t.push_back({it, loss, 1e-3, 1.5 * std::pow(it + 1.0, norm_exponent)});
  }
  return t;
}

// ‖θ‖ ~ iteration^0.8 from 1.5 to ~390 while the loss keeps falling: diverged, slope reported.
TEST(UnboundedDescent, GrowingNormWithFallingLossIsDivergence) {
  double slope = 0.0;
  EXPECT_TRUE(detail::unbounded_descent(synthetic_trajectory(0.8, true), 1.5, 10.0, 0.25, &slope));
  EXPECT_NEAR(slope, 0.8, 1e-9);
}

TEST(UnboundedDescent, BoundedOrStalledRunsAreNot) {
  // The norm settles: slope 0 over the later half.
  EXPECT_FALSE(detail::unbounded_descent(synthetic_trajectory(0.0, true), 1.5, 10.0, 0.25));
  // Grows, but the loss does not fall: not the non-attained-infimum picture.
  EXPECT_FALSE(detail::unbounded_descent(synthetic_trajectory(0.8, false), 1.5, 10.0, 0.25));
  // Grows slowly (slope 0.1): ends below 10 × ‖θ0‖ and below the slope threshold.
  EXPECT_FALSE(detail::unbounded_descent(synthetic_trajectory(0.1, true), 1.5, 10.0, 0.25));
  // Too short to say.
  EXPECT_FALSE(detail::unbounded_descent({}, 1.5, 10.0, 0.25));
}

}  // namespace
}  // namespace nnscape
