// `nnscape run` (a study across MPI ranks), `nnscape status` and `nnscape merge`.
#include <cmath>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "nnscape/error.hpp"
#include "nnscape/runner.hpp"
#include "nnscape/store.hpp"

namespace nnscape::cli {

namespace {

using Json = nlohmann::ordered_json;

struct RunArgs {
  std::string spec;
  std::string output;
  std::string shard = "0/1";
  bool retry_failed = false;
  double progress_interval = 10.0;
};

int run_run(const RunArgs& a, const std::vector<std::string>& argv) {
  RunOptions o;
  o.spec_path = a.spec;
  o.output = a.output;
  o.retry_failed = a.retry_failed;
  NNSCAPE_CHECK(a.progress_interval > 0, "--progress-interval must be > 0 seconds");
  o.progress_interval = a.progress_interval;
  o.command_line = argv;
  const int rank = world_rank();
  RunSummary s;
  try {
    o.shard = parse_shard(a.shard);
    s = run_study(o);
  } catch (const CollectiveError&) {
    if (rank != 0) throw QuietFailure{};
    throw;
  } catch (const Error& e) {
    if (rank != 0) throw QuietFailure{};  // parse_shard: the same on every rank
    throw;
  }
  if (rank == 0) {
    std::cout << s.output << ": " << s.rows << " trials, " << s.done << " done, " << s.failed
              << " failed, " << s.pending << " pending (this run: " << s.ran << " in "
              << s.seconds << " s)" << (s.stopped ? "; stopped by a signal, run again to resume" : "")
              << '\n';
  }
  return s.stopped && s.pending > 0 ? kExitStopped : 0;
}

// "2026-11-24T05:12:03Z" → Unix seconds; NaN if unreadable.
double parse_utc(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm)) return NAN;
  return static_cast<double>(timegm(&tm));
}

std::string lookup(const Provenance& p, const std::string& key) {
  for (const auto& [k, v] : p)
    if (k == key) return v;
  return "";
}

struct StatusArgs {
  std::string file;
  bool json = false;
};

int run_status(const StatusArgs& a) {
  require_one_rank("status", "");
  const StoreSummary s = read_summary(a.file);
  std::int64_t done = 0, failed = 0, pending = 0;
  std::map<std::string, std::int64_t> reasons, outcomes, proven;
  for (std::size_t i = 0; i < s.states.size(); ++i) {
    switch (s.states[i]) {
      case TrialState::done:
        ++done;
        ++outcomes[s.statuses[i]];
        proven[s.statuses[i]] += s.certified[i] ? 1 : 0;
        break;
      case TrialState::failed: ++failed; ++reasons[s.errors[i].substr(0, 200)]; break;
      default: ++pending;
    }
  }
  // Throughput of the latest run: trials it finished over the time from its start to the last.
  double rate = NAN;
  std::string last_state = "none";
  if (!s.runs.empty()) {
    const Provenance& run = s.runs.back();
    const double start = parse_utc(lookup(run, "start_time"));
    double last = NAN;
    std::int64_t n = 0;
    for (double t : s.finished_at)
      if (std::isfinite(t) && t >= start) {
        ++n;
        last = std::isfinite(last) ? std::max(last, t) : t;
      }
    if (n > 0 && last > start) rate = static_cast<double>(n) / (last - start);
    last_state = lookup(run, "ended").empty() ? "running or killed" : lookup(run, "ended");
  }
  const double eta = std::isfinite(rate) && rate > 0 ? static_cast<double>(pending) / rate : NAN;
  if (a.json) {
    Json j;
    j["file"] = s.path;
    j["spec_hash"] = s.spec_hash;
    j["shard"] = s.shard;
    j["trials"] = s.states.size();
    j["done"] = done;
    j["failed"] = failed;
    j["pending"] = pending;
    j["outcomes"] = outcomes;
    j["proven"] = proven;
    j["failure_reasons"] = reasons;
    j["runs"] = s.runs.size();
    j["last_run"] = last_state;
    j["trials_per_second"] = std::isfinite(rate) ? Json(rate) : Json();
    j["eta_seconds"] = std::isfinite(eta) ? Json(eta) : Json();
    std::cout << j.dump(2) << '\n';
    return 0;
  }
  std::cout << s.path << " (study " << s.spec_hash << ", shard " << s.shard << ")\n"
            << "  trials:  " << s.states.size() << "\n  done:    " << done << "\n  failed:  "
            << failed << "\n  pending: " << pending << '\n';
  for (const auto& [k, n] : outcomes)
    std::cout << "    " << k << ": " << n << " (" << proven[k] << " proven)\n";
  if (!reasons.empty()) {
    std::cout << "  failure reasons:\n";
    for (const auto& [k, n] : reasons) std::cout << "    " << n << " x " << k << '\n';
  }
  std::cout << "  runs: " << s.runs.size() << " (last: " << last_state << ")\n";
  if (std::isfinite(rate)) std::cout << "  throughput (last run): " << rate << " trials/s\n";
  if (pending > 0 && std::isfinite(eta)) std::cout << "  ETA at that rate: " << eta << " s\n";
  return 0;
}

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string output;
};

int run_merge(const MergeArgs& a) {
  require_one_rank("merge", "");
  merge_stores(a.inputs, a.output);
  const StoreSummary s = read_summary(a.output);
  std::cout << "wrote " << a.output << ": " << s.trial_ids.size() << " trials from "
            << a.inputs.size() << " file(s)\n";
  return 0;
}

}  // namespace

std::vector<Command> add_study_commands(CLI::App& app, const std::vector<std::string>& argv) {
  std::vector<Command> out;
  {
    auto a = std::make_shared<RunArgs>();
    CLI::App* c = app.add_subcommand(
        "run", "Run a study (mpirun -n R nnscape run study.yaml -o results.h5); rerun to resume");
    c->add_option("spec", a->spec, "Study spec (YAML)")->required();
    c->add_option("-o,--output", a->output, "Results file (HDF5; default: settings.output)");
    c->add_option("--shard", a->shard, "Run only shard i of k (i/k, e.g. for Slurm job arrays)")
        ->capture_default_str();
    c->add_flag("--retry-failed", a->retry_failed, "Rerun trials recorded as failed");
    c->add_option("--progress-interval", a->progress_interval,
                  "Seconds between progress lines on stderr")
        ->capture_default_str();
    c->footer("Exit codes: 0 done (failed trials are recorded), 1 error, 75 stopped by "
              "SIGTERM/SIGUSR1 with trials left (run the same command again to resume).");
    out.push_back({c, [a, argv] { return run_run(*a, argv); }});
  }
  {
    auto a = std::make_shared<StatusArgs>();
    CLI::App* c = app.add_subcommand(
        "status", "Done / failed / pending trials of a results file, failure reasons, ETA");
    c->add_option("file", a->file, "Results file (HDF5)")->required();
    c->add_flag("--json", a->json, "JSON instead of text");
    out.push_back({c, [a] { return run_status(*a); }});
  }
  {
    auto a = std::make_shared<MergeArgs>();
    CLI::App* c = app.add_subcommand(
        "merge", "Merge shard files of one study into one file (every trial exactly once)");
    c->add_option("inputs", a->inputs, "Shard results files")->required();
    c->add_option("-o,--output", a->output, "Merged results file to write")->required();
    out.push_back({c, [a] { return run_merge(*a); }});
  }
  return out;
}

}  // namespace nnscape::cli
