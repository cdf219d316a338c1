// Scaled dot-product attention: the fused flash kernel of the backend table with its
// own backward, and the naive path composed of differentiable ops.
#include "strata/ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/elementwise.h"
#include "strata/ops/matmul.h"
#include "strata/ops/shape_ops.h"
#include "strata/ops/softmax.h"
#include "strata/packing.h"
#include "strata/precision.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

struct Dims {
  std::int64_t B, T, S, Hq, Hkv, d;
};

// Checks shapes and options; returns the dims and the options with defaults resolved.
Dims check_attention_args(const Tensor& q, const Tensor& k, const Tensor& v, AttentionOptions& o) {
  const char* op = "attention";
  detail::check_floating(op, "q", q);
  detail::check_floating(op, "k", k);
  detail::check_floating(op, "v", v);
  detail::common_dtype(op, {&q, &k, &v});
  detail::common_device(op, {&q, &k, &v});
  const std::string shapes =
      "q " + q.shape().to_string() + ", k " + k.shape().to_string() + ", v " + v.shape().to_string();
  if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4)
    throw ShapeError("attention: q, k and v must be [B, T, heads, head_dim], got " + shapes);
  if (k.shape() != v.shape() || q.size(0) != k.size(0) || q.size(3) != k.size(3))
    throw ShapeError("attention: " + shapes + " do not match",
                     "k and v are [B, S, Hkv, d] and q is [B, T, Hq, d] with the same B and d");
  const Dims dims{q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3)};
  if (dims.Hkv < 1 || dims.Hq % dims.Hkv != 0)
    throw ShapeError("attention: " + std::to_string(dims.Hq) + " query heads are not a multiple of " +
                         std::to_string(dims.Hkv) + " key/value heads (" + shapes + ")",
                     "each key/value head serves the same number of query heads");
  if (o.window < 0) throw ValueError("attention: window = " + std::to_string(o.window) + " must be >= 0 (0: none)");
  if (o.window > 0 && !o.causal)
    throw ValueError("attention: a sliding window needs causal attention", "set causal = true or window = 0");
  if (o.scale == 0) o.scale = dims.d > 0 ? 1.0 / std::sqrt(double(dims.d)) : 1.0;
  if (!std::isfinite(o.scale))
    throw ValueError("attention: scale = " + std::to_string(o.scale) + " is not finite");
  if (o.query_offset == -1) o.query_offset = dims.S - dims.T;
  if (o.causal && (o.query_offset < 0 || o.query_offset > dims.S - dims.T))
    throw ValueError("attention: query_offset = " + std::to_string(o.query_offset) + " must be in [0, S - T = " +
                         std::to_string(dims.S - dims.T) + "] (" + shapes + ")",
                     "with causal masking every query's own position must be among the keys");
  if (o.sequence_starts.defined()) {
    if (!o.causal || dims.S != dims.T || o.query_offset != 0)
      throw ValueError("attention: packed documents (sequence_starts) need causal self-attention over the same "
                       "rows (S == T, query_offset 0); got " + shapes,
                       "decode one document per row");
    check_sequence_starts(o.sequence_starts, dims.B, dims.T, "attention");
    o.sequence_starts = o.sequence_starts.contiguous();
  }
  return dims;
}

// The kernel call over packed q, k, v; the caller adds outputs (and gradients).
core_kernels::AttentionCall attention_call(const Dims& dims, const AttentionOptions& o, const Tensor& q,
                                           const Tensor& k, const Tensor& v) {
  return {.batch = dims.B,
          .q_len = dims.T,
          .kv_len = dims.S,
          .n_heads = dims.Hq,
          .n_kv_heads = dims.Hkv,
          .head_dim = dims.d,
          .query_offset = o.causal ? o.query_offset : 0,
          .window = o.window,
          .causal = o.causal,
          .scale = o.scale,
          .seq_start = o.sequence_starts.defined() ? &o.sequence_starts : nullptr,
          .q = &q,
          .k = &k,
          .v = &v};
}

// The dtype attention computes in. Under the bf16 policy, f32 inputs run in bf16 where the
// backend has a fused bf16 kernel that takes the call (cuDNN's on a GPU: tensor cores, half
// the memory traffic); elsewhere, and for every other input, in the inputs' dtype (the
// CPU's flash kernel has no bf16 path: docs/precision.md).
DType attention_dtype(const core_kernels::AttentionCall& call, Device device) {
  if (call.q->dtype() != DType::f32 || compute_precision() != Precision::bf16) return call.q->dtype();
  const Tensor placeholder = Tensor::empty({0}, DType::bf16, device);
  core_kernels::AttentionCall reduced = call;
  reduced.q = reduced.k = reduced.v = &placeholder;
  return core_kernels::table().attention.supported(device, reduced) ? DType::bf16 : DType::f32;
}

