// Scheduler: dynamic hand-out of items 0..count-1 over the ranks of a communicator.
//
// Design
// ------
// One shared counter lives on rank 0. Rank 0's main thread works like every other rank and takes
// items from that counter in-process (a std::atomic fetch-add, no MPI). The other ranks ask for
// items with two-sided messages on a private duplicate of the communicator (so they can never be
// confused with the caller's messages); a service thread on rank 0 answers them.
//
// Why a thread, and not an MPI-3 RMA counter (MPI_Fetch_and_op)? RMA is faster where the
// network does atomics in hardware (3.6e6 items/s measured with 2 ranks over shared memory),
// but on TCP-only clusters (`--mca btl self,tcp`) Open MPI's `osc rdma` is unavailable and
// `osc pt2pt` emulates the atomic with messages that only rank 0 itself can answer, i.e. only
// while rank 0 is inside an MPI call. A trial computes for seconds to minutes without calling
// MPI, so every other rank stalled for as long as rank 0 computed (2 s stalls measured). A
// thread that answers regardless of what rank 0's main thread does removes the stall on every
// interconnect. Its price is MPI_THREAD_MULTIPLE, which nnscape::Runtime requests.
//
// Why polling with backoff, and not a blocking MPI_Recv in the thread? Open MPI's blocking calls
// busy-poll: a thread parked in MPI_Recv burns a whole core. On a node with one rank per core
// that core belongs to rank 0's main thread, so a spinning service thread would halve rank 0's
// trial throughput. The thread therefore polls with MPI_Improbe: after a request it keeps
// probing without sleeping for kSpinWindow = 50 µs (back-to-back requests cost one round trip),
// then sleeps 50 µs, 100 µs, ... up to kMaxSleep = 1 ms between probes. Idle, that is about one
// wake-up per millisecond: 2.7-3.1 % of one core measured on the 2-core development VM, nearly
// all of it the cost of the timer wake-up itself (a bare sleep loop costs 2.8 % there), and at
// most ~1 ms of extra latency on the first request after a quiet spell, nothing next to a trial.
// A rank waiting for its answer (and every rank > 0 in finish()) spins for at most 2 ms and then
// sleeps the same way, so it does not take the core that the service thread needs to answer.
// Numbers: tests/bench/run_scheduler_bench.sh.
//
// Protocol (tag kTagRequest to rank 0, kTagReply back; messages are two int64 {kind, flags}):
//   kNext   -> reply: the next item, or -1 (none left or stopping). flags report this rank's
//              previous item (bit 0: there was one, bit 1: it failed), for progress counts.
//   kStop   -> no reply; rank 0 stops handing out items. MPI keeps messages from one sender in
//              order, so a rank's next() after its own request_stop() already returns -1.
//   kFinish -> no reply; sent once by each rank > 0 in finish(). The service thread exits after
//              it has one kFinish from every other rank, so no request is ever left unanswered.
//
// Fallback without MPI_THREAD_MULTIPLE (or with NNSCAPE_SCHEDULER_THREAD=0 in rank 0's
// environment, for tests and benchmarks): no thread; rank 0 answers pending requests each time
// its own code calls next(), and in finish(). Every item is still handed out exactly once, but
// the other ranks wait while rank 0 computes an item, so the balance is only as good as rank 0's
// item times. A warning says so once per process.
//
// Progress: rank 0 calls options.on_progress at most every progress_interval seconds, from the
// service thread while it runs (from the main thread inside next() without one), and once at the
// end from the main thread inside finish(). Never two calls at once. Keep it quick: while it runs
// the service thread answers nobody.
#include "nnscape/scheduler.hpp"

#include <mpi.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>

#include "nnscape/error.hpp"

