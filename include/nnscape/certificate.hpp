#pragma once
// Proofs about an end point in ball arithmetic (Arb): that a unique critical point of the loss
// lies in a box around θ, and what kind it is. Pure: no MPI, no PETSc, no global state.
//
// Method (Krawczyk): a few float Newton steps move θ̃ to a centre c nearer the critical point
// (c = θ̃ when θ̃ already is one to rounding). With X = c + [−r, r]^P, g = ∇L and Y ≈ H(c)⁻¹,
//   K(X) = c − Y g(c) + (I − Y H(X)) (X − c)  ⊂  interior of X
// proves that g has exactly one zero θ* in X (H(X) is the Hessian enclosed over the whole box).
// Then a Cholesky factorization of H(X) − μI (or of a float-preconditioned congruent matrix)
// that succeeds in ball arithmetic proves H ≻ μI on all of X (a strict minimum with λ_min ≥ μ);
// a vector v with vᵀH(X)v < 0 proves a saddle. g(c) is enclosed at twice the working precision:
// it cancels down to the residual, and Y (~1/λ_min) magnifies its rounding.
// Supported: one hidden layer (masks allowed) with tanh, sigmoid, softplus or identity hidden
// activation; anything else returns kind none with the reason.
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

enum class CertifiedKind { none, strict_min, saddle };

struct BallCertificate {
  CertifiedKind kind = CertifiedKind::none;
  std::string method;  // "krawczyk+cholesky", "krawczyk+curvature", or "" when none
  std::string reason;  // why no proof, when kind == none
  // The critical point θ*, unique in the proven box X, satisfies |θ*_i − θ̃_i| ≤ radius for
  // every i (∞-norm; X lies inside this box about θ̃). Rounded up.
  double radius = std::numeric_limits<double>::quiet_NaN();
  // strict_min: proven λ_min(H(θ)) ≥ lambda_min_lower > 0 for every θ in X; a double at most μ.
  double lambda_min_lower = std::numeric_limits<double>::quiet_NaN();
  // saddle: proven vᵀH(θ)v / vᵀv ≤ curvature_upper < 0 for every θ in X (rounded up).
  double curvature_upper = std::numeric_limits<double>::quiet_NaN();
  // Upper bound of ‖H(θ) − H_f(θ̃)‖₂ over X, H_f the float Hessian LossModel computes at θ̃
  // (Frobenius norm of the ball matrix H(X) − H_f): every eigenvalue of H(θ*) lies within this
  // of the corresponding eigenvalue of H_f(θ̃) (Weyl). Set whenever the Krawczyk step succeeded.
  double hessian_variation = std::numeric_limits<double>::quiet_NaN();
  // Proven upper bound of the loss over X (strict_min: of the loss at θ*, which convexity on X
  // bounds by the loss at the box's centre); when the Krawczyk step failed, the bound at θ̃
  // itself (NaN when no ball evaluation took place: unsupported, singular, non-finite).
  double loss_upper = std::numeric_limits<double>::quiet_NaN();
};

struct CertifyOptions {
  int precision_bits = 64;  // Arb working precision (the gradient at the centre uses twice this)
  int max_inflations = 6;   // ε-inflation rounds of the Krawczyk box
};

// theta is θ̃ (Network order). weight_decay λ adds (λ/2)‖θ‖² to the loss as in LossModel.
// Unsupported networks and failed proofs give kind none with the reason; shape mismatches and a
// precision outside [32, 4096] bits throw nnscape::Error.
BallCertificate certify_critical_point(const Network& net, const Dataset& data, double weight_decay,
                                       std::span<const double> theta,
                                       const CertifyOptions& opts = {});

// The enclosures the certificate is built from, as doubles, so that they can be checked against
// LossModel: every value of the loss, gradient and Hessian at any θ in θ̃ + [−radius, radius]^P
// lies in [mid − rad, mid + rad] (rad is rounded up and covers the rounding of mid).
// The Hessian is P × P row-major. Same support as certify_critical_point; throws
// nnscape::Error for an unsupported network.
struct BallEnclosure {
  double loss_mid = 0.0;
  double loss_rad = 0.0;
  std::vector<double> gradient_mid, gradient_rad;
  std::vector<double> hessian_mid, hessian_rad;
};
BallEnclosure enclose_derivatives(const Network& net, const Dataset& data, double weight_decay,
                                  std::span<const double> theta, double radius,
                                  int precision_bits = 64);

std::string_view to_string(CertifiedKind k);

}  // namespace nnscape
