#pragma once
// Training with PETSc/TAO on PETSC_COMM_SELF: any TAO type, every knob from the options database
// under the prefix "opt_<name>_" (e.g. -opt_newton_tao_gatol 1e-12), so a study can name several
// optimizers with their own options. Newton-type methods get the exact Hessian: dense for
// P ≤ dense_limit, a MATSHELL of the exact Hessian-vector product above (its KSP then uses
// PCLMVM unless the options database names a PC; ntl always uses PCLMVM, see optimize.cpp).
#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "nnscape/loss.hpp"

namespace nnscape {

// The default for `nnscape trial` and for studies without an optimizers axis, chosen by
// measurement: tests/bench/verdict_bench (README, "Benchmarks").
inline constexpr const char* kDefaultOptimizer = "lm";

struct OptimizeOptions {
  std::string name = "default";  // label; options prefix "opt_<name>_"
  // Any registered TAO type (lmvm, nls, ntr, ntl, bnls, bntr, cg, bncg, nm, ...), plus "gd":
  // TAOBNCG with -<prefix>tao_bncg_type gd (gradient descent with TAO's line search). "gd" is
  // our name only: on the command line write -<prefix>tao_type bncg -<prefix>tao_bncg_type gd.
  // "lm" is our own Levenberg–Marquardt type (levenberg_marquardt.hpp), registered with TAO by
  // optimize(); it needs P ≤ dense_limit.
  std::string tao_type = kDefaultOptimizer;
  // Defaults applied before TaoSetFromOptions (the command line wins). TAO 3.18's own defaults
  // (grtol 1e-8, max_funcs 4000) stop runs long before a certified critical point.
  double gatol = 1e-10;
  double grtol = 0.0;
  double gttol = 0.0;
  int max_it = 20000;
  int max_funcs = -1;  // < 0: unlimited
  std::ptrdiff_t dense_limit = 4000;
  // At most this many points (≥ 1), log-spaced in the iteration count (0,1,2,3,4,6,8,11,16,..;
  // thinned to every other point when full); the last iteration is always the last point.
  int trajectory_length = 64;
  // Divergence: ‖θ‖ > divergence_factor · max(1, ‖θ0‖) stops the run as diverged (checked
  // every iteration; TAO's reason then reads "DIVERGED_USER").
  double divergence_factor = 1e3;
  // Divergence below that bound: a run whose ‖θ‖, over the later half of its trajectory, grows
  // with log-log slope ≥ growth_slope to ≥ growth_factor · max(1, ‖θ0‖) while the loss falls at
  // every recorded point is diverged even if ‖∇L‖ met gatol (see detail::unbounded_descent).
  double growth_factor = 10.0;
  double growth_slope = 0.25;
  // Evaluated at θ of every iteration the trajectory may keep and at the end point, giving
  // TrajectoryPoint::true_loss (a linear trial's ‖W_L···W_1 − A‖_F/‖A‖_F). Empty: NaN.
  std::function<double(std::span<const double>)> point_metric;
};

struct TrajectoryPoint {
  int iteration = 0;
  double loss = 0.0;
  double grad_norm = 0.0;
  double param_norm = 0.0;
  double true_loss = std::numeric_limits<double>::quiet_NaN();  // OptimizeOptions::point_metric
};

struct OptimizeResult {
  std::vector<double> theta;  // the end point
  std::string tao_type;       // as resolved after the options database ("gd" for bncg/gd)
  std::string reason;         // TAO's converged reason, verbatim (e.g. "CONVERGED_GATOL")
  int reason_code = 0;
  bool converged = false;     // reason_code > 0, not diverged, not nonfinite, no error
  bool diverged = false;
  // The run ended on NaN/Inf in loss, gradient or θ (an overflowing line-search trial that
  // TAO backed away from does not count).
  bool nonfinite = false;
  std::string error;          // non-empty when the solver failed (the trial records it)
  int iterations = 0;
  // Our own counts of the callbacks (objective and gradient come from one callback, so the two
  // are equal); the final re-evaluation at the end point is not counted.
  int function_evals = 0;
  int gradient_evals = 0;
  int hessian_evals = 0;  // for lm: Gauss–Newton matrices
  double seconds = 0.0;       // wall time of TaoSolve
  // Re-evaluated at the end point (the model is left there).
  double loss = 0.0;
  double grad_norm = 0.0;
  double param_norm = 0.0;
  double initial_param_norm = 0.0;
  // Growth of ‖θ‖: least-squares slope of log‖θ‖ against log(iteration + 1) over the later half
  // of the trajectory's points (log-spaced, so iterations from about √n to n). 0 when fewer
  // than two usable points. ‖θ‖ ~ t^a gives a.
  double norm_growth_rate = 0.0;
  // Observed local rate of ‖∇L‖ over the last iterations: "quadratic", "superlinear", "linear",
  // "sublinear" or "unknown" (too few iterations). Rule: detail::classify_local_rate.
  std::string local_rate = "unknown";
  std::vector<TrajectoryPoint> trajectory;
};

// Not collective (PETSC_COMM_SELF). Never throws for a solver failure (PETSc error, callback
// exception, NaN/Inf, divergence): the result carries it. Throws nnscape::Error for bad
// arguments: wrong θ length, unknown TAO type, a name unfit for an options prefix, options
// TaoSetFromOptions refuses, a non-lmvm PC named for ntl, lm with P > dense_limit. θ0
// containing NaN is not refused: the result says nonfinite. Leaves the model at the end point.
OptimizeResult optimize(LossModel& model, std::span<const double> theta0,
                        const OptimizeOptions& opts = {});

namespace detail {
// Local convergence rate from the last gradient norms of distinct iterations (oldest first;
// the rule is documented at the definition). Pure.
std::string classify_local_rate(std::span<const double> grad_norms);
// Least-squares slope of log y against log(x + 1), skipping points with y ≤ 0 or non-finite.
double log_log_slope(std::span<const int> x, std::span<const double> y);
// The growth rule of OptimizeOptions on a trajectory; also returns the slope it measured. Pure.
bool unbounded_descent(std::span<const TrajectoryPoint> trajectory, double initial_norm,
                       double growth_factor, double growth_slope, double* slope = nullptr);
}  // namespace detail

}  // namespace nnscape
