// `nnscape plan study.yaml [--json]`: checks a study spec and says what it will cost (trials
// per axis value and in total, P range, memory per trial, matrix-free trials, N·m ≤ P
// warnings) without running anything. Serial; reads file data headers only.
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.hpp"
#include "nnscape/plan.hpp"
#include "nnscape/spec.hpp"

namespace nnscape::cli {

namespace {

struct PlanArgs {
  std::string spec;
  bool json = false;
};

int run_plan_command(const PlanArgs& a) {
  require_one_rank("plan", "");
  const StudyPlan plan = make_plan(load_study(a.spec));
  if (a.json)
    std::cout << plan_json(plan) << '\n';
  else
    std::cout << format_plan(plan);
  return 0;
}

}  // namespace

Command add_plan_command(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  CLI::App* plan = app.add_subcommand(
      "plan", "Check a study spec and show its trials, P range, memory and warnings (runs nothing)");
  plan->add_option("spec", a->spec, "Study spec (YAML)")->required();
  plan->add_flag("--json", a->json, "Print the plan as JSON");
  return {plan, [a] { return run_plan_command(*a); }};
}

}  // namespace nnscape::cli
