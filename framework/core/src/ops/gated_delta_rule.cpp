// Gated delta rule op (ops/gated_delta_rule.h): shape checks, the chunked forward kernel of
// the backend table, and its fused backward on the tape, from the chunk states the forward
// saved.
#include "strata/ops/gated_delta_rule.h"

#include <cmath>
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

constexpr const char* kOp = "gated_delta_rule";

struct Sizes {
  std::int64_t B, T, H, Hk, K, V;
};

Sizes check_inputs(const GatedDeltaRuleInputs& in) {
  for (const auto& [name, t] : {std::pair<const char*, const Tensor*>{"q", &in.q}, {"k", &in.k}, {"v", &in.v},
                                {"g", &in.g}, {"beta", &in.beta}})
    detail::check_floating(kOp, name, *t);
  const std::initializer_list<const Tensor*> all = {&in.q, &in.k, &in.v, &in.g, &in.beta, &in.initial_state};
  detail::common_dtype(kOp, all);
  detail::common_device(kOp, all);
  if (in.q.rank() != 4) throw ShapeError(std::string(kOp) + ": q must be [B, T, Hk, K], got " + in.q.shape().to_string());
  if (in.v.rank() != 4) throw ShapeError(std::string(kOp) + ": v must be [B, T, H, V], got " + in.v.shape().to_string());
  const Sizes s{in.q.size(0), in.q.size(1), in.v.size(2), in.q.size(2), in.q.size(3), in.v.size(3)};
  if (s.Hk < 1 || s.H % s.Hk != 0)
    throw ShapeError(std::string(kOp) + ": " + std::to_string(s.H) + " value heads cannot share " +
                         std::to_string(s.Hk) + " key heads",
                     "the value head count must be a multiple of the key head count");
  if (s.K < 1 || s.V < 1) throw ShapeError(std::string(kOp) + ": q and v need a head dimension of at least 1");
  detail::check_shape(kOp, "k", in.k, {s.B, s.T, s.Hk, s.K}, "k has the shape of q, [B, T, Hk, K]");
  detail::check_shape(kOp, "v", in.v, {s.B, s.T, s.H, s.V}, "v is [B, T, H, V], with q's B and T");
  detail::check_shape(kOp, "g", in.g, {s.B, s.T, s.H}, "g is [B, T, H]: one log decay per value head and step");
  detail::check_shape(kOp, "beta", in.beta, {s.B, s.T, s.H}, "beta is [B, T, H]: one write strength per value head and step");
  detail::check_shape(kOp, "initial_state", in.initial_state, {s.B, s.H, s.K, s.V}, "the state is [B, H, K, V]");
  if (in.chunk < 1) throw ValueError(std::string(kOp) + ": chunk must be >= 1, got " + std::to_string(in.chunk));
  if (!std::isfinite(in.scale) || in.scale < 0)
    throw ValueError(std::string(kOp) + ": scale must be finite and >= 0 (0: 1 / sqrt(K)), got " +
                     std::to_string(in.scale));
  if (in.sequence_starts.defined()) check_sequence_starts(in.sequence_starts, s.B, s.T, kOp);
  return s;
}

core_kernels::GatedDeltaRuleCall call_for(const Sizes& s, std::int64_t chunk, double scale, const std::vector<Tensor>& t,
                                          const Tensor& starts) {
  return {.batch = s.B,
          .seq_len = s.T,
          .heads = s.H,
          .key_heads = s.Hk,
          .key_dim = s.K,
          .value_dim = s.V,
          .chunk = chunk,
          .scale = scale,
          .q = &t[0],
          .k = &t[1],
          .v = &t[2],
          .g = &t[3],
          .beta = &t[4],
          .initial_state = &t[5],
          .seq_start = starts.defined() ? &starts : nullptr};
}

}  // namespace

GatedDeltaRuleOutputs gated_delta_rule(const GatedDeltaRuleInputs& inputs) {
  const Sizes s = check_inputs(inputs);
  const double scale = inputs.scale > 0 ? inputs.scale : 1.0 / std::sqrt(double(s.K));
  const std::vector<Tensor> ins = {inputs.q, inputs.k, inputs.v, inputs.g, inputs.beta, inputs.initial_state};
  std::vector<Tensor> c;
  for (const Tensor& t : ins) c.push_back(t.defined() ? t.contiguous() : Tensor());
  const Tensor starts = inputs.sequence_starts.defined() ? inputs.sequence_starts.contiguous() : Tensor();
  const DType dtype = inputs.q.dtype();
  const Device device = inputs.q.device();
  GatedDeltaRuleOutputs out;
  out.o = Tensor::empty({s.B, s.T, s.H, s.V}, dtype, device);
  out.final_state = Tensor::empty({s.B, s.H, s.K, s.V}, dtype, device);
  const bool recording = autograd::needs_recording(std::span<const Tensor>(ins));
  Tensor chunk_states;
  core_kernels::GatedDeltaRuleCall call = call_for(s, inputs.chunk, scale, c, starts);
  call.save_for_backward = recording;
  call.saved = &chunk_states;
  call.o = &out.o;
  call.final_state = &out.final_state;
  core_kernels::table().gated_delta_rule.run(device, call);
  if (!recording) return out;

  std::vector<SavedTensor> saved;
  for (const Tensor& t : c) saved.emplace_back(t);
  const std::int64_t chunk = inputs.chunk;
  autograd::record(
      kOp, std::span<const Tensor>(ins), std::span<Tensor>(&out.o, 2),
      [saved, chunk_states, starts, s, chunk, scale](const BackwardArgs& g) mutable {
        std::vector<Tensor> t;
        for (const SavedTensor& st : saved) t.push_back(st.defined() ? st.get() : Tensor());
        const Tensor dout = g.grad(0).contiguous(), dfinal = g.grad(1).contiguous();
        const DType dt = dout.dtype();
        const Device dev = dout.device();
        // The kernel writes every gradient but the initial state's (which it skips when undefined).
        Tensor dq = Tensor::empty({s.B, s.T, s.Hk, s.K}, dt, dev), dk = Tensor::empty({s.B, s.T, s.Hk, s.K}, dt, dev),
               dv = Tensor::empty({s.B, s.T, s.H, s.V}, dt, dev), dg = Tensor::empty({s.B, s.T, s.H}, dt, dev),
               dbeta = Tensor::empty({s.B, s.T, s.H}, dt, dev),
               dh0 = g.needs(5) ? Tensor::empty({s.B, s.H, s.K, s.V}, dt, dev) : Tensor();
        core_kernels::GatedDeltaRuleCall bwd = call_for(s, chunk, scale, t, starts);
        bwd.saved = &chunk_states;
        bwd.dout = &dout;
        bwd.dfinal_state = &dfinal;
        bwd.dq = &dq;
        bwd.dk = &dk;
        bwd.dv = &dv;
        bwd.dg = &dg;
        bwd.dbeta = &dbeta;
        bwd.dinitial_state = &dh0;
        core_kernels::table().gated_delta_rule_backward.run(dev, bwd);
        const auto keep = [&](int i, const Tensor& grad) { return g.needs(i) ? grad : Tensor(); };
        return std::vector<Tensor>{keep(0, dq), keep(1, dk), keep(2, dv), keep(3, dg), keep(4, dbeta), dh0};
      });
  return out;
}

}  // namespace strata
