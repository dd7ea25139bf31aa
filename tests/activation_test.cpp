// Activation functions: derivatives against finite differences, the vectorized path against a
// scalar libm reference and against the scalar fallback, tails of odd length, aliasing, null
// outputs, huge inputs, and name parsing.
#include "nnscape/activation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <numbers>
#include <set>
#include <string>
#include <vector>

#include "nnscape/error.hpp"

namespace nnscape::detail {
// Defined in src/activation.cpp, not in the public header: the scalar fallback, which on an AVX2
// machine would otherwise never run.
void evaluate_activation_scalar(Activation a, const double* z, std::size_t n, double* s, double* ds,
                                double* d2s);
}  // namespace nnscape::detail

namespace nnscape {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

std::vector<Activation> AllActivations() {
  std::vector<Activation> all;
  for (const auto& name : activation_names()) all.push_back(parse_activation(name));
  return all;
}

std::string Name(Activation a) { return std::string(to_string(a)); }

// Symmetric grid with the saturated tails (±30, ±1e3), zero and points close to zero.
std::vector<double> Grid() {
  const std::vector<double> positive = {1e-8, 1e-3, 0.1, 0.3,  0.5,  0.7,  1.0, 1.5,
                                        2.0,  3.0,  5.0, 10.0, 20.0, 30.0, 1e3};
  std::vector<double> grid = {0.0};
  for (double z : positive) {
    grid.push_back(z);
    grid.push_back(-z);
  }
  std::sort(grid.begin(), grid.end());
  return grid;
}

struct Values {
  std::vector<double> s, ds, d2s;
};

using EvalFn = void (*)(Activation, const double*, std::size_t, double*, double*, double*);

Values Evaluate(Activation a, const std::vector<double>& z, EvalFn fn = &evaluate_activation) {
  Values v{std::vector<double>(z.size()), std::vector<double>(z.size()),
           std::vector<double>(z.size())};
  fn(a, z.data(), z.size(), v.s.data(), v.ds.data(), v.d2s.data());
  return v;
}

// Straightforward scalar formulas with std:: functions, written independently of the library's
// (e.g. sech² via cosh, sigmoid' via cosh(z/2)), each stable on the grid's range.
struct Reference {
  double s, ds, d2s;
};

double Sigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}
double SigmoidPrime(double z) {
  const double c = std::cosh(0.5 * z);
  return 0.25 / (c * c);
}

Reference ReferenceValues(Activation a, double z) {
  switch (a) {
    case Activation::identity:
      return {z, 1.0, 0.0};
    case Activation::relu:
      return {z > 0 ? z : 0.0, z > 0 ? 1.0 : 0.0, 0.0};
    case Activation::leaky_relu:
      return {z > 0 ? z : kLeakyReluSlope * z, z > 0 ? 1.0 : kLeakyReluSlope, 0.0};
    case Activation::tanh: {
      const double c = std::cosh(z);
      const double sech2 = 1.0 / (c * c);
      return {std::tanh(z), sech2, -2.0 * std::tanh(z) * sech2};
    }
    case Activation::sigmoid:
      return {Sigmoid(z), SigmoidPrime(z), -SigmoidPrime(z) * std::tanh(0.5 * z)};
    case Activation::softplus:
      return {z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z)), Sigmoid(z),
              SigmoidPrime(z)};
    case Activation::gelu: {
      const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
      const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
      return {z * cdf, cdf + z * pdf, pdf * (2.0 - z * z)};
    }
    case Activation::silu:
      return {z * Sigmoid(z), Sigmoid(z) + z * SigmoidPrime(z),
              SigmoidPrime(z) * (2.0 - z * std::tanh(0.5 * z))};
    case Activation::sin:
      return {std::sin(z), std::cos(z), -std::sin(z)};
    case Activation::square:
      return {z * z, 2.0 * z, 2.0};
  }
  ADD_FAILURE() << "unhandled activation";
  return {0, 0, 0};
}

