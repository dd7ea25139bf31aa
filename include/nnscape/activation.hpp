#pragma once
// Activation functions with exact first and second derivatives, applied to whole arrays.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace nnscape {

enum class Activation { identity, relu, leaky_relu, tanh, sigmoid, softplus, gelu, silu, sin, square };

// Slope of leaky_relu for z < 0 (PyTorch's default).
inline constexpr double kLeakyReluSlope = 0.01;

// Throws nnscape::Error naming the unknown name and the known ones.
Activation parse_activation(std::string_view name);
std::string_view to_string(Activation a);
const std::vector<std::string>& activation_names();

// True for activations that are real-analytic (the setting of Benning & Dereich).
// identity and square count as analytic too, although they are polynomials, which the theorem
// excludes; relu and leaky_relu are the only non-analytic ones.
bool is_analytic(Activation a);

// Element-wise s = σ(z), ds = σ'(z), d2s = σ''(z) for n values; any output may be null.
// Transcendental parts are vectorized (SLEEF, AVX2 when the CPU has it).
// s may be z itself (in place). On a given CPU an element's results do not depend on n or on
// its position in the array.
void evaluate_activation(Activation a, const double* z, std::size_t n, double* s, double* ds,
                         double* d2s);

// Which code evaluate_activation runs on this CPU: "sleef-avx2" (SLEEF's AVX2 entry points, called
// by name so no dispatch can change them) or "scalar-libm" on CPUs without AVX2 and FMA.
std::string_view activation_simd();

}  // namespace nnscape
