#pragma once
// `nnscape <command>`: argument parsing and dispatch. nnscape's own flags are all `--long`;
// single-dash tokens (`-hess_eps_type krylovschur`) belong to PETSc/SLEPc, which read them from
// their options database, so the parser skips them.
namespace nnscape {

// Construct nnscape::Runtime first (it hands argv to SlepcInitialize). Returns the exit code;
// parse errors print usage and return 1; other failures throw nnscape::Error for main to print.
int run_cli(int argc, char** argv);

}  // namespace nnscape
