// The pattern room: pattern texts, generators, mask files and their errors; and the LU trial
// built from the pattern text, with its "true loss" trajectory (issue 5).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/pattern.hpp"
#include "nnscape/trial.hpp"

namespace nnscape {
namespace {

std::vector<Mask> make(const std::string& text, const std::vector<int>& widths) {
  return build_masks(parse_pattern(text), widths);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A scratch directory removed at the end of each test.
class Scratch {
 public:
  Scratch() {
    dir_ = std::filesystem::temp_directory_path() /
           ("nnscape_pattern_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

void write_h5_masks(const std::string& path, const std::vector<std::vector<double>>& values,
                    const std::vector<std::pair<int, int>>& shapes) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  for (std::size_t l = 0; l < values.size(); ++l) {
    const hsize_t dims[2] = {static_cast<hsize_t>(shapes[l].first),
                             static_cast<hsize_t>(shapes[l].second)};
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const std::string name = "/mask" + std::to_string(l + 1);
    const hid_t ds = H5Dcreate2(file, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values[l].data());
    H5Dclose(ds);
    H5Sclose(space);
  }
  H5Fclose(file);
}

TEST(Pattern, ParsesKindsAndSettings) {
  const PatternSpec r = parse_pattern(" random:density=0.25, seed=7 ");
  EXPECT_EQ(r.kind, "random");
  ASSERT_EQ(r.settings.size(), 2u);
  EXPECT_EQ(r.settings[0], (std::pair<std::string, std::string>{"density", "0.25"}));
  EXPECT_EQ(r.settings[1], (std::pair<std::string, std::string>{"seed", "7"}));
  EXPECT_EQ(r.text, "random:density=0.25, seed=7");
  EXPECT_EQ(parse_pattern("lu").kind, "LU");
  EXPECT_EQ(parse_pattern("Ul").kind, "UL");
  EXPECT_EQ(parse_pattern("Dense").kind, "dense");
  const PatternSpec f = parse_pattern("file:a.txt,b.txt");
  EXPECT_EQ(f.kind, "file");
  EXPECT_EQ(f.files, (std::vector<std::string>{"a.txt", "b.txt"}));
}

TEST(Pattern, RefusesBadTextsWithAMessageNamingTheProblem) {
  EXPECT_NE(error_of([] { parse_pattern("diagonalish"); }).find("unknown pattern kind 'diagonalish'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("banded:depth=2"); }).find("unknown key 'depth'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("LU:width=2"); }).find("takes no settings"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("random:density=1.5"); }).find("density=1.5"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("random:density=0"); }).find("(0, 1]"), std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("random:seed=-1"); }).find("seed=-1"), std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("block_diagonal:blocks=0"); }).find("blocks=0"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("banded:width=1,width=2"); }).find("given twice"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("banded:width=1,"); }).find("empty item"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern("file"); }).find("needs file names"), std::string::npos);
  EXPECT_NE(error_of([] { parse_pattern(""); }).find("no kind"), std::string::npos);
}

TEST(Pattern, TriangularAndNamedPatterns) {
  EXPECT_TRUE(make("dense", {3, 4, 2}).empty());
  const auto lower = make("lower", {3, 3, 3});
  ASSERT_EQ(lower.size(), 2u);
  for (const Mask& m : lower)
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(m.at(r, c), c <= r);
  const auto lu = make("LU", {3, 3, 3});
  const auto ul = make("UL", {3, 3, 3});
  ASSERT_EQ(lu.size(), 2u);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(lu[0].at(r, c), c <= r);  // first layer lower
      EXPECT_EQ(lu[1].at(r, c), c >= r);  // second layer upper
      EXPECT_EQ(ul[0].at(r, c), c >= r);
      EXPECT_EQ(ul[1].at(r, c), c <= r);
    }
  // Rectangular: out × in shapes, triangle by index.
  const auto rect = make("LU", {3, 2, 3});
  EXPECT_EQ(rect[0].rows, 2);
  EXPECT_EQ(rect[0].cols, 3);
  EXPECT_EQ(rect[1].rows, 3);
  EXPECT_EQ(rect[1].cols, 2);
  EXPECT_NE(error_of([] { make("LU", {3, 3, 3, 3}); }).find("one-hidden-layer"),
            std::string::npos);
}

TEST(Pattern, RandomMasksAreDeterministicPerSeedAndHaveTheirDensity) {
  const auto a = make("random:density=0.3,seed=5", {20, 30, 10});
  const auto b = make("random:seed=5,density=0.3", {20, 30, 10});
  const auto c = make("random:density=0.3,seed=6", {20, 30, 10});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  ASSERT_EQ(a.size(), 2u);
  const double frac = static_cast<double>(a[0].count()) / (30 * 20);
  EXPECT_NEAR(frac, 0.3, 0.06);  // 600 Bernoulli(0.3) draws: sd 0.019
  EXPECT_EQ(make("random:density=1", {4, 5, 3})[1].count(), 15);
}

