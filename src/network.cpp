#include "nnscape/network.hpp"

#include <cblas.h>

#include <algorithm>
#include <string>

#include "nnscape/error.hpp"

namespace nnscape {

std::vector<int> layer_widths(int d, const std::vector<int>& hidden, int m) {
  std::vector<int> widths{d};
  widths.insert(widths.end(), hidden.begin(), hidden.end());
  widths.push_back(m);
  return widths;
}

Mask Mask::dense(int rows, int cols) {
  return Mask{rows, cols, std::vector<std::uint8_t>(static_cast<std::size_t>(rows) * cols, 1)};
}

int Mask::count() const {
  int c = 0;
  for (auto b : bits) c += (b != 0);
  return c;
}

Network::Network(Architecture arch) : arch_(std::move(arch)) {
  const auto& w = arch_.widths;
  NNSCAPE_CHECK(w.size() >= 2, "a network needs at least an input and an output width, got " +
                                   std::to_string(w.size()) + " width(s)");
  for (std::size_t i = 0; i < w.size(); ++i)
    NNSCAPE_CHECK(w[i] >= 1, "width " + std::to_string(i) + " is " + std::to_string(w[i]) +
                                 "; every width must be at least 1");
  const int num_layers = static_cast<int>(w.size()) - 1;
  NNSCAPE_CHECK(arch_.masks.empty() || static_cast<int>(arch_.masks.size()) == num_layers,
                "got " + std::to_string(arch_.masks.size()) + " masks for " +
                    std::to_string(num_layers) + " weight matrices (one mask per layer, or none)");
  std::ptrdiff_t offset = 0;
  for (int l = 0; l < num_layers; ++l) {
    LayerLayout lay;
    lay.in = w[l];
    lay.out = w[l + 1];
    lay.weight_offset = offset;
    if (arch_.masks.empty()) {
      lay.free_entries.resize(static_cast<std::size_t>(lay.in) * lay.out);
      for (std::size_t i = 0; i < lay.free_entries.size(); ++i)
        lay.free_entries[i] = static_cast<int>(i);
    } else {
      const Mask& m = arch_.masks[l];
      NNSCAPE_CHECK(m.rows == lay.out && m.cols == lay.in,
                    "mask of layer " + std::to_string(l + 1) + " is " + std::to_string(m.rows) +
                        "x" + std::to_string(m.cols) + " but W_" + std::to_string(l + 1) + " is " +
                        std::to_string(lay.out) + "x" + std::to_string(lay.in) + " (out x in)");
      NNSCAPE_CHECK(m.bits.size() == static_cast<std::size_t>(m.rows) * m.cols,
                    "mask of layer " + std::to_string(l + 1) + " holds " +
                        std::to_string(m.bits.size()) + " entries, expected rows*cols");
      for (std::size_t i = 0; i < m.bits.size(); ++i) {
        NNSCAPE_CHECK(m.bits[i] <= 1, "mask of layer " + std::to_string(l + 1) +
                                          " has an entry other than 0 or 1");
        if (m.bits[i]) lay.free_entries.push_back(static_cast<int>(i));
      }
    }
    offset += static_cast<std::ptrdiff_t>(lay.free_entries.size());
    lay.bias_offset = offset;
    offset += lay.out;
    layers_.push_back(std::move(lay));
  }
  num_params_ = offset;
}

void Network::unpack_layer(std::span<const double> theta, int l, double* weight,
                           double* bias) const {
  const LayerLayout& lay = layers_[l];
  const std::size_t dense = static_cast<std::size_t>(lay.in) * lay.out;
  const double* src = theta.data() + lay.weight_offset;
  if (lay.free_entries.size() == dense) {
    std::copy(src, src + dense, weight);
  } else {
    std::fill(weight, weight + dense, 0.0);
    for (std::size_t i = 0; i < lay.free_entries.size(); ++i) weight[lay.free_entries[i]] = src[i];
  }
  if (bias) std::copy(theta.data() + lay.bias_offset, theta.data() + lay.bias_offset + lay.out, bias);
}

void Network::pack_layer(const double* weight, const double* bias, int l,
                         std::span<double> theta) const {
  const LayerLayout& lay = layers_[l];
  double* dst = theta.data() + lay.weight_offset;
  for (std::size_t i = 0; i < lay.free_entries.size(); ++i) dst[i] = weight[lay.free_entries[i]];
  if (bias) std::copy(bias, bias + lay.out, theta.data() + lay.bias_offset);
}

std::vector<double> Network::predict(std::span<const double> theta, const double* x, int n) const {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta.size()) == num_params_,
                "parameter vector has " + std::to_string(theta.size()) + " entries, the network has " +
                    std::to_string(num_params_));
  std::vector<double> in(x, x + static_cast<std::size_t>(n) * input_dim()), out, w, b;
  for (int l = 0; l < num_layers(); ++l) {
    const LayerLayout& lay = layers_[l];
    w.resize(static_cast<std::size_t>(lay.out) * lay.in);
    b.resize(lay.out);
    unpack_layer(theta, l, w.data(), b.data());
    out.resize(static_cast<std::size_t>(n) * lay.out);
    for (int i = 0; i < n; ++i) std::copy(b.begin(), b.end(), out.begin() + std::size_t(i) * lay.out);
    if (n > 0)
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, lay.out, lay.in, 1.0, in.data(),
                  lay.in, w.data(), lay.in, 1.0, out.data(), lay.out);
    if (l + 1 < num_layers())
      evaluate_activation(arch_.activation, out.data(), out.size(), out.data(), nullptr, nullptr);
    in.swap(out);
  }
  return in;
}

}  // namespace nnscape
