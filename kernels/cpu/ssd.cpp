#include "kernels/cpu/ssd.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/chunk_plan.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/scratch.h"

namespace strata::kernels::cpu {
namespace {

// Strided views of one (batch, head) pair: rows of x / y / dy at time t, B and C of its
// group, dt at time t.
template <class T>
struct HeadView {
  const SsdArgs<T>& a;
  std::int64_t b, h, g;
  std::int64_t chunks;  // ChunkPlan::max_chunks
  std::int64_t xt(std::int64_t t) const { return ((b * a.seq_len + t) * a.heads + h) * a.head_dim; }
  std::int64_t bt(std::int64_t t) const { return ((b * a.seq_len + t) * a.groups + g) * a.d_state; }
  std::int64_t dtt(std::int64_t t) const { return (b * a.seq_len + t) * a.heads + h; }
  std::int64_t state() const { return (b * a.heads + h) * a.head_dim * a.d_state; }
  std::int64_t chunk_state(std::int64_t c) const {
    return ((b * a.heads + h) * chunks + c) * a.head_dim * a.d_state;
  }
};

// acum[i] = sum_{k <= i} dt[t0 + k] * A[h] over the chunk's l steps.
template <class T>
void cumulative_decay(const HeadView<T>& v, std::int64_t t0, std::int64_t l, Buffer<T>& acum) {
  T run = 0;
  for (std::int64_t i = 0; i < l; ++i) {
    run += v.a.dt[v.dtt(t0 + i)] * v.a.A[v.h];
    acum[std::size_t(i)] = run;
  }
}

// dt of the chunk's l steps, contiguous (dt is [B, T, H]: stride H in memory).
template <class T>
void chunk_steps(const HeadView<T>& v, std::int64_t t0, std::int64_t l, Buffer<T>& dt) {
  for (std::int64_t j = 0; j < l; ++j) dt[std::size_t(j)] = v.a.dt[v.dtt(t0 + j)];
}

// C B^T of every chunk, once per group (the heads of a group share it): [B, G, chunks, L, L],
// chunk c's l x l block at its start (row stride l).
template <class T>
std::vector<T> chunk_cb(const SsdArgs<T>& a, const ChunkPlan& plan) {
  const std::int64_t L = a.chunk, N = a.d_state, chunks = plan.max_chunks, ldb = a.groups * N;
  std::vector<T> cb(static_cast<std::size_t>(a.batch * a.groups * chunks * L * L));
#pragma omp parallel for collapse(3) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t g = 0; g < a.groups; ++g)
      for (std::int64_t c = 0; c < chunks; ++c) {
        const std::vector<Chunk>& row = plan.rows[std::size_t(b)];
        if (c >= std::int64_t(row.size())) continue;
        const std::int64_t t0 = row[std::size_t(c)].t0, l = row[std::size_t(c)].len;
        const std::int64_t at = ((b * a.seq_len + t0) * a.groups + g) * N;
        gemm_rows<T>(false, true, l, l, N, T(1), a.C + at, ldb, a.B + at, ldb, T(0),
              cb.data() + ((b * a.groups + g) * chunks + c) * L * L, l);
      }
  return cb;
}

// One thread's buffers in the forward (L = the chunk, P = head_dim, N = d_state).
template <class T>
struct ForwardScratch {
  Buffer<T> S;            // [P, N]: the state
  Buffer<T> acum, dts;    // [L]
  Buffer<T> M;            // [L, L]
  Buffer<T> SC, Xw;       // [L, P]
  ForwardScratch(Arena<T>& take, std::int64_t L, std::int64_t P, std::int64_t N)
      : S(take(P * N)), acum(take(L)), dts(take(L)), M(take(L * L)), SC(take(L * P)), Xw(take(L * P)) {}
};

// One thread's buffers in the backward.
template <class T>
struct BackwardScratch {
  Buffer<T> dS, dS_in;                // [P, N]
  Buffer<T> acum, dacum, dts;         // [L]
  Buffer<T> Q, R, dyx;                // [L, L]
  Buffer<T> du, dYe, dSB, Xw;         // [L, P]
  Buffer<T> dYS;                      // [L, N]
  BackwardScratch(Arena<T>& take, std::int64_t L, std::int64_t P, std::int64_t N)
      : dS(take(P * N)), dS_in(take(P * N)), acum(take(L)), dacum(take(L)), dts(take(L)), Q(take(L * L)),
        R(take(L * L)), dyx(take(L * L)), du(take(L * P)), dYe(take(L * P)), dSB(take(L * P)), Xw(take(L * P)),
        dYS(take(L * N)) {}
};

template <class Scratch>
std::int64_t scratch_elements(std::int64_t L, std::int64_t P, std::int64_t N) {
  Arena<float> count;
  Scratch dry(count, L, P, N);
  return count.used;
}

}  // namespace

std::int64_t ssd_scratch_size(std::int64_t chunk, std::int64_t head_dim, std::int64_t d_state, bool backward) {
  return backward ? scratch_elements<BackwardScratch<float>>(chunk, head_dim, d_state)
                  : scratch_elements<ForwardScratch<float>>(chunk, head_dim, d_state);
}

std::int64_t ssd_chunk_states_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                   std::int64_t head_dim, std::int64_t d_state, std::int64_t chunk,
                                   const std::int64_t* seq_start) {
  return batch * heads * chunk_plan(batch, seq_len, chunk, seq_start).max_chunks * head_dim * d_state;
}