Tensor flash_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in, const Dims& dims,
                       const AttentionOptions& o) {
  const Tensor q = detail::heads_packed(q_in), k = detail::heads_packed(k_in), v = detail::heads_packed(v_in);
  const Device device = q.device();
  const DType dtype = q.dtype();
  core_kernels::AttentionCall call = attention_call(dims, o, q, k, v);
  const DType compute = attention_dtype(call, device);
  // The operands in the compute dtype: q, k, v themselves, or their bf16 copies (detached:
  // the op records its own backward against q, k, v).
  const auto operand = [&](const Tensor& t) { return compute == dtype ? t : detail::bf16_operand(t); };
  const Tensor qc = operand(q), kc = operand(k), vc = operand(v);
  const DType stats_dtype = is_reduced_precision(compute) ? DType::f32 : compute;
  Tensor out = Tensor::empty({dims.B, dims.T, dims.Hq, dims.d}, compute, device);
  Tensor lse = Tensor::empty({dims.B, dims.Hq, dims.T}, stats_dtype, device);
  call.q = &qc;
  call.k = &kc;
  call.v = &vc;
  call.out = &out;
  call.lse = &lse;
  core_kernels::table().attention.run(device, call);
  const Tensor result = out.to(dtype);  // out itself when the dtypes agree
  autograd::record("attention", {q, k, v}, {result},
                   [qs = SavedTensor(qc), ks = SavedTensor(kc), vs = SavedTensor(vc), outs = SavedTensor(out),
                    lses = SavedTensor(lse), dims, o, dtype, compute](const BackwardArgs& a) {
                     const Tensor dout = a.grad().to(compute).contiguous();
                     const Tensor qt = qs.get(), kt = ks.get(), vt = vs.get();
                     Tensor saved_out = outs.get(), saved_lse = lses.get();  // read, not modified
                     Tensor dq = Tensor::empty(qt.shape(), compute, dout.device());
                     Tensor dk = Tensor::empty(kt.shape(), compute, dout.device());
                     Tensor dv = Tensor::empty(vt.shape(), compute, dout.device());
                     core_kernels::AttentionCall grad = attention_call(dims, o, qt, kt, vt);
                     grad.out = &saved_out;
                     grad.lse = &saved_lse;
                     grad.dout = &dout;
                     grad.dq = &dq;
                     grad.dk = &dk;
                     grad.dv = &dv;
                     core_kernels::table().attention_backward.run(dout.device(), grad);
                     return std::vector<Tensor>{dq.to(dtype), dk.to(dtype), dv.to(dtype)};
                   });
  return result;
}

// softmax(scale * Q K^T + mask) V with every [T, S] score matrix stored, from
// differentiable ops (the backward comes from the tape).
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Dims& dims,
                       const AttentionOptions& o) {
  const std::int64_t G = dims.Hq / dims.Hkv;
  // q: [B, T, Hkv, G, d] -> [B, Hkv, G, T, d];  k, v: [B, S, Hkv, d] -> [B, Hkv, 1, S, d]
  const Tensor qh = permute(reshape(q, {dims.B, dims.T, dims.Hkv, G, dims.d}), std::vector<int>{0, 2, 3, 1, 4});
  const Tensor kh = unsqueeze(permute(k, std::vector<int>{0, 2, 1, 3}), 2);
  const Tensor vh = unsqueeze(permute(v, std::vector<int>{0, 2, 1, 3}), 2);
  Tensor scores = scale(matmul(qh, kh, false, true), o.scale);  // [B, Hkv, G, T, S]
  if (o.causal || o.window > 0) {
    // [T, S], or [B, 1, 1, T, S] with packed documents (each sequence its own mask)
    const bool packed = o.sequence_starts.defined();
    const std::int64_t masks = packed ? dims.B : 1;
    const std::vector<std::int64_t> starts = packed ? o.sequence_starts.to_vector<std::int64_t>() : std::vector<std::int64_t>{};
    std::vector<double> mask(std::size_t(masks * dims.T * dims.S), -std::numeric_limits<double>::infinity());
    for (std::int64_t b = 0; b < masks; ++b)
      for (std::int64_t i = 0; i < dims.T; ++i) {
        kernels::VisibleKeys keys = kernels::attention_visible_keys(i, o.query_offset, dims.S, o.causal, o.window);
        if (packed) keys.begin = std::max(keys.begin, starts[std::size_t(b * dims.T + i)]);
        for (std::int64_t j = keys.begin; j < keys.end; ++j) mask[std::size_t((b * dims.T + i) * dims.S + j)] = 0.0;
      }
    const Shape mask_shape = packed ? Shape{dims.B, 1, 1, dims.T, dims.S} : Shape{dims.T, dims.S};
    scores = add(scores, Tensor::from_vector(mask, mask_shape).to(q.dtype()).to(q.device()));
  }
  const Tensor out = matmul(softmax(scores), vh);  // [B, Hkv, G, T, d]
  return reshape(permute(out, std::vector<int>{0, 3, 1, 2, 4}), {dims.B, dims.T, dims.Hq, dims.d});
}

}  // namespace

Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& options) {
  AttentionOptions o = options;
  const Dims dims = check_attention_args(q, k, v, o);
  if (dims.B * dims.T * dims.Hq * dims.d == 0 || dims.S == 0) {
    // Nothing asked, or no key to attend to (non-causal with S = 0): zeros.
    return Tensor::zeros({dims.B, dims.T, dims.Hq, dims.d}, q.dtype(), q.device());
  }
  return o.impl == AttentionImpl::flash ? flash_attention(q, k, v, dims, o) : naive_attention(q, k, v, dims, o);
}

}  // namespace strata
