#pragma once
// Counter-based random streams (Random123's Philox4x64-10). A stream is keyed by
// (seed, purpose, index), so every draw of a trial is a pure function of the study seed and the
// trial's own coordinates: the result never depends on which rank ran the trial, or when.
//
// Layout: Philox key = {seed, purpose}, counter = {block, index, 0, 0}; block counts up from 0
// and each block yields four 64-bit words, handed out in order. Distinct (seed, purpose, index)
// therefore never share a block. Same key → bitwise the same sequence on every machine.
#include <array>
#include <cstdint>

namespace nnscape {

// What a stream is for, so two uses of one seed never share numbers.
enum class Purpose : std::uint64_t { inputs = 1, targets, teacher, noise, init, pattern, test };

class RandomStream {
 public:
  RandomStream(std::uint64_t seed, Purpose purpose, std::uint64_t index = 0);

  std::uint64_t next_u64();
  double uniform();                      // [0, 1): the top 53 bits of one word, times 2^-53
  double uniform(double lo, double hi);  // lo + (hi − lo)·uniform()
  // Standard normal: Random123's Box–Muller (r123::boxmuller) on two words, which makes two
  // independent normals; the second is kept for the next call. Uses libm's log/sincos, so
  // it is bitwise reproducible for a given libm.
  double normal();

 private:
  std::array<std::uint64_t, 2> key_;
  std::array<std::uint64_t, 4> counter_{};
  std::array<std::uint64_t, 4> block_{};
  int used_ = 4;                       // words of block_ already handed out
  bool has_spare_ = false;             // Box–Muller makes normals in pairs
  double spare_ = 0.0;
};

// Mixes integers into one seed (e.g. study seed and trial coordinates): the first word of one
// Philox4x64-10 block with counter {seed, a, b, 0} under a fixed key. Philox is a bijection of
// the counter, so neighbouring inputs give unrelated outputs.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0);
inline std::uint64_t derive_seed(std::uint64_t seed, Purpose p, std::uint64_t b = 0) {
  return derive_seed(seed, static_cast<std::uint64_t>(p), b);
}

}  // namespace nnscape
