#include "nnscape/record.hpp"

namespace nnscape {

using Json = nlohmann::ordered_json;  // keys in the order written, for people reading it

Json to_json(const Spectrum& s) {
  Json j;
  j["eigenvalues"] = s.eigenvalues;
  j["complete"] = s.complete;
  j["method"] = s.method;
  j["n_neg"] = s.inertia.n_neg;
  j["n_zero"] = s.inertia.n_zero;
  j["n_pos"] = s.inertia.n_pos;
  j["n_undecided"] = s.inertia.n_undecided;
  j["threshold"] = s.inertia.threshold;
  j["certain"] = s.inertia.certain;
  j["scale"] = s.inertia.scale;
  j["largest_zero"] = s.inertia.largest_zero;
  j["smallest_nonzero"] = s.inertia.smallest_nonzero;
  j["residuals"] = s.residuals;
  j["converged"] = s.converged;
  j["iterations"] = s.iterations;
  j["tolerance"] = s.tolerance;
  return j;
}

namespace {

Json pairs_json(const std::vector<NeuronPair>& pairs) {
  Json a = Json::array();
  for (const NeuronPair& p : pairs) a.push_back({{"i", p.i}, {"j", p.j}, {"distance", p.distance}});
  return a;
}

Json redundancy_json(const RedundancyReport& r) {
  Json j;
  j["applicable"] = r.applicable;
  j["redundant"] = r.redundant;
  j["distance"] = r.distance;
  j["nearest"] = r.nearest;
  j["dead"] = r.dead;
  j["constant"] = r.constant;
  j["duplicate"] = pairs_json(r.duplicate);
  j["antipodal"] = pairs_json(r.antipodal);
  j["predicted_nullity"] = r.predicted_nullity;
  j["predicted_nullity_h"] = r.predicted_nullity_h;
  return j;
}

Json optimization_json(const OptimizeResult& o, bool compact) {
  Json j;
  j["tao_type"] = o.tao_type;
  j["reason"] = o.reason;
  j["reason_code"] = o.reason_code;
  j["converged"] = o.converged;
  j["diverged"] = o.diverged;
  j["nonfinite"] = o.nonfinite;
  j["error"] = o.error;
  j["iterations"] = o.iterations;
  j["function_evals"] = o.function_evals;
  j["gradient_evals"] = o.gradient_evals;
  j["hessian_evals"] = o.hessian_evals;
  j["seconds"] = o.seconds;
  j["loss"] = o.loss;
  j["grad_norm"] = o.grad_norm;
  j["param_norm"] = o.param_norm;
  j["initial_param_norm"] = o.initial_param_norm;
  j["norm_growth_rate"] = o.norm_growth_rate;
  j["local_rate"] = o.local_rate;
  if (!compact) {
    Json t = Json::array();
    for (const TrajectoryPoint& p : o.trajectory)
      t.push_back({p.iteration, p.loss, p.grad_norm, p.param_norm, p.true_loss});
    // true_loss: ‖W_L···W_1 − A‖_F/‖A‖_F for linear data, null (NaN) otherwise.
    j["trajectory_columns"] = {"iteration", "loss", "grad_norm", "param_norm", "true_loss"};
    j["trajectory"] = t;
  }
  return j;
}

}  // namespace

Json to_json(const Certificate& c) {
  Json j;
  j["certified"] = c.certified;
  j["method"] = c.method;
  j["reason"] = c.reason;
  j["radius"] = c.radius;
  j["lambda_min_lower"] = c.lambda_min_lower;
  j["curvature_upper"] = c.curvature_upper;
  j["loss_upper"] = c.loss_upper;
  j["reduction"] = c.reduction;
  j["core_width"] = c.core_width;
  j["distance"] = c.distance;
  j["jacobian_nullity"] = c.jacobian_nullity;
  j["norm_ratio"] = c.norm_ratio;
  j["runaway_units"] = c.runaway_units;
  return j;
}

Json to_json(const TrialRecord& r, bool compact) {
  Json j;
  j["architecture"] = r.architecture;
  j["activation"] = r.activation;
  j["data"] = r.data;
  j["pattern"] = r.pattern;
  j["init"] = r.init;
  j["optimizer"] = r.optimizer;
  j["weight_decay"] = r.weight_decay;
  j["seed"] = r.seed;
  j["data_seed"] = r.data_seed;
  j["init_seed"] = r.init_seed;
  j["P"] = r.num_params;
  j["N"] = r.num_samples;
  j["status"] = r.status;
  j["certified"] = r.certificate.certified;
  j["error"] = r.error;
  j["certificate"] = to_json(r.certificate);
  j["polish"] = {{"applied", r.polish.applied},         {"steps", r.polish.steps},
                 {"distance", r.polish.distance},       {"grad_before", r.polish.grad_before},
                 {"grad_after", r.polish.grad_after},   {"next_step", r.polish.next_step}};
  j["measured_nullity"] = r.measured_nullity;
  j["measured_nullity_g"] = r.measured_nullity_g;
  j["nullity_matches"] = r.nullity_matches;
  j["product_error"] = r.product_error;
  j["seconds"] = {{"data", r.seconds.data},         {"init", r.seconds.init},
                  {"train", r.seconds.train},       {"spectrum", r.seconds.spectrum},
                  {"analysis", r.seconds.analysis}};
  j["optimization"] = optimization_json(r.optimization, compact);
  j["redundancy"] = redundancy_json(r.redundancy);
  Json h = to_json(r.hessian), g = to_json(r.gauss_newton);
  if (compact) {
    h.erase("eigenvalues");
    g.erase("eigenvalues");
  }
  j["hessian"] = h;
  j["gauss_newton"] = g;
  if (!compact) j["theta"] = r.optimization.theta;
  return j;
}

}  // namespace nnscape
