// Progress lines (progress.hpp).
#include "nnscape/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

namespace nnscape {

namespace {

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", t / 60, t % 60);
  return buf;
}

}  // namespace

ProgressReporter::ProgressReporter(std::int64_t file_rows, std::int64_t already_done,
                                   std::int64_t already_failed)
    : tty_(isatty(STDERR_FILENO) == 1),
      rows_(file_rows),
      done0_(already_done),
      failed0_(already_failed) {}

void ProgressReporter::report(const SchedulerProgress& p) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool final = p.done >= p.total;
  const std::int64_t complete = done0_ + failed0_ + p.done;
  const double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.done) / p.elapsed_seconds : 0;
  const double eta = rate > 0 ? static_cast<double>(p.total - p.done) / rate : NAN;
  const double frac = rows_ > 0 ? static_cast<double>(complete) / static_cast<double>(rows_) : 1.0;
  char line[256];
  std::snprintf(line, sizeof line, "%lld/%lld trials (%.0f%%), %lld failed, %.3g trials/s, %s, ETA %s%s",
                static_cast<long long>(complete), static_cast<long long>(rows_), 100.0 * frac,
                static_cast<long long>(failed0_ + p.failed), rate,
                ("elapsed " + duration(p.elapsed_seconds)).c_str(),
                final ? "0:00" : duration(eta).c_str(), p.stopping ? " [stopping]" : "");
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K[%s] %s", bar.c_str(), line);
  } else {
    std::fprintf(stderr, "nnscape: %s\n", line);
  }
  std::fflush(stderr);
}

void ProgressReporter::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (tty_) std::fputc('\n', stderr);
}

}  // namespace nnscape
