#include "kernels/cpu/gated_delta_rule.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/chunk_plan.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"

namespace strata::kernels::cpu {
namespace {

// Strided views of one (batch, value head) pair: rows of q / k (its key head), of v / o /
// dout, and the per-step g and beta.
template <class T>
struct HeadView {
  const GatedDeltaRuleArgs<T>& a;
  std::int64_t b, h, hk;
  std::int64_t chunks;  // ChunkPlan::max_chunks
  std::int64_t qt(std::int64_t t) const { return ((b * a.seq_len + t) * a.key_heads + hk) * a.key_dim; }
  std::int64_t vt(std::int64_t t) const { return ((b * a.seq_len + t) * a.heads + h) * a.value_dim; }
  std::int64_t ht(std::int64_t t) const { return (b * a.seq_len + t) * a.heads + h; }
  std::int64_t state() const { return (b * a.heads + h) * a.key_dim * a.value_dim; }
  std::int64_t chunk_state(std::int64_t c) const {
    return ((b * a.heads + h) * chunks + c) * a.key_dim * a.value_dim;
  }
  std::int64_t ldk() const { return a.key_heads * a.key_dim; }
  std::int64_t ldv() const { return a.heads * a.value_dim; }
};

// What the forward and the backward both compute for one chunk of l steps from its inputs
// and the state S_in [K, V] entering it. Products that share an operand are stacked so that
// each is one BLAS call: [q; k] k^T, (I + M)^-1 [v | k], [exp(gam) q; W] S_in.
template <class T>
struct ChunkForm {
  std::int64_t l = 0, K = 0, V = 0;
  Buffer<T> gam, e, beta; // [l]: cumulative g, exp(gam), beta
  Buffer<T> D;            // [l, l]: exp(gam_i - gam_j), j <= i
  Buffer<T> QK;           // [2l, l]: rows 0..l: (scale q_i . k_j) D (j <= i), P; rows l..2l: k_i . k_j
  Buffer<T> M;            // [l, l]: beta_i (k_i . k_j) D, strictly lower (the unit diagonal implied)
  Buffer<T> Tinv;         // [l, l]: (I + M)^-1, unit lower triangular
  Buffer<T> QsK;          // [2l, K]: scale q, then k, contiguous
  Buffer<T> Qe_W;         // [2l, K]: exp(gam) scale q, then W
  Buffer<T> VbKb;         // [l, V + K]: [beta v | beta exp(gam) k]
  Buffer<T> UW;           // [l, V + K]: (I + M)^-1 [beta v | beta exp(gam) k] = [U | W]
  Buffer<T> QS_WS;        // [2l, V]: exp(gam) scale q S_in, then W S_in
  Buffer<T> Delta;        // [l, V]: U - W S_in

  ChunkForm(Arena<T>& take, std::int64_t L, std::int64_t K_, std::int64_t V_)
      : K(K_), V(V_), gam(take(L)), e(take(L)), beta(take(L)), D(take(L * L)), QK(take(2 * L * L)), M(take(L * L)),
        Tinv(take(L * L)), QsK(take(2 * L * K_)), Qe_W(take(2 * L * K_)), VbKb(take(L * (V_ + K_))),
        UW(take(L * (V_ + K_))), QS_WS(take(2 * L * V_)), Delta(take(L * V_)) {}

  T w(std::int64_t j) const { return std::exp(gam[std::size_t(l - 1)] - gam[std::size_t(j)]); }
  const T* P() const { return QK.data(); }         // [l, l]
  const T* KK() const { return QK.data() + l * l; }  // [l, l]
  const T* Qs() const { return QsK.data(); }        // [l, K]
  const T* k() const { return QsK.data() + l * K; }  // [l, K]
  const T* W() const { return Qe_W.data() + l * K; }  // [l, K]
  const T* QS() const { return QS_WS.data(); }      // [l, V]

  // Tinv = (I + M)^-1 by forward substitution, row i = e_i - sum_{k < i} M[i,k] row k
  // (l^3 / 6 multiply-adds over rows): explicit, so that the solves become products, which
  // BLAS runs several times faster than its small triangular solves.
  void invert_unit_lower() {
    std::fill_n(Tinv.begin(), l * l, T(0));
    for (std::int64_t i = 0; i < l; ++i) {
      T* row = Tinv.data() + i * l;
      const T* m = M.data() + i * l;
      for (std::int64_t k = 0; k < i; ++k) {
        const T c = m[k];
        const T* rk = Tinv.data() + k * l;
        for (std::int64_t j = 0; j <= k; ++j) row[j] -= c * rk[j];
      }
      row[i] = T(1);
    }
  }

