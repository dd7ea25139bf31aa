#pragma once
// Dense symmetric eigen-decomposition (LAPACK dsyevd). Pure.
#include <cstddef>
#include <vector>

namespace nnscape {

// All eigenvalues of a dense symmetric P × P matrix, ascending. Throws nnscape::Error on a
// non-finite entry or a LAPACK failure.
std::vector<double> symmetric_eigenvalues(std::vector<double> matrix, std::ptrdiff_t p);

struct SymmetricEigen {
  std::vector<double> values;   // ascending
  std::vector<double> vectors;  // column j (vectors[j·P .. j·P + P)) belongs to values[j]
};
SymmetricEigen symmetric_eigen(std::vector<double> matrix, std::ptrdiff_t p);

}  // namespace nnscape