// Relative closeness; exact equality covers 0 == -0 and both-infinite; the absolute floor only
// forgives subnormal noise.
::testing::AssertionResult RelClose(double got, double want, double rtol) {
  if (got == want) return ::testing::AssertionSuccess();
  const double diff = std::fabs(got - want);
  if (std::isfinite(diff) &&
      (diff <= rtol * std::max(std::fabs(got), std::fabs(want)) || diff <= 1e-300)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "got " << got << ", want " << want << ", relative error "
         << diff / std::max(std::fabs(got), std::fabs(want)) << " > " << rtol;
}

bool Identical(double x, double y) {
  return std::memcmp(&x, &y, sizeof x) == 0 || (std::isnan(x) && std::isnan(y));
}

bool HasKinkAtZero(Activation a) { return a == Activation::relu || a == Activation::leaky_relu; }

TEST(Activation, NamesRoundTrip) {
  const auto& names = activation_names();
  EXPECT_EQ(names.size(), 10u);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  for (const auto& name : names) EXPECT_EQ(to_string(parse_activation(name)), name);
  for (int i = 0; i < 10; ++i) {
    const auto a = static_cast<Activation>(i);
    EXPECT_EQ(parse_activation(to_string(a)), a);
  }
  EXPECT_EQ(parse_activation("leaky_relu"), Activation::leaky_relu);
}

TEST(Activation, UnknownNameThrowsAndNamesIt) {
  EXPECT_THROW(parse_activation("swish"), Error);
  EXPECT_THROW(parse_activation(""), Error);
  EXPECT_THROW(parse_activation("Tanh"), Error);  // names are case-sensitive
  try {
    parse_activation("swish");
    FAIL() << "no exception";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("swish"), std::string::npos) << msg;
    for (const auto& name : activation_names()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
}

TEST(Activation, IsAnalytic) {
  for (Activation a : AllActivations()) {
    EXPECT_EQ(is_analytic(a), !HasKinkAtZero(a)) << Name(a);
  }
}

// σ' against the central difference of σ and σ'' against that of σ'. The tolerance is 1e-6
// relative plus the difference's own rounding error (a few ulps of f over the step): without it,
// e.g. tanh(30 ± h) both round to 1 and the difference is 0 while σ'(30) = 3.5e-26.
TEST(Activation, DerivativesMatchFiniteDifferences) {
  const double h = 1e-5;
  for (EvalFn fn : {EvalFn{&evaluate_activation}, EvalFn{&detail::evaluate_activation_scalar}}) {
    for (Activation a : AllActivations()) {
      for (double z : Grid()) {
        if (HasKinkAtZero(a) && std::fabs(z) <= h) continue;
        const std::vector<double> pm = {z + h, z - h};
        const double step = pm[0] - pm[1];  // exact, unlike 2h, when z is large
        const Values at = Evaluate(a, {z}, fn);
        const Values v = Evaluate(a, pm, fn);
        const auto check = [&](double analytic, double fp, double fm, const char* what) {
          const double fd = (fp - fm) / step;
          const double tol = 1e-6 * std::max(std::fabs(analytic), std::fabs(fd)) +
                             8 * kEps * (std::fabs(fp) + std::fabs(fm)) / step;
          EXPECT_LE(std::fabs(analytic - fd), tol)
              << Name(a) << " " << what << " at z = " << z << ": analytic " << analytic
              << ", finite difference " << fd;
        };
        check(at.ds[0], v.s[0], v.s[1], "sigma'");
        check(at.d2s[0], v.ds[0], v.ds[1], "sigma''");
      }
    }
  }
}

TEST(Activation, VectorizedMatchesScalarReference) {
  for (Activation a : AllActivations()) {
    const std::vector<double> z = Grid();
    const Values v = Evaluate(a, z);
    for (std::size_t i = 0; i < z.size(); ++i) {
      const Reference ref = ReferenceValues(a, z[i]);
      // GELU's Φ(z) = erfc(−z/√2)/2 has condition number ≈ z² in the left tail: rounding z/√2 to
      // double alone costs z²·eps relative (measured against long double at z = −30: the library
      // is off by 3e−14, the libm reference by 1.2e−13), so the tolerance grows with it there.
      const double rtol = a == Activation::gelu ? 1e-14 * std::max(1.0, z[i] * z[i]) : 1e-14;
      EXPECT_TRUE(RelClose(v.s[i], ref.s, rtol)) << Name(a) << " sigma at z = " << z[i];
      EXPECT_TRUE(RelClose(v.ds[i], ref.ds, rtol)) << Name(a) << " sigma' at z = " << z[i];
      EXPECT_TRUE(RelClose(v.d2s[i], ref.d2s, 1e-14)) << Name(a) << " sigma'' at z = " << z[i];
    }
  }
}

// A dense sweep also crosses the zeros of σ' and σ'' (GELU, SiLU, sin), where relative error is
// meaningless, so here the error is measured against the size of the values around it.
TEST(Activation, DenseSweepMatchesScalarReference) {
  std::vector<double> z;
  for (double x = -40.0; x <= 40.0; x += 0.01) z.push_back(x);
  for (Activation a : AllActivations()) {
    const Values v = Evaluate(a, z);
    for (std::size_t i = 0; i < z.size(); ++i) {
      const Reference ref = ReferenceValues(a, z[i]);
      const double scale = 1.0 + std::fabs(z[i]);
      ASSERT_LE(std::fabs(v.s[i] - ref.s), 1e-14 * std::max(std::fabs(ref.s), 1e-2 * scale))
          << Name(a) << " sigma at z = " << z[i];
      ASSERT_LE(std::fabs(v.ds[i] - ref.ds), 1e-14 * std::max(std::fabs(ref.ds), 1e-2))
          << Name(a) << " sigma' at z = " << z[i];
      ASSERT_LE(std::fabs(v.d2s[i] - ref.d2s), 1e-14 * std::max(std::fabs(ref.d2s), 1e-2))
          << Name(a) << " sigma'' at z = " << z[i];
    }
  }
}

TEST(Activation, ScalarFallbackMatchesVectorized) {
  std::vector<double> z = Grid();
  for (double x = -12.0; x <= 12.0; x += 0.37) z.push_back(x);
  for (Activation a : AllActivations()) {
    const Values vec = Evaluate(a, z);
    const Values sca = Evaluate(a, z, &detail::evaluate_activation_scalar);
    for (std::size_t i = 0; i < z.size(); ++i) {
      const double scale = 1e-3;  // forgives only noise next to a zero crossing
      EXPECT_LE(std::fabs(vec.s[i] - sca.s[i]), 1e-14 * std::max(std::fabs(sca.s[i]), scale))
          << Name(a) << " sigma at z = " << z[i];
      EXPECT_LE(std::fabs(vec.ds[i] - sca.ds[i]), 1e-14 * std::max(std::fabs(sca.ds[i]), scale))
          << Name(a) << " sigma' at z = " << z[i];
      EXPECT_LE(std::fabs(vec.d2s[i] - sca.d2s[i]), 1e-14 * std::max(std::fabs(sca.d2s[i]), scale))
          << Name(a) << " sigma'' at z = " << z[i];
    }
  }
}

// Short and odd lengths at every alignment exercise the vector tail; each element must come out
// exactly as in a long array (so results do not depend on how an array is split), and nothing
// past the end may be written.
TEST(Activation, OddLengthsAndTails) {
  const std::vector<double> grid = Grid();
  const double sentinel = -12345.678;
  for (Activation a : AllActivations()) {
    const Values full = Evaluate(a, grid);
    for (std::size_t n : {1u, 2u, 3u, 4u, 5u, 7u, 17u}) {
      for (std::size_t offset = 0; offset < 4; ++offset) {
        const std::size_t first = (offset * 7) % (grid.size() - n);
        std::vector<double> z(offset + n + 4, 0.0);
        std::copy_n(grid.begin() + first, n, z.begin() + offset);
        std::vector<double> s(z.size(), sentinel), ds(z.size(), sentinel), d2s(z.size(), sentinel);
        evaluate_activation(a, z.data() + offset, n, s.data() + offset, ds.data() + offset,
                            d2s.data() + offset);
        for (std::size_t k = 0; k < z.size(); ++k) {
          if (k >= offset && k < offset + n) {
            const std::size_t g = first + k - offset;
            EXPECT_TRUE(Identical(s[k], full.s[g]))
                << Name(a) << " n = " << n << " z = " << grid[g];
            EXPECT_TRUE(Identical(ds[k], full.ds[g])) << Name(a) << " n = " << n;
            EXPECT_TRUE(Identical(d2s[k], full.d2s[g])) << Name(a) << " n = " << n;
          } else {
            EXPECT_EQ(s[k], sentinel) << Name(a) << " wrote outside [0, n), n = " << n;
            EXPECT_EQ(ds[k], sentinel) << Name(a) << " wrote outside [0, n), n = " << n;
            EXPECT_EQ(d2s[k], sentinel) << Name(a) << " wrote outside [0, n), n = " << n;
          }
        }
      }
    }
  }
}

// Network::predict overwrites the pre-activations with σ in place; the gradient may do the same
// while also asking for the derivatives, which must be those of the original z.
TEST(Activation, InPlaceAliasing) {
  for (Activation a : AllActivations()) {
    for (std::size_t n : {1u, 3u, 5u, 17u, 31u}) {
      std::vector<double> z = Grid();
      z.resize(n);
      const Values want = Evaluate(a, z);

      std::vector<double> buf = z;
      evaluate_activation(a, buf.data(), n, buf.data(), nullptr, nullptr);
      for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(Identical(buf[i], want.s[i])) << Name(a);

      buf = z;
      std::vector<double> ds(n), d2s(n);
      evaluate_activation(a, buf.data(), n, buf.data(), ds.data(), d2s.data());
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_TRUE(Identical(buf[i], want.s[i])) << Name(a) << " z = " << z[i];
        EXPECT_TRUE(Identical(ds[i], want.ds[i])) << Name(a) << " z = " << z[i];
        EXPECT_TRUE(Identical(d2s[i], want.d2s[i])) << Name(a) << " z = " << z[i];
      }

      // The same for the scalar fallback.
      buf = z;
      detail::evaluate_activation_scalar(a, buf.data(), n, buf.data(), ds.data(), d2s.data());
      const Values sca = Evaluate(a, z, &detail::evaluate_activation_scalar);
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_TRUE(Identical(buf[i], sca.s[i])) << Name(a) << " (scalar) z = " << z[i];
        EXPECT_TRUE(Identical(ds[i], sca.ds[i])) << Name(a) << " (scalar) z = " << z[i];
      }
    }
  }
}

