#include "nnscape/trial.hpp"

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <string>

#include "nnscape/error.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/norms.hpp"
#include "nnscape/pattern.hpp"
#include "nnscape/random.hpp"
#include "nnscape/reduction.hpp"
#include "nnscape/verdict.hpp"
#include "nnscape/polish.hpp"

namespace nnscape {
namespace {

class Stopwatch {
 public:
  double lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

std::string architecture_string(const std::vector<int>& widths) {
  std::string s;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    if (i) s += '-';
    s += std::to_string(widths[i]);
  }
  return s;
}

// ‖W_L···W_1 − A‖_F / ‖A‖_F: how far the network's linear part is from the target map. For the
// existence question (Le et al.) it goes to 0 while ‖θ‖ diverges when L_I is not closed.
double product_error(const Network& net, std::span<const double> theta,
                     const std::vector<double>& a) {
  std::vector<double> prod, w, next;
  for (int l = 0; l < net.num_layers(); ++l) {
    const LayerLayout& lay = net.layer(l);
    w.assign(static_cast<std::size_t>(lay.out) * lay.in, 0.0);
    net.unpack_layer(theta, l, w.data(), nullptr);
    if (l == 0) {
      prod = w;
      continue;
    }
    // next (out × d) = W_l (out × in) · prod (in × d)
    const int d = net.input_dim();
    next.assign(static_cast<std::size_t>(lay.out) * d, 0.0);
    for (int r = 0; r < lay.out; ++r)
      for (int k = 0; k < lay.in; ++k)
        for (int c = 0; c < d; ++c) next[r * d + c] += w[r * lay.in + k] * prod[k * d + c];
    prod.swap(next);
  }
  double num = 0.0, den = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    num += (prod[i] - a[i]) * (prod[i] - a[i]);
    den += a[i] * a[i];
  }
  return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

double mean_square(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Finishes the optimizer's job before judging: the verdict speaks about the polished point,
// which replaces θ, loss, ‖∇L‖ and ‖θ‖ in the record.
EndPointFacts polish_end_point(LossModel& model, TrialRecord& rec) {
  OptimizeResult& opt = rec.optimization;
  bool finite_point = !opt.nonfinite && !opt.theta.empty();
  for (double t : opt.theta) finite_point = finite_point && std::isfinite(t);
  EndPointFacts facts;
  facts.converged = opt.converged;
  facts.diverged = opt.diverged;
  facts.nonfinite = !finite_point;
  facts.initial_loss = opt.trajectory.empty() ? std::numeric_limits<double>::quiet_NaN()
                                              : opt.trajectory.front().loss;
  facts.initial_param_norm = opt.initial_param_norm;
  facts.norm_growth_rate = opt.norm_growth_rate;
  if (!finite_point || opt.diverged) return facts;
  try {
    rec.polish = polish(model, opt.theta);
    opt.theta = rec.polish.theta;
    rec.polish.theta.clear();
    opt.loss = rec.polish.loss_after;
    opt.grad_norm = rec.polish.grad_after;
    opt.param_norm = norm2(opt.theta);
    facts.hessian_change_estimate = rec.polish.hessian_change;
  } catch (const std::exception& e) {
    rec.error += std::string(rec.error.empty() ? "" : "; ") + "polishing: " + e.what();
  }
  return facts;
}

// The verdict, the redundancy analysis and the nullities, from the end point and its spectra.
void judge(const TrialSpec& spec, const Network& net, const Dataset& data,
           const EndPointFacts& facts, TrialRecord& rec) {
  const OptimizeResult& opt = rec.optimization;
  if (!facts.nonfinite) rec.redundancy = analyse_redundancy(net, opt.theta, data, spec.redundancy);
  const std::vector<double> no_values;
  const Verdict verdict = judge_end_point(
      net, data, spec.weight_decay, opt.theta, facts, rec.redundancy,
      rec.hessian.complete ? rec.hessian.eigenvalues : no_values);
  rec.status = std::string(to_string(verdict.type));
  rec.certificate = verdict.certificate;
  if (rec.hessian.complete) rec.hessian.inertia = verdict.hessian;
  rec.measured_nullity = verdict.nullity;
  if (facts.nonfinite) return;
  const JacobianRank rank = jacobian_rank(net, data, opt.theta);
  if (rank.certain) rec.measured_nullity_g = rank.nullity;
  // At a zero-loss fit H = G and the whole predicted count applies; with a residual the
  // splitting directions gain curvature and only the exact fibre directions stay flat
  // (papers.md). "Zero" is relative to the targets' size and to the solver's tolerance.
  const double y2 = std::max(mean_square(data.y), std::numeric_limits<double>::min());
  const bool zero_residual = opt.loss <= 1e-16 * y2 && spec.weight_decay == 0.0;
  const int predicted = zero_residual ? rec.redundancy.predicted_nullity
                                      : rec.redundancy.predicted_nullity_h;
  rec.nullity_matches = predicted >= 0 && rec.measured_nullity == predicted;
  // A proven count that differs from the first-order table is a finding, not an error:
  // coincident redundancies overlap and higher-order flat directions exist (papers.md).
  if (rec.certificate.certified && predicted >= 0 && rec.measured_nullity >= 0 &&
      !rec.nullity_matches)
    rec.certificate.reason = "proven nullity " + std::to_string(rec.measured_nullity) +
                             " differs from the first-order prediction " + std::to_string(predicted);
  if (spec.data.kind == "linear")
    rec.product_error = product_error(net, opt.theta, linear_target_matrix(spec.data, rec.data_seed));
}

}  // namespace

TrialRecord run_trial(const TrialSpec& spec) {
  TrialRecord rec;
  Stopwatch clock;
  rec.activation = std::string(to_string(spec.activation));
  rec.data = spec.data.text;
  rec.pattern = spec.pattern;
  rec.init = spec.init_text;
  rec.optimizer = spec.optimizer.name;
  rec.weight_decay = spec.weight_decay;
  rec.seed = spec.seed;
  // Data and initialization draw from separate streams of the trial seed, so changing the
  // optimizer or the init never changes the data a trial sees.
  rec.data_seed = spec.data_seed ? *spec.data_seed : derive_seed(spec.seed, 1);
  rec.init_seed = derive_seed(spec.seed, 2);

  // Everything that can reject the spec happens before any training.
  const Dataset data = load_dataset(spec.data, rec.data_seed);
  Architecture arch;
  arch.widths = layer_widths(data.d, spec.hidden, data.m);
  arch.activation = spec.activation;
  // A pattern text without masks (`nnscape trial --pattern LU`) is built here, where d and m
  // are known from the data.
  arch.masks = spec.masks.empty() ? build_masks(parse_pattern(spec.pattern), arch.widths)
                                  : spec.masks;
  const Network net(arch);
  rec.architecture = architecture_string(arch.widths);
  rec.num_params = static_cast<int>(net.num_params());
  rec.num_samples = data.n;
  LossModel model(net, data, spec.weight_decay);
  rec.seconds.data = clock.lap();

  NNSCAPE_CHECK(spec.start.empty() || spec.start.size() == static_cast<std::size_t>(net.num_params()),
                "the start point has " + std::to_string(spec.start.size()) + " values, the network " +
                    std::to_string(net.num_params()) + " parameters");
  const std::vector<double> theta0 =
      spec.start.empty() ? initialize(net, spec.init, rec.init_seed) : spec.start;
  rec.seconds.init = clock.lap();

  OptimizeOptions optimizer = spec.optimizer;
  if (spec.data.kind == "linear") {
    // The "true loss" along the run (Le et al.): it falls to 0 while ‖θ‖ diverges when L_I is
    // not closed, which the data loss alone cannot tell from a slow fit.
    optimizer.point_metric = [&net, a = linear_target_matrix(spec.data, rec.data_seed)](
                                 std::span<const double> theta) { return product_error(net, theta, a); };
  }
  rec.optimization = optimize(model, theta0, optimizer);
  const OptimizeResult& opt = rec.optimization;
  rec.seconds.train = clock.lap();
  rec.error = opt.error;

  EndPointFacts facts = polish_end_point(model, rec);
  rec.seconds.analysis = clock.lap();

  if (!facts.nonfinite) {
    try {
      model.set_point(opt.theta);
      if (!std::isfinite(model.value())) throw Error("the loss at the end point is not finite");
      rec.hessian = compute_spectrum(model, Curvature::hessian, spec.spectrum);
      rec.gauss_newton = compute_spectrum(model, Curvature::gauss_newton, spec.spectrum);
    } catch (const std::exception& e) {
      facts.nonfinite = true;
      rec.error += std::string(rec.error.empty() ? "" : "; ") + "end-point spectrum: " + e.what();
    }
  }
  rec.seconds.spectrum = clock.lap();

  judge(spec, net, data, facts, rec);
  rec.seconds.analysis += clock.lap();
  return rec;
}

}  // namespace nnscape
