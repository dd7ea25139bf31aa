#include "nnscape/loss.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "nnscape/error.hpp"

// Layout of everything that carries k directions at once: a sample-major array "n × k × width",
// row-major. Read as (n·k) × width it is a stack of per-(sample, direction) rows, so multiplying
// by a layer's W is one GEMM; read as n × (k·width) it is one row per sample, so multiplying the
// shared activations A (n × in) by all k direction matrices at once is one GEMM too. That is what
// turns k Hessian-vector products into BLAS-3 work instead of k passes of BLAS-2.

namespace nnscape {
namespace {

std::size_t sz(std::ptrdiff_t a) { return static_cast<std::size_t>(a); }

// C (rows × cols, ldc) += A (rows × inner, lda) · B (inner × cols, ldb)ᵀ-or-not: thin wrapper so
// the call sites read like the formulas.
void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha,
          const double* a, int lda, const double* b, int ldb, double beta, double* c, int ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // BLAS leaves C untouched only for beta = 1; keep the beta contract
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c[sz(i) * ldc + j] *= beta;
    return;
  }
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace

LossModel::LossModel(const Network& net, const Dataset& data, double weight_decay)
    : net_(net), data_(data), weight_decay_(weight_decay) {
  validate(data);
  NNSCAPE_CHECK(data.d == net.input_dim(),
                "data has input dimension " + std::to_string(data.d) + " but the network expects " +
                    std::to_string(net.input_dim()));
  NNSCAPE_CHECK(data.m == net.output_dim(),
                "data has output dimension " + std::to_string(data.m) +
                    " but the network produces " + std::to_string(net.output_dim()));
  NNSCAPE_CHECK(std::isfinite(weight_decay) && weight_decay >= 0.0,
                "weight decay must be finite and non-negative, got " + std::to_string(weight_decay));
  const int num_layers = net.num_layers();
  const std::size_t n = sz(data.n);
  w_.resize(num_layers);
  b_.resize(num_layers);
  z_.resize(num_layers);
  a_.resize(num_layers);
  ds_.resize(num_layers);
  d2s_.resize(num_layers);
  delta_.resize(num_layers);
  e_.resize(num_layers);
  for (int l = 0; l < num_layers; ++l) {
    const LayerLayout& lay = net.layer(l);
    w_[l].resize(sz(lay.out) * lay.in);
    b_[l].resize(lay.out);
    z_[l].resize(n * lay.out);
    delta_[l].resize(n * lay.out);
    if (l + 1 < num_layers) {
      a_[l].resize(n * lay.out);
      ds_[l].resize(n * lay.out);
      d2s_[l].resize(n * lay.out);
      e_[l].resize(n * lay.out);
    }
  }
  grad_.resize(sz(net.num_params()));
  residual_.resize(n * data.m);
}

void LossModel::set_point(std::span<const double> theta) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(theta.size()) == net_.num_params(),
                "parameter vector has " + std::to_string(theta.size()) +
                    " entries, the network needs " + std::to_string(net_.num_params()));
  theta_.assign(theta.begin(), theta.end());
  const int num_layers = net_.num_layers();
  const int n = data_.n;
  const Activation act = net_.architecture().activation;

  // Forward: Z_l = A_{l-1} W_lᵀ + 1 b_lᵀ, A_l = σ(Z_l) on hidden layers.
  for (int l = 0; l < num_layers; ++l) {
    const LayerLayout& lay = net_.layer(l);
    net_.unpack_layer(theta_, l, w_[l].data(), b_[l].data());
    double* z = z_[l].data();
    for (int i = 0; i < n; ++i) std::copy(b_[l].begin(), b_[l].end(), z + sz(i) * lay.out);
    gemm(CblasNoTrans, CblasTrans, n, lay.out, lay.in, 1.0, layer_input(l), lay.in, w_[l].data(),
         lay.in, 1.0, z, lay.out);
    if (l + 1 < num_layers)
      evaluate_activation(act, z, z_[l].size(), a_[l].data(), ds_[l].data(), d2s_[l].data());
  }

  const std::vector<double>& f = z_.back();
  double sum = 0.0;
  for (std::size_t i = 0; i < residual_.size(); ++i) {
    residual_[i] = f[i] - data_.y[i];
    sum += residual_[i] * residual_[i];
  }
  data_loss_ = sum / n;
  double norm2 = 0.0;
  for (double t : theta_) norm2 += t * t;
  value_ = data_loss_ + 0.5 * weight_decay_ * norm2;

  // Backward: δ_L = (2/N) R; ∂L/∂W_l = δ_lᵀ A_{l-1}; E_{l-1} = δ_l W_l; δ_{l-1} = E_{l-1} ⊙ σ'.
  const double scale = 2.0 / n;
  std::transform(residual_.begin(), residual_.end(), delta_.back().begin(),
                 [scale](double r) { return scale * r; });
  for (int l = num_layers - 1; l >= 0; --l) {
    const LayerLayout& lay = net_.layer(l);
    tmp_.resize(sz(lay.out) * lay.in + lay.out);
    double* gw = tmp_.data();
    double* gb = gw + sz(lay.out) * lay.in;
    gemm(CblasTrans, CblasNoTrans, lay.out, lay.in, n, 1.0, delta_[l].data(), lay.out,
         layer_input(l), lay.in, 0.0, gw, lay.in);
    column_sums(delta_[l].data(), n, lay.out, gb);
    net_.pack_layer(gw, gb, l, grad_);
    if (l > 0) {
      gemm(CblasNoTrans, CblasNoTrans, n, lay.in, lay.out, 1.0, delta_[l].data(), lay.out,
           w_[l].data(), lay.in, 0.0, e_[l - 1].data(), lay.in);
      const std::vector<double>& ds = ds_[l - 1];
      std::vector<double>& dprev = delta_[l - 1];
      for (std::size_t i = 0; i < dprev.size(); ++i) dprev[i] = e_[l - 1][i] * ds[i];
    }
  }
  if (weight_decay_ != 0.0)
    for (std::size_t i = 0; i < grad_.size(); ++i) grad_[i] += weight_decay_ * theta_[i];
}

