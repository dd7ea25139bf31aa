#include "nnscape/optimize.hpp"

#include <petscksp.h>
#include <petscmat.h>
#include <petsctao.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/levenberg_marquardt.hpp"
#include "nnscape/petsc.hpp"

namespace nnscape {

namespace detail {

// The rule, on g_0..g_{m-1} (the last m ≤ 6 gradient norms of distinct iterations):
// - fewer than 4 positive finite values → "unknown";
// - the order: over the longest strictly decreasing tail of the window, if it has ≥ 4 values,
//   the digits gained per step e_j = −log(g_{j+1}/g_j) are positive and a method of order p
//   has e_{j+1} ≈ p·e_j, so p = exp(least-squares slope of log e_j against j).
//   p ≥ 1.8 → "quadratic", 1.2 ≤ p < 1.8 → "superlinear". Fitting over the tail rather than one
//   triple (p = log(g_{k+1}/g_k)/log(g_k/g_{k−1})) tolerates one noisy step and the last step
//   of a Newton run, which stops at the round-off floor (1e-8 → 1e-15 instead of 1e-16); the
//   tail drops a damped, non-monotone start of the window (measured on NLS: 3e-4, 1e-3, 4e-5,
//   1e-6, 1e-9, 1e-13).
// - otherwise "linear" if the geometric mean ratio over the whole window r̄ ≤ 0.99 (a steady
//   contraction, monotone or not: L-BFGS gradient norms are not), else "sublinear" (the norm
//   barely shrinks, or grows). A linear rate slower than 0.99 per iteration cannot be told from
//   a sublinear one over a few iterations and is called sublinear.
std::string classify_local_rate(std::span<const double> grad_norms) {
  std::vector<double> g;
  for (double v : grad_norms)
    if (std::isfinite(v) && v > 0.0) g.push_back(v);
  if (g.size() > 6) g.erase(g.begin(), g.end() - 6);
  if (g.size() < 4) return "unknown";

  std::size_t first = g.size() - 1;  // start of the strictly decreasing tail
  while (first > 0 && g[first] < g[first - 1]) --first;
  if (g.size() - first >= 4) {
    std::vector<double> log_digits;
    for (std::size_t j = first; j + 1 < g.size(); ++j)
      log_digits.push_back(std::log(-std::log(g[j + 1] / g[j])));
    const std::size_t n = log_digits.size();
    double mean_j = 0.0, mean_y = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      mean_j += static_cast<double>(j);
      mean_y += log_digits[j];
    }
    mean_j /= static_cast<double>(n);
    mean_y /= static_cast<double>(n);
    double sxy = 0.0, sxx = 0.0;
    for (std::size_t j = 0; j < n; ++j) {
      const double dj = static_cast<double>(j) - mean_j;
      sxy += dj * (log_digits[j] - mean_y);
      sxx += dj * dj;
    }
    const double order = std::exp(sxy / sxx);
    if (order >= 1.8) return "quadratic";
    if (order >= 1.2) return "superlinear";
  }
  const double steps = static_cast<double>(g.size() - 1);
  const double mean_ratio = std::pow(g.back() / g.front(), 1.0 / steps);
  return mean_ratio <= 0.99 ? "linear" : "sublinear";
}

double log_log_slope(std::span<const int> x, std::span<const double> y) {
  std::vector<double> lx, ly;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (!(std::isfinite(y[i]) && y[i] > 0.0) || x[i] < 0) continue;
    lx.push_back(std::log(static_cast<double>(x[i]) + 1.0));
    ly.push_back(std::log(y[i]));
  }
  if (lx.size() < 2) return 0.0;
  double mx = 0.0, my = 0.0;
  for (std::size_t i = 0; i < lx.size(); ++i) {
    mx += lx[i];
    my += ly[i];
  }
  mx /= static_cast<double>(lx.size());
  my /= static_cast<double>(ly.size());
  double sxy = 0.0, sxx = 0.0;
  for (std::size_t i = 0; i < lx.size(); ++i) {
    sxy += (lx[i] - mx) * (ly[i] - my);
    sxx += (lx[i] - mx) * (lx[i] - mx);
  }
  return sxx > 0.0 ? sxy / sxx : 0.0;
}

