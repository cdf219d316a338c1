// The elementwise CUDA kernels under the emulator against their CPU twins: fill.cu,
// binary.cu, unary.cu, copy.cu, random.cu, reduce.cu, adamw.cu.
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emu_test.h"
#include "kernels/cpu/adamw.h"
#include "kernels/cpu/binary.h"
#include "kernels/cpu/copy.h"
#include "kernels/cpu/random.h"
#include "kernels/cpu/reduce.h"
#include "kernels/cpu/unary.h"
#include "kernels/cuda/adamw.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/fill.h"
#include "strata/half.h"

using namespace emu_test;
namespace cpu = strata::kernels::cpu;
namespace cu = strata::kernels::cuda;
using strata::bfloat16;
using strata::float16;
using strata::kernels::BinaryOp;
using strata::kernels::UnaryOp;
using strata::kernels::UnaryParams;

static const Covers covers{"fill.cu", "binary.cu", "unary.cu", "copy.cu", "random.cu", "reduce.cu", "adamw.cu"};

// Sizes around the 256-thread blocks of the grid-stride kernels: one partial block, exactly
// one, one plus one element, several with a partial last one.
static const std::vector<std::int64_t> kSizes = {1, 31, 255, 256, 257, 1000, 2049};

TEST_CASE("fill: every element and nothing past the end, each storage type", "[fill]") {
  for (std::int64_t n : kSizes) {
    INFO("n = " << n);
    Buffer<float> f(sz(n));
    REQUIRE(cu::fill_cuda(f.data(), n, 2.5f, 0) == "");
    EMU_CHECK_EQUAL(f, std::vector<float>(sz(n), 2.5f));
    Buffer<double> d(sz(n));
    REQUIRE(cu::fill_cuda(d.data(), n, -1e300, 0) == "");
    EMU_CHECK_EQUAL(d, std::vector<double>(sz(n), -1e300));
    Buffer<std::int64_t> i(sz(n));
    REQUIRE(cu::fill_cuda(i.data(), n, std::int64_t(-7), 0) == "");
    EMU_CHECK_EQUAL(i, std::vector<std::int64_t>(sz(n), -7));
    // the 16-bit types: the bits as the caller converted them, as fill_cpu<bfloat16>
    Buffer<std::uint16_t> h(sz(n));
    const bfloat16 value(0.3f);
    REQUIRE(cu::fill_cuda(h.data(), n, value.bits, 0) == "");
    std::vector<bfloat16> want(sz(n));
    cpu::fill_cpu(want.data(), n, value);
    std::vector<std::uint16_t> want_bits;
    for (const bfloat16& b : want) want_bits.push_back(b.bits);
    EMU_CHECK_EQUAL(h, want_bits);
  }
  // a small grid: each thread fills several elements (the grid-stride loop)
  emu::ScopedGridLimit limit(2);
  Buffer<double> d(3001);
  REQUIRE(cu::fill_cuda(d.data(), 3001, 4.0, 0) == "");
  EMU_CHECK_EQUAL(d, std::vector<double>(3001, 4.0));
}

TEST_CASE("fill: nothing to do for n = 0, and the device must exist", "[fill]") {
  const auto launches = emu::stats().launches;
  Buffer<float> f(0);
  CHECK(cu::fill_cuda(f.data(), 0, 1.0f, 0) == "");
  CHECK(emu::stats().launches == launches);
  CHECK(f.guards_intact());
  Buffer<float> g(4);
  const std::string error = cu::fill_cuda(g.data(), 4, 1.0f, 1);
  CHECK(error.find("invalid device") != std::string::npos);
  // The failed cudaSetDevice is also the runtime's last error (as on a GPU): launch_status()
  // of the next call would report it, since use_device does not clear it. Cleared here.
  emu::take_error_code();
}

// ---- binary.cu ------------------------------------------------------------------------

