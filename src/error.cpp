#include "nnscape/error.hpp"

#include <string>

namespace nnscape {

LibraryError::LibraryError(const std::string& library, int code, const char* call, const char* file,
                           int line)
    : Error(library + " error " + std::to_string(code) + " in " + call + " (" + file + ":" +
            std::to_string(line) + ")"),
      code_(code) {}

namespace detail {
void throw_check_failure(const char* cond, const std::string& msg, const char* file, int line) {
  (void)cond;
  (void)file;
  (void)line;
  // The message is for users: it names the problem; the condition text would only confuse.
  throw Error(msg);
}
}  // namespace detail

}  // namespace nnscape
