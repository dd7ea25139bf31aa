// `nnscape plan`: counts, parameter counts and memory of a study, computed from the spec alone.
// The counts are exact without visiting every trial id: only the digits that decide a trial's
// shape (architecture, data set, pattern) or its exclusion are enumerated; every other digit
// multiplies each combination by its size, so a study of 10^9 trials plans in milliseconds.
#include "nnscape/plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "nnscape/error.hpp"
#include "nnscape/network.hpp"
#include "nnscape/pattern.hpp"

namespace nnscape {

namespace {

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024.0 && u < 5) {
    b /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string format_widths(const std::vector<int>& widths) {
  std::string s = "{";
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(widths[i]);
  }
  s += '}';
  return s;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 0.0;
}

}  // namespace

double estimate_trial_memory(const std::vector<int>& widths, std::ptrdiff_t num_params,
                             std::ptrdiff_t n, std::ptrdiff_t dense_limit, int extremes) {
  const double p = static_cast<double>(num_params);
  const double nd = static_cast<double>(n);
  const int d = widths.front();
  const int m = widths.back();
  double hidden = 0.0;
  for (std::size_t l = 1; l + 1 < widths.size(); ++l) hidden += widths[l];
  double doubles = nd * (d + m) + nd * (6.0 * hidden + 3.0 * m);
  if (num_params <= dense_limit) {
    doubles += 3.0 * p * p + std::min(nd * m * p, 4.0 * (1 << 20));
  } else {
    const double ncv = std::min(p, std::max(2.0 * extremes, 100.0));
    doubles += (ncv + 30.0) * p;
  }
  return 8.0 * doubles;
}

