// Pure part of the dataset room: shape and value checks, spec parsing and the generators
// (teacher, gp, linear). No HDF5 here (core library); "file" data are read in dataset_io.cpp.
// LAPACK's own prototypes: liblapacke (the C wrapper) is not linked, the Fortran LAPACK is.
#include <cblas.h>
#include <lapack.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numbers>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/init.hpp"
#include "nnscape/network.hpp"
#include "nnscape/random.hpp"

namespace nnscape {

namespace {

std::string format_value(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// A single NaN poisons the loss and every eigenvalue without any error, so it is refused here
// with its position rather than discovered as a NaN spectrum later.
void check_finite(const char* name, const std::vector<double>& a, int cols) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) {
      const std::size_t row = i / static_cast<std::size_t>(cols);
      const std::size_t col = i % static_cast<std::size_t>(cols);
      throw Error(std::string(name) + " has the non-finite value " + format_value(a[i]) +
                  " at row " + std::to_string(row) + ", column " + std::to_string(col) +
                  " (0-based); every value must be finite");
    }
  }
}

void check_size(const char* name, const std::vector<double>& a, int n, int cols) {
  const std::size_t expected = static_cast<std::size_t>(n) * static_cast<std::size_t>(cols);
  NNSCAPE_CHECK(a.size() == expected, std::string(name) + " holds " + std::to_string(a.size()) +
                                          " values, expected " + std::to_string(n) + " x " +
                                          std::to_string(cols) + " = " + std::to_string(expected));
}

}  // namespace

void validate(const Dataset& data) {
  NNSCAPE_CHECK(data.n >= 1, "data set has " + std::to_string(data.n) +
                                 " samples; at least 1 is needed");
  NNSCAPE_CHECK(data.d >= 1, "data set has input dimension " + std::to_string(data.d) +
                                 "; at least 1 is needed");
  NNSCAPE_CHECK(data.m >= 1, "data set has output dimension " + std::to_string(data.m) +
                                 "; at least 1 is needed");
  check_size("X", data.x, data.n, data.d);
  check_size("Y", data.y, data.n, data.m);
  check_finite("X", data.x, data.d);
  check_finite("Y", data.y, data.m);
}

// ---------------------------------------------------------------------------------------------
// Spec parsing. parse_dataset_spec checks every value (and the cross-key rules) at once, so a
// bad spec is refused before any trial runs; generate_dataset resolves the settings again, since
// a caller may have edited them in between.

