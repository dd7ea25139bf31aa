#pragma once
// Mean squared error of a network over a whole data set and its exact derivatives.
//
//   L(θ) = (1/N) Σ_i ||f_θ(x_i) − y_i||² + (λ/2)||θ||²
//   G    = (2/N) Σ_i J_iᵀ J_i   (Gauss–Newton of the data term; λI is not included)
//
// All samples are processed as matrices (BLAS-3); Hessian products use Pearlmutter's R-operator
// and handle a block of k directions at once, so dense matrices cost P/k blocked passes.
#include <cstddef>
#include <span>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

class LossModel {
 public:
  // Keeps references: net and data must outlive the model. Throws on dimension mismatch.
  LossModel(const Network& net, const Dataset& data, double weight_decay = 0.0);

  std::ptrdiff_t num_params() const { return net_.num_params(); }
  const Network& network() const { return net_; }
  const Dataset& data() const { return data_; }
  double weight_decay() const { return weight_decay_; }

  // Forward and backward pass at θ; the results below refer to this point until the next call.
  void set_point(std::span<const double> theta);
  std::span<const double> point() const { return theta_; }

  double value() const { return value_; }
  double data_loss() const { return data_loss_; }  // without the weight-decay term
  std::span<const double> gradient() const { return grad_; }
  std::span<const double> residual() const { return residual_; }  // f(x_i) − y_i, n × m

  // out = H·v. v and out have length P.
  void hessian_product(std::span<const double> v, std::span<double> out);
  // OUT = H·V for k directions stored column after column (V + j·P is direction j).
  void hessian_block(const double* v, int k, double* out);
  // The same for the Gauss–Newton matrix G.
  void gauss_newton_block(const double* v, int k, double* out);

  // Dense P × P matrices (symmetric; row-major = column-major). One hidden layer: closed form
  // from the Jacobian (BLAS-3 SYRK) plus the residual term; deeper nets: blocked products.
  std::vector<double> dense_hessian();
  std::vector<double> dense_gauss_newton();

  // Directions per blocked pass, chosen to keep the workspace near workspace_bytes.
  int block_size(std::size_t workspace_bytes = std::size_t{256} << 20) const;

 private:
  void block_product(const double* v, int k, double* out, bool gauss_newton);
  std::vector<double> dense_matrix(bool gauss_newton);
  std::vector<double> dense_matrix_shallow(bool gauss_newton);  // one hidden layer, closed form
  const double* layer_input(int l) const;  // X for l = 0, else A_{l-1}
  static void column_sums(const double* a, int rows, int cols, double* out);

  const Network& net_;
  const Dataset& data_;
  double weight_decay_;
  std::vector<double> theta_;
  double value_ = 0.0;
  double data_loss_ = 0.0;
  std::vector<double> grad_;
  std::vector<double> residual_;
  // Per layer l = 0..L-1: dense weights, pre-activations Z, activations A = σ(Z), σ'(Z), σ''(Z),
  // back-propagated δ = ∂L/∂Z and E = δ_{l+1} W_{l+1} (= ∂L/∂A).
  std::vector<std::vector<double>> w_, b_, z_, a_, ds_, d2s_, delta_, e_;
  // Block-product workspaces, grown on demand: R{Z}, R{A}, R{δ} per layer, and the directions'
  // weights in the two layouts the GEMMs need (see loss.cpp).
  std::vector<std::vector<double>> rz_, ra_, rdelta_, vs_, vc_, vb_;
  std::vector<double> tmp_;
};

}  // namespace nnscape