const double* LossModel::layer_input(int l) const {
  return l == 0 ? data_.x.data() : a_[l - 1].data();
}

void LossModel::column_sums(const double* a, int rows, int cols, double* out) {
  std::fill(out, out + cols, 0.0);
  for (int i = 0; i < rows; ++i) {
    const double* row = a + sz(i) * cols;
    for (int c = 0; c < cols; ++c) out[c] += row[c];
  }
}

void LossModel::hessian_product(std::span<const double> v, std::span<double> out) {
  NNSCAPE_CHECK(static_cast<std::ptrdiff_t>(v.size()) == net_.num_params() &&
                    static_cast<std::ptrdiff_t>(out.size()) == net_.num_params(),
                "hessian_product: vectors must have length P = " +
                    std::to_string(net_.num_params()));
  block_product(v.data(), 1, out.data(), false);
}

void LossModel::hessian_block(const double* v, int k, double* out) {
  block_product(v, k, out, false);
}

void LossModel::gauss_newton_block(const double* v, int k, double* out) {
  block_product(v, k, out, true);
}

// Pearlmutter's R-operator for k directions at once. With R{·} the directional derivative along
// v = (V_l, c_l):
//   forward   RZ_l = RA_{l-1} W_lᵀ + A_{l-1} V_lᵀ + 1 c_lᵀ,     RA_l = σ'(Z_l) ⊙ RZ_l
//   backward  Rδ_L = (2/N) RZ_L
//             R∂W_l = Rδ_lᵀ A_{l-1} + δ_lᵀ RA_{l-1},             R∂b_l = 1ᵀ Rδ_l
//             RE_{l-1} = Rδ_l W_l + δ_l V_l
//             Rδ_{l-1} = RE_{l-1} ⊙ σ'(Z_{l-1}) + E_{l-1} ⊙ σ''(Z_{l-1}) ⊙ RZ_{l-1}
// The Gauss–Newton product Jᵀ(2/N)J v is the same recursion without the terms carrying δ or E
// (those are the residual-weighted second derivatives of f).
void LossModel::block_product(const double* v, int k, double* out, bool gauss_newton) {
  NNSCAPE_CHECK(!theta_.empty() || net_.num_params() == 0,
                "LossModel: set_point must be called before Hessian products");
  NNSCAPE_CHECK(k >= 1, "block product needs at least one direction");
  const int num_layers = net_.num_layers();
  const int n = data_.n;
  const std::ptrdiff_t p = net_.num_params();
  const bool full = !gauss_newton;

  rz_.resize(num_layers);
  ra_.resize(num_layers);
  rdelta_.resize(num_layers);
  vs_.resize(num_layers);
  vc_.resize(num_layers);
  vb_.resize(num_layers);

  // The k direction matrices per layer in the two layouts the GEMMs need:
  //   vs_: (k·out) × in, rows j·out + r = V_j[r, :]   (forward: A · vsᵀ)
  //   vc_: out × (k·in), V_j at columns j·in ...      (backward: δ · vc)
  for (int l = 0; l < num_layers; ++l) {
    const LayerLayout& lay = net_.layer(l);
    const std::size_t wsize = sz(lay.out) * lay.in;
    vs_[l].resize(wsize * k);
    vb_[l].resize(sz(lay.out) * k);
    if (full && l > 0) vc_[l].resize(wsize * k);
    for (int j = 0; j < k; ++j) {
      std::span<const double> vj(v + sz(j) * p, sz(p));
      double* vsj = vs_[l].data() + wsize * j;
      net_.unpack_layer(vj, l, vsj, vb_[l].data() + sz(lay.out) * j);
      if (full && l > 0)
        for (int r = 0; r < lay.out; ++r)
          std::copy(vsj + sz(r) * lay.in, vsj + sz(r + 1) * lay.in,
                    vc_[l].data() + (sz(r) * k + j) * lay.in);
    }
  }

  // Forward.
  for (int l = 0; l < num_layers; ++l) {
    const LayerLayout& lay = net_.layer(l);
    const int kout = k * lay.out;
    std::vector<double>& rz = rz_[l];
    rz.resize(sz(n) * kout);
    gemm(CblasNoTrans, CblasTrans, n, kout, lay.in, 1.0, layer_input(l), lay.in, vs_[l].data(),
         lay.in, 0.0, rz.data(), kout);
    if (l > 0)
      gemm(CblasNoTrans, CblasTrans, n * k, lay.out, lay.in, 1.0, ra_[l - 1].data(), lay.in,
           w_[l].data(), lay.in, 1.0, rz.data(), lay.out);
    const double* vb = vb_[l].data();
    for (int i = 0; i < n; ++i) {
      double* row = rz.data() + sz(i) * kout;
      for (int q = 0; q < kout; ++q) row[q] += vb[q];
    }
    if (l + 1 < num_layers) {
      std::vector<double>& ra = ra_[l];
      ra.resize(rz.size());
      const double* ds = ds_[l].data();
      for (int i = 0; i < n; ++i) {
        const double* dsi = ds + sz(i) * lay.out;
        for (int j = 0; j < k; ++j) {
          const std::size_t off = (sz(i) * k + j) * lay.out;
          for (int r = 0; r < lay.out; ++r) ra[off + r] = dsi[r] * rz[off + r];
        }
      }
    }
  }

  // Backward.
  const double scale = 2.0 / n;
  {
    std::vector<double>& rd = rdelta_.back();
    const std::vector<double>& rz = rz_.back();
    rd.resize(rz.size());
    for (std::size_t i = 0; i < rz.size(); ++i) rd[i] = scale * rz[i];
  }
  for (int l = num_layers - 1; l >= 0; --l) {
    const LayerLayout& lay = net_.layer(l);
    const int kout = k * lay.out;
    const int kin = k * lay.in;
    const std::size_t wsize = sz(lay.out) * lay.in;
    const double* rd = rdelta_[l].data();
    // R∂W_j stacked as (k·out) × in: Rδ read as n × (k·out), transposed, times A_{l-1}.
    tmp_.resize(wsize * k + sz(kout));
    double* rgw = tmp_.data();
    double* rgb = rgw + wsize * k;
    gemm(CblasTrans, CblasNoTrans, kout, lay.in, n, 1.0, rd, kout, layer_input(l), lay.in, 0.0,
         rgw, lay.in);
    if (full && l > 0)
      for (int j = 0; j < k; ++j)  // δ_lᵀ RA_{l-1,j}: one GEMM per direction, RA_j strided
        gemm(CblasTrans, CblasNoTrans, lay.out, lay.in, n, 1.0, delta_[l].data(), lay.out,
             ra_[l - 1].data() + sz(j) * lay.in, kin, 1.0, rgw + wsize * j, lay.in);
    column_sums(rd, n, kout, rgb);
    for (int j = 0; j < k; ++j)
      net_.pack_layer(rgw + wsize * j, rgb + sz(j) * lay.out, l,
                      std::span<double>(out + sz(j) * p, sz(p)));
    if (l == 0) break;

    std::vector<double>& rdp = rdelta_[l - 1];
    rdp.resize(sz(n) * kin);
    gemm(CblasNoTrans, CblasNoTrans, n * k, lay.in, lay.out, 1.0, rd, lay.out, w_[l].data(),
         lay.in, 0.0, rdp.data(), lay.in);
    if (full)
      gemm(CblasNoTrans, CblasNoTrans, n, kin, lay.out, 1.0, delta_[l].data(), lay.out,
           vc_[l].data(), kin, 1.0, rdp.data(), kin);
    // rdp holds RE_{l-1}; turn it into Rδ_{l-1} in place.
    const double* ds = ds_[l - 1].data();
    const double* d2s = d2s_[l - 1].data();
    const double* e = e_[l - 1].data();
    const double* rzp = rz_[l - 1].data();
    for (int i = 0; i < n; ++i) {
      const std::size_t u = sz(i) * lay.in;
      for (int j = 0; j < k; ++j) {
        const std::size_t off = (sz(i) * k + j) * lay.in;
        if (full)
          for (int c = 0; c < lay.in; ++c)
            rdp[off + c] = rdp[off + c] * ds[u + c] + e[u + c] * d2s[u + c] * rzp[off + c];
        else
          for (int c = 0; c < lay.in; ++c) rdp[off + c] *= ds[u + c];
      }
    }
  }
  if (full && weight_decay_ != 0.0)
    for (std::size_t q = 0; q < sz(p) * k; ++q) out[q] += weight_decay_ * v[q];
}

