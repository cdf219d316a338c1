#pragma once
// Mamba's selective scan (S6): a linear recurrence over time per (batch, channel, state),
// with input-dependent step size, input map and output map. Channels last, as every
// [B, T, D] activation in strata:
//
//   dt[b,t,d]  = softplus(delta[b,t,d] + delta_bias[d])        (softplus and bias optional)
//   h[b,t,d,n] = exp(dt * A[d,n]) * h[b,t-1,d,n] + dt * B[b,t,n] * u[b,t,d]
//   y[b,t,d]   = sum_n C[b,t,n] * h[b,t,d,n] + D[d] * u[b,t,d]   (D optional)
//   y         *= silu(z[b,t,d])                                    (z optional)
//
// with h[b,-1] = initial_state (zeros when absent). Returns y and the state after the
// last step; both are differentiable in every input, the initial state included, so a
// long sequence can be processed in chunks with the state passed along (and its gradient
// passed back). Memory: the fused kernel never stores [B, T, D, N]; the backward
// recomputes the states inside chunks from saved chunk-boundary states.
//
// Semantics follow mamba_ssm's selective_scan_fn (which is [B, D, L] and has no initial
// state or final-state gradient) with real A and time-varying B, C shared by all channels.
#include "strata/tensor.h"

namespace strata {

struct SelectiveScanInputs {
  Tensor u;               // [B, T, D] the scan input (Mamba: x after conv and SiLU)
  Tensor delta;           // [B, T, D] raw step size, before delta_bias and softplus
  Tensor A;               // [D, N] state matrix (diagonal per channel; Mamba: -exp(A_log))
  Tensor B;               // [B, T, N] input map, shared by all channels
  Tensor C;               // [B, T, N] output map, shared by all channels
  Tensor D;               // [D] skip, or undefined
  Tensor z;               // [B, T, D] gate, or undefined
  Tensor delta_bias;      // [D], or undefined
  Tensor initial_state;   // [B, D, N], or undefined (zeros)
  bool delta_softplus = true;
  // Packed documents: [B, T] i64 (strata/packing.h); the state restarts from zero where a
  // document begins after t = 0, so only a row's first document sees initial_state and
  // final_state is the last document's. Undefined: one sequence per row.
  Tensor sequence_starts;
};

struct SelectiveScanOutputs {
  Tensor y;            // [B, T, D]
  Tensor final_state;  // [B, D, N], the state after step T-1
};

// Shape, dtype and device errors name the input and the expected shape.
SelectiveScanOutputs selective_scan(const SelectiveScanInputs& inputs);

}  // namespace strata