std::int64_t ssd_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t d_state) {
  return 2 * batch * heads * seq_len * d_state + batch * heads;  // dB and dC per head, dA per (batch, head)
}

template <class T>
void ssd_fwd_cpu(const SsdArgs<T>& a) {
  const std::int64_t P = a.head_dim, N = a.d_state, L = a.chunk, per_group = a.heads / a.groups;
  const ChunkPlan plan = chunk_plan(a.batch, a.seq_len, L, a.seq_start);
  const std::vector<T> cb = chunk_cb(a, plan);
  const std::int64_t chunks = plan.max_chunks;
  const std::int64_t per_thread = ssd_scratch_size(L, P, N, false);
#pragma omp parallel num_threads(int(a.scratch_threads))
  {
    Arena<T> take{a.scratch + omp_get_thread_num() * per_thread};
    ForwardScratch<T> mine(take, L, P, N);
    Buffer<T>&S = mine.S, &acum = mine.acum, &dts = mine.dts, &M = mine.M, &SC = mine.SC, &Xw = mine.Xw;
#pragma omp for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_group, chunks};
      if (a.initial_state)
        std::copy_n(a.initial_state + v.state(), P * N, S.begin());
      else
        std::fill(S.begin(), S.end(), T(0));
      const std::int64_t ldx = a.heads * P, ldb = a.groups * N;
      const std::vector<Chunk>& row = plan.rows[std::size_t(b)];
      for (std::int64_t c = 0; c < std::int64_t(row.size()); ++c) {
        const std::int64_t t0 = row[std::size_t(c)].t0, l = row[std::size_t(c)].len;
        if (row[std::size_t(c)].fresh) std::fill(S.begin(), S.end(), T(0));
        if (a.chunk_states) std::copy(S.begin(), S.end(), a.chunk_states + v.chunk_state(c));
        cumulative_decay(v, t0, l, acum);
        const T* Cc = a.C + v.bt(t0);
        const T* Bc = a.B + v.bt(t0);
        const T* Xc = a.x + v.xt(t0);
        T* Y = a.y + v.xt(t0);
        // M = (C B^T) o exp(A_i - A_j) dt_j, lower triangle: the quadratic form inside the chunk
        const T* CB = cb.data() + ((b * a.groups + v.g) * chunks + c) * L * L;
        chunk_steps(v, t0, l, dts);
        for (std::int64_t i = 0; i < l; ++i) {
          T* m = M.data() + i * l;
          decay_row(acum.data(), i, m);
          for (std::int64_t j = 0; j <= i; ++j) m[j] *= CB[i * l + j] * dts[std::size_t(j)];
          std::fill(m + i + 1, m + l, T(0));
        }
        gemm_rows<T>(false, false, l, P, l, T(1), M.data(), l, Xc, ldx, T(0), Y, ldx);
        // + exp(A_i) S C_i: the state entering the chunk
        gemm_rows<T>(false, true, l, P, N, T(1), Cc, ldb, S.data(), N, T(0), SC.data(), P);
        for (std::int64_t i = 0; i < l; ++i) {
          const T ei = std::exp(acum[std::size_t(i)]);
          for (std::int64_t p = 0; p < P; ++p) Y[i * ldx + p] += ei * SC[std::size_t(i * P + p)];
        }
        // S = exp(A_last) S + (diag(w) X)^T B, w_j = exp(A_last - A_j) dt_j
        const T last = acum[std::size_t(l - 1)];
        for (std::int64_t j = 0; j < l; ++j) {
          const T w = std::exp(last - acum[std::size_t(j)]) * a.dt[v.dtt(t0 + j)];
          for (std::int64_t p = 0; p < P; ++p) Xw[std::size_t(j * P + p)] = w * Xc[j * ldx + p];
        }
        gemm_rows<T>(true, false, P, N, l, T(1), Xw.data(), P, Bc, ldb, std::exp(last), S.data(), N);
      }
      std::copy(S.begin(), S.end(), a.final_state + v.state());
    }
  }  // omp parallel
}

