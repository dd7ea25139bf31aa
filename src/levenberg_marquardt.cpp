#include "nnscape/levenberg_marquardt.hpp"

#include <cblas.h>
#include <lapack.h>
#include <petsc/private/taoimpl.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <exception>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "nnscape/petsc.hpp"

// The PETSc callbacks live outside namespace nnscape: PetscCall calls PETSc's PetscError()
// unqualified, which inside nnscape would name the exception class.
namespace {

struct LmData {
  double delta = 1.0;
  double c0 = 1e-2;
  double c_min = 1e-8;
  double eta = 1e-4;
  double max_step = 0.5;
  nnscape::LossModel* model = nullptr;
  int* gauss_newton_evals = nullptr;
  Vec x_trial = nullptr;
  Vec g_trial = nullptr;
  // G + λI at the current iterate (column-major = row-major, symmetric), its shifted
  // Cholesky factor, and the data loss there.
  std::vector<double> gn;
  std::vector<double> factor;
  double data_loss = 0.0;
};

LmData& lm_data(Tao tao) { return *static_cast<LmData*>(tao->data); }

PetscErrorCode fail_with(const char* what) {
  return PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_LIB,
                    PETSC_ERROR_INITIAL, "%s", what);
}

// G + λI and the data loss at x, from the model (re-anchored if a trial point moved it).
PetscErrorCode compute_gauss_newton(Tao tao, Vec x) noexcept {
  LmData& lm = lm_data(tao);
  PetscCheck(lm.model, PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "TAO lm has no loss model (nnscape::set_levenberg_marquardt_model)");
  const PetscScalar* xa = nullptr;
  PetscInt n = 0;
  PetscCall(VecGetLocalSize(x, &n));
  PetscCall(VecGetArrayRead(x, &xa));
  std::string error;
  try {
    const std::span<const double> here(xa, static_cast<std::size_t>(n));
    const auto at = lm.model->point();
    if (!std::equal(here.begin(), here.end(), at.begin(), at.end())) lm.model->set_point(here);
    lm.gn = lm.model->dense_gauss_newton();
    lm.data_loss = lm.model->data_loss();
    const double lambda = lm.model->weight_decay();
    for (PetscInt i = 0; i < n; ++i) lm.gn[static_cast<std::size_t>(i) * n + i] += lambda;
  } catch (const std::exception& e) {
    error = e.what();
  } catch (...) {
    error = "unknown exception";
  }
  PetscCall(VecRestoreArrayRead(x, &xa));
  if (!error.empty()) return fail_with(("TAO lm: Gauss-Newton matrix: " + error).c_str());
  if (lm.gauss_newton_evals) ++*lm.gauss_newton_evals;
  tao->nhess++;
  return 0;
}

// Solves (G + λI + μI) s = −g; returns the shift actually used in *mu. A G that is singular to
// working precision (non-isolated minima, masked-out directions) can make the factorization
// fail for tiny μ; the shift then grows until it succeeds.
PetscErrorCode solve_step(Tao tao, Vec g, Vec s, double* mu) noexcept {
  LmData& lm = lm_data(tao);
  PetscInt n = 0;
  PetscCall(VecGetLocalSize(g, &n));
  double max_diag = 0.0;
  for (PetscInt i = 0; i < n; ++i)
    max_diag = std::max(max_diag, std::abs(lm.gn[static_cast<std::size_t>(i) * n + i]));
  // Below ~eps·‖G‖ the shift is lost in G's own round-off.
  const double floor = 16.0 * std::numeric_limits<double>::epsilon() * std::max(1.0, max_diag);
  *mu = std::max(*mu, floor);
  const char uplo = 'L';
  const lapack_int nn = static_cast<lapack_int>(n);
  lapack_int info = 1;
  for (int attempt = 0; attempt < 40 && info != 0; ++attempt) {
    if (attempt > 0) *mu *= 10.0;
    lm.factor = lm.gn;
    for (PetscInt i = 0; i < n; ++i) lm.factor[static_cast<std::size_t>(i) * n + i] += *mu;
    LAPACK_dpotrf(&uplo, &nn, lm.factor.data(), &nn, &info);
    PetscCheck(info >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "TAO lm: dpotrf argument %d",
               static_cast<int>(-info));
  }
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_NOT_CONVERGED,
             "TAO lm: G + mu I not positive definite even for mu = %g", *mu);
  PetscCall(VecCopy(g, s));
  PetscCall(VecScale(s, -1.0));
  PetscScalar* sa = nullptr;
  PetscCall(VecGetArray(s, &sa));
  const lapack_int one = 1;
  LAPACK_dpotrs(&uplo, &nn, &one, lm.factor.data(), &nn, sa, &nn, &info);
  PetscCall(VecRestoreArray(s, &sa));
  PetscCheck(info == 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "TAO lm: dpotrs failed (%d)",
             static_cast<int>(info));
  return 0;
}

