// The indexing kernels under the CUDA emulator against their CPU twins: index_rows.cu
// (index_select, index_add), gather.cu (gather, scatter_add), topk.cu, expert_slots.cu (MoE's
// permutation of token slots by expert).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "emu_test.h"
#include "kernels/cpu/expert_slots.h"
#include "kernels/cpu/gather.h"
#include "kernels/cpu/index_select.h"
#include "kernels/cpu/topk.h"
#include "kernels/cuda/expert_slots.h"
#include "kernels/cuda/indexing.h"
#include "strata/half.h"

using namespace emu_test;
namespace cpu = strata::kernels::cpu;
namespace cu = strata::kernels::cuda;

static const Covers covers{"index_rows.cu", "gather.cu", "topk.cu", "expert_slots.cu"};

// ---- index_select: rows copied in the widest unit the row size and alignment allow ----

namespace {

// Bytes at a chosen offset from a 64-byte boundary, between poisoned guards.
class Bytes {
 public:
  Bytes(std::size_t n, std::size_t shift) : raw_(n + 256, 0xa5), n_(n) {
    const auto base = reinterpret_cast<std::uintptr_t>(raw_.data());
    offset_ = (64 - base % 64) % 64 + 64 + shift;
  }
  unsigned char* data() { return raw_.data() + offset_; }
  std::vector<unsigned char> values() const {
    return std::vector<unsigned char>(raw_.begin() + std::ptrdiff_t(offset_), raw_.begin() + std::ptrdiff_t(offset_ + n_));
  }
  bool guards_intact() const {
    for (std::size_t i = 0; i < raw_.size(); ++i)
      if ((i < offset_ || i >= offset_ + n_) && raw_[i] != 0xa5) return false;
    return true;
  }

