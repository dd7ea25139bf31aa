#pragma once
// A study spec: study.yaml → validated StudySpec. Every check happens here, before any work;
// errors name the file, the YAML line and the problem.
//
//   study:    {name: quickstart, seed: 2026}
//   axes:
//     architectures: [[4], [8, 8]]            # hidden widths; d and m come from the data
//     activations:   [tanh, softplus]
//     datasets:      ["teacher:width=4,d=2,n=512", "linear:d=3,matrix=anti_identity"]
//     sparsity:      [dense, LU]              # pattern texts (pattern.hpp)
//     optimizers:
//       - {name: newton, type: ntr}
//       - {name: lbfgs, type: lmvm, options: {tao_max_it: 5000}}   # → -opt_lbfgs_tao_max_it
//     inits:         [pytorch, "normal:scale=2"]
//     weight_decay:  [0, 1.0e-3]
//     replicates:    3                        # or seeds: [11, 12, 13]
//   zip:     [[datasets, architectures]]      # these axes advance together (equal lengths)
//   exclude: [{activations: relu, optimizers: newton}]   # drop every trial matching all keys
//   settings: {dense_limit: 4000, extremes: 10, trajectory_length: 64, redundancy_tol: 1.0e-3,
//              save_params: true, output: results.h5}
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/init.hpp"
#include "nnscape/pattern.hpp"

namespace nnscape {

// The axes, in the order of trial coordinates.
enum class Axis : int {
  architectures,
  activations,
  datasets,
  sparsity,
  optimizers,
  inits,
  weight_decay,
  replicates
};
inline constexpr int kNumAxes = 8;
const char* to_string(Axis axis);  // the YAML key: "architectures", ...

struct OptimizerEntry {
  std::string name;      // options prefix opt_<name>_; unique in the study
  std::string tao_type;  // ntr, lmvm, nls, gd, ...
  // PETSc options without prefix or dash, in the order given: {"tao_max_it", "5000"}.
  std::vector<std::pair<std::string, std::string>> options;
};

struct StudySettings {
  std::ptrdiff_t dense_limit = 4000;
  int extremes = 10;
  int trajectory_length = 64;
  double redundancy_tol = 1e-3;
  bool save_params = true;  // store θ* of every trial
  std::string output;       // default for `run -o`; empty: none
};

struct StudySpec {
  std::string source;  // file name, for messages
  std::string text;    // the YAML as read (stored in results files)
  std::string name;
  std::uint64_t seed = 0;

  std::vector<std::vector<int>> architectures;
  std::vector<Activation> activations;
  std::vector<DatasetSpec> datasets;
  std::vector<PatternSpec> sparsity;
  std::vector<OptimizerEntry> optimizers;
  std::vector<std::string> inits;  // texts as given (parse_init accepts each)
  std::vector<double> weight_decay;
  std::vector<std::uint64_t> replicates;  // 0..R-1 for `replicates: R`, else the `seeds` list

  std::vector<std::vector<Axis>> zip;  // groups of axes that advance together
  // Each rule: for some axes, the value indices it matches; a trial is dropped when every axis
  // named in one rule matches.
  std::vector<std::vector<std::pair<Axis, std::vector<int>>>> exclude;
  StudySettings settings;

  // Hash of the canonical form (every value that decides a trial; not comments, layout or
  // settings.output): resuming a file refuses a spec whose hash differs. 16 hex digits.
  std::string hash;

  int axis_size(Axis axis) const;
  // Human-readable value of one axis entry ("[8,8]", "tanh", "newton", "0.001", ...).
  std::string value_label(Axis axis, int index) const;
};

// Throws nnscape::Error: "study.yaml line 12: ...". Checks keys, types, value ranges, names
// (activations, TAO types, datasets, patterns, inits), duplicate optimizer names, zip lengths,
// exclude keys and values, impossible combinations (a pattern that cannot apply to an
// architecture, an exclude that leaves nothing). Reads no data file beyond its header.
StudySpec parse_study(const std::string& yaml_text, const std::string& source = "study");
StudySpec load_study(const std::string& path);

}  // namespace nnscape
