// nnscape: studies of loss-landscape geometry of small networks. See `nnscape --help`.
#include <exception>
#include <iostream>

#include <string_view>

#include "nnscape/cli.hpp"
#include "nnscape/cpu_kernels.hpp"
#include "nnscape/runner.hpp"
#include "nnscape/runtime.hpp"

int main(int argc, char** argv) {
  // Before anything else: this may re-execute the program with the BLAS kernel pinned.
  nnscape::pin_cpu_kernels(argv);
  // A study run must survive SIGTERM/SIGUSR1 from the first instant (a batch system may signal it
  // while MPI starts) and stop cleanly later. The subcommand is the first word that is not an
  // option; other commands keep the default action (terminate).
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.starts_with('-')) continue;
    if (a == "run") nnscape::install_stop_handlers();
    break;
  }
  try {
    // Runtime first, so every PETSc/SLEPc handle made by the command dies before SlepcFinalize.
    nnscape::Runtime runtime(&argc, &argv);
    return nnscape::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "nnscape: error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "nnscape: error: unknown exception\n";
  }
  return 1;
}
