// The row kernels under the CUDA emulator against their CPU twins: softmax.cu,
// cross_entropy.cu, norms.cu (RMSNorm, LayerNorm and their column sums), swiglu.cu.
//
// Row kernels run one block per row with row_threads(cols) threads: a warp for short rows,
// doubling up to 1024 while each thread keeps 4+ columns. The shapes below pick cols on
// both sides of each step (and of a warp), a single column, and more rows than blocks
// when the grid is clamped (each block then loops over rows, reusing its shared scratch).
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "emu_test.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cpu/swiglu.h"
#include "kernels/cuda/cross_entropy.h"
#include "kernels/cuda/norms.h"
#include "kernels/cuda/softmax.h"
#include "kernels/cuda/swiglu.h"

using namespace emu_test;
namespace cpu = strata::kernels::cpu;
namespace cu = strata::kernels::cuda;

static const Covers covers{"softmax.cu", "cross_entropy.cu", "norms.cu", "swiglu.cu"};

namespace {

struct Rows {
  std::int64_t rows, cols;
};
// cols: 1, 31/32/33 (one warp, partial), 129 (64 threads), 1000 (256), 5000 (1024 threads,
// 5 columns each); many short rows.
// With one column the gradients cancel to ~0 (softmax of one class is 1; a normalised
// single value has no direction left): compare against the size of the terms, O(1).
double cancel_floor(Rows s) { return s.cols == 1 ? 1.0 : 0.0; }

const std::vector<Rows> kRowShapes = {{1, 1}, {3, 31}, {2, 32}, {5, 33}, {4, 129}, {3, 1000}, {2, 5000}, {70, 7}};

// ---- softmax --------------------------------------------------------------------------

template <class T>
void check_softmax(Rows s, bool is_log, bool alias) {
  INFO(type_name(T()) << (is_log ? " log_softmax" : " softmax") << " [" << s.rows << ", " << s.cols << "]"
                      << (alias ? " dx = g" : ""));
  Random rng(std::uint64_t(s.rows * 7 + s.cols));
  const std::size_t n = sz(s.rows * s.cols);
  std::vector<T> x = cast<T>(rng.normal(n, 3.0));
  if (s.cols > 3) x[1] = -std::numeric_limits<T>::infinity();  // a masked entry
  const std::vector<T> g = cast<T>(rng.normal(n));
  cpu::SoftmaxArgs<T> c;
  c.rows = s.rows, c.cols = s.cols;
  std::vector<T> y(n), dx(n);
  c.x = x.data(), c.out = y.data();
  is_log ? cpu::log_softmax_fwd_cpu(c) : cpu::softmax_fwd_cpu(c);
  c.x = y.data(), c.g = g.data(), c.out = dx.data();
  is_log ? cpu::log_softmax_bwd_cpu(c) : cpu::softmax_bwd_cpu(c);

  Buffer<T> xd(x), yd(n);
  cu::SoftmaxArgs<T> a;
  a.rows = s.rows, a.cols = s.cols, a.x = xd.data(), a.out = yd.data();
  REQUIRE(cu::softmax_fwd_cuda(a, is_log, 0) == "");
  EMU_CHECK_CLOSE(yd, y, kTol<T>);
  Buffer<T> y_in(y), gd(g), dxd(n);
  a.x = y_in.data(), a.g = gd.data(), a.out = alias ? gd.data() : dxd.data();
  REQUIRE(cu::softmax_bwd_cuda(a, is_log, 0) == "");
  EMU_CHECK_CLOSE(alias ? gd : dxd, dx, kTol<T>);
}

}  // namespace

TEST_CASE("softmax: forward and backward, softmax and log-softmax, against the CPU", "[softmax]") {
  for (const Rows& s : kRowShapes)
    for (bool is_log : {false, true}) {
      check_softmax<float>(s, is_log, false);
      check_softmax<double>(s, is_log, false);
    }
  check_softmax<double>({5, 300}, false, true);  // out may alias g
  check_softmax<float>({5, 300}, true, true);
  emu::ScopedGridLimit limit(3);  // 3 blocks over 40 rows
  check_softmax<double>({40, 100}, true, false);
  check_softmax<float>({40, 33}, false, false);
}

