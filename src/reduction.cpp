#include "nnscape/reduction.hpp"

#include <cblas.h>
#include <lapack.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/error.hpp"

namespace nnscape {

// ---------------------------------------------------------------------------------------------
// Which merges are exact, per activation. Dead units (a_j = 0) and constant units (w_j = 0:
// σ(b_j) is a constant the output bias absorbs) are exact for every activation, and so are
// duplicates (σ(z) = σ(z)). Antipodal pairs need σ(−z) = −σ(z) + r with a constant r:
//   tanh, identity: odd, r = 0;  sigmoid: σ(−z) = 1 − σ(z), r = 1 (goes to the output bias);
//   softplus, GELU, SiLU (and relu, leaky_relu): σ(z) − σ(−z) = z, an affine function of x that
//   the core cannot realize (its only affine part is the constant output bias): not merged.
// sin pairs are not merged at all: analyse_redundancy matches sin neurons by frequency alone
// (biases ignored), and merging two phases needs a new amplitude and phase, which is exact
// only for m = 1 and is not implemented. identity never gets here with a real report
// (analyse_redundancy does not apply to linear networks) but its rules are the odd ones.

namespace {

struct MergeRules {
  bool pairs = true;       // duplicate (and, if antipodal, antipodal) pairs may be merged
  bool antipodal = false;  // σ(−z) = −σ(z) + antipodal_offset
  double antipodal_offset = 0.0;
};

MergeRules merge_rules(Activation a) {
  switch (a) {
    case Activation::tanh:
    case Activation::identity: return {true, true, 0.0};
    case Activation::sigmoid: return {true, true, 1.0};
    case Activation::sin: return {false, false, 0.0};
    default: return {true, false, 0.0};
  }
}

// Dense one-hidden-layer parameters: W1 (n × d), b1 (n), W2 (m × n), c (m).
struct Shallow {
  int d = 0, n = 0, m = 0;
  std::vector<double> w1, b1, w2, c;

  Shallow(const Network& net, std::span<const double> theta)
      : d(net.input_dim()), n(net.layer(0).out), m(net.output_dim()),
        w1(static_cast<std::size_t>(n) * d), b1(n), w2(static_cast<std::size_t>(m) * n), c(m) {
    net.unpack_layer(theta, 0, w1.data(), b1.data());
    net.unpack_layer(theta, 1, w2.data(), c.data());
  }
  double& w(int j, int k) { return w1[static_cast<std::size_t>(j) * d + k]; }
  double& a(int r, int j) { return w2[static_cast<std::size_t>(r) * n + j]; }
  std::vector<double> pack(const Network& net) const {
    std::vector<double> theta(static_cast<std::size_t>(net.num_params()));
    net.pack_layer(w1.data(), b1.data(), 0, theta);
    net.pack_layer(w2.data(), c.data(), 1, theta);
    return theta;
  }
};

double activation_at(Activation act, double z) {
  double s = 0.0;
  evaluate_activation(act, &z, 1, &s, nullptr, nullptr);
  return s;
}

bool has_masked_entry(const Architecture& arch) {
  for (const Mask& mask : arch.masks)
    if (std::find(mask.bits.begin(), mask.bits.end(), 0) != mask.bits.end()) return true;
  return false;
}

// Union-find with parity: sign[j] relates z_j to its parent's z (z_j = sign·z_parent).
class SignedUnionFind {
 public:
  explicit SignedUnionFind(int n) : parent_(n), sign_(n, 1) {
    std::iota(parent_.begin(), parent_.end(), 0);
  }
  // Root of j and the sign of z_j relative to the root's z.
  std::pair<int, int> find(int j) {
    int s = 1, r = j;
    while (parent_[r] != r) {
      s *= sign_[r];
      r = parent_[r];
    }
    parent_[j] = r;  // path compression keeps the composed sign
    sign_[j] = s;
    return {r, s};
  }
  // Records z_i = sg·z_j; false when that contradicts what is already known.
  bool unite(int i, int j, int sg) {
    const auto [ri, si] = find(i);
    const auto [rj, sj] = find(j);
    if (ri == rj) return si == sg * sj;
    parent_[ri] = rj;
    sign_[ri] = si * sg * sj;  // z_ri = si·z_i = si·sg·z_j = si·sg·sj·z_rj
    return true;
  }

