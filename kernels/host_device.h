#pragma once
// STRATA_HOST_DEVICE marks the scalar formulas that the CPU kernels and the CUDA kernels
// share (Philox, the pointwise functions), so both backends compute them from one source.
#if defined(__CUDACC__)
#define STRATA_HOST_DEVICE __host__ __device__
#else
#define STRATA_HOST_DEVICE
#endif
