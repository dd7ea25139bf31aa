#pragma once
// Errors: every failure becomes an nnscape::Error carrying where it happened; the CLI turns it
// into a message and a non-zero exit, the trial runner into a failed record.
#include <stdexcept>
#include <string>

namespace nnscape {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An error every rank of a collective step raises alike (a bad spec, a locked output file):
// rank 0 reports it and the others exit quietly, so the user reads it once.
class CollectiveError : public Error {
 public:
  using Error::Error;
};

// A failed call into a C library (PETSc, SLEPc, HDF5, MPI), with its code.
class LibraryError : public Error {
 public:
  LibraryError(const std::string& library, int code, const char* call, const char* file, int line);
  int code() const noexcept { return code_; }

 private:
  int code_;
};

namespace detail {
[[noreturn]] void throw_check_failure(const char* cond, const std::string& msg, const char* file,
                                      int line);
}  // namespace detail

}  // namespace nnscape

// Always on (unlike assert): bad input must be refused in Release builds too.
#define NNSCAPE_CHECK(cond, msg)                                                 \
  do {                                                                           \
    if (!(cond)) ::nnscape::detail::throw_check_failure(#cond, (msg), __FILE__, __LINE__); \
  } while (0)
