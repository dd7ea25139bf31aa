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

#include <mpi.h>

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli_common.hpp"
#include "nnscape/error.hpp"
#include "nnscape/cpu_kernels.hpp"
#include "nnscape/provenance.hpp"

namespace nnscape {

namespace {

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

}  // namespace

int run_cli(int argc, char** argv) {
  int rank = 0;
  NNSCAPE_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank) == MPI_SUCCESS, "MPI_Comm_rank failed");

  CLI::App app{"nnscape: loss-landscape geometry of small neural networks.", "nnscape"};
  const CpuKernels kernels = cpu_kernels();
  app.set_version_flag("--version",
                       version_string() + "\ncpu kernels: " + kernels.mode + " (BLAS core " +
                           kernels.blas_core + ", " + kernels.simd + ")",
                       "Print the version, library versions and the CPU kernels in use");
  app.require_subcommand(1);
  app.footer(
      "nnscape's own options are all --long. Single-dash options (-hess_eps_type krylovschur,\n"
      "-gn_eps_tol 1e-10, -log_view) go to PETSc/SLEPc; put value-less ones after the command.");

  std::vector<cli::Command> commands{cli::add_probe_command(app), cli::add_trial_command(app),
                                     cli::add_data_command(app)};
  for (cli::Command& c : cli::add_study_commands(app, std::vector<std::string>(argv, argv + argc)))
    commands.push_back(std::move(c));
  commands.push_back(cli::add_plan_command(app));
  commands.push_back(cli::add_pattern_command(app));

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
      std::string help = app.help();
      for (const auto& c : commands)
        if (c.app->parsed()) help = c.app->help("nnscape");
      std::cerr << "nnscape: error: " << e.what() << "\n\n" << help;
    }
    return 1;
  }
  try {
    for (const auto& c : commands)
      if (c.app->parsed()) return c.run();
  } catch (const cli::QuietFailure&) {
    return 1;
  }
  return 1;  // unreachable: require_subcommand(1)
}

}  // namespace nnscape