  // for_output: also QS, the outputs' read of S_in (the backward needs only W S_in).
  void compute(const HeadView<T>& v, std::int64_t t0, std::int64_t steps, const T* S, bool for_output) {
    const GatedDeltaRuleArgs<T>& a = v.a;
    const std::int64_t ldk = v.ldk(), ldv = v.ldv(), ldu = V + K;
    l = steps;
    const T* q = a.q + v.qt(t0);
    const T* kc = a.k + v.qt(t0);
    const T* x = a.v + v.vt(t0);
    T run = 0;
    for (std::int64_t i = 0; i < l; ++i) {
      run += a.g[v.ht(t0 + i)];
      gam[std::size_t(i)] = run;
      e[std::size_t(i)] = std::exp(run);
      beta[std::size_t(i)] = a.beta[v.ht(t0 + i)];
      T* qs = &QsK[std::size_t(i * K)];
      T* kk = &QsK[std::size_t((l + i) * K)];
      for (std::int64_t c = 0; c < K; ++c) {
        qs[c] = a.scale * q[i * ldk + c];
        kk[c] = kc[i * ldk + c];
      }
    }
    gemm_rows<T>(false, true, 2 * l, l, K, T(1), QsK.data(), K, k(), K, T(0), QK.data(), l);
    for (std::int64_t i = 0; i < l; ++i) {
      T* d = D.data() + i * l;
      decay_row(gam.data(), i, d);
      std::fill(d + i + 1, d + l, T(0));
      const T bi = beta[std::size_t(i)], bei = bi * e[std::size_t(i)], ei = e[std::size_t(i)];
      T* p = QK.data() + i * l;
      const T* kk = KK() + i * l;
      T* m = M.data() + i * l;
      for (std::int64_t j = 0; j < l; ++j) {
        m[j] = j < i ? bi * kk[j] * d[j] : T(0);
        p[j] *= d[j];
      }
      T* uw = &VbKb[std::size_t(i * ldu)];
      for (std::int64_t c = 0; c < V; ++c) uw[c] = bi * x[i * ldv + c];
      const T* ki = k() + i * K;
      const T* qs = Qs() + i * K;
      T* qe = &Qe_W[std::size_t(i * K)];
      for (std::int64_t c = 0; c < K; ++c) {
        uw[V + c] = bei * ki[c];
        qe[c] = ei * qs[c];
      }
    }
    invert_unit_lower();
    gemm_rows<T>(false, false, l, ldu, l, T(1), Tinv.data(), l, VbKb.data(), ldu, T(0), UW.data(), ldu);
    for (std::int64_t i = 0; i < l; ++i)
      std::copy_n(&UW[std::size_t(i * ldu + V)], K, &Qe_W[std::size_t((l + i) * K)]);
    if (for_output)
      gemm_rows<T>(false, false, 2 * l, V, K, T(1), Qe_W.data(), K, S, V, T(0), QS_WS.data(), V);
    else
      gemm_rows<T>(false, false, l, V, K, T(1), W(), K, S, V, T(0), QS_WS.data() + l * V, V);
    for (std::int64_t i = 0; i < l; ++i) {
      const T* u = &UW[std::size_t(i * ldu)];
      const T* ws = &QS_WS[std::size_t((l + i) * V)];
      T* delta = &Delta[std::size_t(i * V)];
      for (std::int64_t c = 0; c < V; ++c) delta[c] = u[c] - ws[c];
    }
  }
};

// One thread's buffers in the forward.
template <class T>
struct ForwardScratch {
  Buffer<T> S, Kw;  // [K, V] the state; [l, K] k scaled by the decay to the chunk's end
  ChunkForm<T> f;
  ForwardScratch(Arena<T>& take, std::int64_t L, std::int64_t K, std::int64_t V)
      : S(take(K * V)), Kw(take(L * K)), f(take, L, K, V) {}
};

// Elements of one thread's scratch, by a dry run of the same carving.
template <class T>
std::int64_t forward_scratch_size(std::int64_t L, std::int64_t K, std::int64_t V) {
  Arena<T> count;
  ForwardScratch<T> dry(count, L, K, V);
  return count.used;
}

// One thread's buffers in the backward (gradients of the named forward quantities).
template <class T>
struct BackwardScratch {
  ChunkForm<T> f;
  Buffer<T> dS, dS_in;       // [K, V]: the state leaving the chunk, entering it
  Buffer<T> dgam, dbeta;     // [l]
  Buffer<T> dLL;          // [l, l]: dP, then dM
  Buffer<T> dO_Delta;     // [2l, V]: dout, then -dDelta
  Buffer<T> X_dW;         // [2l, K]: dout S_in^T, then dW
  Buffer<T> dDW, dUW;        // [l, V + K]: [dDelta | dW], then (I + M)^-T of it
  Buffer<T> dQs, dK, R, Kw;  // [l, K]
  BackwardScratch(Arena<T>& take, std::int64_t L, std::int64_t K, std::int64_t V)
      : f(take, L, K, V), dS(take(K * V)), dS_in(take(K * V)), dgam(take(L)), dbeta(take(L)), dLL(take(L * L)),
        dO_Delta(take(2 * L * V)), X_dW(take(2 * L * K)), dDW(take(L * (V + K))), dUW(take(L * (V + K))),
        dQs(take(L * K)), dK(take(L * K)), R(take(L * K)), Kw(take(L * K)) {}
};

template <class T>
std::int64_t backward_scratch_size(std::int64_t L, std::int64_t K, std::int64_t V) {
  Arena<T> count;
  BackwardScratch<T> dry(count, L, K, V);
  return count.used;
}

}  // namespace

std::int64_t gated_delta_rule_chunk_states_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                std::int64_t key_dim, std::int64_t value_dim, std::int64_t chunk,
                                                const std::int64_t* seq_start) {
  return batch * heads * chunk_plan(batch, seq_len, chunk, seq_start).max_chunks * key_dim * value_dim;
}

