// `nnscape <command>`: parsing and dispatch only; the work lives in the rooms it calls.
//
// Sample runs:
//   nnscape --version
//   nnscape probe --data data.h5 --widths 16,16 --activation tanh --params theta.txt
//   nnscape probe --data data.h5 --widths 5 --params run.h5 --params-dataset /theta
//       --dense-limit 0 --extremes 4 -hess_eps_type krylovschur -hess_eps_tol 1e-10
//   (one command line; PETSc/SLEPc options such as -hess_eps_type pass through untouched)
//   nnscape trial --data teacher:width=4,d=2,n=512 --widths 4 --optimizer ntr --seed 1
//   nnscape trial --spec trial.yaml --seed 7 -opt_ntr_tao_max_it 200
#include "nnscape/cli.hpp"

#include <hdf5.h>
#include <mpi.h>
#include <petscversion.h>
#include <slepcversion.h>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"
#include "nnscape/loss.hpp"
#include "nnscape/network.hpp"
#include "nnscape/record.hpp"
#include "nnscape/spectrum.hpp"
#include "nnscape/trial.hpp"

#ifndef NNSCAPE_VERSION
#define NNSCAPE_VERSION "unknown"
#endif
#ifndef NNSCAPE_GIT_COMMIT
#define NNSCAPE_GIT_COMMIT "unknown"
#endif

