#pragma once
// Fused softmax + negative log-likelihood over rows of logits. The forward keeps only
// the per-row log-sum-exp; the backward recomputes the softmax from it, so the [rows,
// classes] probability matrix is never stored.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct CrossEntropyArgs {
  std::int64_t rows = 0, classes = 0;
  const T* logits = nullptr;              // [rows, classes]
  const std::int64_t* targets = nullptr;  // [rows], in [0, classes) or ignore_index (validated by the caller)
  std::int64_t ignore_index = -100;
  T label_smoothing = 0;  // eps: target distribution (1 - eps) onehot + eps / classes
  // forward outputs
  T* loss = nullptr;  // [rows] per-row loss, 0 where ignored
  T* lse = nullptr;   // [rows] log-sum-exp of each row (saved for backward)
  // backward
  const T* grad = nullptr;       // upstream gradient of each row's loss
  std::int64_t grad_stride = 1;  // 0 when one value applies to every row
  T* dlogits = nullptr;          // [rows, classes]; 0 in ignored rows
};

template <class T>
void cross_entropy_fwd_cpu(const CrossEntropyArgs<T>& args);
template <class T>
void cross_entropy_bwd_cpu(const CrossEntropyArgs<T>& args);

}  // namespace strata::kernels::cpu
