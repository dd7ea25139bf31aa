#include "nnscape/inertia.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "nnscape/error.hpp"

namespace nnscape {

// Edge cases: P = 0 is vacuously certain; a zero matrix has P exact zeros (bound 0, and |0| ≤ 0).
Inertia count_inertia(std::span<const double> eigenvalues, const InertiaBounds& bounds) {
  NNSCAPE_CHECK(bounds.backward_factor >= 0.0 && std::isfinite(bounds.backward_factor),
                "inertia bounds: backward_factor must be finite and >= 0");
  NNSCAPE_CHECK(bounds.variation >= 0.0 && !std::isnan(bounds.variation),
                "inertia bounds: variation must be >= 0");
  NNSCAPE_CHECK(bounds.margin >= 1.0 && std::isfinite(bounds.margin),
                "inertia bounds: margin must be finite and >= 1");
  constexpr double kEps = std::numeric_limits<double>::epsilon();
  Inertia out;
  double scale = 0.0;
  for (double v : eigenvalues) {
    NNSCAPE_CHECK(std::isfinite(v), "count_inertia: eigenvalue is not finite");
    scale = std::max(scale, std::abs(v));
  }
  const auto p = static_cast<double>(eigenvalues.size());
  out.scale = scale;
  out.threshold = bounds.backward_factor * p * kEps * scale + bounds.variation;
  out.smallest_nonzero = std::numeric_limits<double>::infinity();
  for (double v : eigenvalues) {
    const double a = std::abs(v);
    const double rel = scale > 0.0 ? a / scale : 0.0;
    if (a <= out.threshold) {
      ++out.n_zero;
      out.largest_zero = std::max(out.largest_zero, rel);
    } else if (a > bounds.margin * out.threshold) {
      ++(v < 0.0 ? out.n_neg : out.n_pos);
      out.smallest_nonzero = std::min(out.smallest_nonzero, rel);
    } else {
      ++out.n_undecided;
    }
  }
  out.certain = out.n_undecided == 0 && bounds.variation_known;
  return out;
}

}  // namespace nnscape
