#pragma once
// A regression data set: inputs X (n × d) and targets Y (n × m), both row-major float64.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
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

// A data set named by kind and key=value settings, as written on the command line and in study
// files: "teacher:width=4,d=2,n=512", "gp:d=2,n=1000,length=0.5", "linear:d=3,matrix=anti_identity",
// "file:data.h5". Keys per kind (unknown keys refused; defaults in brackets):
//   common   n [512] samples, d [2] input dim, input = uniform (cube [-1,1]^d) | gaussian (N(0, I))
//   teacher  width [4], m [1], activation [tanh], noise [0] (std of Gaussian label noise),
//            init [normal:scale=2] (see init.hpp): Y = f_teacher(X) + noise·N(0, 1), where the
//            teacher is Network{d, width, m} with θ = initialize(net, init,
//            derive_seed(seed, Purpose::teacher))
//   gp       m [1], length [0.5], variance [1], noise [0]: m independent samples of the prior
//            with k(x, x') = variance·exp(−‖x − x'‖² / (2·length²)); exact (Cholesky of
//            K + jitter·I, jitter 1e-10·variance, ×100 on failure up to 1e-4·variance; O(n³)
//            time, 8n² bytes) for n ≤ exact_limit [4000], else random Fourier features
//            (features [2048]; the m outputs share frequencies and phases)
//   linear   m [d], matrix [anti_identity] = anti_identity | identity | random (N(0, 1/d)) |
//            "a11 a12; a21 a22" (rows by ';', entries by spaces; sets d and m): Y = X Aᵀ, no noise
//   file     the path after the colon
// Values are parsed strictly; errors name the key and the value.
struct DatasetSpec {
  std::string kind;
  std::map<std::string, std::string> settings;  // for "file": {"path"}
  std::string text;                             // as given, for records
};
DatasetSpec parse_dataset_spec(std::string_view text);

// Generated kinds only (teacher, gp, linear). Pure and deterministic: the same (spec, seed)
// gives bitwise the same data on one machine (BLAS/libm builds may differ in the last bits).
// Streams: X from Purpose::inputs, gp/linear targets from Purpose::targets, noise from
// Purpose::noise, all keyed by seed.
Dataset generate_dataset(const DatasetSpec& spec, std::uint64_t seed);
// The target matrix A (m × d, row-major) of a "linear" spec, for ‖W_L···W_1 − A‖ reports; the
// seed (that of generate_dataset) matters only for matrix=random.
std::vector<double> linear_target_matrix(const DatasetSpec& spec, std::uint64_t seed);

// Any kind: generated, or read from the file for "file". Not collective.
Dataset load_dataset(const DatasetSpec& spec, std::uint64_t seed);

// The shape a data set will have, without drawing or reading its values: what a study checks
// (patterns against d and m) and plans (N·m against P, memory) before any work.
struct DatasetShape {
  std::ptrdiff_t n = 0;  // samples
  int d = 0;             // input dimension
  int m = 0;             // output dimension
};
// Generated kinds only, from their settings and defaults (linear: m defaults to d, an explicit
// matrix sets both). Pure; throws nnscape::Error like parse_dataset_spec (also for "file").
DatasetShape generated_dataset_shape(const DatasetSpec& spec);
// Any kind: "file" reads only the shapes of /X and /Y from the HDF5 header (no values), with
// the checks of read_dataset_h5 on ranks and row counts. Not collective.
DatasetShape dataset_shape(const DatasetSpec& spec);

// Reads /X (n × d) and /Y (n × m, or n for m = 1) from an HDF5 file. Not collective.
// Integer and float32 arrays are converted to float64; any other type, a missing array, a wrong
// rank, differing row counts or a non-finite value throws nnscape::Error naming the file.
Dataset read_dataset_h5(const std::string& path);
// Writes the same layout (for tests and examples). Not collective.
// Validates first; writes float64 with /Y always 2-D.
void write_dataset_h5(const std::string& path, const Dataset& data);

// Parameter vectors (θ in nnscape::Network order). Both refuse non-finite values. Not collective.
// A 1-D numeric dataset such as "/theta" of an HDF5 file.
std::vector<double> read_vector_h5(const std::string& path, const std::string& dataset);
// One number per line; blank lines and lines starting with '#' are skipped; errors name the
// 1-based line number.
std::vector<double> read_vector_text(const std::string& path);

}  // namespace nnscape