// Le, Riccietti & Gribonval: when the infimum is not attained every minimizing sequence has
// ‖θ‖ → ∞, and the gradient there can fall below any gatol long before ‖θ‖ reaches a fixed
// bound (measured: NLS on the LU pattern stops with CONVERGED_GATOL at ‖θ‖ ≈ 470 from 1.5,
// growing with slope 0.8). So growth that is still under way while the loss still falls marks
// divergence whatever the reason TAO gave. Log-spaced points make "the later half" the
// iterations beyond about √(total), and a minimum reached at a finite point shows slope ≈ 0 there.
bool unbounded_descent(std::span<const TrajectoryPoint> t, double initial_norm,
                       double growth_factor, double growth_slope, double* slope) {
  const std::size_t from = t.size() / 2;
  std::vector<int> it;
  std::vector<double> norms;
  bool loss_falls = t.size() - from >= 2;
  for (std::size_t i = from; i < t.size(); ++i) {
    it.push_back(t[i].iteration);
    norms.push_back(t[i].param_norm);
    if (i > from && !(t[i].loss < t[i - 1].loss)) loss_falls = false;
  }
  const double s = log_log_slope(it, norms);
  if (slope) *slope = s;
  return loss_falls && s >= growth_slope && !norms.empty() &&
         norms.back() >= growth_factor * std::max(1.0, initial_norm);
}

}  // namespace detail

namespace {

// Scaled, so a finite vector with entries near 1e200 (a run escaping to infinity) still has a
// finite norm; NaN if any entry is NaN.
double norm2(std::span<const double> v) {
  double scale = 0.0;
  for (double e : v) {
    if (std::isnan(e)) return e;
    scale = std::max(scale, std::abs(e));
  }
  if (scale == 0.0 || std::isinf(scale)) return scale;
  double s = 0.0;
  for (double e : v) s += (e / scale) * (e / scale);
  return scale * std::sqrt(s);
}

bool all_finite(std::span<const double> v) {
  return std::all_of(v.begin(), v.end(), [](double e) { return std::isfinite(e); });
}

// Bounded log-spaced record of the run: iterations 0,1,2,3,4,6,8,11,16,... (round(√2^k)).
// When full, every other point is dropped and the spacing factor squared, so the record stays
// log-spaced whatever the run length; one slot is kept for the final point.
class Trajectory {
 public:
  explicit Trajectory(int length) : capacity_(std::max(0, length - 1)) {}

  void offer(const TrajectoryPoint& point) {
    if (!points_.empty() && point.iteration <= points_.back().iteration) return;
    if (!points_.empty() && point.iteration < next_) return;
    if (capacity_ == 0) return;
    if (static_cast<int>(points_.size()) >= capacity_) thin();
    if (static_cast<int>(points_.size()) < capacity_) points_.push_back(point);
    while (std::round(level_) <= point.iteration) level_ *= factor_;
    next_ = static_cast<long long>(std::round(level_));
  }

  // The final point replaces a recorded point of the same iteration, else is appended.
  std::vector<TrajectoryPoint> finish(const TrajectoryPoint& last) && {
    if (!points_.empty() && points_.back().iteration == last.iteration) {
      points_.back() = last;
    } else {
      points_.push_back(last);
    }
    return std::move(points_);
  }

 private:
  void thin() {
    std::vector<TrajectoryPoint> kept;
    for (std::size_t i = 0; i < points_.size(); i += 2) kept.push_back(points_[i]);
    points_ = std::move(kept);
    factor_ *= factor_;
  }

  int capacity_;
  std::vector<TrajectoryPoint> points_;
  double level_ = 1.0;
  double factor_ = std::sqrt(2.0);
  long long next_ = 0;
};

}  // namespace

}  // namespace nnscape