// Predicted reduction of the quadratic model L + gᵀs + ½sᵀ(G + λI)s. Computed from G itself,
// not from the shifted system, so a solve that lost digits to κ(G) ≈ 1e9 cannot inflate it.
PetscErrorCode predicted_reduction(Tao tao, Vec g, Vec s, double* pred) noexcept {
  LmData& lm = lm_data(tao);
  PetscInt n = 0;
  PetscCall(VecGetLocalSize(s, &n));
  const PetscScalar* sa = nullptr;
  PetscScalar gs = 0.0;
  PetscCall(VecDot(g, s, &gs));
  PetscCall(VecGetArrayRead(s, &sa));
  std::vector<double> gsv(static_cast<std::size_t>(n));
  cblas_dsymv(CblasColMajor, CblasLower, static_cast<int>(n), 1.0, lm.gn.data(),
              static_cast<int>(n), sa, 1, 0.0, gsv.data(), 1);
  const double sgs = cblas_ddot(static_cast<int>(n), sa, 1, gsv.data(), 1);
  PetscCall(VecRestoreArrayRead(s, &sa));
  *pred = -gs - 0.5 * sgs;
  return 0;
}

// Actual over predicted reduction. When the predicted reduction is at the round-off level of L
// the ratio is noise (measured: at a non-zero-residual minimum with L ≈ 2e-2 this froze the run
// at ‖∇L‖ ≈ 9e-9, as it does L-BFGS's line search); the gradient norm, which still has all its
// digits there, then decides: a step that lowers it without raising L beyond round-off counts
// as fully successful, any other as a failure.
double reduction_ratio(double f, double f_trial, double pred, double gnorm, double gnorm_trial) {
  if (!std::isfinite(f_trial) || !std::isfinite(gnorm_trial))
    return -std::numeric_limits<double>::infinity();
  const double noise = 100.0 * std::numeric_limits<double>::epsilon() * std::abs(f);
  if (pred <= noise) return f_trial <= f + noise && gnorm_trial < gnorm ? 1.0 : -1.0;
  return (f - f_trial) / pred;
}

PetscErrorCode report(Tao tao, PetscReal f, PetscReal gnorm, PetscReal step) noexcept {
  PetscCall(TaoLogConvergenceHistory(tao, f, gnorm, 0.0, tao->ksp_its));
  PetscCall(TaoMonitor(tao, tao->niter, f, gnorm, 0.0, step));
  PetscUseTypeMethod(tao, convergencetest, tao->cnvP);
  return 0;
}