namespace {

struct Layout {
  const char* name;
  std::vector<std::int64_t> sizes, a_strides, b_strides;  // a, b read at these strides
  std::int64_t a_elements, b_elements;                    // extent of a and b
};

std::vector<Layout> binary_layouts() {
  return {
      {"dense [1000]", {1000}, {1}, {1}, 1000, 1000},
      {"dense [3, 5, 7]", {3, 5, 7}, {35, 7, 1}, {35, 7, 1}, 105, 105},
      {"row broadcast [4, 33, 70] + [70]", {4, 33, 70}, {2310, 70, 1}, {0, 0, 1}, 9240, 70},
      {"outer x inner [6, 1, 300] * [1, 50, 1]", {6, 50, 300}, {300, 0, 1}, {0, 1, 0}, 1800, 50},
      {"scalar b [517] / []", {517}, {1}, {0}, 517, 1},
      {"transposed a [40, 31]", {40, 31}, {1, 40}, {31, 1}, 1240, 1240},
      {"rank 5 with size-1 dims [2, 1, 3, 1, 129]", {2, 1, 3, 1, 129}, {387, 387, 129, 129, 1}, {0, 0, 1, 0, 3}, 774, 387},
      {"single element", {1, 1}, {1, 1}, {1, 1}, 1, 1},
  };
}

template <class T>
void check_binary(BinaryOp op, const Layout& l, bool out_is_a) {
  INFO(type_name(T()) << " op " << int(op) << " " << l.name << (out_is_a ? " out = a" : ""));
  Random rng(7);
  std::vector<T> a = cast<T>(rng.normal(sz(l.a_elements)));
  std::vector<T> b = cast<T>(rng.uniform(sz(l.b_elements), 0.5, 2.0));  // no division by ~0
  std::int64_t n = 1;
  for (std::int64_t s : l.sizes) n *= s;
  cpu::BinaryArgs<T> c;
  cu::BinaryArgs<T> g;
  c.rank = g.rank = int(l.sizes.size());
  for (std::size_t d = 0; d < l.sizes.size(); ++d) {
    c.sizes[d] = g.sizes[d] = l.sizes[d];
    c.a_strides[d] = g.a_strides[d] = l.a_strides[d];
    c.b_strides[d] = g.b_strides[d] = l.b_strides[d];
  }
  std::vector<T> want(sz(n));
  c.a = a.data(), c.b = b.data(), c.out = want.data();
  cpu::binary_cpu(op, c);
  Buffer<T> a_dev(a), b_dev(b), out(sz(n));
  g.a = a_dev.data(), g.b = b_dev.data(), g.out = out_is_a ? a_dev.data() : out.data();
  REQUIRE(cu::binary_cuda(op, g, 0) == "");
  // one IEEE operation per element: the same bits as the CPU
  if (out_is_a)
    EMU_CHECK_CLOSE(a_dev, want, 0);
  else
    EMU_CHECK_CLOSE(out, want, 0);
}

}  // namespace

TEST_CASE("binary: add, sub, mul, div over dense, broadcast, strided and rank-5 layouts", "[binary]") {
  for (const Layout& l : binary_layouts())
    for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div}) {
      check_binary<float>(op, l, false);
      check_binary<double>(op, l, false);
    }
  // out may be a when a has out's layout
  check_binary<float>(BinaryOp::mul, binary_layouts()[0], true);
  check_binary<double>(BinaryOp::sub, binary_layouts()[2], true);
  // several elements per thread
  emu::ScopedGridLimit limit(3);
  check_binary<double>(BinaryOp::add, binary_layouts()[2], false);
  check_binary<float>(BinaryOp::div, binary_layouts()[3], false);
}

TEST_CASE("binary: an empty shape launches nothing", "[binary]") {
  cu::BinaryArgs<float> g;
  g.rank = 2;
  g.sizes[0] = 3, g.sizes[1] = 0;
  const auto launches = emu::stats().launches;
  CHECK(cu::binary_cuda(BinaryOp::add, g, 0) == "");
  CHECK(emu::stats().launches == launches);
}

