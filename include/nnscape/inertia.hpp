#pragma once
// Counting negative, zero and positive eigenvalues of a computed spectrum, soundly.
//
// An eigenvalue λ̂ computed at θ̃ stands for an eigenvalue of H at the critical point θ* the
// verdict is about. They differ by at most
//   bound = backward error of the eigensolver (backward_factor·P·eps·|λ|max)
//         + variation (‖H(θ*) − H(θ̃)‖₂, Weyl; 0 when θ̃ is the point itself)
// so λ̂ counts as zero only when |λ̂| ≤ bound, as nonzero (with its sign) only when
// |λ̂| > margin·bound, and as undecided in between: the backward error is an estimate, not a
// proof, so a value just above it may still be a zero and one just below a genuine small
// eigenvalue. The counts are certain only when nothing is undecided and the variation is known
// (a certificate's box, or a matrix taken at the point itself). No gap heuristic: at an
// ill-conditioned strict minimum (λ_min = 1e-9·|λ|max) every eigenvalue is clear of the bound.
#include <span>

namespace nnscape {

struct InertiaBounds {
  double backward_factor = 4.0;  // dsyevd: |λ̂ − λ| ≤ c·P·eps·‖A‖ (LAPACK Users' Guide §4.7)
  double variation = 0.0;        // absolute; see above
  bool variation_known = true;   // false: an estimate, so the counts cannot be certain
  double margin = 100.0;         // nonzero needs |λ̂| > margin·bound
};

struct Inertia {
  int n_neg = 0;
  int n_zero = 0;
  int n_pos = 0;
  int n_undecided = 0;
  double scale = 0.0;           // |λ|max
  double threshold = 0.0;       // the bound: |λ̂| ≤ threshold counts zero
  double largest_zero = 0.0;    // relative size of the largest eigenvalue counted zero (0: none)
  double smallest_nonzero = 0.0;  // relative size of the smallest counted nonzero (+inf: none)
  bool certain = false;         // n_undecided == 0 and the variation is known
};

// Pure; eigenvalues in any order. Undecided eigenvalues are in none of n_neg, n_zero, n_pos.
Inertia count_inertia(std::span<const double> eigenvalues, const InertiaBounds& bounds = {});

}  // namespace nnscape
