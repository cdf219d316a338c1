// The GPU tests' main: without a visible CUDA device it prints "skipped: no GPU" and exits
// 77, which ctest reports as skipped (not passed); with one it runs the Catch2 session.
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#endif

#include <iostream>

#include "strata/device.h"

int main(int argc, char** argv) {
  if (strata::cuda_device_count() == 0) {
    std::cout << "skipped: no GPU (" << (strata::built_with_cuda() ? "no CUDA device is visible" : "built without CUDA")
              << "); these tests run the CUDA kernels and need one\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
