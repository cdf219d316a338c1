#include "catch.h"
#include "helpers.h"
#include "strata/error.h"

using namespace strata;
using strata::test::values;

TEST_CASE("factories fill and report metadata", "[tensor]") {
  const Tensor z = Tensor::zeros({2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.dtype() == DType::f32);
  CHECK(z.device() == Device::cpu());
  CHECK(z.is_contiguous());
  CHECK(z.to_vector<double>() == std::vector<double>(6, 0.0));
  CHECK(Tensor::ones({4}, DType::f64).to_vector<double>() == std::vector<double>(4, 1.0));
  CHECK(Tensor::full({2}, 2.5).to_vector<float>() == std::vector<float>{2.5f, 2.5f});
  CHECK(Tensor::arange(4).to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(Tensor::scalar(3.0).rank() == 0);
  CHECK(Tensor::scalar(3.0).item() == 3.0);
  CHECK(Tensor::empty({0, 5}).numel() == 0);
}

TEST_CASE("bad construction gives clear errors", "[tensor][errors]") {
  REQUIRE_THROWS_WITH(Tensor::empty({2, -3}), Catch::Contains("negative size in shape [2, -3]"));
  REQUIRE_THROWS_WITH(Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2}),
                      Catch::Contains("3 values cannot fill shape [2, 2]"));
  REQUIRE_THROWS_AS(Tensor::zeros({2}).data<double>(), DTypeError);
  REQUIRE_THROWS_WITH(Tensor::zeros({2}).item(), Catch::Contains("one element"));
  REQUIRE_THROWS_AS(Tensor().shape(), ValueError);
  Generator gen(0);
  REQUIRE_THROWS_AS(Tensor::rand({2}, gen, DType::f32, 1.0, 1.0), ValueError);
  REQUIRE_THROWS_AS(Tensor::randint({2}, 5, 5, gen), ValueError);
  REQUIRE_THROWS_AS(Tensor::randn({2}, gen, DType::i64), DTypeError);
}

TEST_CASE("views share storage and have the right strides", "[tensor][views]") {
  const Tensor x = Tensor::arange(24, DType::f32).reshape({2, 3, 4});
  const Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.strides() == Shape{1, 4, 12});
  CHECK(!t.is_contiguous());
  CHECK(t.shares_storage(x));
  // element [3, 1, 1] of t is x[1, 1, 3] = 12 + 4 + 3
  CHECK(t.contiguous().to_vector<float>()[3 * 6 + 1 * 2 + 1] == 19.0f);

  const Tensor s = x.slice(2, 1, 4, 2);  // columns 1 and 3
  CHECK(s.shape() == Shape{2, 3, 2});
  CHECK(s.to_vector<float>() == std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23});
  CHECK(x.slice(0, -1, 100).shape() == Shape{1, 3, 4});  // Python-style clamping

  const Tensor e = Tensor::arange(3, DType::f32).reshape({3, 1}).expand({3, 4});
  CHECK(e.strides()[1] == 0);
  CHECK(e.contiguous().to_vector<float>() == std::vector<float>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});

  const Tensor p = x.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.contiguous().to_vector<float>()[0 * 6 + 1 * 3 + 2] == 20.0f);  // x[1, 2, 0]
  CHECK(x.flatten(1).shape() == Shape{2, 12});
  CHECK(x.unsqueeze(1).shape() == Shape{2, 1, 3, 4});
  CHECK(x.unsqueeze(1).squeeze(1).shape() == Shape{2, 3, 4});
}

TEST_CASE("reshape of a non-contiguous view copies and of a contiguous one does not", "[tensor][views]") {
  const Tensor x = Tensor::arange(6, DType::f32).reshape({2, 3});
  CHECK(x.reshape({3, 2}).shares_storage(x));
  CHECK(x.reshape({-1}).shape() == Shape{6});
  const Tensor t = x.transpose(0, 1).reshape({6});
  CHECK(!t.shares_storage(x));
  CHECK(t.to_vector<float>() == std::vector<float>{0, 3, 1, 4, 2, 5});
  REQUIRE_THROWS_WITH(x.reshape({4, 2}), Catch::Contains("cannot reshape [2, 3] (6 elements) to [4, 2]"));
  REQUIRE_THROWS_WITH(x.reshape({-1, -1}), Catch::Contains("more than one -1"));
}

TEST_CASE("dtype conversion round-trips and truncates toward zero for integers", "[tensor]") {
  const Tensor x = Tensor::from_vector({1.75, -2.5, 3.0}, {3}, DType::f64);
  CHECK(x.to(DType::f32).dtype() == DType::f32);
  CHECK(x.to(DType::f32).to_vector<float>() == std::vector<float>{1.75f, -2.5f, 3.0f});
  CHECK(x.to(DType::i64).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, -2, 3});
  CHECK(x.to(DType::f64).shares_storage(x));  // no-op conversion
}

