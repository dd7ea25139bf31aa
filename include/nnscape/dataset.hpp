#pragma once
// A regression data set: inputs X (n × d) and targets Y (n × m), both row-major float64.
#include <string>
#include <vector>

namespace nnscape {

struct Dataset {
  int n = 0;  // samples
  int d = 0;  // input dimension
  int m = 0;  // output dimension
  std::vector<double> x;
  std::vector<double> y;
};

// Checks shapes and that every value is finite; throws nnscape::Error naming the problem.
void validate(const Dataset& data);

// Reads /X (n × d) and /Y (n × m, or n for m = 1) from an HDF5 file. Not collective.
Dataset read_dataset_h5(const std::string& path);
// Writes the same layout (for tests and examples). Not collective.
void write_dataset_h5(const std::string& path, const Dataset& data);

}  // namespace nnscape
