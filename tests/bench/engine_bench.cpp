// Throughput of the loss engine (nnscape_core) against the machine's DGEMM, measured in one run.
//
// Every benchmark reports GFLOP/s from an analytic count of the GEMM flops only (2·M·N·K per GEMM;
// activations, bias sums and packing are not counted, so their cost shows up as lost efficiency).
// For a dense layer l = 0..L-1 with fan-in `in`, fan-out `out`, on n samples, let g_l = 2·n·in·out
// (one GEMM of that layer's shape). From the recursions in loss.hpp / loss.cpp:
//
//   gradient (set_point)       forward  Z_l = A_{l-1} W_lᵀ                      1·g_l
//                              backward ∂W_l = δ_lᵀ A_{l-1}                     1·g_l
//                                       E_{l-1} = δ_l W_l        (l ≥ 1)        1·g_l
//       flops_grad = Σ_l g_l · (l == 0 ? 2 : 3)
//
//   Hessian product, per direction (k directions cost k times this, BLAS-3 across directions)
//                              forward  A_{l-1} V_lᵀ                            1·g_l
//                                       RA_{l-1} W_lᵀ            (l ≥ 1)        1·g_l
//                              backward Rδ_lᵀ A_{l-1}                           1·g_l
//                                       δ_lᵀ RA_{l-1}            (l ≥ 1)        1·g_l
//                                       Rδ_l W_l                 (l ≥ 1)        1·g_l
//                                       δ_l V_l                  (l ≥ 1)        1·g_l
//       flops_hvp = Σ_l g_l · (l == 0 ? 2 : 6)        (the forward/backward pass at θ is not
//                                                      included: set_point is outside the loop)
//   hessian_block(k):  k · flops_hvp;   dense_hessian: P · flops_hvp.
//
// The 'hvp/grad' time ratio (the price of one H·v in gradients) is not a benchmark of its own: it
// is the ratio of BM_hvp's and BM_gradient's times for the same case. The summary printed after
// the table computes it, together with each benchmark's GFLOP/s as a % of BM_dgemm's. Both use
// CPU time, as Google Benchmark's rate counters do (no UseRealTime): with one BLAS thread that is
// the run time on an idle machine, and it stays meaningful when other jobs share the cores.
//
// Run with one BLAS thread (OPENBLAS_NUM_THREADS=1; see run_bench.sh); no MPI is involved.
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"

namespace {

using nnscape::Activation;

struct Case {
  std::string name;
  std::vector<int> widths;  // d, hidden..., m
  int n;
  bool blocks;  // run hessian_block(k = 16, 64)
  bool dense;   // run dense_hessian
};

double layer_gemm_flops(const std::vector<int>& widths, int n, int l) {
  return 2.0 * n * widths[l] * widths[l + 1];
}

double gradient_flops(const std::vector<int>& widths, int n) {
  double f = 0.0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l)
    f += layer_gemm_flops(widths, n, static_cast<int>(l)) * (l == 0 ? 2 : 3);
  return f;
}

double hvp_flops(const std::vector<int>& widths, int n) {  // one direction
  double f = 0.0;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l)
    f += layer_gemm_flops(widths, n, static_cast<int>(l)) * (l == 0 ? 2 : 6);
  return f;
}

// Network, data and a point θ for one case, built once and shared by that case's benchmarks (the
// benchmark function runs several times while the iteration count is calibrated).
struct Setup {
  nnscape::Network net;
  nnscape::Dataset data;
  std::vector<double> theta;
  std::unique_ptr<nnscape::LossModel> model;
  int warmed_k = 0;  // largest block already run: its workspaces are allocated and touched

  explicit Setup(const Case& c)
      : net(nnscape::Architecture{c.widths, Activation::tanh, {}}) {
    std::mt19937_64 rng(0x6e6e7363617065ULL);  // fixed seed: every run sees the same problem
    std::uniform_real_distribution<double> unif(-1.0, 1.0);
    data.n = c.n;
    data.d = c.widths.front();
    data.m = c.widths.back();
    data.x.resize(static_cast<std::size_t>(data.n) * data.d);
    data.y.resize(static_cast<std::size_t>(data.n) * data.m);
    for (double& v : data.x) v = unif(rng);
    for (double& v : data.y) v = unif(rng);
    // θ ~ N(0, 1/fan_in), weights and biases alike, in the network's parameter layout.
    theta.resize(static_cast<std::size_t>(net.num_params()));
    for (int l = 0; l < net.num_layers(); ++l) {
      const nnscape::LayerLayout& lay = net.layer(l);
      std::normal_distribution<double> normal(0.0, 1.0 / std::sqrt(static_cast<double>(lay.in)));
      const std::ptrdiff_t end = lay.bias_offset + lay.out;
      for (std::ptrdiff_t q = lay.weight_offset; q < end; ++q)
        theta[static_cast<std::size_t>(q)] = normal(rng);
    }
    model = std::make_unique<nnscape::LossModel>(net, data);
    model->set_point(theta);
  }

