#pragma once
// Move-only RAII owners for HDF5 identifiers, a scope guard that silences HDF5's error printing,
// and the checking macro for HDF5 calls. Serial use only (default property lists).
#include <hdf5.h>

#include <string>
#include <utility>

#include "nnscape/error.hpp"

namespace nnscape {

// A failed HDF5 call. what() adds HDF5's innermost error description, since the stack itself
// is usually silenced.
class H5Error : public LibraryError {
 public:
  H5Error(long long code, const char* call, const char* file, int line)
      : LibraryError("HDF5", static_cast<int>(code), call, file, line),
        what_(std::string(LibraryError::what()) + describe_last_h5_error()) {}
  const char* what() const noexcept override { return what_.c_str(); }

  // ": <description>" of the innermost entry on HDF5's default error stack, or "" if empty.
  static std::string describe_last_h5_error() {
    std::string desc;
    (void)H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_UPWARD,
        [](unsigned n, const H5E_error2_t* err, void* out) -> herr_t {
          if (n == 0 && err->desc) *static_cast<std::string*>(out) = std::string(": ") + err->desc;
          return 0;
        },
        &desc);
    return desc;
  }

 private:
  std::string what_;
};

namespace detail {
// HDF5 returns a negative herr_t/hid_t/htri_t on failure; anything else passes through.
template <class T>
T h5_check(T value, const char* call, const char* file, int line) {
  if (value < 0) throw H5Error(static_cast<long long>(value), call, file, line);
  return value;
}
}  // namespace detail

// Owns one HDF5 identifier; Close is the matching H5Xclose (H5Fclose for a file, ...).
// HDF5 signals failure with a negative id, so a handle built from a failed call is !valid().
template <herr_t (*Close)(hid_t)>
class H5Handle {
 public:
  H5Handle() = default;
  explicit H5Handle(hid_t raw) noexcept : raw_(raw) {}
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  H5Handle(H5Handle&& o) noexcept : raw_(std::exchange(o.raw_, H5I_INVALID_HID)) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      raw_ = std::exchange(o.raw_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~H5Handle() noexcept { reset(); }

  hid_t get() const noexcept { return raw_; }
  bool valid() const noexcept { return raw_ >= 0; }
  void reset() noexcept {
    if (raw_ >= 0) (void)Close(raw_);  // a destructor must not throw; nothing useful to do on error
    raw_ = H5I_INVALID_HID;
  }
  // Closes now and throws on failure: closing a file flushes it, and a failed flush must not be
  // lost in a destructor.
  void close() {
    const hid_t raw = std::exchange(raw_, H5I_INVALID_HID);
    if (raw >= 0) detail::h5_check(Close(raw), "H5Xclose", __FILE__, __LINE__);
  }

 private:
  hid_t raw_ = H5I_INVALID_HID;
};

using H5File = H5Handle<H5Fclose>;
using H5Dataset = H5Handle<H5Dclose>;
using H5Dataspace = H5Handle<H5Sclose>;
using H5Datatype = H5Handle<H5Tclose>;
using H5PropList = H5Handle<H5Pclose>;

// While alive, HDF5 does not print its error stack to stderr. Readers probe files whose problems
// are expected (missing dataset, not HDF5); the user should see one clear message from us, not a
// page of HDF5 internals. The previous handler is restored on destruction.
class H5ErrorSilencer {
 public:
  H5ErrorSilencer() noexcept {
    (void)H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
    (void)H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  }
  ~H5ErrorSilencer() noexcept { (void)H5Eset_auto2(H5E_DEFAULT, func_, data_); }
  H5ErrorSilencer(const H5ErrorSilencer&) = delete;
  H5ErrorSilencer& operator=(const H5ErrorSilencer&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

}  // namespace nnscape

// Usable as an expression: H5Dataset ds(NNSCAPE_H5_CALL(H5Dopen2(file, "/X", H5P_DEFAULT)));
#define NNSCAPE_H5_CALL(expr) ::nnscape::detail::h5_check((expr), #expr, __FILE__, __LINE__)
