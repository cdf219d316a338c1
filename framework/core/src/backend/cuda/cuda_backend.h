#pragma once
// The CUDA backend (built with STRATA_CUDA): registers kernels/cuda for the core table
// entries it has, one file per op family as the CPU backend. An entry without a CUDA
// kernel raises NotImplementedError on a CUDA tensor, naming the backends that have it.
// Nothing outside framework/core/src/backend names kernels::cuda's compute functions.
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/dtype.h"
#include "strata/error.h"
#include "strata/tensor.h"

namespace strata::cuda_backend {

using namespace core_kernels;

void register_elementwise(CoreKernels& k);
void register_indexing(CoreKernels& k);
void register_rows(CoreKernels& k);
void register_rope(CoreKernels& k);
void register_matmul(CoreKernels& k);
void register_optimizer(CoreKernels& k);
void register_attention(CoreKernels& k);
void register_selective_scan(CoreKernels& k);
void register_causal_conv(CoreKernels& k);
void register_ssd(CoreKernels& k);
void register_gated_delta_rule(CoreKernels& k);

void register_all(CoreKernels& k);

inline const std::vector<DType> kFloating = {DType::f32, DType::f64};
inline const std::vector<DType> kAll = {DType::f32, DType::f64, DType::i64};
inline const std::vector<DType> kStorage = {DType::f32, DType::f64, DType::i64, DType::bf16, DType::f16};

// Registers `run` as a CUDA kernel of `op` (backend "cuda" unless named) for calls whose
// dtypes are all in `dtypes` and that `supports` accepts (every call when empty).
template <class Call>
void add(backend::KernelOp<Call>& op, const std::vector<DType>& dtypes, void (*run)(const Call&),
         std::type_identity_t<std::function<bool(const Call&)>> supports = {}, std::string backend = "cuda") {
  op.add({.backend = std::move(backend),
          .device = DeviceType::cuda,
          .dtypes = dtypes,
          .supports = std::move(supports),
          .run = run});
}

// The CUDA device index of a call's tensor (the device its kernels launch on).
inline int device_of(const Tensor& t) { return t.device().index; }

// A kernel's scratch: `elements` of `dtype` on `device` from the caching allocator, held by
// `hold` until the launch that uses it is issued (later work on the stream runs after it,
// so the memory may go back then); nullptr when no scratch is needed (elements 0).
inline void* scratch(Tensor& hold, std::int64_t elements, DType dtype, Device device) {
  if (elements <= 0) return nullptr;
  hold = Tensor::empty({elements}, dtype, device);
  return hold.raw_data();
}

// A small host tensor of a call (packed documents' starts and RoPE's positions, which ops
// validate on the host; RoPE's inverse frequencies), contiguous on `device`, read-only;
// undefined when absent. A copy to the device waits for all work issued before it (the legacy default
// stream), and packed training passes the same starts to every layer, forward and
// backward: so the last few copies are kept and reused while the host values are the same
// (compared byte for byte: microseconds for a batch's starts).
Tensor host_values_on_device(const Tensor* t, Device device);

// Raises DeviceError when a kernels::cuda call returned an error ("" is success).
inline void check(const std::string& error, std::string_view op, const Tensor& on) {
  if (!error.empty())
    throw DeviceError(std::string(op) + " on " + on.device().to_string() + " failed: " + error,
                      "a CUDA error can come from an earlier kernel (launches are asynchronous): "
                      "rerun with CUDA_LAUNCH_BLOCKING=1 to find the failing one");
}

}  // namespace strata::cuda_backend