 private:
  std::vector<int> parent_, sign_;
};

std::string join(const std::vector<int>& units) {
  std::string s;
  for (std::size_t k = 0; k < units.size(); ++k) {
    if (k) s += ',';
    s += std::to_string(units[k]);
  }
  return s;
}

Reduction refuse(std::string reason) {
  Reduction r;
  r.reason = std::move(reason);
  return r;
}

// Why this network/report pair cannot be reduced at all ("" when it can be tried).
std::string structural_refusal(const Network& net, const RedundancyReport& report) {
  if (net.num_layers() != 2)
    return net.num_layers() < 2 ? "no hidden layer"
                                : "more than one hidden layer (" +
                                      std::to_string(net.num_layers() - 1) + "): only one-hidden-"
                                      "layer networks have the exact reduction rules";
  if (has_masked_entry(net.architecture()))
    return "masked layer: merging units would need the union of their supports";
  if (!report.applicable) return "redundancy report not applicable: " + report.nearest;
  return "";
}

// The members of each core unit, representative (smallest index) first, with signs relative
// to it; ordered by representative.
struct Groups {
  std::vector<std::vector<std::pair<int, int>>> members;
  std::vector<std::string> ignored;  // pairs the activation cannot merge
  bool consistent = true;
};

// Dead first, then constant, then union-find over pairs of the remaining units: a unit's fate
// is decided once. A dead unit's (w, b) carries no function, so pairs through it do not join
// groups (its partner keeps its own fate).
Groups group_units(const RedundancyReport& report, const MergeRules& rules,
                   std::vector<UnitFate>& fate) {
  const int n = static_cast<int>(fate.size());
  std::fill(fate.begin(), fate.end(), UnitFate::core);
  for (int j : report.constant) fate.at(j) = UnitFate::constant;
  for (int j : report.dead) fate.at(j) = UnitFate::dead;
  Groups g;
  SignedUnionFind uf(n);
  auto link = [&](const NeuronPair& p, int sg, const char* kind) {
    if (fate.at(p.i) != UnitFate::core || fate.at(p.j) != UnitFate::core) return;
    if (!rules.pairs || (sg < 0 && !rules.antipodal)) {
      g.ignored.push_back(std::string(kind) + " " + std::to_string(p.i) + "," +
                          std::to_string(p.j));
      return;
    }
    if (!uf.unite(p.i, p.j, sg)) g.consistent = false;
  };
  for (const NeuronPair& p : report.duplicate) link(p, 1, "duplicate");
  for (const NeuronPair& p : report.antipodal) link(p, -1, "antipodal");
  std::vector<int> slot(n, -1);
  for (int j = 0; j < n; ++j) {
    if (fate[j] != UnitFate::core) continue;
    const auto [root, sg] = uf.find(j);
    if (slot[root] < 0) {
      slot[root] = static_cast<int>(g.members.size());
      g.members.push_back({});
    }
    g.members[slot[root]].push_back({j, sg});
  }
  for (auto& group : g.members)  // signs relative to the representative (the first member)
    if (group.front().second < 0)
      for (auto& member : group) member.second = -member.second;
  return g;
}

std::string describe(const Groups& g, const std::vector<UnitFate>& fate, Activation act) {
  std::vector<std::string> parts;
  for (const auto& group : g.members) {
    if (group.size() < 2) continue;
    const bool all_plus = std::all_of(group.begin(), group.end(),
                                      [](const auto& e) { return e.second > 0; });
    std::string s = all_plus ? "duplicate " : group.size() == 2 ? "antipodal " : "merged ";
    for (std::size_t k = 0; k < group.size(); ++k) {
      s += k ? "," : "";
      if (!all_plus && group.size() > 2 && group[k].second < 0) s += "-";
      s += std::to_string(group[k].first);
    }
    parts.push_back(std::move(s));
  }
  for (UnitFate f : {UnitFate::dead, UnitFate::constant}) {
    std::vector<int> units;
    for (std::size_t j = 0; j < fate.size(); ++j)
      if (fate[j] == f) units.push_back(static_cast<int>(j));
    if (units.empty()) continue;
    parts.push_back((f == UnitFate::dead ? "dead " : "constant ") + join(units));
  }
  for (const std::string& s : g.ignored)
    parts.push_back(s + " not merged (" + std::string(to_string(act)) + ")");
  std::string out;
  for (std::size_t k = 0; k < parts.size(); ++k) {
    if (k) out += "; ";
    out += parts[k];
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reduction. core_theta is the core point whose embedding is the orthogonal projection of the
// trained θ onto the redundant set the report named: merged units take the mean of ±(w, b) over
// their group (the nearest point with all members equal up to sign), output weights are summed
// with their signs (the embedding gives them back unchanged), dead units are dropped (embedding:
// a_j = 0, the nearest point with a dead unit j) and constant units are folded into the output
// bias with σ(b_j) at the trained b_j (embedding: w_j = 0, all else unchanged). So
// ‖embed(core_theta) − θ‖ is θ's distance to that set, never more than to any point of it.
// A unit flagged constant because it saturates on the data (|w_j| not small) is still folded at
// σ(b_j): exact as a map, but then the embedding moves w_j by its whole size.

Reduction reduce_to_core(const Network& net, std::span<const double> theta,
                         const RedundancyReport& report) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta.size()) == net.num_params(),
                "reduce_to_core: theta has " + std::to_string(theta.size()) +
                    " entries, the network " + std::to_string(net.num_params()));
  if (std::string why = structural_refusal(net, report); !why.empty()) return refuse(why);
  const Activation act = net.architecture().activation;
  Shallow full(net, theta);
  NNSCAPE_CHECK(report.neurons.size() == static_cast<std::size_t>(full.n),
                "reduce_to_core: the report describes " + std::to_string(report.neurons.size()) +
                    " hidden units, the network has " + std::to_string(full.n));
  const MergeRules rules = merge_rules(act);
  std::vector<UnitFate> fate(full.n);
  const Groups g = group_units(report, rules, fate);
  const std::string description = describe(g, fate, act);
  if (!g.consistent)
    return refuse("duplicate and antipodal findings contradict each other: " + description);
  const bool merges = std::any_of(g.members.begin(), g.members.end(),
                                  [](const auto& grp) { return grp.size() > 1; });
  const bool drops = std::any_of(fate.begin(), fate.end(),
                                 [](UnitFate f) { return f != UnitFate::core; });
  if (!merges && !drops)
    return refuse(description.empty() ? "no redundancy in the report"
                                       : "no exact reduction: " + description);
  if (g.members.empty())
    return refuse("every hidden unit is dead or constant: the core would have no hidden unit");