int LossModel::block_size(std::size_t workspace_bytes) const {
  // Per direction: RZ, RA and Rδ for every layer (n × width each) plus the direction's V copies.
  std::size_t per_dir = 0;
  for (int l = 0; l < net_.num_layers(); ++l) per_dir += 3 * sz(data_.n) * net_.layer(l).out;
  per_dir += sz(data_.n) * net_.input_dim();
  per_dir = (per_dir + 3 * sz(net_.num_params())) * sizeof(double);
  const std::size_t k = std::max<std::size_t>(1, workspace_bytes / std::max<std::size_t>(1, per_dir));
  return static_cast<int>(std::min<std::size_t>(k, std::max<std::ptrdiff_t>(1, net_.num_params())));
}

std::vector<double> LossModel::dense_matrix(bool gauss_newton) {
  NNSCAPE_CHECK(!theta_.empty() || net_.num_params() == 0,
                "LossModel: set_point must be called before dense matrices");
  if (net_.num_layers() == 2) return dense_matrix_shallow(gauss_newton);
  const std::ptrdiff_t p = net_.num_params();
  std::vector<double> result(sz(p) * p);
  const int k = block_size();
  std::vector<double> basis;
  for (std::ptrdiff_t j0 = 0; j0 < p; j0 += k) {
    const int kk = static_cast<int>(std::min<std::ptrdiff_t>(k, p - j0));
    basis.assign(sz(p) * kk, 0.0);
    for (int j = 0; j < kk; ++j) basis[sz(j) * p + sz(j0) + j] = 1.0;
    block_product(basis.data(), kk, result.data() + sz(j0) * p, gauss_newton);
  }
  return result;
}

