// Time to a verdict per trial: teacher–student problems (the student's activation is the
// teacher's, so every problem has a zero-loss minimum), each candidate TAO type, many seeds.
// Trials run in-process through run_trial (training, polishing, spectrum, analysis and the
// certificate), timed around the call, one core.
//   verdict_bench [--seeds N] [--quick] [--candidates lmvm,nls,...] [--problems SUBSTR] [--verbose]
//                 [--csv FILE]
// Per (problem, candidate): fraction of records with certified = true, status counts, median
// and 90th percentile of the seconds per trial. Plain-text table on stdout, one CSV row per
// (problem, candidate) in --csv (default verdict_bench.csv). Reported, never pass/fail.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/runtime.hpp"
#include "nnscape/trial.hpp"

namespace {

struct Problem {
  std::string teacher;  // dataset spec without the activation
  int teacher_width = 0;
  nnscape::Activation activation = nnscape::Activation::tanh;
  int student_width = 0;
  std::string label() const {
    return std::string(nnscape::to_string(activation)) + " " + teacher + " student=" +
           std::to_string(student_width);
  }
};

struct Options {
  int seeds = 20;
  std::vector<std::string> candidates{"lmvm", "nls", "ntr", "bnls", "bntr", "blmvm", "lm"};
  std::string problems;  // substring filter on the label
  std::string csv = "verdict_bench.csv";
  bool verbose = false;  // one line per trial: seed, status, proof or why none
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "verdict_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seeds") {
      o.seeds = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--quick") {
      o.seeds = 3;
    } else if (a == "--candidates") {
      o.candidates = split_list(value());
    } else if (a == "--problems") {
      o.problems = value();
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--verbose") {
      o.verbose = true;
    } else {
      std::fprintf(stderr, "verdict_bench: unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  return o;
}

// Teachers of increasing condition: κ(H) at the d = 3, width-5, m = 2 teacher is ~1e9.
std::vector<Problem> problems() {
  const std::vector<std::pair<std::string, int>> teachers{
      {"teacher:width=3,d=2,m=1,n=512", 3},
      {"teacher:width=3,d=2,m=2,n=512", 3},
      {"teacher:width=5,d=3,m=2,n=700", 5}};
  std::vector<Problem> out;
  for (const auto& [teacher, width] : teachers)
    for (auto act : {nnscape::Activation::tanh, nnscape::Activation::sigmoid,
                     nnscape::Activation::softplus})
      for (int extra : {0, 2}) out.push_back({teacher, width, act, width + extra});
  return out;
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

struct Cell {
  std::vector<double> seconds;
  std::map<std::string, int> status;
  int certified = 0;
};

Cell run_cell(const Problem& p, const std::string& candidate, int seeds, bool verbose) {
  Cell cell;
  nnscape::TrialSpec spec;
  spec.hidden = {p.student_width};
  spec.activation = p.activation;
  spec.data = nnscape::parse_dataset_spec(p.teacher + ",activation=" +
                                          std::string(nnscape::to_string(p.activation)));
  spec.data_seed = 1;  // one teacher and data set per problem; seeds vary the student's start
  spec.optimizer.tao_type = candidate;
  spec.optimizer.name = "bench_" + candidate;
  for (int s = 0; s < seeds; ++s) {
    spec.seed = static_cast<std::uint64_t>(s + 1);
    const auto t0 = std::chrono::steady_clock::now();
    std::string status;
    bool certified = false;
    try {
      const nnscape::TrialRecord rec = nnscape::run_trial(spec);
      status = rec.status;
      certified = rec.certificate.certified;
      if (verbose)
        std::printf("  seed %2d %-15s loss %.1e %s %s%s\n", s + 1, status.c_str(),
                    rec.optimization.loss,
                    certified ? "proven:" : "unproven:",
                    certified ? rec.certificate.method.c_str() : rec.certificate.reason.c_str(),
                    rec.certificate.reduction.empty()
                        ? ""
                        : (" [" + rec.certificate.reduction + "]").c_str());
    } catch (const std::exception& e) {
      status = "spec_error";
      std::fprintf(stderr, "verdict_bench: %s %s: %s\n", p.label().c_str(), candidate.c_str(),
                   e.what());
    }
    cell.seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    ++cell.status[status];
    cell.certified += certified ? 1 : 0;
  }
  return cell;
}

std::string status_text(const Cell& c, char sep) {
  std::string out;
  for (const auto& [name, count] : c.status)
    out += (out.empty() ? "" : std::string(1, sep)) + name + "=" + std::to_string(count);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opts = parse_args(argc, argv);
  int petsc_argc = 1;  // our flags are not PETSc options
  nnscape::Runtime runtime(&petsc_argc, &argv);
  std::FILE* csv = std::fopen(opts.csv.c_str(), "w");
  if (!csv) {
    std::fprintf(stderr, "verdict_bench: cannot write %s\n", opts.csv.c_str());
    return 1;
  }
  std::fprintf(csv, "activation,teacher,student_width,candidate,seeds,certified_fraction,"
                    "median_s,p90_s,statuses\n");
  std::printf("%-50s %-6s %5s %6s %9s %9s  %s\n", "problem", "cand", "seeds", "cert",
              "median_s", "p90_s", "statuses");
  for (const Problem& p : problems()) {
    if (p.label().find(opts.problems) == std::string::npos) continue;
    for (const std::string& cand : opts.candidates) {
      const Cell c = run_cell(p, cand, opts.seeds, opts.verbose);
      const double n = static_cast<double>(c.seconds.size());
      const double med = quantile(c.seconds, 0.5), p90 = quantile(c.seconds, 0.9);
      std::printf("%-50s %-6s %5d %6.2f %9.4f %9.4f  %s\n", p.label().c_str(), cand.c_str(),
                  opts.seeds, c.certified / n, med, p90, status_text(c, ' ').c_str());
      std::fflush(stdout);
      std::fprintf(csv, "%s,\"%s\",%d,%s,%d,%.4f,%.6f,%.6f,%s\n",
                   std::string(nnscape::to_string(p.activation)).c_str(), p.teacher.c_str(),
                   p.student_width, cand.c_str(), opts.seeds, c.certified / n, med, p90,
                   status_text(c, ';').c_str());
      std::fflush(csv);
    }
  }
  std::fclose(csv);
  return 0;
}
