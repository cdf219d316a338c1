#pragma once
// Shared test helpers: random inputs, element-wise comparison with a readable report,
// and gradcheck assertions.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "catch.h"
#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/tensor.h"
#include "strata/testing/gradcheck.h"

namespace strata::test {

// An empty folder <tmp>/strata_<area>_<pid>/<name>, removed first if a previous test left
// it: one per test process, so tests running side by side do not share files.
inline std::filesystem::path fresh_temp_dir(const std::string& area, const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("strata_" + area + "_" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// The whole content of a file, as bytes.
inline std::string file_bytes(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `text` to `file` (replacing it); fails the test when it cannot.
inline void write_file(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// A leaf of normal(0, 1) values in f64 that requires grad.
inline Tensor leaf(const Shape& shape, Generator& gen, double scale = 1.0) {
  return mul(Tensor::randn(shape, gen, DType::f64), scale).detach().requires_grad_();
}

// Empty string when a and b agree to |a - b| <= atol + rtol |b| everywhere; otherwise a
// description of the first mismatch.
inline std::string mismatch(const Tensor& a, const Tensor& b, double atol, double rtol = 0) {
  if (a.shape() != b.shape()) return "shapes differ: " + a.shape().to_string() + " vs " + b.shape().to_string();
  const std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (std::size_t i = 0; i < va.size(); ++i) {
    const bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    if (both_nan || va[i] == vb[i] || std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i])) continue;
    std::ostringstream os;
    os.precision(12);
    os << "element " << i << ": " << va[i] << " vs " << vb[i] << " (|diff| " << std::abs(va[i] - vb[i]) << ")";
    return os.str();
  }
  return {};
}

// ||a - ref|| / ||ref|| over all elements (the accuracy measure of reduced-precision tests).
inline double relative_error(const Tensor& a, const Tensor& ref) {
  const std::vector<double> x = a.to_vector<double>(), r = ref.to_vector<double>();
  double diff = 0, norm = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff += (x[i] - r[i]) * (x[i] - r[i]);
    norm += r[i] * r[i];
  }
  return std::sqrt(diff / norm);
}

#define STRATA_REQUIRE_CLOSE(a, b, atol, rtol)                                             \
  do {                                                                                     \
    const std::string strata_mismatch_ = strata::test::mismatch((a), (b), (atol), (rtol)); \
    INFO(strata_mismatch_);                                                                \
    REQUIRE(strata_mismatch_.empty());                                                     \
  } while (0)

#define STRATA_REQUIRE_GRADCHECK(...)                                \
  do {                                                               \
    const auto strata_gc_ = strata::testing::gradcheck(__VA_ARGS__); \
    INFO(strata_gc_.report());                                       \
    REQUIRE(strata_gc_.passed);                                      \
  } while (0)

// A tensor from nested values, f64.
inline Tensor values(std::initializer_list<double> v, const Shape& shape) {
  return Tensor::from_vector(v, shape, DType::f64);
}

}  // namespace strata::test
