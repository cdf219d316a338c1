// The tiled attention kernel against a plain softmax(scale * Q K^T + mask) V written
// here with loops in f64, forward (output and log-sum-exp) and backward, on shapes
// that span several query and key tiles and end mid-tile.
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "catch.h"
#include "kernels/cpu/attention.h"

using namespace strata::kernels::cpu;

namespace {

struct Case {
  std::string name;
  std::int64_t B, T, S, Hq, Hkv, d;
  bool causal;
  std::int64_t window;
  std::int64_t query_offset;
};

std::vector<Case> cases() {
  return {
      {"MHA causal across tiles", 2, 150, 150, 2, 2, 8, true, 0, 0},
      {"GQA causal", 1, 200, 200, 4, 2, 5, true, 0, 0},
      {"MQA causal, one query tile", 2, 40, 40, 3, 1, 4, true, 0, 0},
      {"sliding window 37", 1, 300, 300, 2, 1, 4, true, 37, 0},
      {"window of 1 (self only)", 1, 70, 70, 2, 2, 3, true, 1, 0},
      {"non-causal, S != T", 2, 70, 260, 2, 1, 6, false, 0, 0},
      {"decoding: 3 new queries after 297 cached keys", 2, 3, 300, 4, 2, 8, true, 0, 297},
      {"queries in the middle of the keys", 1, 90, 400, 2, 2, 4, true, 0, 120},
      {"window while decoding", 1, 5, 260, 2, 1, 4, true, 100, 255},
  };
}

// Reference in f64: out [B, T, Hq, d], lse [B, Hq, T], and the backward for dout.
struct Reference {
  std::vector<double> out, lse, dq, dk, dv;
};

Reference reference(const Case& c, double scale, const std::vector<double>& q, const std::vector<double>& k,
                    const std::vector<double>& v, const std::vector<double>& dout) {
  Reference r;
  r.out.assign(q.size(), 0.0);
  r.lse.assign(std::size_t(c.B * c.Hq * c.T), 0.0);
  r.dq.assign(q.size(), 0.0);
  r.dk.assign(k.size(), 0.0);
  r.dv.assign(v.size(), 0.0);
  const std::int64_t G = c.Hq / c.Hkv;
  auto qi = [&](std::int64_t b, std::int64_t i, std::int64_t h) { return ((b * c.T + i) * c.Hq + h) * c.d; };
  auto kj = [&](std::int64_t b, std::int64_t j, std::int64_t h) { return ((b * c.S + j) * c.Hkv + h / G) * c.d; };
  std::vector<double> p(std::size_t(c.S)), dp(std::size_t(c.S));
  for (std::int64_t b = 0; b < c.B; ++b)
    for (std::int64_t h = 0; h < c.Hq; ++h)
      for (std::int64_t i = 0; i < c.T; ++i) {
        const std::int64_t pos = c.query_offset + i;
        auto visible = [&](std::int64_t j) {
          return (!c.causal || j <= pos) && (c.window == 0 || j > pos - c.window);
        };
        double mx = -INFINITY;
        for (std::int64_t j = 0; j < c.S; ++j) {
          p[j] = -INFINITY;
          if (!visible(j)) continue;
          double s = 0;
          for (std::int64_t e = 0; e < c.d; ++e) s += q[qi(b, i, h) + e] * k[kj(b, j, h) + e];
          p[j] = scale * s;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (std::int64_t j = 0; j < c.S; ++j) sum += (p[j] = visible(j) ? std::exp(p[j] - mx) : 0.0);
        r.lse[(b * c.Hq + h) * c.T + i] = mx + std::log(sum);
        for (std::int64_t j = 0; j < c.S; ++j) p[j] /= sum;
        for (std::int64_t j = 0; j < c.S; ++j)
          for (std::int64_t e = 0; e < c.d; ++e) r.out[qi(b, i, h) + e] += p[j] * v[kj(b, j, h) + e];
        // backward: dP = dO V^T, dS = P (dP - <dP, P>), dQ = scale dS K, dK = scale dS^T Q, dV = P^T dO
        double dot = 0;
        for (std::int64_t j = 0; j < c.S; ++j) {
          dp[j] = 0;
          for (std::int64_t e = 0; e < c.d; ++e) dp[j] += dout[qi(b, i, h) + e] * v[kj(b, j, h) + e];
          dot += dp[j] * p[j];
        }
        for (std::int64_t j = 0; j < c.S; ++j) {
          const double ds = p[j] * (dp[j] - dot);
          for (std::int64_t e = 0; e < c.d; ++e) {
            r.dq[qi(b, i, h) + e] += scale * ds * k[kj(b, j, h) + e];
            r.dk[kj(b, j, h) + e] += scale * ds * q[qi(b, i, h) + e];
            r.dv[kj(b, j, h) + e] += p[j] * dout[qi(b, i, h) + e];
          }
        }
      }
  return r;
}

template <class T>
std::vector<T> cast(const std::vector<double>& x) {
  return std::vector<T>(x.begin(), x.end());
}

std::vector<double> randn(std::size_t n, std::mt19937_64& rng) {
  std::normal_distribution<double> normal;
  std::vector<double> x(n);
  for (double& e : x) e = normal(rng);
  return x;
}

template <class T>
double max_abs_diff(const std::vector<T>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < b.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i]));
  return m;
}

