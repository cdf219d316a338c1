#include "kernels/cpu/ssd.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace strata::kernels::cpu {
namespace {

template <class T>
T dot(const T* a, const T* b, std::int64_t n) {
  T s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Strided views of one (batch, head) pair: rows of x / y / dy at time t, B and C of its
// group, dt at time t.
template <class T>
struct HeadView {
  const SsdArgs<T>& a;
  std::int64_t b, h, g;
  std::int64_t xt(std::int64_t t) const { return ((b * a.seq_len + t) * a.heads + h) * a.head_dim; }
  std::int64_t bt(std::int64_t t) const { return ((b * a.seq_len + t) * a.groups + g) * a.d_state; }
  std::int64_t dtt(std::int64_t t) const { return (b * a.seq_len + t) * a.heads + h; }
  std::int64_t state() const { return (b * a.heads + h) * a.head_dim * a.d_state; }
  std::int64_t chunk_state(std::int64_t c) const {
    return ((b * a.heads + h) * ssd_chunk_count(a.seq_len, a.chunk) + c) * a.head_dim * a.d_state;
  }
};

// acum[i] = sum_{k <= i} dt[t0 + k] * A[h] over the chunk's l steps.
template <class T>
void cumulative_decay(const HeadView<T>& v, std::int64_t t0, std::int64_t l, std::vector<T>& acum) {
  T run = 0;
  for (std::int64_t i = 0; i < l; ++i) {
    run += v.a.dt[v.dtt(t0 + i)] * v.a.A[v.h];
    acum[std::size_t(i)] = run;
  }
}

}  // namespace

std::int64_t ssd_chunk_count(std::int64_t seq_len, std::int64_t chunk) { return (seq_len + chunk - 1) / chunk; }

std::int64_t ssd_chunk_states_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads,
                                   std::int64_t head_dim, std::int64_t d_state, std::int64_t chunk) {
  return batch * heads * ssd_chunk_count(seq_len, chunk) * head_dim * d_state;
}

std::int64_t ssd_bwd_workspace_size(std::int64_t batch, std::int64_t seq_len, std::int64_t heads, std::int64_t d_state) {
  return 2 * batch * heads * seq_len * d_state + batch * heads;  // dB and dC per head, dA per (batch, head)
}

template <class T>
void ssd_fwd_cpu(const SsdArgs<T>& a) {
  const std::int64_t P = a.head_dim, N = a.d_state, L = a.chunk, per_group = a.heads / a.groups;
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_group};
      std::vector<T> S(static_cast<std::size_t>(P * N), T(0)), acum(static_cast<std::size_t>(L));
      if (a.initial_state) std::copy_n(a.initial_state + v.state(), P * N, S.begin());
      for (std::int64_t c = 0, t0 = 0; t0 < a.seq_len; ++c, t0 += L) {
        const std::int64_t l = std::min(L, a.seq_len - t0);
        if (a.chunk_states) std::copy(S.begin(), S.end(), a.chunk_states + v.chunk_state(c));
        cumulative_decay(v, t0, l, acum);
        for (std::int64_t i = 0; i < l; ++i) {
          const T* Ci = a.C + v.bt(t0 + i);
          T* yi = a.y + v.xt(t0 + i);
          const T ei = std::exp(acum[std::size_t(i)]);
          for (std::int64_t p = 0; p < P; ++p) yi[p] = ei * dot(&S[std::size_t(p * N)], Ci, N);
          for (std::int64_t j = 0; j <= i; ++j) {
            const T w = dot(Ci, a.B + v.bt(t0 + j), N) * std::exp(acum[std::size_t(i)] - acum[std::size_t(j)]) *
                        a.dt[v.dtt(t0 + j)];
            const T* xj = a.x + v.xt(t0 + j);
            for (std::int64_t p = 0; p < P; ++p) yi[p] += w * xj[p];
          }
        }
        const T last = acum[std::size_t(l - 1)], e_last = std::exp(last);
        for (T& s : S) s *= e_last;
        for (std::int64_t j = 0; j < l; ++j) {
          const T w = std::exp(last - acum[std::size_t(j)]) * a.dt[v.dtt(t0 + j)];
          const T* xj = a.x + v.xt(t0 + j);
          const T* Bj = a.B + v.bt(t0 + j);
          for (std::int64_t p = 0; p < P; ++p) {
            const T wx = w * xj[p];
            T* row = &S[std::size_t(p * N)];
            for (std::int64_t n = 0; n < N; ++n) row[n] += wx * Bj[n];
          }
        }
      }
      std::copy(S.begin(), S.end(), a.final_state + v.state());
    }
}

