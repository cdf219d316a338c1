// Flash attention under the CUDA emulator against the CPU kernel: attention_fwd.cu,
// attention_bwd.cu and attention_decode.cu (dynamic shared memory, tiles of queries and
// keys, online softmax, grouped-query heads, causal / window / packed-document masks, the
// split-key decoding kernel and its combine).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "emu_test.h"
#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention.h"

using namespace emu_test;
namespace cpu = strata::kernels::cpu;
namespace cu = strata::kernels::cuda;

static const Covers covers{"attention_fwd.cu", "attention_bwd.cu", "attention_decode.cu"};

namespace {

struct AttentionCase {
  const char* name;
  std::int64_t B, T, S, Hq, Hkv, d;
  bool causal = false;
  std::int64_t offset = 0, window = 0;
  std::vector<std::vector<std::int64_t>> documents = {};  // per batch row, packed document lengths
  std::int64_t pad = 0;                                   // extra elements per time step of q, k, v
  bool lse = true;                                        // the forward writes lse (else null)
};

// The forward (or, with split_keys, the split-key decoding kernel, which must take the case)
// and the backward against the CPU.
template <class T>
void check_attention(const AttentionCase& c, bool split_keys = false) {
  INFO(type_name(T()) << " " << c.name << ": B " << c.B << " T " << c.T << " S " << c.S << " Hq " << c.Hq << " Hkv "
                      << c.Hkv << " d " << c.d);
  Random rng(std::uint64_t(c.T * 1000 + c.S * 10 + c.d));
  const std::int64_t qst = c.Hq * c.d + c.pad, qsb = c.T * qst + 3, kst = c.Hkv * c.d + c.pad, ksb = c.S * kst + 5;
  const std::vector<T> q = cast<T>(rng.normal(sz(std::max<std::int64_t>(1, c.B * qsb))));
  const std::vector<T> k = cast<T>(rng.normal(sz(std::max<std::int64_t>(1, c.B * ksb))));
  const std::vector<T> v = cast<T>(rng.normal(sz(std::max<std::int64_t>(1, c.B * ksb))));
  const std::size_t nq = sz(c.B * c.T * c.Hq * c.d), nk = sz(c.B * c.S * c.Hkv * c.d), nl = sz(c.B * c.Hq * c.T);
  const std::vector<T> dout = cast<T>(rng.normal(nq));
  std::vector<std::int64_t> starts;
  for (const auto& row : c.documents) {
    std::int64_t position = 0;
    for (std::int64_t length : row) {
      for (std::int64_t t = 0; t < length; ++t) starts.push_back(position);
      position += length;
    }
  }
  REQUIRE((starts.empty() || std::int64_t(starts.size()) == c.B * c.T));
  auto fill = [&](auto& a) {
    a.batch = c.B, a.q_len = c.T, a.kv_len = c.S, a.n_heads = c.Hq, a.n_kv_heads = c.Hkv, a.head_dim = c.d;
    a.query_offset = c.offset, a.causal = c.causal, a.window = c.window;
    a.scale = T(1.0 / std::sqrt(double(c.d)));
    a.q_stride_b = qsb, a.q_stride_t = qst, a.k_stride_b = ksb, a.k_stride_t = kst;
    a.v_stride_b = ksb, a.v_stride_t = kst;
  };
  cpu::AttentionArgs<T> ca;
  fill(ca);
  std::vector<T> out(nq), lse(nl), dq(nq), dk(nk), dv(nk);
  ca.seq_start = starts.empty() ? nullptr : starts.data();
  ca.q = q.data(), ca.k = k.data(), ca.v = v.data(), ca.out = out.data(), ca.lse = lse.data();
  cpu::attention_fwd_cpu(ca);
  cpu::AttentionGradArgs<T> cg;
  std::vector<T> cws(sz(cpu::attention_bwd_workspace_size(ca)) + 1);  // never null
  cg.fwd = ca, cg.dout = dout.data(), cg.dq = dq.data(), cg.dk = dk.data(), cg.dv = dv.data(), cg.workspace = cws.data();
  cpu::attention_bwd_cpu(cg);

  Buffer<T> qd(q), kd(k), vd(v), outd(nq), lsed(nl), doutd(dout), dqd(nq), dkd(nk), dvd(nk);
  Buffer<std::int64_t> sd(starts);
  cu::AttentionArgs<T> ga;
  fill(ga);
  ga.seq_start = starts.empty() ? nullptr : sd.data();
  ga.q = qd.data(), ga.k = kd.data(), ga.v = vd.data(), ga.out = outd.data(), ga.lse = c.lse ? lsed.data() : nullptr;
  if (split_keys) {
    REQUIRE(cu::attention_decode_splits(ga) >= 2);
    Buffer<T> ws(sz(cu::attention_decode_workspace_size(ga)));
    REQUIRE(cu::attention_decode_cuda(ga, ws.data(), 0) == "");
    CHECK(ws.guards_intact());
  } else {
    REQUIRE(cu::attention_fwd_cuda(ga, 0) == "");
  }
  EMU_CHECK_CLOSE(outd, out, kTol<T>);
  if (c.lse)
    EMU_CHECK_CLOSE(lsed, lse, kTol<T>);
  else
    CHECK(lsed.guards_intact());
  if (split_keys) return;
  // the backward reads the forward's out and lse: the CPU's, so that only it is compared
  Buffer<T> out_in(out), lse_in(lse), ws(sz(cu::attention_bwd_workspace_size(ga)));
  cu::AttentionGradArgs<T> gg;
  gg.fwd = ga, gg.fwd.out = out_in.data(), gg.fwd.lse = lse_in.data();
  gg.dout = doutd.data(), gg.dq = dqd.data(), gg.dk = dkd.data(), gg.dv = dvd.data(), gg.workspace = ws.data();
  REQUIRE(cu::attention_bwd_cuda(gg, 0) == "");
  EMU_CHECK_CLOSE(dqd, dq, kTol<T>);
  EMU_CHECK_CLOSE(dkd, dk, kTol<T>);
  EMU_CHECK_CLOSE(dvd, dv, kTol<T>);
  CHECK(ws.guards_intact());
}

// Head dims in each bound (64, 128, 256) and between; T and S off the tile sizes.
const std::vector<AttentionCase> kCases = {
    {"causal GQA d 40", 2, 37, 37, 4, 2, 40, true},
    {"full MQA T 20 S 53 d 64", 1, 20, 53, 3, 1, 64, false},
    {"decode: causal with offset, d 128", 2, 5, 70, 2, 2, 128, true, 65},
    {"causal offset mid-sequence, d 33", 1, 9, 50, 2, 1, 33, true, 20},
    {"sliding window 7, d 16", 1, 90, 90, 4, 4, 16, true, 0, 7},
    {"window 5 decode, d 8, no lse", 1, 3, 40, 2, 1, 8, true, 37, 5, {}, 0, false},
    {"packed documents, d 32", 2, 80, 80, 4, 2, 32, true, 0, 0, {{30, 1, 49}, {80}}},
    {"packed documents and window 10, d 32", 2, 80, 80, 4, 2, 32, true, 0, 10, {{30, 1, 17, 32}, {3, 77}}},
    {"d 256 causal", 1, 33, 33, 2, 1, 256, true},
    {"d 200 full", 1, 17, 21, 2, 2, 200, false},
    {"d 3 with strided q, k, v", 2, 19, 23, 4, 2, 3, false, 0, 0, {}, 7},
    {"d 1 causal", 1, 12, 12, 1, 1, 1, true},
    {"d 65, strided", 1, 40, 40, 4, 2, 65, true, 0, 0, {}, 13},
    {"no keys: out 0, lse -inf, dq 0", 2, 6, 0, 2, 1, 16, false},
    {"window past every key: rows that see nothing", 1, 8, 10, 2, 2, 8, true, 30, 3},
};

// Decoding shapes for the split-key kernel: splits of 256 keys, partial last splits, rows =
// query heads of a group x query rows in tiles of 16 (one, several, a partial one), every
// head_dim bound (256 in f64: the 16-key tiles), masks that leave whole splits or rows
// without keys.
const std::vector<AttentionCase> kDecodeCases = {
    {"one row, GQA 4, d 64", 2, 1, 600, 8, 2, 64, true, 599},
    {"MQA 16 heads x 2 rows, d 128", 1, 2, 700, 16, 1, 128, true, 698},
    {"window 300 across splits, d 40", 1, 3, 1100, 4, 2, 40, true, 1097, 300},
    {"d 256, no lse", 1, 1, 530, 2, 1, 256, true, 529, 0, {}, 0, false},
    {"cross-attention, strided, d 33", 2, 4, 520, 4, 4, 33, false, 0, 0, {}, 5},
    {"window 10: most splits see nothing", 1, 1, 1024, 2, 2, 16, true, 1023, 10},
    {"8 heads x 5 rows: three row tiles, d 24", 1, 5, 600, 8, 1, 24, true, 595},
    {"early rows of a causal prefix see no later split", 1, 3, 800, 2, 1, 8, true, 10},
};

}  // namespace

