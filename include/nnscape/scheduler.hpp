#pragma once
// Dynamic hand-out of work items 0..count-1 over the ranks of a communicator. It hands out
// integers and knows nothing of trials, so it can be tested and benchmarked with empty work.
//
// Every rank works, rank 0 included. Rank 0 keeps the counter in a service thread that answers
// the other ranks, so ranks stay fed while rank 0's main thread computes without calling MPI,
// whatever the interconnect (TCP-only clusters with osc pt2pt included). Needs MPI initialized
// with MPI_THREAD_MULTIPLE (nnscape::Runtime does that).
#include <mpi.h>

#include <cstdint>
#include <functional>
#include <memory>

namespace nnscape {

struct SchedulerProgress {
  std::int64_t total = 0;       // items this scheduler hands out
  std::int64_t handed_out = 0;
  std::int64_t done = 0;        // finished, failed included
  std::int64_t failed = 0;
  double elapsed_seconds = 0.0;
  bool stopping = false;        // a stop was requested: no new items
};

struct SchedulerOptions {
  // Called on rank 0 at most every progress_interval seconds (from the service thread) and
  // once at the end (from finish(), on the main thread); never two calls at once. Must be
  // thread-safe with respect to the caller's own output.
  std::function<void(const SchedulerProgress&)> on_progress;
  double progress_interval = 10.0;
};

class Scheduler {
 public:
  // Collective over comm; count is the same on every rank.
  Scheduler(MPI_Comm comm, std::int64_t count, SchedulerOptions options = {});
  ~Scheduler();  // joins the service thread; call finish() first
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // The next item for this rank, or -1 when none is left or a stop was requested. Each item is
  // handed out exactly once over all ranks. previous_failed reports how this rank's previous
  // item ended (ignored on the first call), for progress only.
  std::int64_t next(bool previous_failed = false);

  // Stop handing out items, on every rank (e.g. on SIGTERM); items already handed out still
  // finish. Not async-signal-safe: a signal handler sets a flag and the caller calls this.
  void request_stop();

  // Collective: once next() has returned -1 on this rank. Returns the totals (same on all ranks).
  SchedulerProgress finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nnscape
