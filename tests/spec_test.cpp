// Spec room: study.yaml → StudySpec. Each refusal is checked for the YAML line it names and the
// phrase that names the problem (the message is what a user acts on); good specs for the values
// they parse to; the hash for what it must ignore (comments, layout, key order, output) and
// what it must see (every value that decides a trial).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/optimize.hpp"
#include "nnscape/spec.hpp"

namespace nnscape {
namespace {

namespace fs = std::filesystem;

// Line numbers below refer to this text.
const char* const kBase =
    "study: {name: t, seed: 7}\n"                                  // 1
    "axes:\n"                                                      // 2
    "  architectures: [[4], [8, 8]]\n"                             // 3
    "  activations: [tanh, softplus]\n"                            // 4
    "  datasets: [\"teacher:width=4,d=2,n=64\"]\n"                 // 5
    "  optimizers:\n"                                              // 6
    "    - {name: newton, type: ntr}\n"                            // 7
    "    - {name: lbfgs, type: lmvm, options: {tao_max_it: 50}}\n" // 8
    "  replicates: 2\n";                                           // 9

// kBase with line `line` (1-based) replaced by `text` (which may hold several lines).
std::string replace_line(int line, const std::string& text) {
  std::istringstream in(kBase);
  std::string out, l;
  for (int i = 1; std::getline(in, l); ++i) out += (i == line ? text : l) + "\n";
  return out;
}

std::string with(const std::string& extra) { return std::string(kBase) + extra; }

// The spec is refused, the message starts with "s.yaml line <line>:" and names every phrase.
void expect_refused(const std::string& yaml, int line, std::initializer_list<std::string> phrases) {
  try {
    parse_study(yaml, "s.yaml");
    ADD_FAILURE() << "accepted; expected a refusal at line " << line << " mentioning '"
                  << *phrases.begin() << "'\n" << yaml;
  } catch (const Error& e) {
    const std::string msg = e.what();
    const std::string where = "s.yaml line " + std::to_string(line) + ": ";
    EXPECT_EQ(msg.rfind(where, 0), 0u) << "expected '" << where << "...', got: " << msg;
    for (const auto& p : phrases) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg;
  }
}

// --- refusals: one test per kind of mistake -----------------------------------------------------

TEST(SpecRefuses, YamlSyntaxErrorWithItsLine) {
  expect_refused(replace_line(4, "  activations: [tanh, softplus]]"), 4, {"YAML syntax error"});
}

TEST(SpecRefuses, UnknownTopLevelKeyListingKnownOnes) {
  expect_refused(with("setting: {extremes: 4}\n"), 10,
                 {"unknown key 'setting'", "study, axes, zip, exclude, settings"});
}

TEST(SpecRefuses, UnknownAxisKey) {
  expect_refused(with("  activation: [tanh]\n"), 10,
                 {"unknown key 'activation'", "architectures", "weight_decay"});
}

TEST(SpecRefuses, UnknownSettingAndOptimizerKey) {
  expect_refused(with("settings:\n  dense_limit: 10\n  extreme: 4\n"), 12,
                 {"settings: unknown key 'extreme'", "extremes"});
  expect_refused(replace_line(7, "    - {name: newton, tpye: ntr}"), 7,
                 {"unknown key 'tpye'", "name, type, options"});
}

TEST(SpecRefuses, RepeatedMappingKey) {
  expect_refused(with("settings:\n  extremes: 4\n  extremes: 5\n"), 12,
                 {"key 'extremes' given twice", "first at line 11"});
}

TEST(SpecRefuses, WrongTypes) {
  expect_refused(with("  weight_decay: [0, abc]\n"), 10, {"weight_decay", "'abc' is not a number"});
  expect_refused(replace_line(4, "  activations: tanh"), 4, {"activations must be a list"});
  expect_refused(replace_line(9, "  replicates: two"), 9, {"replicates", "'two' is not an integer"});
  expect_refused(with("settings: {save_params: maybe}\n"), 10, {"true or false", "maybe"});
  expect_refused(replace_line(1, "study: {name: t, seed: -3}"), 1,
                 {"study.seed", "unsigned 64-bit integer"});
  expect_refused(replace_line(1, "study: [t, 7]"), 1, {"study must be a mapping"});
}

TEST(SpecRefuses, AmbiguousArchitectureList) {
  expect_refused(replace_line(3, "  architectures: [4, 8]"), 3,
                 {"list of hidden widths", "[[4], [8]]"});
  expect_refused(replace_line(3, "  architectures: [[4], []]"), 3, {"at least one hidden layer"});
  expect_refused(replace_line(3, "  architectures: [[4], [0]]"), 3, {"width", "[1, "});
}

TEST(SpecRefuses, EmptyAxis) {
  expect_refused(replace_line(4, "  activations: []"), 4, {"axes.activations is empty"});
}

TEST(SpecRefuses, MissingRequiredAxis) {
  expect_refused(replace_line(4, ""), 2, {"activations is required"});
  expect_refused("study: {seed: 1}\n", 1, {"no axes"});
}

TEST(SpecRefuses, DuplicateValuesInAnAxis) {
  expect_refused(replace_line(4, "  activations: [tanh, softplus,\n                tanh]"), 5,
                 {"duplicate value 'tanh'", "line 4"});
  // Equal as parsed: the same settings in another order, 0 and 0.0, normal and normal:scale=1.
  expect_refused(replace_line(5, "  datasets: [\"teacher:width=4,d=2,n=64\", \"teacher:n=64, d=2, "
                                 "width=4\"]"),
                 5, {"duplicate value 'teacher:n=64, d=2, width=4'"});
  expect_refused(with("  weight_decay: [0, 1e-3, 0.0]\n"), 10, {"duplicate value '0'"});
  expect_refused(with("  inits: [normal, \"normal:scale=1\"]\n"), 10, {"duplicate value"});
  expect_refused(replace_line(9, "  seeds: [5, 6, 5]"), 9, {"duplicate value '5'"});
}

TEST(SpecRefuses, NegativeOrNonFiniteWeightDecay) {
  expect_refused(with("  weight_decay: [0, -1e-3]\n"), 10, {"weight_decay must be >= 0", "-1e-3"});
  expect_refused(with("  weight_decay: [.nan]\n"), 10, {"weight_decay must be finite"});
  expect_refused(with("  weight_decay:\n    - 0\n    - .inf\n"), 12, {"must be finite"});
}

TEST(SpecRefuses, UnknownActivationTaoTypeInitAndDataKind) {
  expect_refused(replace_line(4, "  activations: [tanh, swish]"), 4, {"swish", "tanh"});
  expect_refused(replace_line(7, "    - {name: newton, type: newton}"), 7,
                 {"unknown TAO type 'newton'", "ntr", "lmvm", "gd"});
  expect_refused(with("  inits: [pytorch, xavier]\n"), 10, {"xavier"});
  expect_refused(replace_line(5, "  datasets: [\"mnist:n=5\"]"), 5,
                 {"axes.datasets", "unknown data set kind 'mnist'"});
}

TEST(SpecRefuses, InvalidDatasetText) {
  expect_refused(replace_line(5, "  datasets: [\"teacher:width=4,d=2,n=abc\"]"), 5,
                 {"axes.datasets", "n='abc'", "not an integer"});
  expect_refused(replace_line(5, "  datasets: [\"teacher:widht=4\"]"), 5, {"unknown key 'widht'"});
}

TEST(SpecRefuses, MissingDataFile) {
  expect_refused(replace_line(5, "  datasets: [\"file:/nonexistent/nnscape/data.h5\"]"), 5,
                 {"axes.datasets", "no such file"});
}

TEST(SpecRefuses, InvalidPatternText) {
  expect_refused(with("  sparsity: [dense, zigzag]\n"), 10, {"axes.sparsity", "zigzag"});
  expect_refused(with("  sparsity: [\"random:density=2\"]\n"), 10, {"axes.sparsity", "density"});
}

TEST(SpecRefuses, PatternThatCannotApplyToAnArchitecture) {
  // LU is a one-hidden-layer pattern; the study has [8, 8].
  expect_refused(with("  sparsity:\n    - dense\n    - LU\n"), 12,
                 {"pattern 'LU' cannot apply to architecture [8,8]", "{2,8,8,1}"});
  // ... unless exclude removes exactly that combination.
  EXPECT_NO_THROW(parse_study(with("  sparsity: [dense, LU]\n"
                                   "exclude: [{architectures: [8, 8], sparsity: LU}]\n"),
                              "s.yaml"));
  // butterfly needs equal power-of-two widths: never with d = 2, width 4, m = 1.
  expect_refused(with("  sparsity: [butterfly]\n"), 10, {"butterfly"});
}

TEST(SpecRefuses, OptimizerNamesDuplicateOrUnfitForAPrefix) {
  expect_refused(replace_line(8, "    - {name: Newton, type: lmvm}"), 8,
                 {"optimizer name 'Newton' used twice", "first at line 7", "ignore case"});
  expect_refused(replace_line(8, "    - {name: my-lbfgs, type: lmvm}"), 8,
                 {"name 'my-lbfgs'", "options prefix"});
  expect_refused(replace_line(8, "    - {name: 2nd, type: lmvm}"), 8, {"name '2nd'"});
  // Two entries of one type without names share the name.
  expect_refused(replace_line(8, "    - ntr\n    - ntr"), 9, {"optimizer name 'ntr' used twice"});
  expect_refused(replace_line(7, "    - {name: newton, type: ntr, options: {-tao_max_it: 5}}"), 7,
                 {"without the leading '-'"});
  expect_refused(replace_line(7, "    - {name: newton, type: ntr, options: {tao_type: nls}}"), 7,
                 {"TAO type as the optimizer's type"});
  expect_refused(replace_line(7, "    - {name: newton}"), 7, {"without a type"});
}

TEST(SpecRefuses, ZipGroups) {
  expect_refused(with("zip: [[architectures, activations, optimizers],\n"
                      "      [datasets, activations]]\n"),
                 11, {"activations is already in another group", "line 10"});
  expect_refused(with("zip: [[architectures, datasets]]\n"), 10,
                 {"equal lengths", "architectures has 2", "datasets has 1"});
  expect_refused(with("zip: [[architectures, replicates]]\n"), 10, {"replicates cannot be zipped"});
  expect_refused(with("zip: [[architectures, architecture]]\n"), 10,
                 {"'architecture' is not an axis"});
  expect_refused(with("zip: [[architectures]]\n"), 10, {"at least two axes"});
}

TEST(SpecRefuses, ExcludeUnknownAxisOrValue) {
  expect_refused(with("exclude:\n  - {activations: tanh, optimiser: newton}\n"), 11,
                 {"unknown key 'optimiser'", "optimizers"});
  expect_refused(with("exclude:\n  - {activations: relu}\n"), 11,
                 {"axis activations has no value 'relu'", "tanh, softplus"});
  expect_refused(with("exclude:\n  - {architectures: [16]}\n"), 11,
                 {"architectures has no value '[16]'", "[4], [8,8]"});
  expect_refused(with("exclude:\n  - {optimizers: bfgs}\n"), 11, {"no value 'bfgs'", "newton"});
  expect_refused(with("exclude:\n  - {activations: swish}\n"), 11, {"swish"});
  expect_refused(with("exclude:\n  - {}\n"), 11, {"empty rule"});
}

TEST(SpecRefuses, ExcludeThatRemovesEveryTrial) {
  expect_refused(with("exclude:\n  - {activations: [tanh, softplus], optimizers: newton}\n"
                      "  - {optimizers: lbfgs}\n"),
                 10, {"drop every trial"});
}

TEST(SpecRefuses, SettingsOutOfRange) {
  expect_refused(with("settings: {redundancy_tol: 2}\n"), 10, {"redundancy_tol", "(0, 1)"});
  expect_refused(with("settings:\n  extremes: 0\n"), 11, {"settings.extremes", "[1, "});
  expect_refused(with("settings:\n  dense_limit: -5\n"), 11, {"dense_limit", "[0, "});
  expect_refused(with("settings:\n  trajectory_length: 1\n"), 11, {"trajectory_length"});
  expect_refused(with("settings:\n  output: \"\"\n"), 11, {"output is empty"});
}

TEST(SpecRefuses, ReplicatesAndSeedsTogether) {
  expect_refused(with("  seeds: [1, 2]\n"), 10, {"either replicates", "not both", "line 9"});
  expect_refused(replace_line(9, "  replicates: 0"), 9, {"replicates must lie in [1, "});
}

TEST(SpecRefuses, NamesTheSourceFileAndMissingFile) {
  try {
    parse_study(replace_line(4, "  activations: [tanh, swish]"), "studies/x.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("studies/x.yaml line 4: ", 0), 0u) << e.what();
  }
  try {
    load_study("/nonexistent/nnscape/study.yaml");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
  }
}

// --- good specs --------------------------------------------------------------------------------

TEST(SpecParses, BaseValues) {
  const StudySpec s = parse_study(kBase, "dir/base.yaml");
  EXPECT_EQ(s.name, "t");
  EXPECT_EQ(s.seed, 7u);
  EXPECT_EQ(s.source, "dir/base.yaml");
  EXPECT_EQ(s.text, kBase);
  ASSERT_EQ(s.architectures.size(), 2u);
  EXPECT_EQ(s.architectures[0], std::vector<int>({4}));
  EXPECT_EQ(s.architectures[1], std::vector<int>({8, 8}));
  ASSERT_EQ(s.activations.size(), 2u);
  EXPECT_EQ(s.activations[1], Activation::softplus);
  ASSERT_EQ(s.datasets.size(), 1u);
  EXPECT_EQ(s.datasets[0].kind, "teacher");
  EXPECT_EQ(s.datasets[0].settings.at("n"), "64");
  ASSERT_EQ(s.dataset_shapes.size(), 1u);
  EXPECT_EQ(s.dataset_shapes[0].n, 64);
  EXPECT_EQ(s.dataset_shapes[0].d, 2);
  EXPECT_EQ(s.dataset_shapes[0].m, 1);
  ASSERT_EQ(s.optimizers.size(), 2u);
  EXPECT_EQ(s.optimizers[0].name, "newton");
  EXPECT_EQ(s.optimizers[0].tao_type, "ntr");
  EXPECT_TRUE(s.optimizers[0].options.empty());
  ASSERT_EQ(s.optimizers[1].options.size(), 1u);
  EXPECT_EQ(s.optimizers[1].options[0], std::make_pair(std::string("tao_max_it"), std::string("50")));
  // Defaults of the optional axes.
  ASSERT_EQ(s.sparsity.size(), 1u);
  EXPECT_EQ(s.sparsity[0].kind, "dense");
  EXPECT_EQ(s.inits, std::vector<std::string>({"pytorch"}));
  EXPECT_EQ(s.weight_decay, std::vector<double>({0.0}));
  EXPECT_EQ(s.replicates, std::vector<std::uint64_t>({0, 1}));
  EXPECT_TRUE(s.zip.empty());
  EXPECT_TRUE(s.exclude.empty());
  EXPECT_EQ(s.settings.dense_limit, 4000);
  EXPECT_EQ(s.settings.extremes, 10);
  EXPECT_TRUE(s.settings.output.empty());
  EXPECT_EQ(s.hash.size(), 16u);
  EXPECT_EQ(s.hash.find_first_not_of("0123456789abcdef"), std::string::npos) << s.hash;
  EXPECT_EQ(s.axis_size(Axis::replicates), 2);
  EXPECT_EQ(s.value_label(Axis::architectures, 1), "[8,8]");
  EXPECT_EQ(s.value_label(Axis::optimizers, 1), "lbfgs");
  EXPECT_EQ(s.value_label(Axis::datasets, 0), "teacher:width=4,d=2,n=64");
  EXPECT_EQ(s.canonical_value(Axis::datasets, 0), "teacher:d=2,n=64,width=4");
  EXPECT_EQ(s.canonical_value(Axis::inits, 0), "pytorch:scale=1");
  EXPECT_EQ(s.canonical_value(Axis::optimizers, 1), "lbfgs|lmvm|tao_max_it=50");
  EXPECT_EQ(std::string(to_string(Axis::weight_decay)), "weight_decay");
}

// Without an optimizers axis a study uses the measured default (optimize.hpp), named after it.
TEST(SpecParses, OptimizersDefaultToTheMeasuredDefault) {
  const StudySpec s = parse_study(
      "axes: {architectures: [[4]], activations: [tanh], datasets: [teacher]}\n", "s.yaml");
  ASSERT_EQ(s.optimizers.size(), 1u);
  EXPECT_EQ(s.optimizers[0].tao_type, kDefaultOptimizer);
  EXPECT_EQ(s.optimizers[0].name, kDefaultOptimizer);
  EXPECT_TRUE(s.optimizers[0].options.empty());
}

TEST(SpecParses, TheHeaderExample) {
  const StudySpec s = parse_study(R"(
study:    {name: quickstart, seed: 2026}
axes:
  architectures: [[4], [8, 8]]            # hidden widths; d and m come from the data
  activations:   [tanh, softplus, relu]
  datasets:      ["teacher:width=4,d=2,n=512", "linear:d=3,matrix=anti_identity"]
  sparsity:      [dense, LU]              # pattern texts (pattern.hpp)
  optimizers:
    - {name: newton, type: ntr}
    - {name: lbfgs, type: lmvm, options: {tao_max_it: 5000}}   # → -opt_lbfgs_tao_max_it
  inits:         [pytorch, "normal:scale=2"]
  weight_decay:  [0, 1.0e-3]
  replicates:    3                        # or seeds: [11, 12, 13]
zip:     [[datasets, architectures]]      # these axes advance together (equal lengths)
exclude: [{activations: relu, optimizers: newton},   # drop every trial matching all keys
          {architectures: [8, 8], sparsity: LU}]      # LU needs one hidden layer
settings: {dense_limit: 4000, extremes: 10, trajectory_length: 64, redundancy_tol: 1.0e-3,
           save_params: true, output: results.h5}
)");
  EXPECT_EQ(s.name, "quickstart");
  EXPECT_EQ(s.seed, 2026u);
  ASSERT_EQ(s.dataset_shapes.size(), 2u);
  EXPECT_EQ(s.dataset_shapes[1].d, 3);
  EXPECT_EQ(s.dataset_shapes[1].m, 3);  // linear: m defaults to d
  EXPECT_EQ(s.dataset_shapes[1].n, 512);
  EXPECT_EQ(s.weight_decay, std::vector<double>({0.0, 1e-3}));
  EXPECT_EQ(s.replicates, std::vector<std::uint64_t>({0, 1, 2}));
  ASSERT_EQ(s.zip.size(), 1u);
  EXPECT_EQ(s.zip[0], std::vector<Axis>({Axis::datasets, Axis::architectures}));
  ASSERT_EQ(s.exclude.size(), 2u);
  // Rules are kept sorted by axis, values by index: relu is activation 2, newton optimizer 0.
  ASSERT_EQ(s.exclude[0].size(), 2u);
  EXPECT_EQ(s.exclude[0][0].first, Axis::activations);
  EXPECT_EQ(s.exclude[0][0].second, std::vector<int>({2}));
  EXPECT_EQ(s.exclude[0][1].first, Axis::optimizers);
  EXPECT_EQ(s.exclude[0][1].second, std::vector<int>({0}));
  EXPECT_EQ(s.exclude[1][0].first, Axis::architectures);
  EXPECT_EQ(s.exclude[1][0].second, std::vector<int>({1}));
  EXPECT_EQ(s.exclude[1][1].first, Axis::sparsity);
  EXPECT_EQ(s.exclude[1][1].second, std::vector<int>({1}));
  EXPECT_EQ(s.settings.output, "results.h5");
  EXPECT_DOUBLE_EQ(s.settings.redundancy_tol, 1e-3);
  EXPECT_TRUE(s.settings.save_params);
  EXPECT_EQ(s.name, "quickstart");
  const auto opts = prefixed_options(s.optimizers[1]);
  ASSERT_EQ(opts.size(), 1u);
  EXPECT_EQ(opts[0].first, "-opt_lbfgs_tao_max_it");
  EXPECT_EQ(opts[0].second, "5000");
}

TEST(SpecParses, OptimizerAndExcludeForms) {
  const StudySpec s = parse_study(R"(axes:
  architectures: [[3], [5], [7]]
  activations: [tanh, relu, softplus]
  datasets: ["gp:d=3,n=40"]
  optimizers:
    - lmvm
    - {type: ntr}
    - {name: gd_slow, type: gd, options: ["tao_max_it 10", tao_monitor, {tao_gatol: 1e-9}]}
    - {name: quiet, type: nls, options: {tao_view: }}
  seeds: [11, 12]
exclude:
  - {architectures: [[5], "[7]"], activations: [relu], optimizers: gd_slow}
  - {seeds: 12, optimizers: [lmvm, ntr]}
)",
                                  "studies/forms.yaml");
  EXPECT_EQ(s.name, "forms");  // from the file name
  EXPECT_EQ(s.seed, 0u);
  ASSERT_EQ(s.optimizers.size(), 4u);
  EXPECT_EQ(s.optimizers[0].name, "lmvm");
  EXPECT_EQ(s.optimizers[0].tao_type, "lmvm");
  EXPECT_EQ(s.optimizers[1].name, "ntr");
  const auto& gd = s.optimizers[2].options;
  ASSERT_EQ(gd.size(), 3u);
  EXPECT_EQ(gd[0], std::make_pair(std::string("tao_max_it"), std::string("10")));
  EXPECT_EQ(gd[1], std::make_pair(std::string("tao_monitor"), std::string()));
  EXPECT_EQ(gd[2], std::make_pair(std::string("tao_gatol"), std::string("1e-9")));
  ASSERT_EQ(s.optimizers[3].options.size(), 1u);
  EXPECT_EQ(s.optimizers[3].options[0].second, "");
  EXPECT_EQ(s.replicates, std::vector<std::uint64_t>({11, 12}));
  EXPECT_EQ(s.dataset_shapes[0].d, 3);
  ASSERT_EQ(s.exclude.size(), 2u);
  EXPECT_EQ(s.exclude[0][0].first, Axis::architectures);
  EXPECT_EQ(s.exclude[0][0].second, std::vector<int>({1, 2}));
  EXPECT_EQ(s.exclude[0][1].second, std::vector<int>({1}));
  EXPECT_EQ(s.exclude[0][2].second, std::vector<int>({2}));
  EXPECT_EQ(s.exclude[1][0].first, Axis::optimizers);
  EXPECT_EQ(s.exclude[1][0].second, std::vector<int>({0, 1}));
  EXPECT_EQ(s.exclude[1][1].first, Axis::replicates);
  EXPECT_EQ(s.exclude[1][1].second, std::vector<int>({1}));
  // excludes(): the first rule needs all three axes to match.
  std::array<int, kNumAxes> c{};
  c[static_cast<int>(Axis::architectures)] = 2;
  c[static_cast<int>(Axis::activations)] = 1;
  c[static_cast<int>(Axis::optimizers)] = 2;
  EXPECT_TRUE(s.excludes(c));
  c[static_cast<int>(Axis::architectures)] = 0;
  EXPECT_FALSE(s.excludes(c));
}

class SpecFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("nnscape_spec_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SpecFiles, FileDataShapeFromTheHeaderAndLoadStudy) {
  Dataset d;
  d.n = 5;
  d.d = 3;
  d.m = 2;
  d.x.assign(15, 0.5);
  d.y.assign(10, -1.0);
  const std::string data = (dir_ / "data.h5").string();
  write_dataset_h5(data, d);
  const DatasetShape shape = dataset_shape(parse_dataset_spec("file:" + data));
  EXPECT_EQ(shape.n, 5);
  EXPECT_EQ(shape.d, 3);
  EXPECT_EQ(shape.m, 2);

  const std::string path = (dir_ / "file_study.yaml").string();
  std::ofstream(path) << "axes:\n  architectures: [[2]]\n  activations: [tanh]\n"
                         "  datasets: [\"file:" << data << "\"]\n  optimizers: [lmvm]\n";
  const StudySpec s = load_study(path);
  EXPECT_EQ(s.name, "file_study");
  EXPECT_EQ(s.source, path);
  ASSERT_EQ(s.dataset_shapes.size(), 1u);
  EXPECT_EQ(s.dataset_shapes[0].d, 3);
  EXPECT_EQ(s.dataset_shapes[0].m, 2);
  EXPECT_EQ(s.canonical_value(Axis::datasets, 0), "file:" + data);
}

TEST(DatasetShape, GeneratedKindsFromSettingsAndDefaults) {
  const DatasetShape t = dataset_shape(parse_dataset_spec("teacher"));
  EXPECT_EQ(t.n, 512);
  EXPECT_EQ(t.d, 2);
  EXPECT_EQ(t.m, 1);
  const DatasetShape l = dataset_shape(parse_dataset_spec("linear:d=4,n=10"));
  EXPECT_EQ(l.d, 4);
  EXPECT_EQ(l.m, 4);
  EXPECT_EQ(l.n, 10);
  const DatasetShape e = dataset_shape(parse_dataset_spec("linear:matrix=1 2 3; 4 5 6"));
  EXPECT_EQ(e.d, 3);
  EXPECT_EQ(e.m, 2);
  const DatasetShape g = dataset_shape(parse_dataset_spec("gp:d=5,m=3,n=7"));
  EXPECT_EQ(g.n, 7);
  EXPECT_EQ(g.d, 5);
  EXPECT_EQ(g.m, 3);
}

// --- hash ----------------------------------------------------------------------------------

std::string hash_of(const std::string& yaml) { return parse_study(yaml, "h.yaml").hash; }

TEST(SpecHash, IgnoresCommentsLayoutKeyOrderNameAndOutput) {
  const std::string base = hash_of(std::string(kBase) + "settings: {extremes: 4, output: a.h5}\n");
  // Block style, comments, other key order (top level, axes, optimizer entries and options),
  // blank lines, another name and output, zip/exclude absent as empty.
  const std::string same = hash_of(R"(# a comment
settings:
  output: other.h5     # not part of the hash
  extremes: 4
axes:
  replicates: 2
  optimizers:
    - type: ntr
      name: newton

    - options:
        tao_max_it: 50
      type: lmvm
      name: lbfgs
  datasets:
    - "teacher:n=64, d=2, width=4"
  activations:
    - tanh
    - softplus
  architectures:
    - [4]
    - [8,   8]
study:
  seed: 7
  name: another_name
zip: []
exclude: []
)");
  EXPECT_EQ(base, same);
  // Explicit defaults are the same study.
  EXPECT_EQ(base, hash_of(std::string(kBase) + "  sparsity: [dense]\n  inits: [pytorch]\n"
                                                 "  weight_decay: [0.0]\n"
                                                 "settings: {extremes: 4, dense_limit: 4000}\n"));
  // replicates: 2 and seeds: [0, 1] give the same trials.
  EXPECT_EQ(base, hash_of(replace_line(9, "  seeds: [0, 1]") + "settings: {extremes: 4}\n"));
}

TEST(SpecHash, ChangesWithEveryValueThatDecidesATrial) {
  const std::string tail = "settings: {extremes: 4}\n";
  const std::string base = hash_of(std::string(kBase) + tail);
  const std::vector<std::string> changed = {
      replace_line(1, "study: {name: t, seed: 8}") + tail,
      replace_line(3, "  architectures: [[4], [8, 9]]") + tail,
      replace_line(3, "  architectures: [[8, 8], [4]]") + tail,  // order decides the ids
      replace_line(4, "  activations: [tanh, sigmoid]") + tail,
      replace_line(5, "  datasets: [\"teacher:width=4,d=2,n=65\"]") + tail,
      replace_line(7, "    - {name: newton, type: nls}") + tail,
      replace_line(7, "    - {name: newton2, type: ntr}") + tail,
      replace_line(8, "    - {name: lbfgs, type: lmvm, options: {tao_max_it: 51}}") + tail,
      replace_line(8, "    - {name: lbfgs, type: lmvm, options: {tao_max_it: 50, tao_gatol: 0}}") +
          tail,
      replace_line(9, "  replicates: 3") + tail,
      replace_line(9, "  seeds: [0, 2]") + tail,
      std::string(kBase) + "  weight_decay: [1e-4]\n" + tail,
      std::string(kBase) + "  inits: [\"normal:scale=2\"]\n" + tail,
      std::string(kBase) + "  sparsity: [lower]\n" + tail,
      std::string(kBase) + "exclude: [{activations: tanh}]\n" + tail,
      std::string(kBase) + "settings: {extremes: 5}\n",
      std::string(kBase) + "settings: {extremes: 4, dense_limit: 10}\n",
      std::string(kBase) + "settings: {extremes: 4, trajectory_length: 10}\n",
      std::string(kBase) + "settings: {extremes: 4, redundancy_tol: 0.01}\n",
      std::string(kBase) + "settings: {extremes: 4, save_params: false}\n",
  };
  for (const auto& yaml : changed) EXPECT_NE(hash_of(yaml), base) << yaml;
  // Zip needs equal lengths: compare a zipped and an unzipped study of two 2-value axes.
  const std::string two = replace_line(5, "  datasets: [\"teacher:n=64\", \"teacher:n=32\"]");
  EXPECT_NE(hash_of(two + "zip: [[architectures, datasets]]\n"), hash_of(two));
}

TEST(SpecHash, IsTheXxh3OfTheCanonicalForm) {
  const StudySpec s = parse_study(kBase);
  EXPECT_EQ(study_hash(s), s.hash);
  const std::string c = canonical_form(s);
  EXPECT_NE(c.find("seed=7\n"), std::string::npos) << c;
  EXPECT_NE(c.find("architectures=3:[4];5:[8,8];\n"), std::string::npos) << c;
}

}  // namespace
}  // namespace nnscape
