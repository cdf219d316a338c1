#pragma once
// Softmax family over the last axis, and the fused softmax-cross-entropy loss.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

// x: [..., V] -> [..., V]; numerically stable for any finite logits.
Tensor softmax(const Tensor& x);
Tensor log_softmax(const Tensor& x);

enum class Reduction { mean, sum, none };

struct CrossEntropyOptions {
  std::int64_t ignore_index = -100;       // targets equal to this contribute no loss or gradient
  Reduction reduction = Reduction::mean;  // mean over the targets that are not ignored
  double label_smoothing = 0.0;           // in [0, 1): target mass spread uniformly over V
};

// logits: [..., V] floating, targets: [...] i64 in [0, V) or ignore_index.
// -> rank-0 (mean/sum) or [...] (none; 0 at ignored positions). When every target is
// ignored, mean returns 0 (not NaN) and the gradient is zero. Never materialises the
// softmax in the forward; the backward recomputes it from the saved log-sum-exp.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options = {});

}  // namespace strata
