#pragma once
// The results store: one HDF5 file per run or shard, written by every rank at once through
// MPI-IO. Schema (version 1; the README's "Results file" section is the reader's guide):
//
//   /study            attrs schema_version, spec_hash, name, full_size, shard ("i/k"), rows
//   /study/spec       the spec text (fixed-length string)
//   /axes/<axis>      value labels of each axis, in coordinate order
//   /trials           one row per trial of this file (compound): description (trial_id,
//                     coordinates, seeds, P, N, pattern verdict, slots into /values), state (0 pending,
//                     1 done, 2 failed), every scalar of the trial record, error message
//   /values/theta, /values/hessian, /values/gauss_newton   float64, NaN-filled; a trial's
//                     entries are [offset, offset + count) of its row
//   /values/trajectory  rows × 5 (iteration, loss, grad_norm, param_norm, true_loss)
//   /provenance/run_<k>  one group per invocation (attrs: versions, hosts, ranks, Slurm ids,
//                     command line, start/end times, how it ended)
//
// Crash safety: every dataset is allocated and filled at creation, which is collective and
// atomic (written to <path>.creating, flushed, closed, renamed). After that a trial writes only
// raw data into space it owns (its values first, its row last), so a run killed at any moment
// leaves a readable file whose rows are either pending or complete. Row slots and offsets
// depend only on the study and the set of trials in the file, never on ranks or timing.
#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/grid.hpp"
#include "nnscape/provenance.hpp"
#include "nnscape/record.hpp"
#include "nnscape/spec.hpp"

namespace nnscape {

inline constexpr int kSchemaVersion = 2;

enum class TrialState : std::int8_t { pending = 0, done = 1, failed = 2 };

// The closedness checker's verdict on a trial's pattern (closedness.hpp), stored with the trial.
struct PatternVerdict {
  std::string closedness;  // closed | not_closed | unknown
  std::string rule;        // the rule that decided
  std::string optimum;     // optimum_guaranteed | optimum_may_not_exist | unknown
};

struct Shard {
  int index = 0;
  int count = 1;
  std::string label() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// What a file holds, read without MPI (status, merge, tests).
struct StoreSummary {
  std::string path;
  std::string spec_text;
  std::string spec_hash;
  std::string shard;
  std::int64_t full_size = 0;
  std::vector<std::int64_t> trial_ids;  // per row
  std::vector<TrialState> states;       // per row
  std::vector<std::string> statuses;    // per row: point type, "error", or "" when pending
  std::vector<bool> certified;          // per row: the status is proven (verdict.hpp)
  std::vector<std::string> errors;      // per row
  std::vector<double> finished_at;      // per row: Unix time, NaN when pending
  std::vector<Provenance> runs;         // oldest first
};

class ResultsStore {
 public:
  // Collective over comm. Creates `path` for the given trial ids (ascending) of the grid, with
  // each trial's pattern verdict (parallel to trial_ids; empty: none). Fails if the file exists.
  static ResultsStore create(MPI_Comm comm, const std::string& path, const StudySpec& spec,
                             const Grid& grid, const std::vector<std::int64_t>& trial_ids,
                             const Shard& shard, const std::vector<PatternVerdict>& verdicts = {});
  // Collective. Opens an existing file for resuming; throws nnscape::Error when it is not an
  // nnscape results file, has another schema version, or was made from a spec with another
  // hash or for another shard.
  static ResultsStore open(MPI_Comm comm, const std::string& path, const StudySpec& spec,
                           const Shard& shard);

  ResultsStore(ResultsStore&&) noexcept;
  ResultsStore& operator=(ResultsStore&&) noexcept;
  ~ResultsStore();

  std::int64_t rows() const;
  std::int64_t trial_id(std::int64_t row) const;
  std::int64_t num_params(std::int64_t row) const;
  TrialState state(std::int64_t row) const;  // as read at open/create, updated by write()

  // Collective: appends /provenance/run_<k> with these entries and returns k.
  int begin_run(const Provenance& entries);
  // Not collective: any rank writes the rows it ran, as each trial finishes.
  void write(std::int64_t row, const TrialRecord& record, int rank, const std::string& host);
  // Collective: records how the run ended and closes the file (flushing it).
  void end_run(int run, const Provenance& entries);

 private:
  friend void merge_stores(const std::vector<std::string>&, const std::string&);
  void end_run_without_provenance();
  struct Impl;
  explicit ResultsStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Not collective; opens read-only with the default (POSIX) driver.
StoreSummary read_summary(const std::string& path);

// Not collective (one rank). Writes `output` holding every trial of the inputs' grid exactly
// once, with each input's provenance kept under /provenance/<input name>_run_<k>. Throws when
// the inputs disagree on the spec, a trial appears twice, or one is missing (pending anywhere
// or in no input).
void merge_stores(const std::vector<std::string>& inputs, const std::string& output);

// Takes a lock on `path` + ".lock" for this process's lifetime (fcntl, so it dies with the
// process, also by kill -9). Throws when another process holds it.
class RunLock {
 public:
  explicit RunLock(const std::string& results_path);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace nnscape