std::int64_t gated_delta_rule_scratch_size(std::int64_t batch, std::int64_t seq_len, std::int64_t chunk,
                                           const std::int64_t* seq_start, std::int64_t key_dim, std::int64_t value_dim,
                                           bool backward) {
  const std::int64_t L = chunk_plan(batch, seq_len, chunk, seq_start).longest;
  return backward ? backward_scratch_size<float>(L, key_dim, value_dim) : forward_scratch_size<float>(L, key_dim, value_dim);
}

std::int64_t gated_delta_rule_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                                 std::int64_t key_dim) {
  return 2 * batch * heads * seq_len * key_dim;  // dq and dk per value head
}

template <class T>
void gated_delta_rule_fwd_cpu(const GatedDeltaRuleArgs<T>& a) {
  const std::int64_t K = a.key_dim, V = a.value_dim, per_key = a.heads / a.key_heads;
  const ChunkPlan plan = chunk_plan(a.batch, a.seq_len, a.chunk, a.seq_start);
  const std::int64_t L = plan.longest;  // buffers for one token when decoding, not for a whole chunk
  const std::int64_t per_thread = forward_scratch_size<T>(L, K, V);
#pragma omp parallel num_threads(int(a.scratch_threads))
  {
    Arena<T> take{a.scratch + omp_get_thread_num() * per_thread};
    ForwardScratch<T> scratch(take, L, K, V);
    Buffer<T>& S = scratch.S;
    Buffer<T>& Kw = scratch.Kw;
    ChunkForm<T>& f = scratch.f;
#pragma omp for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_key, plan.max_chunks};
      if (a.initial_state)
        std::copy_n(a.initial_state + v.state(), K * V, S.begin());
      else
        std::fill(S.begin(), S.end(), T(0));
      const std::int64_t ldv = v.ldv();
      const std::vector<Chunk>& row = plan.rows[std::size_t(b)];
      for (std::size_t c = 0; c < row.size(); ++c) {
        const std::int64_t t0 = row[c].t0, l = row[c].len;
        if (row[c].fresh) std::fill(S.begin(), S.end(), T(0));
        if (a.chunk_states) std::copy(S.begin(), S.end(), a.chunk_states + v.chunk_state(std::int64_t(c)));
        f.compute(v, t0, l, S.data(), true);
        // o = diag(e) Qs S_in + P Delta
        T* o = a.o + v.vt(t0);
        for (std::int64_t i = 0; i < l; ++i) std::copy_n(f.QS() + i * V, V, o + i * ldv);
        gemm_rows<T>(false, false, l, V, l, T(1), f.P(), l, f.Delta.data(), V, T(1), o, ldv);
        // S = exp(gam_last) S + (diag(w) k)^T Delta
        for (std::int64_t i = 0; i < l; ++i) {
          const T wi = f.w(i);
          for (std::int64_t cc = 0; cc < K; ++cc) Kw[std::size_t(i * K + cc)] = wi * f.k()[i * K + cc];
        }
        gemm_rows<T>(true, false, K, V, l, T(1), Kw.data(), K, f.Delta.data(), V, f.e[std::size_t(l - 1)], S.data(), V);
      }
      std::copy(S.begin(), S.end(), a.final_state + v.state());
    }
  }  // omp parallel
}

