// Selective scan op: shape checks, the fused forward kernel of the backend table, and its
// backward kernel on the tape, with what the forward saved for it (chunk checkpoints on the CPU).
#include "strata/ops/selective_scan.h"

#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/packing.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

constexpr const char* kOp = "selective_scan";

// Sizes (B, T, D, N) after checking every input against u [B, T, D] and A [D, N].
struct ScanSizes {
  std::int64_t B, T, D, N;
};

ScanSizes check_inputs(const SelectiveScanInputs& in) {
  detail::check_floating(kOp, "u", in.u);
  detail::check_floating(kOp, "delta", in.delta);
  detail::check_floating(kOp, "A", in.A);
  detail::check_floating(kOp, "B", in.B);
  detail::check_floating(kOp, "C", in.C);
  const std::initializer_list<const Tensor*> all = {&in.u, &in.delta, &in.A, &in.B, &in.C,
                                                   &in.D, &in.z, &in.delta_bias, &in.initial_state};
  detail::common_dtype(kOp, all);
  detail::common_device(kOp, all);
  if (in.u.rank() != 3) throw ShapeError(std::string(kOp) + ": u must be [B, T, D], got " + in.u.shape().to_string());
  if (in.A.rank() != 2 || in.A.size(0) != in.u.size(2))
    throw ShapeError(std::string(kOp) + ": A is " + in.A.shape().to_string() + ", expected [" +
                         std::to_string(in.u.size(2)) + ", N]",
                     "A is [D, N]: one row of N state decays per channel of u");
  const ScanSizes s{in.u.size(0), in.u.size(1), in.u.size(2), in.A.size(1)};
  if (s.N < 1) throw ShapeError(std::string(kOp) + ": A has no states (N = 0)");
  detail::check_shape(kOp, "delta", in.delta, in.u.shape(), "delta has the shape of u, [B, T, D]");
  detail::check_shape(kOp, "B", in.B, {s.B, s.T, s.N}, "B is [B, T, N], shared by all channels");
  detail::check_shape(kOp, "C", in.C, {s.B, s.T, s.N}, "C is [B, T, N], shared by all channels");
  detail::check_shape(kOp, "D", in.D, {s.D}, "D is [D], one skip weight per channel");
  detail::check_shape(kOp, "z", in.z, in.u.shape(), "z has the shape of u, [B, T, D]");
  detail::check_shape(kOp, "delta_bias", in.delta_bias, {s.D}, "delta_bias is [D]");
  detail::check_shape(kOp, "initial_state", in.initial_state, {s.B, s.D, s.N}, "the state is [B, D, N]");
  if (in.sequence_starts.defined()) check_sequence_starts(in.sequence_starts, s.B, s.T, kOp);
  return s;
}

Tensor contiguous_or_empty(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

// The kernel call over t (u, delta, A, B, C, D, z, delta_bias, initial_state, in that
// order); the caller adds what the forward writes or the backward reads and writes.
core_kernels::SelectiveScanCall scan_call(const ScanSizes& s, bool softplus, const std::vector<Tensor>& t,
                                          const Tensor& starts) {
  return {.batch = s.B,
          .seq_len = s.T,
          .channels = s.D,
          .d_state = s.N,
          .delta_softplus = softplus,
          .u = &t[0],
          .delta = &t[1],
          .A = &t[2],
          .B = &t[3],
          .C = &t[4],
          .D = &t[5],
          .z = &t[6],
          .delta_bias = &t[7],
          .initial_state = &t[8],
          .seq_start = starts.defined() ? &starts : nullptr};
}

}  // namespace

SelectiveScanOutputs selective_scan(const SelectiveScanInputs& inputs) {
  const ScanSizes s = check_inputs(inputs);
  // Inputs in autograd order; the saved copies below are contiguous.
  const std::vector<Tensor> ins = {inputs.u, inputs.delta, inputs.A, inputs.B, inputs.C,
                                   inputs.D, inputs.z, inputs.delta_bias, inputs.initial_state};
  std::vector<Tensor> c;
  for (const Tensor& t : ins) c.push_back(contiguous_or_empty(t));
  const bool softplus = inputs.delta_softplus;
  const Tensor starts = contiguous_or_empty(inputs.sequence_starts);
  const DType dtype = inputs.u.dtype();

  const Device device = inputs.u.device();
  SelectiveScanOutputs out;
  out.y = Tensor::empty({s.B, s.T, s.D}, dtype, device);
  out.final_state = Tensor::empty({s.B, s.D, s.N}, dtype, device);
  const bool recording = autograd::needs_recording(std::span<const Tensor>(ins));
  Tensor saved_by_kernel;
  core_kernels::SelectiveScanCall call = scan_call(s, softplus, c, starts);
  call.save_for_backward = recording;
  call.saved = &saved_by_kernel;
  call.y = &out.y;
  call.final_state = &out.final_state;
  core_kernels::table().selective_scan.run(device, call);
  if (!recording) return out;

  std::vector<SavedTensor> saved;
  for (const Tensor& t : c) saved.emplace_back(t);
  autograd::record(
      kOp, std::span<const Tensor>(ins), std::span<Tensor>(&out.y, 2),
      [saved, saved_by_kernel, starts, s, softplus](const BackwardArgs& g) mutable {
        std::vector<Tensor> t;
        for (const SavedTensor& st : saved) t.push_back(st.defined() ? st.get() : Tensor());
        const Tensor dy = g.grad(0).contiguous(), dfinal = g.grad(1).contiguous();
        const DType dt = dy.dtype();
        const Device dev = dy.device();
        auto grad_if = [&](int i, const Shape& shape) { return g.needs(i) ? Tensor::empty(shape, dt, dev) : Tensor(); };
        Tensor du = Tensor::empty({s.B, s.T, s.D}, dt, dev), ddelta = Tensor::empty({s.B, s.T, s.D}, dt, dev);
        Tensor dA = grad_if(2, {s.D, s.N}), dB = grad_if(3, {s.B, s.T, s.N}), dC = grad_if(4, {s.B, s.T, s.N});
        Tensor dD = grad_if(5, {s.D}), dz = grad_if(6, {s.B, s.T, s.D}), dbias = grad_if(7, {s.D});
        Tensor dh0 = grad_if(8, {s.B, s.D, s.N});
        core_kernels::SelectiveScanCall call = scan_call(s, softplus, t, starts);
        call.saved = &saved_by_kernel;
        call.dy = &dy;
        call.dfinal_state = &dfinal;
        call.du = &du;
        call.ddelta = &ddelta;
        call.dA = &dA;
        call.dB = &dB;
        call.dC = &dC;
        call.dD = &dD;
        call.dz = &dz;
        call.ddelta_bias = &dbias;
        call.dinitial_state = &dh0;
        core_kernels::table().selective_scan_backward.run(dev, call);
        return std::vector<Tensor>{g.needs(0) ? du : Tensor(), g.needs(1) ? ddelta : Tensor(), dA, dB, dC, dD, dz,
                                   dbias, dh0};
      });
  return out;
}

}  // namespace strata
