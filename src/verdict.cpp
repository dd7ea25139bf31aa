#include "nnscape/verdict.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "nnscape/certificate.hpp"
#include "nnscape/error.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/norms.hpp"
#include "nnscape/polish.hpp"
#include "nnscape/reduction.hpp"

namespace nnscape {
namespace {

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0.0, aa = 0.0, bb = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0.0 && bb > 0.0 ? ab / std::sqrt(aa * bb) : 0.0;
}

// One hidden layer: the units whose (w, b, a) norm is at least a quarter of the largest, and
// pairs among them that form a difference quotient (parallel inputs, opposite outputs): the
// classic way a tanh network approximates a derivative with weights running to infinity.
std::string runaway_units(const Network& net, std::span<const double> theta) {
  if (net.num_layers() != 2) return "";
  const LayerLayout& l0 = net.layer(0);
  const LayerLayout& l1 = net.layer(1);
  std::vector<double> w(static_cast<std::size_t>(l0.out) * l0.in), b(l0.out);
  std::vector<double> a(static_cast<std::size_t>(l1.out) * l1.in), c(l1.out);
  net.unpack_layer(theta, 0, w.data(), b.data());
  net.unpack_layer(theta, 1, a.data(), c.data());
  const int n = l0.out;
  std::vector<std::vector<double>> in(n), out(n);
  std::vector<double> size(n);
  double largest = 0.0;
  for (int k = 0; k < n; ++k) {
    in[k].assign(w.begin() + k * l0.in, w.begin() + (k + 1) * l0.in);
    in[k].push_back(b[k]);
    for (int o = 0; o < l1.out; ++o) out[k].push_back(a[o * l1.in + k]);
    size[k] = std::sqrt(norm2(in[k]) * norm2(in[k]) + norm2(out[k]) * norm2(out[k]));
    largest = std::max(largest, size[k]);
  }
  std::vector<int> big;
  for (int k = 0; k < n; ++k)
    if (size[k] >= 0.25 * largest && largest > 0.0) big.push_back(k);
  std::string s, pairs;
  for (int k : big) s += (s.empty() ? "" : ",") + std::to_string(k);
  for (std::size_t i = 0; i < big.size(); ++i)
    for (std::size_t j = i + 1; j < big.size(); ++j) {
      const double ci = cosine(in[big[i]], in[big[j]]);
      const double co = cosine(out[big[i]], out[big[j]]);
      // tanh is odd: w_j ≈ −w_i with a_j ≈ a_i is the same quotient.
      if (std::abs(ci) >= 0.99 && ci * co <= -0.99)
        pairs += (pairs.empty() ? "" : ", ") + std::to_string(big[i]) + "," + std::to_string(big[j]);
    }
  if (!pairs.empty()) s += " (difference-quotient pairs: " + pairs + ")";
  return s;
}

Verdict diverged_verdict(const Network& net, std::span<const double> theta, const EndPointFacts& f,
                         double loss) {
  Verdict v;
  v.type = PointType::diverged;
  Certificate& c = v.certificate;
  c.norm_ratio = norm2(theta) / std::max(1.0, f.initial_param_norm);
  c.runaway_units = runaway_units(net, theta);
  // Evidence, not a proof of a missing minimizer: the norm grew tenfold while the loss fell.
  if (c.norm_ratio >= 10.0 && loss < f.initial_loss) {
    c.certified = true;
    c.method = "divergence_evidence";
  } else {
    c.reason = c.norm_ratio < 10.0 ? "‖θ‖ grew less than tenfold" : "the loss did not fall";
  }
  return v;
}

void take_ball(Certificate& c, const BallCertificate& b) {
  c.radius = b.radius;
  c.lambda_min_lower = b.lambda_min_lower;
  c.curvature_upper = b.curvature_upper;
  c.loss_upper = b.loss_upper;
}

// Tolerances for candidate reductions, tried in order: a wrong reduction fails its proof (its core
// is no zero-residual strict minimum, or its embedding is far from the end point), so looser
// searches cost time, never soundness. End points that stall on a zero-loss valley sit up to
// ~1e-2 (relative) from the redundancy they approach.
constexpr double kCandidateTolerances[] = {1e-2, 1e-1};

// The chain of reductions to an efficient core: merging an antipodal pair whose output weights
// cancel leaves a dead unit, so the core is analysed and reduced again until nothing is left.
struct ReductionChain {
  std::vector<std::unique_ptr<Network>> nets;  // nets[k + 1] is the core of reductions[k]
  std::vector<Reduction> reductions;
  std::string description;
  std::string reason;  // why the first reduction failed
};

ReductionChain reduce_fully(const Network& net, std::span<const double> theta,
                            const RedundancyReport& redundancy, const Dataset& data,
                            double core_tolerance) {
  ReductionChain chain;
  const Network* current = &net;
  std::vector<double> point(theta.begin(), theta.end());
  RedundancyReport report = redundancy;
  while (report.redundant) {
    Reduction red = reduce_to_core(*current, point, report);
    if (!red.applicable) {
      if (chain.reductions.empty()) chain.reason = red.reason;
      break;
    }
    chain.description += (chain.description.empty() ? "" : "; then ") + red.description;
    chain.nets.push_back(std::make_unique<Network>(red.core));
    current = chain.nets.back().get();
    point = red.core_theta;
    chain.reductions.push_back(std::move(red));
    report = analyse_redundancy(*current, point, data, RedundancyTolerance{core_tolerance});
  }
  return chain;
}

// Proves the core of one chain and ties the end point to its embedding. Returns false with
// c.reason set when no proof results.
bool prove_chain(const Network& net, const Dataset& data, std::span<const double> theta,
                 const ReductionChain& chain, double zero_loss, const VerdictOptions& opts,
                 Certificate& c) {
  if (chain.reductions.empty()) {
    c.reason = "no reduction: " + chain.reason;
    return false;
  }
  c.reduction = chain.description;
  const Network& core = *chain.nets.back();
  c.core_width = core.num_layers() == 2 ? core.layer(0).out : -1;
  LossModel core_model(core, data, 0.0);
  // The core's proof does not depend on how the end point was reached, so the core may be
  // polished much further than an end point (the embedding's distance check guards the link).
  PolishOptions far;
  far.max_move = 0.5;
  far.max_steps = 60;
  far.descend = true;
  const PolishResult core_point = polish(core_model, chain.reductions.back().core_theta, far);
  const BallCertificate ball = certify_critical_point(core, data, 0.0, core_point.theta);
  take_ball(c, ball);
  if (ball.kind != CertifiedKind::strict_min) {
    c.reason = "core (" + chain.description + ") not proven a strict minimum: " + ball.reason;
    return false;
  }
  if (!(ball.loss_upper <= zero_loss)) {
    c.reason = "the core is a proven strict minimum, but its residual is not zero, so its "
               "embedding need not be a minimum";
    return false;
  }
  std::vector<double> embedded = core_point.theta;
  for (std::size_t k = chain.reductions.size(); k-- > 0;)
    embedded = embed(k == 0 ? net : *chain.nets[k - 1], chain.reductions[k], embedded);
  c.distance = distance2(embedded, theta);
  if (!(c.distance <= opts.embed_tolerance * std::max(1.0, norm2(theta)))) {
    c.reason = "the end point lies too far from the embedded core minimum";
    return false;
  }
  const JacobianRank rank = jacobian_rank(net, data, embedded);
  if (!rank.certain) {
    c.reason = "the Jacobian's rank at the embedding is undecided";
    return false;
  }
  c.jacobian_nullity = rank.nullity;
  c.certified = true;
  c.method = "reduction+krawczyk+cholesky";
  return true;
}

// Step 3 of verdict.hpp: the chains of each candidate tolerance for the core, in order.
bool certify_by_reduction(const Network& net, const Dataset& data, std::span<const double> theta,
                          const RedundancyReport& redundancy, double zero_loss,
                          const VerdictOptions& opts, Certificate& c) {
  std::string first_reason;
  for (double tol : kCandidateTolerances) {
    Certificate attempt;
    if (prove_chain(net, data, theta, reduce_fully(net, theta, redundancy, data, tol), zero_loss,
                    opts, attempt)) {
      c = attempt;
      return true;
    }
    if (first_reason.empty()) {
      c = attempt;
      first_reason = attempt.reason;
    }
  }
  return false;
}

}  // namespace

