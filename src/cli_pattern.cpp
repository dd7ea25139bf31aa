// `nnscape pattern check`: is the linear product set L_I of a sparsity pattern closed, and what
// follows for the existence of an optimum of ReLU training (closedness.hpp)?
//
// Sample runs:
//   nnscape pattern check --pattern LU --widths 2,2,2
//   nnscape pattern check --pattern block_diagonal:blocks=2 --widths 4,4,4 --json
//   nnscape pattern check --masks w1.txt,w2.txt --time-limit 30
//   nnscape pattern check --pattern LU --widths 3,3,3 --no-rules --resource-limit 200000
#include <CLI/CLI.hpp>

#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "nnscape/closedness.hpp"
#include "nnscape/error.hpp"
#include "nnscape/pattern.hpp"

namespace nnscape::cli {

namespace {

struct PatternArgs {
  std::string pattern;
  std::string widths;
  std::vector<std::string> masks;
  double time_limit = ClosednessOptions{}.time_limit_seconds;
  std::uint64_t resource_limit = ClosednessOptions{}.resource_limit;
  bool no_rules = false;
  bool json = false;
};

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string format_error(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3e", v);
  return buf;
}

void print_matrix(std::ostream& out, const std::vector<double>& a, int rows, int cols,
                  const std::string& indent) {
  for (int r = 0; r < rows; ++r) {
    out << indent;
    for (int c = 0; c < cols; ++c) {
      std::string s = format_number(a[static_cast<std::size_t>(r) * cols + c]);
      out << std::string(s.size() < 10 ? 10 - s.size() : 1, ' ') << s;
    }
    out << '\n';
  }
}

void print_text(std::ostream& out, const std::string& label, const std::vector<int>& widths,
                const std::vector<Mask>& masks, const std::vector<std::string>& cut_off,
                const ClosednessResult& r) {
  out << "pattern " << label << " on widths " << format_widths(widths) << '\n';
  for (std::size_t l = 0; l < masks.size(); ++l) {
    out << "  mask " << l + 1 << " (" << masks[l].rows << "x" << masks[l].cols << ")\n";
    for (int i = 0; i < masks[l].rows; ++i) {
      out << "    ";
      for (int j = 0; j < masks[l].cols; ++j) out << (j ? " " : "") << (masks[l].at(i, j) ? 1 : 0);
      out << '\n';
    }
  }
  for (const std::string& s : cut_off) out << "  note: " << s << '\n';

  out << "L_I = {W_L...W_1}: " << r.verdict << " (rule " << r.rule;
  if (!r.component_rules.empty()) {
    out << ":";
    for (const std::string& c : r.component_rules) out << " " << c;
  }
  out << ", " << format_number(r.seconds) << " s)\n";
  if (!r.note.empty()) out << "  " << r.note << '\n';
  if (r.verdict == "not_closed") {
    out << "  witness A, in the closure of L_I but not in L_I:\n";
    print_matrix(out, r.witness, r.rows, r.cols, "  ");
    out << "  products W_L...W_1 converging to A:\n";
    for (const WitnessStep& s : r.sequence)
      out << "    max|P - A| = " << format_error(s.error) << " < " << format_number(s.epsilon)
          << " with |W|_F = " << format_number(s.norm) << '\n';
  }
  out << "ReLU training: " << r.optimum;
  if (r.optimum_rule == "scalar_output_one_hidden") {
    out << " (one hidden layer, scalar output: an optimum exists for every finite data set)";
  } else if (r.optimum_rule == "not_closed") {
    out << " (L_I is not closed, so some finite data set has no optimum: training diverges)";
  } else if (r.verdict == "closed") {
    out << " (L_I is closed; that alone does not guarantee an optimum for ReLU networks)";
  }
  out << '\n';
}

int run_pattern_check(const PatternArgs& a) {
  require_one_rank("pattern check", "");
  if (a.pattern.empty() == a.masks.empty())
    throw Error("pattern check: give either --pattern (with --widths) or --masks");
  if (!(a.time_limit > 0.0)) throw Error("--time-limit must be > 0 seconds");

  PatternSpec spec;
  std::vector<int> widths;
  std::vector<Mask> masks;
  if (!a.masks.empty()) {
    std::string text = "file:";
    for (std::size_t l = 0; l < a.masks.size(); ++l) text += (l ? "," : "") + a.masks[l];
    spec = parse_pattern(text);
    if (a.masks.size() == 1 && spec.files.size() == 1 &&
        (text.ends_with(".h5") || text.ends_with(".hdf5"))) {
      masks = read_masks_h5(a.masks[0]);
    } else {
      for (const std::string& f : a.masks) masks.push_back(read_mask_text(f));
    }
    widths = mask_widths(masks);
    if (!a.widths.empty() && parse_widths(a.widths) != widths)
      throw Error("--widths " + a.widths + " does not match the masks, which need " +
                  format_widths(widths));
  } else {
    if (a.widths.empty())
      throw Error("--pattern needs --widths: the full layer widths d,hidden...,m (e.g. 2,2,2)");
    widths = parse_widths(a.widths);
    if (widths.size() < 2)
      throw Error("--widths: give the full layer widths d,hidden...,m (at least two numbers)");
    spec = parse_pattern(a.pattern);
    masks = build_masks(spec, widths);
  }
  const std::vector<std::string> cut_off = disconnected_units(masks, widths);
  masks = explicit_masks(std::move(masks), widths);  // the checker wants every support

  ClosednessOptions opts;
  opts.time_limit_seconds = a.time_limit;
  opts.resource_limit = a.resource_limit;
  opts.use_rules = !a.no_rules;
  const ClosednessResult r = check_closedness(masks, opts);

  if (a.json) {
    nlohmann::ordered_json j;
    j["pattern"] = spec.text;
    j["widths"] = widths;
    j["disconnected_units"] = cut_off;
    const nlohmann::ordered_json verdict = to_json(r);  // items() does not own its json
    for (const auto& [k, v] : verdict.items()) j[k] = v;
    std::cout << j.dump(2) << '\n';
  } else {
    print_text(std::cout, spec.text, widths, masks, cut_off, r);
  }
  return 0;
}

}  // namespace

Command add_pattern_command(CLI::App& app) {
  auto a = std::make_shared<PatternArgs>();
  CLI::App* pattern = app.add_subcommand("pattern", "Sparsity patterns");
  pattern->require_subcommand(1);
  CLI::App* check = pattern->add_subcommand(
      "check",
      "Decide whether the product set L_I = {W_L...W_1 : supp W_l in I_l} is closed (cheap rules, "
      "then Z3), and what that means for the existence of an optimum of ReLU training");
  check->add_option("--pattern", a->pattern,
                    "dense | lower | upper | LU | UL | random:density=0.5,seed=3 | "
                    "block_diagonal:blocks=2 | banded:width=1 | butterfly | file:w1.txt,w2.txt | "
                    "file:masks.h5");
  check->add_option("--widths", a->widths,
                    "Full layer widths d,hidden...,m (e.g. 2,2,2); with --masks optional");
  check->add_option("--masks", a->masks,
                    "0/1 text matrices, one per weight matrix (rows = outputs), or one HDF5 file "
                    "with /mask1, /mask2, ...")
      ->delimiter(',');
  check->add_option("--time-limit", a->time_limit, "Seconds for all Z3 calls together")
      ->capture_default_str();
  check->add_option("--resource-limit", a->resource_limit,
                    "Z3 rlimit per solver call, 0 = none; unlike --time-limit, the verdict is then "
                    "the same on every machine (same Z3 version)")
      ->capture_default_str();
  check->add_flag("--no-rules", a->no_rules,
                  "Skip the cheap rules and reductions: the whole statement goes to Z3");
  check->add_flag("--json", a->json, "One JSON object instead of text");
  return {check, [a] { return run_pattern_check(*a); }};
}

}  // namespace nnscape::cli
