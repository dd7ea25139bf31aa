// Spectra of H and G: the dense LAPACK path, the matrix-free SLEPc path against it, and the
// pass-through of SLEPc options under the per-curvature prefixes.
#include <gtest/gtest.h>
#include <petscsys.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/petsc.hpp"
#include "nnscape/spectrum.hpp"
#include "test_util.hpp"

namespace nnscape {
namespace {

// Sets one PETSc option for the lifetime of the guard, so a failing test cannot leak it into
// the next one.
class ScopedOption {
 public:
  ScopedOption(const char* name, const char* value) : name_(name) {
    NNSCAPE_PETSC_CALL(PetscOptionsSetValue(nullptr, name, value));
  }
  ~ScopedOption() { (void)PetscOptionsClearValue(nullptr, name_); }
  ScopedOption(const ScopedOption&) = delete;
  ScopedOption& operator=(const ScopedOption&) = delete;

 private:
  const char* name_;
};

TEST(SymmetricEigenvalues, TridiagonalHasKnownSpectrum) {
  // tridiag(-1, 2, -1) of order n: λ_k = 2 − 2cos(kπ/(n+1)), k = 1..n.
  const int n = 12;
  std::vector<double> a(static_cast<std::size_t>(n) * n, 0.0);
  for (int i = 0; i < n; ++i) {
    a[static_cast<std::size_t>(i) * n + i] = 2.0;
    if (i + 1 < n) {
      a[static_cast<std::size_t>(i) * n + i + 1] = -1.0;
      a[static_cast<std::size_t>(i + 1) * n + i] = -1.0;
    }
  }
  const std::vector<double> w = symmetric_eigenvalues(a, n);
  ASSERT_EQ(w.size(), static_cast<std::size_t>(n));
  for (int k = 1; k <= n; ++k) {
    EXPECT_NEAR(w[k - 1], 2.0 - 2.0 * std::cos(k * std::numbers::pi / (n + 1)), 1e-13);
  }
}

TEST(SymmetricEigenvalues, RefusesBadInput) {
  EXPECT_THROW(symmetric_eigenvalues(std::vector<double>(5, 0.0), 2), Error);
  EXPECT_THROW(symmetric_eigenvalues(std::vector<double>{1.0, std::nan(""), std::nan(""), 1.0}, 2),
               Error);
  EXPECT_TRUE(symmetric_eigenvalues({}, 0).empty());
}

TEST(OptionsPrefix, OnePerCurvature) {
  EXPECT_STREQ(options_prefix(Curvature::hessian), "hess_");
  EXPECT_STREQ(options_prefix(Curvature::gauss_newton), "gn_");
}

// A tanh net (2, 30, 1) on 200 samples at a random point: P = 121, H indefinite, G ⪰ 0. Wide
// enough that the Krylov subspace (ncv 100) is smaller than the space, so the matrix-free path
// is really tested.
constexpr int kP = 121;
class SpectrumOfModel : public ::testing::Test {
 protected:
  SpectrumOfModel() : problem_(make_problem()) {
    std::mt19937_64 rng(20250611);
    problem_.theta = test::normal_vector(static_cast<std::size_t>(problem_.model.num_params()),
                                         rng, 0.8);
    problem_.model.set_point(problem_.theta);
  }

  static Architecture arch() { return test::make_arch({2, 30, 1}, Activation::tanh); }
  static Dataset data() {
    std::mt19937_64 rng(7);
    return test::random_dataset(200, 2, 1, rng);
  }
  static test::Problem make_problem();

  LossModel& model() { return problem_.model; }

  static SpectrumOptions matrix_free() {
    SpectrumOptions o;
    o.dense_limit = 0;
    o.extremes = 3;
    return o;
  }

