#pragma once
// One trial: (architecture, activation, dataset, sparsity pattern, optimizer, initialization,
// seed) → train → analyse the end point → TrialRecord. Deterministic from its description and
// seed; knows nothing of MPI ranks or files. Not collective (PETSC_COMM_SELF).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/classify.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/init.hpp"
#include "nnscape/network.hpp"
#include "nnscape/optimize.hpp"
#include "nnscape/record.hpp"
#include "nnscape/spectrum.hpp"

namespace nnscape {

struct TrialSpec {
  std::vector<int> hidden{4};  // hidden widths; d and m come from the data
  Activation activation = Activation::tanh;
  DatasetSpec data = parse_dataset_spec("teacher");
  std::string pattern = "dense";  // label of the masks below
  std::vector<Mask> masks;        // one per weight matrix, or empty for dense
  InitSpec init;
  std::string init_text = "pytorch";  // as given, for the record
  // An explicit θ0 (Network order, P values) instead of a draw from `init`: a start of known
  // truth (an exact teacher, a split unit, a point 1e-3 from a minimum). Empty: draw from init.
  std::vector<double> start;
  OptimizeOptions optimizer;
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  // Data are drawn from data_seed when given (a study shares one data set across optimizers),
  // else from a stream derived from seed.
  std::optional<std::uint64_t> data_seed;
  SpectrumOptions spectrum;
  RedundancyTolerance redundancy;
};

// Never throws for a trial that fails (bad numerics, a solver error): the record says so, with
// status failed_numerics or "error" and the message. Throws nnscape::Error only for a spec that
// cannot describe a trial (unknown file, widths that do not fit masks, ...), before any work.
TrialRecord run_trial(const TrialSpec& spec);

}  // namespace nnscape
