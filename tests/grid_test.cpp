// Grid room: trial id ⇄ coordinates (mixed radix, zip groups as one digit, replicates fastest,
// excluded ids kept), seeds (the documented derivation, and which trials share data and θ0),
// and the TrialSpec a trial's coordinates describe.
#include <gtest/gtest.h>
#include <xxhash.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/grid.hpp"
#include "nnscape/random.hpp"
#include "nnscape/spec.hpp"
#include "nnscape/trial.hpp"

namespace nnscape {
namespace {

constexpr int kArch = static_cast<int>(Axis::architectures);
constexpr int kAct = static_cast<int>(Axis::activations);
constexpr int kData = static_cast<int>(Axis::datasets);
constexpr int kSparsity = static_cast<int>(Axis::sparsity);
constexpr int kOpt = static_cast<int>(Axis::optimizers);
constexpr int kInit = static_cast<int>(Axis::inits);
constexpr int kWd = static_cast<int>(Axis::weight_decay);
constexpr int kRep = static_cast<int>(Axis::replicates);

// Sizes: arch 2, act 3, data 2, sparsity 2, opt 2, init 2, wd 2, rep 3 → 576 trials.
const char* const kFull = R"(study: {seed: 99}
axes:
  architectures: [[3], [2, 2]]
  activations: [tanh, softplus, sigmoid]
  datasets: ["teacher:width=2,d=2,n=32", "linear:d=2,n=16"]
  sparsity: [dense, lower]
  optimizers:
    - {name: newton, type: ntr}
    - {name: lbfgs, type: lmvm}
  inits: [pytorch, "normal:scale=0.5"]
  weight_decay: [0, 1.0e-2]
  replicates: 3
settings: {dense_limit: 100, extremes: 3, trajectory_length: 17, redundancy_tol: 2.0e-3}
)";

TEST(Grid, SizeAndRoundTrip) {
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  EXPECT_EQ(grid.full_size(), 2 * 3 * 2 * 2 * 2 * 2 * 2 * 3);
  std::set<TrialCoords> seen;
  for (std::int64_t id = 0; id < grid.full_size(); ++id) {
    const TrialCoords c = grid.coords(id);
    EXPECT_EQ(grid.id(c), id);
    for (int a = 0; a < kNumAxes; ++a) {
      EXPECT_GE(c[a], 0);
      EXPECT_LT(c[a], spec.axis_size(static_cast<Axis>(a)));
    }
    seen.insert(c);
  }
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), grid.full_size());  // a bijection
  EXPECT_EQ(static_cast<std::int64_t>(grid.trial_ids().size()), grid.full_size());
  EXPECT_THROW(grid.coords(-1), Error);
  EXPECT_THROW(grid.coords(grid.full_size()), Error);
  TrialCoords bad{};
  bad[kAct] = 3;
  EXPECT_THROW(grid.id(bad), Error);
}

TEST(Grid, MixedRadixInAxisOrderWithReplicatesFastest) {
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  TrialCoords c{};
  c[kRep] = 1;
  EXPECT_EQ(grid.id(c), 1);
  c = {};
  c[kWd] = 1;
  EXPECT_EQ(grid.id(c), 3);  // radix of replicates
  c = {};
  c[kArch] = 1;
  EXPECT_EQ(grid.id(c), 576 / 2);  // slowest digit
  // The general formula, digit by digit in Axis order.
  c = {1, 2, 1, 0, 1, 1, 0, 2};
  const std::int64_t expected =
      ((((((1 * 3 + 2) * 2 + 1) * 2 + 0) * 2 + 1) * 2 + 1) * 2 + 0) * 3 + 2;
  EXPECT_EQ(grid.id(c), expected);
  EXPECT_EQ(grid.coords(expected), c);
}

TEST(Grid, ZipGroupIsOneDigitAtItsFirstAxis) {
  const std::string yaml = std::string(kFull) + "zip: [[inits, datasets, weight_decay]]\n";
  const StudySpec spec = parse_study(yaml);
  const Grid grid(spec);
  EXPECT_EQ(grid.full_size(), 2 * 3 * 2 * 2 * 2 * 3);
  for (std::int64_t id = 0; id < grid.full_size(); ++id) {
    const TrialCoords c = grid.coords(id);
    EXPECT_EQ(c[kData], c[kInit]);
    EXPECT_EQ(c[kData], c[kWd]);
    EXPECT_EQ(grid.id(c), id);
  }
  // Digits: arch, act, (data+init+wd), sparsity, opt, rep.
  TrialCoords c{};
  c[kData] = c[kInit] = c[kWd] = 1;
  EXPECT_EQ(grid.id(c), 1 * 2 * 2 * 3);
  c[kInit] = 0;  // off the zip
  EXPECT_THROW(grid.id(c), Error);
  // How the group is written does not matter.
  const StudySpec other = parse_study(std::string(kFull) + "zip: [[weight_decay, inits, datasets]]\n");
  const Grid other_grid(other);
  for (std::int64_t id = 0; id < grid.full_size(); id += 7)
    EXPECT_EQ(other_grid.coords(id), grid.coords(id));
  EXPECT_EQ(other.hash, spec.hash);
}

