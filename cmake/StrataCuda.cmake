# Resolves STRATA_CUDA (AUTO/ON/OFF) into STRATA_CUDA_ENABLED and, when enabled,
# turns on the CUDA language for kernels/cuda. With CUDA built but no GPU present at
# run time, everything still runs on the CPU.
include(CheckLanguage)

set(STRATA_CUDA_ENABLED OFF)
string(TOUPPER "${STRATA_CUDA}" _strata_cuda_mode)
if(_strata_cuda_mode STREQUAL "AUTO" OR _strata_cuda_mode STREQUAL "ON")
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(STRATA_CUDA_ENABLED ON)
  elseif(_strata_cuda_mode STREQUAL "ON")
    message(FATAL_ERROR "STRATA_CUDA=ON but no CUDA compiler (nvcc) was found. Put nvcc on PATH "
                        "(e.g. /usr/local/cuda/bin) or configure with -DSTRATA_CUDA=OFF.")
  endif()
elseif(NOT _strata_cuda_mode STREQUAL "OFF")
  message(FATAL_ERROR "STRATA_CUDA must be AUTO, ON or OFF, not '${STRATA_CUDA}'")
endif()

if(STRATA_CUDA_ENABLED)
  # Machine code for Ampere (sm_80: A100), Hopper (sm_90: H100/H200), datacenter Blackwell
  # (sm_100: B200/GB200) and the DGX Spark's GB10 (sm_121), so every CUDA source is compiled
  # (warnings as errors) for each target the project supports; override with
  # -DCMAKE_CUDA_ARCHITECTURES=90 (say) for a faster build for one GPU.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 80 90 100 121)
  endif()
  enable_language(CUDA)
  set(CMAKE_CUDA_STANDARD 17)  # CMake 3.25 does not know nvcc's C++20 flag; kernels need only 17
  set(CMAKE_CUDA_STANDARD_REQUIRED ON)
  find_package(CUDAToolkit REQUIRED)
endif()
