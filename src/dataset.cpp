// Pure part of the dataset room: shape and value checks. No HDF5 here (core library).
#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>

#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"

namespace nnscape {

namespace {

std::string format_value(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

// A single NaN poisons the loss and every eigenvalue without any error, so it is refused here
// with its position rather than discovered as a NaN spectrum later.
void check_finite(const char* name, const std::vector<double>& a, int cols) {
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) {
      const std::size_t row = i / static_cast<std::size_t>(cols);
      const std::size_t col = i % static_cast<std::size_t>(cols);
      throw Error(std::string(name) + " has the non-finite value " + format_value(a[i]) +
                  " at row " + std::to_string(row) + ", column " + std::to_string(col) +
                  " (0-based); every value must be finite");
    }
  }
}

void check_size(const char* name, const std::vector<double>& a, int n, int cols) {
  const std::size_t expected = static_cast<std::size_t>(n) * static_cast<std::size_t>(cols);
  NNSCAPE_CHECK(a.size() == expected, std::string(name) + " holds " + std::to_string(a.size()) +
                                          " values, expected " + std::to_string(n) + " x " +
                                          std::to_string(cols) + " = " + std::to_string(expected));
}

}  // namespace

void validate(const Dataset& data) {
  NNSCAPE_CHECK(data.n >= 1, "data set has " + std::to_string(data.n) +
                                 " samples; at least 1 is needed");
  NNSCAPE_CHECK(data.d >= 1, "data set has input dimension " + std::to_string(data.d) +
                                 "; at least 1 is needed");
  NNSCAPE_CHECK(data.m >= 1, "data set has output dimension " + std::to_string(data.m) +
                                 "; at least 1 is needed");
  check_size("X", data.x, data.n, data.d);
  check_size("Y", data.y, data.n, data.m);
  check_finite("X", data.x, data.d);
  check_finite("Y", data.y, data.m);
}

}  // namespace nnscape
