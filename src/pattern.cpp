// Pure part of the pattern room: pattern texts, the mask generators, mask checks and text mask
// files. No HDF5 here (core library); build_masks and HDF5 masks are in pattern_io.cpp.
#include "nnscape/pattern.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/random.hpp"

namespace nnscape {

namespace {

constexpr const char* kKinds =
    "dense, lower, upper, LU, UL, random, block_diagonal, banded, butterfly, file";

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

// The canonical spelling of a kind ("lu" → "LU"), or "" when unknown.
std::string canonical_kind(std::string_view kind) {
  std::string low(kind);
  std::transform(low.begin(), low.end(), low.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (low == "lu") return "LU";
  if (low == "ul") return "UL";
  for (const char* k : {"dense", "lower", "upper", "random", "block_diagonal", "banded",
                        "butterfly", "file"})
    if (low == k) return k;
  return "";
}

std::vector<std::string> allowed_keys(const std::string& kind) {
  if (kind == "random") return {"density", "seed"};
  if (kind == "block_diagonal") return {"blocks"};
  if (kind == "banded") return {"width"};
  return {};
}

std::string widths_string(const std::vector<int>& w) {
  std::string s;
  for (std::size_t i = 0; i < w.size(); ++i) s += (i ? "," : "") + std::to_string(w[i]);
  return "{" + s + "}";
}

std::string shape_string(int rows, int cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

const std::string* find_setting(const PatternSpec& spec, const std::string& key) {
  for (const auto& [k, v] : spec.settings)
    if (k == key) return &v;
  return nullptr;
}

long long int_setting(const PatternSpec& spec, const std::string& key, long long fallback,
                      long long lo) {
  const std::string* v = find_setting(spec, key);
  if (!v) return fallback;
  long long x = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size() || x < lo)
    throw Error("pattern '" + spec.text + "': " + key + "=" + *v + " is not an integer >= " +
                std::to_string(lo));
  return x;
}

double density_setting(const PatternSpec& spec) {
  const std::string* v = find_setting(spec, "density");
  if (!v) return 0.5;
  char* end = nullptr;
  const double x = std::strtod(v->c_str(), &end);
  if (v->empty() || end != v->c_str() + v->size() || !(x > 0.0 && x <= 1.0))
    throw Error("pattern '" + spec.text + "': density=" + *v + " is not a number in (0, 1]");
  return x;
}

std::uint64_t seed_setting(const PatternSpec& spec) {
  const std::string* v = find_setting(spec, "seed");
  if (!v) return 0;
  std::uint64_t x = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc() || end != v->data() + v->size())
    throw Error("pattern '" + spec.text + "': seed=" + *v + " is not a non-negative integer");
  return x;
}

// Checks every value once, so a study refuses a bad pattern before any trial runs.
void check_settings(const PatternSpec& spec) {
  if (spec.kind == "random") {
    density_setting(spec);
    seed_setting(spec);
  } else if (spec.kind == "block_diagonal") {
    int_setting(spec, "blocks", 2, 1);
  } else if (spec.kind == "banded") {
    int_setting(spec, "width", 1, 0);
  }
}

template <class Keep>
Mask make_mask(int rows, int cols, Keep keep) {
  Mask m{rows, cols, std::vector<std::uint8_t>(static_cast<std::size_t>(rows) * cols, 0)};
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m.bits[static_cast<std::size_t>(r) * cols + c] = keep(r, c);
  return m;
}

Mask triangular(int rows, int cols, bool lower) {
  return make_mask(rows, cols, [lower](int r, int c) { return lower ? c <= r : c >= r; });
}

}  // namespace

PatternSpec parse_pattern(std::string_view text) {
  PatternSpec spec;
  spec.text = std::string(trim(text));
  const auto colon = text.find(':');
  const std::string_view kind = trim(text.substr(0, colon));
  if (kind.empty()) throw Error("pattern '" + spec.text + "' has no kind; known kinds: " + kKinds);
  spec.kind = canonical_kind(kind);
  if (spec.kind.empty())
    throw Error("unknown pattern kind '" + std::string(kind) + "'; known kinds: " + kKinds);
  const std::string_view rest =
      colon == std::string_view::npos ? std::string_view{} : trim(text.substr(colon + 1));
  if (colon != std::string_view::npos && rest.empty())
    throw Error("pattern '" + spec.text + "': nothing after ':'");

  // Items separated by commas; an empty item (a trailing comma) is refused.
  std::vector<std::string> items;
  for (std::string_view left = rest; !rest.empty();) {
    const auto comma = left.find(',');
    const std::string_view item = trim(left.substr(0, comma));
    if (item.empty()) throw Error("pattern '" + spec.text + "': empty item between commas");
    items.emplace_back(item);
    if (comma == std::string_view::npos) break;
    left = left.substr(comma + 1);
  }

  if (spec.kind == "file") {
    if (items.empty())
      throw Error("pattern 'file' needs file names: file:w1.txt,w2.txt or file:masks.h5");
    spec.files = items;
    return spec;
  }
  const std::vector<std::string> keys = allowed_keys(spec.kind);
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos)
      throw Error("pattern '" + spec.text + "': '" + item + "' is not key=value");
    const std::string key(trim(std::string_view(item).substr(0, eq)));
    const std::string value(trim(std::string_view(item).substr(eq + 1)));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string known;
      for (const auto& k : keys) known += (known.empty() ? "" : ", ") + k;
      throw Error("pattern '" + spec.text + "': unknown key '" + key + "' for kind " + spec.kind +
                  (known.empty() ? " (it takes no settings)" : " (known: " + known + ")"));
    }
    if (find_setting(spec, key))
      throw Error("pattern '" + spec.text + "': key '" + key + "' given twice");
    spec.settings.emplace_back(key, value);
  }
  check_settings(spec);
  return spec;
}

