// Helpers shared by the subcommands (cli_common.hpp).
#include "cli_common.hpp"

#include <mpi.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

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

Mask read_mask_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read mask file '" + path + "': no such file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read mask file '" + path + "'");
  Mask mask;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    std::istringstream tokens(line);
    std::string tok;
    int cols = 0;
    bool first = true;
    while (tokens >> tok) {
      if (first && tok.front() == '#') break;
      first = false;
      if (tok != "0" && tok != "1")
        throw Error("mask file '" + path + "' line " + std::to_string(lineno) + ": entry '" + tok +
                    "' is not 0 or 1");
      mask.bits.push_back(tok == "1" ? 1 : 0);
      ++cols;
    }
    if (cols == 0) continue;
    if (mask.rows > 0 && cols != mask.cols)
      throw Error("mask file '" + path + "' line " + std::to_string(lineno) + " has " +
                  std::to_string(cols) + " entries, earlier rows have " + std::to_string(mask.cols));
    mask.cols = cols;
    ++mask.rows;
  }
  if (mask.rows == 0) throw Error("mask file '" + path + "' has no rows");
  return mask;
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
