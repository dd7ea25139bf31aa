// Scheduler benchmark: how fast items are handed out, and what rank 0's service thread costs while
// it waits. Not a test (no pass/fail); tests/bench/run_scheduler_bench.sh runs it with 2 and 3
// ranks, over shared memory and over TCP only.
//
//   mpiexec -n 2 scheduler_bench [--items N ...] [--idle-seconds S]
//
// Steps (every step prints one line from rank 0):
//  1. "all":    every rank, rank 0 included, takes empty items until none are left; items/s and
//               each rank's share (rank 0 takes its items from the atomic counter in-process,
//               so with empty items it takes most of them: this is the in-process rate).
//  2. "remote": rank 0 takes none, the others ask for every item: the message round trip through
//               rank 0's service thread, in items/s and µs per next() on the asking ranks.
//  3. "fed":    rank 0 computes 2 s without MPI calls while the others take 1 ms items; the
//               mean µs the others spend in next() (hand-out latency with rank 0 busy).
//  4. "idle":   the scheduler exists but nobody asks for S seconds while every main thread
//               sleeps; rank 0's process CPU time over that time, minus the same measurement
//               without a scheduler (Open MPI's own threads), is the service thread's idle cost.
//  5. "compute": rank 0 runs a fixed CPU loop (no MPI calls) with and without an idle scheduler;
//               the time ratio is the slowdown the idle thread causes to rank 0's own work.
#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nnscape/runtime.hpp"
#include "nnscape/scheduler.hpp"

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double now() { return MPI_Wtime(); }

double compute_loop_step(double x) {
  for (int i = 0; i < 10000; ++i) x = std::sqrt(x + 1.0);
  return x;
}

double compute_loop(std::int64_t n) {
  double x = 1.0;
  for (std::int64_t i = 0; i < n; ++i) x = std::sqrt(x + 1.0);
  return x;
}

// One step of dispatch: returns nothing, prints on rank 0.
void dispatch(const char* mode, std::int64_t count, bool rank0_works, int rank, int size) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = now();
  nnscape::Scheduler scheduler(MPI_COMM_WORLD, count);
  std::int64_t mine = 0;
  double asking = 0.0;  // wall time inside next() on this rank
  if (rank != 0 || rank0_works) {
    for (;;) {
      const double a = now();
      const std::int64_t i = scheduler.next();
      asking += now() - a;
      if (i < 0) break;
      ++mine;
    }
  }
  nnscape::SchedulerProgress totals = scheduler.finish();
  const double seconds = now() - t0;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(size));
  MPI_Gather(&mine, 1, MPI_INT64_T, counts.data(), 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  // Mean µs per next() over the asking ranks > 0 (rank 0's own calls are in-process).
  double remote_time = rank == 0 ? 0.0 : asking;
  double remote_calls = rank == 0 ? 0.0 : static_cast<double>(mine + 1);
  double sums[2] = {0.0, 0.0};
  double local[2] = {remote_time, remote_calls};
  MPI_Reduce(local, sums, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank != 0) return;
  std::string shares;
  for (int r = 0; r < size; ++r) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s%.1f%%", r ? "/" : "",
                  100.0 * static_cast<double>(counts[static_cast<std::size_t>(r)]) /
                      static_cast<double>(count));
    shares += buf;
  }
  char latency[64] = "";
  if (!rank0_works) std::snprintf(latency, sizeof latency, "  %.1f us per next()", 1e6 * sums[0] / sums[1]);
  std::printf("%-8s np=%d items=%-8lld %8.3f s %10.0f items/s  shares %s%s%s\n", mode, size,
              static_cast<long long>(count), seconds, static_cast<double>(count) / seconds,
              shares.c_str(), latency, totals.done == count ? "" : "  (MISMATCH)");
  std::fflush(stdout);
}

