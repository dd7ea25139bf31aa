#pragma once
// Progress of a run on stderr: a live bar on a terminal, plain periodic lines otherwise (Slurm
// logs). Rank 0 only.
#include <cstdint>
#include <mutex>

#include "nnscape/scheduler.hpp"

namespace nnscape {

class ProgressReporter {
 public:
  // already_done / already_failed: trials complete in the file before this run started.
  ProgressReporter(std::int64_t file_rows, std::int64_t already_done, std::int64_t already_failed);
  // Thread-safe (the scheduler calls it from its service thread).
  void report(const SchedulerProgress& p);
  // Ends the live line on a terminal.
  void close();

 private:
  std::mutex mutex_;
  bool tty_;
  std::int64_t rows_, done0_, failed0_;
};

}  // namespace nnscape
