#pragma once
// How kernels/cuda turns CUDA runtime errors into the text the host wrappers return (the
// framework raises its DeviceError with it). A failed call's error is also taken from the
// runtime's last-error slot: left there, the next launch_status() would report it against
// another op (a cudaMalloc the caching allocator recovers from would fail the next kernel
// as "out of memory").
#include <cuda_runtime.h>

#include <string>

namespace strata::kernels::cuda {

// "" or the CUDA error's text.
inline std::string describe(cudaError_t e) { return e == cudaSuccess ? std::string() : cudaGetErrorString(e); }

// The text of a failed runtime call, its error taken from the last-error slot; "" on success.
inline std::string take_error(cudaError_t e) {
  if (e == cudaSuccess) return {};
  cudaGetLastError();
  return cudaGetErrorString(e);
}

// After a failed library call (cuBLAS, cuDNN): " (text)" of a CUDA error it left in the
// last-error slot, taken; "" if it left none.
inline std::string pending_error_note() {
  const cudaError_t e = cudaGetLastError();
  return e == cudaSuccess ? std::string() : std::string(" (") + cudaGetErrorString(e) + ")";
}

}  // namespace strata::kernels::cuda
