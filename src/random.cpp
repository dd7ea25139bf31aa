// Counter-based random streams on Random123's Philox4x64-10 (header-only, no state beyond the
// counter): see random.hpp for the key/counter layout.
#include "nnscape/random.hpp"

#include <Random123/boxmuller.hpp>
#include <Random123/philox.h>

namespace nnscape {

namespace {

using Philox = r123::Philox4x64;

Philox::ctr_type to_ctr(const std::array<std::uint64_t, 4>& c) {
  Philox::ctr_type r;
  for (int i = 0; i < 4; ++i) r.v[i] = c[i];
  return r;
}

Philox::key_type to_key(const std::array<std::uint64_t, 2>& k) {
  Philox::key_type r;
  r.v[0] = k[0];
  r.v[1] = k[1];
  return r;
}

}  // namespace

RandomStream::RandomStream(std::uint64_t seed, Purpose purpose, std::uint64_t index)
    : key_{seed, static_cast<std::uint64_t>(purpose)} {
  counter_[1] = index;
}

std::uint64_t RandomStream::next_u64() {
  if (used_ == 4) {
    const Philox::ctr_type out = Philox()(to_ctr(counter_), to_key(key_));
    for (int i = 0; i < 4; ++i) block_[i] = out.v[i];
    ++counter_[0];
    used_ = 0;
  }
  return block_[used_++];
}

double RandomStream::uniform() {
  return static_cast<double>(next_u64() >> 11) * 0x1.0p-53;
}

double RandomStream::uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

double RandomStream::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const std::uint64_t u0 = next_u64();
  const std::uint64_t u1 = next_u64();
  const r123::double2 z = r123::boxmuller(u0, u1);
  spare_ = z.y;
  has_spare_ = true;
  return z.x;
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t a, std::uint64_t b) {
  // Fixed key: the fractional digits of the golden ratio and of sqrt(2) (nothing up the sleeve).
  const Philox::key_type key = {{0x9E3779B97F4A7C15ULL, 0x6A09E667F3BCC908ULL}};
  const Philox::ctr_type ctr = {{seed, a, b, 0}};
  return Philox()(ctr, key).v[0];
}

}  // namespace nnscape
