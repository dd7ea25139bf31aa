#include "nnscape/inertia.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "nnscape/error.hpp"

namespace nnscape {

// Edge cases, and why they are resolved this way:
// - P = 0: nothing to count; the (empty) split is vacuously certain, gap_decades = +inf.
// - All eigenvalues exactly 0 (scale 0): no relative size exists, the matrix is zero, so all P
//   are zeros and that is certain (gap +inf); threshold 0.
// - Relative sizes below machine epsilon are raised to epsilon before taking logs. dsyevd's
//   eigenvalues carry absolute errors ~ eps·|λ|max, so smaller values cannot be told apart,
//   and an exact 0 would otherwise open an infinite "gap" between itself and the round-off
//   zeros next to it (a decoupled zero block, e.g. an input feature that is always 0, gives
//   exact zeros beside 1e-16 ones) and the count would stop at the exact zeros.
// - The largest eigenvalue defines the scale (r = 1), so "everything is zero" is never a
//   candidate when scale > 0, whatever zero_ceiling says.
// - Ties between equally wide gaps go to the smaller count.
// - "None" is reported as largest_zero = 0 (no zeros) and smallest_nonzero = +inf (no
//   non-zeros); reported relative sizes are the unclamped ones.
Inertia count_inertia(std::span<const double> eigenvalues, const InertiaRule& rule) {
  NNSCAPE_CHECK(rule.zero_ceiling > 0.0 && rule.zero_ceiling < 1.0,
                "inertia rule: zero_ceiling must lie in (0, 1)");
  NNSCAPE_CHECK(rule.min_gap_decades >= 0.0, "inertia rule: min_gap_decades must be >= 0");
  NNSCAPE_CHECK(rule.roundoff > 0.0 && rule.roundoff < rule.zero_ceiling,
                "inertia rule: roundoff must lie in (0, zero_ceiling)");
  constexpr double kInf = std::numeric_limits<double>::infinity();

  Inertia out;
  const std::size_t p = eigenvalues.size();
  double scale = 0.0;
  for (double v : eigenvalues) {
    NNSCAPE_CHECK(std::isfinite(v), "count_inertia: eigenvalue is not finite");
    scale = std::max(scale, std::abs(v));
  }
  out.scale = scale;
  out.smallest_nonzero = kInf;
  if (p == 0 || scale == 0.0) {
    out.n_zero = static_cast<int>(p);
    out.gap_decades = kInf;
    out.certain = true;
    return out;
  }

  // Sorted by magnitude, so the k smallest r are exactly the first k eigenvalues here.
  std::vector<double> by_size(eigenvalues.begin(), eigenvalues.end());
  std::sort(by_size.begin(), by_size.end(),
            [](double a, double b) { return std::abs(a) < std::abs(b); });
  std::vector<double> r(p);
  for (std::size_t i = 0; i < p; ++i) r[i] = std::abs(by_size[i]) / scale;
  constexpr double kFloor = std::numeric_limits<double>::epsilon();
  auto lg = [&](double x) { return std::log10(std::max(x, kFloor)); };

  // k = 0 (no zeros) competes with the gap between the round-off level, where true zeros of an
  // exactly computed matrix land, and the smallest value: a spectrum whose smallest eigenvalue
  // is 1e-6 relative has no zero, and that is as clear as its distance from round-off.
  std::size_t best_k = 0;
  double best_gap = lg(r[0]) - std::log10(rule.roundoff);
  for (std::size_t k = 1; k < p && r[k - 1] <= rule.zero_ceiling; ++k) {
    const double gap = lg(r[k]) - lg(r[k - 1]);
    if (gap > best_gap) {
      best_gap = gap;
      best_k = k;
    }
  }

  out.gap_decades = best_gap;
  out.certain = best_gap >= rule.min_gap_decades;
  out.smallest_nonzero = r[best_k];
  if (best_k == 0) {
    out.largest_zero = 0.0;
    out.threshold = scale * std::sqrt(rule.roundoff * std::max(r[0], kFloor));
  } else {
    out.largest_zero = r[best_k - 1];
    out.threshold = scale * std::sqrt(std::max(r[best_k - 1], kFloor) * std::max(r[best_k], kFloor));
  }

  // Classify by rank, not by comparing with threshold, so the count is exactly best_k even
  // when equal magnitudes straddle the split. Zeros of either sign are zeros.
  out.n_zero = static_cast<int>(best_k);
  for (std::size_t i = best_k; i < p; ++i) {
    if (by_size[i] < 0.0) {
      ++out.n_neg;
    } else {
      ++out.n_pos;
    }
  }
  return out;
}

}  // namespace nnscape
