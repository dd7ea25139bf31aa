#pragma once
// Eigenvalues of the Hessian H or the Gauss–Newton matrix G at the model's current point.
//
// P ≤ dense_limit: the dense matrix and all eigenvalues (LAPACK dsyevd, values only), with
// inertia counts by the error bounds of inertia.hpp (variation 0: the matrix at this point). Above: SLEPc Krylov–Schur on a MATSHELL whose
// product is the exact (blocked) Hessian-vector product, for the k smallest and k largest
// eigenvalues, each reported with its residual. The matrix-free path cannot certify counts
// (a dense run of near-zero eigenvalues defeats Krylov methods), so there counts are -1.
// SLEPc options pass through under a prefix: -hess_eps_type, -gn_eps_tol, ...
#include <cstddef>
#include <string>
#include <vector>

#include "nnscape/inertia.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/symmetric_eigen.hpp"

namespace nnscape {

enum class Curvature { hessian, gauss_newton };

struct SpectrumOptions {
  std::ptrdiff_t dense_limit = 4000;
  int extremes = 10;  // k smallest and k largest in the matrix-free path
  InertiaBounds inertia;
};

struct Spectrum {
  std::vector<double> eigenvalues;  // ascending: all P (dense) or smallest k then largest k
  std::vector<double> residuals;    // ||A x − λ x|| per eigenvalue (matrix-free); empty if dense
  bool complete = false;            // true when all P eigenvalues were computed
  std::string method;               // "lapack_dsyevd" or "slepc_<eps type>"
  int converged = 0;                // matrix-free: eigenpairs converged (both ends)
  int iterations = 0;               // matrix-free: solver iterations (both ends)
  double tolerance = 0.0;           // matrix-free: the solver's tolerance
  Inertia inertia;                  // counts are -1 when !complete
};

// SLEPc options prefix used for each curvature: "hess_" or "gn_".
const char* options_prefix(Curvature which);

// Not collective (PETSC_COMM_SELF). Uses model's current point.
Spectrum compute_spectrum(LossModel& model, Curvature which, const SpectrumOptions& opts = {});


}  // namespace nnscape
