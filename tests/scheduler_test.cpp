// ranks: 1 2 3
// Scheduler room: every item handed out exactly once, every rank (rank 0 included) working,
// other ranks fed while rank 0 computes without calling MPI, stop requests from any rank, count 0,
// progress reports and finish() totals. tests/scheduler_tcp_test.sh runs this binary again over
// TCP only (`--mca btl self,tcp --mca osc pt2pt`) and without the service thread.
//
// MPI manners: failures are EXPECTs on data that every rank computes the same way, or on rank 0
// after a gather, so a failing check never leaves one rank waiting in a collective.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/scheduler.hpp"

namespace nnscape {
namespace {

int world_rank() {
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int world_size() {
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

// Every rank's items, concatenated on rank 0 (empty elsewhere).
std::vector<std::int64_t> gather_items(const std::vector<std::int64_t>& local) {
  const int size = world_size();
  int n = static_cast<int>(local.size());
  std::vector<int> counts(static_cast<std::size_t>(size)), displs(static_cast<std::size_t>(size));
  MPI_Gather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::exclusive_scan(counts.begin(), counts.end(), displs.begin(), 0);
  std::vector<std::int64_t> all(world_rank() == 0 ? static_cast<std::size_t>(displs.back() + counts.back())
                                                  : 0);
  MPI_Gatherv(local.data(), n, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T, 0,
              MPI_COMM_WORLD);
  return all;
}

// Every rank's local count on rank 0.
std::vector<std::int64_t> gather_counts(std::int64_t local) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(world_size()));
  MPI_Gather(&local, 1, MPI_INT64_T, all.data(), 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  return all;
}

// Burns CPU for `seconds` without any MPI call, as a trial does.
double compute_without_mpi(double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  double x = 1.0;
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 10000; ++i) x = std::sqrt(x + 1.0);
  }
  return x;
}

void sleep_ms(double ms) { std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms)); }