 private:
  std::vector<unsigned char> raw_;
  std::size_t n_, offset_ = 0;
};

// dst[o, j, :] = src[o, index[j], :] with rows of `inner` elements of `size` bytes, the
// tensors `shift` bytes past a 64-byte boundary (which picks the copy unit: 16 bytes for
// aligned rows of 16k bytes, down to single bytes). The CPU twin where it has the type.
void check_select(std::size_t size, std::int64_t outer, std::int64_t n, std::int64_t inner, std::int64_t m,
                  std::size_t src_shift, std::size_t dst_shift) {
  INFO("element " << size << " bytes, [" << outer << ", " << n << ", " << inner << "] -> m = " << m << ", shifts "
                  << src_shift << ", " << dst_shift);
  Random rng(std::uint64_t(outer * 100 + n * 10 + inner + m));
  const std::size_t row = sz(inner) * size;
  Bytes src(sz(outer * n) * row, src_shift), dst(sz(outer * m) * row, dst_shift);
  for (std::size_t i = 0; i < sz(outer * n) * row; ++i) src.data()[i] = static_cast<unsigned char>(rng.integer(0, 255));
  std::memset(dst.data(), 0, sz(outer * m) * row);
  Buffer<std::int64_t> index(rng.integers(sz(m), 0, n - 1));
  std::vector<unsigned char> want(sz(outer * m) * row);
  for (std::int64_t o = 0; o < outer; ++o)
    for (std::int64_t j = 0; j < m; ++j)
      std::memcpy(want.data() + sz(o * m + j) * row, src.data() + sz(o * n + index[sz(j)]) * row, row);
  cu::IndexRowsArgs<void> a;
  a.outer = outer, a.n = n, a.inner = inner, a.index = index.data(), a.m = m, a.src = src.data(), a.dst = dst.data();
  REQUIRE(cu::index_select_cuda(a, size, 0) == "");
  CHECK(differ(dst.values(), want) == "");
  CHECK(dst.guards_intact());
  if (size == 4 && src_shift % 4 == 0 && dst_shift % 4 == 0) {  // the CPU kernel on the same floats
    cpu::IndexSelectArgs<float> c;
    std::vector<float> cpu_dst(sz(outer * m * inner));
    c.outer = outer, c.n = n, c.inner = inner, c.index = index.data(), c.m = m;
    c.src = reinterpret_cast<const float*>(src.data()), c.dst = cpu_dst.data();
    cpu::index_select_cpu(c);
    CHECK(std::memcmp(cpu_dst.data(), dst.data(), cpu_dst.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("index_select: every copy unit, alignment and row size against the CPU", "[index_rows]") {
  check_select(4, 1, 10, 4, 7, 0, 0);     // 16-byte rows, aligned: uint4
  check_select(4, 3, 9, 12, 20, 0, 16);   // 48-byte rows
  check_select(4, 2, 5, 3, 300, 0, 0);    // 12-byte rows: 4-byte units
  check_select(8, 2, 6, 1, 9, 8, 0);      // 8 bytes, src 8-aligned only
  check_select(2, 1, 40, 8, 33, 0, 0);    // bf16 rows of 16 bytes
  check_select(2, 4, 7, 5, 11, 2, 6);     // 10-byte rows: 2-byte units
  check_select(4, 1, 8, 4, 5, 1, 0);      // a misaligned source: bytes
  check_select(1, 2, 17, 13, 40, 0, 3);   // plain bytes
  check_select(8, 1, 1000, 70, 3, 0, 0);  // long rows
  emu::ScopedGridLimit limit(1);
  check_select(4, 3, 9, 12, 200, 0, 0);
}

TEST_CASE("index_select: nothing to copy launches nothing", "[index_rows]") {
  const auto launches = emu::stats().launches;
  cu::IndexRowsArgs<void> a;
  a.outer = 3, a.n = 4, a.inner = 5, a.m = 0;
  CHECK(cu::index_select_cuda(a, 4, 0) == "");
  CHECK(emu::stats().launches == launches);
}

// ---- index_add: atomicAdd, repeated indices in any order --------------------------------

template <class T>
static void check_index_add(std::int64_t outer, std::int64_t n, std::int64_t inner, std::int64_t m, bool integers) {
  INFO(type_name(T()) << " [" << outer << ", " << n << ", " << inner << "] m = " << m
                      << (integers ? " integer values" : ""));
  Random rng(std::uint64_t(outer + n + inner + m));
  // index values repeat (m > n): the atomics add them in an unspecified order; with
  // integer values every order gives the same bits
  Buffer<std::int64_t> index(rng.integers(sz(m), 0, n - 1));
  std::vector<T> values = cast<T>(rng.normal(sz(outer * m * inner)));
  std::vector<T> want = cast<T>(rng.normal(sz(outer * n * inner)));  // the destination's values before
  if (integers) {
    for (auto& v : values) v = T(rng.integer(-50, 50));
    for (auto& v : want) v = T(rng.integer(-50, 50));
  }
  Buffer<T> dst(want), sd(values);
  cpu::IndexSelectArgs<T> c;
  c.outer = outer, c.n = n, c.inner = inner, c.index = index.data(), c.m = m, c.src = values.data(), c.dst = want.data();
  cpu::index_add_cpu(c);
  cu::IndexRowsArgs<T> a;
  a.outer = outer, a.n = n, a.inner = inner, a.index = index.data(), a.m = m, a.src = sd.data(), a.dst = dst.data();
  REQUIRE(cu::index_add_cuda(a, 0) == "");
  if (integers)
    EMU_CHECK_EQUAL(dst, want);
  else
    EMU_CHECK_CLOSE(dst, want, kTol<T>);
}

TEST_CASE("index_add: rows accumulated with repeated indices", "[index_rows]") {
  for (bool integers : {true, false}) {
    check_index_add<float>(1, 5, 3, 40, integers);
    check_index_add<double>(3, 7, 33, 20, integers);
    check_index_add<float>(2, 100, 1, 300, integers);
    check_index_add<double>(1, 1, 257, 3, integers);
  }
  emu::ScopedGridLimit limit(2);
  check_index_add<double>(3, 7, 33, 20, true);
}

// ---- gather / scatter_add -------------------------------------------------------------

namespace {

struct GatherCase {
  const char* name;
  int dim;
  std::vector<std::int64_t> index_sizes;  // the iteration space
  std::vector<std::int64_t> x_sizes;      // the gathered tensor (>= index_sizes off dim)
  bool transposed;                        // x (and dst) stored with reversed strides
};

std::vector<std::int64_t> strides_of(const std::vector<std::int64_t>& sizes, bool reversed) {
  std::vector<std::int64_t> s(sizes.size());
  std::int64_t step = 1;
  if (reversed) {
    for (std::size_t d = 0; d < sizes.size(); ++d) s[d] = step, step *= sizes[d];
  } else {
    for (std::size_t d = sizes.size(); d-- > 0;) s[d] = step, step *= sizes[d];
  }
  return s;
}

std::int64_t product(const std::vector<std::int64_t>& v) {
  std::int64_t p = 1;
  for (std::int64_t x : v) p *= x;
  return p;
}

const std::vector<GatherCase> kGatherCases = {
    {"rank 1", 0, {7}, {10}, false},
    {"rank 2 along dim 1, transposed x", 1, {4, 5}, {4, 9}, true},
    {"rank 3 along dim 0, index smaller than x", 0, {6, 2, 3}, {4, 5, 7}, false},
    {"rank 3 along dim 2", 2, {3, 4, 40}, {3, 4, 11}, false},
    {"rank 5 along dim 3, transposed x", 3, {2, 3, 1, 4, 5}, {2, 3, 2, 6, 5}, true},
    {"many rows of one", 1, {300, 1}, {300, 2}, false},
};

template <class T>
void check_gather(const GatherCase& g, bool integers) {
  INFO(type_name(T()) << " " << g.name);
  Random rng(std::uint64_t(g.dim * 31 + product(g.index_sizes)));
  const int rank = int(g.index_sizes.size());
  const std::int64_t total = product(g.index_sizes);
  Buffer<std::int64_t> index(rng.integers(sz(total), 0, g.x_sizes[sz(g.dim)] - 1));
  const std::vector<std::int64_t> x_strides = strides_of(g.x_sizes, g.transposed);
  std::vector<T> x = cast<T>(rng.normal(sz(product(g.x_sizes))));
  if (integers)
    for (auto& v : x) v = T(rng.integer(-9, 9));
  // gather: out[i] = x[i with coordinate dim replaced by index[i]]
  cpu::GatherArgs<T> c;
  cu::GatherArgs<T> a;
  c.rank = a.rank = rank, c.dim = a.dim = g.dim;
  for (int d = 0; d < rank; ++d) {
    c.sizes[d] = a.sizes[d] = g.index_sizes[sz(d)];
    c.x_strides[d] = a.x_strides[d] = x_strides[sz(d)];
    c.dst_strides[d] = a.dst_strides[d] = x_strides[sz(d)];
  }
  const std::vector<std::int64_t> src_strides = strides_of(g.index_sizes, !g.transposed);
  for (int d = 0; d < rank; ++d) c.src_strides[d] = a.src_strides[d] = src_strides[sz(d)];
  std::vector<T> want(sz(total));
  c.index = index.data(), c.x = x.data(), c.out = want.data();
  cpu::gather_cpu(c);
  Buffer<T> xd(x), out(sz(total));
  a.index = index.data(), a.x = xd.data(), a.out = out.data();
  REQUIRE(cu::gather_cuda(a, 0) == "");
  EMU_CHECK_EQUAL(out, want);
  // scatter_add: dst (x's layout) += src (the index's shape, other strides) at the same
  // places; index entries that differ only along dim may hit one destination
  std::vector<T> src = cast<T>(rng.normal(sz(total)));
  if (integers)
    for (auto& v : src) v = T(rng.integer(-9, 9));
  std::vector<T> dst_want = x;
  c.src = src.data(), c.dst = dst_want.data();
  cpu::scatter_add_cpu(c);
  Buffer<T> sd(src), dd(x);
  a.src = sd.data(), a.dst = dd.data();
  REQUIRE(cu::scatter_add_cuda(a, 0) == "");
  if (integers)
    EMU_CHECK_EQUAL(dd, dst_want);
  else
    EMU_CHECK_CLOSE(dd, dst_want, kTol<T>);
}

}  // namespace

TEST_CASE("gather and scatter_add: ranks 1 to 5, any dim, strided tensors", "[gather]") {
  for (const GatherCase& g : kGatherCases)
    for (bool integers : {true, false}) {
      check_gather<float>(g, integers);
      check_gather<double>(g, integers);
    }
  emu::ScopedGridLimit limit(1);
  check_gather<double>(kGatherCases[3], true);
}

TEST_CASE("gather: a rank or dim outside the supported range is an error", "[gather]") {
  cu::GatherArgs<float> a;
  a.rank = 6;
  CHECK(cu::gather_cuda(a, 0) != "");
  a.rank = 2, a.dim = 2;
  CHECK(cu::scatter_add_cuda(a, 0) != "");
}

// ---- topk: one warp per row, k rounds of a warp-wide argmax ---------------------------

template <class T>
static void check_topk(std::int64_t rows, std::int64_t cols, std::int64_t k, bool ties) {
  INFO(type_name(T()) << " [" << rows << ", " << cols << "] k = " << k << (ties ? " with ties, NaN and inf" : ""));
  Random rng(std::uint64_t(rows * 1000 + cols * 10 + k));
  std::vector<T> x = cast<T>(rng.normal(sz(rows * cols)));
  if (ties) {
    for (auto& v : x) v = T(rng.integer(-3, 3));
    for (std::int64_t r = 0; r < rows; ++r) {
      T* row = x.data() + r * cols;
      if (cols > 5) row[5] = std::numeric_limits<T>::quiet_NaN();
      if (cols > 9) row[9] = std::numeric_limits<T>::quiet_NaN();
      if (cols > 2) row[2] = std::numeric_limits<T>::infinity();
      if (cols > 3) row[cols - 1] = -std::numeric_limits<T>::infinity();
    }
  }
  std::vector<T> want_values(sz(rows * k));
  std::vector<std::int64_t> want_indices(sz(rows * k));
  cpu::TopKArgs<T> c;
  c.rows = rows, c.cols = cols, c.k = k, c.x = x.data(), c.values = want_values.data(), c.indices = want_indices.data();
  cpu::topk_cpu(c);
  Buffer<T> xd(x), values(sz(rows * k));
  Buffer<std::int64_t> indices(sz(rows * k));
  cu::TopKArgs<T> a;
  a.rows = rows, a.cols = cols, a.k = k, a.x = xd.data(), a.values = values.data(), a.indices = indices.data();
  REQUIRE(cu::topk_cuda(a, 0) == "");
  EMU_CHECK_EQUAL(indices, want_indices);
  EMU_CHECK_CLOSE(values, want_values, 0);  // NaN where the CPU has NaN, else the same bits
}

TEST_CASE("topk: sorted values and indices, ties to the lower index, NaN first", "[topk]") {
  struct Shape {
    std::int64_t rows, cols, k;
  };
  // cols under a warp (lanes without a candidate), k = 1 and k = cols, rows not a multiple
  // of the 8 rows (warps) of a block
  for (const Shape& s : {Shape{1, 1, 1}, Shape{3, 5, 5}, Shape{9, 31, 4}, Shape{8, 32, 32}, Shape{17, 33, 1},
                         Shape{5, 100, 7}, Shape{2, 1000, 20}}) {
    for (bool ties : {false, true}) {
      check_topk<float>(s.rows, s.cols, s.k, ties);
      check_topk<double>(s.rows, s.cols, s.k, ties);
    }
  }
  emu::ScopedGridLimit limit(1);  // one block of 8 warps over 30 rows
  check_topk<float>(30, 70, 6, true);
}

TEST_CASE("topk: k larger than the row is an error, k = 0 or no rows a no-op", "[topk]") {
  std::vector<float> x(6);
  cu::TopKArgs<float> a;
  a.rows = 2, a.cols = 3, a.k = 4, a.x = x.data();
  CHECK(cu::topk_cuda(a, 0) != "");
  const auto launches = emu::stats().launches;
  a.k = 0;
  CHECK(cu::topk_cuda(a, 0) == "");
  a.k = 1, a.rows = 0;
  CHECK(cu::topk_cuda(a, 0) == "");
  CHECK(emu::stats().launches == launches);
}

// ---- expert slots (MoE's permutation) -------------------------------------------------

namespace {

// ids: `slots` choices of `experts` experts (k per token), a share dropped (-1), and
// optionally one invalid id at `invalid_at`.
void check_expert_slots(std::int64_t slots, std::int64_t k, std::int64_t experts, double dropped,
                        std::int64_t invalid_at = -1) {
  INFO("expert slots: " << slots << " slots, k " << k << ", " << experts << " experts, dropped " << dropped
                        << ", invalid at " << invalid_at);
  Random rng(std::uint64_t(slots * 31 + experts));
  std::vector<std::int64_t> ids = rng.integers(sz(slots), 0, experts - 1);
  const std::vector<double> u = rng.uniform(sz(slots), 0.0, 1.0);
  for (std::size_t i = 0; i < ids.size(); ++i)
    if (u[i] < dropped) ids[i] = -1;
  if (invalid_at >= 0) ids[sz(invalid_at)] = experts + 3;
  if (invalid_at >= 0 && invalid_at + 7 < slots) ids[sz(invalid_at + 7)] = -5;  // a later one: not reported

  std::vector<std::int64_t> summary(sz(experts + 2));
  cpu::ExpertSlotsArgs c{.slots = slots, .k = k, .experts = experts, .ids = ids.data(), .summary = summary.data()};
  cpu::expert_slots_count_cpu(c);
  Buffer<std::int64_t> idd(ids), sd(sz(experts + 2));
  cu::ExpertSlotsArgs a = c;
  a.ids = idd.data(), a.summary = sd.data();
  REQUIRE(cu::expert_slots_count_cuda(a, 0) == "");
  EMU_CHECK_EQUAL(sd, summary);
  if (invalid_at >= 0) {
    CHECK(summary[sz(experts + 1)] == invalid_at);
    return;
  }
  CHECK(summary[sz(experts + 1)] == -1);
  const std::int64_t S = slots - summary[sz(experts)];
  std::vector<std::int64_t> slot(sz(S)), token(sz(S));
  c.slot = slot.data(), c.token = token.data();
  cpu::expert_slots_permute_cpu(c);
  Buffer<std::int64_t> slotd(sz(S)), tokend(sz(S));
  a.slot = slotd.data(), a.token = tokend.data();
  REQUIRE(cu::expert_slots_permute_cuda(a, 0) == "");
  EMU_CHECK_EQUAL(slotd, slot);
  EMU_CHECK_EQUAL(tokend, token);
}

}  // namespace

TEST_CASE("expert slots: counts and the stable permutation against the CPU", "[expert_slots]") {
  check_expert_slots(1, 1, 1, 0.0);
  check_expert_slots(600, 2, 8, 0.1);    // several chunks of 256 slots, partial last chunk
  check_expert_slots(513, 1, 64, 0.0);  // many experts, some empty
  check_expert_slots(777, 3, 5, 0.5);   // half dropped
  check_expert_slots(256, 8, 3, 1.0);   // all dropped: nothing to place
  {
    emu::ScopedGridLimit limit(2);  // blocks loop over the experts
    check_expert_slots(900, 2, 9, 0.2);
  }
}

TEST_CASE("expert slots: the first invalid id is reported", "[expert_slots]") {
  check_expert_slots(300, 2, 6, 0.1, 123);
  check_expert_slots(40, 1, 3, 0.0, 0);
}