// The adjoint of the chunk form above, chunk by chunk from the last: dS is the gradient of
// the state leaving the chunk; the chunk's own state comes from the forward's chunk_states.
template <class T>
void ssd_bwd_cpu(const SsdArgs<T>& a) {
  const std::int64_t P = a.head_dim, N = a.d_state, L = a.chunk, T_ = a.seq_len, per_group = a.heads / a.groups;
  T* ws_dB = a.workspace;                          // [B, H, T, N]
  T* ws_dC = ws_dB + a.batch * a.heads * T_ * N;   // [B, H, T, N]
  T* ws_dA = ws_dC + a.batch * a.heads * T_ * N;   // [B, H]
#pragma omp parallel for collapse(2) schedule(static)
  for (std::int64_t b = 0; b < a.batch; ++b)
    for (std::int64_t h = 0; h < a.heads; ++h) {
      const HeadView<T> v{a, b, h, h / per_group};
      T* dBh = ws_dB + (b * a.heads + h) * T_ * N;
      T* dCh = ws_dC + (b * a.heads + h) * T_ * N;
      std::fill_n(dBh, T_ * N, T(0));
      std::fill_n(dCh, T_ * N, T(0));
      T dA = 0;
      std::vector<T> dS(static_cast<std::size_t>(P * N), T(0)), dS_in(static_cast<std::size_t>(P * N)), acum(static_cast<std::size_t>(L)),
          dacum(static_cast<std::size_t>(L)), du(static_cast<std::size_t>(L * P)), dSB(static_cast<std::size_t>(P));
      if (a.dfinal_state) std::copy_n(a.dfinal_state + v.state(), P * N, dS.begin());
      const std::int64_t chunks = ssd_chunk_count(T_, L);
      for (std::int64_t c = chunks - 1; c >= 0; --c) {
        const std::int64_t t0 = c * L, l = std::min(L, T_ - t0);
        const T* S = a.chunk_states + v.chunk_state(c);
        cumulative_decay(v, t0, l, acum);
        std::fill(dacum.begin(), dacum.end(), T(0));
        std::fill(du.begin(), du.end(), T(0));
        std::fill(dS_in.begin(), dS_in.end(), T(0));
        for (std::int64_t i = 0; i < l; ++i) {
          const T* Ci = a.C + v.bt(t0 + i);
          const T* dyi = a.dy + v.xt(t0 + i);
          T* dCi = dCh + (t0 + i) * N;
          const T ei = std::exp(acum[std::size_t(i)]);
          // y_i's term exp(A_i) S C_i
          for (std::int64_t p = 0; p < P; ++p) {
            const T* Srow = S + p * N;
            T* dSrow = &dS_in[std::size_t(p * N)];
            const T g = ei * dyi[p];
            dacum[std::size_t(i)] += g * dot(Srow, Ci, N);
            for (std::int64_t n = 0; n < N; ++n) {
              dCi[n] += g * Srow[n];
              dSrow[n] += g * Ci[n];
            }
          }
          // y_i's terms (C_i . B_j) exp(A_i - A_j) dt_j x_j
          for (std::int64_t j = 0; j <= i; ++j) {
            const T* Bj = a.B + v.bt(t0 + j);
            const T* xj = a.x + v.xt(t0 + j);
            const T dtj = a.dt[v.dtt(t0 + j)];
            const T decay = std::exp(acum[std::size_t(i)] - acum[std::size_t(j)]);
            const T cb = dot(Ci, Bj, N);
            const T dyu = dtj * dot(dyi, xj, P);  // dy_i . u_j, u_j = dt_j x_j
            const T gij = decay * cb * dyu;
            dacum[std::size_t(i)] += gij;
            dacum[std::size_t(j)] -= gij;
            T* dBj = dBh + (t0 + j) * N;
            for (std::int64_t n = 0; n < N; ++n) {
              dCi[n] += decay * dyu * Bj[n];
              dBj[n] += decay * dyu * Ci[n];
            }
            T* duj = &du[std::size_t(j * P)];
            for (std::int64_t p = 0; p < P; ++p) duj[p] += decay * cb * dyi[p];
          }
        }
        // The state leaving the chunk: exp(A_last) S + sum_j exp(A_last - A_j) u_j B_j^T.
        const T last = acum[std::size_t(l - 1)], e_last = std::exp(last);
        for (std::int64_t j = 0; j < l; ++j) {
          const T* Bj = a.B + v.bt(t0 + j);
          const T* xj = a.x + v.xt(t0 + j);
          const T dtj = a.dt[v.dtt(t0 + j)];
          const T w = std::exp(last - acum[std::size_t(j)]);
          T* dBj = dBh + (t0 + j) * N;
          T s = 0;  // <dS, w u_j B_j^T>
          for (std::int64_t p = 0; p < P; ++p) {
            const T* dSrow = &dS[std::size_t(p * N)];
            dSB[std::size_t(p)] = dot(dSrow, Bj, N);
            const T uj = dtj * xj[p];
            s += uj * dSB[std::size_t(p)];
            for (std::int64_t n = 0; n < N; ++n) dBj[n] += w * uj * dSrow[n];
          }
          s *= w;
          dacum[std::size_t(l - 1)] += s;
          dacum[std::size_t(j)] -= s;
          T* duj = &du[std::size_t(j * P)];
          for (std::int64_t p = 0; p < P; ++p) duj[p] += w * dSB[std::size_t(p)];
        }
        T dS_dot_S = 0;
        for (std::int64_t k = 0; k < P * N; ++k) {
          dS_dot_S += dS[std::size_t(k)] * S[k];
          dS_in[std::size_t(k)] += e_last * dS[std::size_t(k)];
        }
        dacum[std::size_t(l - 1)] += e_last * dS_dot_S;
        // u_j = dt_j x_j; A_i = sum_{k <= i} dt_k A_h.
        T suffix = 0;
        for (std::int64_t j = l - 1; j >= 0; --j) {
          suffix += dacum[std::size_t(j)];
          const T* xj = a.x + v.xt(t0 + j);
          const T* duj = &du[std::size_t(j * P)];
          const T dtj = a.dt[v.dtt(t0 + j)];
          T* dxj = a.dx + v.xt(t0 + j);
          for (std::int64_t p = 0; p < P; ++p) dxj[p] = dtj * duj[p];
          a.ddt[v.dtt(t0 + j)] = dot(xj, duj, P) + suffix * a.A[h];
          dA += suffix * dtj;
        }
        dS.swap(dS_in);
      }
      if (a.dinitial_state) std::copy(dS.begin(), dS.end(), a.dinitial_state + v.state());
      ws_dA[b * a.heads + h] = dA;
    }
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
