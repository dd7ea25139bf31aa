#pragma once
// Pieces the `nnscape` subcommands share. Private to the executable (src/cli*.cpp).
#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "nnscape/network.hpp"

namespace nnscape::cli {

// A subcommand: its parser and what runs when it was named. Each cli_<name>.cpp adds its own.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_probe_command(CLI::App& app);
Command add_trial_command(CLI::App& app);
Command add_data_command(CLI::App& app);
Command add_pattern_command(CLI::App& app);
Command add_plan_command(CLI::App& app);
// run, status, merge; argv is kept for the results file's provenance.
std::vector<Command> add_study_commands(CLI::App& app, const std::vector<std::string>& argv);

// "{2,4,1}"
std::string format_widths(const std::vector<int>& widths);
// "16,16" → {16, 16}; throws nnscape::Error naming the bad item.
std::vector<int> parse_widths(const std::string& text);
// Thrown on ranks that fail without a word because rank 0 reports the reason; run_cli → exit 1.
struct QuietFailure {};

// Serial commands refuse to run on several ranks rather than repeat their work.
void require_one_rank(const std::string& command, const std::string& why);
int world_rank();

}  // namespace nnscape::cli
