#pragma once
// Finishing an optimizer's end point: Newton steps with the exact dense Hessian, pseudo-inverted
// on its numerically nonzero spectrum, accepted while they shrink ‖∇L‖. They converge
// quadratically to a nondegenerate critical point of any type and, at a non-isolated
// zero-residual minimum, to a nearby point of the minimizing set (normal flow), so a point an
// optimizer left at ‖∇L‖ = 1e-10 but 1e-2 from its critical point ends within round-off of it.
// Pure (LossModel + LAPACK); dense, so only for P ≤ PolishOptions::dense_limit.
#include <cstddef>
#include <span>
#include <vector>

#include "nnscape/loss.hpp"

namespace nnscape {

struct PolishOptions {
  int max_steps = 30;
  std::ptrdiff_t dense_limit = 2000;  // P above this: no polishing (O(P³) per step)
  // A step may move θ at most this far (2-norm, relative to max(1, ‖θ‖)) in total: polishing
  // finishes a run, it must not walk to another critical point.
  double max_move = 1e-2;
  // Also accept steps that lower the loss while ‖∇L‖ grows, and try modified Newton steps
  // (|λ| + damping) when Newton's fail: a globalized descent for points known to be near a
  // minimum (a reduced core), not for end points, whose nearest critical point may be a saddle.
  bool descend = false;
  // Descend as above when the Hessian at the start has no eigenvalue below −1e-8·|λ|max (a
  // minimum's basin, where an ill-conditioned minimum leaves Newton steps short of the
  // quadratic region): ‖∇L‖ may then grow on the way while the loss falls.
  bool descend_near_minimum = true;
};

struct PolishResult {
  std::vector<double> theta;  // the polished point (the input when no step was accepted)
  int steps = 0;              // accepted Newton steps
  double distance = 0.0;      // ‖θ_polished − θ_input‖₂
  double grad_before = 0.0;   // ‖∇L‖₂ at the input and at the result
  double grad_after = 0.0;
  double loss_before = 0.0;
  double loss_after = 0.0;
  // Estimate of the distance to the critical point from the result: the length of one more
  // (not taken) Newton step. Not a bound; certificates give bounds.
  double next_step = 0.0;
  // Estimate of ‖H(θ*) − H(θ)‖₂ at the result: next_step × the Hessian's change per unit
  // distance measured over the last accepted step (0 when none was taken).
  double hessian_change = 0.0;
  bool applied = false;       // P ≤ dense_limit and the point was finite
};

// Leaves the model at the returned point.
PolishResult polish(LossModel& model, std::span<const double> theta, const PolishOptions& opts = {});

}  // namespace nnscape