TEST_CASE("attention: the split-key decoding kernel against the CPU", "[attention]") {
  for (const AttentionCase& c : kDecodeCases) {
    check_attention<double>(c, true);
    check_attention<float>(c, true);
  }
  emu::ScopedGridLimit limit(0, 1);  // one block row: every (batch, head, row tile) looped over
  check_attention<double>(kDecodeCases[0], true);
  check_attention<double>(kDecodeCases[6], true);
}

TEST_CASE("attention: the split-key kernel takes few rows against many keys, nothing else", "[attention]") {
  cu::AttentionArgs<float> a;
  a.batch = 1, a.q_len = 1, a.kv_len = 257, a.n_heads = 8, a.n_kv_heads = 2, a.head_dim = 64;
  CHECK(cu::attention_decode_splits(a) == 2);
  a.kv_len = 256;  // one split: the tiled forward
  CHECK(cu::attention_decode_splits(a) == 0);
  a.kv_len = 4096, a.q_len = 16;  // 4 heads x 16 rows = 64 rows: still
  CHECK(cu::attention_decode_splits(a) == 16);
  a.q_len = 17;  // 68 rows: the tiled forward
  CHECK(cu::attention_decode_splits(a) == 0);
  const std::int64_t starts[1] = {0};
  a.q_len = 1, a.seq_start = starts;  // packed documents: the tiled forward
  CHECK(cu::attention_decode_splits(a) == 0);
  CHECK(cu::attention_decode_cuda(a, static_cast<float*>(nullptr), 0).find("do not take") != std::string::npos);
  a.seq_start = nullptr;
  CHECK(cu::attention_decode_cuda(a, static_cast<float*>(nullptr), 0).find("workspace") != std::string::npos);
}

