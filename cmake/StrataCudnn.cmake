# cuDNN's fused attention for the CUDA backend (kernels/cuda/attention_cudnn.cpp): the
# cuDNN library of the CUDA Toolkit install (libcudnn.so.9, cudnn.h) and the header-only
# cuDNN frontend (github.com/NVIDIA/cudnn-frontend, MIT), whose graph API builds the
# scaled-dot-product-attention graphs. The frontend's headers come from its PyPI wheel
# (nvidia-cudnn-frontend, pinned and checked by SHA-256), downloaded once into the build
# folder by pip; -DSTRATA_CUDNN_FRONTEND_INCLUDE=DIR uses headers found elsewhere instead.
# Sets STRATA_CUDNN_ENABLED, STRATA_CUDNN_LIBRARY and STRATA_CUDNN_INCLUDE_DIRS. Without
# either part the CUDA backend builds without cuDNN and bf16 attention runs in f32 on the
# own kernel (docs/cuda.md).
set(STRATA_CUDNN "AUTO" CACHE STRING "cuDNN fused attention in the CUDA backend: AUTO, ON (required) or OFF")
set(STRATA_CUDNN_ROOT "" CACHE PATH "cuDNN (a folder with include/cudnn.h and lib/libcudnn.so*) when not beside the CUDA Toolkit")
set(STRATA_CUDNN_FRONTEND_INCLUDE "" CACHE PATH "cuDNN frontend headers (a folder with cudnn_frontend.h); empty: download")
set(STRATA_CUDNN_ENABLED OFF)
set(STRATA_CUDNN_DESCRIPTION "cuDNN off")

set(_strata_fe_version 1.32.0)
set(_strata_fe_wheel nvidia_cudnn_frontend-${_strata_fe_version}-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl)
set(_strata_fe_sha256 c6006556017a4d1c914c52a556c71b1267f2d6a0500f742e7b4edef539878df0)

