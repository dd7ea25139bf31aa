#pragma once
// Multilayer perceptron: architecture, sparsity masks and the parameter layout.
//
// Conventions (../shared/papers.md): f(x) = W_L s(... s(W_1 x + b_1) ...) + b_L; masked weight
// entries are not parameters; θ holds, layer by layer, the free entries of W_l in row-major
// (out × in) order followed by b_l — PyTorch's nn.Linear order.
#include <cstdint>
#include <span>
#include <vector>

#include "nnscape/activation.hpp"

namespace nnscape {

// 0/1 support of one weight matrix, row-major (rows = outputs, cols = inputs).
struct Mask {
  int rows = 0;
  int cols = 0;
  std::vector<std::uint8_t> bits;

  static Mask dense(int rows, int cols);
  int count() const;
  bool at(int r, int c) const { return bits[static_cast<std::size_t>(r) * cols + c] != 0; }
  bool operator==(const Mask&) const = default;
};

struct Architecture {
  std::vector<int> widths;  // N_0 = input dim d, hidden N_1..N_{L-1}, N_L = output dim m
  Activation activation = Activation::tanh;
  std::vector<Mask> masks;  // one per weight matrix, or empty for dense
};

// {d, hidden..., m}: the layer widths of a net whose input and output sizes come from the data.
std::vector<int> layer_widths(int d, const std::vector<int>& hidden, int m);

// Where layer l's parameters sit in θ.
struct LayerLayout {
  int in = 0;
  int out = 0;
  std::ptrdiff_t weight_offset = 0;  // first free weight entry of this layer in θ
  std::ptrdiff_t bias_offset = 0;    // b_l occupies [bias_offset, bias_offset + out)
  std::vector<int> free_entries;     // dense row-major indices r*in + c of the free weights
};

class Network {
 public:
  // Validates widths (≥ 2 entries, all ≥ 1) and mask shapes/values; throws nnscape::Error.
  explicit Network(Architecture arch);

  const Architecture& architecture() const { return arch_; }
  int num_layers() const { return static_cast<int>(layers_.size()); }
  int input_dim() const { return arch_.widths.front(); }
  int output_dim() const { return arch_.widths.back(); }
  std::ptrdiff_t num_params() const { return num_params_; }
  const LayerLayout& layer(int l) const { return layers_[l]; }  // l = 0 .. L-1

  // Dense W_l (out × in, zeros at masked entries) and b_l from θ.
  void unpack_layer(std::span<const double> theta, int l, double* weight, double* bias) const;
  // Inverse of unpack_layer for a gradient-like quantity: keeps only free entries.
  void pack_layer(const double* weight, const double* bias, int l, std::span<double> theta) const;

  // Network outputs for n inputs x (n × d, row-major); returns n × m, row-major.
  std::vector<double> predict(std::span<const double> theta, const double* x, int n) const;

 private:
  Architecture arch_;
  std::vector<LayerLayout> layers_;
  std::ptrdiff_t num_params_ = 0;
};

}  // namespace nnscape
