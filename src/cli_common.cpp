// Helpers shared by the subcommands (cli_common.hpp).
#include "cli_common.hpp"

#include <mpi.h>

#include <sstream>

#include "nnscape/error.hpp"

namespace nnscape::cli {

std::string format_widths(const std::vector<int>& w) {
  std::string s = "{";
  for (std::size_t i = 0; i < w.size(); ++i) s += (i ? "," : "") + std::to_string(w[i]);
  return s + "}";
}

std::vector<int> parse_widths(const std::string& text) {
  std::vector<int> widths;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    const std::string s = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    std::size_t used = 0;
    int w = 0;
    try {
      w = std::stoi(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (s.empty() || used != s.size() || w < 1)
      throw Error("--widths: '" + s + "' is not a positive integer (give hidden widths such as "
                  "--widths 16,16)");
    widths.push_back(w);
  }
  if (widths.empty())
    throw Error("--widths: give at least one hidden width, e.g. --widths 16,16 (input and output "
                "dimensions come from the data)");
  return widths;
}

int world_rank() {
  int rank = 0;
  NNSCAPE_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank) == MPI_SUCCESS, "MPI_Comm_rank failed");
  return rank;
}

void require_one_rank(const std::string& command, const std::string& why) {
  int size = 1;
  NNSCAPE_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size) == MPI_SUCCESS, "MPI_Comm_size failed");
  if (size <= 1) return;
  if (world_rank() != 0) throw QuietFailure{};  // rank 0 says it, once
  throw Error(command + " is not parallel; run it on one rank (got " + std::to_string(size) +
              " MPI ranks)" + (why.empty() ? "" : "; " + why));
}

}  // namespace nnscape::cli
