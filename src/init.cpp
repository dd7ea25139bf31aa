// Initial parameters: PyTorch's nn.Linear default, scaled normal, and the small-initialization
// regime. Pure (core library).
#include "nnscape/init.hpp"

#include <charconv>
#include <cmath>
#include <string>

#include "nnscape/error.hpp"
#include "nnscape/random.hpp"

namespace nnscape {

namespace {

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(ws) - first + 1);
}

const char* kSchemes = "pytorch, normal, small";

}  // namespace

InitSpec parse_init(std::string_view text) {
  const std::string_view all = trim(text);
  const auto colon = all.find(':');
  const std::string_view name = trim(all.substr(0, colon));
  InitSpec spec;
  if (name == "pytorch") {
    spec.scheme = InitScheme::pytorch;
  } else if (name == "normal") {
    spec.scheme = InitScheme::normal;
  } else if (name == "small") {
    spec.scheme = InitScheme::small;
    spec.scale = 1e-3;
  } else {
    throw Error("unknown initialization '" + std::string(name) + "' in '" + std::string(text) +
                "'; known: " + kSchemes);
  }
  if (colon == std::string_view::npos) return spec;

  std::string_view rest = all.substr(colon + 1);
  bool seen_scale = false;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const auto eq = item.find('=');
    const std::string_view key = trim(item.substr(0, eq));
    if (key != "scale")
      throw Error("unknown key '" + std::string(key) + "' in initialization '" +
                  std::string(text) + "'; the only key is scale");
    if (eq == std::string_view::npos)
      throw Error("initialization '" + std::string(text) + "': scale needs a value (scale=...)");
    if (seen_scale)
      throw Error("initialization '" + std::string(text) + "' gives scale twice");
    seen_scale = true;
    std::string_view value = trim(item.substr(eq + 1));
    if (value.size() > 1 && value.front() == '+') value.remove_prefix(1);
    double v = 0.0;
    const auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (err != std::errc() || end != value.data() + value.size() || !std::isfinite(v) || v <= 0.0)
      throw Error("initialization '" + std::string(text) + "': scale='" + std::string(value) +
                  "' is not a finite number > 0");
    spec.scale = v;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return spec;
}

std::vector<double> initialize(const Network& net, const InitSpec& spec, std::uint64_t seed) {
  NNSCAPE_CHECK(std::isfinite(spec.scale) && spec.scale > 0.0,
                "initialization scale must be a finite number > 0");
  std::vector<double> theta(static_cast<std::size_t>(net.num_params()));
  RandomStream rng(seed, Purpose::init);
  for (int l = 0; l < net.num_layers(); ++l) {
    const LayerLayout& lay = net.layer(l);
    const double fan_in = lay.in;
    const std::size_t count = lay.free_entries.size() + static_cast<std::size_t>(lay.out);
    // Weights and biases of a layer are contiguous in θ: [weight_offset, bias_offset + out).
    double* p = theta.data() + lay.weight_offset;
    switch (spec.scheme) {
      case InitScheme::pytorch: {
        // bound·(2u − 1) with u in [0, 1) stays within [−bound, bound) exactly.
        const double bound = spec.scale / std::sqrt(fan_in);
        for (std::size_t i = 0; i < count; ++i) p[i] = bound * (2.0 * rng.uniform() - 1.0);
        break;
      }
      case InitScheme::normal: {
        const double sd = spec.scale / std::sqrt(fan_in);
        for (std::size_t i = 0; i < count; ++i) p[i] = sd * rng.normal();
        break;
      }
      case InitScheme::small:
        for (std::size_t i = 0; i < count; ++i) p[i] = spec.scale * rng.normal();
        break;
    }
  }
  return theta;
}

}  // namespace nnscape
