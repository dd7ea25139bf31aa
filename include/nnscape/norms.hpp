#pragma once
// Euclidean norms of parameter-sized vectors. Pure, header-only.
#include <cmath>
#include <cstddef>
#include <span>

namespace nnscape {

inline double norm2(std::span<const double> v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

// ‖a − b‖₂; a and b have the same length.
inline double distance2(std::span<const double> a, std::span<const double> b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

}  // namespace nnscape