# Fetches the pinned wheel (any host: only its headers are used) and unpacks include/.
function(_strata_fetch_cudnn_frontend out_dir)
  set(dir ${CMAKE_BINARY_DIR}/_deps/cudnn_frontend-${_strata_fe_version})
  if(EXISTS ${dir}/include/cudnn_frontend.h)
    set(${out_dir} ${dir}/include PARENT_SCOPE)
    return()
  endif()
  if(NOT Python3_Interpreter_FOUND)  # found by the caller
    message(STATUS "cuDNN frontend: no python3 to download it with (set STRATA_CUDNN_FRONTEND_INCLUDE)")
    return()
  endif()
  execute_process(
    COMMAND ${Python3_EXECUTABLE} -m pip download --quiet --timeout 20 --retries 1 --no-deps --only-binary=:all: --python-version 3.11
            --implementation cp --platform manylinux_2_28_x86_64 -d ${dir}/wheel
            nvidia-cudnn-frontend==${_strata_fe_version}
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err TIMEOUT 300)
  set(wheel ${dir}/wheel/${_strata_fe_wheel})
  if(NOT rc EQUAL 0 OR NOT EXISTS ${wheel})
    string(STRIP "${err}" err)
    message(STATUS "cuDNN frontend: pip download of nvidia-cudnn-frontend==${_strata_fe_version} failed (${err})")
    return()
  endif()
  file(SHA256 ${wheel} digest)
  if(NOT digest STREQUAL _strata_fe_sha256)
    message(WARNING "cuDNN frontend: ${wheel} has SHA-256 ${digest}, expected ${_strata_fe_sha256}; not used")
    return()
  endif()
  file(ARCHIVE_EXTRACT INPUT ${wheel} DESTINATION ${dir} PATTERNS include/*)
  file(REMOVE_RECURSE ${dir}/wheel)
  if(EXISTS ${dir}/include/cudnn_frontend.h)
    set(${out_dir} ${dir}/include PARENT_SCOPE)
  endif()
endfunction()

string(TOUPPER "${STRATA_CUDNN}" _strata_cudnn_mode)
if(NOT _strata_cudnn_mode MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "STRATA_CUDNN must be AUTO, ON or OFF, not '${STRATA_CUDNN}'")
endif()
if(STRATA_CUDA_ENABLED AND NOT _strata_cudnn_mode STREQUAL "OFF")
  # cuDNN from STRATA_CUDNN_ROOT, beside the toolkit, or else the one a pip-installed
  # PyTorch brings for this CUDA major version (nvidia-cudnn-cu13 for CUDA 13:
  # site-packages/nvidia/cudnn/{include,lib}, the library as libcudnn.so.9 only).
  set(_strata_cudnn_hints ${STRATA_CUDNN_ROOT} ${CUDAToolkit_INCLUDE_DIRS}/.. ${CUDAToolkit_LIBRARY_DIR}/..
                          ${CUDAToolkit_LIBRARY_ROOT})
  find_package(Python3 COMPONENTS Interpreter QUIET)
  if(Python3_Interpreter_FOUND)
    execute_process(
      COMMAND ${Python3_EXECUTABLE} -c
              "import importlib.metadata as m, nvidia.cudnn; m.version('nvidia-cudnn-cu${CUDAToolkit_VERSION_MAJOR}'); print(nvidia.cudnn.__path__[0])"
      RESULT_VARIABLE rc OUTPUT_VARIABLE _strata_pip_cudnn OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET TIMEOUT 30)
    if(rc EQUAL 0 AND IS_DIRECTORY "${_strata_pip_cudnn}")
      list(APPEND _strata_cudnn_hints ${_strata_pip_cudnn})
    endif()
  endif()
  find_path(STRATA_CUDNN_HEADER_DIR cudnn.h HINTS ${_strata_cudnn_hints} PATH_SUFFIXES include)
  find_library(STRATA_CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_strata_cudnn_hints} PATH_SUFFIXES lib lib64)
  set(_strata_fe_include "${STRATA_CUDNN_FRONTEND_INCLUDE}")
  if(NOT STRATA_CUDNN_HEADER_DIR OR NOT STRATA_CUDNN_LIBRARY)
    set(STRATA_CUDNN_DESCRIPTION "cuDNN off (no cudnn.h and libcudnn.so: not beside the CUDA Toolkit, in STRATA_CUDNN_ROOT or a pip nvidia-cudnn-cu${CUDAToolkit_VERSION_MAJOR})")
  else()
    if(NOT _strata_fe_include)
      _strata_fetch_cudnn_frontend(_strata_fe_include)
    endif()
    if(_strata_fe_include AND EXISTS ${_strata_fe_include}/cudnn_frontend.h)
      set(STRATA_CUDNN_ENABLED ON)
      set(STRATA_CUDNN_INCLUDE_DIRS ${STRATA_CUDNN_HEADER_DIR} ${_strata_fe_include})
      set(STRATA_CUDNN_DESCRIPTION "cuDNN ${STRATA_CUDNN_LIBRARY} with frontend ${_strata_fe_include}")
    else()
      set(STRATA_CUDNN_DESCRIPTION "cuDNN off (no cuDNN frontend headers)")
    endif()
  endif()
endif()
if(_strata_cudnn_mode STREQUAL "ON" AND NOT STRATA_CUDNN_ENABLED)
  if(NOT STRATA_CUDA_ENABLED)
    set(STRATA_CUDNN_DESCRIPTION "the CUDA side is not built")
  endif()
  message(FATAL_ERROR "STRATA_CUDNN=ON requires cuDNN, but: ${STRATA_CUDNN_DESCRIPTION}. Point STRATA_CUDNN_ROOT "
                      "and STRATA_CUDNN_FRONTEND_INCLUDE at them (docs/cuda.md), or configure with STRATA_CUDNN=AUTO.")
endif()
