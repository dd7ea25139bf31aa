#include "nnscape/activation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnscape/error.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
#define NNSCAPE_ACTIVATION_AVX2 1
#include <immintrin.h>
#include <sleef.h>
#else
#define NNSCAPE_ACTIVATION_AVX2 0
#endif

#if NNSCAPE_ACTIVATION_AVX2 && !defined(__AVX__)
// sleef.h declares its AVX2 entry points only when the whole translation unit is compiled with
// -mavx (it tests __AVX__). This file is built for baseline x86-64 so the binary still runs on CPUs
// without AVX2, and `#pragma GCC target` does not define __AVX__ in C++ (the file is lexed before
// the pragma takes effect). So the few entry points used here are declared by hand, exactly as
// sleef.h 3.5 declares them; they are exported by libsleef.so whatever the compile flags.
extern "C" {
#ifndef Sleef___m256d_2_DEFINED
typedef struct {
  __m256d x, y;
} Sleef___m256d_2;
#define Sleef___m256d_2_DEFINED
#endif
__m256d Sleef_expd4_u10avx2(__m256d);
__m256d Sleef_log1pd4_u10avx2(__m256d);
__m256d Sleef_tanhd4_u10avx2(__m256d);
__m256d Sleef_erfcd4_u15avx2(__m256d);
__m256d Sleef_sind4_u10avx2(__m256d);
Sleef___m256d_2 Sleef_sincosd4_u10avx2(__m256d);
}
#endif