namespace nnscape {

namespace {

void check_mpi(int code, const char* call, const char* file, int line) {
  if (code != MPI_SUCCESS) throw LibraryError("MPI", code, call, file, line);
}
#define NNSCAPE_SCHED_MPI(expr) check_mpi((expr), #expr, __FILE__, __LINE__)

enum Kind : std::int64_t { kNext = 1, kStop = 2, kFinish = 3 };
constexpr std::int64_t kHasPrevious = 1;
constexpr std::int64_t kPreviousFailed = 2;
constexpr int kTagRequest = 1;
constexpr int kTagReply = 2;

using Clock = std::chrono::steady_clock;

// Backoff of the service thread: keep probing without sleeping for kSpinWindow after the last
// request (a rank that just got an item with no work asks again within microseconds), then sleep
// kMinSleep, doubling up to kMaxSleep. Linux rounds short sleeps up by the 50 µs timer slack.
constexpr auto kSpinWindow = std::chrono::microseconds(50);
constexpr auto kMinSleep = std::chrono::microseconds(50);
constexpr auto kMaxSleep = std::chrono::microseconds(1000);

// Waits for requests to complete, spinning only for kWaitSpin. Open MPI's blocking calls spin
// for as long as they wait; a rank parked in MPI_Recv or MPI_Bcast would keep a core busy that
// ranks still computing (or rank 0's service thread) may need when ranks outnumber cores. The
// spin covers the service thread's longest sleep, so an answer that comes in time costs no
// extra latency; after that the waiter sleeps with the same backoff as the service thread.
constexpr auto kWaitSpin = std::chrono::microseconds(2000);

void wait_with_backoff(int n, MPI_Request* requests) {
  const auto begin = Clock::now();
  auto sleep = std::chrono::microseconds(0);
  for (;;) {
    int flag = 0;
    NNSCAPE_SCHED_MPI(MPI_Testall(n, requests, &flag, MPI_STATUSES_IGNORE));
    if (flag) return;
    if (Clock::now() - begin < kWaitSpin) continue;
    sleep = sleep.count() == 0 ? kMinSleep : std::min(2 * sleep, kMaxSleep);
    std::this_thread::sleep_for(sleep);
  }
}

bool thread_disabled_by_environment() {
  const char* v = std::getenv("NNSCAPE_SCHEDULER_THREAD");
  return v != nullptr && std::strcmp(v, "0") == 0;
}

std::int64_t previous_flags(bool has_previous, bool failed) {
  if (!has_previous) return 0;
  return kHasPrevious | (failed ? kPreviousFailed : 0);
}

}  // namespace

struct Scheduler::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  std::int64_t count = 0;
  SchedulerOptions options;
  Clock::time_point start;

  // Rank 0: the counter and the totals, shared by the main thread and the service thread.
  std::atomic<std::int64_t> next_item{0};
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> failed{0};
  std::atomic<bool> stopping{false};
  std::atomic<bool> abandon{false};  // destructor without finish(): the thread leaves at once
  bool threaded = false;
  std::thread service;
  // Touched by one thread at a time: the service thread while it runs, else the main thread.
  int finished_ranks = 0;
  Clock::time_point last_progress;
  bool progress_broken = false;

  // Every rank: this rank's own state.
  bool has_previous = false;  // an item was handed out and not reported yet
  bool exhausted = false;     // next() has returned -1
  bool stop_sent = false;
  bool finished = false;
  SchedulerProgress totals;