TEST(Grid, ExcludedTrialsKeepTheirIds) {
  const StudySpec plain = parse_study(kFull);
  const StudySpec spec = parse_study(std::string(kFull) +
                                     "exclude:\n"
                                     "  - {activations: sigmoid, optimizers: newton}\n"
                                     "  - {architectures: [2, 2], sparsity: lower}\n");
  const Grid grid(spec);
  const Grid plain_grid(plain);
  ASSERT_EQ(grid.full_size(), plain_grid.full_size());
  std::int64_t dropped = 0;
  for (std::int64_t id = 0; id < grid.full_size(); ++id) {
    const TrialCoords c = grid.coords(id);
    EXPECT_EQ(c, plain_grid.coords(id));
    const bool expect = (c[kAct] == 2 && c[kOpt] == 0) || (c[kArch] == 1 && c[kSparsity] == 1);
    EXPECT_EQ(grid.excluded(c), expect);
    EXPECT_FALSE(plain_grid.excluded(c));
    dropped += expect;
  }
  // |A ∪ B| = 576/6 + 576/4 − 576/24.
  EXPECT_EQ(dropped, 96 + 144 - 24);
  const std::vector<std::int64_t> ids = grid.trial_ids();
  EXPECT_EQ(static_cast<std::int64_t>(ids.size()), 576 - dropped);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  for (std::int64_t id : ids) EXPECT_FALSE(grid.excluded(grid.coords(id)));
}

TEST(Grid, SeedsFollowTheDocumentedDerivation) {
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  auto key = [&](Axis a, int i) {
    const std::string c = spec.canonical_value(a, i);
    EXPECT_EQ(spec.value_key(a, i), XXH3_64bits(c.data(), c.size()));
    return XXH3_64bits(c.data(), c.size());
  };
  const TrialCoords c = {1, 2, 1, 1, 0, 1, 1, 2};
  EXPECT_EQ(grid.data_seed(c), derive_seed(99, 0x64617461, key(Axis::datasets, 1)));
  const std::uint64_t t1 = derive_seed(99, 0x747269616c, 2);
  const std::uint64_t t2 = derive_seed(t1, key(Axis::architectures, 1), key(Axis::datasets, 1));
  EXPECT_EQ(grid.trial_seed(c), derive_seed(t2, key(Axis::sparsity, 1), key(Axis::inits, 1)));
  EXPECT_EQ(spec.canonical_value(Axis::architectures, 1), "[2,2]");
  EXPECT_EQ(spec.canonical_value(Axis::inits, 1), "normal:scale=0.5");
}

TEST(Grid, TrialsSharingTheStartAndTheData) {
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  const TrialCoords base = {1, 0, 1, 1, 0, 1, 0, 0};
  const std::uint64_t seed = grid.trial_seed(base);
  const std::uint64_t data = grid.data_seed(base);
  // Same θ0 across activations, optimizers and weight decay.
  for (int act = 0; act < 3; ++act)
    for (int opt = 0; opt < 2; ++opt)
      for (int wd = 0; wd < 2; ++wd) {
        TrialCoords c = base;
        c[kAct] = act;
        c[kOpt] = opt;
        c[kWd] = wd;
        EXPECT_EQ(grid.trial_seed(c), seed);
        EXPECT_EQ(grid.data_seed(c), data);
      }
  // A different θ0 for every replicate, architecture, data set, pattern and init.
  std::set<std::uint64_t> seeds{seed};
  for (int axis : {kRep, kArch, kData, kSparsity, kInit}) {
    TrialCoords c = base;
    c[axis] = (c[axis] + 1) % spec.axis_size(static_cast<Axis>(axis));
    EXPECT_TRUE(seeds.insert(grid.trial_seed(c)).second) << "axis " << axis;
  }
  TrialCoords r = base;
  r[kRep] = 2;
  EXPECT_NE(grid.trial_seed(r), seed);
  // One data set per dataset entry: shared by every replicate, architecture, init, ...
  for (int axis : {kRep, kArch, kSparsity, kInit}) {
    TrialCoords c = base;
    c[axis] = (c[axis] + 1) % spec.axis_size(static_cast<Axis>(axis));
    EXPECT_EQ(grid.data_seed(c), data) << "axis " << axis;
  }
  TrialCoords d = base;
  d[kData] = 0;
  EXPECT_NE(grid.data_seed(d), data);
  EXPECT_NE(grid.data_seed(d), grid.trial_seed(d));
}

