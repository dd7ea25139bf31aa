#include "nnscape/symmetric_eigen.hpp"

// LAPACK's own prototypes (from the LAPACKE package): the C wrapper library liblapacke is not
// linked by the build, while dsyevd itself is in the LAPACK/OpenBLAS the build links.
#include <lapack.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <utility>

#include "nnscape/error.hpp"

namespace nnscape {

namespace {

std::vector<double> dsyevd(std::vector<double>& matrix, std::ptrdiff_t p, char jobz) {
  NNSCAPE_CHECK(p >= 0, "symmetric eigen-decomposition: negative size");
  NNSCAPE_CHECK(p <= INT_MAX, "symmetric eigen-decomposition: matrix too large for LAPACK's int");
  NNSCAPE_CHECK(matrix.size() == static_cast<std::size_t>(p) * static_cast<std::size_t>(p),
                "symmetric eigen-decomposition: matrix is not P x P");
  // LAPACK's behaviour on NaN/Inf input is undefined (it may loop or return garbage); a
  // non-finite curvature is a failed trial and should say so.
  for (double v : matrix) {
    NNSCAPE_CHECK(std::isfinite(v), "symmetric eigen-decomposition: matrix has a non-finite entry");
  }
  if (p == 0) return {};

  const char uplo = 'U';  // symmetric, so either triangle will do
  const lapack_int n = static_cast<lapack_int>(p);
  std::vector<double> w(static_cast<std::size_t>(p));
  lapack_int info = 0;
  // Workspace query first (lwork = liwork = -1), then the real call.
  double work_query = 0.0;
  lapack_int iwork_query = 0;
  lapack_int lwork = -1;
  lapack_int liwork = -1;
  LAPACK_dsyevd(&jobz, &uplo, &n, matrix.data(), &n, w.data(), &work_query, &lwork, &iwork_query,
                &liwork, &info);
  if (info != 0) throw Error("dsyevd workspace query failed: info = " + std::to_string(info));
  lwork = static_cast<lapack_int>(work_query);
  liwork = std::max<lapack_int>(iwork_query, 1);
  std::vector<double> work(static_cast<std::size_t>(std::max<lapack_int>(lwork, 1)));
  std::vector<lapack_int> iwork(static_cast<std::size_t>(liwork));
  LAPACK_dsyevd(&jobz, &uplo, &n, matrix.data(), &n, w.data(), work.data(), &lwork, iwork.data(),
                &liwork, &info);
  if (info != 0) {
    throw Error("dsyevd failed: info = " + std::to_string(info) +
                (info > 0 ? " (the algorithm did not converge)" : " (illegal argument)"));
  }
  return w;  // LAPACK returns them ascending
}

}  // namespace

std::vector<double> symmetric_eigenvalues(std::vector<double> matrix, std::ptrdiff_t p) {
  return dsyevd(matrix, p, 'N');  // values only: vectors cost several times more (O(P³) extra)
}

SymmetricEigen symmetric_eigen(std::vector<double> matrix, std::ptrdiff_t p) {
  SymmetricEigen out;
  out.values = dsyevd(matrix, p, 'V');
  out.vectors = std::move(matrix);
  return out;
}

}  // namespace nnscape
