#pragma once
// Initial parameters, drawn from a seed (Purpose::init).
#include <cstdint>
#include <string_view>
#include <vector>

#include "nnscape/network.hpp"

namespace nnscape {

// fan_in of a layer is its dense input width (layer.in), also for masked layers: PyTorch's
// convention when a mask is applied to a dense layer (torch.nn.utils.prune), so a free entry has
// the same distribution whatever the pattern.
enum class InitScheme {
  pytorch,  // nn.Linear's default: W, b ~ U(−s/√fan_in, s/√fan_in), s = scale (default 1)
  normal,   // W, b ~ N(0, scale² / fan_in)
  small,    // W, b ~ N(0, scale²) with a small scale (default 1e-3): the small-initialization regime
};

struct InitSpec {
  InitScheme scheme = InitScheme::pytorch;
  double scale = 1.0;  // pytorch: bound factor; normal: gain; small: std (parse_init sets 1e-3)
};

// "pytorch", "normal", "normal:scale=0.5", "small", "small:scale=1e-4" (scale is the only key,
// finite and > 0, for every scheme); throws nnscape::Error naming an unknown scheme or key.
InitSpec parse_init(std::string_view text);

// Free parameters only (masked entries are not parameters and draw nothing), in θ order: θ_j
// comes from the j-th draw of RandomStream(seed, Purpose::init), scaled for its layer.
std::vector<double> initialize(const Network& net, const InitSpec& spec, std::uint64_t seed);

}  // namespace nnscape
