#include "nnscape/runtime.hpp"

#include <dlfcn.h>
#include <mpi.h>
#include <slepcsys.h>

#include <cstdlib>

#include "nnscape/error.hpp"
#include "nnscape/petsc.hpp"

namespace nnscape {

namespace {

// nnscape runs one MPI rank per core. A threaded OpenBLAS would start one thread per core in
// every rank, so P ranks fight over P cores with P² threads and dense kernels slow down by
// large factors. The variable only helps if it is set before OpenBLAS reads it: a threaded
// OpenBLAS reads it when the shared library is loaded, before main, so we also set the thread
// count through its API when that symbol exists (looked up at run time because the serial
// build or another BLAS may not provide it). The user's explicit setting always wins.
void limit_blas_threads() noexcept {
  if (std::getenv("OPENBLAS_NUM_THREADS") != nullptr) return;
  (void)setenv("OPENBLAS_NUM_THREADS", "1", /*overwrite=*/0);  // also reaches child processes
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(1);
  }
}

// The scheduler's service thread on rank 0 calls MPI while the main thread computes (and may
// itself call MPI, e.g. HDF5 over MPI-IO), so MPI must be initialized with MPI_THREAD_MULTIPLE.
// PETSc would call plain MPI_Init, so we initialize MPI first; PETSc then leaves MPI alone and we
// finalize it ourselves after SlepcFinalize. Debian's Open MPI 4.1 provides MULTIPLE; if an MPI
// provides less, the scheduler falls back to answering from rank 0's main thread (see
// src/scheduler.cpp). Returns whether we initialized MPI (and so must finalize it).
bool init_mpi_threaded(int* argc, char*** argv) {
  int initialized = 0;
  NNSCAPE_CHECK(MPI_Initialized(&initialized) == MPI_SUCCESS, "MPI_Initialized failed");
  if (initialized) return false;
  int provided = MPI_THREAD_SINGLE;
  NNSCAPE_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided) == MPI_SUCCESS,
                "MPI_Init_thread failed");
  return true;
}

// Whether this process's Runtime called MPI_Init_thread (there is one Runtime per process; the
// flag lives here rather than in the class so runtime.hpp stays unchanged).
bool owns_mpi = false;

void finalize_mpi() noexcept {
  int finalized = 0;
  if (owns_mpi && MPI_Finalized(&finalized) == MPI_SUCCESS && !finalized) (void)MPI_Finalize();
}

}  // namespace

Runtime::Runtime(int* argc, char*** argv) {
  limit_blas_threads();
  owns_mpi = init_mpi_threaded(argc, argv);
  try {
    NNSCAPE_PETSC_CALL(SlepcInitialize(argc, argv, nullptr, nullptr));
  } catch (...) {
    finalize_mpi();
    throw;
  }
  try {
    // With the default (traceback) handler PETSc prints to stderr and some paths abort the
    // whole MPI job. The returning handler only hands the code back, so NNSCAPE_PETSC_CALL
    // turns it into an exception and the trial runner records a failed trial. It prints
    // nothing, so no separate silencing of PetscErrorPrintf is needed (and keeping that
    // printer intact keeps PETSc's messages for signals such as SIGSEGV).
    NNSCAPE_PETSC_CALL(PetscPushErrorHandler(detail::record_petsc_error, nullptr));
    NNSCAPE_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank_) == MPI_SUCCESS, "MPI_Comm_rank failed");
    NNSCAPE_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size_) == MPI_SUCCESS, "MPI_Comm_size failed");
  } catch (...) {
    // The destructor does not run for a half-built object; finalize here so MPI shuts down.
    (void)SlepcFinalize();
    finalize_mpi();
    throw;
  }
}

Runtime::~Runtime() noexcept {
  (void)SlepcFinalize();
  finalize_mpi();
}

}  // namespace nnscape