Verdict judge_end_point(const Network& net, const Dataset& data, double weight_decay,
                        std::span<const double> theta, const EndPointFacts& facts,
                        const RedundancyReport& redundancy,
                        std::span<const double> hessian_eigenvalues, const VerdictOptions& opts) {
  Verdict v;
  bool finite = !facts.nonfinite && !theta.empty();
  for (double t : theta) finite = finite && std::isfinite(t);
  if (!finite) {
    v.certificate.reason = "the end point is not finite";
    return v;
  }
  LossModel model(net, data, weight_decay);
  model.set_point(theta);
  if (!std::isfinite(model.value())) {
    v.certificate.reason = "the loss at the end point is not finite";
    return v;
  }
  if (facts.diverged) return diverged_verdict(net, theta, facts, model.value());

  double y2 = 0.0;
  for (double y : data.y) y2 += y * y;
  y2 = data.y.empty() ? 0.0 : y2 / static_cast<double>(data.y.size());
  const double zero_loss = opts.zero_loss * std::max(y2, std::numeric_limits<double>::min());
  const bool zero_residual = weight_decay == 0.0 && model.data_loss() <= zero_loss;
  const bool near_zero_residual =
      weight_decay == 0.0 && model.data_loss() <= opts.near_zero_loss * std::max(y2, 1e-300);

  Certificate& c = v.certificate;
  const BallCertificate ball = certify_critical_point(net, data, weight_decay, theta);
  // A reduction is only a candidate (a wrong one fails its proof), so a near-zero-loss point
  // the report did not call redundant is searched again with a looser tolerance.
  RedundancyReport candidate;
  if (near_zero_residual && !redundancy.redundant && ball.kind == CertifiedKind::none &&
      redundancy.applicable)
    for (double tol : kCandidateTolerances)
      if (!candidate.redundant)
        candidate = analyse_redundancy(net, theta, data, RedundancyTolerance{tol});
  InertiaBounds bounds;
  bounds.variation = facts.hessian_change_estimate;
  bounds.variation_known = false;
  if (ball.kind == CertifiedKind::strict_min ||
      (ball.kind == CertifiedKind::saddle && !zero_residual)) {
    take_ball(c, ball);
    c.certified = true;
    c.method = ball.method;
    v.type = ball.kind == CertifiedKind::strict_min ? PointType::strict_min : PointType::saddle;
    bounds.variation = ball.hessian_variation;
    bounds.variation_known = std::isfinite(ball.hessian_variation);
  } else if (near_zero_residual && (redundancy.redundant || candidate.redundant) &&
             certify_by_reduction(net, data, theta, redundancy.redundant ? redundancy : candidate,
                                  zero_loss, opts, c)) {
    v.type = PointType::degenerate_min;
    v.nullity = c.jacobian_nullity;
  } else if (c.reason.empty()) {
    c.reason = ball.kind == CertifiedKind::saddle
                   ? "negative curvature proven at a zero-loss point: a contradiction, not a verdict"
                   : ball.reason;
    if (redundancy.redundant && !near_zero_residual)
      c.reason += "; no reduction: the loss is not near zero, and the embedding of a minimum with "
                  "a residual need not be a minimum";
    else if (!redundancy.redundant && !candidate.redundant && near_zero_residual)
      c.reason += "; no reduction: no redundancy found (" + redundancy.nearest + ")";
  }
  if (!hessian_eigenvalues.empty()) v.hessian = count_inertia(hessian_eigenvalues, bounds);
  if (v.type == PointType::strict_min) v.nullity = 0;
  if (c.certified) return v;

  PointEvidence e;
  e.converged = facts.converged;
  e.hessian = v.hessian;
  if (hessian_eigenvalues.empty()) e.hessian.n_neg = e.hessian.n_zero = e.hessian.n_pos = -1;
  if (!hessian_eigenvalues.empty()) {
    e.lambda_min = *std::min_element(hessian_eigenvalues.begin(), hessian_eigenvalues.end());
    e.lambda_max = *std::max_element(hessian_eigenvalues.begin(), hessian_eigenvalues.end());
  }
  v.type = classify_point(e);
  if (v.hessian.certain) v.nullity = v.hessian.n_zero;
  // Near zero loss (issue 12 met a "saddle" at 4e-19) an unproven saddle is not believed.
  if (near_zero_residual && v.type == PointType::saddle) v.type = PointType::degenerate_min;
  if (zero_residual) {
    // A zero-loss point is a global minimum of a sum of squares, whatever the optimizer said.
    // There H = G up to the residual term, so its nullity is dim ker J, decided by singular
    // values (accurate to eps·σ_max) rather than by the eigenvalues of JᵀJ.
    const JacobianRank rank = jacobian_rank(net, data, theta);
    if (rank.certain) v.nullity = rank.nullity;
    if (v.type == PointType::not_converged || rank.certain)
      v.type = rank.certain && rank.nullity == 0 ? PointType::strict_min : PointType::degenerate_min;
  }
  return v;
}

}  // namespace nnscape
