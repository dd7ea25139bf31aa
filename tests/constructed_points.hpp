#pragma once
// Constructed one-hidden-layer points of known truth, shared by the reduction and verdict tests:
// an efficient random teacher (targets = its outputs: zero residual) and function-preserving
// edits that widen it (exact splits, dead and constant units).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "nnscape/activation.hpp"
#include "nnscape/dataset.hpp"
#include "nnscape/network.hpp"
#include "test_util.hpp"

namespace nnscape::test {

inline constexpr int kD = 2;             // input dimension
inline constexpr int kTeacherWidth = 3;
inline constexpr int kSamples = 1000;

inline double sigma(Activation act, double z) {
  double s = 0.0;
  evaluate_activation(act, &z, 1, &s, nullptr, nullptr);
  return s;
}

// Dense one-hidden-layer parameters (papers.md order: W1 n×d, b1, W2 m×n, c).
struct Params {
  int d = 0, n = 0, m = 0;
  std::vector<double> w1, b1, w2, c;

  double& w(int j, int k) { return w1[static_cast<std::size_t>(j) * d + k]; }
  double& a(int o, int j) { return w2[static_cast<std::size_t>(o) * n + j]; }
  std::vector<double> a_col(int j) {
    std::vector<double> v(m);
    for (int o = 0; o < m; ++o) v[o] = a(o, j);
    return v;
  }
  // Appends a hidden unit (W2 is m × n row-major, so its columns shift).
  void append(const std::vector<double>& wj, double bj, const std::vector<double>& aj) {
    std::vector<double> w2n(static_cast<std::size_t>(m) * (n + 1));
    for (int o = 0; o < m; ++o) {
      for (int j = 0; j < n; ++j) w2n[static_cast<std::size_t>(o) * (n + 1) + j] = a(o, j);
      w2n[static_cast<std::size_t>(o) * (n + 1) + n] = aj[o];
    }
    w1.insert(w1.end(), wj.begin(), wj.end());
    b1.push_back(bj);
    w2 = std::move(w2n);
    ++n;
  }
  Architecture arch(Activation act) const { return test::make_arch({d, n, m}, act); }
  std::vector<double> theta() const {
    const Network net(arch(Activation::tanh));  // the layout does not depend on the activation
    std::vector<double> t(static_cast<std::size_t>(net.num_params()));
    net.pack_layer(w1.data(), b1.data(), 0, t);
    net.pack_layer(w2.data(), c.data(), 1, t);
    return t;
  }
};

inline Params random_params(int d, int n, int m, std::mt19937_64& rng, double sd) {
  Params p{d, n, m, {}, {}, {}, {}};
  p.w1 = test::normal_vector(static_cast<std::size_t>(n) * d, rng, sd);
  p.b1 = test::normal_vector(n, rng, sd);
  p.w2 = test::normal_vector(static_cast<std::size_t>(m) * n, rng, 1.0);
  p.c = test::normal_vector(m, rng, 1.0);
  return p;
}

// Function-preserving edits. A split gives unit k a partner with sg·(w_k, b_k) and output
// weights v, taking them from a_k (sigmoid: σ(−z) = 1 − σ(z), the 1 goes to the bias).
inline void split(Params& p, Activation act, int k, int sg, const std::vector<double>& v) {
  std::vector<double> wk(p.w1.begin() + k * p.d, p.w1.begin() + (k + 1) * p.d);
  for (double& e : wk) e *= sg;
  for (int o = 0; o < p.m; ++o) {
    p.a(o, k) -= sg * v[o];
    if (act == Activation::sigmoid && sg < 0) p.c[o] -= v[o];
  }
  p.append(wk, sg * p.b1[k], v);
}
// Parallel split: the partner takes the fraction 0.7 of a_k.
inline void split_parallel(Params& p, Activation act, int k, int sg) {
  std::vector<double> v = p.a_col(k);
  for (double& e : v) e *= 0.7 * sg;
  split(p, act, k, sg, v);
}
inline void add_dead(Params& p, std::mt19937_64& rng) {
  p.append(test::normal_vector(p.d, rng, 1.5), 0.8, std::vector<double>(p.m, 0.0));
}
inline void add_constant(Params& p, Activation act, double b, std::mt19937_64& rng) {
  const std::vector<double> a = test::normal_vector(p.m, rng, 1.0);
  for (int o = 0; o < p.m; ++o) p.c[o] -= a[o] * sigma(act, b);
  p.append(std::vector<double>(p.d, 0.0), b, a);
}

struct Case {
  Activation act;
  int m;
  std::uint64_t seed;
};
// Fixed draws. Every construction below assumes an efficient, well-conditioned teacher, which
// TeacherIsEfficient checks (report distance > 0.1, J of full rank with σ_min > 1e-4·σ_max), so a
// draw that breaks it fails loudly there. Nothing was tuned except rejecting such draws: for
// tanh m = 2, seeds 5 and 6 sat at distance 0.084 and 0.010 from "constant 0".
inline const Case kCases[] = {{Activation::tanh, 1, 3},
                       {Activation::tanh, 2, 7},
                       {Activation::sigmoid, 1, 3},
                       {Activation::sigmoid, 2, 5}};

inline std::string label(const Case& c) {
  return std::string(to_string(c.act)) + " m=" + std::to_string(c.m);
}

// An efficient teacher and its data (targets = the teacher's outputs: zero residual, H = G).
struct Teacher {
  explicit Teacher(const Case& cs) : act(cs.act), rng(cs.seed) {
    p = random_params(kD, kTeacherWidth, cs.m, rng, 2.0);
    data.n = kSamples;
    data.d = kD;
    data.m = cs.m;
    data.x = test::uniform_vector(static_cast<std::size_t>(kSamples) * kD, rng, -1.0, 1.0);
    const Network net(p.arch(act));
    data.y = net.predict(p.theta(), data.x.data(), data.n);
  }
  Activation act;
  std::mt19937_64 rng;
  Params p;
  Dataset data;
};

}  // namespace nnscape::test