namespace nnscape {
namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 10> kActivationTable{{
    {Activation::identity, "identity"},
    {Activation::relu, "relu"},
    {Activation::leaky_relu, "leaky_relu"},
    {Activation::tanh, "tanh"},
    {Activation::sigmoid, "sigmoid"},
    {Activation::softplus, "softplus"},
    {Activation::gelu, "gelu"},
    {Activation::silu, "silu"},
    {Activation::sin, "sin"},
    {Activation::square, "square"},
}};

constexpr double kInvSqrt2 = 0.70710678118654752440084436210484903928;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438186848;
// Beyond this |z| the Gaussian density exp(-z²/2) underflows to 0 in double (z²/2 > 745), so GELU's
// φ-terms are exactly 0 there. Clamping z to it keeps φ·(2 − z²) from becoming 0·∞ = NaN.
constexpr double kGeluDensityCutoff = 40.0;

// Which outputs the caller asked for, so the kernels skip transcendental calls nobody needs
// (Network::predict asks only for σ; the gradient needs σ and σ').
struct Wanted {
  bool s;
  bool ds;
  bool d2s;
};

// ---------------------------------------------------------------------------------------------
// Scalar kernels. They are the fallback on CPUs without AVX2 and the only path for identity, relu
// and square, which compile to branch-free scalar code costing well under a nanosecond per element
// (memory-bound; a vector version gains nothing). Each returns {σ, σ', σ''}; the caller stores
// what was asked for after the computation, so writing σ over z (in place) is safe.
// ---------------------------------------------------------------------------------------------
using Triple = std::array<double, 3>;

struct IdentityKernel {
  static Triple Scalar(double z, Wanted) { return {z, 1.0, 0.0}; }
};

struct ReluKernel {
  // σ'(0) = 0 as in PyTorch; the kink is a measure-zero set, but the choice must be fixed so that
  // results are reproducible.
  static Triple Scalar(double z, Wanted) {
    return z > 0.0 ? Triple{z, 1.0, 0.0} : Triple{0.0, 0.0, 0.0};
  }
};

struct LeakyReluKernel {
  static Triple Scalar(double z, Wanted) {
    const double slope = z > 0.0 ? 1.0 : kLeakyReluSlope;
    return {slope * z, slope, 0.0};
  }
};

struct SquareKernel {
  static Triple Scalar(double z, Wanted) { return {z * z, 2.0 * z, 2.0}; }
};

// tanh: σ' is computed as sech² = 4e/(1+e)², e = exp(−2|z|), not as 1 − σ²: once |z| > ~19, σ
// rounds to ±1 and 1 − σ² would return exactly 0 (and loses relative accuracy long before that),
// which spoils second-order quantities of saturated neurons.
struct TanhKernel {
  static Triple Scalar(double z, Wanted w) {
    const double s = std::tanh(z);
    if (!w.ds && !w.d2s) return {s, 0.0, 0.0};
    const double e = std::exp(-2.0 * std::fabs(z));
    const double r = 1.0 / (1.0 + e);
    const double ds = 4.0 * e * r * r;
    return {s, ds, -2.0 * s * ds};
  }
};

// sigmoid: everything from e = exp(−|z|) ∈ (0, 1], which never overflows. σ(−|z|) = e/(1+e) keeps
// full relative accuracy in the far negative tail (1/(1+exp(−z)) would too, but 1 − σ would not),
// σ' = e/(1+e)² is symmetric and exact in both tails, and σ'' = −σ'·tanh(z/2) takes tanh from the
// library because (1−e)/(1+e) cancels near z = 0.
struct SigmoidKernel {
  static Triple Scalar(double z, Wanted w) {
    const double e = std::exp(-std::fabs(z));
    const double r = 1.0 / (1.0 + e);
    const double s = z >= 0.0 ? r : e * r;
    const double ds = e * r * r;
    const double d2s = w.d2s ? -ds * std::tanh(0.5 * z) : 0.0;
    return {s, ds, d2s};
  }
};

// softplus = max(z, 0) + log1p(exp(−|z|)): no overflow for large z, full accuracy (≈ e^z) for very
// negative z. σ' is the sigmoid, σ'' its derivative, both from the same e.
struct SoftplusKernel {
  static Triple Scalar(double z, Wanted w) {
    const double e = std::exp(-std::fabs(z));
    const double s = w.s ? std::max(z, 0.0) + std::log1p(e) : 0.0;
    const double r = 1.0 / (1.0 + e);
    return {s, z >= 0.0 ? r : e * r, e * r * r};
  }
};

// GELU (erf form): σ = zΦ(z), σ' = Φ + zφ, σ'' = φ(2 − z²). Φ(z) = erfc(−z/√2)/2 rather than
// (1 + erf(z/√2))/2, which cancels to 0 for z < −8 while Φ(−30) ≈ 5e−198 is representable.
struct GeluKernel {
  static Triple Scalar(double z, Wanted w) {
    const double cdf = (w.s || w.ds) ? 0.5 * std::erfc(-z * kInvSqrt2) : 0.0;
    double pdf = 0.0;
    double zc = z;
    if (w.ds || w.d2s) {
      zc = std::clamp(z, -kGeluDensityCutoff, kGeluDensityCutoff);
      pdf = kInvSqrt2Pi * std::exp(-0.5 * zc * zc);
    }
    return {z * cdf, cdf + zc * pdf, pdf * (2.0 - zc * zc)};
  }
};

// SiLU: σ = z·sig(z), σ' = sig + z·sig', σ'' = sig'·(2 − z·tanh(z/2)) with sig' = e/(1+e)².
// Here tanh(z/2) = ±(1−e)/(1+e) is accurate enough: near z = 0, where it cancels, the term
// z·tanh(z/2) is tiny next to 2.
struct SiluKernel {
  static Triple Scalar(double z, Wanted) {
    const double e = std::exp(-std::fabs(z));
    const double r = 1.0 / (1.0 + e);
    const double sig = z >= 0.0 ? r : e * r;
    const double dsig = e * r * r;
    const double half_tanh = std::copysign((1.0 - e) * r, z);
    return {z * sig, sig + z * dsig, dsig * (2.0 - z * half_tanh)};
  }
};

struct SinKernel {
  static Triple Scalar(double z, Wanted w) {
    const double s = std::sin(z);
    return {s, w.ds ? std::cos(z) : 0.0, -s};
  }
};

template <class Kernel>
void RunScalar(const double* z, std::size_t n, double* s, double* ds, double* d2s) {
  const Wanted w{s != nullptr, ds != nullptr, d2s != nullptr};
  for (std::size_t i = 0; i < n; ++i) {
    const Triple v = Kernel::Scalar(z[i], w);  // z[i] is read before any output is written
    if (s) s[i] = v[0];
    if (ds) ds[i] = v[1];
    if (d2s) d2s[i] = v[2];
  }
}

#if NNSCAPE_ACTIVATION_AVX2
// ---------------------------------------------------------------------------------------------
// AVX2 kernels: the same formulas as the scalar ones, four lanes at a time, with SLEEF for the
// transcendental functions (1.0 ulp, 1.5 for erfc). They are compiled for AVX2+FMA via the target
// attribute and only called after a run-time CPU check.
// ---------------------------------------------------------------------------------------------
#define NNSCAPE_AVX2 __attribute__((target("avx2,fma")))

struct Vec3 {
  __m256d s, ds, d2s;
};

NNSCAPE_AVX2 inline __m256d Abs(__m256d x) { return _mm256_andnot_pd(_mm256_set1_pd(-0.0), x); }
NNSCAPE_AVX2 inline __m256d Neg(__m256d x) { return _mm256_xor_pd(_mm256_set1_pd(-0.0), x); }
NNSCAPE_AVX2 inline __m256d Mul(__m256d a, __m256d b) { return _mm256_mul_pd(a, b); }
NNSCAPE_AVX2 inline __m256d Set(double x) { return _mm256_set1_pd(x); }
// Lanes with z ≥ 0 take `if_nonneg`, the others `if_neg` (NaN lanes take `if_neg`; both branches
// carry the NaN anyway).
NNSCAPE_AVX2 inline __m256d SelectNonNeg(__m256d z, __m256d if_nonneg, __m256d if_neg) {
  const __m256d nonneg = _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GE_OQ);
  return _mm256_blendv_pd(if_neg, if_nonneg, nonneg);
}