PetscErrorCode TaoSolve_LM(Tao tao) {
  LmData& lm = lm_data(tao);
  PetscCheck(lm.model, PETSC_COMM_SELF, PETSC_ERR_ORDER,
             "TAO lm has no loss model (nnscape::set_levenberg_marquardt_model)");
  Vec x = tao->solution, g = tao->gradient, s = tao->stepdirection;
  PetscReal f = 0.0, gnorm = 0.0;
  tao->reason = TAO_CONTINUE_ITERATING;
  PetscCall(TaoComputeObjectiveAndGradient(tao, x, &f, g));
  PetscCall(VecNorm(g, NORM_2, &gnorm));
  PetscCheck(!PetscIsInfOrNanReal(f) && !PetscIsInfOrNanReal(gnorm), PETSC_COMM_SELF,
             PETSC_ERR_USER, "User provided compute function generated Inf or NaN");
  PetscCall(report(tao, f, gnorm, 0.0));
  double c = lm.c0;
  bool stale = true;  // G belongs to an earlier iterate
  while (tao->reason == TAO_CONTINUE_ITERATING) {
    PetscTryTypeMethod(tao, update, tao->niter, tao->user_update);
    if (stale) PetscCall(compute_gauss_newton(tao, x));
    stale = false;
    // Nearly undamped Gauss–Newton steps across a flat region can jump to saturated units far
    // out, which then descend without bound (measured: softplus students diverged in 4 of 8
    // starts); a step longer than max_step·max(1, ‖θ‖) is damped further before it is tried,
    // like a trust region.
    PetscReal snorm = 0.0, xnorm = 0.0;
    PetscCall(VecNorm(x, NORM_2, &xnorm));
    for (;;) {
      // RMS residual √L_data = ‖F‖/√N: independent of N at a given fit, so c needs no
      // rescaling between data sets.
      double mu = c * std::pow(std::sqrt(std::max(lm.data_loss, 0.0)), lm.delta);
      PetscCall(solve_step(tao, g, s, &mu));
      PetscCall(VecNorm(s, NORM_2, &snorm));
      if (snorm <= lm.max_step * std::max<PetscReal>(1.0, xnorm) || c > 1e30) break;
      c *= 4.0;
    }
    double pred = 0.0;
    PetscCall(predicted_reduction(tao, g, s, &pred));
    PetscCall(VecWAXPY(lm.x_trial, 1.0, s, x));
    PetscReal f_trial = 0.0, gnorm_trial = 0.0;
    PetscCall(TaoComputeObjectiveAndGradient(tao, lm.x_trial, &f_trial, lm.g_trial));
    PetscCall(VecNorm(lm.g_trial, NORM_2, &gnorm_trial));
    const double rho = reduction_ratio(f, f_trial, pred, gnorm, gnorm_trial);
    PetscReal step = 0.0;
    if (rho > lm.eta) {
      PetscCall(VecCopy(lm.x_trial, x));
      PetscCall(VecCopy(lm.g_trial, g));
      f = f_trial;
      gnorm = gnorm_trial;
      stale = true;
      step = snorm;
    }
    if (rho < 0.25) {
      c *= 4.0;
    } else if (rho > 0.75) {
      c = std::max(c / 4.0, lm.c_min);
    }
    tao->niter++;
    PetscCall(report(tao, f, gnorm, step));
    // A shift this large gives steps below round-off of θ: no further progress is possible.
    if (tao->reason == TAO_CONTINUE_ITERATING && c > 1e30)
      PetscCall(TaoSetConvergedReason(tao, TAO_DIVERGED_TR_REDUCTION));
  }
  return 0;
}

PetscErrorCode TaoSetUp_LM(Tao tao) {
  LmData& lm = lm_data(tao);
  if (!tao->gradient) PetscCall(VecDuplicate(tao->solution, &tao->gradient));
  if (!tao->stepdirection) PetscCall(VecDuplicate(tao->solution, &tao->stepdirection));
  if (!lm.x_trial) PetscCall(VecDuplicate(tao->solution, &lm.x_trial));
  if (!lm.g_trial) PetscCall(VecDuplicate(tao->solution, &lm.g_trial));
  return 0;
}

PetscErrorCode TaoDestroy_LM(Tao tao) {
  LmData* lm = static_cast<LmData*>(tao->data);
  if (lm) {
    PetscCall(VecDestroy(&lm->x_trial));
    PetscCall(VecDestroy(&lm->g_trial));
    delete lm;
  }
  tao->data = nullptr;
  return 0;
}