template <class T>
void check_case(const Case& c, double tolerance) {
  std::mt19937_64 rng(42);
  const double scale = 1.0 / std::sqrt(double(c.d)) * 1.7;  // larger scores than 1/sqrt(d): a sharper softmax
  const auto q = randn(std::size_t(c.B * c.T * c.Hq * c.d), rng);
  const auto k = randn(std::size_t(c.B * c.S * c.Hkv * c.d), rng);
  const auto v = randn(k.size(), rng);
  const auto dout = randn(q.size(), rng);
  const Reference ref = reference(c, scale, q, k, v, dout);

  std::vector<T> qt = cast<T>(q), kt = cast<T>(k), vt = cast<T>(v), doutt = cast<T>(dout);
  std::vector<T> out(q.size()), lse(ref.lse.size()), dq(q.size()), dk(k.size()), dv(v.size());
  AttentionArgs<T> a;
  a.batch = c.B;
  a.q_len = c.T;
  a.kv_len = c.S;
  a.n_heads = c.Hq;
  a.n_kv_heads = c.Hkv;
  a.head_dim = c.d;
  a.query_offset = c.query_offset;
  a.causal = c.causal;
  a.window = c.window;
  a.scale = T(scale);
  a.q = qt.data();
  a.q_stride_b = c.T * c.Hq * c.d;
  a.q_stride_t = c.Hq * c.d;
  a.k = kt.data();
  a.k_stride_b = c.S * c.Hkv * c.d;
  a.k_stride_t = c.Hkv * c.d;
  a.v = vt.data();
  a.v_stride_b = a.k_stride_b;
  a.v_stride_t = a.k_stride_t;
  a.out = out.data();
  a.lse = lse.data();
  attention_fwd_cpu(a);
  CHECK(max_abs_diff(out, ref.out) < tolerance);
  CHECK(max_abs_diff(lse, ref.lse) < tolerance);

  AttentionGradArgs<T> g;
  g.fwd = a;
  g.dout = doutt.data();
  g.dq = dq.data();
  g.dk = dk.data();
  g.dv = dv.data();
  std::vector<T> workspace(std::size_t(attention_bwd_workspace_size(a)));
  g.workspace = workspace.data();
  attention_bwd_cpu(g);
  CHECK(max_abs_diff(dq, ref.dq) < tolerance * 10);
  CHECK(max_abs_diff(dk, ref.dk) < tolerance * 10);
  CHECK(max_abs_diff(dv, ref.dv) < tolerance * 10);
}

}  // namespace

TEST_CASE("attention kernel equals the plain softmax(QK^T)V reference, forward and backward", "[kernels][attention]") {
  for (const Case& c : cases()) {
    SECTION(c.name) {
      SECTION("f64") { check_case<double>(c, 1e-11); }
      SECTION("f32") { check_case<float>(c, 2e-5); }
    }
  }
}

TEST_CASE("attention kernel reads strided q/k/v in place (slices of a fused projection)", "[kernels][attention]") {
  // qkv: [B, T, Hq + 2 Hkv, d]; q, k, v are head ranges of it.
  const std::int64_t B = 2, T = 77, Hq = 4, Hkv = 2, d = 8, W = (Hq + 2 * Hkv) * d;
  std::mt19937_64 rng(7);
  const auto qkv = randn(std::size_t(B * T * W), rng);
  std::vector<double> q(std::size_t(B * T * Hq * d)), k(std::size_t(B * T * Hkv * d)), v(k.size());
  for (std::int64_t r = 0; r < B * T; ++r) {
    std::copy_n(qkv.begin() + r * W, Hq * d, q.begin() + r * Hq * d);
    std::copy_n(qkv.begin() + r * W + Hq * d, Hkv * d, k.begin() + r * Hkv * d);
    std::copy_n(qkv.begin() + r * W + (Hq + Hkv) * d, Hkv * d, v.begin() + r * Hkv * d);
  }
  const Case c{"", B, T, T, Hq, Hkv, d, true, 0, 0};
  const Reference ref = reference(c, 0.3, q, k, v, q);
  std::vector<double> out(q.size());
  AttentionArgs<double> a;
  a.batch = B;
  a.q_len = a.kv_len = T;
  a.n_heads = Hq;
  a.n_kv_heads = Hkv;
  a.head_dim = d;
  a.scale = 0.3;
  a.q = qkv.data();
  a.k = qkv.data() + Hq * d;
  a.v = qkv.data() + (Hq + Hkv) * d;
  a.q_stride_b = a.k_stride_b = a.v_stride_b = T * W;
  a.q_stride_t = a.k_stride_t = a.v_stride_t = W;
  a.out = out.data();
  attention_fwd_cpu(a);  // lse may be null
  CHECK(max_abs_diff(out, ref.out) < 1e-12);
}

TEST_CASE("attention kernel gives zeros and -inf log-sum-exp for a query that sees no key", "[kernels][attention]") {
  // The op never asks for this (it requires every query's own position among the keys),
  // but the kernel defines it rather than dividing by zero.
  const std::int64_t d = 2;
  std::vector<double> q = {1, 2, 3, 4}, k = {1, 0, 0, 1, 1, 1}, v = {1, 2, 3, 4, 5, 6}, out(4), lse(2);
  AttentionArgs<double> a;
  a.batch = 1;
  a.q_len = 2;
  a.kv_len = 3;
  a.n_heads = a.n_kv_heads = 1;
  a.head_dim = d;
  a.query_offset = -1;  // row 0 at position -1: nothing visible; row 1 at position 0: key 0
  a.scale = 1;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.q_stride_b = 4;
  a.q_stride_t = a.k_stride_t = a.v_stride_t = d;
  a.k_stride_b = a.v_stride_b = 6;
  a.out = out.data();
  a.lse = lse.data();
  attention_fwd_cpu(a);
  CHECK(out[0] == 0.0);
  CHECK(out[1] == 0.0);
  CHECK(lse[0] == -std::numeric_limits<double>::infinity());
  CHECK(out[2] == 1.0);  // the single visible key's value
  CHECK(out[3] == 2.0);
  CHECK(lse[1] == Approx(3.0));  // q1 . k0 = 3
}