// Sigmoid pieces shared by sigmoid, softplus and SiLU: e = exp(−|z|), r = 1/(1+e).
struct SigmoidParts {
  __m256d e, r, sig, dsig;
};
NNSCAPE_AVX2 inline SigmoidParts ComputeSigmoidParts(__m256d z) {
  SigmoidParts p;
  p.e = Sleef_expd4_u10avx2(Neg(Abs(z)));
  p.r = _mm256_div_pd(Set(1.0), _mm256_add_pd(Set(1.0), p.e));
  const __m256d er = Mul(p.e, p.r);
  p.sig = SelectNonNeg(z, p.r, er);
  p.dsig = Mul(er, p.r);
  return p;
}

struct TanhAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted w) {
    Vec3 v{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    v.s = Sleef_tanhd4_u10avx2(z);
    if (w.ds || w.d2s) {
      const __m256d e = Sleef_expd4_u10avx2(Mul(Set(-2.0), Abs(z)));
      const __m256d r = _mm256_div_pd(Set(1.0), _mm256_add_pd(Set(1.0), e));
      v.ds = Mul(Mul(Set(4.0), e), Mul(r, r));
      v.d2s = Mul(Mul(Set(-2.0), v.s), v.ds);
    }
    return v;
  }
};

struct SigmoidAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted w) {
    const SigmoidParts p = ComputeSigmoidParts(z);
    Vec3 v{p.sig, p.dsig, _mm256_setzero_pd()};
    if (w.d2s) v.d2s = Neg(Mul(p.dsig, Sleef_tanhd4_u10avx2(Mul(Set(0.5), z))));
    return v;
  }
};

struct SoftplusAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted w) {
    const SigmoidParts p = ComputeSigmoidParts(z);
    Vec3 v{_mm256_setzero_pd(), p.sig, p.dsig};
    if (w.s) {
      // max_pd returns its second operand for NaN input; log1p(exp(NaN)) still yields the NaN.
      v.s = _mm256_add_pd(_mm256_max_pd(z, _mm256_setzero_pd()), Sleef_log1pd4_u10avx2(p.e));
    }
    return v;
  }
};

struct GeluAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted w) {
    Vec3 v{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    __m256d cdf = _mm256_setzero_pd();
    if (w.s || w.ds) {
      cdf = Mul(Set(0.5), Sleef_erfcd4_u15avx2(Mul(Set(-kInvSqrt2), z)));
      v.s = Mul(z, cdf);
    }
    if (w.ds || w.d2s) {
      const __m256d zc =
          _mm256_min_pd(_mm256_max_pd(z, Set(-kGeluDensityCutoff)), Set(kGeluDensityCutoff));
      const __m256d zc2 = Mul(zc, zc);
      const __m256d pdf = Mul(Set(kInvSqrt2Pi), Sleef_expd4_u10avx2(Mul(Set(-0.5), zc2)));
      v.ds = _mm256_fmadd_pd(zc, pdf, cdf);
      v.d2s = Mul(pdf, _mm256_sub_pd(Set(2.0), zc2));
    }
    return v;
  }
};

