#include "nnscape/petsc.hpp"

#include <string>

namespace nnscape {

namespace {

// The message of the most recent initial PETSc error. PetscErrorMessage only knows the generic
// text of a code ("Error in external library"); the specific reason ("Nonconforming object
// sizes: 5 != 7", or an exception caught in one of our callbacks) exists only inside the error
// handler, so the handler keeps it here until the matching PetscError is built.
struct LastError {
  PetscErrorCode code = 0;
  std::string where;
  std::string message;
};
thread_local LastError last_error;

std::string describe(PetscErrorCode code, const char* call) {
  std::string text = call;
  const char* generic = nullptr;
  if (PetscErrorMessage(code, &generic, nullptr) == 0 && generic != nullptr) {
    text += ": ";
    text += generic;
  }
  // Only a message recorded for this very code is attached, so a stale one from an error that
  // PETSc handled internally cannot be blamed on an unrelated call.
  if (last_error.code == code && !last_error.message.empty()) {
    text += " [" + last_error.where + ": " + last_error.message + "]";
  }
  last_error = LastError{};
  return text;
}

}  // namespace

namespace detail {

PetscErrorCode record_petsc_error(MPI_Comm comm, int line, const char* func, const char* file,
                                  PetscErrorCode code, PetscErrorType type, const char* message,
                                  void* ctx) {
  // Later calls for the same error are the traceback (PETSC_ERROR_REPEAT); the first one
  // carries the reason.
  if (type == PETSC_ERROR_INITIAL || type == PETSC_ERROR_IN_CXX) {
    try {
      last_error.code = code;
      last_error.where = func ? func : "?";
      last_error.message = message ? message : "";
    } catch (...) {
      last_error = LastError{};  // out of memory: lose the detail, keep the code
    }
  }
  return code;
}

}  // namespace detail

PetscError::PetscError(PetscErrorCode code, const char* call, const char* file, int line)
    : LibraryError("PETSc", code, describe(code, call).c_str(), file, line) {}

void set_option_default(const std::string& name, const std::string& value) {
  const std::string key = "-" + name;
  PetscBool set = PETSC_FALSE;
  NNSCAPE_PETSC_CALL(PetscOptionsHasName(nullptr, nullptr, key.c_str(), &set));
  if (!set) NNSCAPE_PETSC_CALL(PetscOptionsSetValue(nullptr, key.c_str(), value.c_str()));
}

}  // namespace nnscape
