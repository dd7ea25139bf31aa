#pragma once
// TAO type "lm": Levenberg–Marquardt for the MSE loss as a sum of squares, with the
// Yamashita–Fukushima / Fan–Yuan regularization μ_k = c_k·r_k^δ (r_k the RMS residual,
// δ ∈ [1, 2]) and a trust-region update of c_k. It converges quadratically to zero-residual
// minima even where they are not isolated (a local error bound suffices; a nonsingular
// Hessian is not needed), which is where Newton and quasi-Newton methods slow down.
//
// Step: (G + λI + μ_k I) s = −∇L by dense Cholesky, with G = (2/N)JᵀJ from
// LossModel::dense_gauss_newton and λ the model's weight decay. Objective and gradient come
// from the Tao's own objective-and-gradient routine, so counters, NaN checks, monitors and the
// convergence test (gatol, max_it, max_funcs, user tests) work as for any TAO type; each trial
// step, accepted or rejected, is one TAO iteration.
//
// Options (under the Tao's prefix):
//   -tao_lm_delta <1>      δ, in [1, 2]
//   -tao_lm_mu0 <1e-2>     c_0 > 0
//   -tao_lm_mu_min <1e-8>  lower bound of c_k, ≥ 0 (keeps the quadratic-rate theory valid)
//   -tao_lm_eta <1e-4>     a step is accepted when actual/predicted reduction > η, in [0, 0.25)
//   -tao_lm_max_step <0.5> steps longer than this × max(1, ‖θ‖) are refused (then c grows)
#include <petsctao.h>

#include "nnscape/loss.hpp"

namespace nnscape {

inline constexpr const char* kTaoLevenbergMarquardt = "lm";

// Adds "lm" to TAO's registry. Idempotent (TaoRegister replaces an entry of the same name), so
// it may be called before every TaoSetType, also after a PETSc re-initialization.
void register_levenberg_marquardt();

// Gives an "lm" Tao the model its Gauss–Newton matrices come from; *gauss_newton_evals (may be
// null) is incremented per matrix. No-op for a Tao of another type. The model must outlive the
// solve; TaoSolve fails with a PETSc error on an "lm" Tao that has no model.
void set_levenberg_marquardt_model(Tao tao, LossModel& model, int* gauss_newton_evals);

}  // namespace nnscape
