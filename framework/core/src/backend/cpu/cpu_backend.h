#pragma once
// The CPU backend: registers kernels/cpu for every entry of the core table (one file per
// op family), declaring the dtypes each kernel takes. Nothing outside framework/core/src/backend
// names kernels::cpu's compute functions.
#include <string>
#include <vector>

#include "backend/core_kernels.h"
#include "strata/dtype.h"
#include "strata/tensor.h"

namespace strata::cpu_backend {

using namespace core_kernels;

void register_elementwise(CoreKernels& k);
void register_indexing(CoreKernels& k);
void register_rows(CoreKernels& k);
void register_matmul(CoreKernels& k);
void register_sequence(CoreKernels& k);
void register_optimizer(CoreKernels& k);

inline void register_all(CoreKernels& k) {
  register_elementwise(k);
  register_indexing(k);
  register_rows(k);
  register_matmul(k);
  register_sequence(k);
  register_optimizer(k);
}

// Thread count of the CPU kernels and of BLAS, set together; the BLAS library in use.
void set_threads(int threads);
int threads();
std::string blas_description();
// The SIMD instruction set of the kernels (strata/runtime.h); DeviceError for a bad choice.
std::string simd_target();
std::vector<std::string> simd_targets();
void select_simd_target(const std::string& name);
void select_simd_target_from_environment();

inline const std::vector<DType> kFloating = {DType::f32, DType::f64};
inline const std::vector<DType> kAll = {DType::f32, DType::f64, DType::i64};
inline const std::vector<DType> kStorage = {DType::f32, DType::f64, DType::i64, DType::bf16, DType::f16};

// Registers `run` as the CPU kernel of `op` for calls whose dtypes are all in `dtypes`.
template <class Call>
void add(backend::KernelOp<Call>& op, const std::vector<DType>& dtypes, void (*run)(const Call&)) {
  op.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = dtypes, .supports = {}, .run = run});
}

}  // namespace strata::cpu_backend
