// nnscape: studies of loss-landscape geometry of small networks. See `nnscape --help`.
#include <exception>
#include <iostream>

#include "nnscape/cli.hpp"
#include "nnscape/runtime.hpp"

int main(int argc, char** argv) {
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
