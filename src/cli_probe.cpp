// `nnscape probe`: loss, gradient, spectra and the proven verdict at one given parameter vector.
#include <hdf5.h>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "cli_common.hpp"
#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"
#include "nnscape/pattern.hpp"
#include "nnscape/polish.hpp"
#include "nnscape/record.hpp"
#include "nnscape/reduction.hpp"
#include "nnscape/spectrum.hpp"
#include "nnscape/verdict.hpp"

namespace nnscape::cli {

namespace {

using Json = nlohmann::ordered_json;  // keeps keys in the order written, for humans reading it

struct ProbeArgs {
  std::string data;
  std::string widths;
  std::string activation = "tanh";
  std::string params;
  std::string params_dataset;
  std::vector<std::string> masks;
  double weight_decay = 0.0;
  std::ptrdiff_t dense_limit = 4000;
  int extremes = 10;
};

std::vector<double> read_params(const ProbeArgs& a) {
  if (!a.params_dataset.empty()) return read_vector_h5(a.params, a.params_dataset);
  H5ErrorSilencer quiet;
  std::error_code ec;
  if (std::filesystem::is_regular_file(a.params, ec) && H5Fis_hdf5(a.params.c_str()) > 0)
    throw Error("parameter file '" + a.params +
                "' is an HDF5 file; name the dataset with --params-dataset (e.g. /theta)");
  return read_vector_text(a.params);
}

// 1. check the run's shape  2. read data, build the network  3. read θ  4. loss and gradient
// 5. Hessian and Gauss–Newton spectra  6. verdict and certificate  7. JSON on stdout.
int run_probe(const ProbeArgs& a) {
  // The probe is one small serial computation; extra ranks would only repeat it. Refuse rather
  // than let a user believe mpirun made it faster.
  require_one_rank("probe", "it is one serial computation");

  // 1. Cheap argument checks before any file is read.
  const Activation activation = parse_activation(a.activation);
  const std::vector<int> hidden = parse_widths(a.widths);
  NNSCAPE_CHECK(std::isfinite(a.weight_decay) && a.weight_decay >= 0.0,
                "--weight-decay must be a finite number >= 0");
  NNSCAPE_CHECK(a.dense_limit >= 0, "--dense-limit must be >= 0");
  NNSCAPE_CHECK(a.extremes >= 1, "--extremes must be >= 1");

  // 2. Data fixes the input and output dimensions.
  const Dataset data = read_dataset_h5(a.data);
  Architecture arch;
  arch.widths = layer_widths(data.d, hidden, data.m);
  arch.activation = activation;
  const int num_layers = static_cast<int>(arch.widths.size()) - 1;
  if (!a.masks.empty()) {
    if (static_cast<int>(a.masks.size()) != num_layers)
      throw Error("got " + std::to_string(a.masks.size()) + " mask file(s), network " +
                  format_widths(arch.widths) + " has " + std::to_string(num_layers) +
                  " weight matrices (give one mask per weight matrix)");
    for (int l = 0; l < num_layers; ++l) {
      Mask m = read_mask_text(a.masks[l]);
      if (m.rows != arch.widths[l + 1] || m.cols != arch.widths[l])
        throw Error("mask file '" + a.masks[l] + "' is " + std::to_string(m.rows) + "x" +
                    std::to_string(m.cols) + " but W_" + std::to_string(l + 1) + " of network " +
                    format_widths(arch.widths) + " is " + std::to_string(arch.widths[l + 1]) +
                    "x" + std::to_string(arch.widths[l]) + " (rows = outputs, columns = inputs)");
      arch.masks.push_back(std::move(m));
    }
  }
  const Network net(arch);

  // 3. Parameters.
  const std::vector<double> theta = read_params(a);
  if (static_cast<std::ptrdiff_t>(theta.size()) != net.num_params())
    throw Error("parameter file '" + a.params + "' has " + std::to_string(theta.size()) +
                " values, network " + format_widths(arch.widths) + " needs " +
                std::to_string(net.num_params()) + (a.masks.empty() ? "" : " (with its masks)"));

  // 4. Loss and gradient.
  LossModel model(net, data, a.weight_decay);
  model.set_point(theta);
  double grad_sq = 0.0;
  for (double g : model.gradient()) grad_sq += g * g;

  Json out;
  out["P"] = net.num_params();
  out["N"] = data.n;
  out["d"] = data.d;
  out["m"] = data.m;
  out["widths"] = hidden;
  out["architecture"] = arch.widths;
  out["activation"] = std::string(to_string(activation));
  out["weight_decay"] = a.weight_decay;
  out["data"] = a.data;
  out["params"] = a.params;
  out["params_dataset"] = a.params_dataset.empty() ? Json() : Json(a.params_dataset);
  out["masks"] = a.masks;
  out["loss"] = model.value();
  out["data_loss"] = model.data_loss();
  out["gradient_norm"] = std::sqrt(grad_sq);

  // 5. Spectra. G excludes the weight-decay term λI (loss.hpp), H includes it.
  SpectrumOptions opts;
  opts.dense_limit = a.dense_limit;
  opts.extremes = a.extremes;
  out["dense_limit"] = opts.dense_limit;
  out["extremes"] = opts.extremes;
  out["inertia_bounds"] = {{"backward_factor", opts.inertia.backward_factor},
                           {"margin", opts.inertia.margin}};
  Spectrum hessian = compute_spectrum(model, Curvature::hessian, opts);
  const Spectrum gauss_newton = compute_spectrum(model, Curvature::gauss_newton, opts);

  // 6. The verdict on the critical point nearest θ, proven where a certificate exists (the same
  // judge as a trial's). θ itself is not moved: Newton steps only estimate how far the critical
  // point is, for the unproven counts.
  EndPointFacts facts;
  facts.converged = true;  // the user offers θ as a critical point; the certificate decides
  {
    LossModel scratch(net, data, a.weight_decay);
    facts.hessian_change_estimate = polish(scratch, theta).hessian_change;
  }
  const RedundancyReport redundancy = analyse_redundancy(net, theta, data);
  const std::vector<double> no_values;
  const Verdict verdict = judge_end_point(net, data, a.weight_decay, theta, facts, redundancy,
                                          hessian.complete ? hessian.eigenvalues : no_values);
  if (hessian.complete) hessian.inertia = verdict.hessian;
  out["verdict"] = std::string(to_string(verdict.type));
  out["certified"] = verdict.certificate.certified;
  out["certificate"] = to_json(verdict.certificate);
  out["nullity"] = verdict.nullity;
  const JacobianRank rank = jacobian_rank(net, data, theta);
  out["jacobian_nullity"] = rank.certain ? rank.nullity : -1;
  out["hessian"] = to_json(hessian);
  out["gauss_newton"] = to_json(gauss_newton);

  // 7. Doubles are printed with 17 significant digits, so values round-trip exactly.
  std::cout << out.dump(2) << '\n';
  return 0;
}

}  // namespace

Command add_probe_command(CLI::App& app) {
  auto a = std::make_shared<ProbeArgs>();
  CLI::App* probe = app.add_subcommand(
      "probe",
      "Loss, gradient and Hessian/Gauss-Newton spectra at one parameter vector (JSON on stdout)");
  probe->add_option("--data", a->data, "HDF5 file with /X (N x d) and /Y (N x m, or N)")
      ->required();
  probe->add_option("--widths", a->widths,
                    "Hidden widths, comma-separated (e.g. 16,16); d and m come from the data");
  probe->add_option("--activation", a->activation,
                    "Hidden-layer activation: " + [] {
                      std::string s;
                      for (const auto& n : activation_names()) s += (s.empty() ? "" : ", ") + n;
                      return s;
                    }())
      ->capture_default_str();
  probe->add_option("--params", a->params,
                    "Parameter vector θ (PyTorch nn.Linear order): a text file, one number per "
                    "line, or an HDF5 file with --params-dataset")
      ->required();
  probe->add_option("--params-dataset", a->params_dataset,
                    "Read θ from this 1-D dataset of the --params HDF5 file (e.g. /theta)");
  probe->add_option("--weight-decay", a->weight_decay, "λ in the loss term (λ/2)||θ||²")
      ->capture_default_str();
  probe->add_option("--dense-limit", a->dense_limit,
                    "Largest P for the dense (all eigenvalues) path; above it SLEPc matrix-free")
      ->capture_default_str();
  probe->add_option("--extremes", a->extremes,
                    "Matrix-free path: number of smallest and of largest eigenvalues")
      ->capture_default_str();
  probe->add_option("--masks", a->masks,
                    "Comma-separated 0/1 text matrices, one per weight matrix (rows = outputs)")
      ->delimiter(',');

  return {probe, [a] { return run_probe(*a); }};
}

}  // namespace nnscape::cli
