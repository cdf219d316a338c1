#include "kernels/cpu/attention.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/row_reductions-inl.h"

HWY_BEFORE_NAMESPACE();
namespace strata::kernels::cpu::HWY_NAMESPACE {

namespace {

// Tile sizes: a [kQueryTile x kKeyTile] block of scores (32 KiB in f32) stays in L1/L2
// next to the [tile x d] operands, and each tile product is large enough for BLAS's
// small-matrix path to run near its peak (bench/bench_attention.cpp).
constexpr std::int64_t kQueryTile = 64;
constexpr std::int64_t kKeyTile = 128;

template <class T>
constexpr T kNegInf = -std::numeric_limits<T>::infinity();

// exp(x), f32 through the same vector code as the rows (the same bits as a vector lane).
template <class T>
T exp_of(T x) {
  if constexpr (std::is_same_v<T, float>)
    return vec::exp_scalar(x);
  else
    return std::exp(x);
}

// x[c] = exp(x[c] - shift); returns the sum of the new values.
template <class T>
T exp_shifted_sum(T* x, std::int64_t n, T shift) {
  return row_sum_exp(static_cast<const T*>(x), shift, x, n);
}

// ---- geometry ----------------------------------------------------------------------

// Which keys each query row may see, and pointers to one (batch, head) slice.
template <class T>
struct Layout {
  const AttentionArgs<T>& a;
  std::int64_t group = a.n_heads / a.n_kv_heads;  // query heads per key/value head

  // Keys [key_begin, key_end) of query row i of sequence b (both grow with i).
  std::int64_t key_begin(std::int64_t b, std::int64_t i) const {
    const std::int64_t begin = attention_visible_keys(i, a.query_offset, a.kv_len, a.causal, a.window).begin;
    return a.seq_start ? std::max(begin, a.seq_start[b * a.q_len + i]) : begin;
  }
  std::int64_t key_end(std::int64_t i) const {
    return attention_visible_keys(i, a.query_offset, a.kv_len, a.causal, a.window).end;
  }
  // The query rows [begin, end) of sequence b that see some key of [j0, j1): the inverse
  // of the above. With packed documents, rows from the first document starting at or
  // after j1 on see none of them.
  VisibleKeys queries_seeing(std::int64_t b, std::int64_t j0, std::int64_t j1) const {
    const std::int64_t begin = a.causal ? std::max<std::int64_t>(0, j0 - a.query_offset) : 0;
    std::int64_t end =
        a.window > 0 ? std::min<std::int64_t>(a.q_len, j1 + a.window - 1 - a.query_offset) : a.q_len;
    if (a.seq_start && j1 < end) {
      const std::int64_t* row = a.seq_start + b * a.q_len;
      end = std::lower_bound(row + j1, row + end, j1) - row;
    }
    return {begin, end};
  }
  // Whether some row of [i0, i1) of sequence b cannot see some key of [j0, j1).
  bool needs_mask(std::int64_t b, std::int64_t i0, std::int64_t i1, std::int64_t j0, std::int64_t j1) const {
    return j0 < key_begin(b, i1 - 1) || j1 > key_end(i0);
  }
  // scores: [i1 - i0, ld], columns for keys [j0, j1): invisible entries become -inf.
  void mask(T* scores, std::int64_t ld, std::int64_t b, std::int64_t i0, std::int64_t i1, std::int64_t j0,
            std::int64_t j1) const {
    for (std::int64_t i = i0; i < i1; ++i) {
      T* row = scores + (i - i0) * ld;
      const std::int64_t lo = std::clamp(key_begin(b, i), j0, j1) - j0, hi = std::clamp(key_end(i), j0, j1) - j0;
      std::fill(row, row + lo, kNegInf<T>);
      std::fill(row + hi, row + (j1 - j0), kNegInf<T>);
    }
  }