struct SiluAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted) {
    const SigmoidParts p = ComputeSigmoidParts(z);
    const __m256d sign = _mm256_and_pd(_mm256_set1_pd(-0.0), z);
    const __m256d half_tanh =
        _mm256_or_pd(sign, Mul(_mm256_sub_pd(Set(1.0), p.e), p.r));  // tanh(z/2), see SiluKernel
    Vec3 v;
    v.s = Mul(z, p.sig);
    v.ds = _mm256_fmadd_pd(z, p.dsig, p.sig);
    v.d2s = Mul(p.dsig, _mm256_fnmadd_pd(z, half_tanh, Set(2.0)));
    return v;
  }
};

// leaky_relu has no transcendental part, but GCC compiles its scalar select into a jump, which
// mispredicts on mixed-sign data (measured ~4 ns per element against ~0.3 for relu); the blend
// here is branch-free.
struct LeakyReluAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted) {
    const __m256d positive = _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GT_OQ);
    const __m256d slope = _mm256_blendv_pd(Set(kLeakyReluSlope), Set(1.0), positive);
    return {Mul(slope, z), slope, _mm256_setzero_pd()};
  }
};

struct SinAvx2 {
  NNSCAPE_AVX2 static Vec3 Eval(__m256d z, Wanted w) {
    Vec3 v{_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    if (w.ds) {
      const Sleef___m256d_2 sc = Sleef_sincosd4_u10avx2(z);
      v.s = sc.x;
      v.ds = sc.y;
    } else {
      v.s = Sleef_sind4_u10avx2(z);
    }
    v.d2s = Neg(v.s);
    return v;
  }
};

// The tail (n mod 4 elements) goes through the same vector kernel with masked loads and stores
// instead of the scalar libm path: every element then gets bit-identical results whatever its
// position, so the output does not depend on how an array is split (e.g. across MPI ranks).
// Masked-off lanes load 0, which every kernel handles.
template <class VecKernel>
NNSCAPE_AVX2 void RunAvx2(const double* z, std::size_t n, double* s, double* ds, double* d2s) {
  const Wanted w{s != nullptr, ds != nullptr, d2s != nullptr};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const Vec3 v = VecKernel::Eval(_mm256_loadu_pd(z + i), w);
    if (s) _mm256_storeu_pd(s + i, v.s);
    if (ds) _mm256_storeu_pd(ds + i, v.ds);
    if (d2s) _mm256_storeu_pd(d2s + i, v.d2s);
  }
  if (i < n) {
    const long long rest = static_cast<long long>(n - i);
    const __m256i mask =
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(rest), _mm256_setr_epi64x(0, 1, 2, 3));
    const Vec3 v = VecKernel::Eval(_mm256_maskload_pd(z + i, mask), w);
    if (s) _mm256_maskstore_pd(s + i, mask, v.s);
    if (ds) _mm256_maskstore_pd(ds + i, mask, v.ds);
    if (d2s) _mm256_maskstore_pd(d2s + i, mask, v.d2s);
  }
}

// __builtin_cpu_supports reads a table filled by libgcc at start-up: cheap enough per call, and no
// cached flag of our own is needed.
bool CpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif  // NNSCAPE_ACTIVATION_AVX2

// Vector kernel for each scalar kernel; `void` where there is none.
template <class Kernel>
struct VectorOf {
  using type = void;
};
#if NNSCAPE_ACTIVATION_AVX2
template <>
struct VectorOf<LeakyReluKernel> {
  using type = LeakyReluAvx2;
};
template <>
struct VectorOf<TanhKernel> {
  using type = TanhAvx2;
};
template <>
struct VectorOf<SigmoidKernel> {
  using type = SigmoidAvx2;
};
template <>
struct VectorOf<SoftplusKernel> {
  using type = SoftplusAvx2;
};
template <>
struct VectorOf<GeluKernel> {
  using type = GeluAvx2;
};
template <>
struct VectorOf<SiluKernel> {
  using type = SiluAvx2;
};
template <>
struct VectorOf<SinKernel> {
  using type = SinAvx2;
};
#endif