// The adjoint of the chunk form, chunk by chunk from the last: dS is the gradient of the
// state leaving the chunk, S_in the forward's saved state entering it.
template <class T>
void gated_delta_rule_bwd_cpu(const GatedDeltaRuleArgs<T>& a) {
  const std::int64_t K = a.key_dim, V = a.value_dim, T_ = a.seq_len, per_key = a.heads / a.key_heads;
  const ChunkPlan plan = chunk_plan(a.batch, T_, a.chunk, a.seq_start);
  const std::int64_t L = plan.longest;
  T* ws_dq = a.workspace;                         // [B, H, T, K]
  T* ws_dk = ws_dq + a.batch * a.heads * T_ * K;  // [B, H, T, K]
  const std::int64_t ldu = V + K;
  const std::int64_t per_thread = backward_scratch_size<T>(L, K, V);
#pragma omp parallel num_threads(int(a.scratch_threads))
  {
    Arena<T> take{a.scratch + omp_get_thread_num() * per_thread};
    BackwardScratch<T> w(take, L, K, V);
    ChunkForm<T>& f = w.f;
    Buffer<T>&dS = w.dS, &dS_in = w.dS_in, &dgam = w.dgam, &dbeta = w.dbeta, &dLL = w.dLL, &dO_Delta = w.dO_Delta,
              &X_dW = w.X_dW, &dDW = w.dDW, &dUW = w.dUW, &dQs = w.dQs, &dK = w.dK, &R = w.R, &Kw = w.Kw;
#pragma omp for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_key, plan.max_chunks};
      const std::int64_t ldv = v.ldv();
      if (a.dfinal_state)
        std::copy_n(a.dfinal_state + v.state(), K * V, dS.begin());
      else
        std::fill(dS.begin(), dS.end(), T(0));
      const std::vector<Chunk>& row = plan.rows[std::size_t(b)];
      for (std::int64_t c = std::int64_t(row.size()) - 1; c >= 0; --c) {
        const std::int64_t t0 = row[std::size_t(c)].t0, l = row[std::size_t(c)].len;
        const T* S = a.chunk_states + v.chunk_state(c);
        f.compute(v, t0, l, S, false);
        const T* k = f.k();
        const T* x = a.v + v.vt(t0);
        const T* dout = a.dout + v.vt(t0);
        std::fill_n(dgam.begin(), l, T(0));
        std::fill_n(dbeta.begin(), l, T(0));
        const T e_last = f.e[std::size_t(l - 1)];
        T* dO = dO_Delta.data();       // [l, V]: dout of the chunk, contiguous
        T* mdDelta = dO + l * V;        // [l, V]: -dDelta
        for (std::int64_t i = 0; i < l; ++i) {
          std::copy_n(dout + i * ldv, V, dO + i * V);
          const T wi = f.w(i);
          for (std::int64_t cc = 0; cc < K; ++cc) Kw[std::size_t(i * K + cc)] = wi * k[i * K + cc];
        }
        // -dDelta = -(P^T dO + diag(w) k dS): through the outputs and the state leaving the chunk.
        gemm_rows<T>(true, false, l, V, l, T(-1), f.P(), l, dO, V, T(0), mdDelta, V);
        gemm_rows<T>(false, false, l, V, K, T(-1), Kw.data(), K, dS.data(), V, T(1), mdDelta, V);
        // o_i += sum_j (q_i . k_j) D[i,j] Delta_j: dP = dO Delta^T, then through D to gam.
        gemm_rows<T>(false, true, l, l, V, T(1), dO, V, f.Delta.data(), V, T(0), dLL.data(), l);
        for (std::int64_t i = 0; i < l; ++i) {
          T* dp = dLL.data() + i * l;
          const T* p = f.P() + i * l;
          const T* d = f.D.data() + i * l;
          T row_sum = 0;
          for (std::int64_t j = 0; j <= i; ++j) {
            const T through_gam = dp[j] * p[j];
            row_sum += through_gam;
            dgam[std::size_t(j)] -= through_gam;
            dp[j] *= d[j];  // now d(q_i . k_j)
          }
          dgam[std::size_t(i)] += row_sum;
          std::fill(dp + i + 1, dp + l, T(0));
        }
        gemm_rows<T>(false, false, l, K, l, T(1), dLL.data(), l, k, K, T(0), dQs.data(), K);
        gemm_rows<T>(true, false, l, K, l, T(1), dLL.data(), l, f.Qs(), K, T(0), dK.data(), K);
        // [dO; -dDelta] S_in^T = [X; dW]: X = dO S_in^T for o_i += exp(gam_i) S_in^T q_i, and
        // dW = -dDelta S_in^T for Delta = U - W S_in.
        gemm_rows<T>(false, true, 2 * l, K, V, T(1), dO_Delta.data(), V, S, V, T(0), X_dW.data(), K);
        for (std::int64_t i = 0; i < l; ++i) {
          const T ei = f.e[std::size_t(i)];
          T* dq = &dQs[std::size_t(i * K)];
          const T* xi = &X_dW[std::size_t(i * K)];
          for (std::int64_t cc = 0; cc < K; ++cc) dq[cc] += ei * xi[cc];
          dgam[std::size_t(i)] += ei * dot(f.Qs() + i * K, xi, K);
        }
        // S_out = exp(gam_last) S_in + sum_j w_j k_j Delta_j^T: R = Delta dS^T.
        gemm_rows<T>(false, true, l, K, V, T(1), f.Delta.data(), V, dS.data(), V, T(0), R.data(), K);
        for (std::int64_t j = 0; j < l; ++j) {
          const T wj = f.w(j);
          const T* rj = &R[std::size_t(j * K)];
          T* dk = &dK[std::size_t(j * K)];
          for (std::int64_t cc = 0; cc < K; ++cc) dk[cc] += wj * rj[cc];
          const T through_w = wj * dot(k + j * K, rj, K);
          dgam[std::size_t(l - 1)] += through_w;
          dgam[std::size_t(j)] -= through_w;
        }
        dgam[std::size_t(l - 1)] += e_last * dot(dS.data(), S, K * V);
        // dS_in = exp(gam_last) dS + [diag(e) Qs; W]^T [dO; -dDelta]
        for (std::int64_t n = 0; n < K * V; ++n) dS_in[std::size_t(n)] = e_last * dS[std::size_t(n)];
        gemm_rows<T>(true, false, K, V, 2 * l, T(1), f.Qe_W.data(), K, dO_Delta.data(), V, T(1), dS_in.data(), V);
        // [U | W] = (I + M)^-1 [Vb | Kb]: [dVb | dKb] = (I + M)^-T [dDelta | dW], and
        // dM = -[dVb | dKb] [U | W]^T on the strict lower triangle.
        for (std::int64_t i = 0; i < l; ++i) {
          T* du = &dDW[std::size_t(i * ldu)];
          for (std::int64_t cc = 0; cc < V; ++cc) du[cc] = -mdDelta[i * V + cc];
          std::copy_n(&X_dW[std::size_t((l + i) * K)], K, du + V);
        }
        gemm_rows<T>(true, false, l, ldu, l, T(1), f.Tinv.data(), l, dDW.data(), ldu, T(0), dUW.data(), ldu);
        gemm_rows<T>(false, true, l, l, ldu, T(-1), dUW.data(), ldu, f.UW.data(), ldu, T(0), dLL.data(), l);
        // M[i,j] = beta_i (k_i . k_j) D[i,j], j < i: dLL becomes d(k_i . k_j), symmetrised below.
        for (std::int64_t i = 0; i < l; ++i) {
          T* dm = dLL.data() + i * l;
          const T* kk = f.KK() + i * l;
          const T* d = f.D.data() + i * l;
          const T bi = f.beta[std::size_t(i)];
          T row_sum = 0, dbi = 0;
          for (std::int64_t j = 0; j < i; ++j) {
            const T kd = kk[j] * d[j];
            dbi += dm[j] * kd;
            const T through_gam = dm[j] * bi * kd;
            row_sum += through_gam;
            dgam[std::size_t(j)] -= through_gam;
            dm[j] *= bi * d[j];
          }
          dbeta[std::size_t(i)] += dbi;
          dgam[std::size_t(i)] += row_sum;
          dm[i] = 0;
        }
        for (std::int64_t i = 0; i < l; ++i)
          for (std::int64_t j = i + 1; j < l; ++j) dLL[std::size_t(i * l + j)] = dLL[std::size_t(j * l + i)];
        gemm_rows<T>(false, false, l, K, l, T(1), dLL.data(), l, k, K, T(1), dK.data(), K);
        // Vb = diag(beta) v, Kb = diag(beta exp(gam)) k
        for (std::int64_t i = 0; i < l; ++i) {
          const T bi = f.beta[std::size_t(i)], ei = f.e[std::size_t(i)];
          const T* dvb = &dUW[std::size_t(i * ldu)];
          const T* dkb = dvb + V;
          T* dv = a.dv + v.vt(t0 + i);
          for (std::int64_t cc = 0; cc < V; ++cc) dv[cc] = bi * dvb[cc];
          T* dk = &dK[std::size_t(i * K)];
          for (std::int64_t cc = 0; cc < K; ++cc) dk[cc] += bi * ei * dkb[cc];
          const T through_kb = ei * dot(dkb, k + i * K, K);
          dbeta[std::size_t(i)] += dot(dvb, x + i * ldv, V) + through_kb;
          dgam[std::size_t(i)] += bi * through_kb;
        }
        // gam = cumulative g; the per-head q and k gradients, summed over key heads below.
        T suffix = 0;
        for (std::int64_t j = l - 1; j >= 0; --j) {
          suffix += dgam[std::size_t(j)];
          a.dg[v.ht(t0 + j)] = suffix;
          a.dbeta[v.ht(t0 + j)] = dbeta[std::size_t(j)];
        }
        T* wq = ws_dq + ((b * a.heads + h) * T_ + t0) * K;
        T* wk = ws_dk + ((b * a.heads + h) * T_ + t0) * K;
        for (std::int64_t n = 0; n < l * K; ++n) {
          wq[n] = a.scale * dQs[std::size_t(n)];
          wk[n] = dK[std::size_t(n)];
        }
        // A chunk that opens a document started from zero: nothing flows to the one before.
        if (row[std::size_t(c)].fresh) std::fill(dS_in.begin(), dS_in.end(), T(0));
        dS.swap(dS_in);
      }
      if (a.dinitial_state) std::copy(dS.begin(), dS.end(), a.dinitial_state + v.state());
    }
  }  // omp parallel
  // Sums over the value heads that share a key head's q and k.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t t = 0; t < T_; ++t)
      for (std::int64_t hk = 0; hk < a.key_heads; ++hk) {
        T* dq = a.dq ? a.dq + ((b * T_ + t) * a.key_heads + hk) * K : nullptr;
        T* dk = a.dk ? a.dk + ((b * T_ + t) * a.key_heads + hk) * K : nullptr;
        for (std::int64_t n = 0; n < K; ++n) {
          T sq = 0, sk = 0;
          for (std::int64_t h = hk * per_key; h < (hk + 1) * per_key; ++h) {
            sq += ws_dq[((b * a.heads + h) * T_ + t) * K + n];
            sk += ws_dk[((b * a.heads + h) * T_ + t) * K + n];
          }
          if (dq) dq[n] = sq;
          if (dk) dk[n] = sk;
        }
      }
}

template void gated_delta_rule_fwd_cpu<float>(const GatedDeltaRuleArgs<float>&);
template void gated_delta_rule_fwd_cpu<double>(const GatedDeltaRuleArgs<double>&);
template void gated_delta_rule_bwd_cpu<float>(const GatedDeltaRuleArgs<float>&);
template void gated_delta_rule_bwd_cpu<double>(const GatedDeltaRuleArgs<double>&);

}  // namespace strata::kernels::cpu
