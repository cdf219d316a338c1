// Mixture-of-Experts ops: the slot sort (integer bookkeeping) and the grouped product
// (a grouped GEMM of the backend table).
#include "strata/ops/moe.h"

#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/precision.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

ExpertSlots sort_slots_by_expert(const Tensor& expert_ids, std::int64_t n_experts) {
  detail::check_index_tensor("sort_slots_by_expert", "expert_ids", expert_ids);
  if (expert_ids.rank() != 2)
    throw ShapeError("sort_slots_by_expert: expert_ids must be [N, k], got " + expert_ids.shape().to_string());
  if (n_experts < 1) throw ValueError("sort_slots_by_expert: n_experts = " + std::to_string(n_experts) + " must be >= 1");
  // Counted and permuted where the ids live (a GPU keeps them there); only the summary,
  // E + 2 numbers, comes to the host: the outputs' size and the validation.
  const Device device = expert_ids.device();
  const Tensor ids = expert_ids.contiguous();
  const std::int64_t k = ids.size(1), E = n_experts;
  Tensor summary = Tensor::empty({E + 2}, DType::i64, device);  // counts, dropped, first invalid index
  core_kernels::table().expert_slots_count.run(device, {.ids = &ids, .experts = E, .summary = &summary});
  const std::vector<std::int64_t> s = summary.to_vector<std::int64_t>();
  if (const std::int64_t bad = s[std::size_t(E + 1)]; bad >= 0) {
    const std::int64_t value = ids.reshape({-1}).slice(0, bad, bad + 1).to_vector<std::int64_t>()[0];
    throw ValueError("sort_slots_by_expert: expert_ids[" + std::to_string(bad / k) + ", " + std::to_string(bad % k) +
                         "] = " + std::to_string(value) + " is outside [-1, " + std::to_string(E) + ")",
                     "-1 marks a dropped slot; experts are 0 .. n_experts - 1");
  }
  const std::int64_t S = ids.numel() - s[std::size_t(E)];
  Tensor slot = Tensor::empty({S}, DType::i64, device), token = Tensor::empty({S}, DType::i64, device);
  core_kernels::table().expert_slots_permute.run(
      device, {.ids = &ids, .experts = E, .summary = &summary, .slot = &slot, .token = &token});
  // The counts stay on the host, where every reader wants them (grouped_matmul's offsets,
  // expert-parallel exchange sizes, telemetry): no further device read per MoE layer.
  return {slot, token, Tensor::from_vector(std::vector<std::int64_t>(s.begin(), s.begin() + E), {E})};
}

Tensor grouped_matmul(const Tensor& x, const Tensor& weight, const Tensor& group_sizes) {
  const char* op = "grouped_matmul";
  detail::check_floating(op, "x", x);
  detail::check_floating(op, "weight", weight);
  detail::check_index_tensor(op, "group_sizes", group_sizes);
  detail::common_dtype(op, {&x, &weight});
  detail::common_device(op, {&x, &weight});
  if (x.rank() != 2 || weight.rank() != 3 || weight.size(2) != x.size(1))
    throw ShapeError(std::string(op) + ": x " + x.shape().to_string() + " and weight " + weight.shape().to_string() +
                         " do not match",
                     "x is [S, K] and weight [E, N, K]");
  const std::int64_t E = weight.size(0), S = x.size(0), K = x.size(1), N = weight.size(1);
  if (group_sizes.rank() != 1 || group_sizes.size(0) != E)
    throw ShapeError(std::string(op) + ": group_sizes " + group_sizes.shape().to_string() + " must be [" +
                     std::to_string(E) + "], one count per expert");
  std::vector<std::int64_t> offsets(std::size_t(E + 1), 0);
  const std::vector<std::int64_t> sizes = group_sizes.to_vector<std::int64_t>();
  for (std::int64_t e = 0; e < E; ++e) {
    if (sizes[std::size_t(e)] < 0)
      throw ValueError(std::string(op) + ": group_sizes[" + std::to_string(e) + "] = " +
                       std::to_string(sizes[std::size_t(e)]) + " is negative");
    offsets[std::size_t(e + 1)] = offsets[std::size_t(e)] + sizes[std::size_t(e)];
  }
  if (offsets.back() != S)
    throw ShapeError(std::string(op) + ": group_sizes sum to " + std::to_string(offsets.back()) + ", x has " +
                         std::to_string(S) + " rows",
                     "every row of x belongs to exactly one group");
  // Under the bf16 and tf32 policies (precision.h) the operands are rounded to bf16 (here)
  // or TF32 (by the product) and the products accumulate in f32; the results (y, dx, dw)
  // are f32 either way.
  const Precision precision = x.dtype() == DType::f32 ? compute_precision() : Precision::f32;
  const bool reduced = precision != Precision::f32, tf32 = precision == Precision::tf32;
  const auto operand = [precision](const Tensor& t) {
    return precision == Precision::f32 ? t.contiguous() : detail::policy_operand(t, precision);
  };
  const Tensor xc = operand(x), wc = operand(weight);
  Tensor y = Tensor::empty({S, N}, x.dtype(), x.device());
  core_kernels::table().grouped_gemm.run(x.device(), {.groups = E, .rows = S, .in = K, .out = N, .offsets = offsets,
                                                      .x = &xc, .w = &wc, .y = &y, .tf32 = tf32});
  const std::vector<Tensor> inputs = reduced ? std::vector<Tensor>{x, weight} : std::vector<Tensor>{xc, wc};
  autograd::record(op, inputs, std::span<Tensor>(&y, 1),
                   [offsets, operand, tf32, xs = SavedTensor(xc), ws = SavedTensor(wc), S, K, E, N](const BackwardArgs& g) {
                     const Tensor dy = operand(g.grad());
                     const Tensor xt = xs.get(), wt = ws.get();
                     const DType out_dtype = g.grad().dtype();
                     Tensor dx = g.needs(0) ? Tensor::empty({S, K}, out_dtype, dy.device()) : Tensor();
                     Tensor dw = g.needs(1) ? Tensor::empty({E, N, K}, out_dtype, dy.device()) : Tensor();
                     core_kernels::table().grouped_gemm_backward.run(dy.device(), {.groups = E,
                                                                                   .rows = S,
                                                                                   .in = K,
                                                                                   .out = N,
                                                                                   .offsets = offsets,
                                                                                   .x = &xt,
                                                                                   .w = &wt,
                                                                                   .dy = &dy,
                                                                                   .dx = &dx,
                                                                                   .dw = &dw,
                                                                                   .tf32 = tf32});
                     return std::vector<Tensor>{dx, dw};
                   });
  return y;
}

}  // namespace strata
