// Study specs: YAML text → validated StudySpec. Every check a study can fail runs here, before
// any trial: a mistake found after hours of trials (a pattern that does not fit the third
// architecture, a typo in an optimizer option key) costs those hours. Messages name the file,
// the YAML line and the problem, since a study file is long and edited by hand.
//
// Light on purpose: no PETSc and no data beyond file headers, so `nnscape plan` and every rank
// of `nnscape run` can parse a spec in milliseconds.
#include "nnscape/spec.hpp"

#include <xxhash.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <tuple>

#include "nnscape/error.hpp"
#include "nnscape/network.hpp"
#include "nnscape/optimize.hpp"

namespace nnscape {

namespace {

constexpr std::array<const char*, kNumAxes> kAxisKeys = {
    "architectures", "activations", "datasets", "sparsity",
    "optimizers",    "inits",       "weight_decay", "replicates"};

// Bounds that keep the grid's arithmetic and the materialised axes sane, not physics limits.
constexpr long long kMaxReplicates = 1'000'000;
constexpr long long kMaxWidth = 1'000'000;
// Ids are int64; beyond this a study cannot be numbered (and could never run anyway).
constexpr std::int64_t kMaxTrials = std::int64_t{1} << 62;

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string s;
  for (const auto& e : items) s += (s.empty() ? "" : sep) + e;
  return s;
}

// Shortest text that reads back to the same double: 0.001 rather than 0.0010000000000000000208.
// -0 becomes 0 so that equal values give equal texts.
std::string format_double(double v) {
  if (v == 0.0) v = 0.0;
  char buf[64];
  const auto [end, err] = std::to_chars(buf, buf + sizeof buf, v);
  return err == std::errc() ? std::string(buf, end) : std::string("?");
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

std::optional<long long> parse_integer(std::string_view s) {
  s = trim(s);
  if (s.size() > 1 && s.front() == '+') s.remove_prefix(1);
  long long v = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view s) {
  s = trim(s);
  if (s.size() > 1 && s.front() == '+') s.remove_prefix(1);
  std::uint64_t v = 0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Any double from_chars accepts, NaN and infinities included (the caller refuses them with a
// message of its own); YAML's .nan and .inf are read as such too.
std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  if (s == ".inf" || s == ".Inf" || s == "+.inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  if (s.size() > 1 && s.front() == '+' && s[1] != '-') s.remove_prefix(1);
  double v = 0.0;
  const auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || err != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// PETSc prefixes and option keys: letters, digits and '_', starting with a letter. Anything
// else either breaks the option name (a blank, '-') or cannot be typed on a command line.
bool is_identifier(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::optional<Axis> axis_from_key(std::string_view key) {
  for (int a = 0; a < kNumAxes; ++a)
    if (key == kAxisKeys[a]) return static_cast<Axis>(a);
  if (key == "seeds") return Axis::replicates;
  return std::nullopt;
}

std::string axis_list() {
  std::vector<std::string> names(kAxisKeys.begin(), kAxisKeys.end());
  names.push_back("seeds");
  return join(names);
}

// Canonical texts of single values (canonical_value documents them).
std::string canonical_architecture(const std::vector<int>& widths) {
  // Appends one piece at a time: `(i ? "," : "") + std::to_string(w)` trips GCC 12's
  // -Wrestrict false positive (see trial.cpp).
  std::string s = "[";
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(widths[i]);
  }
  s += ']';
  return s;
}

std::string canonical_dataset(const DatasetSpec& d) {
  // settings is a std::map: sorted by key, so "n=512,d=2" and "d=2, n=512" agree.
  std::string s = d.kind;
  char sep = ':';
  for (const auto& [k, v] : d.settings) {
    s += sep + (d.kind == "file" && k == "path" ? v : k + "=" + v);
    sep = ',';
  }
  return s;
}

std::string canonical_pattern(const PatternSpec& p) {
  std::vector<std::pair<std::string, std::string>> settings = p.settings;
  std::sort(settings.begin(), settings.end());
  std::string s = p.kind;
  char sep = ':';
  for (const auto& [k, v] : settings) {
    s += sep + k + "=" + v;
    sep = ',';
  }
  for (const auto& f : p.files) {  // file masks keep their order: one per weight matrix
    s += sep + f;
    sep = ',';
  }
  return s;
}

const char* scheme_name(InitScheme s) {
  switch (s) {
    case InitScheme::pytorch: return "pytorch";
    case InitScheme::normal: return "normal";
    case InitScheme::small: return "small";
  }
  return "?";
}

std::string canonical_init(const InitSpec& i) {
  return std::string(scheme_name(i.scheme)) + ":scale=" + format_double(i.scale);
}

std::string canonical_optimizer(const OptimizerEntry& o) {
  // Option keys are unique (checked), so their order does not change what PETSc sees.
  auto options = o.options;
  std::sort(options.begin(), options.end());
  std::string s = o.name + "|" + o.tao_type;
  char sep = '|';
  for (const auto& [k, v] : options) {
    s += sep + k + "=" + v;
    sep = ',';
  }
  return s;
}

std::vector<int> parse_width_list(std::string_view text) {
  // "[8,8]", "8,8", "[8]", "8": the label forms an exclude rule may quote.
  text = trim(text);
  if (!text.empty() && text.front() == '[' && text.back() == ']')
    text = trim(text.substr(1, text.size() - 2));
  std::vector<int> widths;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const auto w = parse_integer(text.substr(0, comma));
    if (!w || *w < 1 || *w > kMaxWidth) return {};
    widths.push_back(static_cast<int>(*w));
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return widths;
}

// One YAML mapping entry, with the nodes kept for their line numbers.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw Error(source_ + " line " + std::to_string(line) + ": " + message);
  }
  // 1-based line of a node; `fallback` for a node without a position (a missing value).
  static int line(const YAML::Node& node, int fallback = 1) {
    if (!node.IsDefined()) return fallback;
    const YAML::Mark mark = node.Mark();
    return mark.line >= 0 ? mark.line + 1 : fallback;
  }
  [[noreturn]] void fail(const YAML::Node& node, const std::string& message,
                         int fallback = 1) const {
    fail(line(node, fallback), message);
  }

  // A mapping's entries in document order; refuses a non-mapping, a non-scalar or repeated key
  // (yaml-cpp keeps both copies of a repeated key silently) and keys not in `known`.
  std::vector<Entry> mapping(const YAML::Node& node, const std::string& what,
                             const std::vector<std::string>& known, int fallback) const {
    if (!node.IsMap()) fail(node, what + " must be a mapping (key: value)" + found(node), fallback);
    std::vector<Entry> entries;
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node k = it->first;
      if (!k.IsScalar()) fail(k, what + ": keys must be plain names", line(node, fallback));
      const std::string key = k.Scalar();
      const int at = line(k, line(node, fallback));
      if (auto s = seen.find(key); s != seen.end())
        fail(at, what + ": key '" + key + "' given twice (first at line " +
                     std::to_string(s->second) + ")");
      seen[key] = at;
      if (std::find(known.begin(), known.end(), key) == known.end())
        fail(at, what + ": unknown key '" + key + "'; known keys: " + join(known));
      entries.push_back({key, k, it->second});
    }
    return entries;
  }

  static const Entry* find(const std::vector<Entry>& entries, const std::string& key) {
    for (const auto& e : entries)
      if (e.key == key) return &e;
    return nullptr;
  }

  void require_sequence(const YAML::Node& node, const std::string& what, int fallback) const {
    if (!node.IsSequence()) fail(node, what + " must be a list" + found(node), fallback);
  }
  void require_nonempty_sequence(const YAML::Node& node, const std::string& what,
                                 int fallback) const {
    require_sequence(node, what, fallback);
    if (node.size() == 0) fail(node, what + " is empty; give at least one value", fallback);
  }

  std::string scalar(const YAML::Node& node, const std::string& what, int fallback) const {
    if (!node.IsScalar()) fail(node, what + " must be a single value" + found(node), fallback);
    return node.Scalar();
  }

  long long integer(const YAML::Node& node, const std::string& what, long long min,
                    long long max, int fallback) const {
    const std::string s = scalar(node, what, fallback);
    const auto v = parse_integer(s);
    if (!v) fail(node, what + ": '" + s + "' is not an integer", fallback);
    if (*v < min || *v > max)
      fail(node, what + " must lie in [" + std::to_string(min) + ", " + std::to_string(max) +
                     "], got " + s, fallback);
    return *v;
  }

  std::uint64_t unsigned_integer(const YAML::Node& node, const std::string& what,
                                 int fallback) const {
    const std::string s = scalar(node, what, fallback);
    const auto v = parse_unsigned(s);
    if (!v) fail(node, what + ": '" + s + "' is not an unsigned 64-bit integer", fallback);
    return *v;
  }

  double number(const YAML::Node& node, const std::string& what, int fallback) const {
    const std::string s = scalar(node, what, fallback);
    const auto v = parse_double(s);
    if (!v) fail(node, what + ": '" + s + "' is not a number", fallback);
    if (!std::isfinite(*v)) fail(node, what + " must be finite, got " + s, fallback);
    return *v;
  }

  bool boolean(const YAML::Node& node, const std::string& what, int fallback) const {
    const std::string s = lower(scalar(node, what, fallback));
    if (s == "true") return true;
    if (s == "false") return false;
    fail(node, what + " must be true or false, got '" + node.Scalar() + "'", fallback);
  }

 private:
  static std::string found(const YAML::Node& node) {
    if (!node.IsDefined() || node.IsNull()) return ", found nothing";
    if (node.IsScalar()) return ", found '" + node.Scalar() + "'";
    if (node.IsSequence()) return ", found a list";
    if (node.IsMap()) return ", found a mapping";
    return "";
  }

  std::string source_;
};

// Lines of everything a later check may blame.
struct Lines {
  int root = 1;
  int axes = 1;
  std::array<int, kNumAxes> axis{};                // the axis key (or `axes` for defaults)
  std::array<std::vector<int>, kNumAxes> value{};  // each value
  int zip = 1;
  int exclude = 1;
  std::vector<int> rules;  // each exclude rule
};

// ---------------------------------------------------------------------------------------------
// Axes.

void parse_architectures(const Parser& p, const YAML::Node& node, StudySpec& s, Lines& lines) {
  const std::string what = "axes.architectures";
  p.require_nonempty_sequence(node, what, lines.axis[0]);
  for (const YAML::Node& item : node) {
    const int at = Parser::line(item, lines.axis[0]);
    if (item.IsScalar())
      p.fail(at, what + ": each entry is a list of hidden widths; '" + item.Scalar() +
                     "' is a single number (write [[4], [8]] for two architectures, [[4, 8]] "
                     "for one with two hidden layers)");
    if (!item.IsSequence()) p.fail(at, what + ": each entry must be a list of hidden widths");
    if (item.size() == 0)
      p.fail(at, what + ": an architecture needs at least one hidden layer, got []");
    std::vector<int> widths;
    for (const YAML::Node& w : item)
      widths.push_back(static_cast<int>(p.integer(w, what + " width", 1, kMaxWidth, at)));
    s.architectures.push_back(std::move(widths));
    lines.value[0].push_back(at);
  }
}

// A list of texts, each turned into a value by `convert` (which throws nnscape::Error naming
// the problem; the line is added here).
template <class T, class F>
void parse_text_axis(const Parser& p, const YAML::Node& node, Axis axis, std::vector<T>& out,
                     Lines& lines, F convert) {
  const int ax = static_cast<int>(axis);
  const std::string what = std::string("axes.") + kAxisKeys[ax];
  p.require_nonempty_sequence(node, what, lines.axis[ax]);
  for (const YAML::Node& item : node) {
    const int at = Parser::line(item, lines.axis[ax]);
    const std::string text = p.scalar(item, what + " entry", at);
    try {
      out.push_back(convert(text));
    } catch (const Error& e) {
      p.fail(at, what + ": " + e.what());
    }
    lines.value[ax].push_back(at);
  }
}

std::vector<std::pair<std::string, std::string>> parse_options(const Parser& p,
                                                               const YAML::Node& node,
                                                               const std::string& what,
                                                               int fallback) {
  std::vector<std::pair<std::string, std::string>> options;
  std::map<std::string, int> seen;
  auto add = [&](const std::string& key, const std::string& value, int at) {
    if (!key.empty() && key.front() == '-')
      p.fail(at, what + ": write option '" + key + "' without the leading '-' (the prefix -opt_" +
                     "<name>_ is added)");
    if (!is_identifier(key))
      p.fail(at, what + ": '" + key + "' is not a PETSc option name (letters, digits, '_')");
    if (lower(key) == "tao_type")
      p.fail(at, what + ": give the TAO type as the optimizer's type, not as an option");
    // PETSc option names ignore case: tao_max_it and TAO_MAX_IT are one option.
    if (auto s = seen.find(lower(key)); s != seen.end())
      p.fail(at, what + ": option '" + key + "' given twice (first at line " +
                     std::to_string(s->second) + ")");
    seen[lower(key)] = at;
    options.emplace_back(key, value);
  };
  auto value_text = [&](const YAML::Node& v, const std::string& key, int at) -> std::string {
    if (!v.IsDefined() || v.IsNull()) return "";  // a flag: tao_monitor:
    if (!v.IsScalar()) p.fail(v, what + ": the value of '" + key + "' must be a single value", at);
    return v.Scalar();
  };
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const int at = Parser::line(it->first, fallback);
      if (!it->first.IsScalar()) p.fail(at, what + ": option names must be plain names");
      const std::string key = it->first.Scalar();
      add(key, value_text(it->second, key, at), at);
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) {
      const int at = Parser::line(item, fallback);
      if (item.IsScalar()) {  // "tao_max_it 5000" or "tao_monitor"
        const std::string_view t = trim(item.Scalar());
        const auto blank = t.find_first_of(" \t");
        const std::string key(t.substr(0, blank));
        const std::string value(blank == std::string_view::npos ? "" : trim(t.substr(blank)));
        add(key, value, at);
      } else if (item.IsMap() && item.size() == 1) {
        const auto it = item.begin();
        const std::string key = p.scalar(it->first, what + " option name", at);
        add(key, value_text(it->second, key, at), at);
      } else {
        p.fail(at, what + ": each option is \"key value\" or {key: value}");
      }
    }
  } else if (!node.IsNull()) {
    p.fail(node, what + " must be a mapping {key: value} or a list of \"key value\"", fallback);
  }
  return options;
}