  Reduction r;
  r.applicable = true;
  r.description = description;
  r.core = net.architecture();
  r.core.masks.clear();
  r.core.widths[1] = static_cast<int>(g.members.size());
  const Network core_net(r.core);
  Shallow core(core_net, std::vector<double>(static_cast<std::size_t>(core_net.num_params())));
  core.c = full.c;
  r.fate = fate;
  r.unit_map.assign(full.n, -1);
  r.unit_sign.assign(full.n, 0);
  for (int k = 0; k < core.n; ++k) {
    const auto& group = g.members[k];
    r.representative.push_back(group.front().first);
    const double inv = 1.0 / static_cast<double>(group.size());
    for (auto [j, sg] : group) {
      r.unit_map[j] = k;
      r.unit_sign[j] = sg;
      for (int q = 0; q < full.d; ++q) core.w(k, q) += sg * full.w(j, q) * inv;
      core.b1[k] += sg * full.b1[j] * inv;
      for (int o = 0; o < full.m; ++o) {
        core.a(o, k) += sg * full.a(o, j);
        if (sg < 0) core.c[o] += rules.antipodal_offset * full.a(o, j);
      }
    }
  }
  for (int j = 0; j < full.n; ++j) {
    if (fate[j] != UnitFate::constant) continue;
    const double s = activation_at(act, full.b1[j]);
    for (int o = 0; o < full.m; ++o) core.c[o] += full.a(o, j) * s;
  }
  r.core_theta = core.pack(core_net);
  r.full_theta.assign(theta.begin(), theta.end());
  return r;
}

// Exact as a map: every full unit reproduces its share of the core's function, so the sums
// agree up to rounding.
std::vector<double> embed(const Network& net, const Reduction& r,
                          std::span<const double> core_theta) {
  NNSCAPE_CHECK(r.applicable, "embed: the reduction is not applicable (" + r.reason + ")");
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(r.full_theta.size()) == net.num_params() &&
                    net.num_layers() == 2,
                "embed: the reduction was made for another network");
  const Network core_net(r.core);
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(core_theta.size()) == core_net.num_params(),
                "embed: core_theta has " + std::to_string(core_theta.size()) +
                    " entries, the core network " + std::to_string(core_net.num_params()));
  const Activation act = net.architecture().activation;
  const double offset = merge_rules(act).antipodal_offset;
  Shallow full(net, r.full_theta);
  Shallow core(core_net, core_theta);
  NNSCAPE_CHECK(r.unit_map.size() == static_cast<std::size_t>(full.n) &&
                    r.representative.size() == static_cast<std::size_t>(core.n),
                "embed: the reduction's unit map does not fit the network");
  full.c = core.c;
  for (int k = 0; k < core.n; ++k)
    for (int o = 0; o < full.m; ++o) full.a(o, r.representative[k]) = core.a(o, k);
  for (int j = 0; j < full.n; ++j) {
    const int k = r.unit_map[j];
    if (k >= 0) {
      const int sg = r.unit_sign[j];
      for (int q = 0; q < full.d; ++q) full.w(j, q) = sg * core.w(k, q);
      full.b1[j] = sg * core.b1[k];
      if (j == r.representative[k]) continue;
      // A member keeps its trained output weights; the representative gives them back.
      for (int o = 0; o < full.m; ++o) {
        full.a(o, r.representative[k]) -= sg * full.a(o, j);
        if (sg < 0) full.c[o] -= offset * full.a(o, j);
      }
    } else if (r.fate[j] == UnitFate::dead) {
      for (int o = 0; o < full.m; ++o) full.a(o, j) = 0.0;
    } else {
      for (int q = 0; q < full.d; ++q) full.w(j, q) = 0.0;
      const double s = activation_at(act, full.b1[j]);
      for (int o = 0; o < full.m; ++o) full.c[o] -= full.a(o, j) * s;
    }
  }
  return full.pack(net);
}

