#pragma once
// `nnscape plan`: what a study will cost before it runs. Trial counts per axis value and in
// total (after exclude), the parameter count P of every (architecture, data set, pattern)
// combination the kept trials use, an estimate of each trial's memory, which trials go
// matrix-free (P > dense_limit) and which cannot test claim A (N·m ≤ P: the efficient domain,
// where minima are strict, needs more equations than parameters). Not collective; reads file
// data headers only (through the spec's dataset shapes).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nnscape/spec.hpp"

namespace nnscape {

// One (architecture, data set, pattern) combination: everything that fixes P and the memory.
struct PlanShape {
  int architecture = 0;  // value indices into the spec's axes
  int dataset = 0;
  int sparsity = 0;
  std::vector<int> widths;  // {d, hidden..., m}
  std::ptrdiff_t num_params = 0;
  std::ptrdiff_t n = 0;  // samples
  std::int64_t trials = 0;  // kept trials with this shape
  bool matrix_free = false;       // P > dense_limit: Hessians only as products, spectra at the ends
  bool claim_a_testable = true;   // N·m > P
  double memory_bytes = 0.0;      // estimate_trial_memory
};

struct AxisPlan {
  Axis axis = Axis::architectures;
  std::vector<std::string> labels;   // value labels
  std::vector<std::int64_t> trials;  // kept trials per value
};

struct StudyPlan {
  std::string name;
  std::string hash;
  std::uint64_t seed = 0;
  std::ptrdiff_t dense_limit = 0;
  std::int64_t full_size = 0;  // every id, excluded ones included
  std::int64_t trials = 0;     // kept
  std::vector<AxisPlan> axes;  // in Axis order
  std::vector<std::vector<Axis>> zip;
  std::vector<PlanShape> shapes;  // kept combinations only, in (architecture, dataset, sparsity) order
  std::ptrdiff_t min_params = 0;  // over kept trials
  std::ptrdiff_t max_params = 0;
  double max_memory_bytes = 0.0;
  std::int64_t matrix_free_trials = 0;
  std::int64_t untestable_trials = 0;  // N·m ≤ P
  std::vector<std::string> warnings;
};

// Peak memory of one trial, in bytes; an estimate (±50%) from the sizes that dominate:
// the data 8·N·(d + m); the model's per-sample arrays 8·N·(6·Σhidden + 3·m); dense
// (P ≤ dense_limit): 3 P×P matrices (the assembled H or G, LAPACK's copy, Newton's matrix and
// its factor overlap with these) plus the Jacobian chunk min(N·m·P, 4·2^20) doubles; matrix-free:
// the Krylov subspace (ncv = min(P, max(2·extremes, 100)) vectors) and L-BFGS/TAO vectors (~30
// vectors of length P).
double estimate_trial_memory(const std::vector<int>& widths, std::ptrdiff_t num_params,
                             std::ptrdiff_t n, std::ptrdiff_t dense_limit, int extremes);

// Throws nnscape::Error only for a spec parse_study would refuse (it builds masks again).
StudyPlan make_plan(const StudySpec& spec);
// Readable text (several lines, ends with a newline) and JSON (the same fields).
std::string format_plan(const StudyPlan& plan);
std::string plan_json(const StudyPlan& plan, int indent = 2);

}  // namespace nnscape
