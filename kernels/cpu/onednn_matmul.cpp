#include "kernels/cpu/onednn_matmul.h"

#ifdef STRATA_HAVE_ONEDNN

#include <oneapi/dnnl/dnnl.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <tuple>

namespace strata::kernels::cpu {

namespace {

std::atomic<bool> g_enabled{true};

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine = [] {
    dnnl_set_jit_profiling_flags(0);  // no VTune/ITT hooks on each generated kernel
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return engine;
}

// Everything that decides the primitive: operand type, transposes, sizes, strides, scales.
using Key = std::tuple<int, bool, bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                       std::int64_t, float, float>;

struct Prepared {
  bool ok = false;  // false: oneDNN has no implementation (cached so it is not retried)
  dnnl::matmul primitive;
  memory::desc a, b, c;
  std::string impl;
};

// The operand descriptors for sizes m and k (DNNL_RUNTIME_DIM_VAL: given at execution).
void describe(const MatmulArgs& g, memory::dim m, memory::dim k, memory::desc& a, memory::desc& b, memory::desc& c) {
  const memory::data_type t = g.operands == MatmulOperands::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  // op(A) is [m, k]: stored row-major [m, k] with row stride lda, or [k, m] read transposed
  a = memory::desc({m, k}, t, g.trans_a ? memory::dims{1, g.lda} : memory::dims{g.lda, 1});
  b = memory::desc({k, g.n}, t, g.trans_b ? memory::dims{1, g.ldb} : memory::dims{g.ldb, 1});
  c = memory::desc({m, g.n}, memory::data_type::f32, memory::dims{g.ldc, 1});
}

Prepared prepare(const MatmulArgs& g, bool runtime_mk) {
  Prepared p;
  const memory::dim m = runtime_mk ? DNNL_RUNTIME_DIM_VAL : g.m, k = runtime_mk ? DNNL_RUNTIME_DIM_VAL : g.k;
  describe(g, m, k, p.a, p.b, p.c);
  dnnl::primitive_attr attr;
  if (g.alpha != 1.0f) attr.set_output_scales(0, {g.alpha});
  if (g.beta != 0.0f) {
    dnnl::post_ops ops;
    ops.append_sum(g.beta);
    attr.set_post_ops(ops);
  }
  try {
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.a, p.b, p.c), attr, cpu_engine());
    p.impl = pd.impl_info_str();
    // the reference implementation is far slower than BLAS: leave those products to it
    if (p.impl.find("ref") != std::string::npos) return p;
    p.primitive = dnnl::matmul(pd);
    p.ok = true;
  } catch (const dnnl::error&) {
  }
  return p;
}

// Primitives per thread (products may run inside parallel regions, e.g. grouped GEMM).
// (m and k are -1 in the key of a run-time-sized primitive.)
const Prepared& prepared_for(const MatmulArgs& g, bool runtime_mk) {
  thread_local std::map<Key, Prepared> cache;
  const std::int64_t m = runtime_mk ? -1 : g.m, k = runtime_mk ? -1 : g.k;
  const Key key{int(g.operands), g.trans_a, g.trans_b, m, g.n, k, g.lda, g.ldb, g.ldc, g.alpha, g.beta};
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 4096) cache.clear();  // bound the memory of shape-varying workloads
    it = cache.emplace(key, prepare(g, runtime_mk)).first;
  }
  return it->second;
}

}  // namespace

void set_onednn_enabled(bool enabled) { g_enabled = enabled; }

bool onednn_matmul(const MatmulArgs& g) {
  if (!g_enabled) return false;
  const Prepared* p = &prepared_for(g, g.varying_mk);
  if (!p->ok && g.varying_mk) p = &prepared_for(g, false);
  if (!p->ok) return false;
  thread_local dnnl::stream stream(cpu_engine());
  dnnl::engine& engine = cpu_engine();
  memory::desc ad = p->a, bd = p->b, cd = p->c;
  if (ad.dims()[0] == DNNL_RUNTIME_DIM_VAL || ad.dims()[1] == DNNL_RUNTIME_DIM_VAL) describe(g, g.m, g.k, ad, bd, cd);
  memory a(ad, engine, const_cast<void*>(g.a)), b(bd, engine, const_cast<void*>(g.b)), c(cd, engine, g.c);
  p->primitive.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  stream.wait();
  return true;
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  std::string s = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  MatmulArgs probe;
  probe.operands = MatmulOperands::bf16;
  probe.m = probe.n = probe.k = probe.lda = probe.ldb = probe.ldc = 64;
  const Prepared p = prepare(probe, false);
  return s + " (bf16 matmul: " + (p.ok ? p.impl : "none on this CPU") + ")";
}

}  // namespace strata::kernels::cpu

#else  // no oneDNN in this build

namespace strata::kernels::cpu {
void set_onednn_enabled(bool) {}
bool onednn_matmul(const MatmulArgs&) { return false; }
std::string onednn_description() { return "no oneDNN"; }
}  // namespace strata::kernels::cpu

#endif
