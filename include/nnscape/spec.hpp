#pragma once
// A study spec: study.yaml → validated StudySpec. Every check happens here, before any work;
// errors name the file, the YAML line and the problem.
//
//   study:    {name: quickstart, seed: 2026}
//   axes:
//     architectures: [[4], [8, 8]]            # hidden widths; d and m come from the data
//     activations:   [tanh, softplus, relu]
//     datasets:      ["teacher:width=4,d=2,n=512", "linear:d=3,matrix=anti_identity"]
//     sparsity:      [dense, LU]              # pattern texts (pattern.hpp)
//     optimizers:
//       - {name: newton, type: ntr}
//       - {name: lbfgs, type: lmvm, options: {tao_max_it: 5000}}   # → -opt_lbfgs_tao_max_it
//     inits:         [pytorch, "normal:scale=2"]
//     weight_decay:  [0, 1.0e-3]
//     replicates:    3                        # or seeds: [11, 12, 13]
//   zip:     [[datasets, architectures]]      # these axes advance together (equal lengths)
//   exclude: [{activations: relu, optimizers: newton},   # drop every trial matching all keys
//             {architectures: [8, 8], sparsity: LU}]      # LU needs one hidden layer
//   settings: {dense_limit: 4000, extremes: 10, trajectory_length: 64, redundancy_tol: 1.0e-3,
//              save_params: true, output: results.h5}
//
// Details (src/spec.cpp has the checks):
//  - Required axes: architectures, activations, datasets. Defaults when absent: optimizers
//    [kDefaultOptimizer of optimize.hpp], sparsity [dense], inits [pytorch], weight_decay [0],
//    replicates 1. `replicates: R` and
//    `seeds: [...]` exclude each other. An axis given is a non-empty list without duplicates
//    (values compared as parsed: "normal" = "normal:scale=1", 0 = 0.0, data set settings in any
//    order).
//  - study: name [stem of the file name], seed [0] (an unsigned 64-bit integer).
//  - architectures: each entry a list of ≥ 1 positive widths ([4, 8] alone is refused as
//    ambiguous: write [[4], [8]] or [[4, 8]]).
//  - optimizers: an entry is {name, type, options} (name defaults to the type, and names are
//    unique ignoring case, since PETSc's option names ignore it) or a bare TAO type. options is
//    a mapping {tao_max_it: 5000} or a list of "key value" strings / one-key mappings, keys
//    without the dash; a key with no value is a flag. type is a type TAO 3.18 registers, or gd.
//  - zip: groups of ≥ 2 axes of equal lengths; an axis in at most one group; replicates never.
//  - exclude: each rule maps axes to one value or a list of values, written as labels:
//    activations: relu, architectures: [8, 8] (one) or [[4], [8, 8]] (several), optimizers by
//    name, datasets/sparsity/inits as texts (compared as parsed), replicates by value.
//  - settings: dense_limit ≥ 0, extremes ≥ 1, trajectory_length ≥ 2, redundancy_tol in (0, 1),
//    save_params true/false, output a non-empty path.
//  - Relative paths (file: data, file: masks) are relative to the working directory, as for
//    `nnscape trial`.
#include <array>
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
  // d, m and N of each datasets entry (parse_study fills them; file data from the header), so
  // the grid builds masks without touching files again. Empty: computed when needed.
  std::vector<DatasetShape> dataset_shapes;

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
  // The value as the hash and the seeds see it (documented at the definition): "[8,8]", "tanh",
  // "teacher:d=2,n=512,width=4" (settings sorted), "LU", "lbfgs|lmvm|tao_max_it=5000",
  // "normal:scale=2", "0.001", "3". Equal values (as parsed) give equal texts.
  std::string canonical_value(Axis axis, int index) const;
  // XXH3_64bits of canonical_value: what trial seeds are derived from (grid.hpp).
  std::uint64_t value_key(Axis axis, int index) const;
  // The grid's digits, slowest first: the axes in Axis order, each alone, except that a zip
  // group forms one digit (its axes in Axis order) at the position of its member that comes
  // first in Axis order.
  std::vector<std::vector<Axis>> digits() const;
  // True when some exclude rule matches these coordinates (indexed by static_cast<int>(Axis)).
  bool excludes(const std::array<int, kNumAxes>& coords) const;
};

// Every value that decides a trial, in a fixed unambiguous form (length-prefixed texts, one
// line per part): the input of the hash. Leaves out the study name, comments, layout, key
// order in mappings and settings.output; keeps the order of axis values (it decides the ids).
// File data and file masks enter by path, not content.
std::string canonical_form(const StudySpec& spec);
// XXH3_64bits(canonical_form(spec)) as 16 lowercase hex digits.
std::string study_hash(const StudySpec& spec);

// An optimizer's options as PETSc sees them, in the order given: {"-opt_lbfgs_tao_max_it",
// "5000"}, {"-opt_lbfgs_tao_monitor", ""}. The runner inserts them into the options database
// where the command line did not set the same option (the command line wins).
std::vector<std::pair<std::string, std::string>> prefixed_options(const OptimizerEntry& opt);

// The TAO types a study may name: those TAO 3.18 registers, plus "gd" (optimize.hpp).
const std::vector<std::string>& tao_type_names();

// Throws nnscape::Error: "study.yaml line 12: ...". Checks keys, types, value ranges, names
// (activations, TAO types, datasets, patterns, inits), duplicate optimizer names, zip lengths,
// exclude keys and values, impossible combinations (a pattern that cannot apply to an
// architecture, an exclude that leaves nothing). Reads no data file beyond its header.
StudySpec parse_study(const std::string& yaml_text, const std::string& source = "study");
StudySpec load_study(const std::string& path);

}  // namespace nnscape