  test::Problem problem_;
};

// Problem is neither copyable nor movable (the model holds references), so it is built in place
// through guaranteed copy elision.
test::Problem SpectrumOfModel::make_problem() { return test::Problem(arch(), data(), 0.0); }

TEST_F(SpectrumOfModel, DenseHessianIsCompleteAndCounted) {
  const Spectrum s = compute_spectrum(model(), Curvature::hessian);
  ASSERT_EQ(model().num_params(), kP);
  EXPECT_TRUE(s.complete);
  EXPECT_EQ(s.method, "lapack_dsyevd");
  ASSERT_EQ(s.eigenvalues.size(), static_cast<std::size_t>(kP));
  EXPECT_TRUE(std::is_sorted(s.eigenvalues.begin(), s.eigenvalues.end()));
  EXPECT_TRUE(s.residuals.empty());
  EXPECT_EQ(s.inertia.n_neg + s.inertia.n_zero + s.inertia.n_pos, kP);
  EXPECT_GE(s.inertia.n_neg, 0);
  // Independent of LAPACK: Σλ = trace(H) and Σλ² = ||H||_F² on the same dense matrix.
  const std::vector<double> h = model().dense_hessian();
  double trace = 0.0;
  double frob2 = 0.0;
  for (int i = 0; i < kP; ++i) trace += h[static_cast<std::size_t>(i) * kP + i];
  for (double e : h) frob2 += e * e;
  double sum = 0.0;
  double sum2 = 0.0;
  for (double v : s.eigenvalues) {
    sum += v;
    sum2 += v * v;
  }
  const double lmax = std::max(std::abs(s.eigenvalues.front()), s.eigenvalues.back());
  EXPECT_NEAR(sum, trace, 1e-12 * kP * lmax);
  EXPECT_NEAR(sum2, frob2, 1e-12 * kP * lmax * lmax);
}

TEST_F(SpectrumOfModel, GaussNewtonIsPositiveSemidefinite) {
  const Spectrum s = compute_spectrum(model(), Curvature::gauss_newton);
  ASSERT_EQ(s.eigenvalues.size(), static_cast<std::size_t>(kP));
  const double lmax = s.eigenvalues.back();
  ASSERT_GT(lmax, 0.0);
  EXPECT_GE(s.eigenvalues.front(), -1e-12 * lmax);
  EXPECT_EQ(s.inertia.n_neg, 0);
}

TEST_F(SpectrumOfModel, MatrixFreeMatchesDenseAtBothEnds) {
  for (Curvature which : {Curvature::hessian, Curvature::gauss_newton}) {
    SCOPED_TRACE(options_prefix(which));
    const Spectrum dense = compute_spectrum(model(), which);
    const Spectrum mf = compute_spectrum(model(), which, matrix_free());
    const double lmax = std::max(std::abs(dense.eigenvalues.front()), dense.eigenvalues.back());

    EXPECT_FALSE(mf.complete);
    EXPECT_EQ(mf.method, "slepc_krylovschur");
    EXPECT_EQ(mf.converged, 6);
    ASSERT_EQ(mf.eigenvalues.size(), 6u);
    ASSERT_EQ(mf.residuals.size(), 6u);
    EXPECT_TRUE(std::is_sorted(mf.eigenvalues.begin(), mf.eigenvalues.end()));
    EXPECT_GT(mf.iterations, 0);
    EXPECT_GT(mf.tolerance, 0.0);
    EXPECT_EQ(mf.inertia.n_neg, -1);
    EXPECT_EQ(mf.inertia.n_zero, -1);
    EXPECT_EQ(mf.inertia.n_pos, -1);
    EXPECT_FALSE(mf.inertia.certain);
    EXPECT_NEAR(mf.inertia.scale, lmax, 1e-8 * lmax);

    const std::size_t p = dense.eigenvalues.size();
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(mf.eigenvalues[5 - i], dense.eigenvalues[p - 1 - i], 1e-8 * lmax) << i;
    }
    // What any converged pair guarantees (symmetric A, unit x): some eigenvalue lies within
    // ||Ax − θx|| of θ. Nothing more can be asked of the small end in general: here G's bottom
    // is a cluster of dozens of eigenvalues within 4e-15 of 0, which Krylov–Schur samples
    // (values like 5e-18 where the smallest is −4e-15) rather than orders.
    for (std::size_t i = 0; i < 6; ++i) {
      double nearest = std::numeric_limits<double>::infinity();
      for (double v : dense.eigenvalues) nearest = std::min(nearest, std::abs(v - mf.eigenvalues[i]));
      EXPECT_LE(nearest, mf.residuals[i] + 1e-12 * lmax) << i;
    }
    for (double r : mf.residuals) EXPECT_LE(r, 1e-8 * lmax);
  }
}

// H at this point has a well separated bottom (−4.50, −3.32, −2.99, −2.73, ...; λmax 34.8):
// there the small end must match the dense values as closely as the large end.
TEST_F(SpectrumOfModel, MatrixFreeFindsSeparatedSmallestEigenvalues) {
  const Spectrum dense = compute_spectrum(model(), Curvature::hessian);
  const Spectrum mf = compute_spectrum(model(), Curvature::hessian, matrix_free());
  const double lmax = std::max(std::abs(dense.eigenvalues.front()), dense.eigenvalues.back());
  ASSERT_EQ(mf.eigenvalues.size(), 6u);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(mf.eigenvalues[i], dense.eigenvalues[i], 1e-8 * lmax);
}

TEST_F(SpectrumOfModel, ExtremesAreClampedToTheSize) {
  SpectrumOptions o = matrix_free();
  o.extremes = 65;  // 2k > P = 121: the ends share the spectrum without overlapping
  const Spectrum mf = compute_spectrum(model(), Curvature::gauss_newton, o);
  EXPECT_LE(mf.eigenvalues.size(), static_cast<std::size_t>(kP));
  EXPECT_FALSE(mf.complete);
  EXPECT_EQ(mf.inertia.n_zero, -1);
}

TEST_F(SpectrumOfModel, OptionsPassThroughUnderThePrefix) {
  {
    ScopedOption type("-hess_eps_type", "lanczos");
    ScopedOption reorthog("-hess_eps_lanczos_reorthog", "full");  // lanczos refuses to guess
    const Spectrum h = compute_spectrum(model(), Curvature::hessian, matrix_free());
    EXPECT_EQ(h.method, "slepc_lanczos");
    // The other curvature's prefix is untouched.
    const Spectrum g = compute_spectrum(model(), Curvature::gauss_newton, matrix_free());
    EXPECT_EQ(g.method, "slepc_krylovschur");
  }
  {
    ScopedOption tol("-gn_eps_tol", "1e-11");
    const Spectrum g = compute_spectrum(model(), Curvature::gauss_newton, matrix_free());
    EXPECT_DOUBLE_EQ(g.tolerance, 1e-11);
  }
  const Spectrum h = compute_spectrum(model(), Curvature::hessian, matrix_free());
  EXPECT_EQ(h.method, "slepc_krylovschur");
}

// A PETSc error must come back as an exception carrying PETSc's reason, not abort the job.
TEST_F(SpectrumOfModel, PetscErrorsBecomeExceptions) {
  ScopedOption type("-hess_eps_type", "no_such_solver");
  try {
    (void)compute_spectrum(model(), Curvature::hessian, matrix_free());
    FAIL() << "expected a PetscError";
  } catch (const PetscError& e) {
    EXPECT_NE(e.code(), 0);
    EXPECT_NE(std::string(e.what()).find("no_such_solver"), std::string::npos) << e.what();
  }
}

// papers.md's predicted nullity at a zero-residual redundant point of a tanh net (d = 2, m = 1):
// a dead neuron (output weight 0) gives d + 1 = 3 zero directions, a duplicate pair d + 2 = 4,
// and H = G there. The error bound must find exactly 7, with the rest decades clear of it.
TEST(SpectrumOfRedundantPoint, CountsThePredictedNullity) {
  std::mt19937_64 rng(11);
  const int width = 5;
  test::Problem pr(test::make_arch({2, width, 1}, Activation::tanh),
                   test::random_dataset(500, 2, 1, rng), 0.0);
  pr.theta = test::normal_vector(static_cast<std::size_t>(pr.model.num_params()), rng, 0.8);
  // θ = W1 (width × 2, row-major), b1, W2 (1 × width), b2.
  pr.theta[3 * width + 0] = 0.0;  // neuron 0 is dead
  pr.theta[2 * 1 + 0] = pr.theta[2 * 2 + 0];  // neuron 1 duplicates neuron 2
  pr.theta[2 * 1 + 1] = pr.theta[2 * 2 + 1];
  pr.theta[2 * width + 1] = pr.theta[2 * width + 2];
  pr.data.y = pr.net.predict(pr.theta, pr.data.x.data(), pr.data.n);  // zero residual
  pr.model.set_point(pr.theta);
  for (Curvature which : {Curvature::hessian, Curvature::gauss_newton}) {
    SCOPED_TRACE(options_prefix(which));
    const Spectrum s = compute_spectrum(pr.model, which);
    EXPECT_EQ(s.inertia.n_zero, 7);
    EXPECT_EQ(s.inertia.n_neg, 0);
    EXPECT_EQ(s.inertia.n_pos, 14);
    EXPECT_TRUE(s.inertia.certain);
    EXPECT_EQ(s.inertia.n_undecided, 0);
    EXPECT_GT(s.inertia.smallest_nonzero, 1e5 * s.inertia.largest_zero);
  }
}

// An exception inside the shell's product must not cross PETSc's C frames: it comes back out
// of compute_spectrum as itself (here the model's refusal to work before set_point).
TEST(SpectrumErrors, ExceptionInsideTheProductIsRethrown) {
  std::mt19937_64 rng(3);
  test::Problem fresh(test::make_arch({2, 3, 1}, Activation::tanh),
                      test::random_dataset(20, 2, 1, rng), 0.0);
  SpectrumOptions o;
  o.dense_limit = 0;
  o.extremes = 2;
  try {
    (void)compute_spectrum(fresh.model, Curvature::hessian, o);
    FAIL() << "expected the model's exception";
  } catch (const PetscError& e) {
    FAIL() << "the original exception was replaced by a PetscError: " << e.what();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("set_point"), std::string::npos) << e.what();
  }
  // And PETSc is still usable afterwards.
  fresh.theta.assign(static_cast<std::size_t>(fresh.model.num_params()), 0.3);
  fresh.model.set_point(fresh.theta);
  EXPECT_EQ(compute_spectrum(fresh.model, Curvature::hessian, o).eigenvalues.size(), 4u);
}

}  // namespace
}  // namespace nnscape
