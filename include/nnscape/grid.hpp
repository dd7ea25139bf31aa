#pragma once
// The trial grid of a study: trial id ⇄ coordinates (one index per axis), never materialised in
// full, and everything a trial's description derives from its coordinates (seeds included).
//
// Ids: the mixed-radix number of the coordinates over the axes in Axis order with replicates
// fastest, a zip group counting as one axis (at the position of its first member). Excluded
// trials keep their ids and are simply not run, so ids never shift when exclude rules change.
// "First member" is the member that comes first in Axis order (StudySpec::digits), so the
// order in which a zip group lists its axes changes nothing. Example: axes sizes
// (arch 2, act 2, data 2, sparsity 1, opt 2, init 1, wd 1, rep 3) with zip [datasets,
// architectures]: digits (arch+data 2)(act 2)(sparsity 1)(opt 2)(init 1)(wd 1)(rep 3), and
// id = ((((((a·2 + act)·1 + sp)·2 + opt)·1 + init)·1 + wd)·3 + rep), where a is the common
// index of architectures and datasets.
//
// Seeds (derive_seed of random.hpp; key(axis, i) = StudySpec::value_key = XXH3_64bits of the
// value's canonical text, e.g. key(architectures, i) = XXH3_64bits("[8,8]"), see
// StudySpec::canonical_value; S = the study seed; replicate = 0..R-1 for `replicates: R`, else
// the seed listed under `seeds`):
//   data_seed  = derive_seed(S, 0x64617461 /* "data" */, key(datasets, i_data))
//   t1         = derive_seed(S, 0x747269616c /* "trial" */, replicate)
//   t2         = derive_seed(t1, key(architectures, i_arch), key(datasets, i_data))
//   trial_seed = derive_seed(t2, key(sparsity, i_sparsity), key(inits, i_init))
// The trial then draws θ0 from derive_seed(trial_seed, 2) (trial.cpp: init_seed) and its data
// from data_seed. Seeds hang on values, not on positions: reordering or adding axis values
// leaves every other trial's seeds (and so its data and θ0) unchanged, and two studies with
// the same S share θ0 for equal (replicate, architecture, data set, pattern, init).
#include <array>
#include <cstdint>
#include <vector>

#include "nnscape/spec.hpp"
#include "nnscape/trial.hpp"

namespace nnscape {

using TrialCoords = std::array<int, kNumAxes>;  // indexed by static_cast<int>(Axis)

class Grid {
 public:
  explicit Grid(const StudySpec& spec);  // keeps a reference: the spec must outlive the grid

  const StudySpec& spec() const { return *spec_; }
  std::int64_t full_size() const;  // product of the axis sizes (zip groups once)
  TrialCoords coords(std::int64_t id) const;  // throws for an id outside [0, full_size)
  std::int64_t id(const TrialCoords& coords) const;  // throws for coordinates off the zip
  bool excluded(const TrialCoords& coords) const;
  std::vector<std::int64_t> trial_ids() const;  // not excluded, ascending

  // Seeds (random.hpp), pure functions of the study seed and coordinates:
  //  - data: one data set per dataset entry, shared by every trial that names it;
  //  - trial (→ initialization): from (replicate, architecture, dataset, sparsity, init), so
  //    trials that differ only in activation, optimizer or weight decay start from the same θ0.
  std::uint64_t data_seed(const TrialCoords& coords) const;
  std::uint64_t trial_seed(const TrialCoords& coords) const;

  // The full description of one trial (masks built from the pattern and the data's d and m).
  TrialSpec trial_spec(const TrialCoords& coords) const;

 private:
  const StudySpec* spec_;
  // zip-aware radix layout
  std::vector<std::vector<int>> groups_;  // axes per digit, slowest first
  std::vector<int> radix_;
  std::int64_t full_size_ = 0;
  std::array<std::vector<std::uint64_t>, kNumAxes> keys_;  // value_key of every axis value
};

}  // namespace nnscape
