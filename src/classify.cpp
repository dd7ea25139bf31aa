#include "nnscape/classify.hpp"

#include <cblas.h>
#include <lapack.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/error.hpp"

namespace nnscape {

std::string_view to_string(PointType t) {
  switch (t) {
    case PointType::strict_min: return "strict_min";
    case PointType::degenerate_min: return "degenerate_min";
    case PointType::saddle: return "saddle";
    case PointType::not_converged: return "not_converged";
    case PointType::diverged: return "diverged";
    case PointType::failed_numerics: return "failed_numerics";
  }
  throw Error("to_string: invalid PointType value " + std::to_string(static_cast<int>(t)));
}

// Counts are used only when the gap rule certified them (all ≥ 0 and `certain`): an uncertain
// split may have put a round-off zero among the negatives or a tiny genuine eigenvalue among the
// zeros. Without them only the extremes speak, and only when they clear tol·|λ|max; everything
// in between is degenerate_min, meaning "a converged point not shown to be strict", which keeps
// strict_min a certified statement.
PointType classify_point(const PointEvidence& e, double tol) {
  if (e.nonfinite) return PointType::failed_numerics;
  if (e.diverged) return PointType::diverged;
  if (!e.converged) return PointType::not_converged;
  const Inertia& h = e.hessian;
  if (h.n_neg >= 0 && h.n_zero >= 0 && h.n_pos >= 0 && h.certain) {
    if (h.n_neg > 0) return PointType::saddle;
    if (h.n_zero > 0) return PointType::degenerate_min;
    return PointType::strict_min;
  }
  if (std::isfinite(e.lambda_min) && std::isfinite(e.lambda_max)) {
    const double s = std::max(std::abs(e.lambda_min), std::abs(e.lambda_max));
    if (e.lambda_min < -tol * s) return PointType::saddle;
    if (e.lambda_min > tol * s) return PointType::strict_min;
  }
  return PointType::degenerate_min;
}

// ---------------------------------------------------------------------------------------------
// Redundancy (papers.md, Paper A). Notation for one hidden layer: neuron j has input weights
// w_j (row j of W_1), bias b_j, output weights a_j (column j of W_2, length m), pre-activation
// z_j(x) = w_j·x + b_j. All measures are dimensionless and computed over the data set:
//
//   feature size  g_j = RMS_x sqrt(σ(z_j)² + σ'(z_j)²(1 + ‖x‖²)): the size of neuron j's
//                 columns of the Jacobian J per unit output weight (∂f/∂a_j = σ(z_j),
//                 ∂f/∂(w_j,b_j) = a_j σ'(z_j)(x,1)).
//   output scale  S = max(RMS_x ‖y‖, RMS_x ‖f(x)‖) (1 if both vanish).
//   dead          ‖a_j‖·g_j / S: the neuron's reach into the output, relative to the output.
//                 The σ' term keeps it away from 0 when σ(z_j) ≡ 0 (tanh with w_j = b_j = 0,
//                 which is a constant neuron with a_j ≠ 0, not a dead one).
//   flat          std_x σ(z_j) / g_j: how much of the neuron's output varies over the data.
//                 0 at w_j = 0 and for neurons saturated on the data; independent of a_j, so a
//                 dead neuron is not "constant" merely because a_j = 0. (Multiplying by ‖a_j‖/S
//                 would give the function-space size of its varying part instead, which is 0
//                 for every dead neuron and so cannot tell the two apart.)
//   pair          RMS_x (z_i ∓ z_j) / max(RMS_x z_i, RMS_x z_j): pre-activations over the data,
//                 i.e. ‖(w_i,b_i) ∓ (w_j,b_j)‖ in the metric of the data's second moments.
//                 sin: std_x((w_i ∓ w_j)·x) / max(std_x w_i·x, std_x w_j·x), biases ignored
//                 (sin(z + c) = cos c·sin z + sin c·cos z: same frequency ⇒ merge, papers.md).
// These are parameter-side distances in data units, so near a redundancy the Hessian's small
// eigenvalues scale like their squares. Pairs are formed only among non-flat neurons (a flat
// neuron's pre-activation carries no information and is already a redundancy of its own).
//
// Antipodal pairs: tanh (odd), sigmoid (σ(−z) = 1 − σ(z), the 1 goes to the output bias) and
// sin (sin(−z) = −sin z) merge like duplicates. For softplus, GELU and SiLU σ(z) − σ(−z) = z, so
// an antipodal pair realizes one neuron plus a linear function, which no single neuron (and no
// output bias) produces: not a redundancy in papers.md's sense. Such pairs are listed under
// `antipodal` but do not make the point redundant and do not enter `distance`. They are not
// harmless, though: the linear part lives in span{1, x}, which the output bias and the pair's
// own (w, b)-columns also reach, so J loses rank (2 zeros of G for m = 1, measured) although no
// fibre exists; predicted_nullity counts them, predicted_nullity_h does not.
//
// Predicted nullity of G = (2/N)JᵀJ = dim ker J. papers.md gives one count per redundancy
// (dead d+1, constant m+1, duplicate pair m + (d+1 if a_i ∥ a_j), i.e. d+2 for m = 1). Rather than
// adding those up (wrong where redundancies share functions: two constant neurons share the
// columns a σ'(b) x, m = 1: d more zeros; a dead neuron duplicating a live one: m more), we
// compute dim ker J exactly for the idealized point: every column of J is written in a basis of
// "atoms", functions assumed linearly independent over the data (the genericity papers.md
// assumes, N·m ≫ P), with each redundancy snapped to its exact form:
//   affine atoms 1, x_1..x_d (shared by all neurons and the output bias);
//   per group of non-flat neurons linked by duplicate/antipodal pairs, with z = z_root:
//     σ(z), σ'(z), σ'(z)x_k; a member z_i = −z contributes through σ(−z) = pσ(z) + q z + r and
//     σ'(−z) = uσ'(z) + v (tanh: p=−1; sigmoid: p=−1, r=1; softplus/GELU/SiLU: p=1, q=−1, u=−1,
//     v=1; z itself is affine in x);
//   per sin group with frequency ω = w_root: sin ω·x, cos ω·x, x_k sin ω·x, x_k cos ω·x, each
//     member at its own phase c_i = b_i + mean(x)·(w_i ∓ ω);
//   flat neurons: σ(z_j), σ'(z_j) replaced by their means (constants).
// Columns are weighted by the atoms' RMS over the data and normalized, except that a neuron's
// (w, b)-columns are exactly 0 when ‖a_j‖·RMS(σ'(z_j)·|(x,1)|)/S < tol (dead, or flat by
// saturation) and its a-columns when RMS σ(z_j) < tol·g_j. Rank = singular values > tol, taken
// group by group (block structure: groups meet only in the affine atoms). For single redundancies
// this reproduces papers.md's counts; tests/classify_test.cpp checks each count, single and
// combined, against the zero count of the exact Hessian at zero-loss fits. Near-redundant neurons
// (distance ~1e-2, far above tol) still add genuine eigenvalues down to ~1e-14·λmax there, which
// no gap rule separates from zeros: compare with measurements only when the distance is large.
//
// Predicted nullity of H at a critical point with non-zero residual: only exact fibre directions
// stay flat (papers.md): m+1 per flat neuron, d+1 per other dead neuron, (k−1)·m per group of k
// duplicates/merging antipodes; sin groups (a·sin(ωx+φ) families fill span{sin, cos}) 2(k−1)
// for m = 1, unknown (-1) for m > 1. Where two fibres cross (a dead neuron duplicating another)
// the residual's cross terms may leave fewer zeros than this sum.
//
// Not predicted (-1): masked networks (a masked entry is not a parameter, and the atoms above
// assume dense rows w_j and columns a_j); deeper networks; non-applicable activations.
// Deeper networks with an applicable activation: each hidden layer is measured the same way with
// the next layer's pre-activations as "output"; the lists stay empty (they index one layer) and
// `redundant` is then only sufficient: a dead, constant or duplicate neuron in any layer makes the
// realization producible with fewer neurons, but deep networks have other redundancies.

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Antipodal pairs that merge into one neuron (papers.md); the softplus family's do not.
bool antipodal_merges(Activation a) {
  return a == Activation::tanh || a == Activation::sigmoid || a == Activation::sin;
}

// Why the theory does not apply, or "" when it does.
std::string not_applicable_reason(Activation a) {
  switch (a) {
    case Activation::identity:
      return "not applicable: identity (linear network; W2·W1 = (W2·A⁻¹)(A·W1), minima never "
             "isolated)";
    case Activation::square:
      return "not applicable: square (polynomial activation, excluded by the theory)";
    case Activation::relu:
    case Activation::leaky_relu:
      return "not applicable: " + std::string(to_string(a)) + " (not analytic)";
    default:
      return "";
  }
}

double norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double e : v) s += e * e;
  return std::sqrt(s);
}