// Whether rank 0 runs the service thread (it does unless MPI lacks MPI_THREAD_MULTIPLE or
// NNSCAPE_SCHEDULER_THREAD=0 is set, as tests/scheduler_tcp_test.sh does for the fallback).
// Rank 0 decides, so every rank skips or runs a test alike.
bool rank0_has_service_thread() {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  const char* env = std::getenv("NNSCAPE_SCHEDULER_THREAD");
  int threaded = provided == MPI_THREAD_MULTIPLE && !(env && std::strcmp(env, "0") == 0);
  MPI_Bcast(&threaded, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return threaded != 0 && world_size() > 1;
}

void expect_sane(const SchedulerProgress& p, std::int64_t count) {
  EXPECT_EQ(p.total, count);
  EXPECT_GE(p.failed, 0);
  EXPECT_LE(p.failed, p.done);
  EXPECT_LE(p.done, p.handed_out);
  EXPECT_LE(p.handed_out, p.total);
  EXPECT_GE(p.elapsed_seconds, 0.0);
}

TEST(Scheduler, EveryItemExactlyOnceWithUnevenWork) {
  const int rank = world_rank();
  for (std::int64_t count : {1, 2, 7, 1000}) {
    SCOPED_TRACE("count " + std::to_string(count));
    Scheduler scheduler(MPI_COMM_WORLD, count);
    std::vector<std::int64_t> mine;
    for (std::int64_t i; (i = scheduler.next()) >= 0;) {
      mine.push_back(i);
      // Uneven work: rank 0 is slowest, and items differ.
      if (rank == 0 && i % 50 == 0) compute_without_mpi(0.01);
      if (i % 3 == rank % 3) sleep_ms(0.1);
    }
    EXPECT_EQ(scheduler.next(), -1);  // stays exhausted
    SchedulerProgress totals = scheduler.finish();
    EXPECT_EQ(totals.total, count);
    EXPECT_EQ(totals.handed_out, count);
    EXPECT_EQ(totals.done, count);
    EXPECT_EQ(totals.failed, 0);
    EXPECT_FALSE(totals.stopping);
    // finish() twice gives the same totals without communicating again.
    EXPECT_EQ(scheduler.finish().done, count);

    std::vector<std::int64_t> all = gather_items(mine);
    if (rank == 0) {
      std::sort(all.begin(), all.end());
      std::vector<std::int64_t> expected(static_cast<std::size_t>(count));
      std::iota(expected.begin(), expected.end(), 0);
      EXPECT_EQ(all, expected);
    }
  }
}

TEST(Scheduler, EveryRankWorksRankZeroIncluded) {
  // With 1 ms per item and 200 items per rank, a rank that got no item would mean a master
  // that does no work or a starved rank.
  const int size = world_size();
  Scheduler scheduler(MPI_COMM_WORLD, 200 * size);
  std::int64_t got = 0;
  for (std::int64_t i; (i = scheduler.next()) >= 0;) {
    ++got;
    sleep_ms(1.0);
  }
  SchedulerProgress totals = scheduler.finish();
  EXPECT_EQ(totals.done, 200 * size);
  std::vector<std::int64_t> counts = gather_counts(got);
  if (world_rank() == 0) {
    for (int r = 0; r < size; ++r) EXPECT_GE(counts[static_cast<std::size_t>(r)], 10) << "rank " << r;
    EXPECT_EQ(std::accumulate(counts.begin(), counts.end(), std::int64_t{0}), 200 * size);
  }
}

TEST(Scheduler, CountZero) {
  Scheduler scheduler(MPI_COMM_WORLD, 0);
  EXPECT_EQ(scheduler.next(), -1);
  EXPECT_EQ(scheduler.next(), -1);
  SchedulerProgress totals = scheduler.finish();
  EXPECT_EQ(totals.total, 0);
  EXPECT_EQ(totals.handed_out, 0);
  EXPECT_EQ(totals.done, 0);
  EXPECT_EQ(totals.failed, 0);
}

TEST(Scheduler, NegativeCountRefused) {
  // Refused on every rank alike, before any communication.
  EXPECT_THROW(Scheduler(MPI_COMM_WORLD, -1), Error);
}

TEST(Scheduler, OthersKeepGettingItemsWhileRankZeroComputes) {
  // The failure this guards against: other ranks waiting for rank 0 to call MPI (an RMA counter
  // under osc pt2pt, or a scheduler without the service thread).
  if (!rank0_has_service_thread()) GTEST_SKIP() << "needs >1 rank and rank 0's service thread";
  const int rank = world_rank();
  const std::int64_t count = 1000000;
  Scheduler scheduler(MPI_COMM_WORLD, count);
  std::int64_t first = -1;
  if (rank == 0) first = scheduler.next();  // before anyone else can ask: item 0
  MPI_Barrier(MPI_COMM_WORLD);
  std::vector<std::int64_t> mine;
  std::int64_t after_compute = -1;
  if (rank == 0) {
    mine.push_back(first);
    compute_without_mpi(1.5);
    // The counter's value now is 1 + the items the others took while rank 0 computed.
    after_compute = scheduler.next(false);
    mine.push_back(after_compute);
    scheduler.request_stop();
    EXPECT_EQ(scheduler.next(), -1);
  } else {
    for (std::int64_t i; (i = scheduler.next()) >= 0;) {
      mine.push_back(i);
      sleep_ms(1.0);
    }
  }
  SchedulerProgress totals = scheduler.finish();
  EXPECT_TRUE(totals.stopping);
  EXPECT_EQ(totals.done, totals.handed_out);
  MPI_Bcast(&after_compute, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  // Items below after_compute that this rank took, i.e. taken while rank 0 was computing.
  std::int64_t during = 0;
  if (rank != 0) {
    during = std::count_if(mine.begin(), mine.end(), [&](std::int64_t i) { return i < after_compute; });
  }
  std::vector<std::int64_t> counts = gather_counts(during);
  std::vector<std::int64_t> all = gather_items(mine);
  if (rank == 0) {
    EXPECT_EQ(first, 0);
    for (int r = 1; r < world_size(); ++r) {
      std::printf("rank %d took %lld items while rank 0 computed for 1.5 s\n", r,
                  static_cast<long long>(counts[static_cast<std::size_t>(r)]));
      // ~1000 are possible in 1.5 s at 1 ms per item; 10 still fails a stalled scheduler.
      EXPECT_GE(counts[static_cast<std::size_t>(r)], 10) << "rank " << r << " starved while rank 0 computed";
    }
    EXPECT_EQ(static_cast<std::int64_t>(all.size()), totals.handed_out);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "an item was handed out twice";
    EXPECT_LT(totals.handed_out, count);
  }
}

TEST(Scheduler, StopFromOneRankStopsEverybody) {
  // The last rank asks for the stop: a non-zero rank whenever there are several.
  const int rank = world_rank();
  const int stopper = world_size() - 1;
  const std::int64_t count = 1000000000;
  Scheduler scheduler(MPI_COMM_WORLD, count);
  std::int64_t got = 0;
  bool stopper_saw_end = false;
  for (std::int64_t i; (i = scheduler.next()) >= 0;) {
    ++got;
    if (rank == stopper && got == 5) {
      scheduler.request_stop();
      // Messages from one rank stay in order: the stop is seen before the next request.
      stopper_saw_end = scheduler.next() == -1;
      break;
    }
    sleep_ms(1.0);
  }
  if (rank == stopper) {
    EXPECT_TRUE(stopper_saw_end);
  }
  SchedulerProgress totals = scheduler.finish();  // would hang if some rank kept getting items
  EXPECT_TRUE(totals.stopping);
  EXPECT_EQ(totals.done, totals.handed_out);
  std::int64_t sum = 0;
  MPI_Allreduce(&got, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(totals.handed_out, sum);
  EXPECT_LT(totals.handed_out, count);
}

TEST(Scheduler, ProgressReportsSaneNumbers) {
  const int rank = world_rank();
  const std::int64_t count = 300;
  const double interval = 0.05;
  std::mutex mutex;
  std::vector<SchedulerProgress> reports;
  SchedulerOptions options;
  options.progress_interval = interval;
  options.on_progress = [&](const SchedulerProgress& p) {
    std::lock_guard<std::mutex> lock(mutex);
    reports.push_back(p);
  };
  Scheduler scheduler(MPI_COMM_WORLD, count, options);
  std::int64_t expected_failed = 0;
  bool previous_failed = false;
  for (std::int64_t i; (i = scheduler.next(previous_failed)) >= 0;) {
    sleep_ms(2.0);
    previous_failed = i % 7 == 0;
  }
  for (std::int64_t i = 0; i < count; i += 7) ++expected_failed;
  SchedulerProgress totals = scheduler.finish();
  EXPECT_EQ(totals.done, count);
  EXPECT_EQ(totals.failed, expected_failed);
  EXPECT_EQ(totals.handed_out, count);

  std::lock_guard<std::mutex> lock(mutex);
  if (rank != 0) {
    EXPECT_TRUE(reports.empty()) << "progress is reported on rank 0 only";
    return;
  }
  // At least 2 ms * 300 / 3 ranks = 0.2 s of work at 0.05 s intervals: periodic reports plus
  // the final one (a loaded machine only makes the run longer).
  ASSERT_GE(reports.size(), 2u);
  for (const SchedulerProgress& p : reports) expect_sane(p, count);
  const SchedulerProgress& last = reports.back();
  EXPECT_EQ(last.done, count);
  EXPECT_EQ(last.failed, expected_failed);
  EXPECT_EQ(last.handed_out, count);
  EXPECT_FALSE(last.stopping);
  EXPECT_GE(reports.front().elapsed_seconds, interval * 0.99);
  for (std::size_t k = 1; k < reports.size(); ++k) {
    EXPECT_GE(reports[k].done, reports[k - 1].done);
    EXPECT_GE(reports[k].elapsed_seconds, reports[k - 1].elapsed_seconds);
    // "At most every interval" holds for the periodic reports; the final one may come sooner.
    if (k + 1 < reports.size()) {
      EXPECT_GE(reports[k].elapsed_seconds - reports[k - 1].elapsed_seconds, interval * 0.99);
    }
  }
}

TEST(Scheduler, SchedulersInSequenceAndFinishWithoutFinalNext) {
  // Each scheduler has its own communicator and service thread; one after another must not mix
  // messages. A rank that calls finish() with its last item unreported still counts it done.
  const int rank = world_rank();
  for (int round = 0; round < 5; ++round) {
    const std::int64_t count = 10 + round;
    Scheduler scheduler(MPI_COMM_WORLD, count);
    std::int64_t got = 0;
    for (std::int64_t i; (i = scheduler.next()) >= 0;) {
      ++got;
      if (rank == 0 && got == 1 && round % 2 == 1) {
        scheduler.request_stop();  // rank 0 stops this round; its item is reported by finish()
        break;
      }
    }
    SchedulerProgress totals = scheduler.finish();
    std::int64_t sum = 0;
    MPI_Allreduce(&got, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    EXPECT_EQ(totals.handed_out, sum);
    EXPECT_EQ(totals.done, sum);
    if (round % 2 == 0) {
      EXPECT_EQ(sum, count);
    }
    EXPECT_EQ(totals.stopping, round % 2 == 1);
  }
}

}  // namespace
}  // namespace nnscape
