#pragma once
// What an end point is: critical-point type from the Hessian's inertia, and, for one-hidden-layer
// networks, the redundancy structure of papers.md (dead, constant, duplicate and antipodal
// neurons, with distances) with the Hessian nullity it predicts. Pure: no MPI, no PETSc.
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
};

// failed_numerics > diverged > not_converged > saddle (n_neg > 0) > degenerate_min (n_zero > 0)
// > strict_min. Without certified counts a converged point is classified by the available
// extremes only when they decide it (documented in classify.cpp).
PointType classify_point(const PointEvidence& e);

struct NeuronPair {
  int i = 0;
  int j = 0;
  double distance = 0.0;  // relative distance of (w_i, b_i) to ±(w_j, b_j)
};

struct RedundancyReport {
  bool applicable = false;      // one hidden layer (else only `distance` is meaningful)
  std::vector<int> dead;        // a_j ≈ 0
  std::vector<int> constant;    // w_j ≈ 0 (output spread over the data ≈ 0)
  std::vector<NeuronPair> duplicate;  // (w_i, b_i) ≈ (w_j, b_j)
  std::vector<NeuronPair> antipodal;  // (w_i, b_i) ≈ −(w_j, b_j), odd activations
  bool redundant = false;
  double distance = 0.0;        // relative distance to the nearest redundancy (0 when redundant)
  std::string nearest;          // which redundancy that is, e.g. "dead 3", "duplicate 1,4"
  int predicted_nullity = -1;   // of G, and of H at zero residual (papers.md); -1 if unknown
  int predicted_nullity_h = -1; // of H at a critical point with non-zero residual
};

struct RedundancyTolerance {
  double relative = 1e-6;  // a distance below this (relative to the data's scale) is redundancy
};

RedundancyReport analyse_redundancy(const Network& net, std::span<const double> theta,
                                    const Dataset& data, const RedundancyTolerance& tol = {});

}  // namespace nnscape