// Every combination of null outputs; the kernels skip work for missing outputs, so the remaining
// ones may be computed along another route (sin alone instead of sincos) and differ in the last
// bit at most.
TEST(Activation, NullOutputs) {
  const std::vector<double> z = Grid();
  const std::size_t n = z.size();
  for (Activation a : AllActivations()) {
    const Values all = Evaluate(a, z);
    for (int mask = 0; mask < 8; ++mask) {
      std::vector<double> s(n), ds(n), d2s(n);
      for (EvalFn fn :
           {EvalFn{&evaluate_activation}, EvalFn{&detail::evaluate_activation_scalar}}) {
        fn(a, z.data(), n, (mask & 1) ? s.data() : nullptr, (mask & 2) ? ds.data() : nullptr,
           (mask & 4) ? d2s.data() : nullptr);
        for (std::size_t i = 0; i < n; ++i) {
          if (mask & 1) {
            EXPECT_TRUE(RelClose(s[i], all.s[i], 4 * kEps)) << Name(a) << " mask " << mask;
          }
          if (mask & 2) {
            EXPECT_TRUE(RelClose(ds[i], all.ds[i], 4 * kEps)) << Name(a) << " mask " << mask;
          }
          if (mask & 4) {
            EXPECT_TRUE(RelClose(d2s[i], all.d2s[i], 4 * kEps)) << Name(a) << " mask " << mask;
          }
        }
      }
    }
    // Nothing to do: must not touch the (null) input.
    evaluate_activation(a, nullptr, 0, nullptr, nullptr, nullptr);
    evaluate_activation(a, z.data(), n, nullptr, nullptr, nullptr);
  }
}