double rms(const std::vector<double>& v, int rows) {
  double s = 0.0;
  for (double e : v) s += e * e;
  return rows > 0 ? std::sqrt(s / rows) : 0.0;
}

// sqrt(vᵀ A v) for a symmetric positive semidefinite k × k matrix A (rounding clamped).
double metric_norm(const std::vector<double>& a, const std::vector<double>& v) {
  const std::size_t k = v.size();
  double s = 0.0;
  for (std::size_t r = 0; r < k; ++r) {
    double row = 0.0;
    for (std::size_t c = 0; c < k; ++c) row += a[r * k + c] * v[c];
    s += v[r] * row;
  }
  return std::sqrt(std::max(s, 0.0));
}

// Rank (singular values > tol) of the matrix whose columns are `cols` (all of length rows);
// when `null_space` is given, it receives the right singular vectors beyond the rank.
int svd_rank(const std::vector<std::vector<double>>& cols, std::size_t rows, double tol,
             std::vector<std::vector<double>>* null_space = nullptr) {
  const std::size_t nc = cols.size();
  if (null_space) null_space->clear();
  if (nc == 0) return 0;
  if (rows == 0) {
    if (null_space)
      for (std::size_t i = 0; i < nc; ++i) {
        std::vector<double> e(nc, 0.0);
        e[i] = 1.0;
        null_space->push_back(std::move(e));
      }
    return 0;
  }
  std::vector<double> a(rows * nc);  // column-major
  for (std::size_t c = 0; c < nc; ++c) std::copy(cols[c].begin(), cols[c].end(), a.begin() + c * rows);
  const lapack_int m = static_cast<lapack_int>(rows), n = static_cast<lapack_int>(nc);
  const lapack_int ldu = 1, ldvt = n;
  const char jobu = 'N', jobvt = null_space ? 'A' : 'N';
  std::vector<double> s(std::min(rows, nc)), vt(null_space ? nc * nc : 1), u(1);
  lapack_int info = 0, lwork = -1;
  double query = 0.0;
  LAPACK_dgesvd(&jobu, &jobvt, &m, &n, a.data(), &m, s.data(), u.data(), &ldu, vt.data(), &ldvt,
                &query, &lwork, &info);
  NNSCAPE_CHECK(info == 0, "analyse_redundancy: dgesvd workspace query failed");
  lwork = std::max<lapack_int>(static_cast<lapack_int>(query), 1);
  std::vector<double> work(static_cast<std::size_t>(lwork));
  LAPACK_dgesvd(&jobu, &jobvt, &m, &n, a.data(), &m, s.data(), u.data(), &ldu, vt.data(), &ldvt,
                work.data(), &lwork, &info);
  NNSCAPE_CHECK(info == 0, "analyse_redundancy: dgesvd failed (info " + std::to_string(info) + ")");
  int rank = 0;
  for (double v : s) rank += v > tol;
  if (null_space)
    for (std::size_t i = static_cast<std::size_t>(rank); i < nc; ++i) {
      std::vector<double> v(nc);
      for (std::size_t c = 0; c < nc; ++c) v[c] = vt[i + c * nc];  // row i of VT
      null_space->push_back(std::move(v));
    }
  return rank;
}