  double elapsed() const {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  SchedulerProgress snapshot() const {
    // Loads in this order keep failed <= done <= handed_out in every snapshot: an item is
    // counted as handed out before it can be reported done, and done before failed.
    SchedulerProgress p;
    p.total = count;
    p.failed = failed.load();
    p.done = done.load();
    p.handed_out = std::min(next_item.load(), count);
    p.stopping = stopping.load();
    p.elapsed_seconds = elapsed();
    return p;
  }

  // Rank 0: one item from the shared counter, or -1. Checking the stop flag first keeps the
  // counter from moving after a stop, so min(counter, count) is exactly the number handed out.
  std::int64_t take() {
    if (stopping.load()) return -1;
    std::int64_t i = next_item.fetch_add(1);
    return i < count ? i : -1;
  }

  void report(std::int64_t flags) {
    if (!(flags & kHasPrevious)) return;
    done.fetch_add(1);
    if (flags & kPreviousFailed) failed.fetch_add(1);
  }

  void call_progress(const SchedulerProgress& p) {
    if (!options.on_progress || progress_broken) return;
    try {
      options.on_progress(p);
    } catch (const std::exception& e) {
      // It may run on the service thread, where an exception would terminate the process.
      std::fprintf(stderr, "nnscape: progress report failed, no more reports: %s\n", e.what());
      progress_broken = true;
    } catch (...) {
      std::fprintf(stderr, "nnscape: progress report failed, no more reports\n");
      progress_broken = true;
    }
  }

  void maybe_progress() {
    if (!options.on_progress) return;
    auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_progress).count() < options.progress_interval) {
      return;
    }
    last_progress = now;
    call_progress(snapshot());
  }

  // Rank 0: answers one pending request if there is one.
  bool serve_one() {
    int flag = 0;
    MPI_Message message;
    MPI_Status status;
    NNSCAPE_SCHED_MPI(MPI_Improbe(MPI_ANY_SOURCE, kTagRequest, comm, &flag, &message, &status));
    if (!flag) return false;
    std::int64_t request[2] = {0, 0};
    NNSCAPE_SCHED_MPI(MPI_Mrecv(request, 2, MPI_INT64_T, &message, &status));
    const int source = status.MPI_SOURCE;
    switch (request[0]) {
      case kNext: {
        report(request[1]);
        std::int64_t item = take();
        // 8 bytes go out eagerly: MPI_Send returns without waiting for the receiver.
        NNSCAPE_SCHED_MPI(MPI_Send(&item, 1, MPI_INT64_T, source, kTagReply, comm));
        break;
      }
      case kStop:
        stopping.store(true);
        break;
      case kFinish:
        report(request[1]);
        ++finished_ranks;
        break;
      default:
        NNSCAPE_CHECK(false, "scheduler: unknown request kind " + std::to_string(request[0]) +
                                 " from rank " + std::to_string(source));
    }
    return true;
  }

  // Rank 0: answers requests until every other rank has sent kFinish (the service thread's body;
  // the main thread's in finish() without a thread).
  void serve_until_finished() {
    auto last_request = Clock::now();
    auto sleep = std::chrono::microseconds(0);
    while (finished_ranks < size - 1 && !abandon.load()) {
      if (serve_one()) {
        last_request = Clock::now();
        sleep = std::chrono::microseconds(0);
        maybe_progress();
        continue;
      }
      maybe_progress();
      if (Clock::now() - last_request < kSpinWindow) continue;
      sleep = sleep.count() == 0 ? kMinSleep : std::min(2 * sleep, kMaxSleep);
      std::this_thread::sleep_for(sleep);
    }
  }

  void service_main() noexcept {
    try {
      serve_until_finished();
    } catch (const std::exception& e) {
      // Nobody could answer the other ranks any more: they would wait forever. End the job.
      std::fprintf(stderr, "nnscape: scheduler service thread failed: %s\n", e.what());
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
};

Scheduler::Scheduler(MPI_Comm comm, std::int64_t count, SchedulerOptions options)
    : impl_(std::make_unique<Impl>()) {
  NNSCAPE_CHECK(count >= 0, "scheduler: item count must be >= 0, got " + std::to_string(count));
  Impl& s = *impl_;
  s.count = count;
  s.options = std::move(options);
  NNSCAPE_SCHED_MPI(MPI_Comm_dup(comm, &s.comm));
  // Errors on the private communicator come back as codes (and become exceptions) instead of
  // aborting inside MPI, so the caller sees where it happened.
  NNSCAPE_SCHED_MPI(MPI_Comm_set_errhandler(s.comm, MPI_ERRORS_RETURN));
  NNSCAPE_SCHED_MPI(MPI_Comm_rank(s.comm, &s.rank));
  NNSCAPE_SCHED_MPI(MPI_Comm_size(s.comm, &s.size));
  s.start = Clock::now();
  s.last_progress = s.start;
  if (s.rank != 0 || s.size == 1) return;

  int provided = MPI_THREAD_SINGLE;
  NNSCAPE_SCHED_MPI(MPI_Query_thread(&provided));
  s.threaded = provided == MPI_THREAD_MULTIPLE && !thread_disabled_by_environment();
  if (!s.threaded) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      std::fprintf(stderr,
                   "nnscape: warning: scheduler without a service thread (%s); other ranks get "
                   "new items only when rank 0 finishes one of its own\n",
                   provided == MPI_THREAD_MULTIPLE ? "NNSCAPE_SCHEDULER_THREAD=0"
                                                   : "MPI lacks MPI_THREAD_MULTIPLE");
    }
    return;
  }
  s.service = std::thread([&s] { s.service_main(); });
}

