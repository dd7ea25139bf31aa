// The L_I closedness checker (closedness.hpp): cheap rules, exact reductions, then Z3.
//
// Why the sup-norm box |P(W) − A| < ε rather than ‖P(W) − A‖² < ε: both define the same closure,
// but Z3's nlqsat decides the box form of the 2×2 LU statement in ~10 ms and gave up on the
// squared-norm form after 20 s (measured with Z3 4.8.12), since the box keeps every constraint
// of degree L in W instead of 2L.
#include "nnscape/closedness.hpp"

#include <z3++.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/pattern.hpp"

namespace nnscape {

namespace {

using Clock = std::chrono::steady_clock;

bool full(const Mask& m) {
  return std::all_of(m.bits.begin(), m.bits.end(), [](std::uint8_t b) { return b != 0; });
}

// reach[i*d + j]: some path links input j to output i (P_ij is not identically zero).
std::vector<std::uint8_t> reachable(const std::vector<Mask>& masks) {
  const int d = masks.front().cols;
  std::vector<std::uint8_t> reach(masks.front().bits);  // n_1 × d
  for (std::size_t l = 1; l < masks.size(); ++l) {
    const Mask& w = masks[l];
    std::vector<std::uint8_t> next(static_cast<std::size_t>(w.rows) * d, 0);
    for (int i = 0; i < w.rows; ++i)
      for (int k = 0; k < w.cols; ++k)
        if (w.at(i, k))
          for (int j = 0; j < d; ++j) next[i * d + j] |= reach[k * d + j];
    reach.swap(next);
  }
  return reach;
}

// Two factors: the hidden units' rank-one supports R_k × C_k, identical ones grouped (a group of
// g units spans the closed set of rank ≤ g matrices on R × C), pairwise disjoint → L_I is a
// direct sum of closed sets on disjoint entries.
bool rank_one_disjoint(const std::vector<Mask>& masks) {
  if (masks.size() != 2) return false;
  const Mask& in = masks[0];   // n × d
  const Mask& out = masks[1];  // m × n
  std::set<std::pair<std::vector<int>, std::vector<int>>> groups;
  for (int k = 0; k < in.rows; ++k) {
    std::vector<int> rows, cols;
    for (int i = 0; i < out.rows; ++i)
      if (out.at(i, k)) rows.push_back(i);
    for (int j = 0; j < in.cols; ++j)
      if (in.at(k, j)) cols.push_back(j);
    if (!rows.empty() && !cols.empty()) groups.emplace(std::move(rows), std::move(cols));
  }
  auto meets = [](const std::vector<int>& a, const std::vector<int>& b) {
    return std::find_first_of(a.begin(), a.end(), b.begin(), b.end()) != a.end();
  };
  for (auto g = groups.begin(); g != groups.end(); ++g)
    for (auto h = std::next(g); h != groups.end(); ++h)
      if (meets(g->first, h->first) && meets(g->second, h->second)) return false;
  return true;
}

// The rules of step 1; "" when none applies.
std::string cheap_rule(const std::vector<Mask>& masks) {
  if (std::all_of(masks.begin(), masks.end(), full)) return "dense";
  if (masks.back().rows == 1) return "scalar_output";
  if (masks.front().cols == 1) return "scalar_input";
  if (masks.size() == 1) return "one_factor";  // a coordinate subspace
  if (rank_one_disjoint(masks)) return "rank_one_disjoint";
  return "";
}

// A connected component of the pattern's graph after dropping units on no input→output path.
struct Component {
  std::vector<std::vector<int>> units;  // per layer 0..L, original indices, ascending
  std::vector<Mask> masks;              // the sub-pattern
};

std::vector<Component> components(const std::vector<Mask>& masks) {
  const int layers = static_cast<int>(masks.size());
  std::vector<int> widths{masks.front().cols};
  for (const Mask& m : masks) widths.push_back(m.rows);
  // alive[l][u]: unit u of layer l lies on some full path (forward- and backward-reachable).
  std::vector<std::vector<char>> fwd(layers + 1), bwd(layers + 1);
  fwd[0].assign(widths[0], 1);
  for (int l = 0; l < layers; ++l) {
    fwd[l + 1].assign(widths[l + 1], 0);
    for (int r = 0; r < widths[l + 1]; ++r)
      for (int c = 0; c < widths[l]; ++c)
        if (fwd[l][c] && masks[l].at(r, c)) fwd[l + 1][r] = 1;
  }
  bwd[layers].assign(widths[layers], 1);
  for (int l = layers - 1; l >= 0; --l) {
    bwd[l].assign(widths[l], 0);
    for (int r = 0; r < widths[l + 1]; ++r)
      for (int c = 0; c < widths[l]; ++c)
        if (bwd[l + 1][r] && masks[l].at(r, c)) bwd[l][c] = 1;
  }
  // Union-find over alive units, joined along mask entries between alive units.
  std::vector<int> offset(layers + 2, 0);
  for (int l = 0; l <= layers; ++l) offset[l + 1] = offset[l] + widths[l];
  std::vector<int> parent(offset.back());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<int>(i);
  auto find = [&](int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  auto alive = [&](int l, int u) { return fwd[l][u] && bwd[l][u]; };
  for (int l = 0; l < layers; ++l)
    for (int r = 0; r < widths[l + 1]; ++r)
      for (int c = 0; c < widths[l]; ++c)
        if (masks[l].at(r, c) && alive(l, c) && alive(l + 1, r))
          parent[find(offset[l] + c)] = find(offset[l + 1] + r);

  std::vector<int> roots;
  std::vector<Component> comps;
  for (int u = 0; u < widths[0]; ++u) {
    if (!alive(0, u)) continue;
    const int root = find(u);
    if (std::find(roots.begin(), roots.end(), root) != roots.end()) continue;
    roots.push_back(root);
    Component comp;
    comp.units.resize(layers + 1);
    for (int l = 0; l <= layers; ++l)
      for (int v = 0; v < widths[l]; ++v)
        if (alive(l, v) && find(offset[l] + v) == root) comp.units[l].push_back(v);
    for (int l = 0; l < layers; ++l) {
      const auto& rows = comp.units[l + 1];
      const auto& cols = comp.units[l];
      Mask m{static_cast<int>(rows.size()), static_cast<int>(cols.size()), {}};
      for (int r : rows)
        for (int c : cols) m.bits.push_back(masks[l].at(r, c) ? 1 : 0);
      comp.masks.push_back(std::move(m));
    }
    comps.push_back(std::move(comp));
  }
  return comps;
}

double parse_decimal(const z3::expr& e) {
  std::string s = e.get_decimal_string(20);
  if (!s.empty() && s.back() == '?') s.pop_back();  // Z3 marks a truncated expansion with '?'
  return std::stod(s);
}

// Z3's reason for unknown → rule. The resource limit (rlimit) reads "max. resource limit
// exceeded"; the wall-clock limit "timeout" or "canceled".
std::string unknown_rule(const std::string& reason) {
  if (reason.find("resource") != std::string::npos) return "resource_limit";
  return reason.find("timeout") != std::string::npos || reason.find("cancel") != std::string::npos
             ? "timeout"
             : "z3_unknown";
}

// What one Z3 route concluded about one (sub-)pattern.
struct Outcome {
  std::string verdict = "unknown";
  std::string rule;
  std::vector<double> witness;  // rows × cols of this pattern
  std::vector<WitnessStep> sequence;
  std::string note;
};

// The Z3 side for one chained pattern: symbolic products, the statements, and the witness checks.
class Z3Checker {
 public:
  Z3Checker(z3::context& c, const std::vector<Mask>& masks, const ClosednessOptions& opts,
            Clock::time_point end)
      : c_(c), masks_(masks), opts_(opts), end_(end), reach_(reachable(masks)) {
    rows_ = masks.back().rows;
    cols_ = masks.front().cols;
  }

  // Step 3: partial permutations on reachable entries, largest first, anti-diagonal first.
  std::optional<Outcome> search_witness() {
    std::vector<std::vector<double>> candidates;
    const int kmax = std::min(rows_, cols_);
    for (int k = kmax; k >= 1 && static_cast<int>(candidates.size()) < opts_.max_witness_candidates;
         --k) {
      std::vector<double> a(static_cast<std::size_t>(rows_) * cols_, 0.0);
      std::vector<char> used(cols_, 0);
      enumerate(0, k, a, used, candidates);
    }
    // Each candidate gets a share of the time, so one hard candidate cannot eat the QE's.
    const double share = 0.25 * opts_.time_limit_seconds;
    for (const auto& a : candidates) {
      if (remaining() <= 0.0) return std::nullopt;
      z3::context& c = c_;
      const std::vector<z3::expr> av = constants(c, a);
      const z3::check_result member = membership(c, av, std::min(share, remaining()));
      if (member != z3::unsat) continue;
      const z3::check_result closure = in_closure(c, av, std::min(share, remaining()));
      if (closure != z3::sat) continue;
      Outcome out;
      out.verdict = "not_closed";
      out.rule = "witness_search";
      out.witness = a;
      out.sequence = sequence(c, av);
      return out;
    }
    return std::nullopt;
  }

  // Step 4: the whole statement.
  Outcome decide() {
    Outcome out;
    if (std::none_of(reach_.begin(), reach_.end(), [](std::uint8_t r) { return r != 0; })) {
      out.verdict = "closed";
      out.rule = "no_path";
      return out;
    }
    z3::context& c = c_;
    std::vector<z3::expr> av;
    z3::expr_vector avars(c);
    for (std::size_t i = 0; i < reach_.size(); ++i) {
      z3::expr a = c.real_const(("a" + std::to_string(i)).c_str());
      av.push_back(a);
      if (reach_[i]) avars.push_back(a);
    }
    const z3::expr statement = closure_formula(c, av) && !membership_formula(c, av);
    z3::solver s = z3::tactic(c, "nlqsat").mk_solver();
    const z3::check_result r = run(s, statement, remaining(), out.note);
    if (r == z3::unsat) {
      out.verdict = "closed";
      out.rule = "z3_qe";
      return out;
    }
    if (r == z3::unknown) {
      out.rule = out.note.rfind("z3 error", 0) == 0 ? "z3_error" : unknown_rule(out.note);
      return out;
    }
    // A model of the outer ∃A: check it again on its own before calling it a witness.
    const z3::model model = s.get_model();
    std::vector<z3::expr> fixed;
    std::vector<double> witness;
    for (std::size_t i = 0; i < av.size(); ++i) {
      z3::expr v = reach_[i] ? model.eval(av[i], true) : c.real_val(0);
      fixed.push_back(v);
      witness.push_back(reach_[i] ? parse_decimal(v) : 0.0);
    }
    const double left = remaining();
    const z3::check_result member = membership(c, fixed, left);
    const z3::check_result closure = in_closure(c, fixed, remaining());
    if (member != z3::unsat || closure != z3::sat) {
      out.rule = "unverified_witness";
      out.note = "Z3 found A but could not confirm it on its own (membership " +
                 to_string(member) + ", closure " + to_string(closure) + ")";
      return out;
    }
    out.verdict = "not_closed";
    out.rule = "z3_qe";
    out.witness = std::move(witness);
    out.sequence = sequence(c, fixed);
    return out;
  }

 private:
  // P = W_L···W_1 as polynomials in fresh variables named after `tag`; nullopt where no path.
  struct Product {
    std::vector<std::optional<z3::expr>> p;  // rows × cols
    z3::expr_vector vars;
    std::vector<std::vector<int>> var_index;  // per layer: dense index → position in vars, or -1
  };

  Product product(z3::context& c, const std::string& tag) const {
    Product out{{}, z3::expr_vector(c), {}};
    std::vector<std::optional<z3::expr>> prod;
    for (int l = 0; l < static_cast<int>(masks_.size()); ++l) {
      const Mask& m = masks_[l];
      std::vector<std::optional<z3::expr>> w(m.bits.size());
      std::vector<int> index(m.bits.size(), -1);
      for (int r = 0; r < m.rows; ++r)
        for (int k = 0; k < m.cols; ++k)
          if (m.at(r, k)) {
            const std::size_t i = static_cast<std::size_t>(r) * m.cols + k;
            w[i] = c.real_const((tag + std::to_string(l) + "_" + std::to_string(r) + "_" +
                                 std::to_string(k)).c_str());
            index[i] = static_cast<int>(out.vars.size());
            out.vars.push_back(*w[i]);
          }
      out.var_index.push_back(std::move(index));
      if (l == 0) {
        prod = std::move(w);
      } else {
        std::vector<std::optional<z3::expr>> next(static_cast<std::size_t>(m.rows) * cols_);
        for (int r = 0; r < m.rows; ++r)
          for (int j = 0; j < cols_; ++j)
            for (int k = 0; k < m.cols; ++k) {
              const auto& a = w[static_cast<std::size_t>(r) * m.cols + k];
              const auto& b = prod[static_cast<std::size_t>(k) * cols_ + j];
              if (!a || !b) continue;
              auto& t = next[static_cast<std::size_t>(r) * cols_ + j];
              t = t ? *t + *a * *b : *a * *b;
            }
        prod = std::move(next);
      }
    }
    out.p = std::move(prod);
    return out;
  }

  // ∀ε > 0 ∃W: max_ij |P_ij(W) − a_ij| < ε (entries with no path must be 0 exactly).
  z3::expr closure_formula(z3::context& c, const std::vector<z3::expr>& a) const {
    Product x = product(c, "x");
    z3::expr eps = c.real_const("eps");
    z3::expr box = c.bool_val(true), zeros = c.bool_val(true);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (x.p[i]) {
        box = box && (*x.p[i] - a[i] < eps) && (a[i] - *x.p[i] < eps);
      } else {
        zeros = zeros && (a[i] == 0);
      }
    }
    return zeros && z3::forall(eps, z3::implies(eps > 0, z3::exists(x.vars, box)));
  }

  // ∃W': P(W') = A.
  z3::expr membership_formula(z3::context& c, const std::vector<z3::expr>& a) const {
    Product y = product(c, "y");
    z3::expr eq = c.bool_val(true);
    for (std::size_t i = 0; i < a.size(); ++i) eq = eq && ((y.p[i] ? *y.p[i] : c.real_val(0)) == a[i]);
    return z3::exists(y.vars, eq);
  }

  z3::check_result membership(z3::context& c, const std::vector<z3::expr>& a, double seconds) {
    Product y = product(c, "y");
    z3::solver s = z3::tactic(c, "qfnra-nlsat").mk_solver();
    z3::expr eq = c.bool_val(true);
    for (std::size_t i = 0; i < a.size(); ++i) eq = eq && ((y.p[i] ? *y.p[i] : c.real_val(0)) == a[i]);
    std::string note;
    return run(s, eq, seconds, note);
  }

  z3::check_result in_closure(z3::context& c, const std::vector<z3::expr>& a, double seconds) {
    z3::solver s = z3::tactic(c, "nlqsat").mk_solver();
    std::string note;
    return run(s, closure_formula(c, a), seconds, note);
  }

  // Products within ε = 10^-k of A, k = 1..sequence_length: the convergent sequence, shown.
  std::vector<WitnessStep> sequence(z3::context& c, const std::vector<z3::expr>& a) {
    std::vector<WitnessStep> steps;
    std::vector<double> target;
    for (const z3::expr& v : a) target.push_back(parse_decimal(v));
    std::string denominator = "1";
    for (int k = 1; k <= opts_.sequence_length && remaining() > 0.0; ++k) {
      denominator += "0";
      Product x = product(c, "s" + std::to_string(k) + "_");
      const z3::expr eps = c.real_val(("1/" + denominator).c_str());
      z3::expr box = c.bool_val(true);
      for (std::size_t i = 0; i < a.size(); ++i)
        if (x.p[i]) box = box && (*x.p[i] - a[i] < eps) && (a[i] - *x.p[i] < eps);
      z3::solver s = z3::tactic(c, "qfnra-nlsat").mk_solver();
      std::string note;
      if (run(s, box, remaining(), note) != z3::sat) break;
      const z3::model model = s.get_model();
      WitnessStep step;
      step.epsilon = std::pow(10.0, -k);
      double norm2 = 0.0;
      std::vector<double> prod;
      for (std::size_t l = 0; l < masks_.size(); ++l) {
        const Mask& m = masks_[l];
        std::vector<double> w(m.bits.size(), 0.0);
        for (std::size_t i = 0; i < w.size(); ++i)
          if (x.var_index[l][i] >= 0) {
            w[i] = parse_decimal(model.eval(x.vars[x.var_index[l][i]], true));
            norm2 += w[i] * w[i];
          }
        if (l == 0) {
          prod = w;
        } else {
          std::vector<double> next(static_cast<std::size_t>(m.rows) * cols_, 0.0);
          for (int r = 0; r < m.rows; ++r)
            for (int k2 = 0; k2 < m.cols; ++k2)
              for (int j = 0; j < cols_; ++j)
                next[r * cols_ + j] += w[r * m.cols + k2] * prod[k2 * cols_ + j];
          prod.swap(next);
        }
        step.factors.push_back(std::move(w));
      }
      step.norm = std::sqrt(norm2);
      for (std::size_t i = 0; i < prod.size(); ++i)
        step.error = std::max(step.error, std::abs(prod[i] - target[i]));
      steps.push_back(std::move(step));
    }
    return steps;
  }

  void enumerate(int row, int k, std::vector<double>& a, std::vector<char>& used,
                 std::vector<std::vector<double>>& out) const {
    if (static_cast<int>(out.size()) >= opts_.max_witness_candidates) return;
    if (k == 0) {
      out.push_back(a);
      return;
    }
    if (rows_ - row < k) return;
    for (int j = cols_ - 1; j >= 0; --j) {
      const std::size_t i = static_cast<std::size_t>(row) * cols_ + j;
      if (used[j] || !reach_[i]) continue;
      used[j] = 1;
      a[i] = 1.0;
      enumerate(row + 1, k - 1, a, used, out);
      a[i] = 0.0;
      used[j] = 0;
    }
    enumerate(row + 1, k, a, used, out);  // this row stays empty
  }

  std::vector<z3::expr> constants(z3::context& c, const std::vector<double>& a) const {
    std::vector<z3::expr> out;
    for (double v : a) out.push_back(c.real_val(static_cast<int>(v)));
    return out;
  }

  z3::check_result run(z3::solver& s, const z3::expr& f, double seconds, std::string& note) {
    if (seconds <= 0.0) {
      note = "timeout";
      return z3::unknown;
    }
    try {
      s.set("timeout", static_cast<unsigned>(std::max(1.0, seconds * 1000.0)));
      // Per call, counted from the context's current count (Z3 4.8: scoped_rlimit in check).
      if (opts_.resource_limit > 0)
        s.set("rlimit", static_cast<unsigned>(opts_.resource_limit));
      s.add(f);
      const z3::check_result r = s.check();
      // Work done since the last check: the context's cumulative "rlimit count" (a fresh context
      // per checker, so it starts at 0), read after every check.
      std::uint64_t used = 0;
      if (opts_.resource_limit > 0)
        if (const std::optional<std::uint64_t> count = rlimit_count(s)) {
          used = *count >= rlimit_count_ ? *count - rlimit_count_ : 0;
          rlimit_count_ = *count;
        }
      if (r == z3::unknown) {
        note = s.reason_unknown();
        // Several tactics (nlqsat among them) report an exhausted rlimit as "canceled", like a
        // timeout; the work this call did tells the two apart deterministically.
        if (opts_.resource_limit > 0 && note.find("resource") == std::string::npos &&
            used >= opts_.resource_limit)
          note = "max. resource limit exceeded (Z3: " + note + ")";
      }
      return r;
    } catch (const z3::exception& e) {
      note = std::string("z3 error: ") + e.msg();
      return z3::unknown;
    }
  }

  static std::optional<std::uint64_t> rlimit_count(z3::solver& s) {
    const z3::stats st = s.statistics();
    for (unsigned i = 0; i < st.size(); ++i)
      if (st.key(i) == "rlimit count")
        return st.is_uint(i) ? st.uint_value(i) : static_cast<std::uint64_t>(st.double_value(i));
    return std::nullopt;
  }

  static std::string to_string(z3::check_result r) {
    return r == z3::sat ? "sat" : r == z3::unsat ? "unsat" : "unknown";
  }

  double remaining() const { return std::chrono::duration<double>(end_ - Clock::now()).count(); }

  z3::context& c_;
  const std::vector<Mask>& masks_;
  const ClosednessOptions& opts_;
  Clock::time_point end_;
  std::vector<std::uint8_t> reach_;
  int rows_ = 0;
  int cols_ = 0;
  std::uint64_t rlimit_count_ = 0;  // Z3's "rlimit count" after the last check
};

// Steps 1 (per component), 3 and 4 for one connected pattern.
Outcome check_one(const std::vector<Mask>& masks, const ClosednessOptions& opts,
                  Clock::time_point end, bool rules) {
  if (rules) {
    const std::string rule = cheap_rule(masks);
    if (!rule.empty()) return Outcome{"closed", rule, {}, {}, ""};
  }
  // A fresh context per check costs ~0.1 s but keeps the answer a function of the pattern: a
  // reused context numbers its terms differently on every call, which changes nlsat's variable
  // order, and measured on 3×3 LU one call in two then spent 2.5 s instead of 20 ms.
  z3::context c;
  Z3Checker z3(c, masks, opts, end);
  if (rules && opts.search_witness)
    if (auto found = z3.search_witness()) return *found;
  return z3.decide();
}

void state_optimum(ClosednessResult& r, const std::vector<Mask>& masks) {
  // Le et al.'s theorem: one hidden layer, scalar output → an optimum exists for every finite
  // data set, whatever the pattern. Beyond it only the negative direction is proven.
  if (masks.size() == 2 && masks.back().rows == 1) {
    r.optimum = "optimum_guaranteed";
    r.optimum_rule = "scalar_output_one_hidden";
  } else if (r.verdict == "not_closed") {
    r.optimum = "optimum_may_not_exist";
    r.optimum_rule = "not_closed";
  } else {
    r.optimum = "unknown";
    r.optimum_rule = "";
  }
}

}  // namespace

ClosednessResult check_closedness(const std::vector<Mask>& masks, const ClosednessOptions& opts) {
  const auto start = Clock::now();
  NNSCAPE_CHECK(opts.time_limit_seconds > 0.0, "check_closedness: time limit must be > 0");
  NNSCAPE_CHECK(opts.resource_limit <= std::numeric_limits<unsigned>::max(),
                "check_closedness: resource limit must fit Z3's unsigned rlimit");
  const std::vector<int> widths = mask_widths(masks);
  check_masks(masks, widths, "check_closedness");
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(opts.time_limit_seconds));

