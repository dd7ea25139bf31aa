#pragma once
// What an end point is: critical-point type from the Hessian's inertia, and, for one-hidden-layer
// networks, the redundancy structure of papers.md (dead, constant, duplicate and antipodal
// neurons, with distances) with the Hessian nullity it predicts. Pure: no MPI, no PETSc.
// Definitions, formulas and their numerical checks: classify.cpp and tests/classify_test.cpp.
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/inertia.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

enum class PointType { strict_min, degenerate_min, saddle, not_converged, diverged, failed_numerics };
std::string_view to_string(PointType t);

struct PointEvidence {
  bool converged = false;  // the optimizer certified a critical point
  bool diverged = false;
  bool nonfinite = false;
  Inertia hessian;         // counts of the full spectrum (n_* = -1 when not certified)
  // Smallest and largest Hessian eigenvalue from any spectrum (dense or matrix-free); NaN if none.
  double lambda_min = std::numeric_limits<double>::quiet_NaN();
  double lambda_max = std::numeric_limits<double>::quiet_NaN();
};

// failed_numerics > diverged > not_converged > curvature. Certified counts (all n_* ≥ 0 and
// hessian.certain) decide: saddle (n_neg > 0) > degenerate_min (n_zero > 0) > strict_min.
// Otherwise the extremes, with s = max(|lambda_min|, |lambda_max|): lambda_min < −tol·s is a
// saddle, lambda_min > tol·s a strict_min, anything else (or no extremes) degenerate_min:
// "cannot certify strict", never an invented count.
PointType classify_point(const PointEvidence& e, double tol = 1e-6);

struct NeuronPair {
  int i = 0;
  int j = 0;
  double distance = 0.0;  // relative distance of (w_i, b_i) to ±(w_j, b_j) over the data
};

// Per hidden neuron j, dimensionless (definitions in classify.cpp).
struct NeuronMeasure {
  double dead = 0.0;          // ‖a_j‖ · (size of j's features over the data) / output scale
  double flat = 0.0;          // std of σ(z_j) over the data / size of j's features
  double input_spread = 0.0;  // std over the data of w_j·x (pre-activation units)
};

struct RedundancyReport {
  bool applicable = false;      // one hidden layer, analytic non-polynomial activation
  std::vector<NeuronMeasure> neurons;  // one hidden layer only
  std::vector<int> dead;        // measure.dead < tol
  std::vector<int> constant;    // measure.flat < tol (may overlap dead)
  std::vector<NeuronPair> duplicate;  // (w_i, b_i) ≈ (w_j, b_j); sin: w_i ≈ w_j
  std::vector<NeuronPair> antipodal;  // (w_i, b_i) ≈ −(w_j, b_j); sin: w_i ≈ −w_j
  bool redundant = false;       // distance < tol (deeper nets: a sufficient condition only)
  double distance = std::numeric_limits<double>::quiet_NaN();  // to the nearest redundancy
  std::string nearest;          // e.g. "dead 3", "duplicate 1,4"; or why not applicable
  int predicted_nullity = -1;   // of G, and of H at zero residual (papers.md); -1 if unknown
  int predicted_nullity_h = -1; // of H at a critical point with non-zero residual
};

struct RedundancyTolerance {
  // A distance below this (relative to the data's scale) is redundancy. Trained end points sit
  // near, not on, the redundant set: measured 2e-5 to 9e-4 at zero-loss fits of wider students,
  // against ≥ 1e-2 for efficient minima, hence 1e-3.
  double relative = 1e-3;
};

// Not collective. Throws nnscape::Error when θ or the data do not fit the network.
RedundancyReport analyse_redundancy(const Network& net, std::span<const double> theta,
                                    const Dataset& data, const RedundancyTolerance& tol = {});

}  // namespace nnscape