void parse_optimizers(const Parser& p, const YAML::Node& node, StudySpec& s, Lines& lines) {
  const int ax = static_cast<int>(Axis::optimizers);
  const std::string what = "axes.optimizers";
  p.require_nonempty_sequence(node, what, lines.axis[ax]);
  const auto& types = tao_type_names();
  std::map<std::string, int> names;  // lower-case name → line
  for (const YAML::Node& item : node) {
    const int at = Parser::line(item, lines.axis[ax]);
    OptimizerEntry opt;
    int type_line = at;
    int name_line = at;
    if (item.IsScalar()) {
      opt.tao_type = item.Scalar();
    } else {
      const auto entries = p.mapping(item, what + " entry", {"name", "type", "options"}, at);
      const Entry* type = Parser::find(entries, "type");
      if (!type) p.fail(at, what + ": entry without a type (e.g. {name: newton, type: ntr})");
      opt.tao_type = p.scalar(type->value, what + ".type", Parser::line(type->key_node));
      type_line = Parser::line(type->value, Parser::line(type->key_node));
      if (const Entry* name = Parser::find(entries, "name")) {
        opt.name = p.scalar(name->value, what + ".name", Parser::line(name->key_node));
        name_line = Parser::line(name->value, Parser::line(name->key_node));
      }
      if (const Entry* options = Parser::find(entries, "options"))
        opt.options = parse_options(p, options->value, what + ".options",
                                    Parser::line(options->key_node));
    }
    if (std::find(types.begin(), types.end(), opt.tao_type) == types.end())
      p.fail(type_line, what + ": unknown TAO type '" + opt.tao_type + "'; known: " + join(types));
    if (opt.name.empty()) opt.name = opt.tao_type;
    if (!is_identifier(opt.name))
      p.fail(name_line, what + ": name '" + opt.name + "' cannot form the options prefix opt_" +
                            opt.name + "_ (use letters, digits and '_', starting with a letter)");
    if (auto n = names.find(lower(opt.name)); n != names.end())
      p.fail(name_line, what + ": optimizer name '" + opt.name + "' used twice (first at line " +
                            std::to_string(n->second) +
                            "; PETSc options ignore case, so names must differ beyond case)");
    names[lower(opt.name)] = name_line;
    s.optimizers.push_back(std::move(opt));
    lines.value[ax].push_back(at);
  }
}

