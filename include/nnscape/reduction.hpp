#pragma once
// A redundant one-hidden-layer network reduced to its efficient core, and the exact embedding of
// a core point back into the full parameter space (papers.md, Paper A). Pure: no MPI, no PETSc.
//
// Reduction (applied to the groups the redundancy report found; each unit's fate is decided once:
// dead first, then constant, then groups of the remaining units joined by their pairs): a dead
// unit (a_j ≈ 0) is dropped; a constant unit (w_j ≈ 0) is folded into the output bias
// (c += a_j σ(b_j) at the trained b_j); units sharing ±(w, b) are merged into one with the mean
// of ±(w, b) and output weights summed with their signs (tanh: a ← a_i − a_j for an antipodal
// pair; sigmoid: a ← a_i − a_j and c += a_j). Merges that are not exact for the activation
// (softplus/GELU/SiLU antipodal pairs, sin pairs) are left alone and named in the description.
// Embedding reverses it exactly as maps: merged units get ±(w, b) of the core unit, every unit
// but the group's representative keeps its trained output weights and the representative takes
// the rest; dead units get a_j = 0 and keep (w_j, b_j); constant units get w_j = 0 and keep
// (b_j, a_j). The embedded point realizes the core's function, and embed(core_theta) of a fresh
// reduction is the orthogonal projection of the trained point onto the redundant set found.
#include <span>
#include <string>
#include <vector>

#include "nnscape/classify.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

enum class UnitFate { core, dead, constant };  // core: kept or merged into a core unit

struct Reduction {
  bool applicable = false;
  std::string reason;       // why not, when !applicable
  // e.g. "duplicate 1,4; dead 3" (0-based hidden units); groups of more than two with mixed
  // signs read "merged 1,-4,5" ('-' = antipodal to the first).
  std::string description;
  Architecture core;        // the efficient core's architecture (fewer hidden units)
  std::vector<double> core_theta;  // the core point closest to the trained one
  // Private to the embedding: what each full unit becomes (see reduction.cpp).
  std::vector<UnitFate> fate;      // per full hidden unit
  std::vector<int> unit_map;       // full hidden unit → core unit, or −1 (dead/constant)
  std::vector<int> unit_sign;      // ±1 relative to the representative; 0 for dead/constant
  std::vector<int> representative; // per core unit: the full unit that absorbs the remainder
  std::vector<double> full_theta;  // the trained point (supplies the free coordinates)
};

// Throws nnscape::Error when θ or the report do not fit the network. Not applicable (with the
// reason): no or more than one hidden layer, a masked layer, a report that is not applicable, no
// finding with an exact merge rule for the activation (e.g. only a softplus antipodal pair),
// contradicting pair findings, or a core that would have no hidden unit.
Reduction reduce_to_core(const Network& net, std::span<const double> theta,
                         const RedundancyReport& report);

// The full-network point whose realization equals the core network at core_theta.
std::vector<double> embed(const Network& net, const Reduction& r, std::span<const double> core_theta);

// Rank of the N·m × P output Jacobian J at θ from its singular values (never from JᵀJ): σ_i is
// zero when σ_i ≤ zero_bound = c·eps·σ_max·√(N·m) (rounding of J plus the SVD's backward error,
// c = 10), nonzero when σ_i > nonzero_bound = 1e3·zero_bound; anything between is undecided and
// makes `certain` false. If P > N·m the P − N·m missing singular values are exact zeros.
// Any depth and masks (J by reverse mode over the free entries). Not collective; J is held dense
// (N·m·P ≤ 2^28 entries, else nnscape::Error).
struct JacobianRank {
  int nullity = -1;          // P − rank, counting undecided values as zero
  int undecided = 0;
  double sigma_max = 0.0;
  double zero_bound = 0.0;
  double nonzero_bound = 0.0;
  double largest_zero = 0.0;      // largest σ counted zero, undecided ones included (0 if none)
  double smallest_nonzero = 0.0;  // smallest σ counted nonzero (0 if none)
  bool certain = false;
};
JacobianRank jacobian_rank(const Network& net, const Dataset& data, std::span<const double> theta);

}  // namespace nnscape
