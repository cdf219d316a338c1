#pragma once
// The gated delta rule (Yang, Kautz and Hatamizadeh, "Gated Delta Networks: Improving Mamba2
// with Delta Rule", ICLR 2025), the recurrence of Gated DeltaNet and of Qwen3-Next's linear
// attention layers. Per value head h (its key head h / (H / Hk) for q and k), state [K, V]:
//
//   S[t] = exp(g[t]) S[t-1] + k[t] (beta[t] (v[t] - exp(g[t]) S[t-1]^T k[t]))^T
//   o[t] = S[t]^T (scale q[t])                              S[-1] = initial_state (zeros)
//
// computed in chunks of `chunk` steps in the WY / UT-transform form (a triangular solve per
// chunk, the state passed between chunks), with a fused backward that recomputes from the
// state entering each chunk. The L2 normalisation of q and k, the sigmoid of beta and the
// decay parameterisation belong to the layer. Returns o and the state after the last step;
// both are differentiable in every input, the initial state included.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

struct GatedDeltaRuleInputs {
  Tensor q;              // [B, T, Hk, K]
  Tensor k;              // [B, T, Hk, K]
  Tensor v;              // [B, T, H, V], H a multiple of Hk
  Tensor g;              // [B, T, H], log decay, <= 0
  Tensor beta;           // [B, T, H], the write strength (in (0, 1) after a sigmoid)
  Tensor initial_state;  // [B, H, K, V], or undefined (zeros)
  double scale = 0;      // multiplies q; 0: 1 / sqrt(K)
  std::int64_t chunk = 32;  // steps per chunk: speed only (32 is fastest on the CPU: docs/gated_deltanet.md)
  // Packed documents: [B, T] i64 (strata/packing.h); the state restarts from zero where a
  // document begins after t = 0, so only a row's first document sees initial_state and
  // final_state is the last one's. Undefined: one sequence per row.
  Tensor sequence_starts;
};

struct GatedDeltaRuleOutputs {
  Tensor o;            // [B, T, H, V]
  Tensor final_state;  // [B, H, K, V]
};

// Shape, dtype and device errors name the input and the expected shape.
GatedDeltaRuleOutputs gated_delta_rule(const GatedDeltaRuleInputs& inputs);

}  // namespace strata
