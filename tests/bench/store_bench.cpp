// Overhead of a study run without the trials: the scheduler hands out 10^4 items (default) and
// each rank writes a record per item into a results store, as `nnscape run` does, but the
// "trial" is a synthetic record (P = 13, 13 eigenvalues each, a 16-point trajectory).
//   mpiexec -n R store_bench [trials] [file]
// Prints trials/s dispatched+written and µs per trial, to set against real trial times.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "nnscape/grid.hpp"
#include "nnscape/runtime.hpp"
#include "nnscape/scheduler.hpp"
#include "nnscape/spec.hpp"
#include "nnscape/store.hpp"

int main(int argc, char** argv) {
  nnscape::Runtime runtime(&argc, &argv);
  const long trials = argc > 1 ? std::atol(argv[1]) : 10000;
  const std::string path = argc > 2 ? argv[2] : "/tmp/nnscape_store_bench.h5";
  const std::string yaml =
      "study: {name: bench, seed: 1}\n"
      "axes:\n"
      "  architectures: [[3]]\n"
      "  activations: [tanh]\n"
      "  datasets: [\"teacher:width=3,d=2,n=64\"]\n"
      "  optimizers: [{name: lbfgs, type: lmvm}]\n"
      "  replicates: " + std::to_string(trials) + "\n"
      "settings: {trajectory_length: 16}\n";
  const nnscape::StudySpec spec = nnscape::parse_study(yaml, "bench");
  const nnscape::Grid grid(spec);
  if (runtime.rank() == 0) std::filesystem::remove(path);
  MPI_Barrier(MPI_COMM_WORLD);

  auto t0 = std::chrono::steady_clock::now();
  nnscape::ResultsStore store =
      nnscape::ResultsStore::create(MPI_COMM_WORLD, path, spec, grid, grid.trial_ids(), {});
  const double create_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  nnscape::TrialRecord rec;
  rec.status = "strict_min";
  rec.optimization.theta.assign(13, 0.5);
  rec.hessian.eigenvalues.assign(13, 1.0);
  rec.gauss_newton.eigenvalues.assign(13, 1.0);
  rec.optimization.trajectory.resize(16);
  const int run = store.begin_run({{"bench", "store_bench"}});
  MPI_Barrier(MPI_COMM_WORLD);
  t0 = std::chrono::steady_clock::now();
  nnscape::Scheduler scheduler(MPI_COMM_WORLD, store.rows());
  long mine = 0;
  for (std::int64_t item; (item = scheduler.next()) >= 0; ++mine)
    store.write(item, rec, runtime.rank(), "bench");
  scheduler.finish();
  MPI_Barrier(MPI_COMM_WORLD);
  const double run_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  store.end_run(run, {});
  if (runtime.rank() == 0) {
    std::printf("store_bench: %d rank(s), %ld trials: create %.3f s; dispatch+write %.3f s = "
                "%.0f trials/s, %.1f us per trial (rank 0 wrote %ld)\n",
                runtime.size(), trials, create_s, run_s, trials / run_s, 1e6 * run_s / trials,
                mine);
    std::filesystem::remove(path);
  }
  return 0;
}