// One hidden layer (the setting of Benning & Dereich) in closed form. With x̃ = (x, 1),
// z_iu = w̃_u·x̃_i, f_ik = Σ_u V_ku σ(z_iu) + c_k and r = f − y:
//   G = (2/N) JᵀJ, rows of J: ∂f_ik/∂w̃_u = V_ku σ'_iu x̃_i, ∂f_ik/∂V_ku = σ_iu, ∂f_ik/∂c_k = 1;
//   H = G + (2/N) Σ_i [ Σ_u (Σ_k r_ik V_ku) σ''_iu x̃_i x̃_iᵀ  on the (w̃_u, w̃_u) blocks
//                      + r_ik σ'_iu x̃_i               on the (w̃_u, V_ku) entries ] + λI.
// Building J in sample chunks and one SYRK per chunk costs N·m·P² flops in BLAS-3; the R-operator
// route costs P directions of elementwise work over N × width arrays, which dominated Newton
// trials (measured 0.2 s per Hessian at P = 193, N = 8192, width 16).
std::vector<double> LossModel::dense_matrix_shallow(bool gauss_newton) {
  const std::ptrdiff_t p = net_.num_params();
  const LayerLayout& l1 = net_.layer(0);
  const LayerLayout& l2 = net_.layer(1);
  const int n = data_.n, d = l1.in, width = l1.out, m = l2.out;
  const double scale = 2.0 / n;

  // θ position of each dense parameter (−1 where masked): W1, b1, W2, b2 in dense order.
  const std::size_t dense_w1 = sz(width) * d, dense_w2 = sz(m) * width;
  std::vector<std::ptrdiff_t> pos(dense_w1 + width + dense_w2 + m, -1);
  for (std::size_t q = 0; q < l1.free_entries.size(); ++q)
    pos[sz(l1.free_entries[q])] = l1.weight_offset + static_cast<std::ptrdiff_t>(q);
  for (int u = 0; u < width; ++u) pos[dense_w1 + u] = l1.bias_offset + u;
  for (std::size_t q = 0; q < l2.free_entries.size(); ++q)
    pos[dense_w1 + width + sz(l2.free_entries[q])] = l2.weight_offset + static_cast<std::ptrdiff_t>(q);
  for (int k = 0; k < m; ++k) pos[dense_w1 + width + dense_w2 + k] = l2.bias_offset + k;
  auto w1_pos = [&](int u, int c) { return c < d ? pos[sz(u) * d + c] : pos[dense_w1 + u]; };
  auto w2_pos = [&](int k, int u) { return pos[dense_w1 + width + sz(k) * width + u]; };
  const std::ptrdiff_t b2_pos0 = dense_w1 + width + dense_w2;

  const double* x = data_.x.data();
  const double* s = a_[0].data();
  const double* ds = ds_[0].data();
  const double* w2 = w_[1].data();
  std::vector<double> result(sz(p) * p, 0.0);

  // Gauss–Newton part, sample chunks of at most ~32 MB of J.
  const std::ptrdiff_t chunk =
      std::max<std::ptrdiff_t>(1, (std::ptrdiff_t{4} << 20) / std::max<std::ptrdiff_t>(1, p * m));
  std::vector<double> jac;
  for (std::ptrdiff_t i0 = 0; i0 < n; i0 += chunk) {
    const std::ptrdiff_t rows_i = std::min<std::ptrdiff_t>(chunk, n - i0);
    jac.assign(sz(rows_i * m) * p, 0.0);
    for (std::ptrdiff_t i = i0; i < i0 + rows_i; ++i)
      for (int k = 0; k < m; ++k) {
        double* row = jac.data() + sz((i - i0) * m + k) * p;
        for (int u = 0; u < width; ++u) {
          const double g = w2[sz(k) * width + u] * ds[sz(i) * width + u];
          for (int c = 0; c <= d; ++c) {
            const std::ptrdiff_t q = w1_pos(u, c);
            if (q >= 0) row[q] = c < d ? g * x[sz(i) * d + c] : g;
          }
          const std::ptrdiff_t q = w2_pos(k, u);
          if (q >= 0) row[q] = s[sz(i) * width + u];
        }
        row[pos[b2_pos0 + k]] = 1.0;
      }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, static_cast<int>(p),
                static_cast<int>(rows_i * m), scale, jac.data(), static_cast<int>(p), 1.0,
                result.data(), static_cast<int>(p));
  }
  for (std::ptrdiff_t i = 0; i < p; ++i)  // SYRK filled the upper triangle
    for (std::ptrdiff_t j = 0; j < i; ++j) result[sz(i) * p + j] = result[sz(j) * p + i];
  if (gauss_newton) return result;

  // Residual part: per unit, (2/N) X̃ᵀ diag(c_u) X̃ with c_iu = (Σ_k r_ik V_ku) σ''_iu, and the
  // (w̃_u, V_ku) entries (2/N) X̃ᵀ (r_k ⊙ σ'_u). Masked entries are simply skipped.
  const double* d2s = d2s_[0].data();
  const double* r = residual_.data();
  std::vector<double> block(sz(d + 1) * (d + 1)), cross(sz(d + 1));
  for (int u = 0; u < width; ++u) {
    std::fill(block.begin(), block.end(), 0.0);
    for (int k = 0; k < m; ++k) {
      std::fill(cross.begin(), cross.end(), 0.0);
      for (int i = 0; i < n; ++i) {
        const double t = r[sz(i) * m + k] * ds[sz(i) * width + u];
        const double* xi = x + sz(i) * d;
        for (int c = 0; c < d; ++c) cross[c] += t * xi[c];
        cross[d] += t;
      }
      const std::ptrdiff_t qv = w2_pos(k, u);
      if (qv < 0) continue;
      for (int c = 0; c <= d; ++c) {
        const std::ptrdiff_t q = w1_pos(u, c);
        if (q < 0) continue;
        result[sz(q) * p + qv] += scale * cross[c];
        result[sz(qv) * p + q] += scale * cross[c];
      }
    }
    for (int i = 0; i < n; ++i) {
      double back = 0.0;
      for (int k = 0; k < m; ++k) back += r[sz(i) * m + k] * w2[sz(k) * width + u];
      const double cu = back * d2s[sz(i) * width + u];
      if (cu == 0.0) continue;
      const double* xi = x + sz(i) * d;
      for (int a = 0; a <= d; ++a) {
        const double xa = a < d ? xi[a] : 1.0;
        for (int b = a; b <= d; ++b) block[sz(a) * (d + 1) + b] += cu * xa * (b < d ? xi[b] : 1.0);
      }
    }
    for (int a = 0; a <= d; ++a) {
      const std::ptrdiff_t qa = w1_pos(u, a);
      if (qa < 0) continue;
      for (int b = a; b <= d; ++b) {
        const std::ptrdiff_t qb = w1_pos(u, b);
        if (qb < 0) continue;
        const double v = scale * block[sz(a) * (d + 1) + b];
        result[sz(qa) * p + qb] += v;
        if (qa != qb) result[sz(qb) * p + qa] += v;
      }
    }
  }
  for (std::ptrdiff_t i = 0; i < p; ++i) result[sz(i) * p + i] += weight_decay_;
  return result;
}

std::vector<double> LossModel::dense_hessian() { return dense_matrix(false); }
std::vector<double> LossModel::dense_gauss_newton() { return dense_matrix(true); }

}  // namespace nnscape