namespace {

constexpr const char* kKinds = "teacher, gp, linear, file";
// The teacher's parameters: W, b ~ N(0, 4/fan_in). With inputs in [-1,1]^2 the hidden
// pre-activations then have a standard deviation of about 1.8, so tanh neurons work in their
// non-linear range. Measured over 500 teachers (d = 2, width 4): 9% of neurons nearly affine on
// the data (correlation of tanh(z) with z > 0.99; 41% with init=normal) and 14% nearly flat
// (std < 0.1; 9% with init=normal); the best affine fit explains 82% of the output variance on
// average (93% with init=normal).
constexpr const char* kTeacherInit = "normal:scale=2";

const std::vector<std::string>& allowed_keys(const std::string& kind) {
  static const std::vector<std::string> teacher = {"n", "d", "input", "width", "m",
                                                   "activation", "noise", "init"};
  static const std::vector<std::string> gp = {"n",        "d",     "input",    "m",
                                              "length",   "variance", "noise", "features",
                                              "exact_limit"};
  static const std::vector<std::string> linear = {"n", "d", "input", "m", "matrix"};
  static const std::vector<std::string> file = {"path"};
  if (kind == "teacher") return teacher;
  if (kind == "gp") return gp;
  if (kind == "linear") return linear;
  if (kind == "file") return file;
  throw Error("unknown data set kind '" + kind + "'; known kinds: " + kKinds);
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

enum class Inputs { uniform, gaussian };
enum class MatrixKind { anti_identity, identity, random, explicit_rows };

// A spec with every default filled in and every value checked.
struct Resolved {
  std::string kind;
  int n = 512, d = 2, m = 1;
  Inputs input = Inputs::uniform;
  double noise = 0.0;
  // teacher
  int width = 4;
  Activation activation = Activation::tanh;
  InitSpec init;
  // gp
  double length = 0.5, variance = 1.0;
  int features = 2048, exact_limit = 4000;
  // linear
  MatrixKind matrix = MatrixKind::anti_identity;
  std::vector<double> rows;  // explicit A, m × d row-major
};

class Reader {
 public:
  explicit Reader(const DatasetSpec& spec) : spec_(spec) {}

  bool has(const std::string& key) const { return spec_.settings.count(key) != 0; }

  [[noreturn]] void fail(const std::string& key, const std::string& why) const {
    throw Error("data set '" + spec_.text + "': " + key + "='" + spec_.settings.at(key) +
                "' " + why);
  }

  int integer(const std::string& key, int fallback, int min) const {
    if (!has(key)) return fallback;
    std::string_view s = trim(spec_.settings.at(key));
    if (s.size() > 1 && s.front() == '+') s.remove_prefix(1);
    long long v = 0;
    const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (err != std::errc() || end != s.data() + s.size() || s.empty())
      fail(key, "is not an integer");
    if (v < min) fail(key, "must be at least " + std::to_string(min));
    if (v > std::numeric_limits<int>::max()) fail(key, "is too large");
    return static_cast<int>(v);
  }

  // A finite number, > min (strict) or ≥ min.
  double number(const std::string& key, double fallback, double min, bool strict) const {
    if (!has(key)) return fallback;
    const double v = parse_number(spec_.settings.at(key));
    if (std::isnan(v)) fail(key, "is not a finite number");
    if (strict ? !(v > min) : !(v >= min))
      fail(key, std::string("must be ") + (strict ? "> " : ">= ") + format_value(min));
    return v;
  }

  // NaN for anything but one finite number (with an optional leading '+').
  static double parse_number(std::string_view s) {
    s = trim(s);
    if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
    double v = 0.0;
    const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || err != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
      return std::numeric_limits<double>::quiet_NaN();
    return v;
  }

  std::string text(const std::string& key) const { return std::string(trim(spec_.settings.at(key))); }

 private:
  const DatasetSpec& spec_;
};

Resolved resolve(const DatasetSpec& spec) {
  Resolved r;
  r.kind = spec.kind;
  const auto& allowed = allowed_keys(spec.kind);  // throws for an unknown kind
  for (const auto& [key, value] : spec.settings)
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw Error("unknown key '" + key + "' for data set kind '" + spec.kind + "' in '" +
                  spec.text + "'; allowed keys: " + join(allowed));
  const Reader in(spec);
  if (spec.kind == "file") {
    if (!in.has("path") || in.text("path").empty())
      throw Error("data set '" + spec.text + "': file needs a path (file:data.h5)");
    return r;
  }

  r.n = in.integer("n", 512, 1);
  r.d = in.integer("d", 2, 1);
  if (in.has("input")) {
    const std::string v = in.text("input");
    if (v == "uniform") r.input = Inputs::uniform;
    else if (v == "gaussian") r.input = Inputs::gaussian;
    else in.fail("input", "is not one of: uniform, gaussian");
  }

  if (spec.kind == "teacher") {
    r.m = in.integer("m", 1, 1);
    r.width = in.integer("width", 4, 1);
    r.noise = in.number("noise", 0.0, 0.0, false);
    if (in.has("activation")) {
      try {
        r.activation = parse_activation(in.text("activation"));
      } catch (const Error& e) {
        in.fail("activation", std::string("is not an activation: ") + e.what());
      }
    }
    try {
      r.init = parse_init(in.has("init") ? in.text("init") : kTeacherInit);
    } catch (const Error& e) {
      in.fail("init", std::string("is not an initialization: ") + e.what());
    }
  } else if (spec.kind == "gp") {
    r.m = in.integer("m", 1, 1);
    r.length = in.number("length", 0.5, 0.0, true);
    r.variance = in.number("variance", 1.0, 0.0, true);
    r.noise = in.number("noise", 0.0, 0.0, false);
    r.features = in.integer("features", 2048, 1);
    r.exact_limit = in.integer("exact_limit", 4000, 0);
  } else {  // linear
    const std::string matrix = in.has("matrix") ? in.text("matrix") : "anti_identity";
    if (matrix == "anti_identity") {
      r.matrix = MatrixKind::anti_identity;
    } else if (matrix == "identity") {
      r.matrix = MatrixKind::identity;
    } else if (matrix == "random") {
      r.matrix = MatrixKind::random;
    } else {
      // Explicit rows "a b; c d": rows separated by ';', entries by white space.
      if (matrix.find_first_of("0123456789") == std::string::npos)
        in.fail("matrix", "is not one of: anti_identity, identity, random, or rows such as "
                          "\"1 0; 0 1\"");
      r.matrix = MatrixKind::explicit_rows;
      int rows = 0, cols = -1;
      std::string_view rest = matrix;
      while (true) {
        const auto semi = rest.find(';');
        std::string_view row = trim(rest.substr(0, semi));
        int count = 0;
        while (!row.empty()) {
          const auto space = row.find_first_of(" \t");
          const double v = Reader::parse_number(row.substr(0, space));
          if (std::isnan(v))
            in.fail("matrix", "has the entry '" + std::string(row.substr(0, space)) +
                                  "', which is not a finite number");
          r.rows.push_back(v);
          ++count;
          row = space == std::string_view::npos ? std::string_view{} : trim(row.substr(space));
        }
        if (count == 0) in.fail("matrix", "has an empty row");
        if (cols >= 0 && count != cols)
          in.fail("matrix", "has rows of different lengths (" + std::to_string(cols) + " and " +
                                std::to_string(count) + ")");
        cols = count;
        ++rows;
        if (semi == std::string_view::npos) break;
        rest = rest.substr(semi + 1);
      }
      if (in.has("d") && r.d != cols)
        in.fail("d", "disagrees with the matrix, which has " + std::to_string(cols) + " columns");
      r.d = cols;
      r.m = rows;
    }
    if (r.matrix != MatrixKind::explicit_rows) r.m = r.d;
    if (in.has("m")) {
      const int m = in.integer("m", r.m, 1);
      if (r.matrix == MatrixKind::explicit_rows && m != r.m)
        in.fail("m", "disagrees with the matrix, which has " + std::to_string(r.m) + " rows");
      if ((r.matrix == MatrixKind::identity || r.matrix == MatrixKind::anti_identity) && m != r.d)
        in.fail("m", "must equal d = " + std::to_string(r.d) + " for matrix=" + matrix);
      r.m = m;
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------------
// Generators.

std::vector<double> draw_inputs(const Resolved& r, std::uint64_t seed) {
  std::vector<double> x(static_cast<std::size_t>(r.n) * r.d);
  RandomStream rng(seed, Purpose::inputs);
  if (r.input == Inputs::uniform)
    for (double& v : x) v = 2.0 * rng.uniform() - 1.0;
  else
    for (double& v : x) v = rng.normal();
  return x;
}

void add_noise(std::vector<double>& y, double noise, std::uint64_t seed) {
  if (noise == 0.0) return;
  RandomStream rng(seed, Purpose::noise);
  for (double& v : y) v += noise * rng.normal();
}

std::vector<double> teacher_targets(const Resolved& r, const std::vector<double>& x,
                                    std::uint64_t seed) {
  Architecture arch;
  arch.widths = {r.d, r.width, r.m};
  arch.activation = r.activation;
  const Network net(arch);
  const std::vector<double> theta = initialize(net, r.init, derive_seed(seed, Purpose::teacher));
  return net.predict(theta, x.data(), r.n);
}

// Exact GP prior sample: f = L z per output with L Lᵀ = K + jitter·I (Cholesky). The jitter
// starts at 1e-10·variance and grows ×100 whenever the factorization fails (duplicated or very
// close inputs make K singular to rounding), up to 1e-4·variance.
std::vector<double> gp_exact(const Resolved& r, const std::vector<double>& x, std::uint64_t seed) {
  const std::size_t n = static_cast<std::size_t>(r.n);
  const std::size_t d = static_cast<std::size_t>(r.d);
  const double inv2l2 = 1.0 / (2.0 * r.length * r.length);
  std::vector<double> chol(n * n);
  double jitter = 1e-10 * r.variance;
  for (;;) {
    // Lower triangle, column-major (the matrix is symmetric, so this is also the upper one
    // row-major); the strictly upper part is never read.
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = j; i < n; ++i) {
        double s = 0.0;
        for (std::size_t k = 0; k < d; ++k) {
          const double t = x[i * d + k] - x[j * d + k];
          s += t * t;
        }
        chol[j * n + i] = r.variance * std::exp(-s * inv2l2) + (i == j ? jitter : 0.0);
      }
    const char uplo = 'L';
    const lapack_int nn = static_cast<lapack_int>(n);
    lapack_int info = 0;
    LAPACK_dpotrf(&uplo, &nn, chol.data(), &nn, &info);
    NNSCAPE_CHECK(info >= 0, "dpotrf: illegal argument " + std::to_string(-info));
    if (info == 0) break;
    jitter *= 100.0;
    if (jitter > 1e-4 * r.variance * 1.0000001)
      throw Error("gp data set: the kernel matrix is not positive definite even with jitter " +
                  format_value(jitter / 100.0) + " (n = " + std::to_string(n) +
                  "); use fewer samples or a shorter length scale");
  }
  // Z: n × m column-major, output k's n normals in a row of the stream; F = L Z in place.
  std::vector<double> f(n * static_cast<std::size_t>(r.m));
  RandomStream rng(seed, Purpose::targets);
  for (double& v : f) v = rng.normal();
  cblas_dtrmm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, r.n, r.m, 1.0,
              chol.data(), r.n, f.data(), r.n);
  std::vector<double> y(f.size());
  for (std::size_t i = 0; i < n; ++i)
    for (int k = 0; k < r.m; ++k) y[i * r.m + k] = f[static_cast<std::size_t>(k) * n + i];
  return y;
}

// Random Fourier features (Rahimi & Recht 2007): f(x) = sqrt(2·variance/F) Σ_k c_k cos(ω_k·x +
// φ_k) with ω_k ~ N(0, I/length²), φ_k ~ U[0, 2π), c_k ~ N(0, 1); ω and φ are shared by the m
// outputs, c is drawn per output. Draw order from the targets stream: ω (F × d), φ, c (F × m).
std::vector<double> gp_fourier(const Resolved& r, const std::vector<double>& x,
                               std::uint64_t seed) {
  const int F = r.features;
  const std::size_t Fs = static_cast<std::size_t>(F);
  RandomStream rng(seed, Purpose::targets);
  std::vector<double> omega(Fs * r.d), phase(Fs), coef(Fs * r.m);
  for (double& v : omega) v = rng.normal() / r.length;
  for (double& v : phase) v = 2.0 * std::numbers::pi * rng.uniform();
  for (double& v : coef) v = rng.normal();
  const double amp = std::sqrt(2.0 * r.variance / F);

  std::vector<double> y(static_cast<std::size_t>(r.n) * r.m);
  constexpr int kChunk = 512;  // rows per block: bounds the n × F feature matrix
  std::vector<double> z(static_cast<std::size_t>(kChunk) * Fs);
  for (int i0 = 0; i0 < r.n; i0 += kChunk) {
    const int rows = std::min(kChunk, r.n - i0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, F, r.d, 1.0,
                x.data() + static_cast<std::size_t>(i0) * r.d, r.d, omega.data(), r.d, 0.0,
                z.data(), F);
    for (int i = 0; i < rows; ++i)
      for (std::size_t k = 0; k < Fs; ++k) {
        double& v = z[static_cast<std::size_t>(i) * Fs + k];
        v = std::cos(v + phase[k]);
      }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, r.m, F, amp, z.data(), F,
                coef.data(), r.m, 0.0, y.data() + static_cast<std::size_t>(i0) * r.m, r.m);
  }
  return y;
}

std::vector<double> linear_matrix(const Resolved& r, std::uint64_t seed) {
  const std::size_t d = static_cast<std::size_t>(r.d);
  std::vector<double> a(static_cast<std::size_t>(r.m) * d, 0.0);
  switch (r.matrix) {
    case MatrixKind::anti_identity:
      for (std::size_t i = 0; i < d; ++i) a[i * d + (d - 1 - i)] = 1.0;
      break;
    case MatrixKind::identity:
      for (std::size_t i = 0; i < d; ++i) a[i * d + i] = 1.0;
      break;
    case MatrixKind::random: {
      RandomStream rng(seed, Purpose::targets);
      const double sd = 1.0 / std::sqrt(static_cast<double>(r.d));
      for (double& v : a) v = sd * rng.normal();
      break;
    }
    case MatrixKind::explicit_rows:
      a = r.rows;
      break;
  }
  return a;
}

}  // namespace

DatasetSpec parse_dataset_spec(std::string_view text) {
  DatasetSpec spec;
  spec.text = std::string(text);
  const auto colon = text.find(':');
  spec.kind = std::string(trim(text.substr(0, colon)));
  if (spec.kind.empty())
    throw Error("data set '" + spec.text + "' has no kind; known kinds: " + kKinds);
  allowed_keys(spec.kind);  // refuses an unknown kind first, listing the known ones
  if (colon != std::string_view::npos) {
    const std::string_view rest = trim(text.substr(colon + 1));
    if (spec.kind == "file") {
      if (!rest.empty()) spec.settings["path"] = std::string(rest);
    } else {
      // Every item, including an empty one after a trailing comma (refused).
      std::string_view items = rest;
      while (!rest.empty()) {
        const auto comma = items.find(',');
        const std::string_view item = trim(items.substr(0, comma));
        const auto eq = item.find('=');
        if (item.empty() || eq == std::string_view::npos)
          throw Error("data set '" + spec.text + "': setting '" + std::string(item) +
                      "' is not of the form key=value");
        const std::string key(trim(item.substr(0, eq)));
        if (spec.settings.count(key))
          throw Error("data set '" + spec.text + "' gives " + key + " twice");
        spec.settings[key] = std::string(trim(item.substr(eq + 1)));
        if (comma == std::string_view::npos) break;
        items = items.substr(comma + 1);
      }
    }
  }
  resolve(spec);
  return spec;
}

Dataset generate_dataset(const DatasetSpec& spec, std::uint64_t seed) {
  const Resolved r = resolve(spec);
  if (r.kind == "file")
    throw Error("data set '" + spec.text + "' is read from a file (load_dataset), not generated");
  Dataset data;
  data.n = r.n;
  data.d = r.d;
  data.m = r.m;
  data.x = draw_inputs(r, seed);
  if (r.kind == "teacher") {
    data.y = teacher_targets(r, data.x, seed);
  } else if (r.kind == "gp") {
    data.y = r.n <= r.exact_limit ? gp_exact(r, data.x, seed) : gp_fourier(r, data.x, seed);
  } else {  // linear: Y = X Aᵀ, by plain sums so that permutation matrices are exact
    const std::vector<double> a = linear_matrix(r, seed);
    data.y.assign(static_cast<std::size_t>(r.n) * r.m, 0.0);
    for (std::size_t i = 0; i < static_cast<std::size_t>(r.n); ++i)
      for (std::size_t k = 0; k < static_cast<std::size_t>(r.m); ++k) {
        double s = 0.0;
        for (std::size_t c = 0; c < static_cast<std::size_t>(r.d); ++c)
          s += a[k * r.d + c] * data.x[i * r.d + c];
        data.y[i * r.m + k] = s;
      }
  }
  add_noise(data.y, r.noise, seed);
  validate(data);
  return data;
}

DatasetShape generated_dataset_shape(const DatasetSpec& spec) {
  const Resolved r = resolve(spec);
  if (r.kind == "file")
    throw Error("data set '" + spec.text + "' is read from a file (dataset_shape reads its header)");
  return {r.n, r.d, r.m};
}

std::vector<double> linear_target_matrix(const DatasetSpec& spec, std::uint64_t seed) {
  const Resolved r = resolve(spec);
  if (r.kind != "linear")
    throw Error("data set '" + spec.text + "' is of kind " + r.kind +
                "; only linear data sets have a target matrix");
  return linear_matrix(r, seed);
}

}  // namespace nnscape