TEST_CASE("attention: forward and backward against the CPU, f64", "[attention]") {
  for (const AttentionCase& c : kCases) check_attention<double>(c);
}

TEST_CASE("attention: forward and backward against the CPU, f32", "[attention]") {
  for (const AttentionCase& c : kCases) check_attention<float>(c);
}

TEST_CASE("attention: a grid smaller than the tiles, each block taking several", "[attention]") {
  emu::ScopedGridLimit limit(2);
  check_attention<double>(kCases[0]);
  check_attention<float>(kCases[7]);
  check_attention<double>(kCases[8]);
}

TEST_CASE("attention: dynamic shared memory over 48 KiB is opted into, within 99 KiB", "[attention]") {
  // d 256 in f64: the largest tiles; the launches fail unless cudaFuncSetAttribute allowed them
  check_attention<double>(kCases[8]);
  CHECK(emu::stats().max_dynamic_shared > 48 * 1024);
  CHECK(emu::stats().max_dynamic_shared <= 99 * 1024);
}

TEST_CASE("attention: head_dim over 256 and heads not grouping evenly are errors", "[attention]") {
  std::vector<float> x(4096);
  cu::AttentionArgs<float> a;
  a.batch = 1, a.q_len = 1, a.kv_len = 1, a.n_heads = 1, a.n_kv_heads = 1, a.head_dim = 257;
  a.q = a.k = a.v = x.data(), a.out = a.lse = x.data();
  CHECK(cu::attention_fwd_cuda(a, 0).find("head_dim") != std::string::npos);
  a.head_dim = 4, a.n_heads = 3, a.n_kv_heads = 2;
  CHECK(cu::attention_fwd_cuda(a, 0) != "");
  cu::AttentionGradArgs<float> g;
  g.fwd = a;
  CHECK(cu::attention_bwd_cuda(g, 0) != "");
}
