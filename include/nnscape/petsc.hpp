#pragma once
// Move-only RAII owners for PETSc/SLEPc handles and the checking macro for PETSc calls.
#include <petscsys.h>

#include <string>
#include <utility>

#include "nnscape/error.hpp"

namespace nnscape {

class PetscError : public LibraryError {
 public:
  PetscError(PetscErrorCode code, const char* call, const char* file, int line);
};

namespace detail {
// PETSc error handler that Runtime installs: returns the code like PetscReturnErrorHandler (no
// printing, no abort) and keeps the failing routine's own message for the next PetscError.
PetscErrorCode record_petsc_error(MPI_Comm comm, int line, const char* func, const char* file,
                                  PetscErrorCode code, PetscErrorType type, const char* message,
                                  void* ctx);
}  // namespace detail

// Sets -name value in PETSc's options database unless it is set already, so the command line
// wins over defaults a study file gives. name without the leading dash.
void set_option_default(const std::string& name, const std::string& value);

// Owns one PETSc object; Destroy is the matching XDestroy(&obj) (e.g. VecDestroy).
template <class T, PetscErrorCode (*Destroy)(T*)>
class PetscHandle {
 public:
  PetscHandle() = default;
  explicit PetscHandle(T raw) noexcept : raw_(raw) {}
  PetscHandle(const PetscHandle&) = delete;
  PetscHandle& operator=(const PetscHandle&) = delete;
  PetscHandle(PetscHandle&& o) noexcept : raw_(std::exchange(o.raw_, nullptr)) {}
  PetscHandle& operator=(PetscHandle&& o) noexcept {
    if (this != &o) {
      reset();
      raw_ = std::exchange(o.raw_, nullptr);
    }
    return *this;
  }
  ~PetscHandle() noexcept { reset(); }

  T get() const noexcept { return raw_; }
  T* out() noexcept {  // for XCreate(..., h.out()): releases what was held first
    reset();
    return &raw_;
  }
  void reset() noexcept {
    if (raw_) (void)Destroy(&raw_);  // a destructor must not throw; nothing useful to do on error
    raw_ = nullptr;
  }

 private:
  T raw_ = nullptr;
};

}  // namespace nnscape

#define NNSCAPE_PETSC_CALL(expr)                                                \
  do {                                                                          \
    PetscErrorCode nnscape_ierr_ = (expr);                                      \
    if (nnscape_ierr_) throw ::nnscape::PetscError(nnscape_ierr_, #expr, __FILE__, __LINE__); \
  } while (0)
