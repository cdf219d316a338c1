#pragma once
// Helpers of the CUDA emulation tests: inputs with poisoned guard elements, outputs whose
// untouched elements and guards show, and comparisons with the CPU kernels.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "catch.h"
#include "fake_cuda/emu_control.h"

namespace emu_test {

// The kernels/cuda files the tests cover: each test file names its own, and a test checks
// that every file the build translated is named (test_coverage.cpp).
inline std::set<std::string>& covered_files() {
  static std::set<std::string> files;
  return files;
}
struct Covers {
  Covers(std::initializer_list<const char*> files) {
    for (const char* f : files) covered_files().insert(f);
  }
};

// Relative tolerances of the comparisons with the CPU kernels (max |got - want| over
// max |want|): f64 near round-off, f32 what two summation orders give.
template <class T>
inline constexpr double kTol = std::is_same_v<T, double> ? 1e-12 : 1e-5;

// A count as std::size_t (in declarations, where std::size_t(n) would parse as a function).
inline std::size_t sz(std::int64_t n) { return static_cast<std::size_t>(n); }

template <class T>
T poison() {
  if constexpr (std::is_floating_point_v<T>) {
    return std::numeric_limits<T>::quiet_NaN();
  } else if constexpr (std::is_integral_v<T>) {
    return T(0x5a5a5a5a5a5a5a5aull & std::uint64_t(std::numeric_limits<std::make_unsigned_t<T>>::max()));
  } else {  // 16-bit float storage: all ones is a NaN
    T t;
    std::memset(static_cast<void*>(&t), 0xff, sizeof t);
    return t;
  }
}

// n elements between two guards of kGuard elements each. Inputs: a read past either end
// picks up a poisoned guard (NaN for floating types), which shows in the results. Outputs:
// filled with the poison too, so that an element no thread wrote shows, and the guards must
// stay untouched.
template <class T>
class Buffer {
 public:
  static constexpr std::size_t kGuard = 17;
  explicit Buffer(std::size_t n = 0) : v_(n + 2 * kGuard, poison<T>()), n_(n) {}
  Buffer(const std::vector<T>& values) : Buffer(values.size()) {
    std::copy(values.begin(), values.end(), data());
  }
  T* data() { return v_.data() + kGuard; }
  const T* data() const { return v_.data() + kGuard; }
  std::size_t size() const { return n_; }
  T& operator[](std::size_t i) { return data()[i]; }
  std::vector<T> values() const { return std::vector<T>(data(), data() + n_); }
  bool guards_intact() const {
    for (std::size_t i = 0; i < kGuard; ++i)
      if (!same_bits(v_[i], poison<T>()) || !same_bits(v_[kGuard + n_ + i], poison<T>())) return false;
    return true;
  }

 private:
  static bool same_bits(const T& a, const T& b) { return std::memcmp(&a, &b, sizeof(T)) == 0; }
  std::vector<T> v_;
  std::size_t n_;
};

class Random {
 public:
  explicit Random(std::uint64_t seed) : rng_(seed) {}
  template <class T = double>
  std::vector<T> normal(std::size_t n, double scale = 1.0, double mean = 0.0) {
    std::normal_distribution<double> d(mean, scale);
    std::vector<T> v(n);
    for (auto& x : v) x = T(d(rng_));
    return v;
  }
  template <class T = double>
  std::vector<T> uniform(std::size_t n, double low, double high) {
    std::uniform_real_distribution<double> d(low, high);
    std::vector<T> v(n);
    for (auto& x : v) x = T(d(rng_));
    return v;
  }
  std::vector<std::int64_t> integers(std::size_t n, std::int64_t low, std::int64_t high) {  // [low, high]
    std::uniform_int_distribution<std::int64_t> d(low, high);
    std::vector<std::int64_t> v(n);
    for (auto& x : v) x = d(rng_);
    return v;
  }
  std::int64_t integer(std::int64_t low, std::int64_t high) { return integers(1, low, high)[0]; }
  std::mt19937_64& engine() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

template <class T>
std::vector<T> cast(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// "" when got matches want: NaN where want has NaN, the same infinities, and elsewhere
// max |got - want| <= tol * max(max |want|, floor) (tol 0: bit for bit); else where and how
// they differ. floor: the size of the terms when the result cancels to near 0.
template <class T>
std::string not_close(const std::vector<T>& got, const std::vector<T>& want, double tol, double floor = 0) {
  std::ostringstream out;
  out.precision(17);
  if (got.size() != want.size()) {
    out << "sizes differ: " << got.size() << " vs " << want.size();
    return out.str();
  }
  double scale = 0;
  for (const T& w : want)
    if (std::isfinite(double(w))) scale = std::max(scale, std::fabs(double(w)));
  scale = std::max(scale, floor);
  // the error of element i, and whether it is over the tolerance
  auto error = [&](std::size_t i, bool* bad) {
    const double g = double(got[i]), w = double(want[i]);
    if (std::isnan(g) && std::isnan(w)) return *bad = false, 0.0;
    if (tol == 0) return *bad = std::memcmp(&got[i], &want[i], sizeof(T)) != 0, *bad ? std::fabs(g - w) : 0.0;
    if (!std::isfinite(g) || !std::isfinite(w)) return *bad = g != w, *bad ? double(INFINITY) : 0.0;
    const double e = std::fabs(g - w);
    return *bad = e > tol * scale, e;
  };
  std::size_t bad_count = 0, worst = 0;
  double worst_error = -1;
  for (std::size_t i = 0; i < got.size(); ++i) {
    bool bad = false;
    const double e = error(i, &bad);
    if (!bad) continue;
    ++bad_count;
    if (!(e <= worst_error)) worst = i, worst_error = e;
  }
  if (bad_count == 0) return {};
  out << bad_count << " of " << got.size() << " elements differ; worst at " << worst << ": got "
      << double(got[worst]) << ", want " << double(want[worst]) << " (|diff| " << worst_error << ", max |want| "
      << scale << ", tolerance " << tol << ")";
  return out.str();
}

// Every element of got equal to want (integers, indices, bits).
template <class T>
std::string differ(const std::vector<T>& got, const std::vector<T>& want) {
  if (got.size() != want.size()) return "sizes differ";
  for (std::size_t i = 0; i < got.size(); ++i)
    if (std::memcmp(&got[i], &want[i], sizeof(T)) != 0) {
      std::ostringstream out;
      out << "element " << i << " of " << got.size() << " differs";
      if constexpr (std::is_arithmetic_v<T>) out << ": got " << got[i] << ", want " << want[i];
      return out.str();
    }
  return {};
}

inline const char* type_name(float) { return "f32"; }
inline const char* type_name(double) { return "f64"; }

}  // namespace emu_test

// CHECK that an output buffer matches the CPU's result and kept its guards.
#define EMU_CHECK_CLOSE(buffer, want, tol)                         \
  do {                                                             \
    CHECK(emu_test::not_close((buffer).values(), (want), (tol)) == ""); \
    CHECK((buffer).guards_intact());                               \
  } while (0)
#define EMU_CHECK_CLOSE_FLOOR(buffer, want, tol, floor)                 \
  do {                                                                  \
    CHECK(emu_test::not_close((buffer).values(), (want), (tol), (floor)) == ""); \
    CHECK((buffer).guards_intact());                                    \
  } while (0)
#define EMU_CHECK_EQUAL(buffer, want)                          \
  do {                                                         \
    CHECK(emu_test::differ((buffer).values(), (want)) == "");  \
    CHECK((buffer).guards_intact());                           \
  } while (0)
