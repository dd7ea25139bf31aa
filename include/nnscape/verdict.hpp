#pragma once
// The verdict on an end point, proven or marked unproven. Pure: no MPI, no PETSc.
//
// Order of evidence:
//  1. non-finite → failed_numerics; diverged → diverged, with the evidence (growth of ‖θ‖ while
//     the loss fell, the hidden units that run away).
//  2. A ball-arithmetic proof at the point itself (certificate.hpp): strict_min or saddle.
//  3. A redundant point with (near) zero residual: reduce to the efficient core (reduction.hpp;
//     again on the core while it is redundant), prove the core's strict minimum with zero
//     residual, embed it back; the end point must lie within embed_tolerance of the embedding.
//     The nullity is dim ker J there, from singular values.
//  4. Otherwise the verdict comes from the Hessian's counts (inertia.hpp) and is unproven. A
//     zero-loss point is a global minimum of a sum of squares, so a point of near-zero loss
//     (near_zero_loss) is never called a saddle without a proof.
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "nnscape/classify.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/inertia.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

struct Certificate {
  bool certified = false;
  // "krawczyk+cholesky", "krawczyk+curvature", "reduction+krawczyk+cholesky",
  // "divergence_evidence"; empty when unproven.
  std::string method;
  std::string reason;  // unproven: why; proven: remarks (e.g. nullity differs from prediction)
  // Box (∞-norm) holding the unique critical point (of the core, for reductions).
  double radius = std::numeric_limits<double>::quiet_NaN();
  double lambda_min_lower = std::numeric_limits<double>::quiet_NaN();  // proven, on the box
  double curvature_upper = std::numeric_limits<double>::quiet_NaN();   // proven (< 0), saddle
  double loss_upper = std::numeric_limits<double>::quiet_NaN();        // proven, on the box
  std::string reduction;  // e.g. "duplicate 1,4; dead 3"
  int core_width = -1;
  double distance = std::numeric_limits<double>::quiet_NaN();  // ‖end point − embedding‖₂
  int jacobian_nullity = -1;  // dim ker J at the embedding (singular values, certain)
  // diverged: ‖θ_end‖ / max(1, ‖θ0‖), and the hidden units carrying the growth.
  double norm_ratio = std::numeric_limits<double>::quiet_NaN();
  std::string runaway_units;  // e.g. "1,3 (pair: a_1 ≈ −a_3, w_1 ∥ w_3)"
};

// What the optimizer and the polishing stage know about the end point.
struct EndPointFacts {
  bool converged = false;
  bool diverged = false;
  bool nonfinite = false;
  double initial_loss = std::numeric_limits<double>::quiet_NaN();
  double initial_param_norm = 0.0;
  double norm_growth_rate = 0.0;
  // Estimated ‖H(θ*) − H(θ)‖₂ (polish.hpp), used for unproven counts.
  double hessian_change_estimate = 0.0;
};

struct VerdictOptions {
  // A reduction's embedding must lie this close (2-norm, relative to max(1, ‖θ‖)) to the end
  // point for the end point's verdict to be the embedding's. Not round-off: along a pair's
  // splitting directions the loss grows only like t⁴, so optimizers stall on zero-loss valleys
  // (measured: loss 1e-19 at 1e-3 from the minimizing set); the record keeps the distance.
  // The same bound as polishing's total move (polish.hpp).
  double embed_tolerance = 1e-2;
  // Zero residual: data loss ≤ zero_loss · mean(y²), i.e. an RMS residual of 1e-10·rms(y). A
  // reduction's proof needs the loss bound over the core's box below it: the embedding is then
  // a global minimum up to that bound (the loss is ≥ 0 everywhere).
  double zero_loss = 1e-20;
  // An end point this close to zero loss (relative to mean(y²)) is tried by reduction: the
  // proof is then about the embedding, which must pass zero_loss and embed_tolerance.
  double near_zero_loss = 1e-16;
};

struct Verdict {
  PointType type = PointType::failed_numerics;
  Certificate certificate;
  Inertia hessian;  // the Hessian's counts under the bounds the evidence allows
  int nullity = -1;  // of H when known soundly (0 for a proven strict minimum)
};

// hessian_eigenvalues: all P eigenvalues of H at theta (empty when not computed).
Verdict judge_end_point(const Network& net, const Dataset& data, double weight_decay,
                        std::span<const double> theta, const EndPointFacts& facts,
                        const RedundancyReport& redundancy,
                        std::span<const double> hessian_eigenvalues,
                        const VerdictOptions& opts = {});

}  // namespace nnscape
