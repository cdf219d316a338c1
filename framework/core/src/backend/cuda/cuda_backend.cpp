// The CUDA backend's registration: every op family's kernels (STRATA_CUDA builds).
#include "backend/cuda/cuda_backend.h"

namespace strata::cuda_backend {

void register_all(CoreKernels& k) {
  register_elementwise(k);
  register_indexing(k);
  register_rows(k);
  register_rope(k);
  register_matmul(k);
  register_optimizer(k);
  register_attention(k);
  register_selective_scan(k);
  register_causal_conv(k);
  register_ssd(k);
  register_gated_delta_rule(k);
}

}  // namespace strata::cuda_backend
