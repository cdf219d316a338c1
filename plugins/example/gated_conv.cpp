// The fused gated short convolution: validation and autograd here, CPU kernels registered
// in the backend table under "<plugin>.gated_short_conv" (forward) and
// "<plugin>.gated_short_conv_backward", <plugin> being STRATA_PLUGIN_NAME (set by
// strata_add_plugin), so that a renamed copy of this folder does not collide with it.
#include "gated_conv.h"

#include <strata/autograd.h>
#include <strata/backend.h>
#include <strata/error.h>
#include <strata/random.h>
#include <strata/testing/conformance.h>

#include <cmath>
#include <string>
#include <vector>

namespace example_plugin {

using namespace strata;

namespace {

// One call of either kernel; all tensors contiguous. The backward recomputes c.
struct GatedConvCall {
  std::int64_t batch = 0, seq_len = 0, channels = 0, kernel_size = 0;
  const Tensor* padded = nullptr;  // [B, K-1+T, E]
  const Tensor* weight = nullptr;  // [E, K]
  const Tensor* bias = nullptr;    // [E]
  const Tensor* gate = nullptr;    // [B, T, E] or undefined
  Tensor* y = nullptr;             // forward: [B, T, E]
  const Tensor* dy = nullptr;      // backward: [B, T, E]
  Tensor* dpadded = nullptr;       // backward: [B, K-1+T, E]
  Tensor* dweight = nullptr;       // backward: [E, K]
  Tensor* dbias = nullptr;         // backward: [E]
  Tensor* dgate = nullptr;         // backward: [B, T, E] or undefined
  backend::DTypeList dtypes() const { return {padded->dtype()}; }
};

backend::KernelOp<GatedConvCall> forward_op(STRATA_PLUGIN_NAME ".gated_short_conv");
backend::KernelOp<GatedConvCall> backward_op(STRATA_PLUGIN_NAME ".gated_short_conv_backward");

template <class T>
T sigmoid(T v) {
  return T(1) / (T(1) + std::exp(-v));
}

// weight [E, K] -> [K, E], so that the loops over channels read it contiguously
template <class T>
std::vector<T> taps_major(const Tensor& weight) {
  const std::int64_t E = weight.size(0), K = weight.size(1);
  const T* w = weight.data<T>();
  std::vector<T> out(std::size_t(E * K));
  for (std::int64_t e = 0; e < E; ++e)
    for (std::int64_t j = 0; j < K; ++j) out[std::size_t(j * E + e)] = w[e * K + j];
  return out;
}

// c of row (b, t) into c_row[E], from taps-major weights wt [K, E]
template <class T>
void conv_row(const GatedConvCall& c, const T* wt, std::int64_t b, std::int64_t t, T* c_row) {
  const std::int64_t E = c.channels, K = c.kernel_size, P = c.seq_len + K - 1;
  const T* x = c.padded->data<T>() + (b * P + t) * E;
  const T* bias = c.bias->data<T>();
  for (std::int64_t e = 0; e < E; ++e) c_row[e] = bias[e];
  for (std::int64_t j = 0; j < K; ++j)
    for (std::int64_t e = 0; e < E; ++e) c_row[e] += wt[j * E + e] * x[j * E + e];
}

// Rows (b, t) are independent: threaded over them.
template <class T>
void forward_cpu(const GatedConvCall& c) {
  const std::int64_t E = c.channels, rows = c.batch * c.seq_len;
  const bool gated = c.gate->defined();
  const std::vector<T> wt = taps_major<T>(*c.weight);
#pragma omp parallel for schedule(static)
  for (std::int64_t row = 0; row < rows; ++row) {
    T* y = c.y->data<T>() + row * E;
    conv_row(c, wt.data(), row / c.seq_len, row % c.seq_len, y);
    if (!gated) continue;
    const T* g = c.gate->data<T>() + row * E;
    for (std::int64_t e = 0; e < E; ++e) y[e] *= g[e] * sigmoid(g[e]);
  }
}

// Threaded over sequences: each owns its rows of dpadded. dweight and dbias are summed per
// sequence, then over sequences in order, so results do not depend on the thread count.
template <class T>
void backward_cpu(const GatedConvCall& c) {
  const std::int64_t E = c.channels, K = c.kernel_size, P = c.seq_len + K - 1, B = c.batch;
  const bool gated = c.gate->defined();
  const std::vector<T> wt = taps_major<T>(*c.weight);
  std::vector<T> dwt_per_seq(std::size_t(B * K * E), T(0)), db_per_seq(std::size_t(B * E), T(0));  // [B, K, E], [B, E]
  c.dpadded->fill_(0);
#pragma omp parallel for schedule(static)
  for (std::int64_t b = 0; b < B; ++b) {
    std::vector<T> conv(static_cast<std::size_t>(E)), dconv(static_cast<std::size_t>(E));
    T* dwt = dwt_per_seq.data() + b * K * E;
    T* db = db_per_seq.data() + b * E;
    for (std::int64_t t = 0; t < c.seq_len; ++t) {
      const std::int64_t row = b * c.seq_len + t;
      const T* dy = c.dy->data<T>() + row * E;
      if (gated) {
        conv_row(c, wt.data(), b, t, conv.data());
        const T* g = c.gate->data<T>() + row * E;
        T* dg = c.dgate->data<T>() + row * E;
        for (std::int64_t e = 0; e < E; ++e) {
          const T s = sigmoid(g[e]);
          dconv[std::size_t(e)] = dy[e] * g[e] * s;                                // d/dc of c * silu(g)
          dg[e] = dy[e] * conv[std::size_t(e)] * s * (T(1) + g[e] * (T(1) - s));  // silu'(g) = s (1 + g (1 - s))
        }
      } else {
        for (std::int64_t e = 0; e < E; ++e) dconv[std::size_t(e)] = dy[e];
      }
      const T* x = c.padded->data<T>() + (b * P + t) * E;
      T* dx = c.dpadded->data<T>() + (b * P + t) * E;
      for (std::int64_t e = 0; e < E; ++e) db[e] += dconv[std::size_t(e)];
      for (std::int64_t j = 0; j < K; ++j)
        for (std::int64_t e = 0; e < E; ++e) {
          dx[j * E + e] += wt[std::size_t(j * E + e)] * dconv[std::size_t(e)];
          dwt[j * E + e] += x[j * E + e] * dconv[std::size_t(e)];
        }
    }
  }
  T* dw = c.dweight->data<T>();
  T* dbias = c.dbias->data<T>();
  for (std::int64_t e = 0; e < E; ++e) {
    T bias_sum = 0;
    for (std::int64_t b = 0; b < B; ++b) bias_sum += db_per_seq[std::size_t(b * E + e)];
    dbias[e] = bias_sum;
    for (std::int64_t j = 0; j < K; ++j) {
      T w_sum = 0;
      for (std::int64_t b = 0; b < B; ++b) w_sum += dwt_per_seq[std::size_t((b * K + j) * E + e)];
      dw[e * K + j] = w_sum;
    }
  }
}

void forward_kernel(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? forward_cpu<float>(c) : forward_cpu<double>(c);
}
void backward_kernel(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? backward_cpu<float>(c) : backward_cpu<double>(c);
}

}  // namespace

Tensor gated_short_conv(const Tensor& padded, const Tensor& weight, const Tensor& bias, const Tensor& gate) {
  const char* op = "gated_short_conv";
  if (padded.rank() != 3 || weight.rank() != 2 || weight.size(0) != padded.size(2) || bias.rank() != 1 ||
      bias.size(0) != padded.size(2) || padded.size(1) < weight.size(1) - 1)
    throw ShapeError(std::string(op) + ": padded " + padded.shape().to_string() + ", weight " +
                         weight.shape().to_string() + " and bias " + bias.shape().to_string() + " do not fit",
                     "padded is [B, K-1+T, E], weight [E, K], bias [E]");
  const std::int64_t B = padded.size(0), E = padded.size(2), K = weight.size(1), T = padded.size(1) - (K - 1);
  if (gate.defined() && gate.shape() != Shape{B, T, E})
    throw ShapeError(std::string(op) + ": gate " + gate.shape().to_string() + " must be " +
                     Shape{B, T, E}.to_string());
  const Tensor p = padded.contiguous(), w = weight.contiguous(), b = bias.contiguous();
  const Tensor g = gate.defined() ? gate.contiguous() : Tensor();
  Tensor y = Tensor::empty({B, T, E}, padded.dtype(), padded.device());
  forward_op.run(padded.device(), {.batch = B, .seq_len = T, .channels = E, .kernel_size = K, .padded = &p,
                                   .weight = &w, .bias = &b, .gate = &g, .y = &y});
  autograd::record(op, {p, w, b, g}, {y},
                   [ps = autograd::SavedTensor(p), ws = autograd::SavedTensor(w), bs = autograd::SavedTensor(b),
                    gs = autograd::SavedTensor(g), B, T, E, K](const autograd::BackwardArgs& a) {
                     const Tensor dy = a.grad().contiguous();
                     const Tensor p = ps.get(), w = ws.get(), b = bs.get(), g = gs.defined() ? gs.get() : Tensor();
                     Tensor dp = Tensor::empty(p.shape(), p.dtype(), p.device());
                     Tensor dw = Tensor::empty(w.shape(), w.dtype(), w.device());
                     Tensor db = Tensor::empty(b.shape(), b.dtype(), b.device());
                     Tensor dg = g.defined() ? Tensor::empty(g.shape(), g.dtype(), g.device()) : Tensor();
                     backward_op.run(dy.device(), {.batch = B, .seq_len = T, .channels = E, .kernel_size = K,
                                                   .padded = &p, .weight = &w, .bias = &b, .gate = &g, .dy = &dy,
                                                   .dpadded = &dp, .dweight = &dw, .dbias = &db, .dgate = &dg});
                     return std::vector<Tensor>{dp, dw, db, dg};
                   });
  return y;
}

void register_gated_conv_kernels(PluginRegistrar& registrar) {
  // Checked by `strata backends --check` on every device and dtype, as the core's entries are.
  Generator gen(17);
  testing::ConformanceCase check{
      .name = STRATA_PLUGIN_NAME ": gated_short_conv with and without gate, K = 4, E = 19",
      .ops = {STRATA_PLUGIN_NAME ".gated_short_conv", STRATA_PLUGIN_NAME ".gated_short_conv_backward"},
      .inputs = {Tensor::randn({2, 3 + 11, 19}, gen, DType::f64), Tensor::randn({19, 4}, gen, DType::f64),
                 Tensor::randn({19}, gen, DType::f64), Tensor::randn({2, 11, 19}, gen, DType::f64)},
      .fn = [](const std::vector<Tensor>& x) {
        return std::vector<Tensor>{gated_short_conv(x[0], x[1], x[2], x[3]), gated_short_conv(x[0], x[1], x[2], Tensor())};
      }};
  registrar.add_conformance_case(std::move(check));
  const std::vector<DType> floating = {DType::f32, DType::f64};
  registrar.add_kernel(forward_op, {.backend = STRATA_PLUGIN_NAME, .device = DeviceType::cpu, .dtypes = floating,
                                    .supports = {}, .run = forward_kernel});
  registrar.add_kernel(backward_op, {.backend = STRATA_PLUGIN_NAME, .device = DeviceType::cpu, .dtypes = floating,
                                     .supports = {}, .run = backward_kernel});
}

}  // namespace example_plugin
