#pragma once
// Owns MPI/PETSc/SLEPc initialization. Construct it first in main so that every PETSc handle
// is destroyed before SlepcFinalize runs (destruction follows construction order in reverse).
namespace nnscape {

class Runtime {
 public:
  // Collective on MPI_COMM_WORLD. Installs a returning PETSc error handler so that a PETSc
  // error inside one trial becomes an exception instead of MPI_Abort of the whole job.
  Runtime(int* argc, char*** argv);
  ~Runtime() noexcept;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace nnscape
