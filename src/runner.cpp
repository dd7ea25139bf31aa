// A study run (runner.hpp): the only place where the spec, the scheduler, the trials and the
// store meet.
//
// Order of a run: 1. read and check the spec (every rank, same result)  2. lock the output
// 3. create the file, or open it to resume  4. list the rows still to do, largest P first so the
// longest trials do not start last  5. optimizer defaults into PETSc's options database
// 6. hand rows out dynamically; each rank runs its trials and writes each record as it finishes
// 7. record how the run ended and close.
#include "nnscape/runner.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <system_error>

#include "nnscape/broadcast.hpp"
#include "nnscape/closedness.hpp"
#include "nnscape/error.hpp"
#include "nnscape/grid.hpp"
#include "nnscape/petsc.hpp"
#include "nnscape/progress.hpp"
#include "nnscape/provenance.hpp"
#include "nnscape/scheduler.hpp"
#include "nnscape/spec.hpp"
#include "nnscape/trial.hpp"

namespace nnscape {

namespace {

// Set by SIGTERM/SIGUSR1 (Slurm's warning before the time limit, scancel, preemption). The
// loop reads it between trials.
std::atomic<int> g_stop_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_stop_signal(int sig) { g_stop_signal.store(sig); }

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

// Rank 0's outcome of a step only it performs, shared so every rank throws the same error.
void agree(bool ok, const std::string& why) {
  int flag = ok ? 1 : 0;
  MPI_Bcast(&flag, 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string msg = why;
  broadcast(msg, MPI_COMM_WORLD);
  if (!flag) throw CollectiveError(msg);
}

std::string read_spec_text(const std::string& path) {
  std::string text, why;
  bool ok = true;
  if (world_rank() == 0) {
    std::error_code ec;
    std::ifstream in(path);
    if (!std::filesystem::is_regular_file(path, ec) || !in) {
      ok = false;
      why = "cannot read study spec '" + path + "': no such file or not readable";
    } else {
      text.assign(std::istreambuf_iterator<char>(in), {});
    }
  }
  agree(ok, why);
  broadcast(text, MPI_COMM_WORLD);
  return text;
}

// Runs one trial; a trial that throws becomes a failed record, never a failed run.
TrialRecord run_one(const Grid& grid, std::int64_t trial_id) {
  try {
    return run_trial(grid.trial_spec(grid.coords(trial_id)));
  } catch (const std::exception& e) {
    TrialRecord r;
    r.status = "error";
    r.error = e.what();
    return r;
  }
}

// The closedness verdict for each trial's pattern, decided once per distinct set of masks, the
// distinct sets spread over the ranks (a Z3 check can take seconds).
std::vector<PatternVerdict> pattern_verdicts(const Grid& grid,
                                             const std::vector<std::int64_t>& ids) {
  std::map<std::string, std::size_t> index;  // masks → position in `distinct`
  std::vector<std::vector<Mask>> distinct;
  std::vector<std::size_t> which;
  for (std::int64_t id : ids) {
    const TrialSpec ts = grid.trial_spec(grid.coords(id));
    const DatasetShape shape = dataset_shape(ts.data);
    std::vector<Mask> masks =
        explicit_masks(ts.masks, layer_widths(shape.d, ts.hidden, shape.m));  // dense is checked like any
    std::string key;
    for (const Mask& m : masks) {
      key += std::to_string(m.rows) + "x" + std::to_string(m.cols) + ":";
      for (std::uint8_t b : m.bits) key += b ? '1' : '0';
      key += ';';
    }
    const auto [it, fresh] = index.emplace(key, distinct.size());
    if (fresh) distinct.push_back(std::move(masks));
    which.push_back(it->second);
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0 && distinct.size() > 1)  // Z3 may take up to its time limit per pattern
    std::fprintf(stderr, "nnscape: deciding closedness of %zu distinct patterns on %d rank(s)\n",
                 distinct.size(), size);
  constexpr int kField = 40;  // bytes per string; the verdict names are shorter
  std::vector<char> mine(distinct.size() * 3 * kField, 0), all(mine.size(), 0);
  for (std::size_t k = static_cast<std::size_t>(rank); k < distinct.size();
       k += static_cast<std::size_t>(size)) {
    ClosednessResult r;
    try {
      r = check_closedness(distinct[k]);
    } catch (const std::exception& e) {
      r.verdict = "unknown";
      r.rule = "error";
      r.optimum = "unknown";
    }
    const std::string f[3] = {r.verdict, r.rule, r.optimum};
    for (int j = 0; j < 3; ++j)
      f[j].copy(mine.data() + (k * 3 + static_cast<std::size_t>(j)) * kField, kField - 1);
  }
  // Each distinct set was decided by exactly one rank and is zero elsewhere: a max gathers them.
  MPI_Allreduce(mine.data(), all.data(), static_cast<int>(mine.size()), MPI_UNSIGNED_CHAR, MPI_MAX,
                MPI_COMM_WORLD);
  std::vector<PatternVerdict> out;
  for (std::size_t w : which) {
    const char* p = all.data() + w * 3 * kField;
    out.push_back({std::string(p), std::string(p + kField), std::string(p + 2 * kField)});
  }
  return out;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGUSR1, &sa, nullptr);
}

int stop_signal_received() { return g_stop_signal.load(); }

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  try {
    std::size_t a = 0, b = 0;
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    s.index = std::stoi(text.substr(0, slash), &a);
    s.count = std::stoi(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    throw Error("--shard '" + text + "': expected i/k with integers, e.g. --shard 0/4");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw Error("--shard '" + text + "': need k >= 1 and 0 <= i < k");
  return s;
}

RunSummary run_study(const RunOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  const int rank = world_rank();

  // 1. The spec, read by rank 0 and parsed everywhere (parsing is deterministic).
  const std::string text = read_spec_text(opt.spec_path);
  std::optional<StudySpec> parsed;
  try {
    parsed = parse_study(text, opt.spec_path);
  } catch (const Error& e) {
    throw CollectiveError(e.what());
  }
  const StudySpec& spec = *parsed;
  const Grid grid(spec);
  RunSummary sum;
  sum.output = opt.output.empty() ? spec.settings.output : opt.output;
  if (sum.output.empty())
    throw CollectiveError("no output file: give -o results.h5 or settings.output in '" + opt.spec_path + "'");

  // 2. One run per file: the MPI-IO driver takes no file lock, so two runs would corrupt it.
  std::unique_ptr<RunLock> lock;
  {
    bool ok = true;
    std::string why;
    if (rank == 0) {
      try {
        lock = std::make_unique<RunLock>(sum.output);
      } catch (const Error& e) {
        ok = false;
        why = e.what();
      }
    }
    agree(ok, why);
  }

  // 3. Create, or resume.
  std::vector<std::int64_t> ids;
  for (std::int64_t id : grid.trial_ids())
    if (id % opt.shard.count == opt.shard.index) ids.push_back(id);
  int exists = 0;
  if (rank == 0) {
    std::error_code ec;
    exists = std::filesystem::exists(sum.output, ec) ? 1 : 0;
    // A creation killed before its rename leaves only <output>.creating: nothing ran yet.
    std::filesystem::remove(sum.output + ".creating", ec);
  }
  MPI_Bcast(&exists, 1, MPI_INT, 0, MPI_COMM_WORLD);
  ResultsStore store = exists ? ResultsStore::open(MPI_COMM_WORLD, sum.output, spec, opt.shard)
                              : ResultsStore::create(MPI_COMM_WORLD, sum.output, spec, grid, ids,
                                                     opt.shard, pattern_verdicts(grid, ids));

  // 4. What is left.
  std::vector<std::int64_t> todo;
  std::int64_t done0 = 0, failed0 = 0;
  std::vector<TrialState> initial;
  std::vector<std::int8_t> wrote(static_cast<std::size_t>(store.rows()), -1);
  for (std::int64_t r = 0; r < store.rows(); ++r) {
    const TrialState s = store.state(r);
    initial.push_back(s);
    if (s == TrialState::pending || (s == TrialState::failed && opt.retry_failed)) {
      todo.push_back(r);
    } else if (s == TrialState::done) {
      ++done0;
    } else {
      ++failed0;
    }
  }
  std::stable_sort(todo.begin(), todo.end(), [&](std::int64_t a, std::int64_t b) {
    return store.num_params(a) > store.num_params(b);
  });

  // 5. Optimizer options from the spec, unless the command line set them.
  for (const OptimizerEntry& o : spec.optimizers)
    for (const auto& [k, v] : o.options) set_option_default("opt_" + o.name + "_" + k, v);

  // 6. The work.
  const int run = store.begin_run(collect_provenance(MPI_COMM_WORLD, opt.command_line));
  install_stop_handlers();  // a signal that came earlier still counts
  std::shared_ptr<ProgressReporter> progress;
  SchedulerOptions sopt;
  if (rank == 0) {
    progress = std::make_shared<ProgressReporter>(store.rows(), done0, failed0);
    sopt.on_progress = [progress](const SchedulerProgress& p) { progress->report(p); };
    sopt.progress_interval = opt.progress_interval;
  }
  Scheduler scheduler(MPI_COMM_WORLD, static_cast<std::int64_t>(todo.size()), sopt);
  const std::string host = host_name();
  bool previous_failed = false;
  bool stop_sent = false;
  while (true) {
    if (g_stop_signal.load() != 0 && !stop_sent) {
      scheduler.request_stop();
      stop_sent = true;
    }
    const std::int64_t item = scheduler.next(previous_failed);
    if (item < 0) break;
    const std::int64_t row = todo[static_cast<std::size_t>(item)];
    const TrialRecord rec = run_one(grid, store.trial_id(row));
    store.write(row, rec, rank, host);
    wrote[static_cast<std::size_t>(row)] = static_cast<std::int8_t>(store.state(row));
    previous_failed = rec.status == "error";
  }
  const SchedulerProgress totals = scheduler.finish();
  if (progress) progress->close();

  // 7. How it ended: the state read at open, or what some rank wrote in this run.
  MPI_Allreduce(MPI_IN_PLACE, wrote.data(), static_cast<int>(wrote.size()), MPI_INT8_T, MPI_MAX,
                MPI_COMM_WORLD);
  std::vector<std::int8_t> merged(wrote.size());
  for (std::size_t r = 0; r < wrote.size(); ++r)
    merged[r] = wrote[r] >= 0 ? wrote[r] : static_cast<std::int8_t>(initial[r]);
  sum.rows = store.rows();
  for (std::int8_t s : merged) {
    if (s == static_cast<std::int8_t>(TrialState::done)) ++sum.done;
    else if (s == static_cast<std::int8_t>(TrialState::failed)) ++sum.failed;
    else ++sum.pending;
  }
  sum.ran = totals.done;
  int stopped = g_stop_signal.load() != 0 || totals.stopping ? 1 : 0;
  MPI_Allreduce(MPI_IN_PLACE, &stopped, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  sum.stopped = stopped != 0;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string end_time = utc_now();
  broadcast(end_time, MPI_COMM_WORLD);
  store.end_run(run, {{"end_time", end_time},
                      {"ended", sum.pending == 0 ? "complete" : sum.stopped ? "stopped" : "incomplete"},
                      {"trials_run", std::to_string(sum.ran)},
                      {"trials_done", std::to_string(sum.done)},
                      {"trials_failed", std::to_string(sum.failed)},
                      {"trials_pending", std::to_string(sum.pending)}});
  return sum;
}

}  // namespace nnscape
