#pragma once
// Is L_I = {W_L···W_1 : supp W_l ⊆ I_l} closed? (Le, Riccietti & Gribonval 2023; papers.md.)
// If it is not, some finite ReLU regression problem with pattern I has no optimum: training
// "diverges" (‖θ‖ → ∞ while the loss falls). If it is, that alone proves nothing for ReLU
// networks, except in the one case the paper proves: one hidden layer with scalar output.
//
// Order of work (each verdict names the rule that decided it):
//  1. cheap sufficient rules on the whole pattern: "dense" (L_I = rank-bounded matrices),
//     "scalar_output" / "scalar_input" (m = 1 or d = 1: L_I is a coordinate subspace),
//     "rank_one_disjoint" (two factors: the hidden units' rank-one supports
//     rows(I_2[:,k]) × cols(I_1[k,:]), identical ones grouped, are pairwise disjoint);
//  2. exact reductions: units on no input→output path are dropped ("no_path" when nothing is
//     left: L_I = {0}) and the pattern splits into connected components, L_I being their direct
//     sum on disjoint entries, closed iff every component's is ("components"); the rules of 1
//     then apply per component;
//  3. "witness_search": partial permutation matrices A (largest first) tested exactly with Z3:
//     A ∉ L_I (nlsat, unsat of P(W) = A) and A ∈ closure(L_I) (nlqsat on ∀ε>0 ∃W |P(W)−A| < ε);
//  4. "z3_qe": the whole first-order statement ∃A [∀ε>0 ∃W |P(W)−A|∞ < ε] ∧ [∀W' P(W') ≠ A],
//     decided by Z3's nlqsat (quantified nonlinear real arithmetic); unsat means closed.
//     "timeout" when the time limit ran out, "resource_limit" when a Z3 call used up its
//     resource limit, "z3_unknown" / "z3_error" otherwise.
// Limits: time_limit_seconds is wall-clock, so whether a hard pattern is decided depends on the
// machine's speed and load. resource_limit (Z3's "rlimit", counted in Z3's own work units) does
// not: with it, the verdict is a deterministic function of the pattern, the options and the Z3
// version. Tests and reproducible studies should set resource_limit and keep the time limit as a
// generous safety net only.
// A not_closed verdict from 3 or 4 always comes with a witness A that was checked again on its
// own (membership unsat, closure sat) and with a sequence of products converging to it.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nnscape/network.hpp"

namespace nnscape {

struct ClosednessOptions {
  double time_limit_seconds = 10.0;  // for all Z3 calls of one check together (wall-clock)
  // Z3 rlimit for each solver call (deterministic, unlike the time limit); 0 = none. A call
  // that exhausts it answers unknown, reported as rule "resource_limit".
  std::uint64_t resource_limit = 0;
  // false: skip 1-3 and hand the whole pattern to Z3 (tests compare the two routes).
  bool use_rules = true;
  bool search_witness = true;  // step 3
  int max_witness_candidates = 64;
  int sequence_length = 4;  // products at ε = 10^-1 .. 10^-sequence_length
};

// One product of the convergent sequence: max |W_L···W_1 − A| < epsilon.
struct WitnessStep {
  double epsilon = 0.0;
  double error = 0.0;  // max_ij |(W_L···W_1 − A)_ij|, in double precision
  double norm = 0.0;   // ‖(W_1, ..., W_L)‖_F: grows as epsilon falls
  std::vector<std::vector<double>> factors;  // W_1 .. W_L, dense row-major (out × in)
};

struct ClosednessResult {
  std::string verdict;  // "closed" | "not_closed" | "unknown"
  std::string rule;     // see the list above
  std::vector<std::string> component_rules;  // rule "components": one per component
  std::string optimum;  // "optimum_guaranteed" | "optimum_may_not_exist" | "unknown"
  // "scalar_output_one_hidden" (the theorem), "not_closed" (L_I not closed), or "" (no
  // statement: a closed L_I is not enough for ReLU networks).
  std::string optimum_rule;
  std::vector<double> witness;  // m×d row-major A in the closure but not in L_I (not_closed only)
  int rows = 0;                 // m
  int cols = 0;                 // d
  std::vector<WitnessStep> sequence;  // not_closed only
  std::string note;                   // Z3's reason for unknown, an error message, ...
  double seconds = 0.0;
};

// Masks for W_1 .. W_L (L ≥ 1), chained (cols of mask l+1 = rows of mask l); dense layers must be
// given as full masks. Throws nnscape::Error for masks that do not chain or hold values other
// than 0/1. Not collective; runs Z3 in its own context, so it is safe from several threads.
ClosednessResult check_closedness(const std::vector<Mask>& masks,
                                  const ClosednessOptions& options = {});

nlohmann::ordered_json to_json(const ClosednessResult& result);

}  // namespace nnscape