TEST(Pattern, BlockDiagonalKeepsAUnitInItsBlockThroughTheNetwork) {
  const auto m = make("block_diagonal:blocks=2", {4, 6, 2});
  ASSERT_EQ(m.size(), 2u);
  // Layer 1: inputs {0,1} | {2,3} → hidden {0,1,2} | {3,4,5}; layer 2: hidden → outputs {0} | {1}.
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(m[0].at(r, c), (r / 3) == (c / 2)) << r << "," << c;
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(m[1].at(r, c), r == c / 3) << r << "," << c;
  EXPECT_NE(error_of([] { make("block_diagonal:blocks=3", {4, 2, 4}); }).find("blocks=3"),
            std::string::npos);
}

TEST(Pattern, BandedAndButterfly) {
  const auto band = make("banded:width=1", {5, 5});
  ASSERT_EQ(band.size(), 1u);
  EXPECT_EQ(band[0].count(), 5 + 2 * 4);
  EXPECT_TRUE(band[0].at(2, 3));
  EXPECT_FALSE(band[0].at(0, 2));
  // Butterfly on 8: log2(8) = 3 factors with strides 1, 2, 4; each row holds 2 entries, and
  // the product of the three supports is dense (every input reaches every output).
  const auto bf = make("butterfly", {8, 8, 8, 8});
  ASSERT_EQ(bf.size(), 3u);
  for (int l = 0; l < 3; ++l) {
    EXPECT_EQ(bf[l].count(), 16);
    EXPECT_TRUE(bf[l].at(0, 1 << l));
  }
  std::vector<int> reach(64, 0);
  for (int j = 0; j < 8; ++j) {
    std::vector<int> v(8, 0);
    v[j] = 1;
    for (const Mask& m : bf) {
      std::vector<int> w(8, 0);
      for (int r = 0; r < 8; ++r)
        for (int c = 0; c < 8; ++c) w[r] |= m.at(r, c) && v[c];
      v = w;
    }
    for (int i = 0; i < 8; ++i) reach[i * 8 + j] = v[i];
  }
  for (int x : reach) EXPECT_EQ(x, 1);
  EXPECT_NE(error_of([] { make("butterfly", {6, 6}); }).find("power of two"), std::string::npos);
  EXPECT_NE(error_of([] { make("butterfly", {4, 8}); }).find("power of two"), std::string::npos);
}

TEST(Pattern, TextMaskFilesAndTheirErrors) {
  Scratch dir;
  const std::string w1 = dir.write("w1.txt", "# first layer\n1 0\n1 1  # row 2\n\n");
  const std::string w2 = dir.write("w2.txt", "1 1\n0 1\n");
  const auto masks = make("file:" + w1 + "," + w2, {2, 2, 2});
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0], make("LU", {2, 2, 2})[0]);
  EXPECT_EQ(masks[1], make("LU", {2, 2, 2})[1]);

  // Wrong shape for the widths, and the wrong count.
  const std::string shape = error_of([&] { make("file:" + w1 + "," + w2, {2, 3, 2}); });
  EXPECT_NE(shape.find("mask 1 is 2x2"), std::string::npos) << shape;
  EXPECT_NE(shape.find("needs 3x2"), std::string::npos) << shape;
  EXPECT_NE(error_of([&] { make("file:" + w1, {2, 2, 2}); }).find("1 mask(s)"), std::string::npos);
  // Non-0/1 entries, ragged rows, a missing file, an empty file.
  const std::string bad = dir.write("bad.txt", "1 0\n2 1\n");
  EXPECT_NE(error_of([&] { read_mask_text(bad); }).find("line 2: entry '2' is not 0 or 1"),
            std::string::npos);
  const std::string ragged = dir.write("ragged.txt", "1 0\n1\n");
  EXPECT_NE(error_of([&] { read_mask_text(ragged); }).find("has 1 entries"), std::string::npos);
  EXPECT_NE(error_of([&] { read_mask_text(dir.path("none.txt")); }).find("no such file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_mask_text(dir.write("empty.txt", "# nothing\n")); })
                .find("has no rows"),
            std::string::npos);
}

TEST(Pattern, Hdf5MaskFilesAndTheirErrors) {
  Scratch dir;
  const std::string good = dir.path("m.h5");
  write_h5_masks(good, {{1, 0, 0, 1, 1, 0}, {1, 1, 0}}, {{2, 3}, {1, 2}});
  const auto masks = make("file:" + good, {3, 2, 1});
  ASSERT_EQ(masks.size(), 2u);
  EXPECT_EQ(masks[0].rows, 2);
  EXPECT_EQ(masks[0].cols, 3);
  EXPECT_EQ(masks[0].bits, (std::vector<std::uint8_t>{1, 0, 0, 1, 1, 0}));
  EXPECT_EQ(masks[1].bits, (std::vector<std::uint8_t>{1, 1}));
  EXPECT_NE(error_of([&] { make("file:" + good, {3, 3, 1}); }).find("needs 3x3"),
            std::string::npos);
  const std::string half = dir.path("half.h5");
  write_h5_masks(half, {{1, 0.5}}, {{1, 2}});
  EXPECT_NE(error_of([&] { read_masks_h5(half); }).find("entries must be 0 or 1"),
            std::string::npos);
  EXPECT_NE(error_of([&] { make("file:" + dir.path("missing.h5"), {2, 1}); }).find("no such file"),
            std::string::npos);
  const std::string text = dir.write("not.h5", "1 0\n");
  EXPECT_NE(error_of([&] { read_masks_h5(text); }).find("not an HDF5 file"), std::string::npos);
}

