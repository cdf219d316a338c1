#pragma once
// Included first by every file prepare.cmake generates: the fake CUDA runtime, and
// __CUDA_ARCH__ so that device-only branches (`#if defined(__CUDA_ARCH__)`, e.g. the
// __fmul_rn / __umul64hi paths of kernels/random_math.h) are the ones compiled. 800: the
// oldest architecture built (sm_80). The CPU library is compiled without it, so an inline
// function with such a branch has two definitions in the test program; the emulated
// intrinsics compute what the host branches do (the bit-exact random tests check it), so
// whichever copy the linker keeps gives the same values.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 800
#endif