template <class T>
static void check_affine_axpy(std::int64_t n) {
  INFO(type_name(T()) << " n = " << n);
  Random rng(11);
  const std::vector<T> x = cast<T>(rng.normal(sz(n))), y = cast<T>(rng.normal(sz(n)));
  const T alpha = T(-1.75), beta = T(0.3125);
  std::vector<T> want(sz(n));
  cpu::affine_cpu(x.data(), want.data(), n, alpha, beta);
  Buffer<T> xd(x), out(sz(n));
  REQUIRE(cu::affine_cuda(xd.data(), out.data(), n, alpha, beta, 0) == "");
  EMU_CHECK_CLOSE(out, want, kTol<T>);  // the CPU may fuse alpha x + beta
  REQUIRE(cu::affine_cuda(xd.data(), xd.data(), n, alpha, beta, 0) == "");  // in place
  EMU_CHECK_CLOSE(xd, want, kTol<T>);
  std::vector<T> want_y = y;
  cpu::axpy_cpu(x.data(), want_y.data(), n, alpha);
  Buffer<T> x2(x), yd(y);
  REQUIRE(cu::axpy_cuda(x2.data(), yd.data(), n, alpha, 0) == "");
  EMU_CHECK_CLOSE(yd, want_y, kTol<T>);
}

TEST_CASE("binary: affine and axpy", "[binary]") {
  for (std::int64_t n : kSizes) {
    check_affine_axpy<float>(n);
    check_affine_axpy<double>(n);
  }
  emu::ScopedGridLimit limit(1);
  check_affine_axpy<double>(2049);
}

// ---- unary.cu -------------------------------------------------------------------------

namespace {

const std::vector<UnaryOp> kUnaryOps = {UnaryOp::exp,  UnaryOp::log,     UnaryOp::sqrt,     UnaryOp::square,
                                        UnaryOp::tanh, UnaryOp::sigmoid, UnaryOp::relu,     UnaryOp::silu,
                                        UnaryOp::gelu_erf, UnaryOp::gelu_tanh, UnaryOp::softplus};

template <class T>
void check_unary(UnaryOp op, std::int64_t n, const UnaryParams& params, bool in_place) {
  INFO(type_name(T()) << " op " << int(op) << " n = " << n << (in_place ? " in place" : ""));
  Random rng(std::uint64_t(op) + 3);
  const bool positive = op == UnaryOp::log || op == UnaryOp::sqrt;
  std::vector<T> x = cast<T>(positive ? rng.uniform(sz(n), 0.05, 8.0) : rng.normal(sz(n), 4.0));
  if (!positive && n > 8) {  // the branches of the stable formulas and relu's NaN
    x[0] = T(0), x[1] = T(-30), x[2] = T(30), x[3] = T(-0.0);
    if (op == UnaryOp::relu) x[4] = std::numeric_limits<T>::quiet_NaN();
  }
  const std::vector<T> g = cast<T>(rng.normal(sz(n)));
  std::vector<T> y(sz(n)), dx(sz(n));
  cpu::unary_fwd_cpu(op, x.data(), y.data(), n, params);
  cpu::unary_bwd_cpu(op, x.data(), y.data(), g.data(), dx.data(), n, params);
  // the CPU's f32 path runs its own vector math: f32 within tolerance, f64 the same formulas
  Buffer<T> xd(x), yd(sz(n));
  REQUIRE(cu::unary_fwd_cuda(op, xd.data(), in_place ? xd.data() : yd.data(), n, params, 0) == "");
  EMU_CHECK_CLOSE(in_place ? xd : yd, y, kTol<T>);
  const std::vector<T>& saved = strata::kernels::unary_bwd_uses_output(op) ? y : x;
  Buffer<T> sd(saved), gd(g), dxd(sz(n));
  REQUIRE(cu::unary_bwd_cuda(op, sd.data(), gd.data(), in_place ? gd.data() : dxd.data(), n, params, 0) == "");
  EMU_CHECK_CLOSE(in_place ? gd : dxd, dx, kTol<T>);
}

}  // namespace

TEST_CASE("unary: every op forward and backward against the CPU", "[unary]") {
  for (UnaryOp op : kUnaryOps)
    for (std::int64_t n : {std::int64_t(1), std::int64_t(257), std::int64_t(1000)}) {
      check_unary<float>(op, n, {}, false);
      check_unary<double>(op, n, {}, false);
    }
  // y may be x, dx may be g; softplus with other beta and threshold
  check_unary<double>(UnaryOp::silu, 300, {}, true);
  check_unary<float>(UnaryOp::tanh, 300, {}, true);
  UnaryParams p;
  p.beta = 2.0, p.threshold = 5.0;
  check_unary<double>(UnaryOp::softplus, 513, p, false);
  check_unary<float>(UnaryOp::softplus, 513, p, false);
  emu::ScopedGridLimit limit(2);
  check_unary<double>(UnaryOp::gelu_tanh, 2049, {}, false);
}

