#include "kernels/cuda/attention_cudnn.h"

#if STRATA_WITH_CUDNN

#include <cudnn_frontend.h>

#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "kernels/cuda/device_handles.h"
#include "kernels/cuda/runtime_errors.h"

namespace strata::kernels::cuda {

namespace {

namespace fe = cudnn_frontend;
using TensorPtr = std::shared_ptr<fe::graph::Tensor_attributes>;

// The graph's tensors, by the uid the variant pack names them with.
enum Uid : std::int64_t { q_uid = 1, k_uid, v_uid, out_uid, stats_uid, dout_uid, dq_uid, dk_uid, dv_uid };

std::string describe(fe::error_t e) { return e.is_good() ? std::string() : "cuDNN: " + e.get_message(); }

std::string describe(cudnnStatus_t s) {
  return s == CUDNN_STATUS_SUCCESS ? std::string() : std::string("cuDNN: ") + cudnnGetErrorString(s);
}

std::string handle_for(int device, cudnnHandle_t* handle) {
  static DeviceHandles<cudnnHandle_t> handles;
  return handles.get(device, handle, [](cudnnHandle_t* h) { return describe(cudnnCreate(h)); });
}

// A built graph (or cuDNN's refusal of it) for one device, shape and direction.
struct Plan {
  std::shared_ptr<fe::graph::Graph> graph;
  std::int64_t workspace = 0;
  std::string refusal;  // non-empty: cuDNN does not run this graph
};

using PlanKey = std::tuple<int, bool, CudnnAttentionShape>;  // device, backward, shape

// f(), with an exception from the frontend turned into an error string; after a failure,
// a CUDA error cuDNN may have left is taken (and named), so that it is not reported later
// against another op.
template <class F>
std::string guarded(F f) {
  std::string e;
  try {
    e = f();
  } catch (const std::exception& x) {
    e = std::string("cuDNN frontend: ") + x.what();
  }
  if (!e.empty()) e += pending_error_note();
  return e;
}

// The most workspace a plan may ask for. cuDNN's deterministic backward keeps per-tile
// partial sums that grow with T x S (about 17 GB at B 4, 32 heads, T = S = 8192 on
// Hopper): past this, the shape is refused and runs on the own kernel (in f32), rather
// than failing the step for memory.
constexpr std::int64_t kMaxWorkspaceBytes = std::int64_t(2) << 30;

// Which side of the attention a [B, S, H, d] tensor is on: the queries' (q, out, dout,
// dq: Hq heads, T rows) or the keys' (k, v, dk, dv: Hkv heads, S rows).
enum class Side { queries, keys };

// A contiguous [B, S, H, d] tensor of that side as cuDNN's [B, H, S, d] dims with BSHD
// strides.
fe::graph::Tensor_attributes& as_bshd(fe::graph::Tensor_attributes& t, Uid uid, const CudnnAttentionShape& s,
                                      Side side) {
  const std::int64_t B = s.batch, d = s.head_dim;
  const std::int64_t H = side == Side::queries ? s.n_heads : s.n_kv_heads;
  const std::int64_t S = side == Side::queries ? s.q_len : s.kv_len;
  return t.set_uid(uid).set_dim({B, H, S, d}).set_stride({S * H * d, d, H * d, 1});
}

// An input of the graph, laid out by as_bshd.
TensorPtr bshd_input(fe::graph::Graph& g, const char* name, Uid uid, const CudnnAttentionShape& s, Side side) {
  fe::graph::Tensor_attributes t;
  return g.tensor(as_bshd(t.set_name(name), uid, s, side));
}

// stats [B, Hq, T, 1] f32: the rows' log-sum-exp, which the backward reads.
fe::graph::Tensor_attributes& as_stats(fe::graph::Tensor_attributes& t, const CudnnAttentionShape& s) {
  return t.set_uid(stats_uid)
      .set_data_type(fe::DataType_t::FLOAT)
      .set_dim({s.batch, s.n_heads, s.q_len, 1})
      .set_stride({s.n_heads * s.q_len, s.q_len, 1, 1});
}

// Scale and mask, shared by the forward's and the backward's attributes.
template <class Attributes>
void set_scale_and_mask(Attributes& a, const CudnnAttentionShape& s) {
  a.set_attn_scale(float(s.scale));
  if (s.causal) a.set_causal_mask(true);                         // top-left diagonal: key j <= query i
  if (s.window > 0) a.set_sliding_window_length(int(s.window));  // key j > i - window
}

// The forward's graph: out [B, Hq, T, d] (BSHD), stats [B, Hq, T, 1] f32.
void add_forward(fe::graph::Graph& g, const CudnnAttentionShape& s) {
  const TensorPtr q = bshd_input(g, "q", q_uid, s, Side::queries);
  const TensorPtr k = bshd_input(g, "k", k_uid, s, Side::keys);
  const TensorPtr v = bshd_input(g, "v", v_uid, s, Side::keys);
  auto attributes = fe::graph::SDPA_attributes().set_name("attention").set_generate_stats(true);
  set_scale_and_mask(attributes, s);
  auto [out, stats] = g.sdpa(q, k, v, attributes);
  as_bshd(out->set_output(true), out_uid, s, Side::queries);
  as_stats(stats->set_output(true), s);
}

// The backward's graph: dq, dk, dv from q, k, v, out, dout and the forward's stats.
void add_backward(fe::graph::Graph& g, const CudnnAttentionShape& s) {
  const TensorPtr q = bshd_input(g, "q", q_uid, s, Side::queries);
  const TensorPtr k = bshd_input(g, "k", k_uid, s, Side::keys);
  const TensorPtr v = bshd_input(g, "v", v_uid, s, Side::keys);
  const TensorPtr out = bshd_input(g, "out", out_uid, s, Side::queries);
  const TensorPtr dout = bshd_input(g, "dout", dout_uid, s, Side::queries);
  fe::graph::Tensor_attributes stats_attributes;
  const TensorPtr stats = g.tensor(as_stats(stats_attributes.set_name("stats"), s));
  // Deterministic: dQ is not accumulated with atomics, so runs repeat bit for bit.
  auto attributes =
      fe::graph::SDPA_backward_attributes().set_name("attention_backward").set_deterministic_algorithm(true);
  set_scale_and_mask(attributes, s);
  auto [dq, dk, dv] = g.sdpa_backward(q, k, v, out, dout, stats, attributes);
  as_bshd(dq->set_output(true), dq_uid, s, Side::queries);
  as_bshd(dk->set_output(true), dk_uid, s, Side::keys);
  as_bshd(dv->set_output(true), dv_uid, s, Side::keys);
}

// The graph of one direction: bf16 or f16 I/O, f32 softmax and accumulation. sm_version 0:
// the current device's (asked of the GPU when the graph is validated).
std::shared_ptr<fe::graph::Graph> make_graph(const CudnnAttentionShape& s, bool backward, int sm_version = 0) {
  auto g = std::make_shared<fe::graph::Graph>();
  g->set_io_data_type(s.io == CudnnAttentionIo::bf16 ? fe::DataType_t::BFLOAT16 : fe::DataType_t::HALF)
      .set_intermediate_data_type(fe::DataType_t::FLOAT)
      .set_compute_data_type(fe::DataType_t::FLOAT);
  if (sm_version > 0) g->set_sm_version(sm_version);  // before the nodes: they copy the context
  if (backward)
    add_backward(*g, s);
  else
    add_forward(*g, s);
  return g;
}

// Builds the graph and its execution plan (cuDNN's heuristics' first choice that it
// supports); a refusal anywhere on the way comes back in Plan::refusal.
Plan build_plan(const CudnnAttentionShape& s, bool backward, cudnnHandle_t handle) {
  Plan plan;
  plan.refusal = guarded([&] {
    auto g = make_graph(s, backward);
    std::string e = describe(g->validate());
    if (e.empty()) e = describe(g->build_operation_graph(handle));
    if (e.empty()) e = describe(g->create_execution_plans({fe::HeurMode_t::A}));
    if (e.empty()) e = describe(g->check_support(handle));
    if (e.empty()) e = describe(g->build_plans(handle));
    if (e.empty()) e = describe(g->get_workspace_size(plan.workspace));
    if (e.empty() && plan.workspace > kMaxWorkspaceBytes)
      e = "cuDNN's plan needs " + std::to_string(plan.workspace >> 20) + " MiB of workspace, over strata's limit of " +
          std::to_string(kMaxWorkspaceBytes >> 20) + " MiB";
    if (e.empty()) plan.graph = std::move(g);
    return e;
  });
  return plan;
}

std::mutex plan_mutex;

// The plan for the key, built on first use; the cache is emptied when it holds 256.
const Plan& plan_for(const CudnnAttentionShape& s, bool backward, int device, cudnnHandle_t handle) {
  static std::map<PlanKey, Plan> plans;
  const PlanKey key{device, backward, s};
  if (auto it = plans.find(key); it != plans.end()) return it->second;
  if (plans.size() >= 256) plans.clear();
  return plans.emplace(key, build_plan(s, backward, handle)).first->second;
}

// Finds the handle and the plan (the caller holds plan_mutex); empty on success.
std::string find_plan(const CudnnAttentionShape& s, bool backward, int device, cudnnHandle_t* handle,
                      const Plan** plan) {
  if (auto e = handle_for(device, handle); !e.empty()) return e;
  *plan = &plan_for(s, backward, device, *handle);
  return (*plan)->refusal;
}

std::string execute(const CudnnAttentionArgs& a, bool backward, int device) {
  std::lock_guard lock(plan_mutex);
  cudnnHandle_t handle = nullptr;
  const Plan* plan = nullptr;
  if (auto e = find_plan(a.shape, backward, device, &handle, &plan); !e.empty()) return e;
  std::unordered_map<std::int64_t, void*> pack{{q_uid, const_cast<void*>(a.q)},
                                               {k_uid, const_cast<void*>(a.k)},
                                               {v_uid, const_cast<void*>(a.v)},
                                               {out_uid, a.out},
                                               {stats_uid, a.stats}};
  if (backward) {
    pack.emplace(dout_uid, const_cast<void*>(a.dout));
    pack.emplace(dq_uid, a.dq);
    pack.emplace(dk_uid, a.dk);
    pack.emplace(dv_uid, a.dv);
  }
  return guarded([&] { return describe(plan->graph->execute(handle, pack, a.workspace)); });
}

}  // namespace

std::string cudnn_attention_supported(const CudnnAttentionShape& shape, int device) {
  std::lock_guard lock(plan_mutex);
  cudnnHandle_t handle = nullptr;
  if (auto e = handle_for(device, &handle); !e.empty()) return e;
  if (auto e = plan_for(shape, false, device, handle).refusal; !e.empty()) return e;
  return plan_for(shape, true, device, handle).refusal;
}

std::string cudnn_attention_workspace(const CudnnAttentionShape& shape, bool backward, int device,
                                      std::int64_t* bytes) {
  std::lock_guard lock(plan_mutex);
  cudnnHandle_t handle = nullptr;
  const Plan* plan = nullptr;
  if (auto e = find_plan(shape, backward, device, &handle, &plan); !e.empty()) return e;
  *bytes = plan->workspace;
  return {};
}

std::string cudnn_attention_validate(const CudnnAttentionShape& shape, bool backward, int sm_version) {
  return guarded([&] { return describe(make_graph(shape, backward, sm_version)->validate()); });
}

bool cudnn_built() { return true; }

std::string cudnn_description() {
  const std::size_t v = cudnnGetVersion();  // major * 10000 + minor * 100 + patch (cuDNN 9)
  return "cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100) +
         " (frontend " + std::to_string(CUDNN_FRONTEND_MAJOR_VERSION) + "." +
         std::to_string(CUDNN_FRONTEND_MINOR_VERSION) + "." + std::to_string(CUDNN_FRONTEND_PATCH_VERSION) + ")";
}

std::string cudnn_attention_fwd(const CudnnAttentionArgs& args, int device) { return execute(args, false, device); }

std::string cudnn_attention_bwd(const CudnnAttentionArgs& args, int device) { return execute(args, true, device); }

}  // namespace strata::kernels::cuda

#else  // built without cuDNN: every shape is refused, so attention uses the own kernel

namespace strata::kernels::cuda {

namespace {
const char* const kNoCudnn = "this build has no cuDNN (docs/cuda.md: cuDNN attention)";
}

bool cudnn_built() { return false; }
std::string cudnn_description() { return "no cuDNN"; }
std::string cudnn_attention_validate(const CudnnAttentionShape&, bool, int) { return kNoCudnn; }
std::string cudnn_attention_supported(const CudnnAttentionShape&, int) { return kNoCudnn; }
std::string cudnn_attention_workspace(const CudnnAttentionShape&, bool, int, std::int64_t*) { return kNoCudnn; }
std::string cudnn_attention_fwd(const CudnnAttentionArgs&, int) { return kNoCudnn; }
std::string cudnn_attention_bwd(const CudnnAttentionArgs&, int) { return kNoCudnn; }

}  // namespace strata::kernels::cuda

#endif