Scheduler::~Scheduler() {
  if (!impl_) return;
  Impl& s = *impl_;
  if (s.service.joinable()) {
    // Only reached without finish() (e.g. an exception unwinding rank 0): stop answering. Other
    // ranks still asking would wait; such a job is failing anyway and mpiexec ends it.
    s.abandon.store(true);
    s.service.join();
  }
  int finalized = 0;
  if (s.comm != MPI_COMM_NULL && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) {
    (void)MPI_Comm_free(&s.comm);
  }
}

std::int64_t Scheduler::next(bool previous_failed) {
  Impl& s = *impl_;
  NNSCAPE_CHECK(!s.finished, "scheduler: next() after finish()");
  if (s.exhausted) return -1;
  const std::int64_t flags = previous_flags(s.has_previous, previous_failed);
  std::int64_t item = -1;
  if (s.rank == 0) {
    s.report(flags);
    if (!s.threaded) {
      while (s.serve_one()) {
      }
    }
    item = s.take();
    if (!s.threaded) s.maybe_progress();
  } else {
    std::int64_t request[2] = {kNext, flags};
    MPI_Request requests[2];
    NNSCAPE_SCHED_MPI(MPI_Irecv(&item, 1, MPI_INT64_T, 0, kTagReply, s.comm, &requests[0]));
    NNSCAPE_SCHED_MPI(MPI_Isend(request, 2, MPI_INT64_T, 0, kTagRequest, s.comm, &requests[1]));
    wait_with_backoff(2, requests);
  }
  s.has_previous = item >= 0;
  s.exhausted = item < 0;
  return item;
}

void Scheduler::request_stop() {
  Impl& s = *impl_;
  if (s.finished) return;
  if (s.rank == 0) {
    s.stopping.store(true);
  } else if (!s.stop_sent) {
    std::int64_t request[2] = {kStop, 0};
    NNSCAPE_SCHED_MPI(MPI_Send(request, 2, MPI_INT64_T, 0, kTagRequest, s.comm));
    s.stop_sent = true;
  }
}

SchedulerProgress Scheduler::finish() {
  Impl& s = *impl_;
  if (s.finished) return s.totals;
  // An item not reported through next() (the caller skipped the final next()) counts as done.
  const std::int64_t flags = previous_flags(s.has_previous, false);
  s.has_previous = false;
  if (s.rank == 0) {
    s.report(flags);
    if (s.threaded) {
      s.service.join();  // returns once every other rank has sent kFinish
    } else {
      s.serve_until_finished();
    }
    s.totals = s.snapshot();
  } else {
    std::int64_t request[2] = {kFinish, flags};
    NNSCAPE_SCHED_MPI(MPI_Send(request, 2, MPI_INT64_T, 0, kTagRequest, s.comm));
  }
  // SchedulerProgress is trivially copyable and every rank runs the same binary. Ranks that ran
  // out of items wait here while rank 0 finishes its last one: without spinning, so they leave
  // the cores to ranks still computing on an oversubscribed node.
  MPI_Request bcast;
  NNSCAPE_SCHED_MPI(MPI_Ibcast(&s.totals, sizeof s.totals, MPI_BYTE, 0, s.comm, &bcast));
  wait_with_backoff(1, &bcast);
  s.finished = true;
  s.exhausted = true;
  if (s.rank == 0) s.call_progress(s.totals);
  return s.totals;
}

}  // namespace nnscape