namespace nnscape {

namespace {

using Json = nlohmann::ordered_json;  // keeps keys in the order written, for humans reading it

std::string version_string() {
  std::ostringstream s;
  s << "nnscape " << NNSCAPE_VERSION << " (commit " << NNSCAPE_GIT_COMMIT << "; PETSc "
    << PETSC_VERSION_MAJOR << '.' << PETSC_VERSION_MINOR << '.' << PETSC_VERSION_SUBMINOR
    << ", SLEPc " << SLEPC_VERSION_MAJOR << '.' << SLEPC_VERSION_MINOR << '.'
    << SLEPC_VERSION_SUBMINOR << ", HDF5 " << H5_VERS_MAJOR << '.' << H5_VERS_MINOR << '.'
    << H5_VERS_RELEASE << ")";
  return s.str();
}

// nnscape's only short flags: -h (help) and -o (output file), the conventions users type.
bool is_own_short_flag(std::string_view t) { return t == "-h" || t == "-o"; }

bool is_petsc_option(std::string_view t) {
  // "-eps_type", "-log_view", "-Hess_x": a single dash then a letter or '_'. Negative numbers
  // ("-1e-3") are values, "--x" is ours.
  return t.size() >= 2 && t[0] == '-' && t[1] != '-' && !is_own_short_flag(t) &&
         (std::isalpha(static_cast<unsigned char>(t[1])) || t[1] == '_');
}

// PETSc and SLEPc read single-dash options from their own database (SlepcInitialize saw argv),
// so CLI11 must not see them or it would reject them as unknown. A following token that is not
// itself an option is taken as the option's value, as PETSc does; hence a value-less PETSc flag
// must not sit directly before the subcommand name (`-log_view probe` would eat "probe").
std::vector<std::string> strip_petsc_options(int argc, char** argv) {
  std::vector<std::string> kept;
  for (int i = 0; i < argc; ++i) {
    const std::string_view t = argv[i];
    if (i == 0 || !is_petsc_option(t)) {
      kept.emplace_back(t);
      continue;
    }
    if (i + 1 < argc) {
      const std::string_view next = argv[i + 1];
      if (!is_petsc_option(next) && !next.starts_with("--") && !is_own_short_flag(next)) ++i;
    }
  }
  return kept;
}

std::string format_widths(const std::vector<int>& w) {
  std::string s = "{";
  for (std::size_t i = 0; i < w.size(); ++i) s += (i ? "," : "") + std::to_string(w[i]);
  return s + "}";
}

std::vector<int> parse_widths(const std::string& text) {
  std::vector<int> widths;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    const std::string s = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    std::size_t used = 0;
    int w = 0;
    try {
      w = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size() || w < 1)
      throw Error("--widths: '" + s + "' is not a positive integer (give hidden widths such as "
                  "--widths 16,16)");
    widths.push_back(w);
  }
  if (widths.empty())
    throw Error("--widths: give at least one hidden width, e.g. --widths 16,16 (input and output "
                "dimensions come from the data)");
  return widths;
}

// A 0/1 support matrix, one row per line, entries separated by spaces. Belongs to the pattern
// room once that exists; the probe needs only this reader.
Mask read_mask_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read mask file '" + path + "': no such file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read mask file '" + path + "'");
  Mask mask;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream tokens(line);
    std::string tok;
    int cols = 0;
    bool first = true;
    while (tokens >> tok) {
      if (first && tok.front() == '#') break;
      first = false;
      if (tok != "0" && tok != "1")
        throw Error("mask file '" + path + "' line " + std::to_string(lineno) + ": entry '" + tok +
                    "' is not 0 or 1");
      mask.bits.push_back(tok == "1" ? 1 : 0);
      ++cols;
    }
    if (cols == 0) continue;
    if (mask.rows > 0 && cols != mask.cols)
      throw Error("mask file '" + path + "' line " + std::to_string(lineno) + " has " +
                  std::to_string(cols) + " entries, earlier rows have " + std::to_string(mask.cols));
    mask.cols = cols;
    ++mask.rows;
  }
  if (mask.rows == 0) throw Error("mask file '" + path + "' has no rows");
  return mask;
}

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
// 5. Hessian and Gauss–Newton spectra  6. JSON on stdout.
int run_probe(const ProbeArgs& a) {
  int rank = 0, size = 1;
  NNSCAPE_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank) == MPI_SUCCESS, "MPI_Comm_rank failed");
  NNSCAPE_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size) == MPI_SUCCESS, "MPI_Comm_size failed");
  // The probe is one small serial computation; extra ranks would only repeat it. Refuse rather
  // than let a user believe mpirun made it faster. One rank reports, so the message is shown once.
  if (size > 1) {
    if (rank != 0) return 1;
    throw Error("probe is not parallel; run it on one rank (got " + std::to_string(size) +
                " MPI ranks)");
  }

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
  arch.widths.push_back(data.d);
  arch.widths.insert(arch.widths.end(), hidden.begin(), hidden.end());
  arch.widths.push_back(data.m);
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
  out["inertia_rule"] = {{"zero_ceiling", opts.inertia.zero_ceiling},
                         {"min_gap_decades", opts.inertia.min_gap_decades}};
  out["hessian"] = to_json(compute_spectrum(model, Curvature::hessian, opts));
  out["gauss_newton"] = to_json(compute_spectrum(model, Curvature::gauss_newton, opts));

  // 6. Doubles are printed with 17 significant digits, so values round-trip exactly.
  std::cout << out.dump(2) << '\n';
  return 0;
}

struct TrialArgs {
  std::string spec_file;
  std::string data = "teacher";
  std::string widths = "4";
  std::string activation = "tanh";
  std::string optimizer = "ntr";
  std::string optimizer_name;
  std::string init = "pytorch";
  std::string pattern = "dense";
  std::vector<std::string> masks;
  std::uint64_t seed = 0;
  double weight_decay = 0.0;
  std::ptrdiff_t dense_limit = 4000;
  int extremes = 10;
  int trajectory_length = 64;
  double redundancy_tol = RedundancyTolerance{}.relative;
  std::string save_params;
  bool compact = false;
};

