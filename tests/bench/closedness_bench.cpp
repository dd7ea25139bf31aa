// Time per closedness check (closedness.hpp) for 2×2 and 3×3 one-hidden-layer patterns, and the
// issue's target: every two-factor pattern with d, n, m <= 2 decided (not "unknown") in under
// 1 s each. The sweep reports its slowest check and fails (SkipWithError) if any is undecided.
// Serial; no MPI calls, so a plain Google Benchmark main.
//   ./closedness_bench                  (all)   ./closedness_bench --benchmark_filter=Sweep
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nnscape/closedness.hpp"
#include "nnscape/pattern.hpp"

namespace {

using nnscape::Mask;

std::vector<Mask> masks_of(const std::string& pattern, int n) {
  const std::vector<int> widths{n, n, n};
  std::vector<Mask> m = nnscape::build_masks(nnscape::parse_pattern(pattern), widths);
  if (m.empty()) m = {Mask::dense(n, n), Mask::dense(n, n)};
  return m;
}

void BM_Check(benchmark::State& state, const std::string& pattern, int n, bool rules) {
  const std::vector<Mask> masks = masks_of(pattern, n);
  nnscape::ClosednessOptions opts;
  opts.use_rules = rules;
  std::string verdict;
  for (auto _ : state) {
    const nnscape::ClosednessResult r = nnscape::check_closedness(masks, opts);
    verdict = r.verdict + " (" + r.rule + ")";
    benchmark::DoNotOptimize(r.verdict.data());
  }
  state.SetLabel(verdict);
}

void BM_SweepTwoFactorUpTo2(benchmark::State& state) {
  double slowest = 0.0;
  int patterns = 0, undecided = 0;
  for (auto _ : state) {
    slowest = 0.0;
    patterns = undecided = 0;
    for (int d = 1; d <= 2; ++d)
      for (int n = 1; n <= 2; ++n)
        for (int m = 1; m <= 2; ++m)
          for (unsigned bits = 0; bits < (1u << (n * d + m * n)); ++bits) {
            Mask a{n, d, {}}, b{m, n, {}};
            for (int i = 0; i < n * d; ++i) a.bits.push_back((bits >> i) & 1u);
            for (int i = 0; i < m * n; ++i) b.bits.push_back((bits >> (n * d + i)) & 1u);
            const nnscape::ClosednessResult r = nnscape::check_closedness({a, b});
            slowest = std::max(slowest, r.seconds);
            undecided += r.verdict == "unknown";
            ++patterns;
          }
  }
  state.counters["patterns"] = patterns;
  state.counters["slowest_s"] = slowest;
  state.counters["undecided"] = undecided;
  if (undecided > 0 || slowest >= 1.0) state.SkipWithError("target missed: undecided or >= 1 s");
}

}  // namespace

BENCHMARK_CAPTURE(BM_Check, lu_2x2, std::string("LU"), 2, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, ul_2x2, std::string("UL"), 2, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, upper_2x2, std::string("upper"), 2, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, dense_2x2, std::string("dense"), 2, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, lu_2x2_z3_only, std::string("LU"), 2, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, dense_2x2_z3_only, std::string("dense"), 2, false)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, lu_3x3, std::string("LU"), 3, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, ul_3x3, std::string("UL"), 3, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, lower_3x3, std::string("lower"), 3, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Check, block_3x3, std::string("block_diagonal:blocks=3"), 3, true)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SweepTwoFactorUpTo2)->Unit(benchmark::kMillisecond)->Iterations(1);

int main(int argc, char** argv) {
  // Warm up (shared libraries, allocator) before timing.
  (void)nnscape::check_closedness(masks_of("LU", 2));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
