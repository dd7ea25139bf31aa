#pragma once
// A redundant one-hidden-layer network reduced to its efficient core, and the exact embedding of
// a core point back into the full parameter space (papers.md, Paper A). Pure: no MPI, no PETSc.
//
// Reduction (applied to the groups the redundancy report found): a dead unit (a_j ≈ 0) is
// dropped; a constant unit (w_j ≈ 0) is folded into the output bias (c += a_j σ(b_j)); units
// sharing ±(w, b) are merged into one (tanh, sin-free odd case: a ← a_i − a_j for an antipodal
// pair; sigmoid: a ← a_i − a_j and c += a_j). Embedding reverses it exactly as maps: merged units
// get ±(w, b) of the core unit, every unit but the group's representative keeps its trained output
// weights and the representative takes the rest; dead units get a_j = 0 and keep (w_j, b_j);
// constant units get w_j = 0 and keep (b_j, a_j). The embedded point realizes the core's function.
#include <span>
#include <string>
#include <vector>

#include "nnscape/classify.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

struct Reduction {
  bool applicable = false;
  std::string reason;       // why not, when !applicable
  std::string description;  // e.g. "duplicate 1,4; dead 3" (0-based hidden units)
  Architecture core;        // the efficient core's architecture (fewer hidden units)
  std::vector<double> core_theta;  // the core point closest to the trained one
  // Private to the embedding: what each full unit becomes (see reduction.cpp).
  std::vector<int> unit_map;       // full hidden unit → core unit, or −1 (dead/constant)
  std::vector<int> unit_sign;      // ±1 for merged units
  std::vector<int> representative; // per core unit: the full unit that absorbs the remainder
  std::vector<double> full_theta;  // the trained point (supplies the free coordinates)
};

// Throws nnscape::Error when θ does not fit the network. Not applicable (with the reason): more
// than one hidden layer, a masked layer, an activation without an exact merge rule, or no
// redundancy in the report.
Reduction reduce_to_core(const Network& net, std::span<const double> theta,
                         const RedundancyReport& report);

// The full-network point whose realization equals the core network at core_theta.
std::vector<double> embed(const Network& net, const Reduction& r, std::span<const double> core_theta);

// Rank of the N·m × P output Jacobian J at θ from its singular values (never from JᵀJ): σ_i is
// zero when σ_i ≤ zero_bound = c·eps·σ_max·√(N·m) (the SVD's backward error), nonzero when
// σ_i > 1e3·zero_bound; anything between is undecided and makes `certain` false.
struct JacobianRank {
  int nullity = -1;          // P − rank, counting undecided values as zero
  int undecided = 0;
  double sigma_max = 0.0;
  double zero_bound = 0.0;
  double largest_zero = 0.0;      // largest σ counted zero (0 if none)
  double smallest_nonzero = 0.0;  // smallest σ counted nonzero
  bool certain = false;
};
JacobianRank jacobian_rank(const Network& net, const Dataset& data, std::span<const double> theta);

}  // namespace nnscape
