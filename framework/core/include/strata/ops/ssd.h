#pragma once
// Mamba-2's state-space duality (SSD) scan (Dao and Gu 2024, "Transformers are SSMs"):
// per head h a scalar decay A[h] and a state of head_dim x d_state, with B and C shared by
// the heads of a group (n_groups):
//
//   S[b,t,h] = exp(dt[b,t,h] * A[h]) * S[b,t-1,h] + dt[b,t,h] * x[b,t,h,:] (outer) B[b,t,g(h),:]
//   y[b,t,h,:] = S[b,t,h] C[b,t,g(h),:]                    S[b,-1,h] = initial_state (zeros)
//
// computed in chunks of `chunk` steps (the quadratic attention-like form inside a chunk, the
// state passed between chunks), with a fused backward that recomputes from the state
// entering each chunk. dt is the step after its bias and softplus, and the D skip and z
// gate of the Mamba-2 block are outside (elementwise ops). Returns y and the state after the
// last step; both are differentiable in every input, the initial state included.
#include <cstdint>

#include "strata/tensor.h"

namespace strata {

struct SsdInputs {
  Tensor x;              // [B, T, H, P]
  Tensor dt;             // [B, T, H], > 0 (after bias and softplus)
  Tensor A;              // [H], < 0 (Mamba-2: -exp(A_log))
  Tensor B;              // [B, T, G, N], H a multiple of G
  Tensor C;              // [B, T, G, N]
  Tensor initial_state;  // [B, H, P, N], or undefined (zeros)
  std::int64_t chunk = 64;
  // Packed documents: [B, T] i64 (strata/packing.h); the state restarts from zero where a
  // document begins after t = 0 (chunks then start at document starts), so only a row's
  // first document sees initial_state and final_state is the last one's. Undefined: one
  // sequence per row.
  Tensor sequence_starts;
};

struct SsdOutputs {
  Tensor y;            // [B, T, H, P]
  Tensor final_state;  // [B, H, P, N]
};

// Shape, dtype and device errors name the input and the expected shape.
SsdOutputs ssd(const SsdInputs& inputs);

}  // namespace strata
