// The sequence kernels under the CUDA emulator against their CPU twins: rope.cu,
// causal_conv1d.cu, selective_scan_fwd.cu and selective_scan_bwd.cu.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emu_test.h"
#include "kernels/cpu/causal_conv1d.h"
#include "kernels/cpu/gated_delta_rule.h"
#include "kernels/cpu/rope.h"
#include "kernels/cpu/selective_scan.h"
#include "kernels/cpu/ssd.h"
#include "kernels/cuda/causal_conv1d.h"
#include "kernels/cuda/gated_delta_rule.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/selective_scan.h"
#include "kernels/cuda/ssd.h"

using namespace emu_test;
namespace cpu = strata::kernels::cpu;
namespace cu = strata::kernels::cuda;

static const Covers covers{"rope.cu", "causal_conv1d.cu",        "selective_scan_fwd.cu",  "selective_scan_bwd.cu",
                           "ssd.cu",  "gated_delta_rule_fwd.cu", "gated_delta_rule_bwd.cu"};

// Packed documents: per batch row, the start of each step's document (a new document
// every few steps, at random).
static std::vector<std::int64_t> document_starts(Random& rng, std::int64_t B, std::int64_t T, int every) {
  std::vector<std::int64_t> starts(sz(B * T));
  for (std::int64_t b = 0; b < B; ++b) {
    std::int64_t start = 0;
    for (std::int64_t t = 0; t < T; ++t) {
      if (t > 0 && rng.integer(0, every - 1) == 0) start = t;
      starts[sz(b * T + t)] = start;
    }
  }
  return starts;
}

// ---- rope -----------------------------------------------------------------------------

