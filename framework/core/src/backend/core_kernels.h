#pragma once
// The core's entries of the backend table: one KernelOp per kernel the core ops call, each
// with its Call (the tensors and scalars one call carries). Ops validate, allocate outputs
// on the inputs' device and record their backward; the backends registered here do the
// work (framework/core/src/backend/cpu for the CPU). Tensors in a Call are as the op documents:
// "contiguous" means the op made them so; a null or undefined tensor means "absent" where
// allowed. Calls are built with designated initializers: {.x = &x, .out = &out}.
#include <cstdint>
#include <span>

#include "kernels/op_kinds.h"
#include "strata/backend.h"
#include "strata/tensor.h"

namespace strata::core_kernels {

using backend::DTypeList;
using backend::KernelOp;

// ---- elementwise ------------------------------------------------------------------------

// out = a (op) b; out contiguous with the broadcast shape, a and b any strides, broadcast
// from their own shapes (trailing-aligned).
struct BinaryCall {
  kernels::BinaryOp op;
  const Tensor* a = nullptr;
  const Tensor* b = nullptr;
  Tensor* out = nullptr;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// out = alpha * x + beta over numel elements; x, out contiguous; out may be x.
struct AffineCall {
  const Tensor* x = nullptr;
  Tensor* out = nullptr;
  double alpha = 1, beta = 0;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// y += alpha * x; both contiguous, same numel, not overlapping.
struct AxpyCall {
  const Tensor* x = nullptr;
  Tensor* y = nullptr;
  double alpha = 1;
  DTypeList dtypes() const { return {y->dtype()}; }
};

// y = f(x); x, y contiguous, same shape.
struct UnaryCall {
  kernels::UnaryOp op;
  kernels::UnaryParams params;
  const Tensor* x = nullptr;
  Tensor* y = nullptr;
  DTypeList dtypes() const { return {y->dtype()}; }
};

// dx = g * f'(.) from the saved x or y (kernels::unary_bwd_uses_output says which); all contiguous.
struct UnaryBackwardCall {
  kernels::UnaryOp op;
  kernels::UnaryParams params;
  const Tensor* saved = nullptr;
  const Tensor* g = nullptr;
  Tensor* dx = nullptr;
  DTypeList dtypes() const { return {dx->dtype()}; }
};

// dst = src, converting dtypes; src already broadcast (expanded) to dst's shape; both any strides.
struct CopyCall {
  const Tensor* src = nullptr;
  Tensor* dst = nullptr;
  DTypeList dtypes() const { return {src->dtype(), dst->dtype()}; }
};

// dst[...] = value; dst contiguous.
struct FillCall {
  Tensor* dst = nullptr;
  double value = 0;
  DTypeList dtypes() const { return {dst->dtype()}; }
};

// A fill from the Philox stream (kernels/op_kinds.h): out contiguous; uniform in [a, b),
// normal with mean a and std b, or integers in [low, high) for i64.
enum class Distribution { uniform, normal, integers };
struct RandomFillCall {
  Distribution distribution;
  Tensor* out = nullptr;
  std::uint64_t key = 0, first_counter = 0;
  double a = 0, b = 1;
  std::int64_t low = 0, high = 1;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// ---- reductions, indexing ---------------------------------------------------------------

// out[A, C] = sum over R of x[A, R, C]; x contiguous.
struct SumCall {
  const Tensor* x = nullptr;
  Tensor* out = nullptr;
  std::int64_t outer = 1, reduced = 1, inner = 1;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// select: dst[o, j, :] = src[o, index[j], :];  add: dst[o, index[j], :] += src[o, j, :]
// src, dst contiguous, viewed as [outer, n or m, inner]; index [m] contiguous i64, validated.
struct IndexRowsCall {
  const Tensor* src = nullptr;
  const Tensor* index = nullptr;
  Tensor* dst = nullptr;
  std::int64_t outer = 1, n = 0, inner = 1;
  DTypeList dtypes() const { return {dst->dtype()}; }
};

// gather: out[i] = x[i with coordinate dim replaced by index[i]] (out contiguous, x strided);
// scatter_add: dst[i with dim replaced by index[i]] += src[i] (src, dst strided).
// The iteration space is index's shape; index contiguous i64, validated.
struct GatherCall {
  int dim = 0;
  const Tensor* index = nullptr;
  const Tensor* src = nullptr;  // x for gather
  Tensor* dst = nullptr;        // out for gather
  DTypeList dtypes() const { return {dst->dtype()}; }
};

// The k largest of each row of x [rows, cols] (contiguous), sorted descending, ties to the
// lower index: values [rows, k], indices [rows, k] i64.
struct TopKCall {
  const Tensor* x = nullptr;
  Tensor* values = nullptr;
  Tensor* indices = nullptr;
  std::int64_t rows = 0, cols = 0, k = 0;
  DTypeList dtypes() const { return {x->dtype()}; }
};

// ---- fused row ops ----------------------------------------------------------------------

// Softmax (or log-softmax) over the rows of x [rows, cols] (contiguous): forward out = y;
// backward from the saved y and upstream g, out = dx.
struct SoftmaxCall {
  bool log = false;
  std::int64_t rows = 0, cols = 0;
  const Tensor* x = nullptr;  // forward: the input; backward: the saved output y
  const Tensor* g = nullptr;  // backward only (undefined in the forward)
  Tensor* out = nullptr;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// Fused softmax + NLL over logits [rows, classes] (contiguous), targets [rows] i64
// (validated: in range or ignore_index). Forward: loss [rows], lse [rows]. Backward:
// dlogits [rows, classes] from lse and grad (one value per row, or one for all with
// grad_stride 0).
struct CrossEntropyCall {
  const Tensor* logits = nullptr;
  const Tensor* targets = nullptr;
  std::int64_t ignore_index = -100;
  double label_smoothing = 0;
  Tensor* lse = nullptr;         // written by the forward, read by the backward
  Tensor* loss = nullptr;        // forward output (undefined in the backward)
  const Tensor* grad = nullptr;  // backward only
  std::int64_t grad_stride = 1;
  Tensor* dlogits = nullptr;  // backward output (undefined in the forward)
  DTypeList dtypes() const { return {logits->dtype()}; }
};

// SwiGLU h = silu(gate) * up over [rows, H]; gate and up rows at row stride in_stride,
// up starting up_offset elements into `up` (for a fused [gate | up]: in_stride 2H, offset H).
// Backward: dgate and dup written at the same strides and offset.
struct SwigluCall {
  const Tensor* gate = nullptr;
  const Tensor* up = nullptr;
  std::int64_t rows = 0, cols = 0, in_stride = 0, up_offset = 0;
  Tensor* out = nullptr;       // forward [rows, H]
  const Tensor* g = nullptr;   // backward [rows, H]
  Tensor* dgate = nullptr;     // backward
  Tensor* dup = nullptr;       // backward (may be dgate, for the fused layout)
  DTypeList dtypes() const { return {gate->dtype()}; }
};

// RMSNorm / LayerNorm over rows of x [rows, cols] (contiguous): weight, bias [cols] or
// undefined; mean (LayerNorm only), rstd [rows] written by the forward for the backward.
struct NormCall {
  std::int64_t rows = 0, cols = 0;
  double eps = 1e-5;
  const Tensor* x = nullptr;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;  // LayerNorm only
  Tensor* mean = nullptr;        // LayerNorm only
  Tensor* rstd = nullptr;
  Tensor* y = nullptr;             // forward
  const Tensor* g = nullptr;       // backward
  Tensor* dx = nullptr;            // backward
  Tensor* dweight = nullptr;       // backward, or undefined
  Tensor* dbias = nullptr;         // backward (LayerNorm), or undefined
  DTypeList dtypes() const { return {x->dtype()}; }
};

// RoPE on [B, T, H, head_dim] (heads packed: each head contiguous, heads adjacent; batch and
// time strides any): out contiguous. See ops/rope.h for the layouts.
struct RopeCall {
  const Tensor* x = nullptr;
  Tensor* out = nullptr;
  std::int64_t rotary_dim = 0, position_offset = 0;
  const Tensor* positions = nullptr;  // [B, T] i64 contiguous, each row's position, or null: offset + t
  double theta = 10000.0;
  const double* inv_freq = nullptr;  // [rotary_dim / 2], or nullptr: from theta
  double scale = 1.0;                // on cos and sin
  bool interleaved = false, inverse = false;
  DTypeList dtypes() const { return {out->dtype()}; }
};

// ---- matrix products --------------------------------------------------------------------

// `count` products C_i[m, n] = alpha op(A_i) op(B_i) + beta C_i, row-major with row strides
// lda/ldb/ldc, A_i starting a_offsets[i] elements after a's first element (likewise b, c);
// empty offsets mean 0 (one product at the tensors' first elements).
struct GemmCall {
  bool trans_a = false, trans_b = false;
  std::int64_t m = 0, n = 0, k = 0;
  double alpha = 1, beta = 0;
  const Tensor* a = nullptr;
  std::int64_t lda = 0;
  const Tensor* b = nullptr;
  std::int64_t ldb = 0;
  Tensor* c = nullptr;
  std::int64_t ldc = 0;
  std::int64_t count = 1;
  std::span<const std::int64_t> a_offsets, b_offsets, c_offsets;  // [count] each, or empty
  bool tf32 = false;  // f32 operands rounded to TF32, f32 accumulation (precision.h)
  DTypeList dtypes() const { return {a->dtype(), b->dtype(), c->dtype()}; }
};

// Grouped products for MoE over rows sorted by group: offsets [G + 1] (host), x [S, K],
// w [G, N, K] (contiguous). Forward y = x w_g^T per group; backward dx = dy w_g,
// dw_g = dy^T x (either may be undefined).
struct GroupedGemmCall {
  std::int64_t groups = 0, rows = 0, in = 0, out = 0;
  std::span<const std::int64_t> offsets;
  const Tensor* x = nullptr;
  const Tensor* w = nullptr;
  Tensor* y = nullptr;         // forward
  const Tensor* dy = nullptr;  // backward
  Tensor* dx = nullptr;
  Tensor* dw = nullptr;
  bool tf32 = false;  // f32 operands (x, w, dy) rounded to TF32, f32 accumulation (precision.h)
  DTypeList dtypes() const { return {x->dtype()}; }
};

// The mixed-precision products (precision.h): bf16 operands (dy included), f32 results.
// Backends register their bf16 kernels of gemm and grouped_gemm for these calls only.
inline bool bf16_operands_f32_results(const GemmCall& c) {
  return c.a->dtype() == DType::bf16 && c.b->dtype() == DType::bf16 && c.c->dtype() == DType::f32;
}
inline bool bf16_operands_f32_results(const GroupedGemmCall& c) {
  for (const Tensor* t : {c.y, c.dx, c.dw})
    if (t && t->defined() && t->dtype() != DType::f32) return false;
  return !c.dy || !c.dy->defined() || c.dy->dtype() == DType::bf16;
}

// ---- sequence mixers --------------------------------------------------------------------

// Flash attention over q [B, T, Hq, d], k, v [B, S, Hkv, d] (heads packed): out [B, T, Hq, d]
// and lse [B, Hq, T] from the forward; the backward reads both and writes dq, dk, dv. out,
// dout and the gradients are in q's dtype; lse too, except f32 for bf16 / f16 q (the
// softmax statistics, whatever the backend keeps there for its own backward). Under the
// bf16 policy the op asks `supported` with empty bf16 placeholders for q, k and v, so a
// `supports` predicate reads the call's sizes and options and q's device and dtype only.
struct AttentionCall {
  std::int64_t batch = 0, q_len = 0, kv_len = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0;
  std::int64_t query_offset = 0, window = 0;
  bool causal = false;
  double scale = 1;
  const Tensor* seq_start = nullptr;  // [B, T] i64 contiguous (packed documents), or null
  const Tensor* q = nullptr;
  const Tensor* k = nullptr;
  const Tensor* v = nullptr;
  Tensor* out = nullptr;
  Tensor* lse = nullptr;
  const Tensor* dout = nullptr;  // backward
  Tensor* dq = nullptr;
  Tensor* dk = nullptr;
  Tensor* dv = nullptr;
  DTypeList dtypes() const { return {q->dtype()}; }
};

// Mamba's selective scan (ops/selective_scan.h): u, delta [B, T, D], A [D, N], B, C [B, T, N],
// optional D, delta_bias [D], z [B, T, D], initial_state [B, D, N]; all contiguous. The
// forward writes y, final_state and, when save_for_backward, `saved`: whatever the backend
// keeps for its backward (it allocates it). The backward reads `saved` and writes the
// gradients that are defined.
struct SelectiveScanCall {
  std::int64_t batch = 0, seq_len = 0, channels = 0, d_state = 0;
  bool delta_softplus = false;
  const Tensor* u = nullptr;
  const Tensor* delta = nullptr;
  const Tensor* A = nullptr;
  const Tensor* B = nullptr;
  const Tensor* C = nullptr;
  const Tensor* D = nullptr;
  const Tensor* z = nullptr;
  const Tensor* delta_bias = nullptr;
  const Tensor* initial_state = nullptr;
  const Tensor* seq_start = nullptr;  // [B, T] i64 contiguous (packed documents), or null
  bool save_for_backward = false;
  Tensor* saved = nullptr;
  Tensor* y = nullptr;
  Tensor* final_state = nullptr;
  // backward
  const Tensor* dy = nullptr;
  const Tensor* dfinal_state = nullptr;
  Tensor* du = nullptr;
  Tensor* ddelta = nullptr;
  Tensor* dA = nullptr;
  Tensor* dB = nullptr;
  Tensor* dC = nullptr;
  Tensor* dD = nullptr;
  Tensor* dz = nullptr;
  Tensor* ddelta_bias = nullptr;
  Tensor* dinitial_state = nullptr;
  DTypeList dtypes() const { return {u->dtype()}; }
};

// Mamba-2's chunked SSD scan (ops/ssd.h): x [B, T, H, P], dt [B, T, H], A [H], B and C
// [B, T, G, N], initial_state [B, H, P, N] or undefined; all contiguous. The forward writes
// y, final_state and (when saving) the chunk states; the backward reads them and writes
// dx, ddt and the defined ones of dA, dB, dC, dinitial_state.
struct SsdCall {
  std::int64_t batch = 0, seq_len = 0, heads = 0, head_dim = 0, groups = 0, d_state = 0, chunk = 0;
  const Tensor* x = nullptr;
  const Tensor* dt = nullptr;
  const Tensor* A = nullptr;
  const Tensor* B = nullptr;
  const Tensor* C = nullptr;
  const Tensor* initial_state = nullptr;
  const Tensor* seq_start = nullptr;  // [B, T] i64 contiguous (packed documents), or null
  bool save_for_backward = false;
  Tensor* saved = nullptr;
  Tensor* y = nullptr;
  Tensor* final_state = nullptr;
  const Tensor* dy = nullptr;
  const Tensor* dfinal_state = nullptr;
  Tensor* dx = nullptr;
  Tensor* ddt = nullptr;
  Tensor* dA = nullptr;
  Tensor* dB = nullptr;
  Tensor* dC = nullptr;
  Tensor* dinitial_state = nullptr;
  DTypeList dtypes() const { return {x->dtype()}; }
};

// The chunked gated delta rule (ops/gated_delta_rule.h): q and k [B, T, Hk, K], v [B, T, H, V],
// g and beta [B, T, H], initial_state [B, H, K, V] or undefined; all contiguous. The forward
// writes o, final_state and (when saving) the chunk states; the backward reads them and
// writes dq, dk, dv, dg, dbeta and, when defined, dinitial_state.
struct GatedDeltaRuleCall {
  std::int64_t batch = 0, seq_len = 0, heads = 0, key_heads = 0, key_dim = 0, value_dim = 0, chunk = 0;
  double scale = 1;
  const Tensor* q = nullptr;
  const Tensor* k = nullptr;
  const Tensor* v = nullptr;
  const Tensor* g = nullptr;
  const Tensor* beta = nullptr;
  const Tensor* initial_state = nullptr;
  const Tensor* seq_start = nullptr;  // [B, T] i64 contiguous (packed documents), or null
  bool save_for_backward = false;
  Tensor* saved = nullptr;
  Tensor* o = nullptr;
  Tensor* final_state = nullptr;
  const Tensor* dout = nullptr;
  const Tensor* dfinal_state = nullptr;
  Tensor* dq = nullptr;
  Tensor* dk = nullptr;
  Tensor* dv = nullptr;
  Tensor* dg = nullptr;
  Tensor* dbeta = nullptr;
  Tensor* dinitial_state = nullptr;
  DTypeList dtypes() const { return {q->dtype()}; }
};

// Causal depthwise conv over time: x [B, T, D], weight [D, K], bias [D] or undefined,
// initial [B, K-1, D] or undefined; all contiguous. Forward y; backward dx and the defined
// ones of dweight, dbias, dinitial.
struct CausalConvCall {
  std::int64_t batch = 0, seq_len = 0, channels = 0, kernel_size = 0;
  const Tensor* x = nullptr;
  const Tensor* weight = nullptr;
  const Tensor* bias = nullptr;
  const Tensor* initial = nullptr;
  const Tensor* seq_start = nullptr;  // [B, T] i64 contiguous (packed documents), or null
  Tensor* y = nullptr;
  const Tensor* dy = nullptr;
  Tensor* dx = nullptr;
  Tensor* dweight = nullptr;
  Tensor* dbias = nullptr;
  Tensor* dinitial = nullptr;
  DTypeList dtypes() const { return {x->dtype()}; }
};

// ---- optimizer --------------------------------------------------------------------------

// One AdamW step (strata/optim.h) over contiguous param, grad, m, v of one shape.
struct AdamWCall {
  Tensor* param = nullptr;
  const Tensor* grad = nullptr;
  Tensor* m = nullptr;
  Tensor* v = nullptr;
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  std::int64_t step = 1;
  DTypeList dtypes() const { return {param->dtype(), grad->dtype()}; }
};

// The data of an optional tensor of a call (null or undefined: nullptr), for the backends.
template <class T>
const T* in(const Tensor* t) {
  return t && t->defined() ? t->data<T>() : nullptr;
}
template <class T>
T* out(Tensor* t) {
  return t && t->defined() ? t->data<T>() : nullptr;
}

// MoE's token permutation (sort_slots_by_expert), in two passes: count fills summary
// [E + 2] (per-expert counts, dropped slots, the first invalid index or -1); permute fills
// slot and token [S] from it, in expert order, stably. ids [N, k] contiguous i64.
struct ExpertSlotsCall {
  const Tensor* ids = nullptr;
  std::int64_t experts = 0;
  Tensor* summary = nullptr;  // count: written; permute: read
  Tensor* slot = nullptr;     // permute
  Tensor* token = nullptr;    // permute
  DTypeList dtypes() const { return {ids->dtype()}; }
};

// ---- the table entries ------------------------------------------------------------------

struct CoreKernels {
  KernelOp<BinaryCall> binary{"binary"};
  KernelOp<AffineCall> affine{"affine"};
  KernelOp<AxpyCall> axpy{"axpy"};
  KernelOp<UnaryCall> unary{"unary"};
  KernelOp<UnaryBackwardCall> unary_backward{"unary_backward"};
  KernelOp<CopyCall> copy{"copy"};
  KernelOp<FillCall> fill{"fill"};
  KernelOp<RandomFillCall> random_fill{"random_fill"};
  KernelOp<SumCall> sum{"sum"};
  KernelOp<IndexRowsCall> index_select{"index_select"};
  KernelOp<IndexRowsCall> index_add{"index_add"};
  KernelOp<GatherCall> gather{"gather"};
  KernelOp<GatherCall> scatter_add{"scatter_add"};
  KernelOp<TopKCall> topk{"topk"};
  KernelOp<ExpertSlotsCall> expert_slots_count{"expert_slots_count"};
  KernelOp<ExpertSlotsCall> expert_slots_permute{"expert_slots_permute"};
  KernelOp<SoftmaxCall> softmax{"softmax"};
  KernelOp<SoftmaxCall> softmax_backward{"softmax_backward"};
  KernelOp<CrossEntropyCall> cross_entropy{"cross_entropy"};
  KernelOp<CrossEntropyCall> cross_entropy_backward{"cross_entropy_backward"};
  KernelOp<SwigluCall> swiglu{"swiglu"};
  KernelOp<SwigluCall> swiglu_backward{"swiglu_backward"};
  KernelOp<NormCall> rmsnorm{"rmsnorm"};
  KernelOp<NormCall> rmsnorm_backward{"rmsnorm_backward"};
  KernelOp<NormCall> layernorm{"layernorm"};
  KernelOp<NormCall> layernorm_backward{"layernorm_backward"};
  KernelOp<RopeCall> rope{"rope"};
  KernelOp<GemmCall> gemm{"gemm"};
  KernelOp<GroupedGemmCall> grouped_gemm{"grouped_gemm"};
  KernelOp<GroupedGemmCall> grouped_gemm_backward{"grouped_gemm_backward"};
  KernelOp<AttentionCall> attention{"attention"};
  KernelOp<AttentionCall> attention_backward{"attention_backward"};
  KernelOp<SelectiveScanCall> selective_scan{"selective_scan"};
  KernelOp<SelectiveScanCall> selective_scan_backward{"selective_scan_backward"};
  KernelOp<SsdCall> ssd{"ssd"};
  KernelOp<SsdCall> ssd_backward{"ssd_backward"};
  KernelOp<GatedDeltaRuleCall> gated_delta_rule{"gated_delta_rule"};
  KernelOp<GatedDeltaRuleCall> gated_delta_rule_backward{"gated_delta_rule_backward"};
  KernelOp<CausalConvCall> causal_conv1d{"causal_conv1d"};
  KernelOp<CausalConvCall> causal_conv1d_backward{"causal_conv1d_backward"};
  KernelOp<AdamWCall> adamw{"adamw"};
};

// The table's core entries, with every built-in backend registered on first use.
CoreKernels& table();

}  // namespace strata::core_kernels