// ---------------------------------------------------------------------------------------------
// Jacobian rank. J is built by reverse mode for any depth and any masks: for output o, the
// sensitivities δ_l = ∂f_o/∂Z_l of all samples at once (δ_{L−1} = e_o, δ_{l−1} =
// (δ_l W_l) ⊙ σ'(Z_{l−1})) give ∂f_o(x_i)/∂W_l[r, c] = δ_l[i, r]·A_{l−1}[i, c] and
// ∂f_o(x_i)/∂b_l[r] = δ_l[i, r]; only free entries become columns. For one hidden layer this is
// the closed form (σ(z_ik), 1, W2[o,k] σ'(z_ik) x_ic, W2[o,k] σ'(z_ik)). m backward sweeps cost
// about as much as filling J, so no special case is kept.
//
// Thresholds. The computed J differs from the exact one by a few ulps per entry (activation,
// one or two products), ‖ΔJ‖₂ ≤ ‖ΔJ‖_F ≲ few·eps·‖J‖_F ≤ few·eps·√(N·m)·σ_max, and the SVD adds a
// backward error p·eps·σ_max with p modest; so σ_i ≤ c·eps·σ_max·√(N·m) with c = 10 is
// indistinguishable from 0 (Weyl). Measured (reduction_test): true zeros sit at ≤ 1e−15·σ_max,
// i.e. ~1e−3 of the bound. The nonzero threshold is 1e3 times that: with N·m ~ 4000 it is
// ~1.4e−10·σ_max, far below the smallest genuine σ of badly conditioned teachers (H with
// condition 1e9 has σ_min/σ_max(J) ≈ 3e−5) and far above round-off. Values in between are
// near-zero directions no fixed rule can place (near, not on, a redundancy): undecided.

