// CPU kernels of the gated short convolution (gated_conv_kernels.h): the reference the
// CUDA kernels are tested against.
#include <algorithm>
#include <cmath>
#include <vector>

#include "gated_conv_kernels.h"

namespace example_plugin {

namespace {

template <class T>
T sigmoid(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

// weight [E, K] -> [K, E], so that the loops over channels read it contiguously
template <class T>
std::vector<T> taps_major(const GatedConvArgs<T>& a) {
  const std::int64_t E = a.channels, K = a.kernel_size;
  std::vector<T> out(std::size_t(E * K));
  for (std::int64_t e = 0; e < E; ++e)
    for (std::int64_t j = 0; j < K; ++j) out[std::size_t(j * E + e)] = a.weight[e * K + j];
  return out;
}

// c of row (b, t) into c_row[E], from taps-major weights wt [K, E]
template <class T>
void conv_row(const GatedConvArgs<T>& a, const T* wt, std::int64_t b, std::int64_t t, T* c_row) {
  const std::int64_t E = a.channels, K = a.kernel_size, P = a.seq_len + K - 1;
  const T* x = a.padded + (b * P + t) * E;
  for (std::int64_t e = 0; e < E; ++e) c_row[e] = a.bias[e];
  for (std::int64_t j = 0; j < K; ++j)
    for (std::int64_t e = 0; e < E; ++e) c_row[e] += wt[j * E + e] * x[j * E + e];
}

}  // namespace

// Rows (b, t) are independent: threaded over them.
template <class T>
void gated_conv_fwd_cpu(const GatedConvArgs<T>& a) {
  const std::int64_t E = a.channels, rows = a.batch * a.seq_len;
  const std::vector<T> wt = taps_major(a);
#pragma omp parallel for schedule(static)
  for (std::int64_t row = 0; row < rows; ++row) {
    T* y = a.y + row * E;
    conv_row(a, wt.data(), row / a.seq_len, row % a.seq_len, y);
    if (!a.gate) continue;
    const T* g = a.gate + row * E;
    for (std::int64_t e = 0; e < E; ++e) y[e] *= g[e] * sigmoid(g[e]);
  }
}

// Threaded over sequences: each owns its rows of dpadded. dweight and dbias are summed per
// sequence, then over sequences in order, so results do not depend on the thread count.
template <class T>
void gated_conv_bwd_cpu(const GatedConvArgs<T>& a) {
  const std::int64_t E = a.channels, K = a.kernel_size, P = a.seq_len + K - 1, B = a.batch;
  const std::vector<T> wt = taps_major(a);
  std::vector<T> dwt_per_seq(std::size_t(B * K * E), T(0)), db_per_seq(std::size_t(B * E), T(0));  // [B, K, E], [B, E]
  std::fill(a.dpadded, a.dpadded + B * P * E, T(0));
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<T> conv(static_cast<std::size_t>(E)), dconv(static_cast<std::size_t>(E));
    T* dwt = dwt_per_seq.data() + b * K * E;
    T* db = db_per_seq.data() + b * E;
    for (std::int64_t t = 0; t < a.seq_len; ++t) {
      const std::int64_t row = b * a.seq_len + t;
      const T* dy = a.dy + row * E;
      if (a.gate) {
        conv_row(a, wt.data(), b, t, conv.data());
        const T* g = a.gate + row * E;
        T* dg = a.dgate + row * E;
        for (std::int64_t e = 0; e < E; ++e) {
          const T s = sigmoid(g[e]);
          dconv[std::size_t(e)] = dy[e] * g[e] * s;                                // d/dc of c * silu(g)
          dg[e] = dy[e] * conv[std::size_t(e)] * s * (T(1) + g[e] * (T(1) - s));  // silu'(g) = s (1 + g (1 - s))
        }
      } else {
        for (std::int64_t e = 0; e < E; ++e) dconv[std::size_t(e)] = dy[e];
      }
      const T* x = a.padded + (b * P + t) * E;
      T* dx = a.dpadded + (b * P + t) * E;
      for (std::int64_t e = 0; e < E; ++e) db[e] += dconv[std::size_t(e)];
      for (std::int64_t j = 0; j < K; ++j)
        for (std::int64_t e = 0; e < E; ++e) {
          dx[j * E + e] += wt[std::size_t(j * E + e)] * dconv[std::size_t(e)];
          dwt[j * E + e] += x[j * E + e] * dconv[std::size_t(e)];
        }
    }
  }
  for (std::int64_t e = 0; e < E; ++e) {
    T bias_sum = 0;
    for (std::int64_t b = 0; b < B; ++b) bias_sum += db_per_seq[std::size_t(b * E + e)];
    a.dbias[e] = bias_sum;
    for (std::int64_t j = 0; j < K; ++j) {
      T w_sum = 0;
      for (std::int64_t b = 0; b < B; ++b) w_sum += dwt_per_seq[std::size_t((b * K + j) * E + e)];
      a.dweight[e * K + j] = w_sum;
    }
  }
}

template void gated_conv_fwd_cpu<float>(const GatedConvArgs<float>&);
template void gated_conv_fwd_cpu<double>(const GatedConvArgs<double>&);
template void gated_conv_bwd_cpu<float>(const GatedConvArgs<float>&);
template void gated_conv_bwd_cpu<double>(const GatedConvArgs<double>&);

}  // namespace example_plugin
