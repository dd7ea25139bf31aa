// The trial grid: ids ⇄ coordinates by mixed radix, and the seeds and TrialSpec of one trial.
// Nothing here is materialised per trial except what one call returns, so a study of 10^9
// trials costs no more memory than one of 10.
#include "nnscape/grid.hpp"

#include <string>

#include "nnscape/error.hpp"
#include "nnscape/random.hpp"

namespace nnscape {

namespace {

// Tags of the two seed families (ASCII "data" and "trial"), so a data seed and a trial seed
// never coincide even for equal keys.
constexpr std::uint64_t kDataTag = 0x64617461;
constexpr std::uint64_t kTrialTag = 0x747269616c;

int at(const TrialCoords& c, Axis a) { return c[static_cast<std::size_t>(a)]; }

}  // namespace

Grid::Grid(const StudySpec& spec) : spec_(&spec) {
  full_size_ = 1;
  for (const auto& digit : spec.digits()) {
    std::vector<int> axes;
    for (Axis a : digit) axes.push_back(static_cast<int>(a));
    const int r = spec.axis_size(digit.front());
    NNSCAPE_CHECK(r >= 1, std::string("grid: axis ") + to_string(digit.front()) + " is empty");
    for (Axis a : digit)
      NNSCAPE_CHECK(spec.axis_size(a) == r, std::string("grid: zipped axes ") +
                                                to_string(digit.front()) + " and " + to_string(a) +
                                                " differ in length");
    NNSCAPE_CHECK(full_size_ <= (std::int64_t{1} << 62) / r, "grid: too many trials");
    full_size_ *= r;
    groups_.push_back(std::move(axes));
    radix_.push_back(r);
  }
  for (int a = 0; a < kNumAxes; ++a)
    for (int i = 0; i < spec.axis_size(static_cast<Axis>(a)); ++i)
      keys_[a].push_back(spec.value_key(static_cast<Axis>(a), i));
}

std::int64_t Grid::full_size() const { return full_size_; }

TrialCoords Grid::coords(std::int64_t id) const {
  NNSCAPE_CHECK(id >= 0 && id < full_size_, "grid: trial id " + std::to_string(id) +
                                                " is outside [0, " + std::to_string(full_size_) +
                                                ")");
  TrialCoords c{};
  for (std::size_t k = groups_.size(); k-- > 0;) {  // fastest digit last
    const int digit = static_cast<int>(id % radix_[k]);
    id /= radix_[k];
    for (int a : groups_[k]) c[static_cast<std::size_t>(a)] = digit;
  }
  return c;
}

std::int64_t Grid::id(const TrialCoords& c) const {
  std::int64_t id = 0;
  for (std::size_t k = 0; k < groups_.size(); ++k) {
    const int digit = c[static_cast<std::size_t>(groups_[k].front())];
    for (int a : groups_[k]) {
      const int v = c[static_cast<std::size_t>(a)];
      NNSCAPE_CHECK(v >= 0 && v < radix_[k], std::string("grid: coordinate ") +
                                                  to_string(static_cast<Axis>(a)) + " = " +
                                                  std::to_string(v) + " is outside [0, " +
                                                  std::to_string(radix_[k]) + ")");
      NNSCAPE_CHECK(v == digit, std::string("grid: zipped axes ") +
                                    to_string(static_cast<Axis>(groups_[k].front())) + " and " +
                                    to_string(static_cast<Axis>(a)) +
                                    " have different coordinates (" + std::to_string(digit) +
                                    " and " + std::to_string(v) + "); they advance together");
    }
    id = id * radix_[k] + digit;
  }
  return id;
}

bool Grid::excluded(const TrialCoords& c) const { return spec_->excludes(c); }

std::vector<std::int64_t> Grid::trial_ids() const {
  std::vector<std::int64_t> ids;
  for (std::int64_t id = 0; id < full_size_; ++id)
    if (!excluded(coords(id))) ids.push_back(id);
  return ids;
}

std::uint64_t Grid::data_seed(const TrialCoords& c) const {
  const int d = at(c, Axis::datasets);
  return derive_seed(spec_->seed, kDataTag, keys_[static_cast<int>(Axis::datasets)].at(d));
}

std::uint64_t Grid::trial_seed(const TrialCoords& c) const {
  auto key = [&](Axis a) { return keys_[static_cast<int>(a)].at(at(c, a)); };
  const std::uint64_t t1 =
      derive_seed(spec_->seed, kTrialTag, spec_->replicates.at(at(c, Axis::replicates)));
  const std::uint64_t t2 = derive_seed(t1, key(Axis::architectures), key(Axis::datasets));
  return derive_seed(t2, key(Axis::sparsity), key(Axis::inits));
}

TrialSpec Grid::trial_spec(const TrialCoords& c) const {
  (void)id(c);  // refuses coordinates off the grid before any lookup
  const StudySpec& s = *spec_;
  const auto i = [&](Axis a) { return static_cast<std::size_t>(at(c, a)); };
  TrialSpec t;
  t.hidden = s.architectures[i(Axis::architectures)];
  t.activation = s.activations[i(Axis::activations)];
  t.data = s.datasets[i(Axis::datasets)];
  const DatasetShape shape = s.dataset_shapes.size() == s.datasets.size()
                                 ? s.dataset_shapes[i(Axis::datasets)]
                                 : dataset_shape(t.data);
  const std::vector<int> widths = layer_widths(shape.d, t.hidden, shape.m);
  const PatternSpec& pattern = s.sparsity[i(Axis::sparsity)];
  t.pattern = pattern.text;
  t.masks = build_masks(pattern, widths);
  t.init_text = s.inits[i(Axis::inits)];
  t.init = parse_init(t.init_text);
  const OptimizerEntry& opt = s.optimizers[i(Axis::optimizers)];
  t.optimizer.name = opt.name;
  t.optimizer.tao_type = opt.tao_type;
  t.optimizer.dense_limit = s.settings.dense_limit;
  t.optimizer.trajectory_length = s.settings.trajectory_length;
  t.weight_decay = s.weight_decay[i(Axis::weight_decay)];
  t.seed = trial_seed(c);
  t.data_seed = data_seed(c);
  t.spectrum.dense_limit = s.settings.dense_limit;
  t.spectrum.extremes = s.settings.extremes;
  t.redundancy.relative = s.settings.redundancy_tol;
  return t;
}

}  // namespace nnscape