std::vector<Mask> generate_masks(const PatternSpec& spec, const std::vector<int>& widths) {
  NNSCAPE_CHECK(widths.size() >= 2, "pattern '" + spec.text + "': widths " +
                                        widths_string(widths) + " need at least {d, m}");
  for (int w : widths)
    NNSCAPE_CHECK(w >= 1, "pattern '" + spec.text + "': widths " + widths_string(widths) +
                              " must all be >= 1");
  const int layers = static_cast<int>(widths.size()) - 1;
  const std::string where = "pattern '" + spec.text + "' on widths " + widths_string(widths);
  std::vector<Mask> masks;
  if (spec.kind == "dense") return masks;
  if (spec.kind == "file")
    throw Error(where + ": file masks are read by build_masks (nnscape_lib), not generated");

  if (spec.kind == "LU" || spec.kind == "UL") {
    if (layers != 2)
      throw Error(where + ": " + spec.kind + " is a one-hidden-layer pattern (widths {d,n,m}); "
                  "use lower or upper per layer for deeper networks");
    const bool lu = spec.kind == "LU";
    masks.push_back(triangular(widths[1], widths[0], lu));
    masks.push_back(triangular(widths[2], widths[1], !lu));
    return masks;
  }
  if (spec.kind == "butterfly") {
    const int n = widths[0];
    for (int w : widths)
      if (w != n || (n & (n - 1)) != 0)
        throw Error(where + ": butterfly needs every width equal to one power of two");
    int k = 0;
    while ((1 << k) < n) ++k;
    for (int l = 0; l < layers; ++l) {
      const int stride = k == 0 ? 0 : 1 << (l % k);
      masks.push_back(make_mask(n, n, [stride](int r, int c) { return r == c || r == (c ^ stride); }));
    }
    return masks;
  }
  if (spec.kind == "block_diagonal") {
    const int blocks = static_cast<int>(int_setting(spec, "blocks", 2, 1));
    for (int w : widths)
      if (w < blocks)
        throw Error(where + ": blocks=" + std::to_string(blocks) +
                    " needs every width >= the number of blocks (a block would be empty)");
    for (int l = 0; l < layers; ++l) {
      const long long rows = widths[l + 1], cols = widths[l];
      masks.push_back(make_mask(widths[l + 1], widths[l], [=](int r, int c) {
        return r * blocks / rows == c * blocks / cols;
      }));
    }
    return masks;
  }
  for (int l = 0; l < layers; ++l) {
    const int rows = widths[l + 1], cols = widths[l];
    if (spec.kind == "lower" || spec.kind == "upper") {
      masks.push_back(triangular(rows, cols, spec.kind == "lower"));
    } else if (spec.kind == "banded") {
      const long long width = int_setting(spec, "width", 1, 0);
      masks.push_back(make_mask(rows, cols, [width](int r, int c) {
        return std::llabs(static_cast<long long>(r) - c) <= width;
      }));
    } else if (spec.kind == "random") {
      const double density = density_setting(spec);
      RandomStream stream(seed_setting(spec), Purpose::pattern, static_cast<std::uint64_t>(l));
      Mask m{rows, cols, std::vector<std::uint8_t>(static_cast<std::size_t>(rows) * cols, 0)};
      for (auto& b : m.bits) b = stream.uniform() < density;
      masks.push_back(std::move(m));
    } else {
      throw Error(where + ": unknown pattern kind '" + spec.kind + "'; known kinds: " + kKinds);
    }
  }
  return masks;
}

