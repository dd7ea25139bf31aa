#pragma once
// The CPU-dispatched kernels a result depends on, pinned so that the same study gives the same bits
// on every x86-64 CPU with AVX2 and FMA.
//
// Two libraries pick their code by the CPU they run on: OpenBLAS (a DYNAMIC_ARCH build chooses a
// "core" such as Haswell, SkylakeX or Zen, each with its own kernels and blocking, so sums are
// added in another order) and SLEEF (whose dispatching entry points choose AVX, AVX2 or FMA4).
// nnscape calls SLEEF's AVX2 entry points by name (activation.cpp) and pins OpenBLAS's core to
// Haswell, whose kernels need only AVX2 and FMA. glibc's libm picks its FMA variants on every such
// CPU alike. What stays outside the promise: CPUs without AVX2/FMA, other architectures, another
// OpenBLAS (or another BLAS) version, and NNSCAPE_CPU_KERNELS=native. The provenance records
// what ran (cpu_kernels_provenance), so a reader can tell which files are comparable bit for bit.
#include <string>
#include <utility>
#include <vector>

namespace nnscape {

// The OpenBLAS core every reproducible run uses.
inline constexpr const char* kPinnedBlasCore = "Haswell";

// Call first thing in main, before any BLAS call and before MPI starts. OpenBLAS reads
// OPENBLAS_CORETYPE once, while it loads (before main), so when the loaded core is not the pinned
// one this sets the variable and re-executes the program in place (same pid, arguments and
// environment otherwise; at most once). Does nothing when NNSCAPE_CPU_KERNELS=native, when the
// BLAS is not OpenBLAS, or when the CPU lacks AVX2/FMA: cpu_kernels() then says why. An
// unknown NNSCAPE_CPU_KERNELS value prints an error and exits with status 1.
void pin_cpu_kernels(char** argv);

struct CpuKernels {
  std::string blas;           // "OpenBLAS 0.3.21 ... DYNAMIC_ARCH ...", or "not OpenBLAS"
  std::string blas_core;      // the core in use ("haswell"), or "n/a" for another BLAS
  std::string simd;           // "sleef-avx2" or "scalar-libm"
  std::string mode;           // "pinned", or "native: <why the result may depend on the CPU>"
  std::string requested_core; // the OPENBLAS_CORETYPE the user had set, or ""
};

// What this process runs with. Not collective; cheap.
CpuKernels cpu_kernels();

// cpu_kernels() as provenance entries: cpu_kernels_mode, blas, blas_core, simd and
// openblas_coretype_requested ("unset" when the user set none), always these five.
std::vector<std::pair<std::string, std::string>> cpu_kernels_provenance();

}  // namespace nnscape
