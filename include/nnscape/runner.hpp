#pragma once
// A study run: spec → grid → scheduler → trial → store, with resume, shards and progress.
// Collective on MPI_COMM_WORLD; each trial runs on one rank (PETSC_COMM_SELF).
#include <cstdint>
#include <string>
#include <vector>

#include "nnscape/store.hpp"

namespace nnscape {

struct RunOptions {
  std::string spec_path;
  std::string output;  // empty: the spec's settings.output
  Shard shard;
  bool retry_failed = false;     // rerun trials recorded as failed
  double progress_interval = 10.0;  // seconds between plain progress lines (not on a TTY)
  std::vector<std::string> command_line;  // for provenance
};

struct RunSummary {
  std::string output;
  std::int64_t rows = 0;      // trials in the file
  std::int64_t ran = 0;       // trials this invocation ran
  std::int64_t done = 0;      // in the file at the end, failed excluded
  std::int64_t failed = 0;
  std::int64_t pending = 0;
  bool stopped = false;       // SIGTERM/SIGUSR1 stopped it before the end
  double seconds = 0.0;
};

// Exit code for a run stopped by a signal with trials left: resumable (EX_TEMPFAIL).
inline constexpr int kExitStopped = 75;

// Throws nnscape::Error (the same on every rank) for a bad spec, a file another run is writing,
// a resume with another spec, ... before any trial runs. A failing trial does not throw: it is
// recorded as failed and the run goes on.
RunSummary run_study(const RunOptions& options);

// SIGTERM and SIGUSR1 (Slurm's warning before the time limit, scancel, preemption) ask a run to
// stop taking trials. main() installs the handler before MPI starts when the command is `run`,
// so a signal during start-up is kept, not fatal; run_study installs it too. Idempotent; the
// handler stays until the process exits.
void install_stop_handlers();
int stop_signal_received();  // the signal number, or 0

// "2/8" → {2, 8}; throws naming the problem.
Shard parse_shard(const std::string& text);

}  // namespace nnscape