  ClosednessResult result;
  result.rows = widths.back();
  result.cols = widths.front();
  Outcome outcome;
  if (!opts.use_rules) {
    outcome = check_one(masks, opts, end, false);
  } else if (const std::string rule = cheap_rule(masks); !rule.empty()) {
    outcome = Outcome{"closed", rule, {}, {}, ""};
  } else {
    const std::vector<Component> comps = components(masks);
    if (comps.empty()) {
      outcome = Outcome{"closed", "no_path", {}, {}, ""};
    } else {
      // Direct sum over disjoint entries: not closed as soon as one part is not (its witness,
      // zero elsewhere, is in the closure of the sum and not in the sum); closed iff all are.
      outcome.verdict = "closed";
      for (const Component& comp : comps) {
        Outcome part = check_one(comp.masks, opts, end, true);
        result.component_rules.push_back(part.rule);
        if (part.verdict == "not_closed") {
          outcome = part;
          std::vector<double> a(static_cast<std::size_t>(result.rows) * result.cols, 0.0);
          const auto& out_units = comp.units.back();
          const auto& in_units = comp.units.front();
          for (std::size_t i = 0; i < out_units.size(); ++i)
            for (std::size_t j = 0; j < in_units.size(); ++j)
              a[out_units[i] * result.cols + in_units[j]] = part.witness[i * in_units.size() + j];
          outcome.witness = std::move(a);
          // The sequence's factors are the component's; other entries are zero.
          for (WitnessStep& step : outcome.sequence) {
            for (std::size_t l = 0; l < step.factors.size(); ++l) {
              const auto& rows = comp.units[l + 1];
              const auto& cols = comp.units[l];
              std::vector<double> w(static_cast<std::size_t>(widths[l + 1]) * widths[l], 0.0);
              for (std::size_t r = 0; r < rows.size(); ++r)
                for (std::size_t c = 0; c < cols.size(); ++c)
                  w[rows[r] * widths[l] + cols[c]] = step.factors[l][r * cols.size() + c];
              step.factors[l] = std::move(w);
            }
          }
          break;
        }
        if (part.verdict == "unknown" && outcome.verdict == "closed") {
          outcome.verdict = "unknown";
          outcome.rule = part.rule;
          outcome.note = part.note;
        }
      }
      if (outcome.verdict == "closed")
        outcome.rule = comps.size() > 1 ? "components" : result.component_rules.front();
      if (comps.size() == 1) result.component_rules.clear();
    }
  }
  result.verdict = outcome.verdict;
  result.rule = outcome.rule;
  result.witness = std::move(outcome.witness);
  result.sequence = std::move(outcome.sequence);
  result.note = outcome.note;
  state_optimum(result, masks);
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

nlohmann::ordered_json to_json(const ClosednessResult& r) {
  nlohmann::ordered_json j;
  j["verdict"] = r.verdict;
  j["rule"] = r.rule;
  if (!r.component_rules.empty()) j["component_rules"] = r.component_rules;
  j["optimum"] = r.optimum;
  j["optimum_rule"] = r.optimum_rule;
  j["shape"] = {r.rows, r.cols};
  if (!r.witness.empty()) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (int i = 0; i < r.rows; ++i)
      a.push_back(std::vector<double>(r.witness.begin() + static_cast<std::ptrdiff_t>(i) * r.cols,
                                      r.witness.begin() + static_cast<std::ptrdiff_t>(i + 1) * r.cols));
    j["witness"] = a;
    nlohmann::ordered_json seq = nlohmann::ordered_json::array();
    for (const WitnessStep& s : r.sequence)
      seq.push_back({{"epsilon", s.epsilon}, {"error", s.error}, {"norm", s.norm},
                     {"factors", s.factors}});
    j["sequence"] = seq;
  }
  if (!r.note.empty()) j["note"] = r.note;
  j["seconds"] = r.seconds;
  return j;
}

}  // namespace nnscape
