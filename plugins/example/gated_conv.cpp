// The fused gated short convolution: validation and autograd here, the kernels
// (gated_conv_kernels.h: CPU, and CUDA when the plugin is built with it) registered in the
// backend table under "<plugin>.gated_short_conv" (forward) and
// "<plugin>.gated_short_conv_backward", <plugin> being STRATA_PLUGIN_NAME (set by
// strata_add_plugin), so that a renamed copy of this folder does not collide with it.
#include "gated_conv.h"

#include "gated_conv_kernels.h"

#include <strata/autograd.h>
#include <strata/backend.h>
#include <strata/error.h>
#include <strata/random.h>
#include <strata/testing/conformance.h>

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

// The call's tensors as kernel arguments (pointers into them, on their device).
template <class T>
GatedConvArgs<T> args_of(const GatedConvCall& c) {
  const auto in = [](const Tensor* t) { return t && t->defined() ? t->data<T>() : nullptr; };
  const auto out = [](Tensor* t) { return t && t->defined() ? t->data<T>() : nullptr; };
  return {.batch = c.batch, .seq_len = c.seq_len, .channels = c.channels, .kernel_size = c.kernel_size,
          .padded = in(c.padded), .weight = in(c.weight), .bias = in(c.bias), .gate = in(c.gate), .y = out(c.y),
          .dy = in(c.dy), .dpadded = out(c.dpadded), .dweight = out(c.dweight), .dbias = out(c.dbias),
          .dgate = out(c.dgate)};
}

void forward_cpu(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? gated_conv_fwd_cpu(args_of<float>(c)) : gated_conv_fwd_cpu(args_of<double>(c));
}
void backward_cpu(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? gated_conv_bwd_cpu(args_of<float>(c)) : gated_conv_bwd_cpu(args_of<double>(c));
}

#ifdef EXAMPLE_PLUGIN_WITH_CUDA
// A CUDA error (launches are asynchronous: it may come from an earlier kernel) as strata's
// DeviceError, which names the op and the device.
void check_cuda(const std::string& error, const char* what, const Tensor& on) {
  if (!error.empty())
    throw DeviceError(std::string(what) + " on " + on.device().to_string() + " failed: " + error,
                      "rerun with CUDA_LAUNCH_BLOCKING=1 to find the failing kernel");
}

template <class T>
void forward_cuda_typed(const GatedConvCall& c) {
  check_cuda(gated_conv_fwd_cuda(args_of<T>(c), c.padded->device().index), "gated_short_conv", *c.padded);
}
template <class T>
void backward_cuda_typed(const GatedConvCall& c) {
  GatedConvArgs<T> a = args_of<T>(c);
  // dL/dc of the gated form; freed after the launches are issued, which is safe: the
  // caching allocator hands the memory only to work issued later on the same stream.
  Tensor dconv = a.gate ? Tensor::empty({c.batch, c.seq_len, c.channels}, c.padded->dtype(), c.padded->device())
                              : Tensor();
  if (dconv.defined()) a.dconv = dconv.data<T>();
  check_cuda(gated_conv_bwd_cuda(a, c.padded->device().index), "gated_short_conv_backward", *c.padded);
}

void forward_cuda(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? forward_cuda_typed<float>(c) : forward_cuda_typed<double>(c);
}
void backward_cuda(const GatedConvCall& c) {
  c.padded->dtype() == DType::f32 ? backward_cuda_typed<float>(c) : backward_cuda_typed<double>(c);
}
#endif

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
                                    .supports = {}, .run = forward_cpu});
  registrar.add_kernel(backward_op, {.backend = STRATA_PLUGIN_NAME, .device = DeviceType::cpu, .dtypes = floating,
                                     .supports = {}, .run = backward_cpu});
#ifdef EXAMPLE_PLUGIN_WITH_CUDA
  registrar.add_kernel(forward_op, {.backend = STRATA_PLUGIN_NAME, .device = DeviceType::cuda, .dtypes = floating,
                                    .supports = {}, .run = forward_cuda});
  registrar.add_kernel(backward_op, {.backend = STRATA_PLUGIN_NAME, .device = DeviceType::cuda, .dtypes = floating,
                                     .supports = {}, .run = backward_cuda});
#endif
}

}  // namespace example_plugin