// ---- copy.cu --------------------------------------------------------------------------

namespace {

template <class T>
struct StorageOf;
template <>
struct StorageOf<float> {
  static constexpr cu::Storage value = cu::Storage::f32;
};
template <>
struct StorageOf<double> {
  static constexpr cu::Storage value = cu::Storage::f64;
};
template <>
struct StorageOf<std::int64_t> {
  static constexpr cu::Storage value = cu::Storage::i64;
};
template <>
struct StorageOf<bfloat16> {
  static constexpr cu::Storage value = cu::Storage::bf16;
};
template <>
struct StorageOf<float16> {
  static constexpr cu::Storage value = cu::Storage::f16;
};

const char* storage_name(cu::Storage s) {
  switch (s) {
    case cu::Storage::f32: return "f32";
    case cu::Storage::f64: return "f64";
    case cu::Storage::i64: return "i64";
    case cu::Storage::bf16: return "bf16";
    case cu::Storage::f16: return "f16";
  }
  return "?";
}

// Source values that exercise the conversions: ties and subnormals of the 16-bit types,
// their overflow, signed zeros, infinities, integers beyond f32's 2^24 (exactly
// representable in every type they meet: no NaN, and finite and in range for i64).
template <class Src>
std::vector<Src> copy_values(std::size_t n) {
  Random rng(5);
  std::vector<double> v = rng.normal(n, 100.0);
  const double special[] = {0.0, -0.0, 1.0, -2.5, 1.00390625 /* bf16 tie */, 1.0009765625 /* f16 tie */,
                            3.0e-5 /* f16 subnormal */, 6.0e-8, 65519.0, 65520.0 /* f16 overflow */, 70000.0,
                            16777217.0, -16777219.0, 1e30, 3.4e38, 123456789.0};
  for (std::size_t i = 0; i < n && i < std::size(special); ++i) v[i] = special[i];
  std::vector<Src> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<Src, std::int64_t>)
      out[i] = std::int64_t(std::fmax(-9e15, std::fmin(9e15, v[i] * 1e5)));
    else if constexpr (std::is_arithmetic_v<Src>)
      out[i] = Src(v[i]);
    else
      out[i] = Src(float(v[i]));
  }
  if constexpr (std::is_floating_point_v<Src> || !std::is_arithmetic_v<Src>)
    if (n > 20) out[20] = Src(INFINITY), out[21] = Src(-INFINITY);
  return out;
}

// dst (i64 for an integer destination) is compared bit for bit; a floating source bound
// for i64 is kept finite and in range (C casts of others are undefined behaviour on the
// CPU and saturate on the GPU).
template <class Src, class Dst>
void check_copy(const char* layout, int rank, const std::int64_t* sizes, const std::int64_t* src_strides,
                const std::int64_t* dst_strides, std::int64_t src_extent, std::int64_t dst_extent) {
  INFO(storage_name(StorageOf<Src>::value) << " -> " << storage_name(StorageOf<Dst>::value) << " " << layout);
  std::vector<Src> src = copy_values<Src>(sz(src_extent));
  if constexpr (std::is_same_v<Dst, std::int64_t> && !std::is_same_v<Src, std::int64_t>)
    for (Src& s : src)
      if (!(std::fabs(float(s)) < 1e15f)) s = Src(7.0f);
  cpu::CopyArgs<Src, Dst> c;
  cu::CopyArgs g;
  c.rank = g.rank = rank;
  for (int d = 0; d < rank; ++d) {
    c.sizes[d] = g.sizes[d] = sizes[d];
    c.src_strides[d] = g.src_strides[d] = src_strides[d];
    c.dst_strides[d] = g.dst_strides[d] = dst_strides[d];
  }
  // the destination's gaps (strided dst) keep what they had: zeros in both
  std::vector<Dst> want(sz(dst_extent), Dst(0));
  c.src = src.data(), c.dst = want.data();
  cpu::copy_cpu(c);
  Buffer<Src> src_dev(src);
  Buffer<Dst> dst(sz(dst_extent));
  std::fill(dst.data(), dst.data() + dst_extent, Dst(0));
  g.src = src_dev.data(), g.dst = dst.data();
  g.src_type = StorageOf<Src>::value, g.dst_type = StorageOf<Dst>::value;
  REQUIRE(cu::copy_cuda(g, 0) == "");
  EMU_CHECK_EQUAL(dst, want);
}

