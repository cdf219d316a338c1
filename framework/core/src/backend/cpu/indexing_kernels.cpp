// CPU kernels of the indexing entries: index_select / index_add, gather / scatter_add, topk,
// MoE's expert slots.
#include "backend/cpu/cpu_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cpu/gather.h"
#include "kernels/cpu/index_select.h"
#include "kernels/cpu/topk.h"
#include "tensor_internal.h"

namespace strata::cpu_backend {

namespace cpu = kernels::cpu;

namespace {

template <class T>
cpu::IndexSelectArgs<T> rows_args(const IndexRowsCall& c) {
  return {c.outer, c.n, c.inner, c.index->data<std::int64_t>(), c.index->numel(), c.src->data<T>(), c.dst->data<T>()};
}

void index_select(const IndexRowsCall& c) {
  detail::dispatch_any(c.dst->dtype(), [&](auto type) { cpu::index_select_cpu(rows_args<decltype(type)>(c)); });
}

void index_add(const IndexRowsCall& c) {
  dispatch_floating(c.dst->dtype(), "index_add", [&](auto type) { cpu::index_add_cpu(rows_args<decltype(type)>(c)); });
}

template <class T>
cpu::GatherArgs<T> gather_args(const GatherCall& c) {
  cpu::GatherArgs<T> args;
  args.rank = c.index->rank();
  args.dim = c.dim;
  for (int d = 0; d < args.rank; ++d) args.sizes[d] = c.index->shape()[d];
  args.index = c.index->data<std::int64_t>();
  return args;
}

void gather(const GatherCall& c) {
  dispatch_floating(c.dst->dtype(), "gather", [&](auto type) {
    using T = decltype(type);
    cpu::GatherArgs<T> args = gather_args<T>(c);
    args.x = c.src->data<T>();
    for (int d = 0; d < c.src->rank(); ++d) args.x_strides[d] = c.src->strides()[d];
    args.out = c.dst->data<T>();
    cpu::gather_cpu(args);
  });
}

void scatter_add(const GatherCall& c) {
  dispatch_floating(c.dst->dtype(), "scatter_add", [&](auto type) {
    using T = decltype(type);
    cpu::GatherArgs<T> args = gather_args<T>(c);
    args.src = c.src->data<T>();
    args.dst = c.dst->data<T>();
    for (int d = 0; d < c.dst->rank(); ++d) {
      args.src_strides[d] = c.src->strides()[d];
      args.dst_strides[d] = c.dst->strides()[d];
    }
    cpu::scatter_add_cpu(args);
  });
}

void topk(const TopKCall& c) {
  dispatch_floating(c.x->dtype(), "topk", [&](auto type) { cpu::topk_cpu(topk_args<decltype(type)>(c)); });
}

void expert_slots_count(const ExpertSlotsCall& c) { cpu::expert_slots_count_cpu(expert_slots_args(c)); }
void expert_slots_permute(const ExpertSlotsCall& c) { cpu::expert_slots_permute_cpu(expert_slots_args(c)); }

}  // namespace

void register_indexing(CoreKernels& k) {
  add(k.index_select, kStorage, index_select);
  add(k.index_add, kFloating, index_add);
  add(k.gather, kFloating, gather);
  add(k.scatter_add, kFloating, scatter_add);
  add(k.topk, kFloating, topk);
  add(k.expert_slots_count, {DType::i64}, expert_slots_count);
  add(k.expert_slots_permute, {DType::i64}, expert_slots_permute);
}

}  // namespace strata::cpu_backend
