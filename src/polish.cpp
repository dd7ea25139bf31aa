#include "nnscape/polish.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/norms.hpp"
#include "nnscape/symmetric_eigen.hpp"

namespace nnscape {
namespace {

bool all_finite(std::span<const double> v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// s = −H⁺g over the eigenvalues clear of round-off. The cut (100·P·eps·|λ|max) lies decades
// below genuine small eigenvalues of trained minima (1e-9·|λ|max, papers.md) and above the
// round-off zeros of a redundant point, whose directions a Newton step must not follow.
// damping ≥ 0: the modified Newton step −Σ v_j (v_jᵀg)/(|λ_j| + damping), a descent direction
// that reaches further than Newton's from outside the quadratic region of a minimum.
std::vector<double> newton_step(const SymmetricEigen& eig, std::span<const double> g,
                                double damping = -1.0) {
  const std::size_t p = g.size();
  double scale = 0.0;
  for (double v : eig.values) scale = std::max(scale, std::abs(v));
  const double cut = 100.0 * static_cast<double>(p) * std::numeric_limits<double>::epsilon() * scale;
  std::vector<double> s(p, 0.0);
  for (std::size_t j = 0; j < p; ++j) {
    const double lambda = damping >= 0.0 ? std::abs(eig.values[j]) + damping : eig.values[j];
    if (!(std::abs(lambda) > cut)) continue;
    const double* v = eig.vectors.data() + j * p;
    double vg = 0.0;
    for (std::size_t i = 0; i < p; ++i) vg += v[i] * g[i];
    const double c = -vg / lambda;
    for (std::size_t i = 0; i < p; ++i) s[i] += c * v[i];
  }
  return s;
}

double frobenius_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

}  // namespace

PolishResult polish(LossModel& model, std::span<const double> theta, const PolishOptions& opts) {
  NNSCAPE_CHECK(theta.size() == static_cast<std::size_t>(model.num_params()),
                "polish: θ has the wrong length");
  NNSCAPE_CHECK(opts.max_steps >= 0 && opts.max_move >= 0.0, "polish: bad options");
  PolishResult r;
  r.theta.assign(theta.begin(), theta.end());
  model.set_point(r.theta);
  r.grad_before = r.grad_after = norm2(model.gradient());
  r.loss_before = r.loss_after = model.value();
  const std::ptrdiff_t p = model.num_params();
  if (p > opts.dense_limit || p == 0 || !all_finite(r.theta) || !std::isfinite(r.loss_before) ||
      !std::isfinite(r.grad_before))
    return r;
  r.applied = true;

  const double budget = opts.max_move * std::max(1.0, norm2(r.theta));
  std::vector<double> hessian = model.dense_hessian();
  SymmetricEigen eig = symmetric_eigen(hessian, p);
  double change_rate = 0.0;  // ‖ΔH‖_F / ‖Δθ‖ over the last accepted step
  // A point whose Hessian has no clearly negative eigenvalue lies in a minimum's basin, where
  // descent cannot lead to another kind of critical point.
  const bool descend =
      opts.descend || (opts.descend_near_minimum && !eig.values.empty() &&
                       eig.values.front() >= -1e-8 * std::max(std::abs(eig.values.front()),
                                                               std::abs(eig.values.back())));
  std::vector<double> trial(r.theta.size());
  for (int k = 0; k < opts.max_steps && r.grad_after > 0.0; ++k) {
    // The model is at r.theta here. Candidates in order: the full step, two halvings (near a
    // critical point the full step wins; the halvings rescue a first step from just outside
    // the quadratic region), and with `descend` modified Newton steps of growing damping.
    const std::vector<double> g0(model.gradient().begin(), model.gradient().end());
    double scale = 0.0;
    for (double v : eig.values) scale = std::max(scale, std::abs(v));
    std::vector<std::vector<double>> candidates{newton_step(eig, g0)};
    for (double f : {0.5, 0.25}) {
      candidates.push_back(candidates.front());
      for (double& x : candidates.back()) x *= f;
    }
    if (descend)
      for (double d : {1e-8, 1e-6, 1e-4, 1e-2, 1.0})
        candidates.push_back(newton_step(eig, g0, d * scale));
    bool accepted = false;
    for (const std::vector<double>& step : candidates) {
      const double length = norm2(step);
      if (!(length > 0.0) || r.distance + length > budget) continue;
      for (std::size_t i = 0; i < trial.size(); ++i) trial[i] = r.theta[i] + step[i];
      model.set_point(trial);
      const double g = norm2(model.gradient());
      const bool lower = descend && model.value() < r.loss_after;
      if (!std::isfinite(model.value()) || !std::isfinite(g) || !(g < r.grad_after || lower))
        continue;
      accepted = true;
      std::vector<double> next = model.dense_hessian();
      change_rate = frobenius_difference(next, hessian) / length;
      hessian = std::move(next);
      r.theta = trial;
      r.grad_after = g;
      r.loss_after = model.value();
      r.distance += length;
      ++r.steps;
      break;
    }
    if (!accepted) break;
    eig = symmetric_eigen(hessian, p);
  }
  model.set_point(r.theta);
  r.next_step = norm2(newton_step(symmetric_eigen(hessian, p), model.gradient()));  // at r.theta
  r.hessian_change = change_rate * r.next_step;
  r.distance = distance2(r.theta, theta);
  return r;
}

}  // namespace nnscape
