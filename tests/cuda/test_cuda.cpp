// The CUDA side without a GPU: the build flag, the device count, the kernels a CUDA build
// registers, and a clear error when a GPU is asked for but none is visible. The kernels
// themselves run in test_cuda_gpu (tests/cuda/test_cuda_gpu.cpp), where a GPU is visible.
#include "catch.h"
#include "helpers.h"
#include "strata/backend.h"
#include "strata/error.h"

using namespace strata;

TEST_CASE("cuda: device count and build flag agree", "[cuda]") {
  if (!built_with_cuda()) CHECK(cuda_device_count() == 0);
  CHECK(cuda_device_count() >= 0);
}

TEST_CASE("cuda: a CUDA build registers CUDA kernels for the core entries", "[cuda]") {
  (void)Tensor::zeros({1});  // the table registers its backends on first use
  // a few entries of each family the CUDA backend covers
  for (const char* name : {"binary", "copy", "random_fill", "sum", "softmax", "cross_entropy", "rmsnorm", "gemm",
                           "grouped_gemm", "index_select", "adamw"}) {
    const backend::OpEntry* op = backend::find_op(name);
    REQUIRE(op);
    bool has_cuda = false;
    for (const backend::KernelInfo& k : op->kernels()) has_cuda |= k.device == DeviceType::cuda;
    INFO(name);
    CHECK(has_cuda == built_with_cuda());
  }
}

TEST_CASE("cuda: asking for a GPU where none is visible is a DeviceError", "[cuda]") {
  if (cuda_device_count() > 0) return;  // test_cuda_gpu covers the GPU side
  REQUIRE_THROWS_AS(Tensor::zeros({4}, DType::f32, Device::cuda(0)), DeviceError);
  Generator gen(1);
  REQUIRE_THROWS_AS(Tensor::randn({4}, gen, DType::f32, 0.0, 1.0, Device::cuda(0)), DeviceError);
  REQUIRE_THROWS_AS(synchronize(Device::cuda(0)), DeviceError);
  REQUIRE_THROWS_AS(cuda_memory(Device::cuda(0)), DeviceError);
  CHECK_NOTHROW(synchronize(Device::cpu()));
}

TEST_CASE("cuda: device names parse, and anything else is a ValueError", "[cuda]") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("cuda") == Device::cuda(0));
  CHECK(parse_device("cuda:3") == Device::cuda(3));
  for (const char* bad : {"", "gpu", "cuda:", "cuda:-1", "cuda:1x", "CUDA", "cpu:0"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_device(bad), ValueError);
  }
  CHECK_NOTHROW(check_available(Device::cpu()));
  if (cuda_device_count() == 0) CHECK_THROWS_AS(check_available(Device::cuda(0)), DeviceError);
  CHECK_THROWS_AS(check_available(Device::cuda(cuda_device_count())), DeviceError);
}

TEST_CASE("cuda: move_to_ moves a leaf for every handle, and refuses results", "[cuda]") {
  Generator gen(3);
  Tensor w = Tensor::randn({5}, gen).requires_grad_();
  const Tensor handle = w;  // a module keeps its parameter by handle
  const std::vector<float> before = w.to_vector<float>();
  w.move_to_(Device::cpu());  // same device: nothing changes
  CHECK(handle.to_vector<float>() == before);
  CHECK(handle.requires_grad());
  const Tensor y = mul(w, w);
  CHECK_THROWS_AS(Tensor(y).move_to_(Device::cpu()), AutogradError);
  if (cuda_device_count() == 0) {
    CHECK_THROWS_AS(w.move_to_(Device::cuda(0)), DeviceError);
    CHECK(handle.device() == Device::cpu());  // nothing moved
    CHECK(handle.to_vector<float>() == before);
  } else {
    w.move_to_(Device::cuda(0));
    CHECK(handle.device() == Device::cuda(0));
    CHECK(handle.to_vector<float>() == before);
    CHECK(handle.requires_grad());
  }
}