template <class Src, class Dst>
void check_copy_layouts() {
  {  // dense [3, 400]
    const std::int64_t sizes[] = {3, 400}, strides[] = {400, 1};
    check_copy<Src, Dst>("dense", 2, sizes, strides, strides, 1200, 1200);
  }
  {  // transposed source [33, 65] <- [65, 33]^T
    const std::int64_t sizes[] = {33, 65}, src[] = {1, 33}, dst[] = {65, 1};
    check_copy<Src, Dst>("transposed", 2, sizes, src, dst, 2145, 2145);
  }
  {  // broadcast source [5, 7, 11] <- [1, 7, 1], strided destination (every other element)
    const std::int64_t sizes[] = {5, 7, 11}, src[] = {0, 1, 0}, dst[] = {154, 22, 2};
    check_copy<Src, Dst>("broadcast into strided", 3, sizes, src, dst, 7, 770);
  }
}

template <class Src>
void check_copy_from() {
  check_copy_layouts<Src, float>();
  check_copy_layouts<Src, double>();
  check_copy_layouts<Src, std::int64_t>();
  check_copy_layouts<Src, bfloat16>();
  check_copy_layouts<Src, float16>();
}

}  // namespace

TEST_CASE("copy: every pair of storage types, dense, transposed and broadcast, bit for bit", "[copy]") {
  check_copy_from<float>();
  check_copy_from<double>();
  check_copy_from<std::int64_t>();
  check_copy_from<bfloat16>();
  check_copy_from<float16>();
  emu::ScopedGridLimit limit(2);
  check_copy_layouts<double, bfloat16>();
}

TEST_CASE("copy: NaN converts to NaN in every floating type", "[copy]") {
  // The device's cvt gives the canonical NaN 0x7fff for any NaN converted to bf16 or f16;
  // the CPU keeps sign and payload (bfloat16) or gives 0x7e00 with the sign (float16): both
  // NaN, not the same bits. Within one type the bits are kept as they are (the CPU memcpys).
  const float nans[] = {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                        std::bit_cast<float>(0x7fa00001u)};
  Buffer<float> src(std::vector<float>(std::begin(nans), std::end(nans)));
  for (cu::Storage dst_type : {cu::Storage::bf16, cu::Storage::f16}) {
    Buffer<std::uint16_t> dst(3);
    cu::CopyArgs g;
    g.rank = 1, g.sizes[0] = 3, g.src_strides[0] = 1, g.dst_strides[0] = 1;
    g.src = src.data(), g.dst = dst.data(), g.src_type = cu::Storage::f32, g.dst_type = dst_type;
    REQUIRE(cu::copy_cuda(g, 0) == "");
    for (int i = 0; i < 3; ++i) {
      const float back = dst_type == cu::Storage::bf16 ? float(bfloat16::from_bits(dst[sz(i)]))
                                                       : float(float16::from_bits(dst[sz(i)]));
      CHECK(std::isnan(back));
    }
    CHECK(dst.guards_intact());
  }
  // f64 -> f32 and back keep NaN
  Buffer<double> d(std::vector<double>{std::numeric_limits<double>::quiet_NaN()});
  Buffer<float> f(1);
  cu::CopyArgs g;
  g.rank = 1, g.sizes[0] = 1, g.src_strides[0] = 1, g.dst_strides[0] = 1;
  g.src = d.data(), g.dst = f.data(), g.src_type = cu::Storage::f64, g.dst_type = cu::Storage::f32;
  REQUIRE(cu::copy_cuda(g, 0) == "");
  CHECK(std::isnan(f[0]));
}

// ---- random.cu ------------------------------------------------------------------------