// The PETSc callbacks live outside namespace nnscape on purpose: PetscCall calls PETSc's
// PetscError() unqualified, which inside nnscape would name the exception class.
namespace {

// Everything the callbacks share. Lives on optimize()'s stack and outlives the Tao.
struct Run {
  nnscape::LossModel* model = nullptr;
  PetscInt n = 0;
  int function_evals = 0;
  int hessian_evals = 0;
  // The most recent evaluation produced NaN/Inf. TAO itself stops with an error when such a
  // value reaches an accepted point; a line search may also back away from it.
  bool last_eval_nonfinite = false;
  std::string callback_error;  // first exception caught in a callback
  // Hessian: dense (filled at each Hessian evaluation) or MATSHELL. The shell applies the
  // Hessian at hessian_point, which is not always the model's current point: a trust-region
  // method reuses one Hessian across rejected steps while the objective is evaluated at trial
  // points, so a product re-anchors the model when they differ.
  bool dense_hessian = true;
  std::vector<double> hessian_point;
  // Convergence-test state.
  double divergence_limit = std::numeric_limits<double>::infinity();
  bool diverged = false;
  nnscape::Trajectory trajectory{64};
  std::vector<double> recent_grad_norms;  // last few distinct iterations
  // Some solvers report one iteration number twice (NTR: once with the rejected step's
  // unchanged values, once after the retry), so an iteration is committed only when the next
  // one starts, with its last values.
  nnscape::TrajectoryPoint pending{-1, 0.0, 0.0, 0.0};
  const std::function<double(std::span<const double>)>* point_metric = nullptr;

