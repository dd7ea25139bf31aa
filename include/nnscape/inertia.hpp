#pragma once
// Counting negative, zero and positive eigenvalues of a computed spectrum.
//
// Zeros are found by the widest gap in the log-spectrum, not by one fixed threshold: at trained
// minima true zeros sit near 1e-15·|λ|max while genuine small eigenvalues can be 1e-8·|λ|max,
// so any fixed cut either drops or invents zeros (papers.md). The rule, with r_i = |λ_i|/|λ|max
// sorted ascending: among splits k (k smallest are zeros) whose largest "zero" has
// r_k ≤ zero_ceiling, take the one with the widest gap log10(r_{k+1}/r_k); k = 0 competes with
// gap log10(r_1/roundoff). The split is certain when that gap spans ≥ min_gap_decades.
// r below machine epsilon counts as epsilon (round-off level: an exact 0 opens no gap).
#include <span>

namespace nnscape {

struct InertiaRule {
  double zero_ceiling = 1e-6;   // relative size above which nothing counts as zero
  double min_gap_decades = 2.0;  // a narrower widest gap makes the count uncertain
  double roundoff = 1e-13;       // relative size true zeros reach by rounding (dsyevd: ~P·eps)
};

struct Inertia {
  int n_neg = 0;
  int n_zero = 0;
  int n_pos = 0;
  double scale = 0.0;           // |λ|max
  double threshold = 0.0;       // |λ| below this counted zero (geometric middle of the gap)
  double gap_decades = 0.0;     // width of the chosen gap (log10); +inf when P = 0
  double largest_zero = 0.0;    // relative size of the largest eigenvalue counted zero
  double smallest_nonzero = 0.0;  // relative size of the smallest eigenvalue not counted zero
  bool certain = false;         // gap_decades ≥ rule.min_gap_decades
};

// Pure; eigenvalues in any order.
Inertia count_inertia(std::span<const double> eigenvalues, const InertiaRule& rule = {});

}  // namespace nnscape