TEST_CASE("random: uniform and integer fills are the CPU's Philox stream bit for bit", "[random]") {
  struct Fill {
    std::int64_t n;
    std::uint64_t key, first;
  };
  for (const Fill& f : {Fill{1, 1, 0}, Fill{3, 7, 5}, Fill{1001, 0x123456789abcdefull, 77}, Fill{4099, 42, 1ull << 40},
                        Fill{257, ~0ull, ~0ull - 100}}) {
    INFO("n = " << f.n << " key " << f.key << " first counter " << f.first);
    for (auto [low, high] : {std::pair{-2.0, 3.0}, std::pair{0.0, 1.0}, std::pair{1e-3, 1e-3 + 1e-9}}) {
      std::vector<float> wf(sz(f.n));
      cpu::uniform_fill_cpu(wf.data(), f.n, f.key, f.first, float(low), float(high));
      Buffer<float> gf(sz(f.n));
      REQUIRE(cu::uniform_fill_cuda(gf.data(), f.n, f.key, f.first, float(low), float(high), 0) == "");
      EMU_CHECK_EQUAL(gf, wf);
      std::vector<double> wd(sz(f.n));
      cpu::uniform_fill_cpu(wd.data(), f.n, f.key, f.first, low, high);
      Buffer<double> gd(sz(f.n));
      REQUIRE(cu::uniform_fill_cuda(gd.data(), f.n, f.key, f.first, low, high, 0) == "");
      EMU_CHECK_EQUAL(gd, wd);
    }
    for (auto [low, high] : {std::pair<std::int64_t, std::int64_t>{-5, 1000}, {0, 2},
                             {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()},
                             {1ll << 40, (1ll << 40) + 3}}) {
      std::vector<std::int64_t> w(sz(f.n));
      cpu::randint_fill_cpu(w.data(), f.n, f.key, f.first, low, high);
      Buffer<std::int64_t> g(sz(f.n));
      REQUIRE(cu::randint_fill_cuda(g.data(), f.n, f.key, f.first, low, high, 0) == "");
      EMU_CHECK_EQUAL(g, w);
    }
  }
  emu::ScopedGridLimit limit(1);  // one block: every thread draws several counters
  std::vector<double> w(5000);
  cpu::uniform_fill_cpu(w.data(), 5000, 3, 9, -1.0, 1.0);
  Buffer<double> g(5000);
  REQUIRE(cu::uniform_fill_cuda(g.data(), 5000, 3, 9, -1.0, 1.0, 0) == "");
  EMU_CHECK_EQUAL(g, w);
}

TEST_CASE("random: normal fills follow the CPU's stream", "[random]") {
  for (std::int64_t n : {std::int64_t(1), std::int64_t(3), std::int64_t(1003), std::int64_t(4097)}) {
    INFO("n = " << n);
    std::vector<float> wf(sz(n));
    cpu::normal_fill_cpu(wf.data(), n, 9, 13, 0.5f, 2.0f);
    Buffer<float> gf(sz(n));
    REQUIRE(cu::normal_fill_cuda(gf.data(), n, 9, 13, 0.5f, 2.0f, 0) == "");
    // on a GPU up to the last bits of the device's log / sin / cos; here glibc's on both sides
    EMU_CHECK_CLOSE(gf, wf, 1e-6);
    std::vector<double> wd(sz(n));
    cpu::normal_fill_cpu(wd.data(), n, 9, 13, -1.0, 0.25);
    Buffer<double> gd(sz(n));
    REQUIRE(cu::normal_fill_cuda(gd.data(), n, 9, 13, -1.0, 0.25, 0) == "");
    EMU_CHECK_CLOSE(gd, wd, 1e-13);
  }
}

// ---- reduce.cu ------------------------------------------------------------------------