TEST(Pattern, CheckMasksAndWidths) {
  Mask m = Mask::dense(2, 3);
  m.bits[4] = 7;
  EXPECT_NE(error_of([&] { check_masks({m}, {3, 2}, "test"); }).find("entry 7 at row 1, column 1"),
            std::string::npos);
  EXPECT_EQ(mask_widths({Mask::dense(4, 3), Mask::dense(2, 4)}), (std::vector<int>{3, 4, 2}));
  EXPECT_NE(error_of([] { mask_widths({Mask::dense(4, 3), Mask::dense(2, 5)}); }).find("chain"),
            std::string::npos);
}

TEST(Pattern, ReportsUnitsThatEmptyRowsOrColumnsCutOff) {
  // widths {3, 2, 2}: input 2 unused, hidden 1 has inputs but feeds nothing, output 1 empty.
  Mask w1{2, 3, {1, 1, 0, 0, 1, 0}};
  Mask w2{2, 2, {1, 0, 0, 0}};
  const auto cut = disconnected_units({w1, w2}, {3, 2, 2});
  ASSERT_EQ(cut.size(), 3u);
  EXPECT_EQ(cut[0], "input 2 feeds no unit");
  EXPECT_EQ(cut[1], "hidden unit 1 of layer 1 has no outputs (it feeds nothing)");
  EXPECT_EQ(cut[2], "output 1 has no inputs (only its bias)");
  EXPECT_TRUE(disconnected_units(make("LU", {3, 3, 3}), {3, 3, 3}).empty());
  EXPECT_TRUE(disconnected_units({}, {3, 3, 3}).empty());
}

// The LU trial of Le et al. built from the pattern text alone: it diverges while the true loss
// ‖W2W1 − J‖_F/‖J‖_F falls toward 0 along the trajectory; weight decay bounds it.
TrialSpec lu_text_trial(double weight_decay) {
  TrialSpec spec;
  spec.hidden = {3};
  spec.activation = Activation::identity;
  spec.data = parse_dataset_spec("linear:d=3,n=300,matrix=anti_identity");
  spec.pattern = "LU";
  spec.weight_decay = weight_decay;
  spec.optimizer.tao_type = "lmvm";
  spec.optimizer.name = "patterntest_lu";
  spec.optimizer.max_it = 20000;
  spec.optimizer.gatol = weight_decay > 0.0 ? 1e-8 : 1e-10;
  spec.seed = 11;
  return spec;
}

TEST(PatternTrial, LuFromThePatternTextDivergesWithTheTrueLossFalling) {
  const TrialRecord r = run_trial(lu_text_trial(0.0));
  EXPECT_EQ(r.status, "diverged") << r.optimization.reason;
  EXPECT_EQ(r.num_params, 6 + 3 + 6 + 3);  // 6 free entries per triangle, plus biases
  const auto& t = r.optimization.trajectory;
  ASSERT_GE(t.size(), 4u);
  for (const TrajectoryPoint& p : t) EXPECT_TRUE(std::isfinite(p.true_loss)) << p.iteration;
  EXPECT_LT(t.back().true_loss, 0.1 * t.front().true_loss);
  EXPECT_LT(t.back().true_loss, t[t.size() / 2].true_loss);
  EXPECT_GT(t.back().param_norm, t[t.size() / 2].param_norm);
  // The last point's true loss is the record's product error at the end point.
  EXPECT_DOUBLE_EQ(t.back().true_loss, r.product_error);
}

TEST(PatternTrial, LuWithWeightDecayIsABoundedMinimum) {
  const TrialRecord r = run_trial(lu_text_trial(1e-3));
  EXPECT_FALSE(r.optimization.diverged);
  EXPECT_TRUE(r.status == "strict_min" || r.status == "degenerate_min") << r.status;
  EXPECT_LT(r.optimization.param_norm, 100.0);
  // The decayed optimum stays a positive distance from J: the infimum is not reached.
  EXPECT_GT(r.optimization.trajectory.back().true_loss, 1e-3);
}

TEST(PatternTrial, TrueLossIsNaNForNonLinearData) {
  TrialSpec spec;
  spec.hidden = {2};
  spec.data = parse_dataset_spec("teacher:width=2,d=2,n=64");
  spec.optimizer.tao_type = "lmvm";
  spec.optimizer.name = "patterntest_nan";
  spec.optimizer.max_it = 20;
  spec.pattern = "banded:width=0";
  const TrialRecord r = run_trial(spec);
  EXPECT_EQ(r.num_params, 2 + 2 + 1 + 1);  // diagonal 2×2 and 1×2 with band 0, plus biases
  ASSERT_FALSE(r.optimization.trajectory.empty());
  for (const TrajectoryPoint& p : r.optimization.trajectory) EXPECT_TRUE(std::isnan(p.true_loss));
}

}  // namespace
}  // namespace nnscape
