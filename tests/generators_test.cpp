// Dataset generators and spec parsing (dataset.cpp) plus load_dataset (dataset_io.cpp): shapes,
// determinism, the documented construction of each kind, and every refusal by its message.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/init.hpp"
#include "nnscape/network.hpp"
#include "nnscape/random.hpp"

namespace nnscape {
namespace {

Dataset gen(const std::string& text, std::uint64_t seed) {
  return generate_dataset(parse_dataset_spec(text), seed);
}

void expect_parse_error(const std::string& text, const std::vector<std::string>& phrases) {
  try {
    const DatasetSpec spec = parse_dataset_spec(text);
    ADD_FAILURE() << "parse_dataset_spec(\"" << text << "\") did not throw";
  } catch (const Error& e) {
    for (const auto& p : phrases)
      EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
          << "message: " << e.what() << "\nexpected to contain: " << p;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsing.

TEST(DatasetSpec, ParsesKindAndSettings) {
  const DatasetSpec t = parse_dataset_spec("teacher");
  EXPECT_EQ(t.kind, "teacher");
  EXPECT_TRUE(t.settings.empty());
  EXPECT_EQ(t.text, "teacher");
  const DatasetSpec g = parse_dataset_spec("gp: d=3, n=100 ,length=0.25");
  EXPECT_EQ(g.kind, "gp");
  EXPECT_EQ(g.settings.at("d"), "3");
  EXPECT_EQ(g.settings.at("n"), "100");
  EXPECT_EQ(g.settings.at("length"), "0.25");
  const DatasetSpec f = parse_dataset_spec("file:/data/x,y=1.h5");
  EXPECT_EQ(f.kind, "file");
  EXPECT_EQ(f.settings.at("path"), "/data/x,y=1.h5");
  const DatasetSpec l = parse_dataset_spec("linear:matrix=1 2 3; 4 5 6");
  EXPECT_EQ(l.settings.at("matrix"), "1 2 3; 4 5 6");
  const DatasetSpec i = parse_dataset_spec("teacher:init=small:scale=1e-2,width=3");
  EXPECT_EQ(i.settings.at("init"), "small:scale=1e-2");
}

TEST(DatasetSpec, Errors) {
  expect_parse_error("mnist:n=5", {"unknown data set kind 'mnist'", "teacher, gp, linear, file"});
  expect_parse_error("", {"no kind", "teacher, gp, linear, file"});
  expect_parse_error("gp:width=3", {"unknown key 'width'", "'gp'", "length", "exact_limit"});
  expect_parse_error("teacher:n=abc", {"n='abc'", "not an integer"});
  expect_parse_error("teacher:n=12.5", {"n='12.5'", "not an integer"});
  expect_parse_error("teacher:n=0", {"n='0'", "at least 1"});
  expect_parse_error("teacher:n=99999999999", {"n='99999999999'", "too large"});
  expect_parse_error("gp:length=0", {"length='0'", "> 0"});
  expect_parse_error("gp:length=fast", {"length='fast'", "not a finite number"});
  expect_parse_error("gp:variance=inf", {"variance='inf'", "not a finite number"});
  expect_parse_error("teacher:noise=-0.1", {"noise='-0.1'", ">= 0"});
  expect_parse_error("teacher:input=cube", {"input='cube'", "uniform, gaussian"});
  expect_parse_error("teacher:activation=swish", {"activation='swish'", "tanh"});
  expect_parse_error("teacher:init=xavier", {"init='xavier'", "xavier"});
  expect_parse_error("gp:n", {"'n'", "key=value"});
  expect_parse_error("gp:n=5,", {"key=value"});
  expect_parse_error("gp:n=5,n=6", {"n twice"});
  expect_parse_error("file", {"file needs a path"});
  expect_parse_error("file:", {"file needs a path"});
  expect_parse_error("linear:d=3,m=2,matrix=identity", {"m='2'", "must equal d = 3"});
  expect_parse_error("linear:matrix=eye", {"matrix='eye'", "anti_identity, identity, random"});
  expect_parse_error("linear:matrix=1 2; 3", {"rows of different lengths"});
  expect_parse_error("linear:matrix=1 x; 3 4", {"'x'", "not a finite number"});
  expect_parse_error("linear:matrix=1 2;; 3 4", {"empty row"});
  expect_parse_error("linear:d=3,matrix=1 2; 3 4", {"d='3'", "2 columns"});
  expect_parse_error("linear:m=3,matrix=1 2; 3 4", {"m='3'", "2 rows"});
}

TEST(DatasetSpec, GenerateRefusesFileAndEditedSettings) {
  EXPECT_THROW(generate_dataset(parse_dataset_spec("file:x.h5"), 1), Error);
  DatasetSpec spec = parse_dataset_spec("gp");
  spec.settings["bogus"] = "1";
  EXPECT_THROW(generate_dataset(spec, 1), Error);
  EXPECT_THROW(linear_target_matrix(parse_dataset_spec("teacher"), 1), Error);
}

// ---------------------------------------------------------------------------------------------
// Shapes, inputs, determinism.

TEST(Generators, DefaultShapes) {
  struct Case { const char* text; int n, d, m; };
  for (const Case c : {Case{"teacher", 512, 2, 1}, Case{"gp", 512, 2, 1}, Case{"linear", 512, 2, 2},
                       Case{"teacher:n=30,d=5,m=3,width=7", 30, 5, 3},
                       Case{"gp:n=40,d=3,m=2", 40, 3, 2}, Case{"linear:n=20,d=4", 20, 4, 4},
                       Case{"linear:n=20,d=4,m=2,matrix=random", 20, 4, 2},
                       Case{"linear:n=10,matrix=1 2 3; 4 5 6", 10, 3, 2}}) {
    const Dataset data = gen(c.text, 3);
    EXPECT_EQ(data.n, c.n) << c.text;
    EXPECT_EQ(data.d, c.d) << c.text;
    EXPECT_EQ(data.m, c.m) << c.text;
    EXPECT_EQ(data.x.size(), static_cast<std::size_t>(c.n) * c.d) << c.text;
    EXPECT_EQ(data.y.size(), static_cast<std::size_t>(c.n) * c.m) << c.text;
    EXPECT_NO_THROW(validate(data));
  }
}

TEST(Generators, DeterministicAndSeedDependent) {
  for (const char* text : {"teacher:n=100", "teacher:n=100,noise=0.1,input=gaussian", "gp:n=100",
                           "gp:n=100,exact_limit=10,features=64", "linear:n=50,matrix=random",
                           "gp:n=50,noise=0.2"}) {
    const Dataset a = gen(text, 17), b = gen(text, 17), c = gen(text, 18);
    EXPECT_EQ(a.x, b.x) << text;  // bitwise
    EXPECT_EQ(a.y, b.y) << text;
    EXPECT_NE(a.x, c.x) << text;
    EXPECT_NE(a.y, c.y) << text;
  }
}

TEST(Generators, InputsFollowTheDocumentedStream) {
  const Dataset u = gen("linear:n=2000,d=3", 5);
  RandomStream s(5, Purpose::inputs);
  for (double v : u.x) ASSERT_EQ(v, 2.0 * s.uniform() - 1.0);
  double mn = 0, mx = 0;
  for (double v : u.x) mn = std::min(mn, v), mx = std::max(mx, v);
  EXPECT_GE(mn, -1.0);
  EXPECT_LT(mx, 1.0);
  EXPECT_LT(mn, -0.99);
  EXPECT_GT(mx, 0.99);

  const Dataset g = gen("linear:n=2000,d=3,input=gaussian", 5);
  RandomStream t(5, Purpose::inputs);
  for (double v : g.x) ASSERT_EQ(v, t.normal());
  // The same inputs whatever the kind: X depends on (n, d, input, seed) only.
  EXPECT_EQ(gen("gp:n=30,d=2", 9).x, gen("teacher:n=30,d=2,width=2", 9).x);
}

// ---------------------------------------------------------------------------------------------
// Teacher.

// The teacher as documented in dataset.hpp.
std::vector<double> teacher_outputs(const Dataset& data, int width, Activation act,
                                    const std::string& init, std::uint64_t seed) {
  Architecture arch;
  arch.widths = {data.d, width, data.m};
  arch.activation = act;
  const Network net(arch);
  const auto theta = initialize(net, parse_init(init), derive_seed(seed, Purpose::teacher));
  return net.predict(theta, data.x.data(), data.n);
}

TEST(Teacher, TargetsArePredictionsOfTheTeacher) {
  const Dataset a = gen("teacher:n=200", 7);
  EXPECT_EQ(a.y, teacher_outputs(a, 4, Activation::tanh, "normal:scale=2", 7));
  const Dataset b = gen("teacher:n=100,d=3,m=2,width=6,activation=sin,init=pytorch", 8);
  EXPECT_EQ(b.y, teacher_outputs(b, 6, Activation::sin, "pytorch", 8));
}

TEST(Teacher, NoiseIsTheNoiseStream) {
  const Dataset clean = gen("teacher:n=300,m=2", 4);
  const Dataset noisy = gen("teacher:n=300,m=2,noise=0.25", 4);
  EXPECT_EQ(clean.x, noisy.x);
  RandomStream s(4, Purpose::noise);
  for (std::size_t i = 0; i < clean.y.size(); ++i)
    EXPECT_EQ(noisy.y[i], clean.y[i] + 0.25 * s.normal());
}

TEST(Teacher, DefaultTeacherIsNotNearlyAffine) {
  // Over several seeds, the best affine fit leaves a visible part of the teacher's variance.
  double worst_r2 = 0.0, mean_r2 = 0.0;
  const int seeds = 10;
  for (int seed = 0; seed < seeds; ++seed) {
    const Dataset data = gen("teacher:n=400", seed);
    // Least squares y ≈ c0 + c1 x1 + c2 x2 by normal equations (3 × 3, Cramer's rule).
    double s[3][3] = {}, t[3] = {}, ym = 0, yy = 0;
    for (int i = 0; i < data.n; ++i) {
      const double f[3] = {1.0, data.x[2 * i], data.x[2 * i + 1]};
      for (int p = 0; p < 3; ++p) {
        t[p] += f[p] * data.y[i];
        for (int q = 0; q < 3; ++q) s[p][q] += f[p] * f[q];
      }
      ym += data.y[i];
      yy += data.y[i] * data.y[i];
    }
    auto det = [](double m[3][3]) {
      return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
             m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
             m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    };
    const double d0 = det(s);
    double c[3];
    for (int p = 0; p < 3; ++p) {
      double m[3][3];
      for (int r = 0; r < 3; ++r)
        for (int q = 0; q < 3; ++q) m[r][q] = q == p ? t[r] : s[r][q];
      c[p] = det(m) / d0;
    }
    double sse = 0;
    for (int i = 0; i < data.n; ++i) {
      const double e = data.y[i] - (c[0] + c[1] * data.x[2 * i] + c[2] * data.x[2 * i + 1]);
      sse += e * e;
    }
    ym /= data.n;
    const double r2 = 1.0 - sse / (yy - data.n * ym * ym);
    worst_r2 = std::max(worst_r2, r2);
    mean_r2 += r2 / seeds;
  }
  ::testing::Test::RecordProperty("mean_affine_r2", std::to_string(mean_r2));
  EXPECT_LT(mean_r2, 0.9);
}

// ---------------------------------------------------------------------------------------------
// Linear.

TEST(Linear, AntiIdentityIsExact) {
  const Dataset data = gen("linear:n=300,d=4,matrix=anti_identity", 2);
  ASSERT_EQ(data.m, 4);
  for (int i = 0; i < data.n; ++i)
    for (int k = 0; k < 4; ++k) ASSERT_EQ(data.y[i * 4 + k], data.x[i * 4 + (3 - k)]);
  const auto a = linear_target_matrix(parse_dataset_spec("linear:d=3"), 0);  // default matrix
  EXPECT_EQ(a, (std::vector<double>{0, 0, 1, 0, 1, 0, 1, 0, 0}));
}

TEST(Linear, IdentityAndExplicitRows) {
  const Dataset id = gen("linear:n=50,d=3,matrix=identity", 2);
  EXPECT_EQ(id.y, id.x);
  const DatasetSpec spec = parse_dataset_spec("linear:n=40,matrix=1 -2 0.5; 0 3 +4");
  EXPECT_EQ(linear_target_matrix(spec, 0), (std::vector<double>{1, -2, 0.5, 0, 3, 4}));
  const Dataset data = generate_dataset(spec, 6);
  for (int i = 0; i < data.n; ++i) {
    const double* x = &data.x[3 * i];
    EXPECT_DOUBLE_EQ(data.y[2 * i], x[0] - 2 * x[1] + 0.5 * x[2]);
    EXPECT_DOUBLE_EQ(data.y[2 * i + 1], 3 * x[1] + 4 * x[2]);
  }
}

TEST(Linear, RandomMatrixIsSeededAndScaled) {
  const DatasetSpec spec = parse_dataset_spec("linear:n=30,d=40,m=30,matrix=random");
  const auto a = linear_target_matrix(spec, 11);
  ASSERT_EQ(a.size(), 30u * 40u);
  EXPECT_EQ(a, linear_target_matrix(spec, 11));
  EXPECT_NE(a, linear_target_matrix(spec, 12));
  double s2 = 0;
  for (double v : a) s2 += v * v;
  EXPECT_NEAR(s2 / a.size(), 1.0 / 40, 5 * (1.0 / 40) * std::sqrt(2.0 / a.size()));
  const Dataset data = generate_dataset(spec, 11);
  for (int i = 0; i < data.n; ++i)
    for (int k = 0; k < data.m; ++k) {
      double y = 0;
      for (int c = 0; c < data.d; ++c) y += a[k * 40 + c] * data.x[i * 40 + c];
      ASSERT_NEAR(data.y[i * data.m + k], y, 1e-14);
    }
}

// ---------------------------------------------------------------------------------------------
// Gaussian process. Statistics pool many independent draws (seeds): a single sample path has
// few effective degrees of freedom at this length scale.

struct Pooled {
  double mean_square = 0;      // ≈ variance
  std::vector<double> kernel;  // mean y_i y_j per distance bin ≈ variance·exp(−r²/(2ℓ²))
  std::vector<double> count;
};

constexpr double kBin = 0.1;

Pooled pool_gp(const std::string& text, int seeds) {
  Pooled p;
  p.kernel.assign(10, 0.0);
  p.count.assign(10, 0.0);
  double n_total = 0;
  for (int seed = 0; seed < seeds; ++seed) {
    const Dataset data = gen(text, 1000 + seed);
    for (int i = 0; i < data.n; ++i) {
      for (int k = 0; k < data.m; ++k) p.mean_square += data.y[i * data.m + k] * data.y[i * data.m + k];
      n_total += data.m;
      for (int j = 0; j < i; ++j) {
        double r2 = 0;
        for (int c = 0; c < data.d; ++c) {
          const double t = data.x[i * data.d + c] - data.x[j * data.d + c];
          r2 += t * t;
        }
        const auto bin = static_cast<std::size_t>(std::sqrt(r2) / kBin);
        if (bin >= p.kernel.size()) continue;
        p.kernel[bin] += data.y[i * data.m] * data.y[j * data.m];
        p.count[bin] += 1;
      }
    }
  }
  p.mean_square /= n_total;
  for (std::size_t b = 0; b < p.kernel.size(); ++b) p.kernel[b] /= p.count[b];
  return p;
}

void expect_squared_exponential(const Pooled& p, double variance, double length) {
  ::testing::Test::RecordProperty("mean_square", std::to_string(p.mean_square));
  for (std::size_t b = 0; b < p.kernel.size(); ++b)
    ::testing::Test::RecordProperty("bin" + std::to_string(b), std::to_string(p.kernel[b]));
  EXPECT_NEAR(p.mean_square, variance, 0.15 * variance);
  for (std::size_t b = 0; b < p.kernel.size(); ++b) {
    // Mean of the kernel over the bin, approximated at its centre.
    const double r = (b + 0.5) * kBin;
    EXPECT_NEAR(p.kernel[b], variance * std::exp(-r * r / (2 * length * length)), 0.15 * variance)
        << "distance bin " << b;
  }
}

TEST(GaussianProcess, ExactHasTheKernelCovariance) {
  expect_squared_exponential(pool_gp("gp:n=200,length=0.3,variance=2", 40), 2.0, 0.3);
}

TEST(GaussianProcess, FourierFeaturesHaveTheKernelCovariance) {
  expect_squared_exponential(pool_gp("gp:n=200,length=0.3,variance=2,exact_limit=100", 40), 2.0,
                             0.3);
}

TEST(GaussianProcess, ExactIsContinuousAtNearlyDuplicatedInputs) {
  // 1500 points on [-1, 1]: K is singular to rounding (its small eigenvalues are far below
  // 1e-16·‖K‖), so the sample rests on the jitter; it must still be a smooth function.
  const Dataset data = gen("gp:n=1500,d=1,length=0.5", 3);
  std::vector<int> order(data.n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int a, int b) { return data.x[a] < data.x[b]; });
  double worst = 0;
  for (int t = 1; t < data.n; ++t) {
    const double dx = data.x[order[t]] - data.x[order[t - 1]];
    const double dy = std::abs(data.y[order[t]] - data.y[order[t - 1]]);
    // f' ~ N(0, variance/length²): 8 standard deviations, plus the jitter's own noise.
    worst = std::max(worst, dy - 8.0 / 0.5 * dx);
  }
  EXPECT_LT(worst, 1e-3);
}

TEST(GaussianProcess, OutputsAreIndependentAndNoiseIsAdded) {
  double c01 = 0, c00 = 0, c11 = 0;
  for (int seed = 0; seed < 20; ++seed) {
    const Dataset data = gen("gp:n=100,m=2,length=0.2", seed);
    for (int i = 0; i < data.n; ++i) {
      c01 += data.y[2 * i] * data.y[2 * i + 1];
      c00 += data.y[2 * i] * data.y[2 * i];
      c11 += data.y[2 * i + 1] * data.y[2 * i + 1];
    }
  }
  EXPECT_LT(std::abs(c01) / std::sqrt(c00 * c11), 0.15);

  for (const char* base : {"gp:n=80", "gp:n=80,exact_limit=5"}) {
    const Dataset clean = gen(base, 4);
    const Dataset noisy = gen(std::string(base) + ",noise=0.3", 4);
    RandomStream s(4, Purpose::noise);
    for (std::size_t i = 0; i < clean.y.size(); ++i)
      EXPECT_EQ(noisy.y[i], clean.y[i] + 0.3 * s.normal());
  }
}

// ---------------------------------------------------------------------------------------------
// load_dataset.

TEST(LoadDataset, GeneratedOrFromFile) {
  const DatasetSpec spec = parse_dataset_spec("teacher:n=20");
  const Dataset a = load_dataset(spec, 5), b = generate_dataset(spec, 5);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.y, b.y);

  const auto path = (std::filesystem::temp_directory_path() /
                     ("nnscape_generators_test_" + std::to_string(::getpid()) + ".h5"))
                        .string();
  write_dataset_h5(path, b);
  const Dataset c = load_dataset(parse_dataset_spec("file:" + path), 99);
  std::filesystem::remove(path);
  EXPECT_EQ(c.n, 20);
  EXPECT_EQ(c.x, b.x);
  EXPECT_EQ(c.y, b.y);
  EXPECT_THROW(load_dataset(parse_dataset_spec("file:/nonexistent/nnscape.h5"), 1), Error);
}

}  // namespace
}  // namespace nnscape