template <class T>
static void check_sum(std::int64_t A, std::int64_t R, std::int64_t C) {
  INFO(type_name(T()) << " [A, R, C] = [" << A << ", " << R << ", " << C << "]");
  Random rng(std::uint64_t(A * 1000003 + R * 1009 + C));
  const std::vector<T> x = cast<T>(rng.normal(sz(A * R * C), 1.0, 0.25));
  std::vector<T> want(sz(A * C));
  cpu::SumArgs<T> c;
  c.x = x.data(), c.out = want.data(), c.outer = A, c.reduced = R, c.inner = C;
  cpu::sum_cpu(c);
  Buffer<T> xd(x), out(sz(A * C));
  Buffer<double> workspace(sz(cu::sum_workspace_cuda(A, R, C)));
  cu::SumArgs<T> g;
  g.x = xd.data(), g.out = out.data(), g.outer = A, g.reduced = R, g.inner = C;
  REQUIRE(cu::sum_cuda(g, workspace.size() ? workspace.data() : nullptr, 0) == "");
  // f32: the CPU sums blocks in f32 and joins them in f64, the GPU sums in f64
  EMU_CHECK_CLOSE(out, want, (std::is_same_v<T, float> ? 1e-6 : 1e-12));
  CHECK(workspace.guards_intact());
}

TEST_CASE("reduce: sums over rows and columns, split and joined, and R = 0", "[reduce]") {
  // rows_kernel (C = 1, R >= 256): one chunk, and several (R > 8192) joined by join_kernel;
  // columns_kernel: one thread per output, and R split in chunks of 64+ rows
  const std::int64_t shapes[][3] = {{1, 1, 1},   {3, 255, 1}, {2, 256, 1}, {5, 1000, 1}, {1, 20000, 1},
                                    {3, 9000, 1}, {4, 7, 33}, {1, 200, 3},  {2, 129, 70}, {1, 5000, 1},
                                    {300, 5, 1},  {2, 0, 5},  {0, 4, 4},   {1, 64, 1}};
  for (const auto& s : shapes) {
    check_sum<float>(s[0], s[1], s[2]);
    check_sum<double>(s[0], s[1], s[2]);
  }
  emu::ScopedGridLimit limit(2);
  check_sum<double>(3, 9000, 1);
  check_sum<float>(2, 129, 70);
}

TEST_CASE("reduce: a split reduction without its workspace is an error", "[reduce]") {
  REQUIRE(cu::sum_workspace_cuda(1, 20000, 1) > 0);
  std::vector<float> x(20000, 1.0f), out(1);
  cu::SumArgs<float> g;
  g.x = x.data(), g.out = out.data(), g.outer = 1, g.reduced = 20000, g.inner = 1;
  CHECK(cu::sum_cuda(g, nullptr, 0) != "");
}

// ---- adamw.cu -------------------------------------------------------------------------

template <class T>
static void check_adamw(std::int64_t n, std::int64_t step, double weight_decay) {
  INFO(type_name(T()) << " n = " << n << " step " << step << " weight decay " << weight_decay);
  Random rng(std::uint64_t(n + step));
  std::vector<T> p = cast<T>(rng.normal(sz(n))), g = cast<T>(rng.normal(sz(n), 0.1));
  std::vector<T> m = cast<T>(rng.normal(sz(n), 0.01));
  std::vector<T> v = cast<T>(rng.uniform(sz(n), 0.0, 1e-3));
  cpu::AdamWArgs ca;
  ca.n = n, ca.lr = 1e-2, ca.weight_decay = weight_decay, ca.step = step;
  cu::AdamWArgs ga;
  ga.n = n, ga.lr = 1e-2, ga.weight_decay = weight_decay, ga.step = step;
  Buffer<T> pd(p), gd(g), md(m), vd(v);
  cpu::adamw_step(ca, p.data(), g.data(), m.data(), v.data());
  REQUIRE(cu::adamw_cuda(ga, pd.data(), gd.data(), md.data(), vd.data(), 0) == "");
  EMU_CHECK_CLOSE(pd, p, kTol<T>);
  EMU_CHECK_CLOSE(md, m, kTol<T>);
  EMU_CHECK_CLOSE(vd, v, kTol<T>);
}

TEST_CASE("adamw: one step updates param, m and v as the CPU", "[adamw]") {
  for (std::int64_t n : {std::int64_t(1), std::int64_t(257), std::int64_t(1000)}) {
    check_adamw<float>(n, 1, 0.0);
    check_adamw<double>(n, 1, 0.1);
    check_adamw<float>(n, 10, 0.01);
    check_adamw<double>(n, 1000, 0.0);
  }
  emu::ScopedGridLimit limit(1);
  check_adamw<double>(2049, 3, 0.1);
}
