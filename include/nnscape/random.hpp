#pragma once
// Counter-based random streams (Random123's Philox4x64-10). A stream is keyed by
// (seed, purpose, index), so every draw of a trial is a pure function of the study seed and the
// trial's own coordinates: the result never depends on which rank ran the trial, or when.
#include <array>
#include <cstdint>

namespace nnscape {

// What a stream is for, so two uses of one seed never share numbers.
enum class Purpose : std::uint64_t { inputs = 1, targets, teacher, noise, init, pattern, test };

class RandomStream {
 public:
  RandomStream(std::uint64_t seed, Purpose purpose, std::uint64_t index = 0);

  std::uint64_t next_u64();
  double uniform();                    // [0, 1), 53 random bits
  double uniform(double lo, double hi);
  double normal();                     // standard normal

 private:
  std::array<std::uint64_t, 2> key_;
  std::array<std::uint64_t, 4> counter_{};
  std::array<std::uint64_t, 4> block_{};
  int used_ = 4;                       // words of block_ already handed out
  bool has_spare_ = false;             // Box–Muller makes normals in pairs
  double spare_ = 0.0;
};

// Mixes several integers into one seed (e.g. study seed and trial coordinates).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);

}  // namespace nnscape