// The adjoint of the chunk form above, chunk by chunk from the last: dS is the gradient of
// the state leaving the chunk; the chunk's own state comes from the forward's chunk_states.
template <class T>
void ssd_bwd_cpu(const SsdArgs<T>& a) {
  const std::int64_t P = a.head_dim, N = a.d_state, L = a.chunk, T_ = a.seq_len, per_group = a.heads / a.groups;
  const ChunkPlan plan = chunk_plan(a.batch, T_, L, a.seq_start);
  const std::vector<T> cb = chunk_cb(a, plan);
  const std::int64_t chunks = plan.max_chunks;
  T* ws_dB = a.workspace;                          // [B, H, T, N]
  T* ws_dC = ws_dB + a.batch * a.heads * T_ * N;   // [B, H, T, N]
  T* ws_dA = ws_dC + a.batch * a.heads * T_ * N;   // [B, H]
  const std::int64_t per_thread = ssd_scratch_size(L, P, N, true);
#pragma omp parallel num_threads(int(a.scratch_threads))
  {
    Arena<T> take{a.scratch + omp_get_thread_num() * per_thread};
    BackwardScratch<T> mine(take, L, P, N);
    Buffer<T>&dS = mine.dS, &dS_in = mine.dS_in, &acum = mine.acum, &dacum = mine.dacum, &dts = mine.dts,
              &Q = mine.Q, &R = mine.R, &dyx = mine.dyx, &du = mine.du, &dYe = mine.dYe, &dYS = mine.dYS,
              &dSB = mine.dSB, &Xw = mine.Xw;
#pragma omp for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_group, chunks};
      T* dBh = ws_dB + (b * a.heads + h) * T_ * N;
      T* dCh = ws_dC + (b * a.heads + h) * T_ * N;
      std::fill_n(dBh, T_ * N, T(0));
      std::fill_n(dCh, T_ * N, T(0));
      T dA = 0;
      const std::int64_t ldx = a.heads * P, ldb = a.groups * N;
      if (a.dfinal_state)
        std::copy_n(a.dfinal_state + v.state(), P * N, dS.begin());
      else
        std::fill(dS.begin(), dS.end(), T(0));
      const std::vector<Chunk>& row = plan.rows[std::size_t(b)];
      for (std::int64_t c = std::int64_t(row.size()) - 1; c >= 0; --c) {
        const std::int64_t t0 = row[std::size_t(c)].t0, l = row[std::size_t(c)].len;
        const T* S = a.chunk_states + v.chunk_state(c);
        const T* Cc = a.C + v.bt(t0);
        const T* Bc = a.B + v.bt(t0);
        const T* Xc = a.x + v.xt(t0);
        const T* dY = a.dy + v.xt(t0);
        T* dBc = dBh + t0 * N;
        T* dCc = dCh + t0 * N;
        cumulative_decay(v, t0, l, acum);
        std::fill(dacum.begin(), dacum.end(), T(0));
        const T last = acum[std::size_t(l - 1)], e_last = std::exp(last);
        // The quadratic form y_i += sum_{j<=i} (C_i . B_j) exp(A_i - A_j) dt_j x_j:
        // R = (C B^T) o decay, Q = (dY X^T) o dt_j o decay, both lower triangles.
        const T* CB = cb.data() + ((b * a.groups + v.g) * chunks + c) * L * L;
        gemm_rows<T>(false, true, l, l, P, T(1), dY, ldx, Xc, ldx, T(0), dyx.data(), l);
        chunk_steps(v, t0, l, dts);
        for (std::int64_t i = 0; i < l; ++i) {
          T* r = R.data() + i * l;
          T* q = Q.data() + i * l;
          const T* yx = dyx.data() + i * l;
          decay_row(acum.data(), i, r);  // the decay first, then R in place
          T row_sum = 0;
          for (std::int64_t j = 0; j <= i; ++j) {
            const T decay = r[j], ydt = yx[j] * dts[std::size_t(j)];
            r[j] = decay * CB[i * l + j];
            q[j] = decay * ydt;
            const T g = r[j] * ydt;  // d y / d A_i, and -d y / d A_j
            row_sum += g;
            dacum[std::size_t(j)] -= g;
          }
          dacum[std::size_t(i)] += row_sum;
          std::fill(r + i + 1, r + l, T(0));
          std::fill(q + i + 1, q + l, T(0));
        }
        gemm_rows<T>(false, false, l, N, l, T(1), Q.data(), l, Bc, ldb, T(1), dCc, N);   // dC += Q B
        gemm_rows<T>(true, false, l, N, l, T(1), Q.data(), l, Cc, ldb, T(1), dBc, N);    // dB += Q^T C
        gemm_rows<T>(true, false, l, P, l, T(1), R.data(), l, dY, ldx, T(0), du.data(), P);  // du = R^T dY
        // The state entering the chunk, y_i += exp(A_i) S C_i.
        for (std::int64_t i = 0; i < l; ++i) {
          const T ei = std::exp(acum[std::size_t(i)]);
          for (std::int64_t p = 0; p < P; ++p) dYe[std::size_t(i * P + p)] = ei * dY[i * ldx + p];
        }
        // dYS = diag(e) dY S: [l, N], C's gradient through the state term; and since
        // dYe_i . (S C_i) = (dYe S)_i . C_i, A_i's gradient through it, without forming S C_i.
        gemm_rows<T>(false, false, l, N, P, T(1), dYe.data(), P, S, N, T(0), dYS.data(), N);
        for (std::int64_t i = 0; i < l; ++i) {
          const T* dys = &dYS[std::size_t(i * N)];
          dacum[std::size_t(i)] += dot(dys, Cc + i * ldb, N);
          for (std::int64_t n = 0; n < N; ++n) dCc[i * N + n] += dys[n];
        }
        std::copy(dS.begin(), dS.end(), dS_in.begin());
        gemm_rows<T>(true, false, P, N, l, T(1), dYe.data(), P, Cc, ldb, e_last, dS_in.data(), N);  // + e_last dS
        // The state leaving the chunk, exp(A_last) S + sum_j w_j u_j B_j^T, u_j = dt_j x_j.
        gemm_rows<T>(false, true, l, P, N, T(1), Bc, ldb, dS.data(), N, T(0), dSB.data(), P);  // dS B_j
        T dS_dot_S = 0;
        for (std::int64_t k = 0; k < P * N; ++k) dS_dot_S += dS[std::size_t(k)] * S[k];
        dacum[std::size_t(l - 1)] += e_last * dS_dot_S;
        for (std::int64_t j = 0; j < l; ++j) {
          const T w = std::exp(last - acum[std::size_t(j)]), dtj = a.dt[v.dtt(t0 + j)];
          T s_j = 0;
          for (std::int64_t p = 0; p < P; ++p) {
            const T dsb = dSB[std::size_t(j * P + p)];
            s_j += Xc[j * ldx + p] * dsb;
            du[std::size_t(j * P + p)] += w * dsb;
            Xw[std::size_t(j * P + p)] = w * dtj * Xc[j * ldx + p];
          }
          s_j *= w * dtj;
          dacum[std::size_t(l - 1)] += s_j;
          dacum[std::size_t(j)] -= s_j;
        }
        gemm_rows<T>(false, false, l, N, P, T(1), Xw.data(), P, dS.data(), N, T(1), dBc, N);  // dB += diag(w dt) X dS
        // u_j = dt_j x_j; A_i = sum_{k <= i} dt_k A_h.
        T suffix = 0;
        for (std::int64_t j = l - 1; j >= 0; --j) {
          suffix += dacum[std::size_t(j)];
          const T* duj = &du[std::size_t(j * P)];
          const T dtj = a.dt[v.dtt(t0 + j)];
          T* dxj = a.dx + v.xt(t0 + j);
          for (std::int64_t p = 0; p < P; ++p) dxj[p] = dtj * duj[p];
          a.ddt[v.dtt(t0 + j)] = dot(Xc + j * ldx, duj, P) + suffix * a.A[h];
          dA += suffix * dtj;
        }
        // A chunk that opens a document started from zero: nothing flows to the one before.
        if (row[std::size_t(c)].fresh) std::fill(dS_in.begin(), dS_in.end(), T(0));
        dS.swap(dS_in);
      }
      if (a.dinitial_state) std::copy(dS.begin(), dS.end(), a.dinitial_state + v.state());
      ws_dA[b * a.heads + h] = dA;
    }
  }  // omp parallel
  // Sums over the heads sharing a group's B and C, and over the batch for A.
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t t = 0; t < T_; ++t)
      for (std::int64_t g = 0; g < a.groups; ++g)
        for (std::int64_t n = 0; n < N; ++n) {
          T sb = 0, sc = 0;
          for (std::int64_t h = g * per_group; h < (g + 1) * per_group; ++h) {
            sb += ws_dB[((b * a.heads + h) * T_ + t) * N + n];
            sc += ws_dC[((b * a.heads + h) * T_ + t) * N + n];
          }
          if (a.dB) a.dB[((b * T_ + t) * a.groups + g) * N + n] = sb;
          if (a.dC) a.dC[((b * T_ + t) * a.groups + g) * N + n] = sc;
        }
  if (a.dA)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      T s = 0;
      for (std::int64_t b = 0; b < a.batch; ++b) s += ws_dA[b * a.heads + h];
      a.dA[h] = s;
    }
}

template void ssd_fwd_cpu<float>(const SsdArgs<float>&);
template void ssd_fwd_cpu<double>(const SsdArgs<double>&);
template void ssd_bwd_cpu<float>(const SsdArgs<float>&);
template void ssd_bwd_cpu<double>(const SsdArgs<double>&);

}  // namespace strata::kernels::cpu