TEST_CASE("in-place updates work on views and refuse tensors that require grad", "[tensor][inplace]") {
  Tensor x = Tensor::zeros({3, 4});
  Tensor column = x.slice(1, 1, 2);
  column.fill_(5.0);
  CHECK(x.to_vector<float>() == std::vector<float>{0, 5, 0, 0, 0, 5, 0, 0, 0, 5, 0, 0});
  x.copy_(Tensor::arange(4, DType::f64).to(DType::f32));  // broadcast [4] -> [3, 4]
  CHECK(x.to_vector<float>()[5] == 1.0f);
  x.add_(Tensor::ones({4}), 2.0);
  CHECK(x.to_vector<float>()[5] == 3.0f);
  x.mul_(0.5);
  CHECK(x.to_vector<float>()[5] == 1.5f);
  REQUIRE_THROWS_AS(x.copy_(Tensor::ones({2})), ShapeError);

  Tensor w = Tensor::ones({2}).requires_grad_();
  REQUIRE_THROWS_WITH(w.fill_(1.0), Catch::Contains("in-place update of a tensor that requires grad"));
  {
    autograd::NoGradGuard guard;
    CHECK_NOTHROW(w.mul_(2.0));
  }
  CHECK(w.to_vector<float>() == std::vector<float>{2.0f, 2.0f});
}

TEST_CASE("in-place updates read overlapping sources correctly", "[tensor][inplace]") {
  Tensor x = Tensor::arange(9, DType::f32).reshape({3, 3});
  x.copy_(x.transpose(0, 1));
  CHECK(x.to_vector<float>() == std::vector<float>{0, 3, 6, 1, 4, 7, 2, 5, 8});
  Tensor y = Tensor::arange(6, DType::f64);
  y.slice(0, 1, 6).copy_(y.slice(0, 0, 5));  // shift right by one
  CHECK(y.to_vector<double>() == std::vector<double>{0, 0, 1, 2, 3, 4});
  Tensor z = Tensor::arange(4, DType::f64);
  z.add_(z);
  CHECK(z.to_vector<double>() == std::vector<double>{0, 2, 4, 6});
  Tensor w = Tensor::arange(4, DType::f64).reshape({2, 2});
  w.add_(w.transpose(0, 1));
  CHECK(w.to_vector<double>() == std::vector<double>{0, 3, 3, 6});
}

TEST_CASE("detach shares storage and drops history", "[tensor]") {
  Generator gen(3);
  Tensor x = strata::test::leaf({3}, gen);
  const Tensor y = exp(x);
  const Tensor d = y.detach();
  CHECK(d.shares_storage(y));
  CHECK(!d.requires_grad());
  CHECK(d.is_leaf());
  CHECK(y.grad_fn() != nullptr);
  REQUIRE_THROWS_AS(Tensor(y).requires_grad_(), AutogradError);
  REQUIRE_THROWS_AS(Tensor::zeros({2}, DType::i64).requires_grad_(), AutogradError);
}

TEST_CASE("printing shows values, shape and dtype, eliding long dims", "[tensor]") {
  const Tensor x = values({1, 2, 3, 4}, {2, 2});
  CHECK(x.to_string() == "tensor([[1, 2], [3, 4]], shape=[2, 2], dtype=f64)");
  const std::string long_one = Tensor::arange(100).to_string();
  CHECK(long_one.find("...") != std::string::npos);
  CHECK(long_one.find("99") != std::string::npos);
}

TEST_CASE("sizes that overflow 64 bits are errors, not corrupted memory", "[tensor][errors]") {
  REQUIRE_THROWS_AS(Tensor::zeros({std::int64_t(1) << 32, std::int64_t(1) << 32}), ShapeError);
  REQUIRE_THROWS_WITH(Tensor::zeros({(std::int64_t(1) << 62) - 2}), Catch::Contains("more bytes than fit in 64 bits"));
}

TEST_CASE("unsqueeze and squeeze are views even of strided tensors", "[tensor][views]") {
  Tensor x = Tensor::zeros({2, 3});
  Tensor v = x.transpose(0, 1).unsqueeze(0);
  CHECK(v.shape() == Shape{1, 3, 2});
  CHECK(v.shares_storage(x));
  v.fill_(1.0);
  CHECK(x.to_vector<float>() == std::vector<float>(6, 1.0f));
  Tensor s = x.slice(1, 0, 3, 2).unsqueeze(2).squeeze(2);
  CHECK(s.shares_storage(x));
  CHECK(s.shape() == Shape{2, 2});
}

TEST_CASE("writes into an expanded view are refused", "[tensor][inplace][errors]") {
  Tensor d = Tensor::zeros({1});
  Tensor e = d.expand({1000});
  REQUIRE_THROWS_WITH(e.fill_(1.0), Catch::Contains("expanded view"));
  REQUIRE_THROWS_AS(e.copy_(Tensor::arange(1000, DType::f32)), ValueError);
}

TEST_CASE("expand keeps -1 dims and rejects other negative sizes", "[tensor][views]") {
  const Tensor x = Tensor::ones({3, 1});
  CHECK(x.expand({2, -1, 4}).shape() == Shape{2, 3, 4});
  REQUIRE_THROWS_WITH(x.expand({-2, 3, 1}), Catch::Contains("negative size"));
}

TEST_CASE("slice with a huge step keeps one element", "[tensor][views]") {
  const Tensor x = Tensor::arange(5);
  CHECK(x.slice(0, 0, 5, INT64_MAX).to_vector<std::int64_t>() == std::vector<std::int64_t>{0});
  CHECK(x.slice(0, 1, 5, 3).to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 4});
}

TEST_CASE("printing with a tiny element budget shows only real elements", "[tensor]") {
  const Tensor x = Tensor::from_vector({10, 11, 12, 13}, {4});
  CHECK(x.to_string(1) == "tensor([10, ..., 13], shape=[4], dtype=f32)");
  CHECK(x.to_string(2) == "tensor([10, ..., 13], shape=[4], dtype=f32)");
  CHECK(x.to_string(3) == "tensor([10, 11, ..., 13], shape=[4], dtype=f32)");
}
