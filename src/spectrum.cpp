#include "nnscape/spectrum.hpp"

// LAPACK's own prototypes (from the LAPACKE package): the C wrapper library liblapacke is not
// linked by the build, while dsyevd itself is in the LAPACK/OpenBLAS the build links.
#include <lapack.h>
#include <petscmat.h>
#include <slepceps.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/petsc.hpp"

// The PETSc callbacks live outside namespace nnscape on purpose: PetscCall and SETERRQ call
// PETSc's PetscError() unqualified, which inside nnscape would name the exception class.
namespace {

// Context of the MATSHELL: the model whose curvature it applies, and the first exception a
// product threw (rethrown once control is back on our side of the C boundary).
struct ShellContext {
  nnscape::LossModel* model = nullptr;
  bool gauss_newton = false;
  std::exception_ptr error;
};

// y = A·x. PETSc is C: an exception must not cross it, so failures become a PETSc error code
// (via PetscError, so the message reaches the error handler) and the exception is kept.
PetscErrorCode shell_multiply(Mat a, Vec x, Vec y) noexcept {
  ShellContext* ctx = nullptr;
  PetscCall(MatShellGetContext(a, &ctx));
  const PetscScalar* xa = nullptr;
  PetscScalar* ya = nullptr;
  PetscCall(VecGetArrayRead(x, &xa));
  PetscCall(VecGetArrayWrite(y, &ya));
  const char* what = nullptr;
  try {
    if (ctx->gauss_newton) {
      ctx->model->gauss_newton_block(xa, 1, ya);
    } else {
      ctx->model->hessian_block(xa, 1, ya);
    }
  } catch (const std::exception& e) {
    ctx->error = std::current_exception();
    what = e.what();
  } catch (...) {
    ctx->error = std::current_exception();
    what = "unknown exception";
  }
  PetscCall(VecRestoreArrayWrite(y, &ya));
  PetscCall(VecRestoreArrayRead(x, &xa));
  if (what != nullptr) {
    // Not SETERRQ: `what` points into the stored exception, which outlives this call.
    return PetscError(PETSC_COMM_SELF, __LINE__, PETSC_FUNCTION_NAME, __FILE__, PETSC_ERR_LIB,
                      PETSC_ERROR_INITIAL, "%s", what);
  }
  return 0;
}

// Convergence test of the small end: residual relative to the operator's size, not to the
// eigenvalue. SLEPc's default (||r||/|λ|) cannot be met by eigenvalues near 1e-15·λmax, and
// EPS_CONV_NORM needs MatNorm, which a shell does not have; ||A||₂ = |λ|max, which the large
// end has already measured, is the right size for a backward-stable error.
struct ConvergenceScale {
  PetscReal norm = 0.0;
};

PetscErrorCode converged_norm(EPS, PetscScalar, PetscScalar, PetscReal res, PetscReal* errest,
                              void* ctx) noexcept {
  *errest = res / static_cast<ConvergenceScale*>(ctx)->norm;
  return 0;
}

}  // namespace