StudyPlan make_plan(const StudySpec& s) {
  StudyPlan plan;
  plan.name = s.name;
  plan.hash = s.hash.empty() ? study_hash(s) : s.hash;
  plan.seed = s.seed;
  plan.dense_limit = s.settings.dense_limit;
  plan.zip = s.zip;

  std::set<Axis> decisive = {Axis::architectures, Axis::datasets, Axis::sparsity};
  for (const auto& rule : s.exclude)
    for (const auto& [axis, values] : rule) decisive.insert(axis);
  std::vector<std::vector<Axis>> enumerated;
  std::int64_t multiplicity = 1;  // trials per enumerated combination
  plan.full_size = 1;
  for (const auto& digit : s.digits()) {
    const std::int64_t r = s.axis_size(digit.front());
    plan.full_size *= r;
    if (std::any_of(digit.begin(), digit.end(), [&](Axis a) { return decisive.count(a) != 0; }))
      enumerated.push_back(digit);
    else
      multiplicity *= r;
  }

  std::array<std::vector<std::int64_t>, kNumAxes> counts;
  for (int a = 0; a < kNumAxes; ++a) counts[a].assign(s.axis_size(static_cast<Axis>(a)), 0);
  std::map<std::tuple<int, int, int>, std::int64_t> shape_trials;
  std::array<int, kNumAxes> c{};
  std::vector<int> value(enumerated.size(), 0);
  for (bool more = true; more;) {
    for (std::size_t i = 0; i < enumerated.size(); ++i)
      for (Axis a : enumerated[i]) c[static_cast<int>(a)] = value[i];
    if (!s.excludes(c)) {
      plan.trials += multiplicity;
      for (const auto& digit : enumerated)
        for (Axis a : digit) counts[static_cast<int>(a)][c[static_cast<int>(a)]] += multiplicity;
      shape_trials[{c[static_cast<int>(Axis::architectures)], c[static_cast<int>(Axis::datasets)],
                    c[static_cast<int>(Axis::sparsity)]}] += multiplicity;
    }
    more = false;
    for (std::size_t i = enumerated.size(); i-- > 0;) {
      if (++value[i] < s.axis_size(enumerated[i].front())) {
        more = true;
        break;
      }
      value[i] = 0;
    }
  }
  // A digit outside the enumeration never decides exclusion, so its values share the kept
  // trials equally.
  for (int a = 0; a < kNumAxes; ++a)
    if (!decisive.count(static_cast<Axis>(a)) &&
        std::none_of(enumerated.begin(), enumerated.end(), [&](const std::vector<Axis>& d) {
          return std::find(d.begin(), d.end(), static_cast<Axis>(a)) != d.end();
        }))
      for (auto& n : counts[a]) n = plan.trials / static_cast<std::int64_t>(counts[a].size());

  for (int a = 0; a < kNumAxes; ++a) {
    AxisPlan ap;
    ap.axis = static_cast<Axis>(a);
    for (int i = 0; i < s.axis_size(ap.axis); ++i) ap.labels.push_back(s.value_label(ap.axis, i));
    ap.trials = counts[a];
    plan.axes.push_back(std::move(ap));
  }

  bool first = true;
  for (const auto& [key, trials] : shape_trials) {
    const auto [a, d, sp] = key;
    PlanShape shape;
    shape.architecture = a;
    shape.dataset = d;
    shape.sparsity = sp;
    const DatasetShape ds = s.dataset_shapes.size() == s.datasets.size()
                                ? s.dataset_shapes[d]
                                : dataset_shape(s.datasets[d]);
    shape.widths = layer_widths(ds.d, s.architectures[a], ds.m);
    Architecture arch;
    arch.widths = shape.widths;
    arch.masks = build_masks(s.sparsity[sp], shape.widths);
    shape.num_params = Network(arch).num_params();
    shape.n = ds.n;
    shape.trials = trials;
    shape.matrix_free = shape.num_params > s.settings.dense_limit;
    shape.claim_a_testable = static_cast<double>(ds.n) * ds.m > static_cast<double>(shape.num_params);
    shape.memory_bytes = estimate_trial_memory(shape.widths, shape.num_params, ds.n,
                                               s.settings.dense_limit, s.settings.extremes);
    plan.min_params = first ? shape.num_params : std::min(plan.min_params, shape.num_params);
    plan.max_params = first ? shape.num_params : std::max(plan.max_params, shape.num_params);
    first = false;
    plan.max_memory_bytes = std::max(plan.max_memory_bytes, shape.memory_bytes);
    if (shape.matrix_free) plan.matrix_free_trials += trials;
    if (!shape.claim_a_testable) {
      plan.untestable_trials += trials;
      plan.warnings.push_back(
          std::to_string(trials) + " trials with architecture " +
          s.value_label(Axis::architectures, a) + " on '" + s.datasets[d].text + "'" +
          (s.sparsity[sp].kind == "dense" ? "" : " (pattern " + s.sparsity[sp].text + ")") +
          ": N·m = " + std::to_string(ds.n * ds.m) + " <= P = " + std::to_string(shape.num_params) +
          "; claim A (strict minima on the efficient domain) cannot be tested there");
    }
    plan.shapes.push_back(std::move(shape));
  }
  const double ram = physical_memory_bytes();
  if (ram > 0.0 && plan.max_memory_bytes > 0.5 * ram)
    plan.warnings.push_back("the largest trial needs about " +
                            format_bytes(plan.max_memory_bytes) + ", more than half of this " +
                            "machine's " + format_bytes(ram) +
                            " (every rank runs one trial at a time)");
  return plan;
}