  const T* q(std::int64_t b, std::int64_t h, std::int64_t i) const {
    return a.q + b * a.q_stride_b + i * a.q_stride_t + h * a.head_dim;
  }
  const T* k(std::int64_t b, std::int64_t h, std::int64_t j) const {
    return a.k + b * a.k_stride_b + j * a.k_stride_t + (h / group) * a.head_dim;
  }
  const T* v(std::int64_t b, std::int64_t h, std::int64_t j) const {
    return a.v + b * a.v_stride_b + j * a.v_stride_t + (h / group) * a.head_dim;
  }
  // Row stride of the contiguous [B, T, Hq, d] tensors (out, dout, dq).
  std::int64_t row_stride() const { return a.n_heads * a.head_dim; }
  std::int64_t row_offset(std::int64_t b, std::int64_t h, std::int64_t i) const {
    return ((b * a.q_len + i) * a.n_heads + h) * a.head_dim;
  }
  std::int64_t lse_offset(std::int64_t b, std::int64_t h, std::int64_t i) const {
    return (b * a.n_heads + h) * a.q_len + i;
  }
};

template <class T>
void check_args(const AttentionArgs<T>& a) {
  if (a.n_kv_heads <= 0 || a.n_heads % a.n_kv_heads != 0)
    throw std::invalid_argument("attention kernel: n_heads must be a positive multiple of n_kv_heads");
  // CBLAS takes int sizes and strides.
  constexpr std::int64_t kMax = std::numeric_limits<int>::max();
  if (a.q_stride_t > kMax || a.k_stride_t > kMax || a.v_stride_t > kMax || a.n_heads * a.head_dim > kMax)
    throw std::length_error("attention kernel: a row stride exceeds the 32-bit range of CBLAS");
}

template <class T>
struct ForwardScratch {
  std::vector<T> scores = std::vector<T>(kQueryTile * kKeyTile);  // [Br, Bc]
  std::vector<T> acc;                                             // [Br, d] unnormalised output
  std::vector<T> row_max = std::vector<T>(kQueryTile);            // running max of each row
  std::vector<T> row_sum = std::vector<T>(kQueryTile);            // running sum of exp(s - max)
};

template <class T>
struct BackwardScratch {
  std::vector<T> scores = std::vector<T>(kQueryTile * kKeyTile);   // [Br, Bc] probabilities P
  std::vector<T> dscores = std::vector<T>(kQueryTile * kKeyTile);  // [Br, Bc] dP, then dS
  std::vector<T> dk, dv;                                           // [Bc, d] accumulators
  std::vector<T> delta;                                            // [T] rowsum(dO * O)
};

}  // namespace

template <class T>
void attention_fwd_cpu(const AttentionArgs<T>& a) {
  check_args(a);
  const Layout<T> L{a};
  const std::int64_t d = a.head_dim, H = a.n_heads;
  const std::int64_t q_tiles = (a.q_len + kQueryTile - 1) / kQueryTile;
  auto make = [&] {
    ForwardScratch<T> s;
    s.acc.resize(kQueryTile * d);
    return s;
  };
  parallel_items_with_scratch(a.batch * H * q_tiles, make, [&](std::int64_t item, ForwardScratch<T>& s) {
    const std::int64_t b = item / (H * q_tiles), h = item / q_tiles % H;
    // Last tiles first: under causal masking they see the most keys.
    const std::int64_t i0 = (q_tiles - 1 - item % q_tiles) * kQueryTile;
    const std::int64_t i1 = std::min(a.q_len, i0 + kQueryTile), rows = i1 - i0;
    std::fill(s.row_max.begin(), s.row_max.end(), kNegInf<T>);
    std::fill(s.row_sum.begin(), s.row_sum.end(), T(0));
    std::fill(s.acc.begin(), s.acc.end(), T(0));

    const std::int64_t j_end = L.key_end(i1 - 1);
    for (std::int64_t j0 = L.key_begin(b, i0); j0 < j_end; j0 += kKeyTile) {
      const std::int64_t j1 = std::min(j_end, j0 + kKeyTile), cols = j1 - j0;
      // scores = scale * Q_i K_j^T: [rows, cols]
      gemm_rows<T>(false, true, rows, cols, d, a.scale, L.q(b, h, i0), a.q_stride_t, L.k(b, h, j0), a.k_stride_t, T(0),
                   s.scores.data(), kKeyTile);
      if (L.needs_mask(b, i0, i1, j0, j1)) L.mask(s.scores.data(), kKeyTile, b, i0, i1, j0, j1);
      for (std::int64_t r = 0; r < rows; ++r) {
        T* row = s.scores.data() + r * kKeyTile;
        const T new_max = std::max(s.row_max[r], row_max(row, cols));
        if (new_max == kNegInf<T>) {  // nothing visible yet: contributes nothing
          std::fill(row, row + cols, T(0));
          continue;
        }
        const T correction = exp_of(s.row_max[r] - new_max);  // 0 for the first visible tile
        s.row_sum[r] = s.row_sum[r] * correction + exp_shifted_sum(row, cols, new_max);
        s.row_max[r] = new_max;
        if (correction != T(1))
          for (std::int64_t c = 0; c < d; ++c) s.acc[r * d + c] *= correction;
      }
      // acc += P V_j: [rows, d]
      gemm_rows<T>(false, false, rows, d, cols, T(1), s.scores.data(), kKeyTile, L.v(b, h, j0), a.v_stride_t, T(1),
                   s.acc.data(), d);
    }
    for (std::int64_t r = 0; r < rows; ++r) {
      const T sum = s.row_sum[r], inv = sum > 0 ? T(1) / sum : T(0);
      T* out = a.out + L.row_offset(b, h, i0 + r);
      for (std::int64_t c = 0; c < d; ++c) out[c] = s.acc[r * d + c] * inv;
      if (a.lse) a.lse[L.lse_offset(b, h, i0 + r)] = sum > 0 ? s.row_max[r] + std::log(sum) : kNegInf<T>;
    }
  });
}

template <class T>
void attention_bwd_cpu(const AttentionGradArgs<T>& g) {
  const AttentionArgs<T>& a = g.fwd;
  check_args(a);
  const Layout<T> L{a};
  const std::int64_t d = a.head_dim, H = a.n_heads, S = a.kv_len, ld = L.row_stride();
  // With Hkv < Hq, each query head writes its own dK/dV partial: [B, Hq, S, d].
  const bool grouped = L.group > 1;
  if (grouped && !g.workspace) throw std::invalid_argument("attention backward: grouped heads need the workspace");
  T* dk_heads = grouped ? g.workspace : nullptr;  // [B, Hq, S, d]
  T* dv_heads = grouped ? g.workspace + a.batch * H * S * d : nullptr;
  auto make = [&] {
    BackwardScratch<T> s;
    s.dk.resize(kKeyTile * d);
    s.dv.resize(kKeyTile * d);
    s.delta.resize(std::size_t(a.q_len));
    return s;
  };
  parallel_items_with_scratch(a.batch * H, make, [&](std::int64_t item, BackwardScratch<T>& s) {
    const std::int64_t b = item / H, h = item % H;
    for (std::int64_t i = 0; i < a.q_len; ++i) {
      const T* o = a.out + L.row_offset(b, h, i);
      const T* dout = g.dout + L.row_offset(b, h, i);
      T delta = 0;
      for (std::int64_t c = 0; c < d; ++c) delta += o[c] * dout[c];
      s.delta[i] = delta;
      std::fill_n(g.dq + L.row_offset(b, h, i), d, T(0));
    }
    // Where this head's dK/dV rows go: straight into dk/dv, or into its partial.
    const std::int64_t kv_h = h / L.group;
    T* dk_out = grouped ? dk_heads + (b * H + h) * S * d : g.dk + (b * S * a.n_kv_heads + kv_h) * d;
    T* dv_out = grouped ? dv_heads + (b * H + h) * S * d : g.dv + (b * S * a.n_kv_heads + kv_h) * d;
    const std::int64_t out_ld = grouped ? d : a.n_kv_heads * d;

    for (std::int64_t j0 = 0; j0 < S; j0 += kKeyTile) {
      const std::int64_t j1 = std::min(S, j0 + kKeyTile), cols = j1 - j0;
      const auto [i_begin, i_end] = L.queries_seeing(b, j0, j1);
      std::fill(s.dk.begin(), s.dk.end(), T(0));
      std::fill(s.dv.begin(), s.dv.end(), T(0));
      for (std::int64_t i0 = i_begin; i0 < i_end; i0 += kQueryTile) {
        const std::int64_t i1 = std::min(i_end, i0 + kQueryTile), rows = i1 - i0;
        const T* q = L.q(b, h, i0);
        const T* dout = g.dout + L.row_offset(b, h, i0);
        // P = exp(scale * Q_i K_j^T - lse_i): [rows, cols]
        gemm_rows<T>(false, true, rows, cols, d, a.scale, q, a.q_stride_t, L.k(b, h, j0), a.k_stride_t, T(0),
                     s.scores.data(), kKeyTile);
        if (L.needs_mask(b, i0, i1, j0, j1)) L.mask(s.scores.data(), kKeyTile, b, i0, i1, j0, j1);
        for (std::int64_t r = 0; r < rows; ++r) {
          T* row = s.scores.data() + r * kKeyTile;
          const T lse = a.lse[L.lse_offset(b, h, i0 + r)];
          if (lse == kNegInf<T>)
            std::fill(row, row + cols, T(0));
          else
            exp_shifted_sum(row, cols, lse);
        }
        // dV_j += P^T dO_i: [cols, d]
        gemm_rows<T>(true, false, cols, d, rows, T(1), s.scores.data(), kKeyTile, dout, ld, T(1), s.dv.data(), d);
        // dP = dO_i V_j^T: [rows, cols]
        gemm_rows<T>(false, true, rows, cols, d, T(1), dout, ld, L.v(b, h, j0), a.v_stride_t, T(0), s.dscores.data(),
                     kKeyTile);
        // dS = P * (dP - delta_i)
        for (std::int64_t r = 0; r < rows; ++r) {
          const T* p = s.scores.data() + r * kKeyTile;
          T* ds = s.dscores.data() + r * kKeyTile;
          const T delta = s.delta[i0 + r];
          for (std::int64_t c = 0; c < cols; ++c) ds[c] = p[c] * (ds[c] - delta);
        }
        // dK_j += scale * dS^T Q_i: [cols, d];  dQ_i += scale * dS K_j: [rows, d]
        gemm_rows<T>(true, false, cols, d, rows, a.scale, s.dscores.data(), kKeyTile, q, a.q_stride_t, T(1),
                     s.dk.data(), d);
        gemm_rows<T>(false, false, rows, d, cols, a.scale, s.dscores.data(), kKeyTile, L.k(b, h, j0), a.k_stride_t,
                     T(1), g.dq + L.row_offset(b, h, i0), ld);
      }
      for (std::int64_t j = j0; j < j1; ++j) {
        std::copy_n(s.dk.data() + (j - j0) * d, d, dk_out + j * out_ld);
        std::copy_n(s.dv.data() + (j - j0) * d, d, dv_out + j * out_ld);
      }
    }
  });
  if (!grouped) return;
  // dK[b, j, g] = sum over the group's query heads, in head order; threaded over (b, j).
  const std::int64_t Hkv = a.n_kv_heads;
  parallel_rows(a.batch * S, Hkv * L.group * d, [&](std::int64_t row) {
    const std::int64_t b = row / S, j = row % S;
    for (std::int64_t kv_h = 0; kv_h < Hkv; ++kv_h) {
      T* dk = g.dk + (row * Hkv + kv_h) * d;
      T* dv = g.dv + (row * Hkv + kv_h) * d;
      std::fill_n(dk, d, T(0));
      std::fill_n(dv, d, T(0));
      for (std::int64_t h = kv_h * L.group; h < (kv_h + 1) * L.group; ++h) {
        const T* pk = dk_heads + ((b * H + h) * S + j) * d;
        const T* pv = dv_heads + ((b * H + h) * S + j) * d;
        for (std::int64_t c = 0; c < d; ++c) {
          dk[c] += pk[c];
          dv[c] += pv[c];
        }
      }
    }
  });
}

STRATA_KERNEL_TARGETS(attention_fwd_cpu, AttentionArgs)
STRATA_KERNEL_TARGETS(attention_bwd_cpu, AttentionGradArgs)

}  // namespace strata::kernels::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace strata::kernels::cpu {

STRATA_KERNEL_DISPATCH(attention_fwd_cpu, AttentionArgs)
STRATA_KERNEL_DISPATCH(attention_bwd_cpu, AttentionGradArgs)

}  // namespace strata::kernels::cpu
#endif  // HWY_ONCE