PetscErrorCode TaoSetFromOptions_LM(Tao tao, PetscOptionItems* PetscOptionsObject) {
  LmData& lm = lm_data(tao);
  PetscOptionsHeadBegin(PetscOptionsObject, "Levenberg-Marquardt method (nnscape lm)");
  PetscCall(PetscOptionsReal("-tao_lm_delta", "exponent delta of mu = c*rms_residual^delta",
                             "", lm.delta, &lm.delta, nullptr));
  PetscCall(PetscOptionsReal("-tao_lm_mu0", "initial factor c", "", lm.c0, &lm.c0, nullptr));
  PetscCall(PetscOptionsReal("-tao_lm_mu_min", "lower bound of c", "", lm.c_min, &lm.c_min,
                             nullptr));
  PetscCall(PetscOptionsReal("-tao_lm_eta", "acceptance threshold of the reduction ratio", "",
                             lm.eta, &lm.eta, nullptr));
  PetscCall(PetscOptionsReal("-tao_lm_max_step", "longest step relative to max(1, |theta|)", "",
                             lm.max_step, &lm.max_step, nullptr));
  PetscOptionsHeadEnd();
  const char* prefix = nullptr;
  PetscCall(PetscObjectGetOptionsPrefix(reinterpret_cast<PetscObject>(tao), &prefix));
  if (!prefix) prefix = "";
  PetscCheck(lm.delta >= 1.0 && lm.delta <= 2.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-%stao_lm_delta %g must lie in [1, 2]", prefix, lm.delta);
  PetscCheck(lm.c0 > 0.0 && std::isfinite(lm.c0), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-%stao_lm_mu0 %g must be finite and > 0", prefix, lm.c0);
  PetscCheck(lm.c_min >= 0.0 && lm.c_min <= lm.c0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-%stao_lm_mu_min %g must lie in [0, mu0 = %g]", prefix, lm.c_min, lm.c0);
  PetscCheck(lm.max_step > 0.0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-%stao_lm_max_step %g must be > 0", prefix, lm.max_step);
  PetscCheck(lm.eta >= 0.0 && lm.eta < 0.25, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
             "-%stao_lm_eta %g must lie in [0, 0.25)", prefix, lm.eta);
  return 0;
}

PetscErrorCode TaoView_LM(Tao tao, PetscViewer viewer) {
  const LmData& lm = lm_data(tao);
  PetscBool ascii = PETSC_FALSE;
  PetscCall(PetscObjectTypeCompare(reinterpret_cast<PetscObject>(viewer), PETSCVIEWERASCII,
                                   &ascii));
  if (ascii) {
    PetscCall(PetscViewerASCIIPushTab(viewer));
    PetscCall(PetscViewerASCIIPrintf(viewer, "mu = c*rms_residual^%g, c0 = %g, c_min = %g, "
                                             "eta = %g, max_step = %g\n",
                                     lm.delta, lm.c0, lm.c_min, lm.eta, lm.max_step));
    PetscCall(PetscViewerASCIIPopTab(viewer));
  }
  return 0;
}

PetscErrorCode TaoCreate_LM(Tao tao) {
  tao->ops->setup = TaoSetUp_LM;
  tao->ops->solve = TaoSolve_LM;
  tao->ops->view = TaoView_LM;
  tao->ops->setfromoptions = TaoSetFromOptions_LM;
  tao->ops->destroy = TaoDestroy_LM;
  try {
    tao->data = new LmData;
  } catch (const std::bad_alloc&) {
    return fail_with("TAO lm: out of memory");
  }
  return 0;
}

}  // namespace

namespace nnscape {

void register_levenberg_marquardt() {
  NNSCAPE_PETSC_CALL(TaoRegister(kTaoLevenbergMarquardt, TaoCreate_LM));
}

void set_levenberg_marquardt_model(Tao tao, LossModel& model, int* gauss_newton_evals) {
  PetscBool is_lm = PETSC_FALSE;
  NNSCAPE_PETSC_CALL(
      PetscObjectTypeCompare(reinterpret_cast<PetscObject>(tao), kTaoLevenbergMarquardt, &is_lm));
  if (!is_lm) return;
  LmData& lm = lm_data(tao);
  lm.model = &model;
  lm.gauss_newton_evals = gauss_newton_evals;
}

}  // namespace nnscape