namespace {

struct RopeCase {
  const char* name;
  std::int64_t B, T, H, D, rotary;
  bool interleaved, inverse, positions, inv_freq;
  std::int64_t offset = 0, pad = 0;  // position_offset; extra elements per time step of x
  double scale = 1.0;
};

template <class T>
void check_rope(const RopeCase& r) {
  INFO(type_name(T()) << " " << r.name);
  Random rng(std::uint64_t(r.B * 7 + r.T * 3 + r.D));
  const std::int64_t st = r.H * r.D + r.pad, sb = r.T * st + 5, half = r.rotary / 2;
  const std::vector<T> x = cast<T>(rng.normal(sz(r.B * sb)));
  std::vector<std::int64_t> positions;
  if (r.positions) {  // packed documents: positions restart at each document
    for (std::int64_t s : document_starts(rng, r.B, r.T, 5)) positions.push_back(std::int64_t(positions.size()) % r.T - s);
  }
  std::vector<double> inv_freq;
  for (std::int64_t c = 0; c < half; ++c) inv_freq.push_back(0.9 / std::pow(500.0, double(c) / double(half)));
  cpu::RopeArgs<T> c;
  c.batch = r.B, c.seq_len = r.T, c.n_heads = r.H, c.head_dim = r.D, c.rotary_dim = r.rotary;
  c.position_offset = r.offset, c.positions = r.positions ? positions.data() : nullptr, c.theta = 10000.0;
  c.inv_freq = r.inv_freq ? inv_freq.data() : nullptr, c.scale = r.scale, c.interleaved = r.interleaved;
  c.inverse = r.inverse, c.x = x.data(), c.x_stride_b = sb, c.x_stride_t = st;
  std::vector<T> want(sz(r.B * r.T * r.H * r.D));
  c.out = want.data();
  cpu::rope_cpu(c);
  Buffer<T> xd(x), out(want.size()), table(sz(2 * r.T * half));
  Buffer<std::int64_t> pd(positions);
  Buffer<double> fd(inv_freq);
  cu::RopeArgs<T> a;
  a.batch = r.B, a.seq_len = r.T, a.n_heads = r.H, a.head_dim = r.D, a.rotary_dim = r.rotary;
  a.position_offset = r.offset, a.positions = r.positions ? pd.data() : nullptr, a.theta = 10000.0;
  a.inv_freq = r.inv_freq ? fd.data() : nullptr, a.scale = r.scale, a.interleaved = r.interleaved;
  a.inverse = r.inverse, a.x = xd.data(), a.x_stride_b = sb, a.x_stride_t = st, a.out = out.data();
  a.table = table.data();
  REQUIRE(cu::rope_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(out, want, kTol<T>);
  CHECK(table.guards_intact());
}

}  // namespace

TEST_CASE("rope: rotate-half and interleaved, partial rotary, positions, scaling, inverse", "[rope]") {
  const std::vector<RopeCase> cases = {
      {"rotate-half", 2, 9, 3, 8, 8, false, false, false, false},
      {"interleaved", 1, 17, 2, 16, 16, true, false, false, false},
      {"partial rotary 6 of 10, strided x", 2, 5, 3, 10, 6, false, false, false, false, 0, 7},
      {"interleaved partial rotary 2 of 3", 1, 33, 1, 3, 2, true, false, false, false},
      {"positions of packed documents, offset", 3, 20, 2, 12, 12, false, false, true, false, 100},
      {"inverse with inv_freq and scale", 2, 11, 4, 64, 32, false, true, false, true, 7, 0, 0.75},
      {"interleaved inverse, positions, inv_freq", 2, 40, 3, 20, 20, true, true, true, true, 3, 1, 1.5},
      {"one row", 1, 1, 1, 2, 2, false, false, false, false},
  };
  for (const RopeCase& r : cases) {
    check_rope<float>(r);
    check_rope<double>(r);
  }
  emu::ScopedGridLimit limit(1);
  check_rope<double>(cases[6]);
}

TEST_CASE("rope: an odd or oversized rotary_dim is an error", "[rope]") {
  std::vector<float> x(64), out(64), table(64);
  cu::RopeArgs<float> a;
  a.batch = 1, a.seq_len = 2, a.n_heads = 1, a.head_dim = 8, a.x = x.data(), a.out = out.data(), a.table = table.data();
  a.x_stride_b = 16, a.x_stride_t = 8;
  a.rotary_dim = 5;
  CHECK(cu::rope_cuda(a, 0) != "");
  a.rotary_dim = 10;
  CHECK(cu::rope_cuda(a, 0) != "");
}

// ---- causal conv1d --------------------------------------------------------------------

namespace {

struct ConvCase {
  const char* name;
  std::int64_t B, T, D, K;
  bool bias, initial, packed;
  bool dweight = true, dbias = true, dinitial = true;
};

template <class T>
void check_conv(const ConvCase& s) {
  INFO(type_name(T()) << " " << s.name << ": B " << s.B << " T " << s.T << " D " << s.D << " K " << s.K);
  Random rng(std::uint64_t(s.B * 1000 + s.T * 10 + s.D + s.K));
  const std::size_t n = sz(s.B * s.T * s.D), ni = sz(s.B * (s.K - 1) * s.D);
  const std::vector<T> x = cast<T>(rng.normal(n)), w = cast<T>(rng.normal(sz(s.D * s.K), 0.5));
  const std::vector<T> bias = cast<T>(rng.normal(sz(s.D))), initial = cast<T>(rng.normal(ni));
  const std::vector<T> dy = cast<T>(rng.normal(n));
  const std::vector<std::int64_t> starts = document_starts(rng, s.B, s.T, 6);
  cpu::CausalConv1dArgs<T> c;
  c.batch = s.B, c.seq_len = s.T, c.channels = s.D, c.kernel_size = s.K;
  c.x = x.data(), c.weight = w.data(), c.bias = s.bias ? bias.data() : nullptr;
  c.initial = s.initial ? initial.data() : nullptr, c.seq_start = s.packed ? starts.data() : nullptr;
  std::vector<T> y(n), dx(n), dw(sz(s.D * s.K)), db(sz(s.D)), dinit(ni);
  c.y = y.data(), c.dy = dy.data(), c.dx = dx.data(), c.dweight = s.dweight ? dw.data() : nullptr;
  c.dbias = s.dbias ? db.data() : nullptr, c.dinitial = s.dinitial ? dinit.data() : nullptr;
  cpu::causal_conv1d_fwd_cpu(c);
  cpu::causal_conv1d_bwd_cpu(c);

  Buffer<T> xd(x), wd(w), bd(bias), id(initial), dyd(dy), yd(n), dxd(n), dwd(dw.size()), dbd(db.size()), did(ni);
  Buffer<std::int64_t> sd(starts);
  cu::CausalConv1dArgs<T> a = c;
  a.x = xd.data(), a.weight = wd.data(), a.bias = s.bias ? bd.data() : nullptr;
  a.initial = s.initial ? id.data() : nullptr, a.seq_start = s.packed ? sd.data() : nullptr, a.y = yd.data();
  a.dy = dyd.data(), a.dx = dxd.data(), a.dweight = s.dweight ? dwd.data() : nullptr;
  a.dbias = s.dbias ? dbd.data() : nullptr, a.dinitial = s.dinitial ? did.data() : nullptr;
  REQUIRE(cu::causal_conv1d_fwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(yd, y, kTol<T>);
  REQUIRE(cu::causal_conv1d_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(dxd, dx, kTol<T>);
  if (s.dweight) EMU_CHECK_CLOSE(dwd, dw, kTol<T>);
  if (s.dbias) EMU_CHECK_CLOSE(dbd, db, kTol<T>);
  if (s.dinitial) EMU_CHECK_CLOSE(did, dinit, kTol<T>);
  // outputs not asked for stay untouched
  if (!s.dweight) CHECK(dwd.guards_intact());
  if (!s.dinitial) CHECK(did.guards_intact());
}

}  // namespace

TEST_CASE("causal conv1d: forward and backward, optional bias, initial state, packed documents", "[conv]") {
  const std::vector<ConvCase> cases = {
      {"K 4, everything", 2, 37, 70, 4, true, true, false},
      {"K 4, packed", 3, 50, 33, 4, true, false, true},
      {"K 3, initial state and packed", 2, 29, 40, 3, false, true, true},
      {"K 1", 2, 10, 5, 1, true, false, false},
      {"K 2, one channel", 1, 17, 1, 2, false, true, false},
      {"K 4, T shorter than K", 2, 2, 31, 4, true, true, false},
      {"no parameter gradients", 1, 20, 64, 4, true, true, true, false, false, false},
      {"dbias only", 2, 20, 96, 4, true, true, false, false, true, false},
      {"T = 0: zero parameter gradients and dinitial", 2, 0, 35, 4, true, true, false},
  };
  for (const ConvCase& s : cases) {
    check_conv<float>(s);
    check_conv<double>(s);
  }
  emu::ScopedGridLimit limit(1, 2);  // the parameter kernel's tiles and taps looped over
  check_conv<double>(cases[0]);
  check_conv<float>(cases[2]);
}

TEST_CASE("causal conv1d: kernel_size 0 is an error", "[conv]") {
  cu::CausalConv1dArgs<float> a;
  a.batch = 1, a.seq_len = 1, a.channels = 1, a.kernel_size = 0;
  CHECK(cu::causal_conv1d_fwd_cuda(a, 0) != "");
  CHECK(cu::causal_conv1d_bwd_cuda(a, 0) != "");
}

// ---- selective scan -------------------------------------------------------------------

namespace {

struct ScanCase {
  std::int64_t B, T, D, N;
  bool all;      // D, z, delta_bias, initial_state, softplus, dfinal_state
  bool packed;   // seq_start
  bool sparse;   // backward: dA, dB, dz, dD, dinitial_state not asked for
};

template <class T>
void check_scan(const ScanCase& s) {
  INFO(type_name(T()) << " B " << s.B << " T " << s.T << " D " << s.D << " N " << s.N << (s.all ? " all options" : "")
                      << (s.packed ? " packed" : "") << (s.sparse ? " some gradients not asked for" : ""));
  Random rng(std::uint64_t(s.B * 100000 + s.T * 1000 + s.D * 10 + s.N));
  const std::size_t btd = sz(s.B * s.T * s.D), btn = sz(s.B * s.T * s.N), bdn = sz(s.B * s.D * s.N);
  const std::vector<T> u = cast<T>(rng.normal(btd)), delta = cast<T>(rng.normal(btd, 0.5));
  const std::vector<T> Bm = cast<T>(rng.normal(btn)), C = cast<T>(rng.normal(btn)), Dv = cast<T>(rng.normal(sz(s.D)));
  const std::vector<T> z = cast<T>(rng.normal(btd)), bias = cast<T>(rng.normal(sz(s.D), 0.3));
  const std::vector<T> h0 = cast<T>(rng.normal(bdn)), dy = cast<T>(rng.normal(btd)), dfinal = cast<T>(rng.normal(bdn));
  std::vector<T> A = cast<T>(rng.uniform(sz(s.D * s.N), -1.5, -0.2));
  std::vector<T> delta_in = delta;
  if (!s.all)  // positive steps without softplus
    for (auto& v : delta_in) v = T(1 / (1 + std::exp(-double(v))));
  const std::vector<std::int64_t> starts = document_starts(rng, s.B, s.T, 23);

  struct Out {
    std::vector<T> y, fin, du, ddelta, dA, dB, dC, dD, dz, dbias, dh0;
  };
  // The CPU kernel, then the emulated one on the same inputs (their own checkpoints and
  // workspaces: the layouts differ).
  cpu::SelectiveScanArgs<T> c;
  c.batch = s.B, c.seq_len = s.T, c.channels = s.D, c.d_state = s.N;
  c.u = u.data(), c.delta = delta_in.data(), c.A = A.data(), c.B = Bm.data(), c.C = C.data();
  if (s.all) {
    c.D = Dv.data(), c.z = z.data(), c.delta_bias = bias.data(), c.initial_state = h0.data();
    c.delta_softplus = true, c.dfinal_state = dfinal.data();
  }
  if (s.packed) c.seq_start = starts.data();
  c.dy = dy.data();
  Out want{std::vector<T>(btd), std::vector<T>(bdn), std::vector<T>(btd), std::vector<T>(btd),
           std::vector<T>(sz(s.D * s.N)), std::vector<T>(btn), std::vector<T>(btn), std::vector<T>(sz(s.D)),
           std::vector<T>(btd), std::vector<T>(sz(s.D)), std::vector<T>(bdn)};
  std::vector<T> ck(sz(cpu::selective_scan_checkpoint_size(s.B, s.T, s.D, s.N)));
  std::vector<T> ws(sz(cpu::selective_scan_bwd_workspace_size(s.B, s.T, s.D, s.N)));
  c.y = want.y.data(), c.final_state = want.fin.data(), c.checkpoints = ck.data(), c.workspace = ws.data();
  c.du = want.du.data(), c.ddelta = want.ddelta.data(), c.dA = want.dA.data(), c.dB = want.dB.data();
  c.dC = want.dC.data(), c.dD = want.dD.data(), c.dz = want.dz.data(), c.ddelta_bias = want.dbias.data();
  c.dinitial_state = want.dh0.data();
  if (s.sparse) c.dA = c.dB = c.dz = c.dD = c.dinitial_state = nullptr;
  cpu::selective_scan_fwd_cpu(c);
  cpu::selective_scan_bwd_cpu(c);

  Buffer<T> ud(u), deltad(delta_in), Ad(A), Bd(Bm), Cd(C), Dd(Dv), zd(z), biasd(bias), h0d(h0), dyd(dy), dfd(dfinal);
  Buffer<std::int64_t> startsd(starts);
  Buffer<T> y(btd), fin(bdn), du(btd), ddelta(btd), dA(sz(s.D * s.N)), dB(btn), dC(btn), dD(sz(s.D)), dz(btd),
      dbias(sz(s.D)), dh0(bdn);
  Buffer<T> ckd(sz(cu::selective_scan_checkpoint_size_cuda(s.B, s.T, s.D, s.N)));
  Buffer<T> wsd(sz(cu::selective_scan_bwd_workspace_size_cuda(s.B, s.T, s.D, s.N)));
  cu::SelectiveScanArgs<T> a;
  a.batch = s.B, a.seq_len = s.T, a.channels = s.D, a.d_state = s.N;
  a.u = ud.data(), a.delta = deltad.data(), a.A = Ad.data(), a.B = Bd.data(), a.C = Cd.data();
  if (s.all) {
    a.D = Dd.data(), a.z = zd.data(), a.delta_bias = biasd.data(), a.initial_state = h0d.data();
    a.delta_softplus = true, a.dfinal_state = dfd.data();
  }
  if (s.packed) a.seq_start = startsd.data();
  a.dy = dyd.data();
  a.y = y.data(), a.final_state = fin.data(), a.checkpoints = ckd.data(), a.workspace = wsd.data();
  a.du = du.data(), a.ddelta = ddelta.data(), a.dA = dA.data(), a.dB = dB.data(), a.dC = dC.data();
  a.dD = dD.data(), a.dz = dz.data(), a.ddelta_bias = dbias.data(), a.dinitial_state = dh0.data();
  if (s.sparse) a.dA = a.dB = a.dz = a.dD = a.dinitial_state = nullptr;
  REQUIRE(cu::selective_scan_fwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(y, want.y, kTol<T>);
  EMU_CHECK_CLOSE(fin, want.fin, kTol<T>);
  CHECK(ckd.guards_intact());
  REQUIRE(cu::selective_scan_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(du, want.du, kTol<T>);
  EMU_CHECK_CLOSE(ddelta, want.ddelta, kTol<T>);
  EMU_CHECK_CLOSE(dC, want.dC, kTol<T>);
  EMU_CHECK_CLOSE(dbias, want.dbias, kTol<T>);
  CHECK(wsd.guards_intact());
  if (s.sparse) {
    for (const Buffer<T>* b : {&dA, &dB, &dD, &dz, &dh0}) {
      CHECK(b->guards_intact());
      CHECK(not_close(b->values(), std::vector<T>(b->size(), poison<T>()), 0) == "");  // not written
    }
  } else {
    EMU_CHECK_CLOSE(dA, want.dA, kTol<T>);
    EMU_CHECK_CLOSE(dB, want.dB, kTol<T>);
    EMU_CHECK_CLOSE(dh0, want.dh0, kTol<T>);
    if (s.all) {
      EMU_CHECK_CLOSE(dD, want.dD, kTol<T>);
      EMU_CHECK_CLOSE(dz, want.dz, kTol<T>);
    }
  }
}

}  // namespace

TEST_CASE("selective scan: forward and backward against the CPU, every option and state bound", "[scan]") {
  // T around the 8-step slices and 64-step chunks (one slice, a partial chunk, several
  // chunks); D around the 32-channel blocks; N from 1 to 200 (odd and even: the shared
  // summaries alternate between two phases by state index; 200 in f64 needs dynamic shared
  // memory over 48 KiB; odd N over several chunks: a chunk's first state reuses the phase of
  // the chunk before's last); T = 0 (the final state is the initial one)
  const std::vector<ScanCase> cases = {
      {2, 37, 11, 5, true, false, false},   {2, 37, 11, 5, false, false, false}, {1, 16, 32, 8, true, true, false},
      {2, 65, 70, 16, true, true, false},   {1, 17, 33, 1, false, true, false},  {2, 64, 5, 20, true, false, true},
      {1, 130, 65, 40, false, true, false}, {1, 1, 3, 2, true, false, false},    {1, 20, 40, 64, true, true, true},
      {1, 150, 5, 200, true, true, false},  {2, 0, 7, 3, true, false, false},    {1, 9, 3, 1, true, false, false},
      {1, 140, 33, 1, true, true, false},   {2, 100, 9, 3, true, false, false},
  };
  for (const ScanCase& s : cases) {
    check_scan<double>(s);
    check_scan<float>(s);
  }
  emu::ScopedGridLimit limit(0, 1);  // one block row: the sequences looped over by blockIdx.y
  check_scan<double>({3, 40, 20, 6, true, true, false});
  check_scan<float>({3, 130, 20, 3, true, true, false});  // several chunks, odd N
}

TEST_CASE("selective scan: no sequences or channels, and d_state over 256", "[scan]") {
  cu::SelectiveScanArgs<float> a;
  a.batch = 0, a.seq_len = 10, a.channels = 4, a.d_state = 4;
  const auto launches = emu::stats().launches;
  CHECK(cu::selective_scan_fwd_cuda(a, 0) == "");
  CHECK(emu::stats().launches == launches);
  std::vector<float> v(2000, 0.5f), A(4 * 257, -1.0f);
  a.batch = 1, a.seq_len = 2, a.channels = 4, a.d_state = 257;
  a.u = a.delta = a.B = a.C = v.data(), a.A = A.data(), a.y = v.data();
  const std::string error = cu::selective_scan_fwd_cuda(a, 0);
  CHECK(error.find("d_state") != std::string::npos);
}

// ---- SSD (Mamba-2) --------------------------------------------------------------------
//
// The CUDA kernels run the recurrence (the selective scan's kernels under the SSD layout),
// the CPU the chunked quadratic form: the same function, summed in other orders (f64
// ~1e-13, f32 ~1e-6 relative here).

namespace {

struct SsdShape {
  std::int64_t B, T, H, P, G, N;
  bool initial, packed;
};

template <class T>
void check_ssd(SsdShape s) {
  INFO(type_name(T()) << " ssd B " << s.B << " T " << s.T << " H " << s.H << " P " << s.P << " G " << s.G << " N "
                      << s.N << (s.initial ? " initial" : "") << (s.packed ? " packed" : ""));
  Random rng(std::uint64_t(s.T * 131 + s.N * 7 + s.P));
  const std::vector<T> x = cast<T>(rng.normal(sz(s.B * s.T * s.H * s.P)));
  const std::vector<T> dt = cast<T>(rng.uniform(sz(s.B * s.T * s.H), 0.01, 0.2));
  const std::vector<T> A = cast<T>(rng.uniform(sz(s.H), -4.0, -0.5));
  const std::vector<T> Bm = cast<T>(rng.normal(sz(s.B * s.T * s.G * s.N), 0.5));
  const std::vector<T> Cm = cast<T>(rng.normal(sz(s.B * s.T * s.G * s.N), 0.5));
  const std::vector<T> h0 = cast<T>(rng.normal(sz(s.B * s.H * s.P * s.N)));
  const std::vector<T> dy = cast<T>(rng.normal(sz(s.B * s.T * s.H * s.P)));
  const std::vector<T> dfinal = cast<T>(rng.normal(sz(s.B * s.H * s.P * s.N)));
  const std::vector<std::int64_t> starts = document_starts(rng, s.B, s.T, 12);
  // the CPU reference, forward and backward
  cpu::SsdArgs<T> c;
  c.batch = s.B, c.seq_len = s.T, c.heads = s.H, c.head_dim = s.P, c.groups = s.G, c.d_state = s.N, c.chunk = 8;
  c.x = x.data(), c.dt = dt.data(), c.A = A.data(), c.B = Bm.data(), c.C = Cm.data();
  c.initial_state = s.initial ? h0.data() : nullptr;
  c.seq_start = s.packed ? starts.data() : nullptr;
  std::vector<T> y(x.size()), final_state(h0.size());
  std::vector<T> chunk_states(sz(cpu::ssd_chunk_states_size(s.B, s.T, s.H, s.P, s.N, c.chunk, c.seq_start)));
  std::vector<T> scratch(sz(std::max(cpu::ssd_scratch_size(c.chunk, s.P, s.N, false),
                                     cpu::ssd_scratch_size(c.chunk, s.P, s.N, true))));
  std::vector<T> workspace(sz(cpu::ssd_bwd_workspace_size(s.B, s.T, s.H, s.N)));
  c.y = y.data(), c.final_state = final_state.data(), c.chunk_states = chunk_states.data();
  c.scratch = scratch.data(), c.scratch_threads = 1;
  cpu::ssd_fwd_cpu(c);
  std::vector<T> dx(x.size()), ddt(dt.size()), dA(A.size()), dB(Bm.size()), dC(Cm.size()), dh0(h0.size());
  c.dy = dy.data(), c.dfinal_state = dfinal.data(), c.dx = dx.data(), c.ddt = ddt.data(), c.dA = dA.data();
  c.dB = dB.data(), c.dC = dC.data(), c.dinitial_state = dh0.data(), c.workspace = workspace.data();
  cpu::ssd_bwd_cpu(c);

  Buffer<T> xd(x), dtd(dt), Ad(A), Bd(Bm), Cd(Cm), h0d(h0), yd(y.size()), fd(final_state.size()), dyd(dy),
      dfd(dfinal), dxd(dx.size()), ddtd(ddt.size()), dAd(dA.size()), dBd(dB.size()), dCd(dC.size()), dh0d(dh0.size());
  Buffer<T> saved(sz(cu::ssd_checkpoints_size(s.B, s.T, s.H, s.P, s.N)));
  Buffer<T> wsd(sz(cu::ssd_bwd_workspace_elements(s.B, s.T, s.H, s.P, s.G, s.N)));
  Buffer<std::int64_t> sd(starts);
  cu::SsdArgs<T> a = c;
  a.x = xd.data(), a.dt = dtd.data(), a.A = Ad.data(), a.B = Bd.data(), a.C = Cd.data();
  a.initial_state = s.initial ? h0d.data() : nullptr;
  a.seq_start = s.packed ? sd.data() : nullptr;
  a.y = yd.data(), a.final_state = fd.data(), a.scratch = nullptr, a.chunk_states = saved.data();
  REQUIRE(cu::ssd_fwd_cuda(a, 0) == "");
  const double tol = std::is_same_v<T, double> ? 1e-11 : 2e-5;
  EMU_CHECK_CLOSE(yd, y, tol);
  EMU_CHECK_CLOSE(fd, final_state, tol);
  a.dy = dyd.data(), a.dfinal_state = dfd.data(), a.dx = dxd.data(), a.ddt = ddtd.data(), a.dA = dAd.data();
  a.dB = dBd.data(), a.dC = dCd.data(), a.dinitial_state = dh0d.data(), a.workspace = wsd.data();
  REQUIRE(cu::ssd_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(dxd, dx, tol);
  EMU_CHECK_CLOSE(ddtd, ddt, tol);
  EMU_CHECK_CLOSE(dAd, dA, tol);
  EMU_CHECK_CLOSE(dBd, dB, tol);
  EMU_CHECK_CLOSE(dCd, dC, tol);
  EMU_CHECK_CLOSE(dh0d, dh0, tol);
}

}  // namespace

// T = 150: three chunks (64, 64, 22 steps) and partial 8-step slices; head_dim under a warp
// (heads of one group share a block), over it (a head spans blocks) and groups of several
// heads; d_state up to 200 (dynamic shared memory over 48 KiB in f64).
TEST_CASE("ssd: forward and backward against the CPU, groups, initial states, packed documents", "[ssd]") {
  for (const SsdShape& s : {SsdShape{1, 1, 1, 1, 1, 1, false, false}, SsdShape{2, 37, 4, 3, 2, 5, true, false},
                            SsdShape{2, 150, 2, 40, 1, 33, true, true}, SsdShape{1, 70, 3, 70, 3, 64, false, true},
                            SsdShape{1, 19, 2, 8, 1, 128, true, false}, SsdShape{1, 70, 4, 16, 2, 200, true, true}}) {
    check_ssd<float>(s);
    check_ssd<double>(s);
  }
  emu::ScopedGridLimit limit(0, 1);  // one block row: the sequences looped over by blockIdx.y
  check_ssd<double>({3, 11, 2, 5, 1, 9, true, true});
  check_ssd<float>({3, 140, 2, 40, 2, 7, true, false});  // several chunks, odd N, heads over blocks
}

TEST_CASE("ssd: a state over 256, heads not in groups, or a missing saved state is an error", "[ssd]") {
  cu::SsdArgs<float> a;
  a.batch = 1, a.seq_len = 1, a.heads = 2, a.head_dim = 1, a.groups = 1, a.d_state = 257;
  CHECK(cu::ssd_fwd_cuda(a, 0).find("d_state = 257") != std::string::npos);
  CHECK(cu::ssd_bwd_cuda(a, 0).find("d_state = 257") != std::string::npos);
  a.d_state = 4, a.groups = 3;
  CHECK(cu::ssd_fwd_cuda(a, 0).find("multiple of groups") != std::string::npos);
  a.groups = 1;
  CHECK(cu::ssd_bwd_cuda(a, 0).find("chunk_states") != std::string::npos);
}

// ---- the gated delta rule (Gated DeltaNet) ----------------------------------------------
//
// The CUDA kernels run the recurrence step by step, the CPU the chunked WY form.

namespace {

struct DeltaShape {
  std::int64_t B, T, H, Hk, K, V;
  bool initial, packed;
};

// rows of `n` unit vectors of length `len` (the layer normalises q and k)
std::vector<double> unit_rows(Random& rng, std::int64_t n, std::int64_t len) {
  std::vector<double> x = rng.normal(sz(n * len));
  for (std::int64_t r = 0; r < n; ++r) {
    double norm = 0;
    for (std::int64_t i = 0; i < len; ++i) norm += x[sz(r * len + i)] * x[sz(r * len + i)];
    for (std::int64_t i = 0; i < len; ++i) x[sz(r * len + i)] /= std::sqrt(norm);
  }
  return x;
}

template <class T>
void check_delta_rule(DeltaShape s) {
  INFO(type_name(T()) << " gated delta rule B " << s.B << " T " << s.T << " H " << s.H << " Hk " << s.Hk << " K "
                      << s.K << " V " << s.V << (s.initial ? " initial" : "") << (s.packed ? " packed" : ""));
  Random rng(std::uint64_t(s.T * 17 + s.K * 5 + s.V));
  const std::vector<T> q = cast<T>(unit_rows(rng, s.B * s.T * s.Hk, s.K));
  const std::vector<T> k = cast<T>(unit_rows(rng, s.B * s.T * s.Hk, s.K));
  const std::vector<T> v = cast<T>(rng.normal(sz(s.B * s.T * s.H * s.V)));
  const std::vector<T> g = cast<T>(rng.uniform(sz(s.B * s.T * s.H), -0.3, -0.01));
  const std::vector<T> beta = cast<T>(rng.uniform(sz(s.B * s.T * s.H), 0.1, 0.9));
  const std::vector<T> h0 = cast<T>(rng.normal(sz(s.B * s.H * s.K * s.V)));
  const std::vector<T> dout = cast<T>(rng.normal(v.size()));
  const std::vector<T> dfinal = cast<T>(rng.normal(h0.size()));
  const std::vector<std::int64_t> starts = document_starts(rng, s.B, s.T, 10);
  cpu::GatedDeltaRuleArgs<T> c;
  c.batch = s.B, c.seq_len = s.T, c.heads = s.H, c.key_heads = s.Hk, c.key_dim = s.K, c.value_dim = s.V;
  c.chunk = 8, c.scale = T(0.7);
  c.q = q.data(), c.k = k.data(), c.v = v.data(), c.g = g.data(), c.beta = beta.data();
  c.initial_state = s.initial ? h0.data() : nullptr;
  c.seq_start = s.packed ? starts.data() : nullptr;
  std::vector<T> o(v.size()), final_state(h0.size());
  std::vector<T> chunk_states(
      sz(cpu::gated_delta_rule_chunk_states_size(s.B, s.T, s.H, s.K, s.V, c.chunk, c.seq_start)));
  std::vector<T> scratch(sz(std::max(
      cpu::gated_delta_rule_scratch_size(s.B, s.T, c.chunk, c.seq_start, s.K, s.V, false),
      cpu::gated_delta_rule_scratch_size(s.B, s.T, c.chunk, c.seq_start, s.K, s.V, true))));
  std::vector<T> workspace(sz(cpu::gated_delta_rule_bwd_workspace_size(s.B, s.T, s.H, s.K)));
  c.o = o.data(), c.final_state = final_state.data(), c.chunk_states = chunk_states.data();
  c.scratch = scratch.data(), c.scratch_threads = 1;
  cpu::gated_delta_rule_fwd_cpu(c);
  std::vector<T> dq(q.size()), dk(k.size()), dv(v.size()), dg(g.size()), dbeta(beta.size()), dh0(h0.size());
  c.dout = dout.data(), c.dfinal_state = dfinal.data(), c.dq = dq.data(), c.dk = dk.data(), c.dv = dv.data();
  c.dg = dg.data(), c.dbeta = dbeta.data(), c.dinitial_state = dh0.data(), c.workspace = workspace.data();
  cpu::gated_delta_rule_bwd_cpu(c);

  Buffer<T> qd(q), kd(k), vd(v), gd(g), betad(beta), h0d(h0), od(o.size()), fd(final_state.size()), doutd(dout),
      dfd(dfinal), dqd(dq.size()), dkd(dk.size()), dvd(dv.size()), dgd(dg.size()), dbetad(dbeta.size()),
      dh0d(dh0.size());
  Buffer<T> saved(sz(cu::gated_delta_rule_checkpoints_size(s.B, s.T, s.H, s.K, s.V)));
  Buffer<T> wsd(sz(cu::gated_delta_rule_bwd_workspace_elements(s.B, s.T, s.H, s.K, s.V)));
  Buffer<std::int64_t> sd(starts);
  cu::GatedDeltaRuleArgs<T> a = c;
  a.q = qd.data(), a.k = kd.data(), a.v = vd.data(), a.g = gd.data(), a.beta = betad.data();
  a.initial_state = s.initial ? h0d.data() : nullptr;
  a.seq_start = s.packed ? sd.data() : nullptr;
  a.o = od.data(), a.final_state = fd.data(), a.scratch = nullptr, a.chunk_states = saved.data();
  REQUIRE(cu::gated_delta_rule_fwd_cuda(a, 0) == "");
  const double tol = std::is_same_v<T, double> ? 1e-11 : 3e-5;
  EMU_CHECK_CLOSE(od, o, tol);
  EMU_CHECK_CLOSE(fd, final_state, tol);
  a.dout = doutd.data(), a.dfinal_state = dfd.data(), a.dq = dqd.data(), a.dk = dkd.data(), a.dv = dvd.data();
  a.dg = dgd.data(), a.dbeta = dbetad.data(), a.dinitial_state = dh0d.data(), a.workspace = wsd.data();
  REQUIRE(cu::gated_delta_rule_bwd_cuda(a, 0) == "");
  EMU_CHECK_CLOSE(dqd, dq, tol);
  EMU_CHECK_CLOSE(dkd, dk, tol);
  EMU_CHECK_CLOSE(dvd, dv, tol);
  EMU_CHECK_CLOSE(dgd, dg, tol);
  EMU_CHECK_CLOSE(dbetad, dbeta, tol);
  EMU_CHECK_CLOSE(dh0d, dh0, tol);
}

}  // namespace

// T = 150: three saved states (64, 64, 22 steps) and partial 8-step runs inside them.
TEST_CASE("gated delta rule: forward and backward against the CPU, shared key heads, states, packing",
          "[gated_delta_rule]") {
  for (const DeltaShape& s : {DeltaShape{1, 1, 1, 1, 1, 1, false, false}, DeltaShape{2, 37, 4, 2, 5, 3, true, false},
                              DeltaShape{1, 150, 2, 1, 33, 40, true, true}, DeltaShape{2, 70, 3, 3, 64, 20, false, true},
                              DeltaShape{1, 19, 2, 2, 128, 8, true, false}}) {
    check_delta_rule<float>(s);
    check_delta_rule<double>(s);
  }
  emu::ScopedGridLimit limit(1);
  check_delta_rule<double>({3, 11, 2, 1, 6, 9, true, true});
}

TEST_CASE(
    "gated delta rule: a key beyond the registers, a value head over 256, heads not over key heads, a missing saved "
    "state",
    "[gated_delta_rule]") {
  cu::GatedDeltaRuleArgs<float> a;
  a.batch = 1, a.seq_len = 1, a.heads = 2, a.key_heads = 1, a.key_dim = 129, a.value_dim = 1;
  CHECK(cu::gated_delta_rule_fwd_cuda(a, 0).find("key_dim = 129") != std::string::npos);
  a.key_dim = 4, a.value_dim = 257;  // a block of more than 256 threads might not launch
  CHECK(cu::gated_delta_rule_fwd_cuda(a, 0).find("value_dim = 257") != std::string::npos);
  CHECK(cu::gated_delta_rule_bwd_cuda(a, 0).find("value_dim = 257") != std::string::npos);
  a.value_dim = 1, a.key_heads = 3;
  CHECK(cu::gated_delta_rule_fwd_cuda(a, 0).find("multiple of key_heads") != std::string::npos);
  a.key_heads = 1;
  CHECK(cu::gated_delta_rule_bwd_cuda(a, 0).find("chunk_states") != std::string::npos);
}
