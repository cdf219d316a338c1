# Finds every third-party dependency. Nothing is vendored: scripts/setup installs
# the Debian packages named in the hints below.

find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(Boost 1.74 REQUIRED)            # headers only for now; Boost.DLL loads plugins
find_package(tomlplusplus 3 REQUIRED)        # experiment files
find_package(PkgConfig REQUIRED)

# BLAS: OpenBLAS built for OpenMP, so that sgemm and strata's own kernels share one
# thread pool. The pthread build spins its own workers next to OpenMP's, which on a
# 2-core machine oversubscribes the cores (observed on a 2-vCPU development VM: PyTorch
# 1.13 training with OpenMP and OpenBLAS-pthread both at 2 threads ran 1.5-4x slower). A
# BLAS call made inside an OpenMP parallel region then runs single-threaded on its own.
set(_strata_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
find_library(STRATA_OPENBLAS_OPENMP_LIB NAMES openblas
  PATHS /usr/lib/${_strata_multiarch}/openblas-openmp NO_DEFAULT_PATH)
find_path(STRATA_OPENBLAS_OPENMP_INCLUDE cblas.h
  PATHS /usr/include/${_strata_multiarch}/openblas-openmp NO_DEFAULT_PATH)

add_library(strata_blas INTERFACE)
if(STRATA_OPENBLAS_OPENMP_LIB AND STRATA_OPENBLAS_OPENMP_INCLUDE)
  target_link_libraries(strata_blas INTERFACE ${STRATA_OPENBLAS_OPENMP_LIB})
  target_include_directories(strata_blas SYSTEM INTERFACE ${STRATA_OPENBLAS_OPENMP_INCLUDE})
  target_compile_definitions(strata_blas INTERFACE STRATA_BLAS_OPENMP=1)
  set(STRATA_BLAS_DESCRIPTION "OpenBLAS (OpenMP) ${STRATA_OPENBLAS_OPENMP_LIB}")
else()
  pkg_check_modules(OPENBLAS openblas)
  if(NOT OPENBLAS_FOUND)
    message(FATAL_ERROR "OpenBLAS not found. Install it with:\n"
                        "  sudo apt-get install libopenblas-openmp-dev\n"
                        "or run scripts/setup, which installs every dependency.")
  endif()
  message(WARNING "Using the default OpenBLAS (${OPENBLAS_LINK_LIBRARIES}); if it is the pthread "
                  "build, BLAS and OpenMP threads compete for cores. Install libopenblas-openmp-dev.")
  target_link_libraries(strata_blas INTERFACE ${OPENBLAS_LINK_LIBRARIES})
  target_include_directories(strata_blas SYSTEM INTERFACE ${OPENBLAS_INCLUDE_DIRS})
  set(STRATA_BLAS_DESCRIPTION "OpenBLAS ${OPENBLAS_LINK_LIBRARIES}")
endif()

# oneDNN (Debian libdnnl-dev): its matmul runs the f32 and bf16 products on the CPU's widest
# units (AVX-512, AVX512-BF16, AMX where present), chosen at run time; OpenBLAS keeps f64 and
# the small products where oneDNN's per-call setup would dominate. Optional: without it
# every product goes to OpenBLAS and bf16 products are computed in f32.
# (Found by library and header: Debian's package config also demands OpenCL, which the CPU
# side does not use.)
find_library(STRATA_ONEDNN_LIB NAMES dnnl)
find_path(STRATA_ONEDNN_INCLUDE NAMES oneapi/dnnl/dnnl.hpp)
add_library(strata_onednn INTERFACE)
if(STRATA_ONEDNN_LIB AND STRATA_ONEDNN_INCLUDE)
  target_link_libraries(strata_onednn INTERFACE ${STRATA_ONEDNN_LIB})
  target_include_directories(strata_onednn SYSTEM INTERFACE ${STRATA_ONEDNN_INCLUDE})
  target_compile_definitions(strata_onednn INTERFACE STRATA_HAVE_ONEDNN=1)
  set(STRATA_ONEDNN_DESCRIPTION "oneDNN ${STRATA_ONEDNN_LIB}")
else()
  message(WARNING "strata: oneDNN not found: f32 products use OpenBLAS only and bf16 products run in f32. "
                  "Install libdnnl-dev (scripts/setup does).")
  set(STRATA_ONEDNN_DESCRIPTION "no oneDNN")
endif()

if(STRATA_BUILD_TESTS)
  find_package(Catch2 REQUIRED)
endif()
if(STRATA_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Google Highway (Debian libhwy-dev): the CPU kernels' SIMD, written once and compiled for
# every instruction set of the architecture (x86-64: SSE4, AVX2, AVX-512; ARM64: NEON, SVE,
# SVE2), with the best one for the running CPU chosen at run time. See docs/simd.md.
find_package(hwy REQUIRED)

# xxHash (Debian libxxhash-dev): the checkpoints' integrity digests (XXH3-64), fast enough
# (tens of GB/s) that verifying a checkpoint costs little next to reading it.
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