  void commit() {
    if (pending.iteration < 0) return;
    trajectory.offer(pending);
    note_grad_norm(pending.grad_norm);
  }
  void note_grad_norm(double g) {
    // Rejected trust-region steps repeat the norm; they say nothing about the rate.
    if (!recent_grad_norms.empty() && recent_grad_norms.back() == g) return;
    recent_grad_norms.push_back(g);
    if (recent_grad_norms.size() > 6) recent_grad_norms.erase(recent_grad_norms.begin());
  }
};

// Runs f, turning an exception into a PETSc error code with the message kept for the result.
template <class F>
PetscErrorCode guarded(Run& run, F&& f) noexcept {
  const char* what = nullptr;
  try {
    f();
    return 0;
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  try {
    if (run.callback_error.empty()) run.callback_error = what;
  } catch (...) {
  }
  return PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_LIB,
                    PETSC_ERROR_INITIAL, "%s", what);
}

// f(x) and ∇f(x) from one forward/backward pass. Non-finite values are passed through: TAO's
// own checks stop the run at an accepted point, and a line search can back away from an
// overflowing trial step, which an error here would forbid.
PetscErrorCode evaluate(Tao, Vec x, PetscReal* f, Vec g, void* ctx) noexcept {
  Run& run = *static_cast<Run*>(ctx);
  const PetscScalar* xa = nullptr;
  PetscCall(VecGetArrayRead(x, &xa));
  const PetscErrorCode status = guarded(run, [&] {
    run.model->set_point(std::span<const double>(xa, static_cast<std::size_t>(run.n)));
  });
  PetscCall(VecRestoreArrayRead(x, &xa));
  if (status != 0) return status;
  ++run.function_evals;
  *f = run.model->value();
  const auto grad = run.model->gradient();
  PetscScalar* ga = nullptr;
  PetscCall(VecGetArrayWrite(g, &ga));
  std::copy(grad.begin(), grad.end(), ga);
  PetscCall(VecRestoreArrayWrite(g, &ga));
  run.last_eval_nonfinite = !std::isfinite(*f) || !nnscape::all_finite(grad);
  return 0;
}

PetscErrorCode evaluate_hessian(Tao, Vec x, Mat h, Mat, void* ctx) noexcept {
  Run& run = *static_cast<Run*>(ctx);
  ++run.hessian_evals;
  const PetscScalar* xa = nullptr;
  PetscCall(VecGetArrayRead(x, &xa));
  std::vector<double> dense;
  const PetscErrorCode status = guarded(run, [&] {
    run.hessian_point.assign(xa, xa + run.n);
    run.model->set_point(run.hessian_point);
    if (run.dense_hessian) dense = run.model->dense_hessian();
  });
  PetscCall(VecRestoreArrayRead(x, &xa));
  if (status != 0) return status;
  if (run.dense_hessian) {
    // Symmetric, so LossModel's row-major layout is PETSc's column-major one.
    PetscScalar* ha = nullptr;
    PetscCall(MatDenseGetArrayWrite(h, &ha));
    std::copy(dense.begin(), dense.end(), ha);
    PetscCall(MatDenseRestoreArrayWrite(h, &ha));
  }
  // Marks the operator as changed for the KSP/PC (a shell's state too).
  PetscCall(MatAssemblyBegin(h, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(h, MAT_FINAL_ASSEMBLY));
  return 0;
}

// y = H(hessian_point)·x, exact (R-operator).
PetscErrorCode hessian_multiply(Mat a, Vec x, Vec y) noexcept {
  Run* run = nullptr;
  PetscCall(MatShellGetContext(a, &run));
  const PetscScalar* xa = nullptr;
  PetscScalar* ya = nullptr;
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  const PetscErrorCode status = guarded(*run, [&] {
    const auto here = run->model->point();
    if (!std::equal(here.begin(), here.end(), run->hessian_point.begin(),
                    run->hessian_point.end())) {
      run->model->set_point(run->hessian_point);
    }
    const auto n = static_cast<std::size_t>(run->n);
    run->model->hessian_product(std::span<const double>(xa, n), std::span<double>(ya, n));
  });
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  return status;
}

// TAO's default test, then our record and divergence check. A convergence test rather than a
// monitor: TAO calls it once per iteration right after TaoMonitor on every solver that uses the
// default test, it cannot be cancelled by -tao_cancelmonitors, and a reason set here is final.
PetscErrorCode convergence_test(Tao tao, void* ctx) noexcept {
  Run& run = *static_cast<Run*>(ctx);
  PetscCall(TaoDefaultConvergenceTest(tao, nullptr));
  PetscInt its = 0;
  PetscReal f = 0.0;
  PetscReal gnorm = 0.0;
  TaoConvergedReason reason = TAO_CONTINUE_ITERATING;
  PetscCall(TaoGetSolutionStatus(tao, &its, &f, &gnorm, nullptr, nullptr, &reason));
  Vec x = nullptr;
  PetscReal xnorm = 0.0;
  PetscCall(TaoGetSolution(tao, &x));
  PetscCall(VecNorm(x, NORM_2, &xnorm));

  if (its != run.pending.iteration) {
    const PetscErrorCode status = guarded(run, [&] { run.commit(); });
    if (status != 0) return status;
  }
  run.pending = {static_cast<int>(its), f, gnorm, xnorm};
  if (run.point_metric && *run.point_metric) {
    const PetscScalar* xa = nullptr;
    PetscCall(VecGetArrayRead(x, &xa));
    const PetscErrorCode status = guarded(run, [&] {
      run.pending.true_loss =
          (*run.point_metric)(std::span<const double>(xa, static_cast<std::size_t>(run.n)));
    });
    PetscCall(VecRestoreArrayRead(x, &xa));
    if (status != 0) return status;
  }
  // Stop on divergence unless TAO has just converged (a minimum far out is still a minimum).
  if (xnorm > run.divergence_limit && reason <= 0) {
    run.diverged = true;
    if (reason == TAO_CONTINUE_ITERATING) PetscCall(TaoSetConvergedReason(tao, TAO_DIVERGED_USER));
  }
  return 0;
}

}  // namespace

namespace nnscape {

namespace {

using TaoHandle = PetscHandle<Tao, TaoDestroy>;
using VecHandle = PetscHandle<Vec, VecDestroy>;
using MatHandle = PetscHandle<Mat, MatDestroy>;

// TAO types that call the Hessian routine. Others never evaluate it, so no P×P matrix is
// built for them.
bool needs_hessian(const std::string& type) {
  for (const char* t : {TAONLS, TAONTR, TAONTL, TAOBNLS, TAOBNTR, TAOBNTL, TAOTRON})
    if (type == t) return true;
  return false;
}

// Dense up to dense_limit (one LAPACK-friendly matrix, any PC works), else a MATSHELL of exact
// products.
MatHandle attach_hessian(Tao tao, Run& run, std::ptrdiff_t dense_limit) {
  MatHandle h;
  run.dense_hessian = run.n <= dense_limit;
  if (run.dense_hessian) {
    NNSCAPE_PETSC_CALL(MatCreateSeqDense(PETSC_COMM_SELF, run.n, run.n, nullptr, h.out()));
  } else {
    NNSCAPE_PETSC_CALL(MatCreateShell(PETSC_COMM_SELF, run.n, run.n, run.n, run.n, &run, h.out()));
    NNSCAPE_PETSC_CALL(MatShellSetOperation(h.get(), MATOP_MULT,
                                            reinterpret_cast<void (*)(void)>(hessian_multiply)));
  }
  NNSCAPE_PETSC_CALL(MatSetOption(h.get(), MAT_SYMMETRIC, PETSC_TRUE));
  NNSCAPE_PETSC_CALL(TaoSetHessian(tao, h.get(), h.get(), evaluate_hessian, &run));
  return h;
}

// The Newton KSP's preconditioner, unless the options database names one for it:
// - a MATSHELL has no entries, so the PC that PCSetFromOptions picks when no operator is set
//   yet (ILU) fails at the first Newton step; it gets PCLMVM (an L-BFGS approximation of H⁻¹
//   built from the iterates, SPD as STCG requires, and what the BNK types use by default).
//   Measured on the (2, 4, 1) tanh teacher problem of optimize_test: NLS 14 iterations with
//   lmvm, 19 with none; NTR 10 and 13.
// - NTL in PETSc 3.18 dereferences its L-BFGS matrix after a failed Newton line search unless
//   the PC is lmvm (the test in TaoSolve_NTL is inverted; measured: SEGV from a random start of
//   a (2, 8, 1) tanh net with the default ILU), so NTL always gets PCLMVM, and a PC named for
//   it in the options database must be lmvm.
void choose_preconditioner(Tao tao, const std::string& type, bool shell) {
  KSP ksp = nullptr;
  NNSCAPE_PETSC_CALL(TaoGetKSP(tao, &ksp));
  if (ksp == nullptr) return;
  PC pc = nullptr;
  NNSCAPE_PETSC_CALL(KSPGetPC(ksp, &pc));
  const char* prefix = nullptr;
  PetscBool named = PETSC_FALSE;
  NNSCAPE_PETSC_CALL(KSPGetOptionsPrefix(ksp, &prefix));
  NNSCAPE_PETSC_CALL(PetscOptionsHasName(nullptr, prefix, "-pc_type", &named));
  if (named) {
    PetscBool lmvm = PETSC_FALSE;
    NNSCAPE_PETSC_CALL(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(pc), PCLMVM, &lmvm));
    NNSCAPE_CHECK(type != TAONTL || lmvm,
                  std::string("optimize: TAO ntl needs -") + (prefix ? prefix : "") +
                      "pc_type lmvm (PETSc 3.18's NTL crashes after a failed Newton line search "
                      "with any other preconditioner)");
    return;
  }
  PCType current = nullptr;
  NNSCAPE_PETSC_CALL(PCGetType(pc, &current));
  const bool needs_entries = current == nullptr || std::string(current) == PCILU ||
                             std::string(current) == PCICC || std::string(current) == PCLU ||
                             std::string(current) == PCCHOLESKY || std::string(current) == PCSOR ||
                             std::string(current) == PCJACOBI || std::string(current) == PCBJACOBI;
  // NTR's Steihaug–Toint CG measures the step in the preconditioner's norm, which must be SPD;
  // the default ILU of a dense indefinite H is its exact LU (indefinite), and measured from
  // random starts of a (2, 4, 1) tanh net NTR then stalled or stopped at saddles in 4 of 4 runs.
  const bool trust_region = type == TAONTR;
  if (type == TAONTL || ((shell || trust_region) && needs_entries))
    NNSCAPE_PETSC_CALL(PCSetType(pc, PCLMVM));
}

// "gd" is BNCG with its type set through the options database (3.18 has no TaoBNCGSetType).
// The entry is added only if the user has not set one, and removed again once TaoSetFromOptions
// has read it, so it cannot leak into a later run with the same name.
class TemporaryOption {
 public:
  TemporaryOption(const std::string& prefix, const char* key, const char* value)
      : name_("-" + prefix + key) {
    PetscBool present = PETSC_FALSE;
    NNSCAPE_PETSC_CALL(PetscOptionsHasName(nullptr, nullptr, name_.c_str(), &present));
    if (present) return;
    NNSCAPE_PETSC_CALL(PetscOptionsSetValue(nullptr, name_.c_str(), value));
    owned_ = true;
  }
  TemporaryOption(const TemporaryOption&) = delete;
  TemporaryOption& operator=(const TemporaryOption&) = delete;
  ~TemporaryOption() noexcept {
    if (owned_) (void)PetscOptionsClearValue(nullptr, name_.c_str());
  }
  // Whether the effective value is `value` (ours, or the user's own).
  static bool holds(const std::string& name, const char* value) {
    char buf[64] = {0};
    PetscBool set = PETSC_FALSE;
    NNSCAPE_PETSC_CALL(PetscOptionsGetString(nullptr, nullptr, name.c_str(), buf, sizeof buf, &set));
    return set && std::string(buf) == value;
  }

