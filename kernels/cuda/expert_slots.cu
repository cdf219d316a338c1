#include "kernels/cuda/expert_slots.h"

#include <cstdint>

#include "kernels/cuda/launch.cuh"

namespace strata::kernels::cuda {

namespace {

constexpr int kMaxWarps = 1024 / kWarp;

// Block e < E counts the slots of expert e; block E counts the dropped ones (-1) and finds
// the first invalid id. Each thread sums a strided share, then the block adds the shares
// (integers: any order gives the same result).
__global__ void expert_slots_count_kernel(const ExpertSlotsArgs a) {
  __shared__ long long scratch[kWarp];
  const std::int64_t E = a.experts;
  for (std::int64_t e = blockIdx.x; e <= E; e += gridDim.x) {
    long long count = 0, first_invalid = a.slots;  // a.slots: none
    for (std::int64_t i = threadIdx.x; i < a.slots; i += blockDim.x) {
      const std::int64_t id = a.ids[i];
      if (e < E) {
        count += id == e;
      } else {
        count += id == -1;
        if ((id < -1 || id >= E) && i < first_invalid) first_invalid = i;
      }
    }
    count = block_sum(count, scratch);
    if (e == E) first_invalid = -block_max(-first_invalid, scratch);  // the smallest index
    if (threadIdx.x == 0) {
      a.summary[e] = count;
      if (e == E) a.summary[E + 1] = first_invalid < a.slots ? first_invalid : -1;
    }
  }
}

// Block e places expert e's slots: it walks the slots in chunks of blockDim.x, in order;
// a slot's position is the expert's offset, plus its slots in earlier chunks, plus those
// of earlier threads in this chunk (a ballot per warp, then the warps' counts in order).
__global__ void expert_slots_permute_kernel(const ExpertSlotsArgs a) {
  __shared__ int warp_counts[kMaxWarps];
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp, warps = blockDim.x / kWarp;
  const std::int64_t chunks = (a.slots + blockDim.x - 1) / blockDim.x;
  for (std::int64_t e = blockIdx.x; e < a.experts; e += gridDim.x) {
    std::int64_t next = 0;  // this expert's first position: the slots of experts 0 .. e-1
    for (std::int64_t f = 0; f < e; ++f) next += a.summary[f];
    for (std::int64_t c = 0; c < chunks; ++c) {  // every thread takes every chunk (barriers)
      const std::int64_t i = c * blockDim.x + threadIdx.x;
      const bool mine = i < a.slots && a.ids[i] == e;
      const unsigned ballot = __ballot_sync(0xffffffffu, mine);
      if (lane == 0) warp_counts[warp] = __popc(ballot);
      __syncthreads();
      std::int64_t before = next + __popc(ballot & ((1u << lane) - 1u));
      std::int64_t chunk_total = 0;
      for (int w = 0; w < warps; ++w) {
        if (w < warp) before += warp_counts[w];
        chunk_total += warp_counts[w];
      }
      if (mine) {
        a.slot[before] = i;
        a.token[before] = i / a.k;
      }
      next += chunk_total;
      __syncthreads();  // warp_counts is rewritten by the next chunk
    }
  }
}

}  // namespace

std::string expert_slots_count_cuda(const ExpertSlotsArgs& a, int device) {
  if (auto e = use_device(device); !e.empty()) return e;
  expert_slots_count_kernel<<<blocks_for(a.experts + 1, 1), kThreads>>>(a);
  return launch_status();
}

std::string expert_slots_permute_cuda(const ExpertSlotsArgs& a, int device) {
  if (a.experts == 0 || a.slots == 0) return {};
  if (a.k <= 0) return "expert_slots_permute: k (choices per token) must be positive";
  if (auto e = use_device(device); !e.empty()) return e;
  expert_slots_permute_kernel<<<blocks_for(a.experts, 1), kThreads>>>(a);
  return launch_status();
}

}  // namespace strata::kernels::cuda
