// `nnscape trial` (one trial, JSON record) and `nnscape data` (write a data set).
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli_common.hpp"
#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/pattern.hpp"
#include "nnscape/record.hpp"
#include "nnscape/trial.hpp"

namespace nnscape::cli {

namespace {

struct TrialArgs {
  std::string spec_file;
  std::string data = "teacher";
  std::string widths = "4";
  std::string activation = "tanh";
  std::string optimizer = kDefaultOptimizer;
  std::string optimizer_name;
  std::string init = "pytorch";
  std::string start;  // θ0 as a text file, instead of a draw from --init
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
  require_one_rank("trial", "studies (nnscape run) spread trials over ranks");
  if (!a.spec_file.empty()) apply_trial_yaml(a.spec_file, a, cmd);

  TrialSpec spec;
  spec.hidden = parse_widths(a.widths);
  spec.activation = parse_activation(a.activation);
  spec.data = parse_dataset_spec(a.data);
  spec.init = parse_init(a.init);
  spec.init_text = a.init;
  if (!a.start.empty()) {
    spec.start = read_vector_text(a.start);
    spec.init_text = "start:" + a.start;
  }
  // A pattern text becomes masks in run_trial, once d and m are known; --masks files are read
  // here and recorded as the equivalent pattern text. Either way a bad pattern stops us now.
  if (a.masks.empty()) {
    spec.pattern = parse_pattern(a.pattern).text;
  } else {
    if (a.pattern != "dense")
      throw Error("--pattern and --masks both describe the masks; give one (--pattern file:" +
                  a.masks.front() + ",... is the same as --masks)");
    spec.pattern = "file:";
    for (std::size_t l = 0; l < a.masks.size(); ++l) {
      spec.pattern += (l ? "," : "") + a.masks[l];
      spec.masks.push_back(read_mask_text(a.masks[l]));
    }
  }
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
  require_one_rank("data", "");
  const Dataset data = load_dataset(parse_dataset_spec(a.data), a.seed);
  write_dataset_h5(a.output, data);
  std::cout << "wrote " << a.output << ": N = " << data.n << ", d = " << data.d
            << ", m = " << data.m << '\n';
  return 0;
}

}  // namespace

Command add_trial_command(CLI::App& app) {
  auto a = std::make_shared<TrialArgs>();
  CLI::App* trial = app.add_subcommand(
      "trial", "Train one network (PETSc/TAO) and analyse its end point (JSON record on stdout)");
  trial->add_option("--spec", a->spec_file,
                    "YAML file with any of the settings below (flags given here win)");
  trial->add_option("--data", a->data,
                    "Data set: teacher:width=4,d=2,n=512 | gp:d=2,n=1000,length=0.5 | "
                    "linear:d=3,matrix=anti_identity | file:daa->h5")
      ->capture_default_str();
  trial->add_option("--widths", a->widths, "Hidden widths, comma-separated")->capture_default_str();
  trial->add_option("--activation", a->activation, "Hidden-layer activation")
      ->capture_default_str();
  trial->add_option("--optimizer", a->optimizer,
                    "TAO type: lm (nnscape's Levenberg-Marquardt), ntr, nls, lmvm, cg, nm, gd, ... "
                    "(options: -opt_<name>_tao_*)")
      ->capture_default_str();
  trial->add_option("--optimizer-name", a->optimizer_name,
                    "Name for the options prefix opt_<name>_ (default: the TAO type)");
  trial->add_option("--init", a->init, "pytorch | normal[:scale=s] | small[:scale=s]")
      ->capture_default_str();
  trial->add_option("--start", a->start,
                    "θ0 from a text file (one number per line, nnscape's parameter order) "
                    "instead of a draw from --init: a start of known truth");
  trial->add_option("--seed", a->seed, "Trial seed (data and initialization derive from it)")
      ->capture_default_str();
  trial->add_option("--weight-decay", a->weight_decay, "λ in the loss term (λ/2)||θ||²")
      ->capture_default_str();
  trial->add_option("--masks", a->masks,
                    "Comma-separated 0/1 text matrices, one per weight matrix (rows = outputs)")
      ->delimiter(',');
  trial->add_option("--pattern", a->pattern,
                    "Sparsity pattern: dense | lower | upper | LU | UL | random:density=0.5,seed=3 "
                    "| block_diagonal:blocks=2 | banded:width=1 | butterfly | file:w1.txt,w2.txt "
                    "| file:masks.h5")
      ->capture_default_str();
  trial->add_option("--dense-limit", a->dense_limit,
                    "Largest P for dense Hessians (Newton and spectra); matrix-free above")
      ->capture_default_str();
  trial->add_option("--extremes", a->extremes, "Matrix-free spectra: k smallest and k largest")
      ->capture_default_str();
  trial->add_option("--trajectory-length", a->trajectory_length,
                    "Most (iteration, loss, |grad|, |theta|) points kept, log-spaced")
      ->capture_default_str();
  trial->add_option("--redundancy-tol", a->redundancy_tol,
                    "Relative distance below which neurons count as dead/constant/duplicate")
      ->capture_default_str();
  trial->add_option("--save-params", a->save_params,
                    "Write the final θ here (text, one per line: what probe --params reads)");
  trial->add_flag("--compact", a->compact, "Leave θ, the trajectory and eigenvalues out of the JSON");

  CLI::App* cmd = trial;
  return {trial, [a, cmd] { return run_trial_command(*a, *cmd); }};
}

Command add_data_command(CLI::App& app) {
  auto a = std::make_shared<DataArgs>();
  CLI::App* data_cmd = app.add_subcommand(
      "data", "Write a data set (teacher, gp, linear, or a copy of a file) as HDF5 /X, /Y");
  data_cmd->add_option("--data", a->data, "Data set spec, as for trial --data")->required();
  data_cmd->add_option("--seed", a->seed, "Seed the data are drawn from")->capture_default_str();
  data_cmd->add_option("-o,--output", a->output, "HDF5 file to write")->required();

  return {data_cmd, [a] { return run_data_command(*a); }};
}

}  // namespace nnscape::cli