// One hidden layer seen from its input h (N × n_in) to the next pre-activation (m values).
struct LayerView {
  int N = 0, n_in = 0, n = 0, m = 0;
  const double* h = nullptr;      // N × n_in
  const double* z = nullptr;      // N × n, pre-activations of this layer
  std::vector<double> w, b, a;    // n × n_in, n, m × n (dense)
  double scale = 1.0;             // S
};

struct PairMeasure {
  int i = 0, j = 0;
  double dup = 0.0, anti = 0.0;
};

struct LayerMeasures {
  std::vector<NeuronMeasure> neurons;
  std::vector<double> feature;    // g_j
  std::vector<double> out_rms;    // RMS_x σ(z_j)
  std::vector<double> in_reach;   // RMS_x |σ'(z_j)|·|(h, 1)|
  std::vector<double> mean_s, mean_ds;  // means of σ(z_j), σ'(z_j)
  std::vector<double> a_norm;     // ‖a_j‖
  std::vector<PairMeasure> pairs;  // all i < j
  std::vector<double> mean, h_rms;  // per input coordinate over the data
};

LayerMeasures measure_layer(Activation act, const LayerView& L) {
  const int N = L.N, k = L.n_in;
  LayerMeasures out;
  // Moments of the inputs: second moment of (h, 1) and covariance of h.
  std::vector<double> mean(k, 0.0), sq(k, 0.0), second((k + 1) * (k + 1), 0.0), cov(k * k, 0.0);
  std::vector<double> hn2(N);
  for (int i = 0; i < N; ++i) {
    const double* hi = L.h + static_cast<std::size_t>(i) * k;
    double s = 0.0;
    for (int c = 0; c < k; ++c) {
      mean[c] += hi[c];
      sq[c] += hi[c] * hi[c];
      s += hi[c] * hi[c];
    }
    hn2[i] = s;
  }
  for (int c = 0; c < k; ++c) {
    mean[c] /= N;
    sq[c] = std::sqrt(sq[c] / N);
  }
  for (int i = 0; i < N; ++i) {
    const double* hi = L.h + static_cast<std::size_t>(i) * k;
    for (int r = 0; r <= k; ++r) {
      const double hr = r < k ? hi[r] : 1.0;
      for (int c = 0; c <= k; ++c) second[r * (k + 1) + c] += hr * (c < k ? hi[c] : 1.0);
    }
    for (int r = 0; r < k; ++r)
      for (int c = 0; c < k; ++c) cov[r * k + c] += (hi[r] - mean[r]) * (hi[c] - mean[c]);
  }
  for (double& e : second) e /= N;
  for (double& e : cov) e /= N;

  std::vector<double> z(N), s(N), ds(N);
  for (int j = 0; j < L.n; ++j) {
    for (int i = 0; i < N; ++i) z[i] = L.z[static_cast<std::size_t>(i) * L.n + j];
    evaluate_activation(act, z.data(), N, s.data(), ds.data(), nullptr);
    double ms = 0.0, mds = 0.0;
    for (int i = 0; i < N; ++i) {
      ms += s[i];
      mds += ds[i];
    }
    ms /= N;
    mds /= N;
    double var = 0.0, s2 = 0.0, in2 = 0.0;
    for (int i = 0; i < N; ++i) {
      var += (s[i] - ms) * (s[i] - ms);
      s2 += s[i] * s[i];
      in2 += ds[i] * ds[i] * (1.0 + hn2[i]);
    }
    const double g = std::sqrt((s2 + in2) / N);
    double an = 0.0;
    for (int r = 0; r < L.m; ++r) {
      const double e = L.a[static_cast<std::size_t>(r) * L.n + j];
      an += e * e;
    }
    an = std::sqrt(an);
    NeuronMeasure nm;
    nm.dead = an * g / L.scale;
    nm.flat = g > 0.0 ? std::sqrt(var / N) / g : 0.0;
    std::vector<double> wj(L.w.begin() + static_cast<std::ptrdiff_t>(j) * k,
                           L.w.begin() + static_cast<std::ptrdiff_t>(j + 1) * k);
    nm.input_spread = metric_norm(cov, wj);
    out.neurons.push_back(nm);
    out.feature.push_back(g);
    out.out_rms.push_back(std::sqrt(s2 / N));
    out.in_reach.push_back(std::sqrt(in2 / N));
    out.mean_s.push_back(ms);
    out.mean_ds.push_back(mds);
    out.a_norm.push_back(an);
  }

  // Pairs in the data metric: (w, b) with the second moments, or w alone with the covariance
  // for sin (biases merge there).
  const bool sin_like = act == Activation::sin;
  const std::vector<double>& metric = sin_like ? cov : second;
  const int len = sin_like ? k : k + 1;
  auto params = [&](int j) {
    std::vector<double> t(len);
    for (int c = 0; c < k; ++c) t[c] = L.w[static_cast<std::size_t>(j) * k + c];
    if (!sin_like) t[k] = L.b[j];
    return t;
  };
  std::vector<double> size(L.n);
  for (int j = 0; j < L.n; ++j) size[j] = metric_norm(metric, params(j));
  for (int i = 0; i < L.n; ++i)
    for (int j = i + 1; j < L.n; ++j) {
      const auto ti = params(i), tj = params(j);
      std::vector<double> dm(len), dp(len);
      for (int c = 0; c < len; ++c) {
        dm[c] = ti[c] - tj[c];
        dp[c] = ti[c] + tj[c];
      }
      const double den = std::max(size[i], size[j]);
      PairMeasure p;
      p.i = i;
      p.j = j;
      p.dup = den > 0.0 ? metric_norm(metric, dm) / den : 0.0;
      p.anti = den > 0.0 ? metric_norm(metric, dp) / den : 0.0;
      out.pairs.push_back(p);
    }
  out.mean = std::move(mean);
  out.h_rms = std::move(sq);
  return out;
}

