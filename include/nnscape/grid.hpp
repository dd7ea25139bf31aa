#pragma once
// The trial grid of a study: trial id ⇄ coordinates (one index per axis), never materialised in
// full, and everything a trial's description derives from its coordinates (seeds included).
//
// Ids: the mixed-radix number of the coordinates over the axes in Axis order with replicates
// fastest, a zip group counting as one axis (at the position of its first member). Excluded
// trials keep their ids and are simply not run, so ids never shift when exclude rules change.
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

  std::int64_t full_size() const;  // product of the axis sizes (zip groups once)
  TrialCoords coords(std::int64_t id) const;
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
};

}  // namespace nnscape
