// The CUDA side: device memory and copies, and every CUDA kernel against its CPU twin.
// Without a GPU (or without a CUDA build) these tests check that the CPU-only path is
// what runs and that asking for a GPU fails clearly.
#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;

TEST_CASE("cuda: device count and build flag agree", "[cuda]") {
  if (!built_with_cuda()) CHECK(cuda_device_count() == 0);
  CHECK(cuda_device_count() >= 0);
}

TEST_CASE("cuda: fill and round trip match the CPU", "[cuda]") {
  if (cuda_device_count() == 0) {
    WARN("no CUDA device: the GPU round trip is not exercised on this machine");
    REQUIRE_THROWS_AS(Tensor::zeros({4}, DType::f32, Device::cuda(0)), DeviceError);
    return;
  }
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    const Tensor on_gpu = Tensor::full({1000, 3}, 2.0, dt, Device::cuda(0));
    CHECK(on_gpu.device() == Device::cuda(0));
    CHECK(on_gpu.to_vector<double>() == Tensor::full({1000, 3}, 2.0, dt).to_vector<double>());
  }
  Generator gen(1);
  const Tensor x = Tensor::randn({257, 33}, gen);
  const Tensor back = x.to(Device::cuda(0)).to(Device::cpu());
  CHECK(back.to_vector<float>() == x.to_vector<float>());
  // a transposed view is made contiguous on the CPU before it crosses
  CHECK(x.transpose(0, 1).to(Device::cuda(0)).to(Device::cpu()).to_vector<float>() ==
        x.transpose(0, 1).contiguous().to_vector<float>());
  // ops without a CUDA kernel say so
  REQUIRE_THROWS_AS(exp(x.to(Device::cuda(0))), NotImplementedError);
  // gradients flow back across the copy
  Tensor w = Tensor::randn({4}, gen, DType::f64).requires_grad_();
  const Tensor on_gpu = w.to(Device::cuda(0));
  on_gpu.to(Device::cpu()).backward(Tensor::ones({4}, DType::f64));
  CHECK(w.grad().to_vector<double>() == std::vector<double>(4, 1.0));
}