 private:
  std::string name_;
  bool owned_ = false;
};

void check_options(LossModel& model, std::span<const double> theta0, const OptimizeOptions& o) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta0.size()) == model.num_params(),
                "optimize: theta0 has " + std::to_string(theta0.size()) + " entries, the network " +
                    std::to_string(model.num_params()) + " parameters");
  NNSCAPE_CHECK(model.num_params() <= PETSC_MAX_INT,
                "optimize: too many parameters for PETSc's index type");
  NNSCAPE_CHECK(!o.name.empty() && o.name.find_first_of(" \t\n-") == std::string::npos,
                "optimize: name '" + o.name + "' must be non-empty without blanks or '-' " +
                    "(it forms the options prefix opt_<name>_)");
  NNSCAPE_CHECK(!o.tao_type.empty(), "optimize: empty tao_type");
  NNSCAPE_CHECK(o.max_it >= 0, "optimize: max_it must be ≥ 0");
  NNSCAPE_CHECK(o.trajectory_length >= 1, "optimize: trajectory_length must be ≥ 1");
  NNSCAPE_CHECK(o.divergence_factor > 0.0, "optimize: divergence_factor must be > 0");
  NNSCAPE_CHECK(o.gatol >= 0.0 && o.grtol >= 0.0 && o.gttol >= 0.0,
                "optimize: tolerances must be ≥ 0");
}

}  // namespace