// Rank 0 computes for `seconds` without MPI calls while the others take items worth 1 ms of
// (sleeping) work each: the mean time the others spend inside next() is the hand-out latency a
// real study sees, with rank 0's main thread busy.
void fed(double seconds, int rank, int size) {
  MPI_Barrier(MPI_COMM_WORLD);
  nnscape::Scheduler scheduler(MPI_COMM_WORLD, 1000000000);
  std::int64_t mine = 0;
  double asking = 0.0;
  if (rank == 0) {
    const double end = now() + seconds;
    volatile double sink = 1.0;
    while (now() < end) sink = compute_loop_step(sink);
    scheduler.request_stop();
  } else {
    for (;;) {
      const double a = now();
      const std::int64_t i = scheduler.next();
      asking += now() - a;
      if (i < 0) break;
      ++mine;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  (void)scheduler.finish();
  double local[2] = {asking, static_cast<double>(mine)};
  double sums[2] = {0.0, 0.0};
  MPI_Reduce(local, sums, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("fed      np=%d rank 0 computing %.1f s: others took %.0f items of 1 ms, "
                "%.1f us per next()\n",
                size, seconds, sums[1], 1e6 * sums[0] / std::max(1.0, sums[1] + (size - 1)));
    std::fflush(stdout);
  }
}

// Rank 0's process CPU over `seconds` of sleeping main threads, with or without a scheduler.
double idle_cpu(double seconds, bool with_scheduler, int rank) {
  MPI_Barrier(MPI_COMM_WORLD);
  double used = 0.0;
  {
    std::unique_ptr<nnscape::Scheduler> scheduler;
    if (with_scheduler) scheduler = std::make_unique<nnscape::Scheduler>(MPI_COMM_WORLD, 0);
    // Let the thread reach its longest sleep before measuring.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const double c0 = cpu_seconds();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    used = cpu_seconds() - c0;
    if (scheduler) {
      (void)scheduler->next();
      (void)scheduler->finish();
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return rank == 0 ? used : 0.0;
}

// A barrier that sleeps while it waits: Open MPI's MPI_Barrier busy-polls, and ranks spinning in
// it would take CPU from rank 0's timed loop on a machine with few cores.
void sleepy_barrier() {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  for (int flag = 0;;) {
    MPI_Test(&request, &flag, MPI_STATUS_IGNORE);
    if (flag) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Wall time of rank 0's fixed loop, others sleeping, with or without an idle scheduler.
double compute_seconds(std::int64_t n, bool with_scheduler, int rank) {
  MPI_Barrier(MPI_COMM_WORLD);
  double t = 0.0;
  {
    std::unique_ptr<nnscape::Scheduler> scheduler;
    if (with_scheduler) scheduler = std::make_unique<nnscape::Scheduler>(MPI_COMM_WORLD, 0);
    if (rank == 0) {
      const double t0 = now();
      volatile double sink = compute_loop(n);
      (void)sink;
      t = now() - t0;
    }
    sleepy_barrier();
    if (scheduler) {
      (void)scheduler->next();
      (void)scheduler->finish();
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return t;
}

void usage() {
  std::fprintf(stderr,
               "usage: scheduler_bench [--items N]... [--remote-items N]... [--idle-seconds S]\n"
               "  --items N         empty items for the \"all\" step (repeatable; default 1e4 1e5 1e6)\n"
               "  --remote-items N  items for the \"remote\" step (repeatable; default 1e4 1e5)\n"
               "  --idle-seconds S  length of the idle measurement (default 3)\n");
}

}  // namespace

int main(int argc, char** argv) {
  nnscape::Runtime runtime(&argc, &argv);
  const int rank = runtime.rank();
  const int size = runtime.size();
  std::vector<std::int64_t> items, remote_items;
  double idle_seconds = 3.0;
  for (int a = 1; a < argc; ++a) {
    const bool has_value = a + 1 < argc;
    if (std::strcmp(argv[a], "--items") == 0 && has_value) {
      items.push_back(static_cast<std::int64_t>(std::atof(argv[++a])));
    } else if (std::strcmp(argv[a], "--remote-items") == 0 && has_value) {
      remote_items.push_back(static_cast<std::int64_t>(std::atof(argv[++a])));
    } else if (std::strcmp(argv[a], "--idle-seconds") == 0 && has_value) {
      idle_seconds = std::atof(argv[++a]);
    } else {
      if (rank == 0) usage();
      return 1;
    }
  }
  if (items.empty()) items = {10000, 100000, 1000000};
  if (remote_items.empty()) remote_items = {10000, 100000};
  if (size < 2 && rank == 0) std::printf("(1 rank: no service thread; run with 2 or 3 ranks)\n");

  for (std::int64_t n : items) dispatch("all", n, true, rank, size);
  if (size > 1) {
    for (std::int64_t n : remote_items) dispatch("remote", n, false, rank, size);
  }

  if (size > 1) fed(2.0, rank, size);

  const double base = idle_cpu(idle_seconds, false, rank);
  const double with = idle_cpu(idle_seconds, true, rank);
  if (rank == 0) {
    std::printf("idle     np=%d rank 0 CPU over %.1f s asleep: %.4f s without scheduler, %.4f s "
                "with: service thread %.2f%% of a core\n",
                size, idle_seconds, base, with, 100.0 * (with - base) / idle_seconds);
  }

  // About one second of work on this machine; the fastest of three runs counts.
  const std::int64_t n = 60000000;
  double plain = 1e30, served = 1e30;
  for (int k = 0; k < 3; ++k) {
    plain = std::min(plain, compute_seconds(n, false, rank));
    served = std::min(served, compute_seconds(n, true, rank));
  }
  if (rank == 0) {
    std::printf("compute  np=%d rank 0 fixed loop %.3f s alone, %.3f s with an idle scheduler: "
                "%+.1f%%\n",
                size, plain, served, 100.0 * (served / plain - 1.0));
  }
  return 0;
}
