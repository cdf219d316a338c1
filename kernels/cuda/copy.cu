// Strided copy with dtype conversion on CUDA: twin of kernels/cpu/copy.cpp (same
// conversions; 16-bit types round to nearest even through f32).
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/strided.cuh"

namespace strata::kernels::cuda {

namespace {

// The value of a 16-bit element as float (exact); other types unchanged.
__device__ inline float widen(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ inline float widen(__half v) { return __half2float(v); }
template <class T>
__device__ inline T widen(T v) {
  return v;
}

// Dst(v) as the CPU's convert(): C casts between f32, f64 and i64; to a 16-bit type
// through float (double and i64 round to float first), rounding to nearest even. Within
// one type the bits are kept (a NaN's payload too, which the 16-bit round trip through
// float would canonicalise on the device).
template <class Dst, class Src>
__device__ inline Dst convert(Src v) {
  if constexpr (std::is_same_v<Dst, Src>)
    return v;
  else if constexpr (std::is_same_v<Dst, __nv_bfloat16>)
    return __float2bfloat16_rn(float(widen(v)));
  else if constexpr (std::is_same_v<Dst, __half>)
    return __float2half_rn(float(widen(v)));
  else
    return Dst(widen(v));
}

// dst[i] = Dst(src[i]) over n contiguous elements.
template <class Src, class Dst>
__global__ void copy_dense_kernel(const Src* __restrict__ src, Dst* __restrict__ dst, std::int64_t n) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) dst[i] = convert<Dst>(src[i]);
}

// dst[offset_0(i)] = Dst(src[offset_1(i)]) over the n elements of s.
template <class Src, class Dst>
__global__ void copy_strided_kernel(const Src* __restrict__ src, Dst* __restrict__ dst, std::int64_t n,
                                    StridedIndex<2> s) {
  for (std::int64_t i = global_index(); i < n; i += grid_size()) {
    std::int64_t offset[2];
    strided_offsets(s, i, offset);
    dst[offset[0]] = convert<Dst>(src[offset[1]]);
  }
}

// Calls fn(T*) with a null pointer of the element type of `type`.
template <class Fn>
void with_storage(Storage type, Fn&& fn) {
  switch (type) {
    case Storage::f32:
      return fn(static_cast<float*>(nullptr));
    case Storage::f64:
      return fn(static_cast<double*>(nullptr));
    case Storage::i64:
      return fn(static_cast<std::int64_t*>(nullptr));
    case Storage::bf16:
      return fn(static_cast<__nv_bfloat16*>(nullptr));
    case Storage::f16:
      return fn(static_cast<__half*>(nullptr));
  }
}

std::size_t storage_size(Storage type) {
  return type == Storage::f32 ? 4 : type == Storage::f64 || type == Storage::i64 ? 8 : 2;
}

}  // namespace

std::string copy_cuda(const CopyArgs& args, int device) {
  std::int64_t n = 1;
  for (int d = 0; d < args.rank; ++d) n *= args.sizes[d];
  if (n == 0) return {};
  if (auto e = use_device(device); !e.empty()) return e;
  const std::int64_t* strides[2] = {args.dst_strides, args.src_strides};
  const StridedIndex<2> s = make_strided_index<2>(args.rank, args.sizes, strides);
  // Same type, both dense: the bits as they are (the CPU memcpys this case too).
  if (args.src_type == args.dst_type && is_dense(s))
    return describe(cudaMemcpyAsync(args.dst, args.src, std::size_t(n) * storage_size(args.src_type),
                                    cudaMemcpyDeviceToDevice, /*stream=*/0));
  with_storage(args.src_type, [&](auto* src_tag) {
    using Src = std::remove_pointer_t<decltype(src_tag)>;
    with_storage(args.dst_type, [&](auto* dst_tag) {
      using Dst = std::remove_pointer_t<decltype(dst_tag)>;
      const auto* src = static_cast<const Src*>(args.src);
      auto* dst = static_cast<Dst*>(args.dst);
      if (is_dense(s))
        copy_dense_kernel<<<blocks_for(n), kThreads>>>(src, dst, n);
      else
        copy_strided_kernel<<<blocks_for(n), kThreads>>>(src, dst, n, s);
    });
  });
  return launch_status();
}

}  // namespace strata::kernels::cuda
