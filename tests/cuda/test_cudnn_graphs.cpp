// cuDNN's fused attention without a GPU: the graphs kernels/cuda/attention_cudnn.cpp builds
// (layouts, masks, statistics, GQA, the deterministic backward) go through the cuDNN
// frontend's own validation for each GPU generation strata targets, which needs no GPU.
// What validation cannot say (whether an engine runs the graph, and its results) is for the
// conformance suite on a GPU (test_cuda_gpu: attention's bf16 column).
#include <string>

#include "catch.h"
#include "kernels/cuda/attention_cudnn.h"
#include "kernels/cuda/memory.h"

using namespace strata::kernels::cuda;

namespace {

constexpr int kTargets[] = {80, 90, 100, 121};  // A100, H100/H200, B200, GB10

CudnnAttentionShape shape(std::int64_t T, std::int64_t S, std::int64_t Hq, std::int64_t Hkv, std::int64_t d,
                          bool causal, std::int64_t window = 0) {
  return {.batch = 2,
          .q_len = T,
          .kv_len = S,
          .n_heads = Hq,
          .n_kv_heads = Hkv,
          .head_dim = d,
          .causal = causal,
          .window = window,
          .scale = 1.0 / 8.0,
          .io = CudnnAttentionIo::bf16};
}

}  // namespace

TEST_CASE("cudnn: the library is loaded and named", "[cudnn]") { CHECK(cudnn_description().rfind("cuDNN 9.", 0) == 0); }

TEST_CASE("cudnn: strata's attention graphs pass cuDNN's validation on every target GPU", "[cudnn]") {
  const CudnnAttentionShape cases[] = {
      shape(256, 256, 8, 2, 64, true),       // causal, GQA: the training form
      shape(256, 256, 8, 8, 128, true, 64),  // causal with a sliding window, MHA, head_dim 128
      shape(37, 37, 4, 1, 16, true),         // MQA, a length off every tile (the conformance case)
      shape(5, 19, 2, 1, 128, false),        // non-causal cross-attention, S != T
  };
  for (CudnnAttentionIo io : {CudnnAttentionIo::bf16, CudnnAttentionIo::f16})
    for (CudnnAttentionShape s : cases) {
      s.io = io;
      for (int sm : kTargets)
        for (bool backward : {false, true}) {
          INFO("sm_" << sm << (backward ? " backward" : " forward") << ", T " << s.q_len << ", head_dim " << s.head_dim
                     << ", window " << s.window);
          CHECK(cudnn_attention_validate(s, backward, sm).empty());
        }
    }
}

TEST_CASE("cudnn: shapes cuDNN does not take are refused with its reason", "[cudnn]") {
  // head_dim must be a multiple of 8
  for (int sm : kTargets)
    CHECK(cudnn_attention_validate(shape(16, 16, 2, 1, 12, true), false, sm).find("multiple of 8") !=
          std::string::npos);
  // head_dim 256: the forward everywhere, the backward on Hopper only
  const CudnnAttentionShape wide = shape(64, 64, 2, 2, 256, true);
  CHECK(cudnn_attention_validate(wide, false, 80).empty());
  CHECK(cudnn_attention_validate(wide, true, 90).empty());
  CHECK_FALSE(cudnn_attention_validate(wide, true, 80).empty());
  CHECK_FALSE(cudnn_attention_validate(wide, true, 121).empty());
}

TEST_CASE("cudnn: without a GPU every shape is refused, without a crash", "[cudnn]") {
  if (device_count() > 0) return;  // on a GPU the conformance suite runs the graphs
  const std::string why = cudnn_attention_supported(shape(64, 64, 4, 2, 64, true), 0);
  INFO(why);
  CHECK_FALSE(why.empty());
  std::int64_t bytes = -1;
  CHECK_FALSE(cudnn_attention_workspace(shape(64, 64, 4, 2, 64, true), false, 0, &bytes).empty());
}