struct Nearest {
  double distance = std::numeric_limits<double>::infinity();
  std::string what;
  void offer(double d, const std::string& w) {
    if (d < distance) {
      distance = d;
      what = w;
    }
  }
};

// Distance candidates of one layer (prefix names the layer for deep networks).
void offer_layer(const LayerMeasures& lm, Activation act, double tol, const std::string& prefix,
                 Nearest& nearest) {
  for (std::size_t j = 0; j < lm.neurons.size(); ++j) {
    nearest.offer(lm.neurons[j].dead, prefix + "dead " + std::to_string(j));
    nearest.offer(lm.neurons[j].flat, prefix + "constant " + std::to_string(j));
  }
  for (const PairMeasure& p : lm.pairs) {
    if (lm.neurons[p.i].flat < tol || lm.neurons[p.j].flat < tol) continue;
    const std::string ij = std::to_string(p.i) + "," + std::to_string(p.j);
    nearest.offer(p.dup, prefix + "duplicate " + ij);
    if (antipodal_merges(act)) nearest.offer(p.anti, prefix + "antipodal " + ij);
  }
}

// Connected components of the pair graph over non-flat neurons, each member with its sign
// relative to the first one (−1 across an antipodal link).
std::vector<std::vector<std::pair<int, int>>> neuron_groups(const LayerMeasures& lm, double tol,
                                                            bool with_antipodes) {
  const int n = static_cast<int>(lm.neurons.size());
  std::vector<std::vector<std::pair<int, int>>> adj(n), groups;
  auto flat = [&](int j) { return lm.neurons[j].flat < tol; };
  for (const PairMeasure& p : lm.pairs) {
    if (flat(p.i) || flat(p.j)) continue;
    int sg = 0;
    if (p.dup < tol) sg = 1;
    else if (p.anti < tol && with_antipodes) sg = -1;
    if (sg == 0) continue;
    adj[p.i].push_back({p.j, sg});
    adj[p.j].push_back({p.i, sg});
  }
  std::vector<int> sign(n, 0);
  for (int root = 0; root < n; ++root) {
    if (flat(root) || sign[root] != 0) continue;
    std::vector<std::pair<int, int>> g{{root, 1}};
    sign[root] = 1;
    for (std::size_t q = 0; q < g.size(); ++q)
      for (auto [v, sg] : adj[g[q].first])
        if (sign[v] == 0) {
          sign[v] = sign[g[q].first] * sg;
          g.push_back({v, sign[v]});
        }
    groups.push_back(std::move(g));
  }
  return groups;
}