// Outputs are finite wherever the true value is (square's σ = z² overflows for |z| > 1.3e154 and
// σ' = 2z for |z| > DBL_MAX/2, correctly), and the saturated limits are right.
TEST(Activation, HugeInputsStayFinite) {
  std::vector<double> z;
  for (double m :
       {30.0, 40.0, 100.0, 709.0, 710.0, 746.0, 1e3, 1e10, 1e20, 1e154, 1e200, 1e300, DBL_MAX}) {
    z.push_back(m);
    z.push_back(-m);
  }
  for (Activation a : AllActivations()) {
    for (EvalFn fn : {EvalFn{&evaluate_activation}, EvalFn{&detail::evaluate_activation_scalar}}) {
      const Values v = Evaluate(a, z, fn);
      for (std::size_t i = 0; i < z.size(); ++i) {
        const bool square = a == Activation::square;
        const double m = std::fabs(z[i]);
        if (!square || m < 1e154) {
          EXPECT_TRUE(std::isfinite(v.s[i])) << Name(a) << " z = " << z[i];
        }
        if (!square || m < DBL_MAX / 2) {
          EXPECT_TRUE(std::isfinite(v.ds[i])) << Name(a) << " z = " << z[i];
        }
        EXPECT_TRUE(std::isfinite(v.d2s[i])) << Name(a) << " sigma'' at z = " << z[i];
        if (m < 1e3) continue;
        const bool pos = z[i] > 0;
        switch (a) {
          case Activation::tanh:
            EXPECT_EQ(v.s[i], pos ? 1.0 : -1.0);
            EXPECT_EQ(v.ds[i], 0.0);
            EXPECT_EQ(v.d2s[i], 0.0);
            break;
          case Activation::sigmoid:
            EXPECT_EQ(v.s[i], pos ? 1.0 : 0.0);
            EXPECT_EQ(v.ds[i], 0.0);
            EXPECT_EQ(v.d2s[i], 0.0);
            break;
          case Activation::softplus:
          case Activation::gelu:
          case Activation::silu:
            EXPECT_EQ(v.s[i], pos ? z[i] : 0.0) << Name(a) << " z = " << z[i];
            EXPECT_EQ(v.ds[i], pos ? 1.0 : 0.0) << Name(a) << " z = " << z[i];
            EXPECT_EQ(v.d2s[i], 0.0) << Name(a) << " z = " << z[i];
            break;
          case Activation::sin:
            EXPECT_LE(std::fabs(v.s[i]), 1.0);
            EXPECT_NEAR(v.s[i] * v.s[i] + v.ds[i] * v.ds[i], 1.0, 4 * kEps) << "z = " << z[i];
            break;
          default:
            break;
        }
      }
    }
  }
}

