// Packed documents (strata/packing.h) through the sequence ops: a batch whose rows hold
// several documents gives, for every document, the outputs and gradients of running that
// document alone (f64). Covers attention (flash and naive; GQA, sliding window, documents
// that span query and key tiles), RoPE positions, the causal conv, the selective scan and
// SSD (initial state reaching only a row's first document, final state from its last),
// plus the starts helpers and their errors.
#include <functional>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/packing.h"

using namespace strata;
using test::leaf;

namespace {

// An op under test on packed or single documents: per_token inputs are [B, T, ...], per_row
// inputs [B, ...] (initial states: undefined for a document that is not its row's first),
// shared inputs are parameters. Returns per-token outputs [B, T, ...] and per-row outputs
// [B, ...] (final states).
struct OpOutputs {
  std::vector<Tensor> per_token, per_row;
};
using PackedOp = std::function<OpOutputs(const std::vector<Tensor>& per_token, const std::vector<Tensor>& per_row,
                                         const std::vector<Tensor>& shared, const Tensor& starts)>;

struct PackedInputs {
  std::vector<Tensor> per_token, per_row, shared;  // leaves that require grad
};

Tensor fresh_leaf(const Tensor& t) { return t.detach().contiguous().requires_grad_(); }

// sum(out * weight) over every output, the weights fixed random values of the outputs' shapes
Tensor weighted_sum(const std::vector<Tensor>& outs, const std::vector<Tensor>& weights) {
  Tensor total = Tensor::zeros({}, DType::f64);
  for (std::size_t i = 0; i < outs.size(); ++i) total = add(total, sum(mul(outs[i], weights[i])));
  return total;
}

// Runs `op` on the packed batch and on every document alone; requires equal outputs and
// gradients of every input.
void require_packed_equals_one_by_one(const PackedOp& op, const PackedInputs& in,
                                      const std::vector<std::vector<std::int64_t>>& lengths, double tol = 1e-10) {
  const std::int64_t B = in.per_token[0].size(0), T = in.per_token[0].size(1);
  const Tensor starts = sequence_starts_from_lengths(lengths, T);
  for (const auto* group : {&in.per_token, &in.per_row, &in.shared})
    for (const Tensor& x : *group) Tensor(x).set_grad(Tensor());  // from an earlier call
  Generator gen(99);
  const OpOutputs packed = op(in.per_token, in.per_row, in.shared, starts);
  std::vector<Tensor> wt, wr;
  for (const Tensor& y : packed.per_token) wt.push_back(Tensor::randn(y.shape(), gen, DType::f64));
  for (const Tensor& s : packed.per_row) wr.push_back(Tensor::randn(s.shape(), gen, DType::f64));
  add(weighted_sum(packed.per_token, wt), weighted_sum(packed.per_row, wr)).backward();

  std::vector<Tensor> shared_grads;
  for (const Tensor& s : in.shared) shared_grads.push_back(Tensor::zeros(s.shape(), DType::f64));
  for (std::int64_t b = 0; b < B; ++b) {
    const std::vector<SequenceRange> docs = sequence_ranges(starts, b);
    REQUIRE(docs.size() == lengths[std::size_t(b)].size());
    for (std::size_t d = 0; d < docs.size(); ++d) {
      const auto [t0, t1] = docs[d];
      INFO("row " << b << ", document " << d << " [" << t0 << ", " << t1 << ")");
      std::vector<Tensor> tok, row, shared;
      for (const Tensor& x : in.per_token) tok.push_back(fresh_leaf(x.slice(0, b, b + 1).slice(1, t0, t1)));
      for (const Tensor& x : in.per_row) row.push_back(d == 0 ? fresh_leaf(x.slice(0, b, b + 1)) : Tensor());
      for (const Tensor& x : in.shared) shared.push_back(fresh_leaf(x));
      const OpOutputs alone = op(tok, row, shared, Tensor());
      Tensor loss = Tensor::zeros({}, DType::f64);
      for (std::size_t i = 0; i < alone.per_token.size(); ++i) {
        const Tensor part = packed.per_token[i].slice(0, b, b + 1).slice(1, t0, t1);
        STRATA_REQUIRE_CLOSE(alone.per_token[i], part.detach(), tol, tol);
        loss = add(loss, sum(mul(alone.per_token[i], wt[i].slice(0, b, b + 1).slice(1, t0, t1))));
      }
      const bool last = d + 1 == docs.size();
      for (std::size_t i = 0; i < alone.per_row.size() && last; ++i) {
        STRATA_REQUIRE_CLOSE(alone.per_row[i], packed.per_row[i].slice(0, b, b + 1).detach(), tol, tol);
        loss = add(loss, sum(mul(alone.per_row[i], wr[i].slice(0, b, b + 1))));
      }
      loss.backward();
      for (std::size_t i = 0; i < tok.size(); ++i) {
        INFO("gradient of per-token input " << i);
        STRATA_REQUIRE_CLOSE(tok[i].grad(), in.per_token[i].grad().slice(0, b, b + 1).slice(1, t0, t1), tol, tol);
      }
      for (std::size_t i = 0; i < row.size() && d == 0; ++i) {
        INFO("gradient of per-row input " << i);
        STRATA_REQUIRE_CLOSE(row[i].grad(), in.per_row[i].grad().slice(0, b, b + 1), tol, tol);
      }
      for (std::size_t i = 0; i < shared.size(); ++i)
        if (shared[i].grad().defined()) shared_grads[i] = add(shared_grads[i], shared[i].grad());
    }
  }
  for (std::size_t i = 0; i < in.shared.size(); ++i) {
    INFO("gradient of shared input " << i);
    STRATA_REQUIRE_CLOSE(shared_grads[i], in.shared[i].grad(), tol, tol);
  }
}

// Row 0: documents spanning the 64-row query and 128-row key tiles of the flash kernel and
// the selective scan's 64-step chunks; row 1: a one-token document and one document.
const std::vector<std::vector<std::int64_t>> kLongRows = {{70, 1, 150, 79}, {1, 299}};

}  // namespace