// dim ker J of the idealized point (the atoms of the comment at the top of this section).
int predict_nullity_g(Activation act, const LayerView& L, const LayerMeasures& lm, double tol) {
  const int n = L.n, m = L.m, d = L.n_in, N = L.N;
  const std::size_t aff = static_cast<std::size_t>(d + 1) * m;  // affine rows: atom·m + output
  auto a_of = [&](int j, int r) { return L.a[static_cast<std::size_t>(r) * n + j]; };
  auto w_of = [&](int j, int c) { return L.w[static_cast<std::size_t>(j) * d + c]; };
  auto zero_in = [&](int j) { return lm.a_norm[j] * lm.in_reach[j] / L.scale < tol; };
  auto zero_out = [&](int j) { return !(lm.out_rms[j] >= tol * lm.feature[j]); };
  // Affine atom weights: RMS of 1 and of x_k.
  std::vector<double> aff_w(d + 1, 1.0);
  for (int c = 0; c < d; ++c) aff_w[c + 1] = lm.h_rms[c];
  auto finish = [&](std::vector<double>& col, bool zero) {
    const double nv = norm(col);
    for (double& e : col) e = (zero || nv == 0.0) ? 0.0 : e / nv;
  };

  std::vector<std::vector<double>> affine_cols;
  int rank = 0;
  const bool sin_like = act == Activation::sin;
  for (const auto& group : neuron_groups(lm, tol, /*with_antipodes=*/true)) {
    const int root = group.front().first;
    // Group atoms over the data, from the root's pre-activation (sin: its frequency only).
    const int T = sin_like ? 2 + 2 * d : 2 + d;
    std::vector<double> atom_w(T, 0.0), zr(N), s(N), ds(N);
    for (int i = 0; i < N; ++i) zr[i] = L.z[static_cast<std::size_t>(i) * n + root];
    if (sin_like)
      for (double& e : zr) e -= L.b[root];
    evaluate_activation(act, zr.data(), N, s.data(), ds.data(), nullptr);
    // sin: s = sin ωx, ds = cos ωx.
    for (int i = 0; i < N; ++i) {
      const double* hi = L.h + static_cast<std::size_t>(i) * d;
      atom_w[0] += s[i] * s[i];
      atom_w[1] += ds[i] * ds[i];
      for (int c = 0; c < d; ++c) {
        atom_w[2 + c] += ds[i] * ds[i] * hi[c] * hi[c];
        if (sin_like) atom_w[2 + d + c] += s[i] * s[i] * hi[c] * hi[c];
      }
    }
    for (double& e : atom_w) e = std::sqrt(e / N);
    // Row layout of a column: group atoms (T·m), then affine atoms ((d+1)·m).
    const std::size_t top = static_cast<std::size_t>(T) * m, rows = top + aff;
    auto at = [&](std::vector<double>& col, int atom, int r) -> double& {
      return col[static_cast<std::size_t>(atom) * m + r];
    };
    auto af = [&](std::vector<double>& col, int atom, int r) -> double& {
      return col[top + static_cast<std::size_t>(atom) * m + r];
    };
    std::vector<std::vector<double>> cols;
    for (auto [j, sg] : group) {
      // Coefficients of σ(z_j) and σ'(z_j) (tanh/sigmoid/softplus family), or the phase (sin).
      double p = 1, q = 0, r0 = 0, u = 1, v = 0, cph = 0;
      if (sin_like) {
        cph = L.b[j];
        for (int c = 0; c < d; ++c) cph += lm.mean[c] * (w_of(j, c) - sg * w_of(root, c));
      } else if (sg < 0) {
        if (act == Activation::tanh) {
          p = -1;
        } else if (act == Activation::sigmoid) {
          p = -1;
          r0 = 1;
        } else {  // softplus, gelu, silu: σ(−z) = σ(z) − z, σ'(−z) = 1 − σ'(z)
          q = -1;
          u = -1;
          v = 1;
        }
      }
      const double cs = std::cos(cph), sn = std::sin(cph);
      for (int r = 0; r < m; ++r) {  // ∂f/∂a_j,r = σ(z_j) e_r
        std::vector<double> col(rows, 0.0);
        if (sin_like) {  // sin(sg·ωx + c) = sg·cos c·sin ωx + sin c·cos ωx
          at(col, 0, r) = sg * cs;
          at(col, 1, r) = sn;
        } else {  // pσ(z) + q z + r0, z = w_root·x + b_root
          at(col, 0, r) = p;
          af(col, 0, r) = q * L.b[root] + r0;
          for (int c = 0; c < d; ++c) af(col, c + 1, r) = q * w_of(root, c);
        }
        cols.push_back(std::move(col));
        finish(cols.back(), zero_out(j));
      }
      for (int c = -1; c < d; ++c) {  // ∂f/∂b_j (c = −1) and ∂f/∂w_j,c = σ'(z_j)(1 or x_c) a_j
        std::vector<double> col(rows, 0.0);
        for (int r = 0; r < m; ++r) {
          const double ar = a_of(j, r);
          if (sin_like) {  // cos(sg·ωx + c) = cos c·cos ωx − sg·sin c·sin ωx
            at(col, c < 0 ? 0 : 2 + d + c, r) = -sg * sn * ar;
            at(col, c < 0 ? 1 : 2 + c, r) = cs * ar;
          } else {
            at(col, c < 0 ? 1 : 2 + c, r) = u * ar;
            af(col, c + 1, r) = v * ar;
          }
        }
        cols.push_back(std::move(col));
        finish(cols.back(), zero_in(j));
      }
    }
    for (auto& col : cols) {
      for (std::size_t i = 0; i < top; ++i) col[i] *= atom_w[i / m];
      for (std::size_t i = 0; i < aff; ++i) col[top + i] *= aff_w[i / m];
    }
    // Normalize after weighting, keeping the zeros decided above.
    for (auto& col : cols) finish(col, false);
    std::vector<std::vector<double>> tops, nulls;
    for (const auto& col : cols) tops.emplace_back(col.begin(), col.begin() + static_cast<std::ptrdiff_t>(top));
    rank += svd_rank(tops, top, tol, &nulls);
    for (const auto& nv : nulls) {
      std::vector<double> col(aff, 0.0);
      for (std::size_t c = 0; c < cols.size(); ++c)
        for (std::size_t i = 0; i < aff; ++i) col[i] += nv[c] * cols[c][top + i];
      affine_cols.push_back(std::move(col));
    }
  }
  // Flat neurons: σ(z_j) and σ'(z_j) are constants on the data.
  for (int j = 0; j < n; ++j) {
    if (!(lm.neurons[j].flat < tol)) continue;
    for (int r = 0; r < m; ++r) {
      std::vector<double> col(aff, 0.0);
      col[r] = lm.mean_s[j];
      finish(col, zero_out(j));
      affine_cols.push_back(std::move(col));
    }
    for (int c = -1; c < d; ++c) {
      std::vector<double> col(aff, 0.0);
      for (int r = 0; r < m; ++r)
        col[static_cast<std::size_t>(c + 1) * m + r] = lm.mean_ds[j] * a_of(j, r) * aff_w[c + 1];
      finish(col, zero_in(j));
      affine_cols.push_back(std::move(col));
    }
  }
  for (int r = 0; r < m; ++r) {  // output bias
    std::vector<double> col(aff, 0.0);
    col[r] = 1.0;
    affine_cols.push_back(std::move(col));
  }
  rank += svd_rank(affine_cols, aff, tol);
  const int p = n * (d + 1) + m * n + m;
  return p - rank;
}