OptimizeResult optimize(LossModel& model, std::span<const double> theta0,
                        const OptimizeOptions& opts) {
  check_options(model, theta0, opts);
  OptimizeResult result;
  result.initial_param_norm = norm2(theta0);

  Run run;
  run.model = &model;
  run.n = static_cast<PetscInt>(model.num_params());
  run.divergence_limit = opts.divergence_factor * std::max(1.0, result.initial_param_norm);
  run.trajectory = Trajectory(opts.trajectory_length);
  run.point_metric = &opts.point_metric;

  // 1. Create, name, type. The prefix goes first: a Newton type builds its KSP with the Tao's
  //    prefix when it is created (-opt_<name>_tao_nls_ksp_type, ...).
  const std::string prefix = "opt_" + opts.name + "_";
  const bool gd = opts.tao_type == "gd";
  const std::string type = gd ? std::string(TAOBNCG) : opts.tao_type;
  TaoHandle tao;
  NNSCAPE_PETSC_CALL(TaoCreate(PETSC_COMM_SELF, tao.out()));
  NNSCAPE_PETSC_CALL(TaoSetOptionsPrefix(tao.get(), prefix.c_str()));
  register_levenberg_marquardt();
  if (const PetscErrorCode ierr = TaoSetType(tao.get(), type.c_str()); ierr != 0) {
    const PetscError cause(ierr, "TaoSetType", __FILE__, __LINE__);
    throw Error("optimize: unknown TAO type '" + opts.tao_type + "' (" + cause.what() + ")");
  }

  // 2. Problem: start point, objective and gradient, our convergence test.
  VecHandle x;
  NNSCAPE_PETSC_CALL(VecCreateSeq(PETSC_COMM_SELF, run.n, x.out()));
  {
    PetscScalar* xa = nullptr;
    NNSCAPE_PETSC_CALL(VecGetArrayWrite(x.get(), &xa));
    std::copy(theta0.begin(), theta0.end(), xa);
    NNSCAPE_PETSC_CALL(VecRestoreArrayWrite(x.get(), &xa));
  }
  NNSCAPE_PETSC_CALL(TaoSetSolution(tao.get(), x.get()));
  NNSCAPE_PETSC_CALL(TaoSetObjectiveAndGradient(tao.get(), nullptr, evaluate, &run));
  NNSCAPE_PETSC_CALL(TaoSetConvergenceTest(tao.get(), convergence_test, &run));
  MatHandle hessian;
  if (needs_hessian(type)) hessian = attach_hessian(tao.get(), run, opts.dense_limit);

  // 3. Defaults, then the options database (the command line wins).
  NNSCAPE_PETSC_CALL(TaoSetTolerances(tao.get(), opts.gatol, opts.grtol, opts.gttol));
  NNSCAPE_PETSC_CALL(TaoSetMaximumIterations(tao.get(), opts.max_it));
  // TAO counts max(function, gradient) evaluations against this limit; -1 means none.
  NNSCAPE_PETSC_CALL(TaoSetMaximumFunctionEvaluations(tao.get(), opts.max_funcs < 0 ? -1 : opts.max_funcs));
  bool gd_resolved = false;
  {
    std::unique_ptr<TemporaryOption> cg_type;
    if (gd) cg_type = std::make_unique<TemporaryOption>(prefix, "tao_bncg_type", "gd");
    if (const PetscErrorCode ierr = TaoSetFromOptions(tao.get()); ierr != 0) {
      const PetscError cause(ierr, "TaoSetFromOptions", __FILE__, __LINE__);
      throw Error("optimize: bad options under -" + prefix + ": " + cause.what());
    }
    gd_resolved = TemporaryOption::holds("-" + prefix + "tao_bncg_type", "gd");
  }
  TaoType resolved = nullptr;
  NNSCAPE_PETSC_CALL(TaoGetType(tao.get(), &resolved));
  result.tao_type = resolved ? resolved : "unknown";
  if (result.tao_type == TAOBNCG && gd_resolved) result.tao_type = "gd";
  if (needs_hessian(result.tao_type)) {
    if (!hessian.get()) hessian = attach_hessian(tao.get(), run, opts.dense_limit);
    choose_preconditioner(tao.get(), result.tao_type, !run.dense_hessian);
  }
  if (result.tao_type == kTaoLevenbergMarquardt) {
    NNSCAPE_CHECK(run.n <= opts.dense_limit,
                  "optimize: TAO lm factors the dense P x P Gauss-Newton matrix; P = " +
                      std::to_string(run.n) + " exceeds dense_limit " +
                      std::to_string(opts.dense_limit) + " (use ntr, nls or lmvm)");
    set_levenberg_marquardt_model(tao.get(), model, &run.hessian_evals);
  }

  // 4. Solve. A failure inside (callback exception, NaN at an accepted point, a KSP or line
  //    search error) ends this run only; the result says what happened.
  const auto start = std::chrono::steady_clock::now();
  const PetscErrorCode solved = TaoSolve(tao.get());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (solved != 0) {
    const PetscError cause(solved, "TaoSolve", __FILE__, __LINE__);
    result.error = cause.what();
    if (!run.callback_error.empty() &&
        result.error.find(run.callback_error) == std::string::npos) {
      result.error += " [callback: " + run.callback_error + "]";
    }
  }

  // 5. Read back.
  TaoConvergedReason reason = TAO_CONTINUE_ITERATING;
  PetscInt its = 0;
  NNSCAPE_PETSC_CALL(TaoGetConvergedReason(tao.get(), &reason));
  NNSCAPE_PETSC_CALL(TaoGetIterationNumber(tao.get(), &its));
  result.reason_code = static_cast<int>(reason);
  result.reason = TaoConvergedReasons[reason];
  result.iterations = static_cast<int>(its);
  result.function_evals = run.function_evals;
  result.gradient_evals = run.function_evals;
  result.hessian_evals = run.hessian_evals;
  result.diverged = run.diverged;
  {
    Vec solution = nullptr;
    const PetscScalar* sa = nullptr;
    NNSCAPE_PETSC_CALL(TaoGetSolution(tao.get(), &solution));
    NNSCAPE_PETSC_CALL(VecGetArrayRead(solution, &sa));
    result.theta.assign(sa, sa + run.n);
    NNSCAPE_PETSC_CALL(VecRestoreArrayRead(solution, &sa));
  }

  // 6. The end point's own numbers, not TAO's last monitor values (after a failed line search
  //    or a callback error those may belong to another point).
  result.param_norm = norm2(result.theta);
  try {
    model.set_point(result.theta);
    result.loss = model.value();
    result.grad_norm = norm2(model.gradient());
  } catch (const std::exception& e) {
    result.loss = result.grad_norm = std::numeric_limits<double>::quiet_NaN();
    if (result.error.empty()) result.error = std::string("optimize: final evaluation: ") + e.what();
  }
  const bool end_nonfinite = !std::isfinite(result.loss) || !std::isfinite(result.grad_norm) ||
                             !all_finite(result.theta);
  result.nonfinite = end_nonfinite || reason == TAO_DIVERGED_NAN ||
                     ((solved != 0 || reason <= 0) && run.last_eval_nonfinite);
  if (!result.diverged && std::isfinite(result.param_norm) &&
      result.param_norm > run.divergence_limit && reason <= 0) {
    result.diverged = true;
  }
  result.converged = reason > 0 && !result.diverged && !result.nonfinite && result.error.empty();

  // The re-evaluated end point stands for the pending (last) iteration in the trajectory; the
  // rate still sees TAO's gradient norm there.
  if (run.pending.iteration == result.iterations) {
    run.note_grad_norm(run.pending.grad_norm);
  } else {
    run.commit();
  }
  TrajectoryPoint last{result.iterations, result.loss, result.grad_norm, result.param_norm};
  if (opts.point_metric && all_finite(result.theta)) last.true_loss = opts.point_metric(result.theta);
  result.trajectory = std::move(run.trajectory).finish(last);
  if (detail::unbounded_descent(result.trajectory, result.initial_param_norm, opts.growth_factor,
                                opts.growth_slope, &result.norm_growth_rate) &&
      !result.nonfinite) {
    result.diverged = true;
    result.converged = false;
  }
  result.local_rate = result.iterations < 4 ? "unknown"
                                            : detail::classify_local_rate(run.recent_grad_norms);
  return result;
}

}  // namespace nnscape
