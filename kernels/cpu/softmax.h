#pragma once
// Softmax and log-softmax over rows of a [rows, cols] matrix, forward and backward.
#include <cstdint>

namespace strata::kernels::cpu {

template <class T>
struct SoftmaxArgs {
  std::int64_t rows = 0, cols = 0;
  const T* x = nullptr;  // [rows, cols] input (forward) or saved output y (backward)
  const T* g = nullptr;  // [rows, cols] upstream gradient (backward only)
  T* out = nullptr;      // [rows, cols] y (forward) or dx (backward); may alias g
};

template <class T>
void softmax_fwd_cpu(const SoftmaxArgs<T>& args);  // out = exp(x - max) / sum
template <class T>
void log_softmax_fwd_cpu(const SoftmaxArgs<T>& args);  // out = x - max - log(sum exp(x - max))
template <class T>
void softmax_bwd_cpu(const SoftmaxArgs<T>& args);  // x = y: out = y * (g - <g, y>)
template <class T>
void log_softmax_bwd_cpu(const SoftmaxArgs<T>& args);  // x = y: out = g - exp(y) * sum(g)

}  // namespace strata::kernels::cpu