namespace {

constexpr double kZeroBoundFactor = 10.0;
constexpr double kNonzeroFactor = 1e3;

// Column-major J (N·m rows, P columns).
std::vector<double> output_jacobian(const Network& net, const Dataset& data,
                                    std::span<const double> theta) {
  const int L = net.num_layers(), N = data.n, m = net.output_dim();
  const std::size_t rows = static_cast<std::size_t>(N) * m;
  const Activation act = net.architecture().activation;
  std::vector<std::vector<double>> w(L), a(L), ds(L);  // a[l] = σ(Z_l), ds[l] = σ'(Z_l)
  for (int l = 0; l < L; ++l) {
    const LayerLayout& ly = net.layer(l);
    std::vector<double> b(ly.out), z(static_cast<std::size_t>(N) * ly.out);
    w[l].resize(static_cast<std::size_t>(ly.out) * ly.in);
    net.unpack_layer(theta, l, w[l].data(), b.data());
    if (l + 1 == L) break;
    for (int i = 0; i < N; ++i)
      std::copy(b.begin(), b.end(), z.begin() + std::ptrdiff_t{i} * ly.out);
    const double* in = l == 0 ? data.x.data() : a[l - 1].data();
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, ly.out, ly.in, 1.0, in, ly.in,
                w[l].data(), ly.in, 1.0, z.data(), ly.out);
    a[l].resize(z.size());
    ds[l].resize(z.size());
    evaluate_activation(act, z.data(), z.size(), a[l].data(), ds[l].data(), nullptr);
  }
  std::vector<double> jac(rows * static_cast<std::size_t>(net.num_params()), 0.0);
  for (int o = 0; o < m; ++o) {
    std::vector<double> delta(static_cast<std::size_t>(N) * m, 0.0);
    for (int i = 0; i < N; ++i) delta[static_cast<std::size_t>(i) * m + o] = 1.0;
    for (int l = L - 1; l >= 0; --l) {
      const LayerLayout& ly = net.layer(l);
      const double* in = l == 0 ? data.x.data() : a[l - 1].data();
      for (std::size_t q = 0; q < ly.free_entries.size(); ++q) {
        const int rr = ly.free_entries[q] / ly.in, cc = ly.free_entries[q] % ly.in;
        double* col = jac.data() + (ly.weight_offset + q) * rows;
        for (int i = 0; i < N; ++i)
          col[static_cast<std::size_t>(i) * m + o] =
              delta[static_cast<std::size_t>(i) * ly.out + rr] *
              in[static_cast<std::size_t>(i) * ly.in + cc];
      }
      for (int rr = 0; rr < ly.out; ++rr) {
        double* col = jac.data() + (ly.bias_offset + rr) * rows;
        for (int i = 0; i < N; ++i)
          col[static_cast<std::size_t>(i) * m + o] =
              delta[static_cast<std::size_t>(i) * ly.out + rr];
      }
      if (l == 0) break;
      std::vector<double> next(static_cast<std::size_t>(N) * ly.in);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, ly.in, ly.out, 1.0, delta.data(),
                  ly.out, w[l].data(), ly.in, 0.0, next.data(), ly.in);
      for (std::size_t e = 0; e < next.size(); ++e) next[e] *= ds[l - 1][e];
      delta = std::move(next);
    }
  }
  return jac;
}