std::string format_plan(const StudyPlan& plan) {
  std::ostringstream o;
  o << "study " << plan.name << ": " << plan.trials << " trials";
  if (plan.trials != plan.full_size)
    o << " (" << plan.full_size << " in the grid, " << plan.full_size - plan.trials
      << " excluded)";
  o << "; hash " << plan.hash << ", seed " << plan.seed << "\n\naxes (value: trials)\n";
  for (const AxisPlan& ap : plan.axes) {
    o << "  " << pad(std::string(to_string(ap.axis)) + " (" + std::to_string(ap.labels.size()) + ")", 19);
    for (std::size_t i = 0; i < ap.labels.size(); ++i)
      o << (i ? ", " : "") << ap.labels[i] << ": " << ap.trials[i];
    o << '\n';
  }
  for (const auto& group : plan.zip) {
    o << "  zip:";
    for (Axis a : group) o << ' ' << to_string(a);
    o << " (advance together)\n";
  }
  o << "\nparameters P: " << plan.min_params << " to " << plan.max_params << '\n';
  o << "memory per trial: at most about " << format_bytes(plan.max_memory_bytes) << " (estimate)\n";
  o << "matrix-free (P > dense_limit = " << plan.dense_limit << "): ";
  if (plan.matrix_free_trials == 0)
    o << "none\n";
  else
    o << plan.matrix_free_trials << " trials (Hessian products only; spectra at the ends)\n";

  o << "\nshapes\n  " << pad("architecture", 14) << pad("widths", 16) << pad("P", 9)
    << pad("N", 9) << pad("N·m", 11) << pad("trials", 9) << pad("Hessian", 13) << pad("memory", 11)
    << "data, pattern\n";
  for (const PlanShape& sh : plan.shapes) {
    const auto& arch = plan.axes[static_cast<int>(Axis::architectures)].labels[sh.architecture];
    const auto& data = plan.axes[static_cast<int>(Axis::datasets)].labels[sh.dataset];
    const auto& pattern = plan.axes[static_cast<int>(Axis::sparsity)].labels[sh.sparsity];
    o << "  " << pad(arch, 14) << pad(format_widths(sh.widths), 16)
      << pad(std::to_string(sh.num_params), 9) << pad(std::to_string(sh.n), 9)
      << pad(std::to_string(sh.n * sh.widths.back()) + (sh.claim_a_testable ? "" : " !"), 10)
      << pad(std::to_string(sh.trials), 9) << pad(sh.matrix_free ? "matrix-free" : "dense", 13)
      << pad(format_bytes(sh.memory_bytes), 11) << data << ", " << pattern << '\n';
  }
  o << '\n';
  if (plan.warnings.empty()) o << "warnings: none\n";
  for (const auto& w : plan.warnings) o << "warning: " << w << '\n';
  return o.str();
}

std::string plan_json(const StudyPlan& plan, int indent) {
  nlohmann::ordered_json j;
  j["name"] = plan.name;
  j["hash"] = plan.hash;
  j["seed"] = plan.seed;
  j["dense_limit"] = plan.dense_limit;
  j["full_size"] = plan.full_size;
  j["trials"] = plan.trials;
  j["excluded"] = plan.full_size - plan.trials;
  nlohmann::ordered_json axes = nlohmann::ordered_json::object();
  for (const AxisPlan& ap : plan.axes) {
    nlohmann::ordered_json values = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < ap.labels.size(); ++i)
      values.push_back({{"value", ap.labels[i]}, {"trials", ap.trials[i]}});
    axes[to_string(ap.axis)] = values;
  }
  j["axes"] = axes;
  nlohmann::ordered_json zip = nlohmann::ordered_json::array();
  for (const auto& group : plan.zip) {
    nlohmann::ordered_json g = nlohmann::ordered_json::array();
    for (Axis a : group) g.push_back(to_string(a));
    zip.push_back(g);
  }
  j["zip"] = zip;
  j["params"] = {{"min", plan.min_params}, {"max", plan.max_params}};
  j["max_memory_bytes"] = plan.max_memory_bytes;
  j["matrix_free_trials"] = plan.matrix_free_trials;
  j["claim_a_untestable_trials"] = plan.untestable_trials;
  nlohmann::ordered_json shapes = nlohmann::ordered_json::array();
  for (const PlanShape& sh : plan.shapes) {
    shapes.push_back({
        {"architecture", plan.axes[static_cast<int>(Axis::architectures)].labels[sh.architecture]},
        {"dataset", plan.axes[static_cast<int>(Axis::datasets)].labels[sh.dataset]},
        {"sparsity", plan.axes[static_cast<int>(Axis::sparsity)].labels[sh.sparsity]},
        {"widths", sh.widths},
        {"P", sh.num_params},
        {"N", sh.n},
        {"Nm", sh.n * sh.widths.back()},
        {"trials", sh.trials},
        {"matrix_free", sh.matrix_free},
        {"claim_a_testable", sh.claim_a_testable},
        {"memory_bytes", sh.memory_bytes},
    });
  }
  j["shapes"] = shapes;
  j["warnings"] = plan.warnings;
  return j.dump(indent);
}

}  // namespace nnscape
