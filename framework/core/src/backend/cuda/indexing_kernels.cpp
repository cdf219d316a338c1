// CUDA kernels of the indexing entries: index_select / index_add, gather / scatter_add, topk,
// MoE's expert slots.
// index_add and scatter_add accumulate with atomicAdd (repeated indices: the rounding order
// varies run to run, unlike the CPU's index order); the others are deterministic.
#include <string>

#include "backend/cuda/cuda_backend.h"
#include "backend/kernel_args.h"
#include "kernels/cuda/expert_slots.h"
#include "kernels/cuda/indexing.h"

namespace strata::cuda_backend {

namespace cu = kernels::cuda;

namespace {

void index_select(const IndexRowsCall& c) {
  const cu::IndexRowsArgs<void> args{.outer = c.outer,
                                     .n = c.n,
                                     .inner = c.inner,
                                     .index = c.index->data<std::int64_t>(),
                                     .m = c.index->numel(),
                                     .src = c.src->raw_data(),
                                     .dst = c.dst->raw_data()};
  check(cu::index_select_cuda(args, dtype_size(c.dst->dtype()), c.dst->device().index), "index_select", *c.dst);
}

void index_add(const IndexRowsCall& c) {
  dispatch_floating(c.dst->dtype(), "index_add", [&](auto type) {
    using T = decltype(type);
    const cu::IndexRowsArgs<T> args{.outer = c.outer,
                                    .n = c.n,
                                    .inner = c.inner,
                                    .index = c.index->data<std::int64_t>(),
                                    .m = c.index->numel(),
                                    .src = c.src->data<T>(),
                                    .dst = c.dst->data<T>()};
    check(cu::index_add_cuda(args, c.dst->device().index), "index_add", *c.dst);
  });
}

// The iteration space (index's shape) of a gather / scatter_add; kernels/cuda handles
// ranks up to kGatherMaxDims (the CPU's limit too).
template <class T>
cu::GatherArgs<T> gather_args(const GatherCall& c, const char* op) {
  const int rank = c.index->rank();
  if (rank > cu::kGatherMaxDims)
    throw NotImplementedError(std::string(op) + " on CUDA takes tensors of rank up to " +
                                  std::to_string(cu::kGatherMaxDims) + ", got rank " + std::to_string(rank),
                              "reshape to merge dims first");
  cu::GatherArgs<T> args;
  args.rank = rank;
  args.dim = c.dim;
  for (int d = 0; d < rank; ++d) args.sizes[d] = c.index->shape()[d];
  args.index = c.index->data<std::int64_t>();
  return args;
}

void gather(const GatherCall& c) {
  dispatch_floating(c.dst->dtype(), "gather", [&](auto type) {
    using T = decltype(type);
    cu::GatherArgs<T> args = gather_args<T>(c, "gather");
    args.x = c.src->data<T>();
    for (int d = 0; d < args.rank; ++d) args.x_strides[d] = c.src->strides()[d];
    args.out = c.dst->data<T>();
    check(cu::gather_cuda(args, c.dst->device().index), "gather", *c.dst);
  });
}

void scatter_add(const GatherCall& c) {
  dispatch_floating(c.dst->dtype(), "scatter_add", [&](auto type) {
    using T = decltype(type);
    cu::GatherArgs<T> args = gather_args<T>(c, "scatter_add");
    args.src = c.src->data<T>();
    args.dst = c.dst->data<T>();
    for (int d = 0; d < args.rank; ++d) {
      args.src_strides[d] = c.src->strides()[d];
      args.dst_strides[d] = c.dst->strides()[d];
    }
    check(cu::scatter_add_cuda(args, c.dst->device().index), "scatter_add", *c.dst);
  });
}

void topk(const TopKCall& c) {
  dispatch_floating(c.x->dtype(), "topk", [&](auto type) {
    using T = decltype(type);
    check(cu::topk_cuda(topk_args<T>(c), c.x->device().index), "topk", *c.x);
  });
}

void expert_slots_count(const ExpertSlotsCall& c) {
  check(cu::expert_slots_count_cuda(expert_slots_args(c), device_of(*c.ids)), "expert_slots_count", *c.ids);
}
void expert_slots_permute(const ExpertSlotsCall& c) {
  check(cu::expert_slots_permute_cuda(expert_slots_args(c), device_of(*c.ids)), "expert_slots_permute", *c.ids);
}

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

}  // namespace strata::cuda_backend