// Values from a YAML snippet (--spec) fill every flag the command line did not give, so
// `nnscape trial --spec t.yaml --seed 7` reruns a described trial with another seed.
void apply_trial_yaml(const std::string& path, TrialArgs& a, const CLI::App& cmd) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error("cannot read trial spec '" + path + "': no such file or not readable");
  } catch (const YAML::Exception& e) {
    throw Error("trial spec '" + path + "': " + e.what());
  }
  if (!root.IsMap()) throw Error("trial spec '" + path + "': expected a mapping of key: value");
  auto given = [&](const char* flag) { return cmd.count(flag) > 0; };
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string where = "trial spec '" + path + "' line " +
                              std::to_string(kv.first.Mark().line + 1) + ", key '" + key + "'";
    try {
      if (key == "widths") {
        if (given("--widths")) continue;
        std::string w;
        if (v.IsSequence()) {
          for (const auto& x : v) w += (w.empty() ? "" : ",") + std::to_string(x.as<int>());
        } else {
          w = v.as<std::string>();
        }
        a.widths = w;
      } else if (key == "data") {
        if (!given("--data")) a.data = v.as<std::string>();
      } else if (key == "activation") {
        if (!given("--activation")) a.activation = v.as<std::string>();
      } else if (key == "optimizer") {
        if (!given("--optimizer")) a.optimizer = v.as<std::string>();
      } else if (key == "optimizer_name") {
        if (!given("--optimizer-name")) a.optimizer_name = v.as<std::string>();
      } else if (key == "init") {
        if (!given("--init")) a.init = v.as<std::string>();
      } else if (key == "pattern") {
        if (!given("--pattern")) a.pattern = v.as<std::string>();
      } else if (key == "masks") {
        if (!given("--masks")) a.masks = v.as<std::vector<std::string>>();
      } else if (key == "seed") {
        if (!given("--seed")) a.seed = v.as<std::uint64_t>();
      } else if (key == "weight_decay") {
        if (!given("--weight-decay")) a.weight_decay = v.as<double>();
      } else if (key == "dense_limit") {
        if (!given("--dense-limit")) a.dense_limit = v.as<std::ptrdiff_t>();
      } else if (key == "extremes") {
        if (!given("--extremes")) a.extremes = v.as<int>();
      } else if (key == "trajectory_length") {
        if (!given("--trajectory-length")) a.trajectory_length = v.as<int>();
      } else {
        throw Error(where + " is not a trial setting (known: widths, data, activation, optimizer, "
                    "optimizer_name, init, pattern, masks, seed, weight_decay, dense_limit, "
                    "extremes, trajectory_length)");
      }
    } catch (const YAML::Exception&) {
      throw Error(where + ": value has the wrong type");
    }
  }
}

// 1. gather the spec (YAML, then flags)  2. check it  3. run the trial  4. JSON on stdout,
// θ to --save-params (text, one number per line: what `probe --params` reads).
int run_trial_command(TrialArgs a, const CLI::App& cmd) {
  int size = 1;
  NNSCAPE_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size) == MPI_SUCCESS, "MPI_Comm_size failed");
  if (size > 1) throw Error("trial runs one trial on one rank (got " + std::to_string(size) +
                            " MPI ranks); studies spread trials over ranks");
  if (!a.spec_file.empty()) apply_trial_yaml(a.spec_file, a, cmd);

  TrialSpec spec;
  spec.hidden = parse_widths(a.widths);
  spec.activation = parse_activation(a.activation);
  spec.data = parse_dataset_spec(a.data);
  spec.init = parse_init(a.init);
  spec.init_text = a.init;
  spec.pattern = a.masks.empty() ? a.pattern : (a.pattern == "dense" ? "file" : a.pattern);
  for (const std::string& m : a.masks) spec.masks.push_back(read_mask_text(m));
  spec.optimizer.tao_type = a.optimizer;
  spec.optimizer.name = a.optimizer_name.empty() ? a.optimizer : a.optimizer_name;
  NNSCAPE_CHECK(a.trajectory_length >= 2, "--trajectory-length must be >= 2");
  spec.optimizer.trajectory_length = a.trajectory_length;
  NNSCAPE_CHECK(std::isfinite(a.weight_decay) && a.weight_decay >= 0.0,
                "--weight-decay must be a finite number >= 0");
  spec.weight_decay = a.weight_decay;
  spec.seed = a.seed;
  NNSCAPE_CHECK(a.dense_limit >= 0, "--dense-limit must be >= 0");
  NNSCAPE_CHECK(a.extremes >= 1, "--extremes must be >= 1");
  spec.spectrum.dense_limit = a.dense_limit;
  spec.optimizer.dense_limit = a.dense_limit;
  spec.spectrum.extremes = a.extremes;
  NNSCAPE_CHECK(a.redundancy_tol > 0.0 && a.redundancy_tol < 1.0,
                "--redundancy-tol must lie in (0, 1)");
  spec.redundancy.relative = a.redundancy_tol;
  if (!a.save_params.empty()) {  // refuse an unwritable path before the work, not after
    std::ofstream probe_out(a.save_params, std::ios::app);
    if (!probe_out) throw Error("--save-params: cannot write '" + a.save_params + "'");
  }

  const TrialRecord rec = run_trial(spec);
  if (!a.save_params.empty()) {
    std::ofstream out(a.save_params);
    out.precision(17);
    for (double t : rec.optimization.theta) out << t << '\n';
    if (!out) throw Error("--save-params: writing '" + a.save_params + "' failed");
  }
  std::cout << to_json(rec, a.compact).dump(2) << '\n';
  return 0;
}