TEST_CASE("softmax: no rows or no columns launch nothing", "[softmax]") {
  const auto launches = emu::stats().launches;
  cu::SoftmaxArgs<float> a;
  a.rows = 0, a.cols = 5;
  CHECK(cu::softmax_fwd_cuda(a, false, 0) == "");
  a.rows = 5, a.cols = 0;
  CHECK(cu::softmax_bwd_cuda(a, true, 0) == "");
  CHECK(emu::stats().launches == launches);
}

// ---- cross entropy --------------------------------------------------------------------

template <class T>
static void check_cross_entropy(Rows s, double smoothing, bool shared_grad) {
  INFO(type_name(T()) << " [" << s.rows << ", " << s.cols << "] smoothing " << smoothing
                      << (shared_grad ? " one grad for every row" : ""));
  Random rng(std::uint64_t(s.rows + s.cols * 3));
  const std::size_t n = sz(s.rows * s.cols);
  const std::vector<T> logits = cast<T>(rng.normal(n, 2.0));
  std::vector<std::int64_t> targets = rng.integers(sz(s.rows), 0, s.cols - 1);
  if (s.rows > 2) targets[1] = -100;  // ignored
  const std::vector<T> grad = cast<T>(rng.uniform(shared_grad ? 1 : sz(s.rows), 0.5, 2.0));

  cpu::CrossEntropyArgs<T> c;
  c.rows = s.rows, c.classes = s.cols, c.logits = logits.data(), c.targets = targets.data();
  c.label_smoothing = T(smoothing);
  std::vector<T> loss(sz(s.rows)), lse(sz(s.rows)), dlogits(n);
  c.loss = loss.data(), c.lse = lse.data();
  cpu::cross_entropy_fwd_cpu(c);
  c.grad = grad.data(), c.grad_stride = shared_grad ? 0 : 1, c.dlogits = dlogits.data();
  cpu::cross_entropy_bwd_cpu(c);

  Buffer<T> ld(logits), lossd(sz(s.rows)), lsed(sz(s.rows)), gd(grad), dd(n);
  Buffer<std::int64_t> td(targets);
  cu::CrossEntropyArgs<T> a = c;
  a.logits = ld.data(), a.targets = td.data(), a.loss = lossd.data(), a.lse = lsed.data();
  REQUIRE(cu::cross_entropy_fwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(lossd, loss, kTol<T>);
  EMU_CHECK_CLOSE(lsed, lse, kTol<T>);
  a.grad = gd.data(), a.dlogits = dd.data();
  REQUIRE(cu::cross_entropy_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE_FLOOR(dd, dlogits, kTol<T>, cancel_floor(s));
}

TEST_CASE("cross entropy: loss, lse and dlogits with ignored rows and label smoothing", "[cross_entropy]") {
  for (const Rows& s : kRowShapes)
    for (double smoothing : {0.0, 0.1}) {
      check_cross_entropy<float>(s, smoothing, false);
      check_cross_entropy<double>(s, smoothing, s.rows % 2 == 0);
    }
  emu::ScopedGridLimit limit(2);
  check_cross_entropy<double>({25, 70}, 0.2, false);
  check_cross_entropy<float>({25, 1000}, 0.0, true);
}

// ---- RMSNorm and LayerNorm ------------------------------------------------------------

namespace {

// rows 0 (only the column sums: zeros), 1, and more than the 16 row lanes of the column
// sums; cols around the 32-column tiles of the column sums and the row kernels' steps.
const std::vector<Rows> kNormShapes = {{1, 1}, {5, 31}, {17, 32}, {37, 33}, {3, 100}, {20, 1000}, {2, 3000}, {0, 40}};

template <class T>
void check_rmsnorm(Rows s, bool weight, bool dweight, bool alias) {
  INFO(type_name(T()) << " RMSNorm [" << s.rows << ", " << s.cols << "]" << (weight ? " weight" : "")
                      << (dweight ? " dweight" : "") << (alias ? " dx = g" : ""));
  Random rng(std::uint64_t(s.rows * 13 + s.cols));
  const std::size_t n = sz(s.rows * s.cols);
  const std::vector<T> x = cast<T>(rng.normal(n, 2.0, 0.5)), w = cast<T>(rng.normal(sz(s.cols), 0.5, 1.0));
  const std::vector<T> g = cast<T>(rng.normal(n));
  cpu::RmsNormArgs<T> c;
  c.rows = s.rows, c.cols = s.cols, c.eps = T(1e-5), c.x = x.data(), c.weight = weight ? w.data() : nullptr;
  std::vector<T> y(n), rstd(sz(s.rows)), dx(n), dw(sz(s.cols));
  c.y = y.data(), c.rstd = rstd.data(), c.g = g.data(), c.dx = dx.data(), c.dweight = dweight ? dw.data() : nullptr;
  if (s.rows > 0) cpu::rmsnorm_fwd_cpu(c);
  cpu::rmsnorm_bwd_cpu(c);

  Buffer<T> xd(x), wd(w), yd(n), rd(sz(s.rows));
  cu::RmsNormArgs<T> a = c;
  a.x = xd.data(), a.weight = weight ? wd.data() : nullptr, a.y = yd.data(), a.rstd = rd.data();
  REQUIRE(cu::rmsnorm_fwd_cuda(a, 0) == "");
  if (s.rows > 0) {
    EMU_CHECK_CLOSE(yd, y, kTol<T>);
    EMU_CHECK_CLOSE(rd, rstd, kTol<T>);
  }
  Buffer<T> r_in(rstd), gd(g), dxd(n), dwd(sz(s.cols));
  a.rstd = r_in.data(), a.g = gd.data(), a.dx = alias ? gd.data() : dxd.data();
  a.dweight = dweight ? dwd.data() : nullptr;
  REQUIRE(cu::rmsnorm_bwd_cuda(a, 0) == "");
  if (s.rows > 0) EMU_CHECK_CLOSE_FLOOR(alias ? gd : dxd, dx, kTol<T>, cancel_floor(s));
  if (dweight) {
    EMU_CHECK_CLOSE(dwd, dw, kTol<T>);
  } else {
    CHECK(dwd.guards_intact());
  }
}

template <class T>
void check_layernorm(Rows s, bool weight, bool bias, bool grads, bool alias, double offset) {
  INFO(type_name(T()) << " LayerNorm [" << s.rows << ", " << s.cols << "]" << (weight ? " weight" : "")
                      << (bias ? " bias" : "") << (grads ? " dweight dbias" : "") << (alias ? " dx = g" : "")
                      << " mean " << offset);
  Random rng(std::uint64_t(s.rows * 17 + s.cols));
  const std::size_t n = sz(s.rows * s.cols);
  const std::vector<T> x = cast<T>(rng.normal(n, 2.0, offset)), w = cast<T>(rng.normal(sz(s.cols), 0.5, 1.0));
  const std::vector<T> b = cast<T>(rng.normal(sz(s.cols))), g = cast<T>(rng.normal(n));
  cpu::LayerNormArgs<T> c;
  c.rows = s.rows, c.cols = s.cols, c.eps = T(1e-5), c.x = x.data();
  c.weight = weight ? w.data() : nullptr, c.bias = bias ? b.data() : nullptr;
  std::vector<T> y(n), mean(sz(s.rows)), rstd(sz(s.rows)), dx(n), dw(sz(s.cols)), db(sz(s.cols));
  c.y = y.data(), c.mean = mean.data(), c.rstd = rstd.data(), c.g = g.data(), c.dx = dx.data();
  c.dweight = grads ? dw.data() : nullptr, c.dbias = grads ? db.data() : nullptr;
  if (s.rows > 0) cpu::layernorm_fwd_cpu(c);
  cpu::layernorm_bwd_cpu(c);

  Buffer<T> xd(x), wd(w), bd(b), yd(n), md(sz(s.rows)), rd(sz(s.rows));
  cu::LayerNormArgs<T> a = c;
  a.x = xd.data(), a.weight = weight ? wd.data() : nullptr, a.bias = bias ? bd.data() : nullptr;
  a.y = yd.data(), a.mean = md.data(), a.rstd = rd.data();
  REQUIRE(cu::layernorm_fwd_cuda(a, 0) == "");
  if (s.rows > 0) {
    EMU_CHECK_CLOSE(yd, y, kTol<T>);
    EMU_CHECK_CLOSE(md, mean, kTol<T>);
    EMU_CHECK_CLOSE(rd, rstd, kTol<T>);
  }
  Buffer<T> m_in(mean), r_in(rstd), gd(g), dxd(n), dwd(sz(s.cols)), dbd(sz(s.cols));
  a.mean = m_in.data(), a.rstd = r_in.data(), a.g = gd.data(), a.dx = alias ? gd.data() : dxd.data();
  a.dweight = grads ? dwd.data() : nullptr, a.dbias = grads ? dbd.data() : nullptr;
  REQUIRE(cu::layernorm_bwd_cuda(a, 0) == "");
  if (s.rows > 0) EMU_CHECK_CLOSE_FLOOR(alias ? gd : dxd, dx, kTol<T>, cancel_floor(s));
  if (grads) {
    EMU_CHECK_CLOSE(dwd, dw, kTol<T>);
    EMU_CHECK_CLOSE(dbd, db, kTol<T>);
  }
}

}  // namespace

TEST_CASE("norms: RMSNorm forward and backward, with and without weight and dweight", "[norms]") {
  for (const Rows& s : kNormShapes) {
    check_rmsnorm<float>(s, true, true, false);
    check_rmsnorm<double>(s, true, true, false);
    check_rmsnorm<double>(s, false, s.rows % 2 == 1, false);
  }
  check_rmsnorm<float>({9, 64}, false, false, false);
  check_rmsnorm<double>({9, 300}, true, true, true);  // dx may alias g: the column sums run first
  check_rmsnorm<float>({9, 300}, true, true, true);
  emu::ScopedGridLimit limit(2);  // rows and column tiles looped over by 2 blocks
  check_rmsnorm<double>({40, 100}, true, true, false);
}

TEST_CASE("norms: LayerNorm forward and backward, optional weight, bias and parameter gradients", "[norms]") {
  for (const Rows& s : kNormShapes) {
    check_layernorm<float>(s, true, true, true, false, 0.5);
    check_layernorm<double>(s, true, true, true, false, 0.5);
    check_layernorm<double>(s, false, s.cols % 2 == 1, s.rows % 2 == 1, false, 0.0);
  }
  check_layernorm<float>({7, 500}, true, true, true, false, 1000.0);  // |mean| >> std: statistics in f64
  check_layernorm<double>({9, 300}, true, false, true, true, 0.0);    // dx may alias g
  check_layernorm<float>({9, 300}, false, true, true, true, 0.0);
  emu::ScopedGridLimit limit(2);
  check_layernorm<double>({40, 100}, true, true, true, false, 0.0);
}

// ---- SwiGLU ---------------------------------------------------------------------------

template <class T>
static void check_swiglu(std::int64_t rows, std::int64_t H, bool fused) {
  INFO(type_name(T()) << " SwiGLU [" << rows << ", " << H << "]" << (fused ? " fused [gate | up]" : ""));
  Random rng(std::uint64_t(rows * 5 + H));
  const std::int64_t stride = fused ? 2 * H : H;
  // fused: one [rows, 2H] buffer holding gate | up (and dgate | dup); else two [rows, H]
  const std::vector<T> in = cast<T>(rng.normal(sz(rows * stride * (fused ? 1 : 2)), 3.0));
  const std::vector<T> g = cast<T>(rng.normal(sz(rows * H)));
  const std::int64_t up_offset = fused ? H : rows * H;
  cpu::SwigluArgs<T> c;
  c.rows = rows, c.cols = H, c.in_stride = stride, c.gate = in.data(), c.up = in.data() + up_offset, c.g = g.data();
  std::vector<T> out(sz(rows * H)), dinput(in.size(), T(0));
  c.out = out.data(), c.dgate = dinput.data(), c.dup = dinput.data() + up_offset;
  cpu::swiglu_fwd_cpu(c);
  cpu::swiglu_bwd_cpu(c);
  Buffer<T> ind(in), gd(g), od(sz(rows * H)), did(in.size());
  std::fill(did.data(), did.data() + did.size(), T(0));
  cu::SwigluArgs<T> a = c;
  a.gate = ind.data(), a.up = ind.data() + up_offset, a.g = gd.data(), a.out = od.data();
  a.dgate = did.data(), a.dup = did.data() + up_offset;
  REQUIRE(cu::swiglu_fwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(od, out, kTol<T>);
  REQUIRE(cu::swiglu_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(did, dinput, kTol<T>);
}

TEST_CASE("swiglu: forward and backward, separate and fused gate | up", "[swiglu]") {
  for (auto [rows, H] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {3, 85}, {7, 256}, {2, 1001}}) {
    for (bool fused : {false, true}) {
      check_swiglu<float>(rows, H, fused);
      check_swiglu<double>(rows, H, fused);
    }
  }
  emu::ScopedGridLimit limit(1);
  check_swiglu<double>(9, 300, true);
}
