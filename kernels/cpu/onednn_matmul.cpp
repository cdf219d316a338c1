#include "kernels/cpu/onednn_matmul.h"

#ifdef STRATA_HAVE_ONEDNN

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <tuple>

namespace strata::kernels::cpu {

namespace {

using dnnl::memory;

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
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

Prepared prepare(const MatmulArgs& g) {
  const memory::data_type t = g.operands == MatmulOperands::bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  Prepared p;
  // op(A) is [m, k]: stored row-major [m, k] with row stride lda, or [k, m] read transposed
  p.a = memory::desc({g.m, g.k}, t, g.trans_a ? memory::dims{1, g.lda} : memory::dims{g.lda, 1});
  p.b = memory::desc({g.k, g.n}, t, g.trans_b ? memory::dims{1, g.ldb} : memory::dims{g.ldb, 1});
  p.c = memory::desc({g.m, g.n}, memory::data_type::f32, memory::dims{g.ldc, 1});
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
const Prepared& prepared_for(const MatmulArgs& g) {
  thread_local std::map<Key, Prepared> cache;
  const Key key{int(g.operands), g.trans_a, g.trans_b, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.alpha, g.beta};
  auto it = cache.find(key);
  if (it == cache.end()) {
    if (cache.size() > 4096) cache.clear();  // bound the memory of shape-varying workloads
    it = cache.emplace(key, prepare(g)).first;
  }
  return it->second;
}

}  // namespace

bool onednn_matmul(const MatmulArgs& g) {
  const Prepared& p = prepared_for(g);
  if (!p.ok) return false;
  thread_local dnnl::stream stream(cpu_engine());
  dnnl::engine& engine = cpu_engine();
  memory a(p.a, engine, const_cast<void*>(g.a)), b(p.b, engine, const_cast<void*>(g.b)), c(p.c, engine, g.c);
  p.primitive.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  stream.wait();
  return true;
}

std::string onednn_description() {
  const dnnl_version_t* v = dnnl_version();
  std::string s = "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  MatmulArgs probe;
  probe.operands = MatmulOperands::bf16;
  probe.m = probe.n = probe.k = probe.lda = probe.ldb = probe.ldc = 64;
  const Prepared p = prepare(probe);
  return s + " (bf16 matmul: " + (p.ok ? p.impl : "none on this CPU") + ")";
}

}  // namespace strata::kernels::cpu

#else  // no oneDNN in this build

namespace strata::kernels::cpu {
bool onednn_matmul(const MatmulArgs&) { return false; }
std::string onednn_description() { return "no oneDNN"; }
}  // namespace strata::kernels::cpu

#endif