  std::vector<double> directions(int k) const {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::vector<double> v(static_cast<std::size_t>(net.num_params()) * k);
    for (double& x : v) x = normal(rng);
    return v;
  }

  // The first block product of a given size allocates and first-touches its workspaces; do that
  // outside the timed loop, so that runs of a single iteration are not charged for page faults.
  void warm_up(int k) {
    if (k <= warmed_k) return;
    const std::vector<double> v = directions(k);
    std::vector<double> out(v.size());
    model->hessian_block(v.data(), k, out.data());
    warmed_k = k;
  }
};

// Only the current case is kept: benchmarks run case by case, and the k = 64 workspaces are large.
Setup& setup_for(const Case& c) {
  static std::string current;
  static std::unique_ptr<Setup> setup;
  if (!setup || current != c.name) {
    setup.reset();
    setup = std::make_unique<Setup>(c);
    current = c.name;
  }
  return *setup;
}

void set_gflops(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_dgemm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unif(-1.0, 1.0);
  std::vector<double> a(static_cast<std::size_t>(n) * n), b(a.size()), c(a.size(), 0.0);
  for (double& v : a) v = unif(rng);
  for (double& v : b) v = unif(rng);
  for (auto _ : state) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a.data(), n, b.data(), n,
                0.0, c.data(), n);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, 2.0 * n * n * n);
}