TEST(Grid, SeedsHangOnValuesNotPositions) {
  // Reordering activations and adding an architecture changes ids, not the seeds of a trial.
  const StudySpec a = parse_study(kFull);
  std::string text = kFull;
  text.replace(text.find("[[3], [2, 2]]"), 13, "[[5], [2, 2], [3]]");
  text.replace(text.find("[tanh, softplus, sigmoid]"), 25, "[sigmoid, tanh, softplus]");
  const StudySpec b = parse_study(text);
  ASSERT_NE(a.hash, b.hash);
  const Grid ga(a), gb(b);
  const TrialCoords ca = {0, 0, 1, 1, 1, 0, 1, 2};  // [3], tanh
  TrialCoords cb = ca;
  cb[kArch] = 2;
  cb[kAct] = 1;
  EXPECT_EQ(ga.trial_seed(ca), gb.trial_seed(cb));
  EXPECT_EQ(ga.data_seed(ca), gb.data_seed(cb));
  // Another study seed changes both.
  text.replace(text.find("seed: 99"), 8, "seed: 98");
  const StudySpec c = parse_study(text);
  const Grid gc(c);
  EXPECT_NE(gc.trial_seed(cb), gb.trial_seed(cb));
  EXPECT_NE(gc.data_seed(cb), gb.data_seed(cb));
}

TEST(Grid, SeedsListReplicatesUseTheGivenSeeds) {
  std::string text = kFull;
  text.replace(text.find("replicates: 3"), 13, "seeds: [2, 40]");
  const StudySpec s = parse_study(text);
  const StudySpec r = parse_study(kFull);
  const Grid gs(s), gr(r);
  TrialCoords c{};
  c[kRep] = 0;  // seed 2 ...
  TrialCoords d{};
  d[kRep] = 2;  // ... is replicate 2 of `replicates: 3`
  EXPECT_EQ(gs.trial_seed(c), gr.trial_seed(d));
}

TEST(Grid, TrialSpecDescribesTheTrial) {
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  const TrialCoords c = {1, 1, 0, 1, 1, 1, 1, 2};
  const TrialSpec t = grid.trial_spec(c);
  EXPECT_EQ(t.hidden, std::vector<int>({2, 2}));
  EXPECT_EQ(t.activation, Activation::softplus);
  EXPECT_EQ(t.data.kind, "teacher");
  EXPECT_EQ(t.data.text, "teacher:width=2,d=2,n=32");
  EXPECT_EQ(t.pattern, "lower");
  ASSERT_EQ(t.masks.size(), 3u);  // {2, 2, 2, 1}: three weight matrices
  EXPECT_EQ(t.masks[0].rows, 2);
  EXPECT_EQ(t.masks[0].cols, 2);
  EXPECT_EQ(t.masks[0].bits, std::vector<std::uint8_t>({1, 0, 1, 1}));  // c <= r
  EXPECT_EQ(t.masks[2].rows, 1);
  EXPECT_EQ(t.masks[2].cols, 2);
  EXPECT_EQ(t.init.scheme, InitScheme::normal);
  EXPECT_DOUBLE_EQ(t.init.scale, 0.5);
  EXPECT_EQ(t.init_text, "normal:scale=0.5");
  EXPECT_EQ(t.optimizer.name, "lbfgs");
  EXPECT_EQ(t.optimizer.tao_type, "lmvm");
  EXPECT_EQ(t.optimizer.dense_limit, 100);
  EXPECT_EQ(t.optimizer.trajectory_length, 17);
  EXPECT_DOUBLE_EQ(t.weight_decay, 1e-2);
  EXPECT_EQ(t.seed, grid.trial_seed(c));
  ASSERT_TRUE(t.data_seed.has_value());
  EXPECT_EQ(*t.data_seed, grid.data_seed(c));
  EXPECT_EQ(t.spectrum.dense_limit, 100);
  EXPECT_EQ(t.spectrum.extremes, 3);
  EXPECT_DOUBLE_EQ(t.redundancy.relative, 2e-3);
  // Dense patterns give no masks; linear data set d = m = 2.
  TrialCoords dense = c;
  dense[kSparsity] = 0;
  dense[kData] = 1;
  const TrialSpec u = grid.trial_spec(dense);
  EXPECT_TRUE(u.masks.empty());
  EXPECT_EQ(u.pattern, "dense");
  EXPECT_EQ(u.data.kind, "linear");
}

TEST(Grid, TrialSpecRunsAndRecordsItsSeeds) {
  // One real trial of the description: the record echoes the grid's seeds and P.
  const StudySpec spec = parse_study(kFull);
  const Grid grid(spec);
  const TrialCoords c = {0, 0, 0, 0, 1, 0, 0, 1};  // [3], tanh, teacher n=32, dense, lbfgs
  const TrialRecord rec = run_trial(grid.trial_spec(c));
  EXPECT_EQ(rec.seed, grid.trial_seed(c));
  EXPECT_EQ(rec.data_seed, grid.data_seed(c));
  EXPECT_EQ(rec.num_params, 3 * 2 + 3 + 3 + 1);
  EXPECT_EQ(rec.optimizer, "lbfgs");
  // A second run of the same description is bitwise the same.
  const TrialRecord again = run_trial(grid.trial_spec(c));
  EXPECT_EQ(again.optimization.theta, rec.optimization.theta);
}

}  // namespace
}  // namespace nnscape
