// bf16 and f16: conversions (every bit pattern, rounding, against the compiler's _Float16),
// tensors of those dtypes, printing and safetensors I/O.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/half.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

using namespace strata;

TEST_CASE("half: every bf16 and f16 bit pattern survives a round trip through float", "[half]") {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const bfloat16 b = bfloat16::from_bits(std::uint16_t(bits));
    const float fb = float(b);
    if (std::isnan(fb)) {
      CHECK(std::isnan(float(bfloat16(fb))));
    } else {
      REQUIRE(bfloat16(fb).bits == bits);
    }
    const float16 h = float16::from_bits(std::uint16_t(bits));
    const float fh = float(h);
    if (std::isnan(fh)) {
      CHECK(std::isnan(float(float16(fh))));
    } else {
      REQUIRE(float16(fh).bits == bits);
    }
  }
}

TEST_CASE("half: conversions from float round to nearest, ties to even", "[half]") {
  CHECK(float(bfloat16(1.0f + 0x1p-8f)) == 1.0f);                   // tie: down to the even 1.0
  CHECK(float(bfloat16(1.0f + 3 * 0x1p-8f)) == 1.0f + 0x1p-6f);     // tie: up to the even neighbour
  CHECK(float(bfloat16(1.0f + 0x1p-8f + 0x1p-20f)) == 1.0f + 0x1p-7f);
  CHECK(std::isinf(float(bfloat16(std::numeric_limits<float>::max()))));
  CHECK(float(float16(65519.0f)) == 65504.0f);
  CHECK(std::isinf(float(float16(65520.0f))));
  CHECK(float(float16(0x1p-24f)) == 0x1p-24f);  // the smallest subnormal
  CHECK(float(float16(0x1p-25f)) == 0.0f);      // half of it: tie to even (0)
  CHECK(float(float16(3 * 0x1p-26f)) == 0x1p-24f);
  CHECK(std::signbit(float(float16(-0.0f))));
#if defined(__aarch64__) || defined(__FLT16_MAX__)
  // against the compiler's IEEE binary16 conversion on many values across the range (on
  // ARM64 __fp16, which g++ converts with the FCVT instructions; elsewhere _Float16)
#if defined(__aarch64__)
  using CompilerHalf = __fp16;
#else
  using CompilerHalf = _Float16;
#endif
  Generator gen(3);
  const std::vector<float> values = Tensor::randn({20000}, gen).to_vector<float>();
  for (float v : values)
    for (float scale : {1e-7f, 1e-3f, 1.0f, 300.0f, 7e4f}) {
      const float x = v * scale;
      const CompilerHalf reference = static_cast<CompilerHalf>(x);
      std::uint16_t bits;
      std::memcpy(&bits, &reference, 2);
      REQUIRE(float16(x).bits == bits);
      REQUIRE(float(float16::from_bits(bits)) == static_cast<float>(reference));
    }
#endif
}

TEST_CASE("half: bf16 and f16 tensors convert, print and go through safetensors unchanged", "[half][safetensors]") {
  Generator gen(4);
  const Tensor x = Tensor::randn({3, 5}, gen);
  for (DType t : {DType::bf16, DType::f16}) {
    INFO(dtype_name(t));
    const Tensor h = x.to(t);
    CHECK(h.dtype() == t);
    CHECK(h.nbytes() == 30);
    const double tolerance = t == DType::bf16 ? 0x1p-8 : 0x1p-11;  // half an ulp, relative
    const std::vector<double> back = h.to_vector<double>(), ref = x.to_vector<double>();
    for (std::size_t i = 0; i < ref.size(); ++i) CHECK(std::abs(back[i] - ref[i]) <= tolerance * std::abs(ref[i]));
    CHECK(h.to_string().find("dtype=" + std::string(dtype_name(t))) != std::string::npos);
    CHECK(Tensor::zeros({2}, t).to_vector<double>() == std::vector<double>{0, 0});
    CHECK(transpose(h, 0, 1).contiguous().to(DType::f64).to_vector<double>() ==
          transpose(h.to(DType::f64), 0, 1).contiguous().to_vector<double>());

    const auto file = test::fresh_temp_dir("half", std::string(dtype_name(t))) / "t.safetensors";
    safetensors::write(file, {{"h", h}});
    const Tensor loaded = safetensors::Reader(file).load("h");
    CHECK(loaded.dtype() == t);  // no f32 copy
    CHECK(std::memcmp(loaded.raw_data(), h.raw_data(), std::size_t(h.nbytes())) == 0);
  }
}
