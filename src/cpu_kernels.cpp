// Pinning the CPU-dispatched kernels (cpu_kernels.hpp).
#include "nnscape/cpu_kernels.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "nnscape/activation.hpp"

namespace nnscape {
namespace {

constexpr const char* kModeVariable = "NNSCAPE_CPU_KERNELS";
// The user's own OPENBLAS_CORETYPE, kept across the re-execution for the provenance ("" = unset).
constexpr const char* kRequestedVariable = "NNSCAPE_OPENBLAS_CORETYPE_REQUESTED";
// Set only for the re-executed process, so that an OpenBLAS that ignores OPENBLAS_CORETYPE can
// never make the program re-execute itself forever.
constexpr const char* kGuardVariable = "NNSCAPE_CPU_KERNELS_REEXEC";

// OpenBLAS's own report functions, looked up at run time: the BLAS behind libblas.so.3 is chosen
// by Debian's alternatives and may be another library, which nnscape must still run with.
const char* openblas_string(const char* symbol) {
  using Report = char* (*)();
  auto f = reinterpret_cast<Report>(dlsym(RTLD_DEFAULT, symbol));
  return f ? f() : nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// "" when the pinned core can and should be used, else why not (the "native: ..." mode text).
std::string why_not_pinned() {
  const char* mode = std::getenv(kModeVariable);
  if (mode && std::string_view(mode) == "native") return "NNSCAPE_CPU_KERNELS=native";
  if (!openblas_string("openblas_get_corename")) return "the BLAS is not OpenBLAS";
  // The activation room's own CPU check (AVX2 and FMA), so the two can never disagree; it is
  // also false on other architectures, where the Haswell core does not exist.
  if (activation_simd() != "sleef-avx2") return "the CPU lacks AVX2/FMA";
  return "";
}

std::string trimmed(const char* s) {
  std::string t = s ? s : "";
  while (!t.empty() && (t.back() == ' ' || t.back() == '\n')) t.pop_back();
  return t;
}

}  // namespace

void pin_cpu_kernels(char** argv) {
  const char* mode = std::getenv(kModeVariable);
  if (mode && std::string_view(mode) != "pinned" && std::string_view(mode) != "native") {
    std::fprintf(stderr,
                 "nnscape: error: %s must be 'pinned' (the default: the same bits on every x86-64 "
                 "CPU with AVX2) or 'native' (the fastest BLAS kernel of this CPU), not '%s'\n",
                 kModeVariable, mode);
    std::exit(1);
  }
  if (!why_not_pinned().empty()) return;
  const char* core = openblas_string("openblas_get_corename");
  if (iequals(trimmed(core), kPinnedBlasCore)) {
    (void)unsetenv(kGuardVariable);  // children start from a clean slate
    return;
  }
  if (std::getenv(kGuardVariable)) return;  // cpu_kernels() reports the failure
  if (!std::getenv(kRequestedVariable)) {
    const char* requested = std::getenv("OPENBLAS_CORETYPE");
    (void)setenv(kRequestedVariable, requested ? requested : "", 1);
  }
  (void)setenv("OPENBLAS_CORETYPE", kPinnedBlasCore, 1);
  (void)setenv(kGuardVariable, "1", 1);
  // Nothing has started yet (no MPI, no threads, no files), so replacing the image is safe; the
  // pid stays, which mpirun and srun track.
  execv("/proc/self/exe", argv);
  std::fprintf(stderr,
               "nnscape: warning: could not re-execute to pin the BLAS kernel (%s); results of "
               "this run may depend on the CPU (see the provenance's cpu_kernels_mode)\n",
               std::strerror(errno));
}

CpuKernels cpu_kernels() {
  CpuKernels k;
  const char* config = openblas_string("openblas_get_config");
  const char* core = openblas_string("openblas_get_corename");
  k.blas = config ? trimmed(config) : "not OpenBLAS";  // config reads "OpenBLAS 0.3.21 ..."
  k.blas_core = core ? trimmed(core) : "n/a";
  k.simd = std::string(activation_simd());
  if (const char* r = std::getenv(kRequestedVariable)) {
    k.requested_core = r;
  } else if (const char* r2 = std::getenv("OPENBLAS_CORETYPE")) {
    k.requested_core = r2;
  }
  std::string why = why_not_pinned();
  if (why.empty() && !iequals(k.blas_core, kPinnedBlasCore))
    why = "OpenBLAS runs core " + k.blas_core + ", not " + kPinnedBlasCore;
  k.mode = why.empty() ? "pinned" : "native: " + why;
  return k;
}

std::vector<std::pair<std::string, std::string>> cpu_kernels_provenance() {
  const CpuKernels k = cpu_kernels();
  // Always the same keys, so that ranks can gather them entry by entry.
  return {{"cpu_kernels_mode", k.mode},
          {"blas", k.blas},
          {"blas_core", k.blas_core},
          {"simd", k.simd},
          {"openblas_coretype_requested", k.requested_core.empty() ? "unset" : k.requested_core}};
}

}  // namespace nnscape