void parse_axes(const Parser& p, const Entry& axes_entry, StudySpec& s, Lines& lines) {
  lines.axes = Parser::line(axes_entry.key_node);
  std::vector<std::string> known(kAxisKeys.begin(), kAxisKeys.end());
  known.push_back("seeds");
  const auto entries = p.mapping(axes_entry.value, "axes", known, lines.axes);
  lines.axis.fill(lines.axes);
  for (const auto& e : entries) lines.axis[static_cast<int>(*axis_from_key(e.key))] =
      Parser::line(e.key_node, lines.axes);
  const Entry* replicates = Parser::find(entries, "replicates");
  const Entry* seeds = Parser::find(entries, "seeds");
  if (replicates && seeds)
    p.fail(Parser::line(seeds->key_node), "axes: give either replicates (a count) or seeds (a "
                                          "list), not both (replicates at line " +
                                              std::to_string(Parser::line(replicates->key_node)) +
                                              ")");
  for (const char* required : {"architectures", "activations", "datasets"})
    if (!Parser::find(entries, required))
      p.fail(lines.axes, std::string("axes: ") + required + " is required");

  for (const auto& e : entries) {
    const int key_line = Parser::line(e.key_node);
    if (e.key == "architectures") {
      parse_architectures(p, e.value, s, lines);
    } else if (e.key == "activations") {
      parse_text_axis(p, e.value, Axis::activations, s.activations, lines,
                      [](const std::string& t) { return parse_activation(t); });
    } else if (e.key == "datasets") {
      parse_text_axis(p, e.value, Axis::datasets, s.datasets, lines,
                      [](const std::string& t) { return parse_dataset_spec(t); });
    } else if (e.key == "sparsity") {
      parse_text_axis(p, e.value, Axis::sparsity, s.sparsity, lines,
                      [](const std::string& t) { return parse_pattern(t); });
    } else if (e.key == "optimizers") {
      parse_optimizers(p, e.value, s, lines);
    } else if (e.key == "inits") {
      parse_text_axis(p, e.value, Axis::inits, s.inits, lines, [](const std::string& t) {
        parse_init(t);  // refuses a bad text; the axis keeps the text as given
        return t;
      });
    } else if (e.key == "weight_decay") {
      const int ax = static_cast<int>(Axis::weight_decay);
      p.require_nonempty_sequence(e.value, "axes.weight_decay", key_line);
      for (const YAML::Node& item : e.value) {
        const int at = Parser::line(item, key_line);
        const double v = p.number(item, "axes.weight_decay", at);
        if (v < 0.0) p.fail(at, "axes.weight_decay must be >= 0, got " + item.Scalar());
        s.weight_decay.push_back(v == 0.0 ? 0.0 : v);
        lines.value[ax].push_back(at);
      }
    } else if (e.key == "replicates") {
      const long long r = p.integer(e.value, "axes.replicates", 1, kMaxReplicates, key_line);
      for (long long i = 0; i < r; ++i) {
        s.replicates.push_back(static_cast<std::uint64_t>(i));
        lines.value[static_cast<int>(Axis::replicates)].push_back(Parser::line(e.value, key_line));
      }
    } else if (e.key == "seeds") {
      p.require_nonempty_sequence(e.value, "axes.seeds", key_line);
      if (e.value.size() > static_cast<std::size_t>(kMaxReplicates))
        p.fail(key_line, "axes.seeds: more than " + std::to_string(kMaxReplicates) + " seeds");
      for (const YAML::Node& item : e.value) {
        const int at = Parser::line(item, key_line);
        s.replicates.push_back(p.unsigned_integer(item, "axes.seeds", at));
        lines.value[static_cast<int>(Axis::replicates)].push_back(at);
      }
    }
  }
  // Defaults: one value that changes nothing about a trial.
  auto fill_default = [&](Axis axis, auto& values, auto value) {
    if (!values.empty()) return;
    values.push_back(value);
    lines.value[static_cast<int>(axis)].push_back(lines.axes);
  };
  fill_default(Axis::sparsity, s.sparsity, parse_pattern("dense"));
  fill_default(Axis::optimizers, s.optimizers,
               OptimizerEntry{kDefaultOptimizer, kDefaultOptimizer, {}});
  fill_default(Axis::inits, s.inits, std::string("pytorch"));
  fill_default(Axis::weight_decay, s.weight_decay, 0.0);
  fill_default(Axis::replicates, s.replicates, std::uint64_t{0});
}