struct DataArgs {
  std::string data;
  std::uint64_t seed = 0;
  std::string output;
};

// Writes a data set (generated or read) as /X, /Y: what `probe` and `file:` data read.
int run_data_command(const DataArgs& a) {
  int size = 1;
  NNSCAPE_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size) == MPI_SUCCESS, "MPI_Comm_size failed");
  if (size > 1) throw Error("data runs on one rank (got " + std::to_string(size) + " MPI ranks)");
  const Dataset data = load_dataset(parse_dataset_spec(a.data), a.seed);
  write_dataset_h5(a.output, data);
  std::cout << "wrote " << a.output << ": N = " << data.n << ", d = " << data.d
            << ", m = " << data.m << '\n';
  return 0;
}

}  // namespace

int run_cli(int argc, char** argv) {
  int rank = 0;
  NNSCAPE_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank) == MPI_SUCCESS, "MPI_Comm_rank failed");

  CLI::App app{"nnscape: loss-landscape geometry of small neural networks.", "nnscape"};
  app.set_version_flag("--version", version_string(), "Print the version and library versions");
  app.require_subcommand(1);
  app.footer(
      "nnscape's own options are all --long. Single-dash options (-hess_eps_type krylovschur,\n"
      "-gn_eps_tol 1e-10, -log_view) go to PETSc/SLEPc; put value-less ones after the command.");

  ProbeArgs pa;
  CLI::App* probe = app.add_subcommand(
      "probe",
      "Loss, gradient and Hessian/Gauss-Newton spectra at one parameter vector (JSON on stdout)");
  probe->add_option("--data", pa.data, "HDF5 file with /X (N x d) and /Y (N x m, or N)")
      ->required();
  probe->add_option("--widths", pa.widths,
                    "Hidden widths, comma-separated (e.g. 16,16); d and m come from the data");
  probe->add_option("--activation", pa.activation,
                    "Hidden-layer activation: " + [] {
                      std::string s;
                      for (const auto& n : activation_names()) s += (s.empty() ? "" : ", ") + n;
                      return s;
                    }())
      ->capture_default_str();
  probe->add_option("--params", pa.params,
                    "Parameter vector θ (PyTorch nn.Linear order): a text file, one number per "
                    "line, or an HDF5 file with --params-dataset")
      ->required();
  probe->add_option("--params-dataset", pa.params_dataset,
                    "Read θ from this 1-D dataset of the --params HDF5 file (e.g. /theta)");
  probe->add_option("--weight-decay", pa.weight_decay, "λ in the loss term (λ/2)||θ||²")
      ->capture_default_str();
  probe->add_option("--dense-limit", pa.dense_limit,
                    "Largest P for the dense (all eigenvalues) path; above it SLEPc matrix-free")
      ->capture_default_str();
  probe->add_option("--extremes", pa.extremes,
                    "Matrix-free path: number of smallest and of largest eigenvalues")
      ->capture_default_str();
  probe->add_option("--masks", pa.masks,
                    "Comma-separated 0/1 text matrices, one per weight matrix (rows = outputs)")
      ->delimiter(',');

  TrialArgs ta;
  CLI::App* trial = app.add_subcommand(
      "trial", "Train one network (PETSc/TAO) and analyse its end point (JSON record on stdout)");
  trial->add_option("--spec", ta.spec_file,
                    "YAML file with any of the settings below (flags given here win)");
  trial->add_option("--data", ta.data,
                    "Data set: teacher:width=4,d=2,n=512 | gp:d=2,n=1000,length=0.5 | "
                    "linear:d=3,matrix=anti_identity | file:data.h5")
      ->capture_default_str();
  trial->add_option("--widths", ta.widths, "Hidden widths, comma-separated")->capture_default_str();
  trial->add_option("--activation", ta.activation, "Hidden-layer activation")
      ->capture_default_str();
  trial->add_option("--optimizer", ta.optimizer,
                    "TAO type: ntr, nls, lmvm, cg, nm, gd, ... (options: -opt_<name>_tao_*)")
      ->capture_default_str();
  trial->add_option("--optimizer-name", ta.optimizer_name,
                    "Name for the options prefix opt_<name>_ (default: the TAO type)");
  trial->add_option("--init", ta.init, "pytorch | normal[:scale=s] | small[:scale=s]")
      ->capture_default_str();
  trial->add_option("--seed", ta.seed, "Trial seed (data and initialization derive from it)")
      ->capture_default_str();
  trial->add_option("--weight-decay", ta.weight_decay, "λ in the loss term (λ/2)||θ||²")
      ->capture_default_str();
  trial->add_option("--masks", ta.masks,
                    "Comma-separated 0/1 text matrices, one per weight matrix (rows = outputs)")
      ->delimiter(',');
  trial->add_option("--pattern", ta.pattern, "Label of the sparsity pattern, for the record")
      ->capture_default_str();
  trial->add_option("--dense-limit", ta.dense_limit,
                    "Largest P for dense Hessians (Newton and spectra); matrix-free above")
      ->capture_default_str();
  trial->add_option("--extremes", ta.extremes, "Matrix-free spectra: k smallest and k largest")
      ->capture_default_str();
  trial->add_option("--trajectory-length", ta.trajectory_length,
                    "Most (iteration, loss, |grad|, |theta|) points kept, log-spaced")
      ->capture_default_str();
  trial->add_option("--redundancy-tol", ta.redundancy_tol,
                    "Relative distance below which neurons count as dead/constant/duplicate")
      ->capture_default_str();
  trial->add_option("--save-params", ta.save_params,
                    "Write the final θ here (text, one per line: what probe --params reads)");
  trial->add_flag("--compact", ta.compact, "Leave θ, the trajectory and eigenvalues out of the JSON");

  DataArgs da;
  CLI::App* data_cmd = app.add_subcommand(
      "data", "Write a data set (teacher, gp, linear, or a copy of a file) as HDF5 /X, /Y");
  data_cmd->add_option("--data", da.data, "Data set spec, as for trial --data")->required();
  data_cmd->add_option("--seed", da.seed, "Seed the data are drawn from")->capture_default_str();
  data_cmd->add_option("-o,--output", da.output, "HDF5 file to write")->required();

  const std::vector<std::string> args = strip_petsc_options(argc, argv);
  std::vector<char*> cargs;
  for (const auto& s : args) cargs.push_back(const_cast<char*>(s.c_str()));
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help or --version
      if (rank == 0) app.exit(e);
      return 0;
    }
    if (rank == 0) {
      std::cerr << "nnscape: error: " << e.what() << "\n\n"
                << (probe->parsed()   ? probe->help("nnscape")
                    : trial->parsed() ? trial->help("nnscape")
                    : data_cmd->parsed() ? data_cmd->help("nnscape")
                                      : app.help());
    }
    return 1;
  }
  if (probe->parsed()) return run_probe(pa);
  if (trial->parsed()) return run_trial_command(ta, *trial);
  if (data_cmd->parsed()) return run_data_command(da);
  return 1;  // unreachable: require_subcommand(1)
}

}  // namespace nnscape
