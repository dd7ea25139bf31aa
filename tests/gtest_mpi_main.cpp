// GoogleTest main for MPI: initializes SLEPc/PETSc/MPI once, prints from rank 0 only and makes
// the exit code the same on every rank (a failure on any rank fails the test). Runtime initializes
// MPI with MPI_THREAD_MULTIPLE, as in the nnscape binary, so the scheduler's service thread runs
// in the tests exactly as in production.
#include <gtest/gtest.h>
#include <mpi.h>

#include "nnscape/cpu_kernels.hpp"
#include "nnscape/runtime.hpp"

int main(int argc, char** argv) {
  // The tests pin the CPU kernels as the nnscape binary does, so they pass on any x86-64 CPU.
  nnscape::pin_cpu_kernels(argv);
  ::testing::InitGoogleTest(&argc, argv);
  int result = 0;
  {
    nnscape::Runtime runtime(&argc, &argv);
    if (runtime.rank() != 0) {
      auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
      delete listeners.Release(listeners.default_result_printer());
    }
    int local = RUN_ALL_TESTS();
    MPI_Allreduce(&local, &result, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  }
  return result;
}
