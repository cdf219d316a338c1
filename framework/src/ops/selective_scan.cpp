// Selective scan op (kernels/cpu/selective_scan): shape checks, the forward kernel, and
// the backward kernel on the tape, with the forward's chunk checkpoints kept for it.
#include "strata/ops/selective_scan.h"

#include <string>
#include <vector>

#include "kernels/cpu/selective_scan.h"
#include "strata/autograd.h"
#include "tensor_internal.h"

namespace strata {

namespace cpu = kernels::cpu;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

constexpr const char* kOp = "selective_scan";

void check_shape(const char* name, const Tensor& t, const Shape& expected, const char* meaning) {
  if (t.defined() && t.shape() != expected)
    throw ShapeError(std::string(kOp) + ": " + name + " is " + t.shape().to_string() + ", expected " +
                         expected.to_string(),
                     meaning);
}

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
  detail::require_cpu_kernel(kOp, detail::common_device(kOp, all));
  if (in.u.rank() != 3) throw ShapeError(std::string(kOp) + ": u must be [B, T, D], got " + in.u.shape().to_string());
  if (in.A.rank() != 2 || in.A.size(0) != in.u.size(2))
    throw ShapeError(std::string(kOp) + ": A is " + in.A.shape().to_string() + ", expected [" +
                         std::to_string(in.u.size(2)) + ", N]",
                     "A is [D, N]: one row of N state decays per channel of u");
  const ScanSizes s{in.u.size(0), in.u.size(1), in.u.size(2), in.A.size(1)};
  if (s.N < 1) throw ShapeError(std::string(kOp) + ": A has no states (N = 0)");
  check_shape("delta", in.delta, in.u.shape(), "delta has the shape of u, [B, T, D]");
  check_shape("B", in.B, {s.B, s.T, s.N}, "B is [B, T, N], shared by all channels");
  check_shape("C", in.C, {s.B, s.T, s.N}, "C is [B, T, N], shared by all channels");
  check_shape("D", in.D, {s.D}, "D is [D], one skip weight per channel");
  check_shape("z", in.z, in.u.shape(), "z has the shape of u, [B, T, D]");
  check_shape("delta_bias", in.delta_bias, {s.D}, "delta_bias is [D]");
  check_shape("initial_state", in.initial_state, {s.B, s.D, s.N}, "the state is [B, D, N]");
  return s;
}

Tensor contiguous_or_empty(const Tensor& t) { return t.defined() ? t.contiguous() : Tensor(); }

template <class T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}
template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
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
  const DType dtype = inputs.u.dtype();

  SelectiveScanOutputs out;
  out.y = Tensor::empty({s.B, s.T, s.D}, dtype);
  out.final_state = Tensor::empty({s.B, s.D, s.N}, dtype);
  const bool recording = autograd::needs_recording(std::span<const Tensor>(ins));
  Tensor checkpoints =
      recording ? Tensor::empty({cpu::selective_scan_checkpoint_size(s.B, s.T, s.D, s.N)}, dtype) : Tensor();

  // Kernel arguments over the given (contiguous) inputs.
  auto args_for = [s, softplus](auto type, const std::vector<Tensor>& t) {
    using Type = decltype(type);
    cpu::SelectiveScanArgs<Type> a;
    a.batch = s.B, a.seq_len = s.T, a.channels = s.D, a.d_state = s.N;
    a.u = t[0].data<Type>();
    a.delta = t[1].data<Type>();
    a.A = t[2].data<Type>();
    a.B = t[3].data<Type>();
    a.C = t[4].data<Type>();
    a.D = data_or_null<Type>(t[5]);
    a.z = data_or_null<Type>(t[6]);
    a.delta_bias = data_or_null<Type>(t[7]);
    a.initial_state = data_or_null<Type>(t[8]);
    a.delta_softplus = softplus;
    return a;
  };
  dispatch_floating(dtype, kOp, [&](auto type) {
    using Type = decltype(type);
    cpu::SelectiveScanArgs<Type> a = args_for(type, c);
    a.y = out.y.data<Type>();
    a.final_state = out.final_state.data<Type>();
    a.checkpoints = data_or_null<Type>(checkpoints);
    cpu::selective_scan_fwd_cpu(a);
  });
  if (!recording) return out;

  std::vector<SavedTensor> saved;
  for (const Tensor& t : c) saved.emplace_back(t);
  autograd::record(
      kOp, std::span<const Tensor>(ins), std::span<Tensor>(&out.y, 2),
      [args_for, saved, checkpoints, s](const BackwardArgs& g) mutable {
        std::vector<Tensor> t;
        for (const SavedTensor& st : saved) t.push_back(st.defined() ? st.get() : Tensor());
        const Tensor dy = g.grad(0).contiguous(), dfinal = g.grad(1).contiguous();
        const DType dt = dy.dtype();
        auto grad_if = [&](int i, const Shape& shape) { return g.needs(i) ? Tensor::empty(shape, dt) : Tensor(); };
        Tensor du = Tensor::empty({s.B, s.T, s.D}, dt), ddelta = Tensor::empty({s.B, s.T, s.D}, dt);
        Tensor dA = grad_if(2, {s.D, s.N}), dB = grad_if(3, {s.B, s.T, s.N}), dC = grad_if(4, {s.B, s.T, s.N});
        Tensor dD = grad_if(5, {s.D}), dz = grad_if(6, {s.B, s.T, s.D}), dbias = grad_if(7, {s.D});
        Tensor dh0 = grad_if(8, {s.B, s.D, s.N});
        Tensor workspace = Tensor::empty({cpu::selective_scan_bwd_workspace_size(s.B, s.T, s.D, s.N)}, dt);
        dispatch_floating(dt, "selective_scan backward", [&](auto type) {
          using Type = decltype(type);
          cpu::SelectiveScanArgs<Type> a = args_for(type, t);
          a.checkpoints = checkpoints.data<Type>();
          a.dy = dy.data<Type>();
          a.dfinal_state = dfinal.data<Type>();
          a.du = du.data<Type>();
          a.ddelta = ddelta.data<Type>();
          a.dA = data_or_null<Type>(dA);
          a.dB = data_or_null<Type>(dB);
          a.dC = data_or_null<Type>(dC);
          a.dD = data_or_null<Type>(dD);
          a.dz = data_or_null<Type>(dz);
          a.ddelta_bias = data_or_null<Type>(dbias);
          a.dinitial_state = data_or_null<Type>(dh0);
          a.workspace = workspace.data<Type>();
          cpu::selective_scan_bwd_cpu(a);
        });
        return std::vector<Tensor>{g.needs(0) ? du : Tensor(), g.needs(1) ? ddelta : Tensor(), dA, dB, dC, dD, dz,
                                   dbias, dh0};
      });
  return out;
}

}  // namespace strata
