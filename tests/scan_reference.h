#pragma once
// The selective scan written as the plain step-by-step recurrence of its definition, in
// f64 (REFERENCE §1.4), for equivalence tests of the fused kernel and of the Mamba mixer.
#include <cmath>
#include <vector>

#include "strata/ops/selective_scan.h"
#include "strata/tensor.h"

namespace strata::test {

inline SelectiveScanOutputs reference_selective_scan(const SelectiveScanInputs& in) {
  const std::int64_t B = in.u.size(0), T = in.u.size(1), D = in.u.size(2), N = in.A.size(1);
  auto values = [](const Tensor& t) { return t.defined() ? t.to_vector<double>() : std::vector<double>(); };
  const std::vector<double> u = values(in.u), delta = values(in.delta), A = values(in.A), Bm = values(in.B),
                            Cm = values(in.C), Dv = values(in.D), z = values(in.z), bias = values(in.delta_bias);
  std::vector<double> h = in.initial_state.defined() ? values(in.initial_state) : std::vector<double>(B * D * N, 0.0);
  std::vector<double> y(B * T * D);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t d = 0; d < D; ++d) {
        const std::int64_t i = (b * T + t) * D + d;
        double dt = delta[i] + (bias.empty() ? 0.0 : bias[d]);
        if (in.delta_softplus) dt = dt > 20 ? dt : std::log1p(std::exp(dt));
        double out = Dv.empty() ? 0.0 : Dv[d] * u[i];
        for (std::int64_t n = 0; n < N; ++n) {
          double& state = h[(b * D + d) * N + n];
          state = std::exp(dt * A[d * N + n]) * state + dt * Bm[(b * T + t) * N + n] * u[i];
          out += Cm[(b * T + t) * N + n] * state;
        }
        if (!z.empty()) out *= z[i] / (1 + std::exp(-z[i]));
        y[i] = out;
      }
  const DType dtype = in.u.dtype();
  return {Tensor::from_vector(y, {B, T, D}).to(dtype), Tensor::from_vector(h, {B, D, N}).to(dtype)};
}

}  // namespace strata::test