// Equal values in one axis would run the same trials twice under different ids.
void check_duplicates(const Parser& p, const StudySpec& s, const Lines& lines) {
  for (int a = 0; a < kNumAxes; ++a) {
    const Axis axis = static_cast<Axis>(a);
    if (axis == Axis::optimizers) continue;  // by name, in parse_optimizers
    std::map<std::string, int> seen;
    for (int i = 0; i < s.axis_size(axis); ++i) {
      const std::string c = s.canonical_value(axis, i);
      if (auto it = seen.find(c); it != seen.end())
        p.fail(lines.value[a][i], std::string("axes.") +
                                      (axis == Axis::replicates ? "seeds" : kAxisKeys[a]) +
                                      ": duplicate value '" + s.value_label(axis, i) +
                                      "' (same as the entry at line " +
                                      std::to_string(lines.value[a][it->second]) + ")");
      seen[c] = i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// zip, exclude, settings.

void parse_zip(const Parser& p, const Entry& e, StudySpec& s, Lines& lines) {
  lines.zip = Parser::line(e.key_node);
  if (e.value.IsNull()) return;
  p.require_sequence(e.value, "zip", lines.zip);
  std::map<Axis, std::pair<std::size_t, int>> used;  // axis → (group, its line)
  for (const YAML::Node& group : e.value) {
    const std::size_t group_index = s.zip.size();
    const int at = Parser::line(group, lines.zip);
    if (!group.IsSequence())
      p.fail(at, "zip: each group is a list of axis names, e.g. [datasets, architectures]");
    if (group.size() < 2) p.fail(at, "zip: a group needs at least two axes");
    std::vector<Axis> axes;
    for (const YAML::Node& name : group) {
      const std::string key = p.scalar(name, "zip axis", at);
      const auto axis = axis_from_key(key);
      if (!axis) p.fail(at, "zip: '" + key + "' is not an axis; axes: " + axis_list());
      if (*axis == Axis::replicates)
        p.fail(at, "zip: replicates cannot be zipped (each replicate repeats every other "
                   "combination; they are the fastest digit of the trial id)");
      if (auto u = used.find(*axis); u != used.end())
        p.fail(at, std::string("zip: axis ") + kAxisKeys[static_cast<int>(*axis)] +
                       (u->second.first == group_index
                            ? " appears twice in this group"
                            : " is already in another group (line " +
                                  std::to_string(u->second.second) +
                                  "); an axis can advance with one group only"));
      used[*axis] = {group_index, at};
      axes.push_back(*axis);
    }
    const int n0 = s.axis_size(axes.front());
    for (Axis a : axes)
      if (s.axis_size(a) != n0)
        p.fail(at, std::string("zip: axes of one group need equal lengths, but ") +
                       kAxisKeys[static_cast<int>(axes.front())] + " has " + std::to_string(n0) +
                       " values and " + kAxisKeys[static_cast<int>(a)] + " has " +
                       std::to_string(s.axis_size(a)));
    s.zip.push_back(std::move(axes));
  }
}

// The index of the value an exclude rule names, or -1.
int find_value(const StudySpec& s, Axis axis, const std::string& canonical) {
  for (int i = 0; i < s.axis_size(axis); ++i)
    if (s.canonical_value(axis, i) == canonical) return i;
  return -1;
}

// Canonical text of one value written in an exclude rule; throws nnscape::Error for a text
// that is no value of this axis's kind.
std::string exclude_item_canonical(const Parser& p, const StudySpec& s, Axis axis,
                                   const YAML::Node& item, int at) {
  if (axis == Axis::architectures) {
    std::vector<int> widths;
    if (item.IsSequence()) {
      for (const YAML::Node& w : item)
        widths.push_back(static_cast<int>(p.integer(w, "exclude architecture width", 1,
                                                    kMaxWidth, at)));
    } else {
      const std::string t = p.scalar(item, "exclude architectures value", at);
      widths = parse_width_list(t);
      if (widths.empty()) throw Error("'" + t + "' is not an architecture such as [8, 8]");
    }
    return canonical_architecture(widths);
  }
  const std::string t = p.scalar(item, std::string("exclude ") + kAxisKeys[int(axis)] + " value",
                                 at);
  switch (axis) {
    case Axis::activations: return std::string(to_string(parse_activation(t)));
    case Axis::datasets: return canonical_dataset(parse_dataset_spec(t));
    case Axis::sparsity: return canonical_pattern(parse_pattern(t));
    case Axis::optimizers:
      for (const auto& o : s.optimizers)
        if (o.name == t) return canonical_optimizer(o);
      return "\x01" + t;  // no such name: find_value fails and the caller names it
    case Axis::inits: return canonical_init(parse_init(t));
    case Axis::weight_decay: {
      const auto v = parse_double(t);
      if (!v || !std::isfinite(*v)) throw Error("'" + t + "' is not a finite number");
      return format_double(*v);
    }
    case Axis::replicates: {
      const auto v = parse_unsigned(t);
      if (!v) throw Error("'" + t + "' is not a replicate (an unsigned integer)");
      return std::to_string(*v);
    }
    default: return t;
  }
}

void parse_exclude(const Parser& p, const Entry& e, StudySpec& s, Lines& lines) {
  lines.exclude = Parser::line(e.key_node);
  if (e.value.IsNull()) return;
  p.require_sequence(e.value, "exclude", lines.exclude);
  std::vector<std::string> known(kAxisKeys.begin(), kAxisKeys.end());
  known.push_back("seeds");
  for (const YAML::Node& rule_node : e.value) {
    const int at = Parser::line(rule_node, lines.exclude);
    const auto entries = p.mapping(rule_node, "exclude rule", known, at);
    if (entries.empty()) p.fail(at, "exclude: an empty rule would drop every trial");
    std::vector<std::pair<Axis, std::vector<int>>> rule;
    for (const auto& entry : entries) {
      const Axis axis = *axis_from_key(entry.key);
      const int ax = static_cast<int>(axis);
      const int key_line = Parser::line(entry.key_node, at);
      for (const auto& r : rule)
        if (r.first == axis) p.fail(key_line, "exclude rule names replicates and seeds both");
      // One value, or a list of them. An architecture is itself a list: [8, 8] is one
      // architecture, [[4], [8, 8]] two.
      std::vector<YAML::Node> items;
      const YAML::Node& v = entry.value;
      const bool list = v.IsSequence() &&
                        (axis != Axis::architectures || (v.size() > 0 && !v[0].IsScalar()));
      if (list) {
        if (v.size() == 0) p.fail(key_line, "exclude: an empty list for " + entry.key);
        for (const YAML::Node& item : v) items.push_back(item);
      } else {
        items.push_back(v);
      }
      std::vector<int> indices;
      for (const YAML::Node& item : items) {
        const int item_line = Parser::line(item, key_line);
        std::string canonical;
        try {
          canonical = exclude_item_canonical(p, s, axis, item, item_line);
        } catch (const Error& err) {
          p.fail(item_line, "exclude: " + entry.key + ": " + err.what());
        }
        const int index = find_value(s, axis, canonical);
        if (index < 0) {
          std::vector<std::string> labels;
          for (int i = 0; i < s.axis_size(axis); ++i) labels.push_back(s.value_label(axis, i));
          const std::string written = item.IsScalar() ? item.Scalar() : canonical;
          p.fail(item_line, "exclude: axis " + std::string(kAxisKeys[ax]) + " has no value '" +
                                written + "'; its values: " + join(labels));
        }
        if (std::find(indices.begin(), indices.end(), index) == indices.end())
          indices.push_back(index);
      }
      std::sort(indices.begin(), indices.end());
      rule.emplace_back(axis, std::move(indices));
    }
    std::sort(rule.begin(), rule.end());
    s.exclude.push_back(std::move(rule));
    lines.rules.push_back(at);
  }
}

void parse_settings(const Parser& p, const Entry& e, StudySettings& st) {
  const int line = Parser::line(e.key_node);
  if (e.value.IsNull()) return;
  const auto entries = p.mapping(e.value, "settings",
                                 {"dense_limit", "extremes", "trajectory_length", "redundancy_tol",
                                  "save_params", "output"},
                                 line);
  for (const auto& s : entries) {
    const int at = Parser::line(s.value, Parser::line(s.key_node, line));
    const std::string what = "settings." + s.key;
    if (s.key == "dense_limit") {
      st.dense_limit = static_cast<std::ptrdiff_t>(
          p.integer(s.value, what, 0, std::numeric_limits<int>::max(), at));
    } else if (s.key == "extremes") {
      st.extremes = static_cast<int>(p.integer(s.value, what, 1, 1'000'000, at));
    } else if (s.key == "trajectory_length") {
      st.trajectory_length = static_cast<int>(p.integer(s.value, what, 2, 1'000'000, at));
    } else if (s.key == "redundancy_tol") {
      const double v = p.number(s.value, what, at);
      if (!(v > 0.0 && v < 1.0)) p.fail(at, what + " must lie in (0, 1), got " + s.value.Scalar());
      st.redundancy_tol = v;
    } else if (s.key == "save_params") {
      st.save_params = p.boolean(s.value, what, at);
    } else if (s.key == "output") {
      st.output = p.scalar(s.value, what, at);
      if (trim(st.output).empty()) p.fail(at, what + " is empty");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Checks across axes.

// Calls f(coords) for every combination of the digits that hold an axis in `axes` (the other
// axes stay at 0) until f returns false. Only those digits vary, so the cost is the product of
// their sizes, not the study's size.
void for_each_combination(const StudySpec& s, const std::set<Axis>& axes,
                          const std::function<bool(const std::array<int, kNumAxes>&)>& f) {
  std::vector<std::vector<Axis>> digits;
  for (const auto& d : s.digits())
    if (std::any_of(d.begin(), d.end(), [&](Axis a) { return axes.count(a) != 0; }))
      digits.push_back(d);
  std::array<int, kNumAxes> coords{};
  std::vector<int> value(digits.size(), 0);
  for (;;) {
    for (std::size_t i = 0; i < digits.size(); ++i)
      for (Axis a : digits[i]) coords[static_cast<int>(a)] = value[i];
    if (!f(coords)) return;
    std::size_t i = digits.size();
    while (i > 0) {
      --i;
      if (++value[i] < s.axis_size(digits[i].front())) break;
      value[i] = 0;
      if (i == 0) return;
    }
    if (digits.empty()) return;
  }
}

std::set<Axis> exclude_axes(const StudySpec& s) {
  std::set<Axis> axes;
  for (const auto& rule : s.exclude)
    for (const auto& [axis, values] : rule) axes.insert(axis);
  return axes;
}

void check_size(const Parser& p, const StudySpec& s, const Lines& lines) {
  std::int64_t size = 1;
  for (const auto& d : s.digits()) {
    const std::int64_t r = s.axis_size(d.front());
    if (size > kMaxTrials / r)
      p.fail(lines.axes, "the study has more than 2^62 trials; it cannot be numbered");
    size *= r;
  }
}

void check_not_all_excluded(const Parser& p, const StudySpec& s, const Lines& lines) {
  if (s.exclude.empty()) return;
  bool any = false;
  for_each_combination(s, exclude_axes(s), [&](const std::array<int, kNumAxes>& c) {
    any = !s.excludes(c);
    return !any;
  });
  if (!any) p.fail(lines.exclude, "exclude: the rules drop every trial of the study");
}

// Every (architecture, data set, pattern) some kept trial uses must give masks: the widths come
// from the architecture and the data's d and m.
void check_patterns(const Parser& p, const StudySpec& s, const Lines& lines) {
  std::set<Axis> axes = exclude_axes(s);
  axes.insert({Axis::architectures, Axis::datasets, Axis::sparsity});
  std::set<std::tuple<int, int, int>> used;
  for_each_combination(s, axes, [&](const std::array<int, kNumAxes>& c) {
    if (!s.excludes(c))
      used.emplace(c[static_cast<int>(Axis::architectures)], c[static_cast<int>(Axis::datasets)],
                   c[static_cast<int>(Axis::sparsity)]);
    return true;
  });
  for (const auto& [a, d, sp] : used) {
    if (s.sparsity[sp].kind == "dense") continue;
    const DatasetShape& shape = s.dataset_shapes[d];
    const std::vector<int> widths = layer_widths(shape.d, s.architectures[a], shape.m);
    try {
      const std::vector<Mask> masks = build_masks(s.sparsity[sp], widths);
      Architecture arch;
      arch.widths = widths;
      arch.masks = masks;
      (void)Network(arch);  // the network's own checks (mask shapes, 0/1 entries)
    } catch (const Error& e) {
      std::string w;
      for (int x : widths) w += (w.empty() ? "" : ",") + std::to_string(x);
      p.fail(lines.value[static_cast<int>(Axis::sparsity)][sp],
             "axes.sparsity: pattern '" + s.sparsity[sp].text + "' cannot apply to architecture " +
                 s.value_label(Axis::architectures, a) + " on data '" + s.datasets[d].text +
                 "' (layer widths {" + w + "}): " + e.what());
    }
  }
}

void put(std::string& out, std::string_view text) {
  out += std::to_string(text.size());
  out += ':';
  out += text;
  out += ';';
}

}  // namespace

const char* to_string(Axis axis) {
  const int a = static_cast<int>(axis);
  return a >= 0 && a < kNumAxes ? kAxisKeys[a] : "?";
}

const std::vector<std::string>& tao_type_names() {
  // TaoRegisterAll of TAO 3.18 (Debian's PETSc 3.18.5 registers exactly these; "python" only in
  // builds with petsc4py), plus nnscape's own: "gd" and "lm" (levenberg_marquardt.hpp). Kept
  // as a list so parsing needs no PETSc; optimize() checks again against the live registry.
  static const std::vector<std::string> names = {
      "lmvm",  "nls",    "ntr",    "ntl",    "cg",     "tron",   "owlqn", "bmrm",  "blmvm",
      "bqnls", "bncg",   "bnls",   "bntr",   "bntl",   "bqnkls", "bqnktr", "bqnktl", "bqpip",
      "gpcg",  "nm",     "pounders", "brgn", "lcl",    "ssils",  "ssfls", "asils", "asfls",
      "ipm",   "pdipm",  "shell",  "admm",   "almm",   "gd",   "lm"};
  return names;
}

int StudySpec::axis_size(Axis axis) const {
  switch (axis) {
    case Axis::architectures: return static_cast<int>(architectures.size());
    case Axis::activations: return static_cast<int>(activations.size());
    case Axis::datasets: return static_cast<int>(datasets.size());
    case Axis::sparsity: return static_cast<int>(sparsity.size());
    case Axis::optimizers: return static_cast<int>(optimizers.size());
    case Axis::inits: return static_cast<int>(inits.size());
    case Axis::weight_decay: return static_cast<int>(weight_decay.size());
    case Axis::replicates: return static_cast<int>(replicates.size());
  }
  return 0;
}

std::string StudySpec::value_label(Axis axis, int i) const {
  const auto k = static_cast<std::size_t>(i);
  switch (axis) {
    case Axis::architectures: return canonical_architecture(architectures.at(k));
    case Axis::activations: return std::string(to_string(activations.at(k)));
    case Axis::datasets: return datasets.at(k).text;
    case Axis::sparsity: return sparsity.at(k).text;
    case Axis::optimizers: return optimizers.at(k).name;
    case Axis::inits: return inits.at(k);
    case Axis::weight_decay: return format_double(weight_decay.at(k));
    case Axis::replicates: return std::to_string(replicates.at(k));
  }
  return "?";
}

// Canonical texts (they key the seeds, so they are part of the results' meaning; do not change
// them without a schema version bump):
//   architectures  "[w1,w2,...]"                      decimal widths, no blanks
//   activations    the name                           "tanh"
//   datasets       kind[:k=v,...]                     settings sorted by key, values as written
//                                                     (trimmed); file: "file:<path>"
//   sparsity       kind[:k=v,...][,file,...]          settings sorted, file names in order
//   optimizers     name|type[|k=v,...]                options sorted by key
//   inits          scheme:scale=<s>                   scale always given (pytorch 1, small 1e-3)
//   weight_decay   shortest round-trip decimal        "0", "0.001"
//   replicates     the replicate's value, decimal     0..R-1, or the seed given
// Doubles are written as the shortest decimal that reads back to the same value (to_chars).
std::string StudySpec::canonical_value(Axis axis, int i) const {
  const auto k = static_cast<std::size_t>(i);
  switch (axis) {
    case Axis::architectures: return canonical_architecture(architectures.at(k));
    case Axis::activations: return std::string(to_string(activations.at(k)));
    case Axis::datasets: return canonical_dataset(datasets.at(k));
    case Axis::sparsity: return canonical_pattern(sparsity.at(k));
    case Axis::optimizers: return canonical_optimizer(optimizers.at(k));
    case Axis::inits: return canonical_init(parse_init(inits.at(k)));
    case Axis::weight_decay: return format_double(weight_decay.at(k));
    case Axis::replicates: return std::to_string(replicates.at(k));
  }
  return "?";
}

std::uint64_t StudySpec::value_key(Axis axis, int index) const {
  const std::string c = canonical_value(axis, index);
  return XXH3_64bits(c.data(), c.size());
}

std::vector<std::vector<Axis>> StudySpec::digits() const {
  std::vector<std::vector<Axis>> out;
  std::array<bool, kNumAxes> placed{};
  for (int a = 0; a < kNumAxes; ++a) {
    if (placed[a]) continue;
    std::vector<Axis> digit{static_cast<Axis>(a)};
    for (const auto& group : zip)
      if (std::find(group.begin(), group.end(), static_cast<Axis>(a)) != group.end()) {
        digit = group;
        std::sort(digit.begin(), digit.end());
      }
    for (Axis x : digit) placed[static_cast<int>(x)] = true;
    out.push_back(std::move(digit));
  }
  return out;
}

bool StudySpec::excludes(const std::array<int, kNumAxes>& coords) const {
  for (const auto& rule : exclude) {
    bool all = true;
    for (const auto& [axis, values] : rule)
      if (std::find(values.begin(), values.end(), coords[static_cast<int>(axis)]) ==
          values.end()) {
        all = false;
        break;
      }
    if (all) return true;
  }
  return false;
}

std::string canonical_form(const StudySpec& s) {
  std::string out = "nnscape-study-v1\n";
  out += "seed=" + std::to_string(s.seed) + "\n";
  for (int a = 0; a < kNumAxes; ++a) {
    const Axis axis = static_cast<Axis>(a);
    out += kAxisKeys[a];
    out += '=';
    for (int i = 0; i < s.axis_size(axis); ++i) put(out, s.canonical_value(axis, i));
    out += '\n';
  }
  // Zip groups and exclude rules as sets: how they are listed does not matter.
  std::vector<std::string> groups;
  for (auto g : s.zip) {
    std::sort(g.begin(), g.end());
    std::string t;
    for (Axis a : g) put(t, kAxisKeys[static_cast<int>(a)]);
    groups.push_back(t);
  }
  std::sort(groups.begin(), groups.end());
  out += "zip=";
  for (const auto& g : groups) put(out, g);
  out += '\n';
  std::vector<std::string> rules;
  for (auto rule : s.exclude) {
    std::sort(rule.begin(), rule.end());
    std::string t;
    for (auto [axis, values] : rule) {
      std::sort(values.begin(), values.end());
      std::string v = kAxisKeys[static_cast<int>(axis)];
      for (int i : values) {
        v += ',';
        v += std::to_string(i);
      }
      put(t, v);
    }
    rules.push_back(t);
  }
  std::sort(rules.begin(), rules.end());
  out += "exclude=";
  for (const auto& r : rules) put(out, r);
  out += '\n';
  const StudySettings& st = s.settings;
  out += "settings=dense_limit:" + std::to_string(st.dense_limit) +
         ",extremes:" + std::to_string(st.extremes) +
         ",trajectory_length:" + std::to_string(st.trajectory_length) +
         ",redundancy_tol:" + format_double(st.redundancy_tol) +
         ",save_params:" + (st.save_params ? "true" : "false") + "\n";
  return out;
}

std::string study_hash(const StudySpec& spec) {
  const std::string c = canonical_form(spec);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(XXH3_64bits(c.data(), c.size())));
  return buf;
}

std::vector<std::pair<std::string, std::string>> prefixed_options(const OptimizerEntry& opt) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : opt.options) out.emplace_back("-opt_" + opt.name + "_" + k, v);
  return out;
}

// 1. YAML → nodes (syntax errors with yaml-cpp's line)  2. top-level keys  3. axes (each value
// checked as parsed)  4. zip, exclude, settings  5. checks across axes  6. hash.
StudySpec parse_study(const std::string& yaml_text, const std::string& source) {
  const Parser p(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    p.fail(e.mark.line >= 0 ? e.mark.line + 1 : 1, "YAML syntax error: " + e.msg);
  }
  StudySpec s;
  s.source = source;
  s.text = yaml_text;
  s.name = std::filesystem::path(source).stem().string();
  if (s.name.empty()) s.name = "study";
  Lines lines;
  if (!root.IsMap())
    p.fail(root, "a study is a mapping with the keys study, axes, zip, exclude, settings");
  const auto top = p.mapping(root, "study file", {"study", "axes", "zip", "exclude", "settings"}, 1);

  if (const Entry* e = Parser::find(top, "study"); e && !e->value.IsNull()) {
    const int at = Parser::line(e->key_node);
    for (const auto& f : p.mapping(e->value, "study", {"name", "seed"}, at)) {
      const int fl = Parser::line(f.value, Parser::line(f.key_node, at));
      if (f.key == "name") {
        s.name = p.scalar(f.value, "study.name", fl);
        if (trim(s.name).empty()) p.fail(fl, "study.name is empty");
      } else {
        s.seed = p.unsigned_integer(f.value, "study.seed", fl);
      }
    }
  }
  const Entry* axes = Parser::find(top, "axes");
  if (!axes) p.fail(1, "the study has no axes (architectures, activations, datasets, optimizers)");
  parse_axes(p, *axes, s, lines);
  check_duplicates(p, s, lines);
  for (std::size_t i = 0; i < s.datasets.size(); ++i) {
    try {
      s.dataset_shapes.push_back(dataset_shape(s.datasets[i]));
    } catch (const Error& e) {
      p.fail(lines.value[static_cast<int>(Axis::datasets)][i], std::string("axes.datasets: ") +
                                                                   e.what());
    }
  }
  if (const Entry* e = Parser::find(top, "zip")) parse_zip(p, *e, s, lines);
  if (const Entry* e = Parser::find(top, "exclude")) parse_exclude(p, *e, s, lines);
  if (const Entry* e = Parser::find(top, "settings")) parse_settings(p, *e, s.settings);

  check_size(p, s, lines);
  check_not_all_excluded(p, s, lines);
  check_patterns(p, s, lines);
  s.hash = study_hash(s);
  return s;
}

StudySpec load_study(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read study spec '" + path + "': no such file");
  if (std::filesystem::is_directory(path, ec))
    throw Error("cannot read study spec '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read study spec '" + path + "': cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error("cannot read study spec '" + path + "': read error");
  return parse_study(text.str(), path);
}

}  // namespace nnscape