void BM_gradient(benchmark::State& state, const Case& c) {
  Setup& s = setup_for(c);
  for (auto _ : state) {
    s.model->set_point(s.theta);
    benchmark::DoNotOptimize(s.model->gradient().data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, gradient_flops(c.widths, c.n));
}

void BM_hvp(benchmark::State& state, const Case& c) {
  Setup& s = setup_for(c);
  const std::vector<double> v = s.directions(1);
  std::vector<double> out(v.size());
  s.warm_up(1);
  for (auto _ : state) {
    s.model->hessian_product(v, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, hvp_flops(c.widths, c.n));
}

void BM_hessian_block(benchmark::State& state, const Case& c) {
  const int k = static_cast<int>(state.range(0));
  Setup& s = setup_for(c);
  const std::vector<double> v = s.directions(k);
  std::vector<double> out(v.size());
  s.warm_up(k);
  for (auto _ : state) {
    s.model->hessian_block(v.data(), k, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  set_gflops(state, k * hvp_flops(c.widths, c.n));
}

void BM_dense_hessian(benchmark::State& state, const Case& c) {
  Setup& s = setup_for(c);
  s.warm_up(s.model->block_size());  // the block size dense_hessian uses
  for (auto _ : state) {
    std::vector<double> h = s.model->dense_hessian();
    benchmark::DoNotOptimize(h.data());
    benchmark::ClobberMemory();
  }
  state.counters["P"] = static_cast<double>(s.net.num_params());
  set_gflops(state, static_cast<double>(s.net.num_params()) * hvp_flops(c.widths, c.n));
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"tanh_d10_w64_N8192", {10, 64, 1}, 8192, true, false},  // the case
      {"tanh_d10_w64_N16384", {10, 64, 1}, 16384, true, false},
      {"tanh_d10_w256x256_N4096", {10, 256, 256, 1}, 4096, true, false},
      {"tanh_d10_w16_N8192", {10, 16, 1}, 8192, false, true},  // P = 193
  };
  return all;
}

// Console table as usual, plus a per-case summary once all runs are in.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  using ConsoleReporter::ConsoleReporter;

  void ReportRuns(const std::vector<Run>& reports) override {
    ConsoleReporter::ReportRuns(reports);
    for (const Run& r : reports) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      Result& res = results_[r.benchmark_name()];
      res.seconds = r.cpu_accumulated_time / static_cast<double>(r.iterations);
      auto it = r.counters.find("GFLOP/s");
      res.gflops = it == r.counters.end() ? 0.0 : it->second.value;
    }
  }

  void print_summary() const {
    if (results_.empty()) return;  // e.g. --benchmark_list_tests
    const Result* dgemm = find("BM_dgemm/512");
    std::printf("\nSummary (CPU time, like the GFLOP/s counters; %% = GFLOP/s relative to "
                "BM_dgemm/512");
    if (dgemm) std::printf(" = %.2f GFLOP/s", dgemm->gflops);
    std::printf(")\n");
    std::printf("%-26s %10s %10s %7s %10s %10s %7s %9s\n", "case", "grad ms", "grad GF/s",
                "grad %", "hvp ms", "hvp GF/s", "hvp %", "hvp/grad");
    for (const Case& c : cases()) {
      const Result* g = find("BM_gradient/" + c.name);
      const Result* h = find("BM_hvp/" + c.name);
      if (!g || !h) continue;
      std::printf("%-26s %10.3f %10.2f %6.1f%% %10.3f %10.2f %6.1f%% %9.2f\n", c.name.c_str(),
                  1e3 * g->seconds, g->gflops, pct(*g, dgemm), 1e3 * h->seconds, h->gflops,
                  pct(*h, dgemm), h->seconds / g->seconds);
    }
    std::printf("\n%-26s %-22s %10s %10s %7s %14s\n", "case", "product", "ms", "GF/s", "%",
                "per dir / grad");
    for (const Case& c : cases()) {
      const Result* g = find("BM_gradient/" + c.name);
      for (int k : {1, 16, 64}) {
        const std::string name = k == 1 ? "BM_hvp/" + c.name
                                        : "BM_hessian_block/" + c.name + "/" + std::to_string(k);
        if (const Result* r = find(name))
          print_product_row(c.name, k == 1 ? "hvp (k=1)" : "hessian_block k=" + std::to_string(k),
                            *r, k, g, dgemm);
      }
      if (const Result* r = find("BM_dense_hessian/" + c.name)) {
        const int p = param_count(c.widths);
        print_product_row(c.name, "dense_hessian P=" + std::to_string(p), *r, p, g, dgemm);
      }
    }
    std::fflush(stdout);
  }

 private:
  struct Result {
    double seconds = 0.0;
    double gflops = 0.0;
  };

  const Result* find(const std::string& name) const {
    auto it = results_.find(name);
    return it == results_.end() ? nullptr : &it->second;
  }
  static double pct(const Result& r, const Result* dgemm) {
    return dgemm && dgemm->gflops > 0 ? 100.0 * r.gflops / dgemm->gflops : 0.0;
  }
  static int param_count(const std::vector<int>& w) {
    int p = 0;
    for (std::size_t l = 0; l + 1 < w.size(); ++l) p += w[l] * w[l + 1] + w[l + 1];
    return p;
  }
  static void print_product_row(const std::string& cname, const std::string& what,
                                const Result& r, int dirs, const Result* grad,
                                const Result* dgemm) {
    std::printf("%-26s %-22s %10.3f %10.2f %6.1f%% ", cname.c_str(), what.c_str(),
                1e3 * r.seconds, r.gflops, pct(r, dgemm));
    if (grad)
      std::printf("%14.2f\n", r.seconds / dirs / grad->seconds);
    else
      std::printf("%14s\n", "-");
  }

  std::map<std::string, Result> results_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("BM_dgemm", BM_dgemm)->Arg(512)->Unit(benchmark::kMillisecond);
  for (const Case& c : cases()) {
    benchmark::RegisterBenchmark(("BM_gradient/" + c.name).c_str(), BM_gradient, c)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("BM_hvp/" + c.name).c_str(), BM_hvp, c)
        ->Unit(benchmark::kMillisecond);
    if (c.blocks)
      benchmark::RegisterBenchmark(("BM_hessian_block/" + c.name).c_str(), BM_hessian_block, c)
          ->Arg(16)
          ->Arg(64)
          ->Unit(benchmark::kMillisecond);
    if (c.dense)
      benchmark::RegisterBenchmark(("BM_dense_hessian/" + c.name).c_str(), BM_dense_hessian, c)
          ->Unit(benchmark::kMillisecond);
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  // The summary needs the runs, so this reporter is always the display reporter (console table;
  // use --benchmark_out=file --benchmark_out_format=json for machine-readable output).
  SummaryReporter reporter(benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.print_summary();
  benchmark::Shutdown();
  return 0;
}