// Exact fibre directions only (papers.md), for H at a critical point with non-zero residual.
int predict_nullity_h(Activation act, const LayerView& L, const LayerMeasures& lm, double tol) {
  const int m = L.m, d = L.n_in;
  int h = 0;
  for (const NeuronMeasure& nm : lm.neurons) {
    if (nm.flat < tol) h += m + 1;
    else if (nm.dead < tol) h += d + 1;
  }
  for (const auto& group : neuron_groups(lm, tol, antipodal_merges(act))) {
    const int k = static_cast<int>(group.size());
    if (act != Activation::sin) {
      h += (k - 1) * m;
    } else if (k > 1) {
      if (m > 1) return -1;
      h += 2 * (k - 1);
    }
  }
  return h;
}

}  // namespace

RedundancyReport analyse_redundancy(const Network& net, std::span<const double> theta,
                                    const Dataset& data, const RedundancyTolerance& tol) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta.size()) == net.num_params(),
                "analyse_redundancy: theta has " + std::to_string(theta.size()) +
                    " entries, the network " + std::to_string(net.num_params()));
  NNSCAPE_CHECK(data.d == net.input_dim() && data.m == net.output_dim(),
                "analyse_redundancy: data dimensions do not match the network");
  NNSCAPE_CHECK(data.n >= 1 && data.x.size() == static_cast<std::size_t>(data.n) * data.d &&
                    data.y.size() == static_cast<std::size_t>(data.n) * data.m,
                "analyse_redundancy: data set is empty or its arrays have the wrong size");
  NNSCAPE_CHECK(tol.relative > 0.0, "analyse_redundancy: tolerance must be positive");
  const double t = tol.relative;
  const Activation act = net.architecture().activation;
  const int L = net.num_layers();
  const int N = data.n;

  RedundancyReport rep;
  const std::string reason = not_applicable_reason(act);
  if (!reason.empty()) {
    rep.nearest = reason;
    return rep;
  }
  if (L < 2) {
    rep.nearest = "not applicable: no hidden layer";
    return rep;
  }

  // Forward pass keeping every layer's pre-activations (N × out) and dense weights.
  std::vector<std::vector<double>> w(L), b(L), z(L), act_out(L);
  for (int l = 0; l < L; ++l) {
    const LayerLayout& ly = net.layer(l);
    w[l].resize(static_cast<std::size_t>(ly.out) * ly.in);
    b[l].resize(ly.out);
    net.unpack_layer(theta, l, w[l].data(), b[l].data());
    const double* in = l == 0 ? data.x.data() : act_out[l - 1].data();
    z[l].resize(static_cast<std::size_t>(N) * ly.out);
    for (int i = 0; i < N; ++i)
      std::copy(b[l].begin(), b[l].end(), z[l].begin() + static_cast<std::ptrdiff_t>(i) * ly.out);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, ly.out, ly.in, 1.0, in, ly.in,
                w[l].data(), ly.in, 1.0, z[l].data(), ly.out);
    if (l + 1 < L) {
      act_out[l].resize(z[l].size());
      evaluate_activation(act, z[l].data(), z[l].size(), act_out[l].data(), nullptr, nullptr);
    }
  }
  const double out_scale = std::max(rms(data.y, N), rms(z[L - 1], N));

  auto view = [&](int l) {
    LayerView v;
    v.N = N;
    v.n_in = net.layer(l).in;
    v.n = net.layer(l).out;
    v.m = net.layer(l + 1).out;
    v.h = l == 0 ? data.x.data() : act_out[l - 1].data();
    v.z = z[l].data();
    v.w = w[l];
    v.b = b[l];
    v.a = w[l + 1];
    v.scale = l + 2 == L ? out_scale : rms(z[l + 1], N);
    if (!(v.scale > 0.0)) v.scale = 1.0;
    return v;
  };

  Nearest nearest;
  if (L > 2) {
    for (int l = 0; l + 1 < L; ++l) {
      const LayerView v = view(l);
      offer_layer(measure_layer(act, v), act, t, "layer " + std::to_string(l + 1) + ": ",
                  nearest);
    }
    rep.distance = std::isfinite(nearest.distance) ? nearest.distance : kNaN;
    rep.nearest = nearest.what;
    rep.redundant = rep.distance < t;
    return rep;
  }

  rep.applicable = true;
  const LayerView v = view(0);
  const LayerMeasures lm = measure_layer(act, v);
  rep.neurons = lm.neurons;
  for (int j = 0; j < v.n; ++j) {
    if (lm.neurons[j].dead < t) rep.dead.push_back(j);
    if (lm.neurons[j].flat < t) rep.constant.push_back(j);
  }
  for (const PairMeasure& p : lm.pairs) {
    if (lm.neurons[p.i].flat < t || lm.neurons[p.j].flat < t) continue;
    if (p.dup < t) rep.duplicate.push_back({p.i, p.j, p.dup});
    if (p.anti < t) rep.antipodal.push_back({p.i, p.j, p.anti});
  }
  offer_layer(lm, act, t, "", nearest);
  rep.distance = std::isfinite(nearest.distance) ? nearest.distance : kNaN;
  rep.nearest = nearest.what;
  rep.redundant = rep.distance < t;
  if (net.architecture().masks.empty()) {
    rep.predicted_nullity = predict_nullity_g(act, v, lm, t);
    rep.predicted_nullity_h = predict_nullity_h(act, v, lm, t);
  }
  return rep;
}

}  // namespace nnscape