namespace nnscape {

namespace {

using MatHandle = PetscHandle<Mat, MatDestroy>;
using EpsHandle = PetscHandle<EPS, EPSDestroy>;

// Defaults for the matrix-free solves; every one can be overridden through the options
// database (-hess_eps_tol, -hess_eps_max_it, ...) because EPSSetFromOptions runs last.
constexpr PetscReal kDefaultTolerance = 1e-8;
// Near a degenerate minimum the bottom of the spectrum is a dense cluster around 0 (hundreds
// of eigenvalues within round-off of 0 for a wide net). A Krylov space sees such a cluster
// almost as one eigenvalue, so a small subspace (SLEPc's default ncv = max(2k, k + 15)) finds
// one or two values per many restarts. Measured on a tanh net (2, 100, 1), N = 2000, P = 401,
// 334 near-zero eigenvalues of G, k = 10: ncv 25 converged 2 of 10 in 1000 restarts (19 s);
// ncv 100 converged all 10 in 2 restarts (0.2 s), with values at 1e-13 instead of 1e-8. The
// subspace costs ncv vectors of length P, which is small next to the model's workspace.
constexpr PetscInt kDefaultSubspace = 100;
// Restarts rarely help once a cluster stalls the solve; a bounded run that reports what did
// converge (and says how many) is more useful than an unbounded one.
constexpr PetscInt kDefaultMaxIterations = 200;

struct EndResult {
  std::vector<double> values;
  std::vector<double> residuals;
  int iterations = 0;
  double tolerance = 0.0;
  std::string type;
};

// One Krylov solve for the `nev` eigenvalues at one end of the spectrum.
EndResult solve_end(Mat a, PetscInt n, ShellContext& ctx, const char* prefix, EPSWhich which,
                    PetscInt nev, ConvergenceScale* scale) {
  EpsHandle eps;
  NNSCAPE_PETSC_CALL(EPSCreate(PETSC_COMM_SELF, eps.out()));
  NNSCAPE_PETSC_CALL(EPSSetOperators(eps.get(), a, nullptr));
  NNSCAPE_PETSC_CALL(EPSSetProblemType(eps.get(), EPS_HEP));
  NNSCAPE_PETSC_CALL(EPSSetOptionsPrefix(eps.get(), prefix));
  NNSCAPE_PETSC_CALL(EPSSetType(eps.get(), EPSKRYLOVSCHUR));
  NNSCAPE_PETSC_CALL(EPSSetWhichEigenpairs(eps.get(), which));
  const PetscInt ncv = std::min(n, std::max<PetscInt>(2 * nev, kDefaultSubspace));
  NNSCAPE_PETSC_CALL(EPSSetDimensions(eps.get(), nev, ncv, PETSC_DEFAULT));
  NNSCAPE_PETSC_CALL(EPSSetTolerances(eps.get(), kDefaultTolerance, kDefaultMaxIterations));
  if (scale != nullptr) {
    NNSCAPE_PETSC_CALL(EPSSetConvergenceTestFunction(eps.get(), converged_norm, scale, nullptr));
  }
  NNSCAPE_PETSC_CALL(EPSSetFromOptions(eps.get()));

  const PetscErrorCode solved = EPSSolve(eps.get());
  if (solved != 0 && ctx.error) std::rethrow_exception(std::exchange(ctx.error, nullptr));
  if (solved != 0) throw PetscError(solved, "EPSSolve(eps.get())", __FILE__, __LINE__);

  EndResult out;
  PetscInt nconv = 0;
  PetscInt its = 0;
  PetscReal tol = 0.0;
  PetscInt max_it = 0;
  EPSType type = nullptr;
  NNSCAPE_PETSC_CALL(EPSGetConverged(eps.get(), &nconv));
  NNSCAPE_PETSC_CALL(EPSGetIterationNumber(eps.get(), &its));
  NNSCAPE_PETSC_CALL(EPSGetTolerances(eps.get(), &tol, &max_it));
  NNSCAPE_PETSC_CALL(EPSGetType(eps.get(), &type));
  out.iterations = static_cast<int>(its);
  out.tolerance = tol;
  out.type = type ? type : "unknown";
  // A solver may converge more pairs than asked for; only the wanted end is reported.
  const PetscInt keep = std::min(nconv, nev);
  for (PetscInt i = 0; i < keep; ++i) {
    PetscScalar re = 0.0;
    PetscScalar im = 0.0;
    PetscReal residual = 0.0;
    NNSCAPE_PETSC_CALL(EPSGetEigenvalue(eps.get(), i, &re, &im));
    NNSCAPE_PETSC_CALL(EPSComputeError(eps.get(), i, EPS_ERROR_ABSOLUTE, &residual));
    out.values.push_back(re);
    out.residuals.push_back(residual);
  }
  return out;
}

Spectrum dense_spectrum(LossModel& model, Curvature which, const SpectrumOptions& opts) {
  const std::ptrdiff_t p = model.num_params();
  Spectrum s;
  s.eigenvalues = symmetric_eigenvalues(
      which == Curvature::hessian ? model.dense_hessian() : model.dense_gauss_newton(), p);
  s.complete = true;
  s.method = "lapack_dsyevd";
  s.inertia = count_inertia(s.eigenvalues, opts.inertia);
  return s;
}

// The matrix-free path: the k largest first (well separated, they converge under SLEPc's
// default relative test and give |λ|max), then the k smallest under a test scaled by it.
Spectrum krylov_spectrum(LossModel& model, Curvature which, const SpectrumOptions& opts) {
  const std::ptrdiff_t p = model.num_params();
  NNSCAPE_CHECK(opts.extremes >= 1, "spectrum: extremes must be at least 1");
  NNSCAPE_CHECK(p <= PETSC_MAX_INT, "spectrum: too many parameters for PETSc's index type");
  const auto n = static_cast<PetscInt>(p);
  // The two ends never overlap: with P < 2k the small end takes what the large end leaves.
  const PetscInt k_large = std::min<PetscInt>(opts.extremes, n);
  const PetscInt k_small = std::min<PetscInt>(opts.extremes, n - k_large);

  ShellContext ctx{&model, which == Curvature::gauss_newton, nullptr};
  MatHandle a;
  NNSCAPE_PETSC_CALL(MatCreateShell(PETSC_COMM_SELF, n, n, n, n, &ctx, a.out()));
  NNSCAPE_PETSC_CALL(MatShellSetOperation(a.get(), MATOP_MULT,
                                          reinterpret_cast<void (*)(void)>(shell_multiply)));
  NNSCAPE_PETSC_CALL(MatSetOption(a.get(), MAT_SYMMETRIC, PETSC_TRUE));

  const char* prefix = options_prefix(which);
  EndResult large = solve_end(a.get(), n, ctx, prefix, EPS_LARGEST_REAL, k_large, nullptr);
  EndResult small;
  if (k_small > 0) {
    ConvergenceScale scale;
    for (double v : large.values) scale.norm = std::max<PetscReal>(scale.norm, std::abs(v));
    if (!(scale.norm > 0.0)) scale.norm = 1.0;  // nothing converged or A = 0: plain absolute
    small = solve_end(a.get(), n, ctx, prefix, EPS_SMALLEST_REAL, k_small, &scale);
  }

  std::vector<std::pair<double, double>> pairs;
  for (std::size_t i = 0; i < small.values.size(); ++i)
    pairs.emplace_back(small.values[i], small.residuals[i]);
  for (std::size_t i = 0; i < large.values.size(); ++i)
    pairs.emplace_back(large.values[i], large.residuals[i]);
  std::sort(pairs.begin(), pairs.end());

  Spectrum s;
  for (const auto& [value, residual] : pairs) {
    s.eigenvalues.push_back(value);
    s.residuals.push_back(residual);
  }
  s.complete = false;
  s.method = "slepc_" + large.type;
  s.converged = static_cast<int>(pairs.size());
  s.iterations = large.iterations + small.iterations;
  s.tolerance = k_small > 0 ? small.tolerance : large.tolerance;
  // Krylov methods find one copy of a repeated eigenvalue per start vector in exact arithmetic
  // and report round-off copies unpredictably, so a count of zeros (or of anything) from k
  // extreme values is not evidence: counts are -1, only the scale is known.
  s.inertia.n_neg = -1;
  s.inertia.n_zero = -1;
  s.inertia.n_pos = -1;
  s.inertia.n_undecided = -1;
  s.inertia.certain = false;
  for (double v : s.eigenvalues) s.inertia.scale = std::max(s.inertia.scale, std::abs(v));
  return s;
}

}  // namespace

const char* options_prefix(Curvature which) {
  return which == Curvature::hessian ? "hess_" : "gn_";
}

Spectrum compute_spectrum(LossModel& model, Curvature which, const SpectrumOptions& opts) {
  if (model.num_params() <= opts.dense_limit) return dense_spectrum(model, which, opts);
  return krylov_spectrum(model, which, opts);
}

}  // namespace nnscape