// Singular values (descending) of a column-major rows × cols matrix, destroyed on the way.
std::vector<double> singular_values(std::vector<double>& a, lapack_int rows, lapack_int cols) {
  const lapack_int k = std::min(rows, cols), one = 1;
  std::vector<double> s(static_cast<std::size_t>(k));
  if (k == 0) return s;
  std::vector<lapack_int> iwork(8 * static_cast<std::size_t>(k));
  const char jobz = 'N';
  double query = 0.0, u = 0.0, vt = 0.0;
  lapack_int lwork = -1, info = 0;
  LAPACK_dgesdd(&jobz, &rows, &cols, a.data(), &rows, s.data(), &u, &one, &vt, &one, &query,
                &lwork, iwork.data(), &info);
  NNSCAPE_CHECK(info == 0, "jacobian_rank: dgesdd workspace query failed");
  lwork = std::max<lapack_int>(static_cast<lapack_int>(query), 1);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  LAPACK_dgesdd(&jobz, &rows, &cols, a.data(), &rows, s.data(), &u, &one, &vt, &one, work.data(),
                &lwork, iwork.data(), &info);
  NNSCAPE_CHECK(info == 0, "jacobian_rank: dgesdd failed (info " + std::to_string(info) + ")");
  return s;
}

}  // namespace

JacobianRank jacobian_rank(const Network& net, const Dataset& data, std::span<const double> theta) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta.size()) == net.num_params(),
                "jacobian_rank: theta has " + std::to_string(theta.size()) +
                    " entries, the network " + std::to_string(net.num_params()));
  NNSCAPE_CHECK(data.d == net.input_dim() && data.m == net.output_dim() && data.n >= 1 &&
                    data.x.size() == static_cast<std::size_t>(data.n) * data.d,
                "jacobian_rank: data dimensions do not match the network");
  const std::ptrdiff_t P = net.num_params();
  const std::ptrdiff_t rows = std::ptrdiff_t{data.n} * data.m;
  // J is dense: refuse sizes that cannot be held (and would overflow LAPACK's 32-bit indices).
  constexpr std::ptrdiff_t kMaxEntries = std::ptrdiff_t{1} << 28;  // 2 GiB of doubles
  NNSCAPE_CHECK(rows <= kMaxEntries / std::max<std::ptrdiff_t>(P, 1),
                "jacobian_rank: J would be " + std::to_string(rows) + " × " + std::to_string(P) +
                    ", more than 2^28 entries");
  std::vector<double> jac = output_jacobian(net, data, theta);
  const std::vector<double> s = singular_values(jac, static_cast<lapack_int>(rows),
                                                static_cast<lapack_int>(P));
  JacobianRank out;
  out.sigma_max = s.empty() ? 0.0 : s.front();
  out.zero_bound = kZeroBoundFactor * std::numeric_limits<double>::epsilon() * out.sigma_max *
                   std::sqrt(static_cast<double>(rows));
  out.nonzero_bound = kNonzeroFactor * out.zero_bound;
  // A wide J (P > N·m) has P − N·m singular values that are exactly 0.
  int zeros = static_cast<int>(std::max<std::ptrdiff_t>(P - rows, 0));
  for (double v : s) {
    if (v > out.nonzero_bound) {
      out.smallest_nonzero = v;  // descending: the last one wins
    } else {
      out.largest_zero = std::max(out.largest_zero, v);
      ++zeros;
      if (v > out.zero_bound) ++out.undecided;
    }
  }
  out.nullity = zeros;
  out.certain = out.undecided == 0;
  return out;
}

}  // namespace nnscape