void check_masks(const std::vector<Mask>& masks, const std::vector<int>& widths,
                 const std::string& source) {
  const std::size_t layers = widths.size() < 2 ? 0 : widths.size() - 1;
  if (masks.size() != layers)
    throw Error(source + ": " + std::to_string(masks.size()) + " mask(s) for a network with " +
                std::to_string(layers) + " weight matrices (widths " + widths_string(widths) +
                "); give one mask per weight matrix");
  for (std::size_t l = 0; l < layers; ++l) {
    const Mask& m = masks[l];
    if (m.rows != widths[l + 1] || m.cols != widths[l])
      throw Error(source + ": mask " + std::to_string(l + 1) + " is " +
                  shape_string(m.rows, m.cols) + ", layer " + std::to_string(l + 1) +
                  " of widths " + widths_string(widths) + " needs " +
                  shape_string(widths[l + 1], widths[l]) + " (rows = outputs, cols = inputs)");
    if (m.bits.size() != static_cast<std::size_t>(m.rows) * m.cols)
      throw Error(source + ": mask " + std::to_string(l + 1) + " holds " +
                  std::to_string(m.bits.size()) + " entries for a " + shape_string(m.rows, m.cols) +
                  " shape");
    for (std::size_t i = 0; i < m.bits.size(); ++i)
      if (m.bits[i] > 1)
        throw Error(source + ": mask " + std::to_string(l + 1) + " has the entry " +
                    std::to_string(m.bits[i]) + " at row " + std::to_string(i / m.cols) +
                    ", column " + std::to_string(i % m.cols) + "; entries must be 0 or 1");
  }
}

std::vector<Mask> explicit_masks(std::vector<Mask> masks, const std::vector<int>& widths) {
  if (masks.empty())
    for (std::size_t l = 0; l + 1 < widths.size(); ++l)
      masks.push_back(Mask::dense(widths[l + 1], widths[l]));
  return masks;
}

std::vector<int> mask_widths(const std::vector<Mask>& masks) {
  NNSCAPE_CHECK(!masks.empty(), "mask_widths: no masks");
  std::vector<int> widths{masks.front().cols};
  for (std::size_t l = 0; l < masks.size(); ++l) {
    if (masks[l].cols != widths.back())
      throw Error("mask " + std::to_string(l + 1) + " has " + std::to_string(masks[l].cols) +
                  " columns, but mask " + std::to_string(l) + " has " +
                  std::to_string(widths.back()) + " rows: consecutive masks must chain");
    NNSCAPE_CHECK(masks[l].rows >= 1 && masks[l].cols >= 1,
                  "mask " + std::to_string(l + 1) + " is empty");
    widths.push_back(masks[l].rows);
  }
  return widths;
}

std::vector<std::string> disconnected_units(const std::vector<Mask>& masks,
                                            const std::vector<int>& widths) {
  std::vector<std::string> out;
  if (masks.empty()) return out;  // dense
  check_masks(masks, widths, "disconnected_units");
  const int layers = static_cast<int>(masks.size());
  auto row_empty = [](const Mask& m, int r) {
    for (int c = 0; c < m.cols; ++c)
      if (m.at(r, c)) return false;
    return true;
  };
  auto col_empty = [](const Mask& m, int c) {
    for (int r = 0; r < m.rows; ++r)
      if (m.at(r, c)) return false;
    return true;
  };
  for (int j = 0; j < widths[0]; ++j)
    if (col_empty(masks[0], j)) out.push_back("input " + std::to_string(j) + " feeds no unit");
  for (int l = 1; l < layers; ++l) {
    for (int k = 0; k < widths[l]; ++k) {
      const bool no_in = row_empty(masks[l - 1], k), no_out = col_empty(masks[l], k);
      if (!no_in && !no_out) continue;
      out.push_back("hidden unit " + std::to_string(k) + " of layer " + std::to_string(l) +
                    (no_in && no_out ? " has no inputs and no outputs"
                     : no_in         ? " has no inputs (it only passes its bias on)"
                                     : " has no outputs (it feeds nothing)"));
    }
  }
  for (int i = 0; i < widths.back(); ++i)
    if (row_empty(masks.back(), i))
      out.push_back("output " + std::to_string(i) + " has no inputs (only its bias)");
  return out;
}

Mask read_mask_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read mask file '" + path + "': no such file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read mask file '" + path + "'");
  Mask mask;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream tokens(line);
    std::string tok;
    int cols = 0;
    while (tokens >> tok) {
      if (tok.front() == '#') break;
      if (tok != "0" && tok != "1")
        throw Error("mask file '" + path + "' line " + std::to_string(lineno) + ": entry '" + tok +
                    "' is not 0 or 1");
      mask.bits.push_back(tok == "1" ? 1 : 0);
      ++cols;
    }
    if (cols == 0) continue;
    if (mask.rows > 0 && cols != mask.cols)
      throw Error("mask file '" + path + "' line " + std::to_string(lineno) + " has " +
                  std::to_string(cols) + " entries, earlier rows have " + std::to_string(mask.cols));
    mask.cols = cols;
    ++mask.rows;
  }
  if (mask.rows == 0) throw Error("mask file '" + path + "' has no rows");
  return mask;
}

}  // namespace nnscape
