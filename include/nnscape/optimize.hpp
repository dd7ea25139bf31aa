#pragma once
// Training with PETSc/TAO on PETSC_COMM_SELF: any TAO type, every knob from the options database
// under the prefix "opt_<name>_" (e.g. -opt_newton_tao_gatol 1e-12), so a study can name several
// optimizers with their own options. Newton-type methods get the exact Hessian: dense for
// P ≤ dense_limit, a MATSHELL of the exact Hessian-vector product above.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "nnscape/loss.hpp"

namespace nnscape {

struct OptimizeOptions {
  std::string name = "default";  // label; options prefix "opt_<name>_"
  std::string tao_type = "lmvm";  // lmvm, nls, ntr, cg (bncg), nm, gd (bncg with type gd), ...
  // Defaults applied before TaoSetFromOptions (the command line wins). TAO 3.18's own defaults
  // (grtol 1e-8, max_funcs 4000) stop runs long before a certified critical point.
  double gatol = 1e-10;
  double grtol = 0.0;
  double gttol = 0.0;
  int max_it = 20000;
  int max_funcs = -1;  // unlimited
  std::ptrdiff_t dense_limit = 4000;
  int trajectory_length = 64;  // bounded, log-spaced in the iteration count
  // Divergence: ‖θ‖ > divergence_factor · max(1, ‖θ0‖) stops the run as diverged.
  double divergence_factor = 1e3;
};

struct TrajectoryPoint {
  int iteration = 0;
  double loss = 0.0;
  double grad_norm = 0.0;
  double param_norm = 0.0;
};

struct OptimizeResult {
  std::vector<double> theta;  // the end point
  std::string tao_type;       // as resolved after the options database
  std::string reason;         // TAO's converged reason, verbatim (e.g. "CONVERGED_GATOL")
  int reason_code = 0;
  bool converged = false;     // reason_code > 0 and not stopped for divergence
  bool diverged = false;
  bool nonfinite = false;     // NaN/Inf met in loss, gradient or θ
  std::string error;          // non-empty when the solver failed (the trial records it)
  int iterations = 0;
  int function_evals = 0;
  int gradient_evals = 0;
  int hessian_evals = 0;
  double seconds = 0.0;
  double loss = 0.0;
  double grad_norm = 0.0;
  double param_norm = 0.0;
  double initial_param_norm = 0.0;
  // Growth of ‖θ‖: slope of log‖θ‖ against log(iteration) over the second half of the run.
  double norm_growth_rate = 0.0;
  // Observed local rate of ‖∇L‖ over the last iterations: "quadratic", "superlinear", "linear",
  // "sublinear" or "unknown" (too few iterations).
  std::string local_rate = "unknown";
  std::vector<TrajectoryPoint> trajectory;
};

// Not collective (PETSC_COMM_SELF). Never throws for a solver failure: the result carries it.
// Throws nnscape::Error for bad arguments (wrong θ length, unknown TAO type).
OptimizeResult optimize(LossModel& model, std::span<const double> theta0,
                        const OptimizeOptions& opts = {});

}  // namespace nnscape
