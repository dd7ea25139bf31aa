#pragma once
// What a trial leaves behind: a plain struct, written by the store and printed by the CLI.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "nnscape/classify.hpp"
#include "nnscape/optimize.hpp"
#include "nnscape/polish.hpp"
#include "nnscape/spectrum.hpp"
#include "nnscape/verdict.hpp"

namespace nnscape {

struct PhaseTimes {
  double data = 0.0;
  double init = 0.0;
  double train = 0.0;
  double spectrum = 0.0;
  double analysis = 0.0;  // polishing, redundancy, certificates
};

struct TrialRecord {
  // Description (echoed so a record stands alone).
  std::string architecture;  // e.g. "2-4-1"
  std::string activation;
  std::string data;          // the dataset spec text
  std::string pattern;
  std::string init;
  std::string optimizer;     // name
  double weight_decay = 0.0;
  std::uint64_t seed = 0;
  std::uint64_t data_seed = 0;
  std::uint64_t init_seed = 0;
  int num_params = 0;
  int num_samples = 0;

  // Outcome.
  std::string status;        // a PointType name, or "error"
  std::string error;         // message when status is "error" (or the solver's complaint)
  // The optimizer's run. θ, loss, grad_norm and param_norm are those of the end point after
  // polishing (the point the verdict speaks about); polish.grad_before is the optimizer's ‖∇L‖.
  OptimizeResult optimization;
  PolishResult polish;       // its theta is left empty (optimization.theta holds the point)
  Certificate certificate;   // certificate.certified: the status is proven (verdict.hpp)
  Spectrum hessian;
  Spectrum gauss_newton;
  RedundancyReport redundancy;
  int measured_nullity = -1;     // nullity of H when known soundly (verdict.hpp), else -1
  int measured_nullity_g = -1;   // dim ker J from its singular values when certain, else -1
  bool nullity_matches = false;  // measured == predicted (H at zero residual, else the H rule)
  double product_error = -1.0;   // linear data: ‖W_L···W_1 − A‖_F / ‖A‖_F (else −1)
  PhaseTimes seconds;
};

// A spectrum with its quality (method, residuals, inertia and the gap that decided it).
nlohmann::ordered_json to_json(const Spectrum& spectrum);
// A verdict's proof (or why there is none).
nlohmann::ordered_json to_json(const Certificate& certificate);
// Full record as JSON (θ and spectra included); `compact` drops θ and the trajectory.
nlohmann::ordered_json to_json(const TrialRecord& record, bool compact = false);

}  // namespace nnscape