TEST_CASE("packing: starts from lengths, positions, sequence ids and ranges", "[packing]") {
  const Tensor starts = sequence_starts_from_lengths({{3, 2, 3}, {8}}, 8);
  CHECK(starts.to_vector<std::int64_t>() == std::vector<std::int64_t>{0, 0, 0, 3, 3, 5, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(positions_in_sequence(starts).to_vector<std::int64_t>() ==
        std::vector<std::int64_t>{0, 1, 2, 0, 1, 0, 1, 2, 0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(sequence_ids(starts) == std::vector<std::int64_t>{0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3});
  const std::vector<SequenceRange> r = sequence_ranges(starts, 0);
  REQUIRE(r.size() == 3);
  CHECK((r[1].begin == 3 && r[1].end == 5 && r[2].begin == 5 && r[2].end == 8));
  REQUIRE_NOTHROW(check_sequence_starts(starts, 2, 8, "test"));
}

TEST_CASE("packing: invalid starts are refused with the row and token", "[packing]") {
  const auto starts = [](std::vector<std::int64_t> v) { return Tensor::from_vector(v, {1, 4}); };
  CHECK_THROWS_WITH(check_sequence_starts(starts({0, 0, 1, 1}), 1, 4, "attention"),
                    Catch::Contains("attention: sequence start 1 at row 0, token 2"));
  CHECK_THROWS_WITH(check_sequence_starts(starts({1, 1, 2, 2}), 1, 4, "x"),
                    Catch::Contains("token 0 is not 0"));
  CHECK_THROWS_WITH(check_sequence_starts(starts({0, 0, 2, 0}), 1, 4, "x"),
                    Catch::Contains("token 3"));
  CHECK_THROWS_AS(check_sequence_starts(starts({0, 0, 0, 0}), 1, 5, "x"), ShapeError);
  CHECK_THROWS_AS(check_sequence_starts(Tensor::zeros({1, 4}), 1, 4, "x"), DTypeError);
  CHECK_THROWS_AS(sequence_starts_from_lengths({{3, 2}}, 4), ValueError);
  CHECK_THROWS_AS(sequence_starts_from_lengths({{3}}, 4), ValueError);
}

TEST_CASE("packing: flash and naive attention keep documents apart", "[packing][attention]") {
  struct Case {
    const char* name;
    std::int64_t Hq, Hkv, window;
    AttentionImpl impl;
  };
  const Case cases[] = {{"flash, MHA", 2, 2, 0, AttentionImpl::flash},
                        {"flash, GQA 4/2", 4, 2, 0, AttentionImpl::flash},
                        {"flash, window 40", 2, 1, 40, AttentionImpl::flash},
                        {"naive, GQA", 4, 2, 0, AttentionImpl::naive}};
  for (const Case& c : cases) {
    SECTION(c.name) {
      Generator gen(5);
      const std::int64_t B = 2, T = 300, d = 8;
      PackedInputs in{{leaf({B, T, c.Hq, d}, gen), leaf({B, T, c.Hkv, d}, gen), leaf({B, T, c.Hkv, d}, gen)}, {}, {}};
      const PackedOp op = [&](const std::vector<Tensor>& x, const std::vector<Tensor>&, const std::vector<Tensor>&,
                              const Tensor& starts) {
        AttentionOptions o;
        o.window = c.window;
        o.impl = c.impl;
        o.sequence_starts = starts;
        return OpOutputs{{attention(x[0], x[1], x[2], o)}, {}};
      };
      require_packed_equals_one_by_one(op, in, kLongRows);
    }
  }
}

TEST_CASE("packing: attention refuses starts without causal self-attention", "[packing][attention]") {
  Generator gen(1);
  const Tensor q = leaf({1, 4, 1, 2}, gen), k = leaf({1, 6, 1, 2}, gen);
  AttentionOptions o;
  o.sequence_starts = sequence_starts_from_lengths({{2, 2}}, 4);
  CHECK_THROWS_WITH(attention(q, k, k, o), Catch::Contains("causal self-attention"));
  o.causal = false;
  CHECK_THROWS_WITH(attention(q, q, q, o), Catch::Contains("causal self-attention"));
}

TEST_CASE("packing: RoPE positions restart in every document", "[packing][rope]") {
  Generator gen(2);
  PackedInputs in{{leaf({2, 300, 2, 8}, gen)}, {}, {}};
  const PackedOp op = [](const std::vector<Tensor>& x, const std::vector<Tensor>&, const std::vector<Tensor>&,
                         const Tensor& starts) {
    RopeOptions o;
    o.rotary_dim = 6;
    if (starts.defined()) o.positions = positions_in_sequence(starts);
    return OpOutputs{{rope(x[0], o)}, {}};
  };
  require_packed_equals_one_by_one(op, in, kLongRows);
  RopeOptions wrong;
  wrong.positions = Tensor::zeros({2, 300});  // f32, not i64
  CHECK_THROWS_AS(rope(in.per_token[0], wrong), ShapeError);
}

TEST_CASE("packing: the causal conv reads no input across a document start", "[packing][conv]") {
  Generator gen(3);
  const std::int64_t D = 5, K = 4;
  PackedInputs in{{leaf({2, 300, D}, gen)}, {leaf({2, K - 1, D}, gen)}, {leaf({D, K}, gen), leaf({D}, gen)}};
  const PackedOp op = [](const std::vector<Tensor>& x, const std::vector<Tensor>& row, const std::vector<Tensor>& w,
                         const Tensor& starts) {
    return OpOutputs{{causal_conv1d(x[0], w[0], w[1], row[0], starts)}, {}};
  };
  require_packed_equals_one_by_one(op, in, kLongRows);
  // Documents shorter than the kernel.
  require_packed_equals_one_by_one(op, in, {{1, 2, 297}, {3, 1, 1, 295}});
}

TEST_CASE("packing: the selective scan restarts its state at every document", "[packing][selective_scan]") {
  Generator gen(4);
  const std::int64_t B = 2, T = 300, D = 11, N = 5;
  PackedInputs in{{leaf({B, T, D}, gen), leaf({B, T, D}, gen, 0.5), leaf({B, T, N}, gen), leaf({B, T, N}, gen),
                   leaf({B, T, D}, gen)},
                  {leaf({B, D, N}, gen)},
                  {leaf({D, N}, gen, 0.5), leaf({D}, gen), leaf({D}, gen, 0.3)}};
  const PackedOp op = [](const std::vector<Tensor>& x, const std::vector<Tensor>& row, const std::vector<Tensor>& w,
                         const Tensor& starts) {
    SelectiveScanInputs s;
    s.u = x[0];
    s.delta = x[1];
    s.B = x[2];
    s.C = x[3];
    s.z = x[4];
    s.A = neg(exp(w[0]));
    s.D = w[1];
    s.delta_bias = w[2];
    s.initial_state = row[0];
    s.sequence_starts = starts;
    const SelectiveScanOutputs o = selective_scan(s);
    return OpOutputs{{o.y}, {o.final_state}};
  };
  require_packed_equals_one_by_one(op, in, kLongRows, 1e-9);
}

TEST_CASE("packing: SSD restarts its state at every document, chunks from each start", "[packing][ssd]") {
  for (const std::int64_t chunk : {8, 64}) {
    SECTION("chunk " + std::to_string(chunk)) {
      Generator gen(6);
      const std::int64_t B = 2, T = 300, H = 4, P = 3, G = 2, N = 5;
      PackedInputs in{{leaf({B, T, H, P}, gen), leaf({B, T, H}, gen, 0.5), leaf({B, T, G, N}, gen),
                       leaf({B, T, G, N}, gen)},
                      {leaf({B, H, P, N}, gen)},
                      {leaf({H}, gen, 0.5)}};
      const PackedOp op = [chunk](const std::vector<Tensor>& x, const std::vector<Tensor>& row,
                                  const std::vector<Tensor>& w, const Tensor& starts) {
        SsdInputs s;
        s.x = x[0];
        s.dt = exp(add(x[1], -3.0));  // steps around 0.05
        s.B = x[2];
        s.C = x[3];
        s.A = neg(exp(w[0]));
        s.initial_state = row[0];
        s.chunk = chunk;
        s.sequence_starts = starts;
        const SsdOutputs o = ssd(s);
        return OpOutputs{{o.y}, {o.final_state}};
      };
      require_packed_equals_one_by_one(op, in, kLongRows, 1e-9);
    }
  }
}

TEST_CASE("packing: the gated delta rule restarts its state at every document, chunks from each start",
          "[packing][gated_delta_rule]") {
  for (const std::int64_t chunk : {8, 64}) {
    SECTION("chunk " + std::to_string(chunk)) {
      Generator gen(7);
      const std::int64_t B = 2, T = 300, Hk = 2, H = 4, K = 3, V = 5;
      PackedInputs in{{leaf({B, T, Hk, K}, gen), leaf({B, T, Hk, K}, gen), leaf({B, T, H, V}, gen),
                       leaf({B, T, H}, gen, 0.5), leaf({B, T, H}, gen)},
                      {leaf({B, H, K, V}, gen)},
                      {}};
      const PackedOp op = [chunk](const std::vector<Tensor>& x, const std::vector<Tensor>& row,
                                  const std::vector<Tensor>&, const Tensor& starts) {
        GatedDeltaRuleInputs s;
        s.q = x[0];
        s.k = x[1];
        s.v = x[2];
        s.g = neg(exp(add(x[3], -2.0)));  // decays around 0.87 per step
        s.beta = sigmoid(x[4]);
        s.initial_state = row[0];
        s.chunk = chunk;
        s.sequence_starts = starts;
        const GatedDeltaRuleOutputs o = gated_delta_rule(s);
        return OpOutputs{{o.o}, {o.final_state}};
      };
      require_packed_equals_one_by_one(op, in, kLongRows, 1e-9);
    }
  }
}