template <class Kernel>
void Run(bool allow_simd, const double* z, std::size_t n, double* s, double* ds, double* d2s) {
#if NNSCAPE_ACTIVATION_AVX2
  using Vec = typename VectorOf<Kernel>::type;
  if constexpr (!std::is_void_v<Vec>) {
    if (allow_simd && CpuHasAvx2()) {
      RunAvx2<Vec>(z, n, s, ds, d2s);
      return;
    }
  }
#endif
  RunScalar<Kernel>(z, n, s, ds, d2s);
}

void Evaluate(bool allow_simd, Activation a, const double* z, std::size_t n, double* s, double* ds,
              double* d2s) {
  if (n == 0 || (!s && !ds && !d2s)) return;
  NNSCAPE_CHECK(z != nullptr, "evaluate_activation: null input array");
  switch (a) {
    case Activation::identity:
      // The common in-place σ-only call is a no-op; avoid touching the memory at all.
      if (s == z && !ds && !d2s) return;
      return Run<IdentityKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::relu:
      return Run<ReluKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::leaky_relu:
      return Run<LeakyReluKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::tanh:
      return Run<TanhKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::sigmoid:
      return Run<SigmoidKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::softplus:
      return Run<SoftplusKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::gelu:
      return Run<GeluKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::silu:
      return Run<SiluKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::sin:
      return Run<SinKernel>(allow_simd, z, n, s, ds, d2s);
    case Activation::square:
      return Run<SquareKernel>(allow_simd, z, n, s, ds, d2s);
  }
  throw Error("evaluate_activation: invalid Activation value " +
              std::to_string(static_cast<int>(a)));
}

}  // namespace

Activation parse_activation(std::string_view name) {
  for (const auto& [a, n] : kActivationTable) {
    if (n == name) return a;
  }
  std::string known;
  for (const auto& [a, n] : kActivationTable) {
    if (!known.empty()) known += ", ";
    known += n;
  }
  throw Error("unknown activation '" + std::string(name) + "' (known: " + known + ")");
}

std::string_view to_string(Activation a) {
  for (const auto& [act, n] : kActivationTable) {
    if (act == a) return n;
  }
  throw Error("to_string: invalid Activation value " + std::to_string(static_cast<int>(a)));
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& entry : kActivationTable) v.emplace_back(entry.second);
    return v;
  }();
  return names;
}

// Real-analytic, which includes the polynomials identity and square. Benning & Dereich also need
// the activation to be non-polynomial; those two are kept as controls (a linear network's minima
// are never isolated), so callers checking the theorem's hypotheses must exclude them separately.
bool is_analytic(Activation a) {
  switch (a) {
    case Activation::relu:
    case Activation::leaky_relu:
      return false;
    case Activation::identity:
    case Activation::tanh:
    case Activation::sigmoid:
    case Activation::softplus:
    case Activation::gelu:
    case Activation::silu:
    case Activation::sin:
    case Activation::square:
      return true;
  }
  throw Error("is_analytic: invalid Activation value " + std::to_string(static_cast<int>(a)));
}

void evaluate_activation(Activation a, const double* z, std::size_t n, double* s, double* ds,
                         double* d2s) {
  Evaluate(/*allow_simd=*/true, a, z, n, s, ds, d2s);
}

std::string_view activation_simd() {
#if NNSCAPE_ACTIVATION_AVX2
  if (CpuHasAvx2()) return "sleef-avx2";
#endif
  return "scalar-libm";
}

namespace detail {
// Not in the public header: lets the test suite check the scalar fallback against the AVX2 path
// on machines that have AVX2 (where the fallback would otherwise never run).
void evaluate_activation_scalar(Activation a, const double* z, std::size_t n, double* s, double* ds,
                                double* d2s) {
  Evaluate(/*allow_simd=*/false, a, z, n, s, ds, d2s);
}
}  // namespace detail

}  // namespace nnscape