// Numerically delicate spots where a naive formula fails: the far tails must keep relative
// accuracy (values that are tiny but representable must not collapse to 0).
TEST(Activation, TailAccuracy) {
  const std::vector<double> z = {-30.0, 30.0, -700.0};
  const Values sg = Evaluate(Activation::sigmoid, z);
  EXPECT_TRUE(RelClose(sg.s[0], std::exp(-30.0) / (1 + std::exp(-30.0)), 1e-14));
  EXPECT_TRUE(RelClose(sg.s[2], std::exp(-700.0), 1e-13));
  const Values sp = Evaluate(Activation::softplus, z);
  EXPECT_TRUE(RelClose(sp.s[2], std::exp(-700.0), 1e-13));
  const Values th = Evaluate(Activation::tanh, z);
  EXPECT_TRUE(RelClose(th.ds[1], 4 * std::exp(-60.0), 1e-13));  // 1 − tanh² would give 0
  EXPECT_GT(th.d2s[0], 0.0);
  const Values ge = Evaluate(Activation::gelu, {-30.0});
  // Φ(−30) ≈ 4.906e−198; 1 + erf would give exactly 0.
  EXPECT_TRUE(RelClose(ge.s[0], -30.0 * 0.5 * std::erfc(30.0 / std::sqrt(2.0)), 1e-12));
  EXPECT_LT(ge.s[0], 0.0);
}

}  // namespace
}  // namespace nnscape
