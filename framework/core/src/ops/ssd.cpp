// SSD op (ops/ssd.h): shape checks, the chunked forward kernel of the backend table, and its
// fused backward on the tape, from the chunk states the forward saved.
#include "strata/ops/ssd.h"

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

constexpr const char* kOp = "ssd";

struct SsdSizes {
  std::int64_t B, T, H, P, G, N;
};

SsdSizes check_inputs(const SsdInputs& in) {
  for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"x", &in.x}, {"dt", &in.dt}, {"A", &in.A},
                                {"B", &in.B}, {"C", &in.C}})
    detail::check_floating(kOp, name, *t);
  const std::initializer_list<const Tensor*> all = {&in.x, &in.dt, &in.A, &in.B, &in.C, &in.initial_state};
  detail::common_dtype(kOp, all);
  detail::common_device(kOp, all);
  if (in.x.rank() != 4) throw ShapeError(std::string(kOp) + ": x must be [B, T, H, P], got " + in.x.shape().to_string());
  if (in.B.rank() != 4)
    throw ShapeError(std::string(kOp) + ": B must be [B, T, G, N], got " + in.B.shape().to_string());
  const SsdSizes s{in.x.size(0), in.x.size(1), in.x.size(2), in.x.size(3), in.B.size(2), in.B.size(3)};
  if (s.G < 1 || s.H % s.G != 0)
    throw ShapeError(std::string(kOp) + ": " + std::to_string(s.H) + " heads cannot share " + std::to_string(s.G) +
                         " groups of B and C",
                     "the head count must be a multiple of n_groups");
  if (s.N < 1) throw ShapeError(std::string(kOp) + ": B has no states (N = 0)");
  detail::check_shape(kOp, "dt", in.dt, {s.B, s.T, s.H}, "dt is [B, T, H]: one step per head");
  detail::check_shape(kOp, "A", in.A, {s.H}, "A is [H]: one decay per head");
  detail::check_shape(kOp, "B", in.B, {s.B, s.T, s.G, s.N}, "B is [B, T, G, N]");
  detail::check_shape(kOp, "C", in.C, {s.B, s.T, s.G, s.N}, "C has the shape of B, [B, T, G, N]");
  detail::check_shape(kOp, "initial_state", in.initial_state, {s.B, s.H, s.P, s.N}, "the state is [B, H, P, N]");
  if (in.chunk < 1) throw ValueError(std::string(kOp) + ": chunk must be >= 1, got " + std::to_string(in.chunk));
  if (in.sequence_starts.defined()) check_sequence_starts(in.sequence_starts, s.B, s.T, kOp);
  return s;
}

core_kernels::SsdCall ssd_call(const SsdSizes& s, std::int64_t chunk, const std::vector<Tensor>& t,
                               const Tensor& starts) {
  return {.batch = s.B,
          .seq_len = s.T,
          .heads = s.H,
          .head_dim = s.P,
          .groups = s.G,
          .d_state = s.N,
          .chunk = chunk,
          .x = &t[0],
          .dt = &t[1],
          .A = &t[2],
          .B = &t[3],
          .C = &t[4],
          .initial_state = &t[5],
          .seq_start = starts.defined() ? &starts : nullptr};
}

}  // namespace

SsdOutputs ssd(const SsdInputs& inputs) {
  const SsdSizes s = check_inputs(inputs);
  const std::vector<Tensor> ins = {inputs.x, inputs.dt, inputs.A, inputs.B, inputs.C, inputs.initial_state};
  std::vector<Tensor> c;
  for (const Tensor& t : ins) c.push_back(t.defined() ? t.contiguous() : Tensor());
  const Tensor starts = inputs.sequence_starts.defined() ? inputs.sequence_starts.contiguous() : Tensor();
  const DType dtype = inputs.x.dtype();
  const Device device = inputs.x.device();
  SsdOutputs out;
  out.y = Tensor::empty({s.B, s.T, s.H, s.P}, dtype, device);
  out.final_state = Tensor::empty({s.B, s.H, s.P, s.N}, dtype, device);
  const bool recording = autograd::needs_recording(std::span<const Tensor>(ins));
  Tensor chunk_states;
  core_kernels::SsdCall call = ssd_call(s, inputs.chunk, c, starts);
  call.save_for_backward = recording;
  call.saved = &chunk_states;
  call.y = &out.y;
  call.final_state = &out.final_state;
  core_kernels::table().ssd.run(device, call);
  if (!recording) return out;

  std::vector<SavedTensor> saved;
  for (const Tensor& t : c) saved.emplace_back(t);
  const std::int64_t chunk = inputs.chunk;
  autograd::record(kOp, std::span<const Tensor>(ins), std::span<Tensor>(&out.y, 2),
                   [saved, chunk_states, starts, s, chunk](const BackwardArgs& g) mutable {
                     std::vector<Tensor> t;
                     for (const SavedTensor& st : saved) t.push_back(st.defined() ? st.get() : Tensor());
                     const Tensor dy = g.grad(0).contiguous(), dfinal = g.grad(1).contiguous();
                     const DType dt = dy.dtype();
                     const Device dev = dy.device();
                     auto grad_if = [&](int i, const Shape& shape) {
                       return g.needs(i) ? Tensor::empty(shape, dt, dev) : Tensor();
                     };
                     Tensor dx = Tensor::empty({s.B, s.T, s.H, s.P}, dt, dev), ddt = Tensor::empty({s.B, s.T, s.H}, dt, dev);
                     Tensor dA = grad_if(2, {s.H}), dB = grad_if(3, {s.B, s.T, s.G, s.N}),
                            dC = grad_if(4, {s.B, s.T, s.G, s.N}), dh0 = grad_if(5, {s.B, s.H, s.P, s.N});
                     core_kernels::SsdCall call = ssd_call(s, chunk, t, starts);
                     call.saved = &chunk_states;
                     call.dy = &dy;
                     call.dfinal_state = &dfinal;
                     call.dx = &dx;
                     call.ddt = &ddt;
                     call.dA = &dA;
                     call.dB = &dB;
                     call.dC = &dC;
                     call.dinitial_state = &dh0;
                     core_kernels::table().ssd_backward.run(dev, call);
                     return std::vector<Tensor>{g.needs(0) ? dx : Tensor(), g.needs(1) ? ddt : Tensor(), dA, dB, dC, dh0};
                   });
  return out;
}

}  // namespace strata
