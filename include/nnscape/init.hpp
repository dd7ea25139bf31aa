#pragma once
// Initial parameters, drawn from a seed (Purpose::init).
#include <cstdint>
#include <string_view>
#include <vector>

#include "nnscape/network.hpp"

namespace nnscape {

enum class InitScheme {
  pytorch,  // nn.Linear's default: W, b ~ U(−1/√fan_in, 1/√fan_in)
  normal,   // W, b ~ N(0, scale² / fan_in)
  small,    // W, b ~ N(0, scale²) with a small scale (default 1e-3): the small-initialization regime
};

struct InitSpec {
  InitScheme scheme = InitScheme::pytorch;
  double scale = 1.0;  // normal: gain; small: standard deviation (parse_init sets 1e-3)
};

// "pytorch", "normal", "normal:scale=0.5", "small", "small:scale=1e-4"; throws nnscape::Error.
InitSpec parse_init(std::string_view text);

// Free parameters only (masked entries are not parameters), in θ order.
std::vector<double> initialize(const Network& net, const InitSpec& spec, std::uint64_t seed);

}  // namespace nnscape
