#pragma once
// Random fills from the Philox stream: element i of a fill uses counter
// first_counter + i / per_counter, so results depend on (key, first_counter, i) only,
// never on the thread count.
#include "kernels/op_kinds.h"
#include <cstdint>

namespace strata::kernels::cpu {

using kernels::counters_for;
using kernels::normal_per_counter;
using kernels::randint_per_counter;
using kernels::uniform_per_counter;

// Uniform in [low, high).
template <class T>
void uniform_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T low, T high);
// Normal(mean, std) by Box-Muller in f64 on 32-bit (f32) or 64-bit (f64) uniforms.
template <class T>
void normal_fill_cpu(T* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter, T mean, T std);
// Integers in [low, high) (high > low) by 64-bit multiply-shift (bias < range / 2^64).
void randint_fill_cpu(std::int64_t* out, std::int64_t n, std::uint64_t key, std::uint64_t first_counter,
                      std::int64_t low, std::int64_t high);

}  // namespace strata::kernels::cpu
