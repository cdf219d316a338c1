// gated_delta_rule (Gated DeltaNet's chunked WY / UT-transform form): the chunked kernel
// against the token-by-token recurrence (f64 and f32, many chunk sizes, T not a multiple of
// the chunk, value heads sharing key heads, with and without an initial state), f64
// gradient checks of every input through o and the final state, chunked processing with
// the state passed along, and errors.
#include <cmath>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/ops.h"

using namespace strata;

namespace {

struct DeltaCase {
  std::int64_t B, T, Hk, H, K, V;
  bool with_state;
};

// Unit-norm q and k (the layer L2-normalises them), beta in (0, 1), decays exp(g) around
// 0.9 per step: the ranges a trained Gated DeltaNet runs in.
GatedDeltaRuleInputs make_inputs(const DeltaCase& c, Generator& gen, DType dtype) {
  auto randn = [&](const Shape& s, double scale, double shift = 0.0) {
    return add(mul(Tensor::randn(s, gen, DType::f64), scale), shift);
  };
  auto unit = [&](const Tensor& x) { return div(x, sqrt(sum(mul(x, x), {-1}, true))); };
  GatedDeltaRuleInputs in;
  in.q = unit(randn({c.B, c.T, c.Hk, c.K}, 1.0)).to(dtype);
  in.k = unit(randn({c.B, c.T, c.Hk, c.K}, 1.0)).to(dtype);
  in.v = randn({c.B, c.T, c.H, c.V}, 1.0).to(dtype);
  in.g = neg(exp(randn({c.B, c.T, c.H}, 0.5, -2.5))).to(dtype);
  in.beta = sigmoid(randn({c.B, c.T, c.H}, 1.0)).to(dtype);
  if (c.with_state) in.initial_state = randn({c.B, c.H, c.K, c.V}, 1.0).to(dtype);
  return in;
}

// The recurrence one token at a time, in f64, as transformers' torch_recurrent_gated_delta_rule
// writes it: decay the state, read it at k, write beta (v - read) along k, read at q.
GatedDeltaRuleOutputs reference_recurrence(const GatedDeltaRuleInputs& in) {
  const auto vec = [](const Tensor& t) { return t.to(DType::f64).to_vector<double>(); };
  const auto q = vec(in.q), k = vec(in.k), v = vec(in.v), g = vec(in.g), beta = vec(in.beta);
  const std::int64_t B = in.q.size(0), T = in.q.size(1), Hk = in.q.size(2), K = in.q.size(3), H = in.v.size(2),
                     V = in.v.size(3);
  const double scale = in.scale > 0 ? in.scale : 1.0 / std::sqrt(double(K));
  std::vector<double> S(std::size_t(B * H * K * V), 0.0), o(std::size_t(B * T * H * V), 0.0), read(std::size_t(V), 0.0);
  if (in.initial_state.defined()) S = vec(in.initial_state);
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t hk = h / (H / Hk), ht = (b * T + t) * H + h;
        const double* kt = &k[std::size_t(((b * T + t) * Hk + hk) * K)];
        const double* qt = &q[std::size_t(((b * T + t) * Hk + hk) * K)];
        const double* vt = &v[std::size_t(ht * V)];
        double* s = &S[std::size_t((b * H + h) * K * V)];
        for (std::int64_t n = 0; n < K * V; ++n) s[n] *= std::exp(g[std::size_t(ht)]);
        for (std::int64_t j = 0; j < V; ++j) {
          read[std::size_t(j)] = 0;
          for (std::int64_t i = 0; i < K; ++i) read[std::size_t(j)] += s[i * V + j] * kt[i];
        }
        for (std::int64_t i = 0; i < K; ++i)
          for (std::int64_t j = 0; j < V; ++j) s[i * V + j] += kt[i] * beta[std::size_t(ht)] * (vt[j] - read[std::size_t(j)]);
        for (std::int64_t j = 0; j < V; ++j) {
          double out = 0;
          for (std::int64_t i = 0; i < K; ++i) out += s[i * V + j] * scale * qt[i];
          o[std::size_t(ht * V + j)] = out;
        }
      }
  return {Tensor::from_vector(o, {B, T, H, V}), Tensor::from_vector(S, {B, H, K, V})};
}

std::vector<Tensor*> fields(GatedDeltaRuleInputs& in) {
  return {&in.q, &in.k, &in.v, &in.g, &in.beta, &in.initial_state};
}

}  // namespace

TEST_CASE("gated_delta_rule equals the token-by-token recurrence for every chunk size (f64 and f32)",
          "[ops][gated_delta_rule]") {
  Generator gen(190);
  for (const DeltaCase& c : std::vector<DeltaCase>{{2, 23, 2, 4, 3, 5, true},
                                                   {1, 64, 1, 2, 8, 6, false},
                                                   {3, 17, 3, 3, 4, 2, true},
                                                   {1, 1, 1, 1, 1, 1, false},
                                                   {2, 130, 1, 2, 16, 8, true}}) {
    GatedDeltaRuleInputs in = make_inputs(c, gen, DType::f64);
    const GatedDeltaRuleOutputs ref = reference_recurrence(in);
    for (std::int64_t chunk : {1, 2, 3, 5, 8, 16, 64, 256}) {
      INFO("B " << c.B << " T " << c.T << " Hk " << c.Hk << " H " << c.H << " K " << c.K << " V " << c.V << " h0? "
                << c.with_state << " chunk " << chunk);
      in.chunk = chunk;
      const GatedDeltaRuleOutputs got = gated_delta_rule(in);
      STRATA_REQUIRE_CLOSE(got.o, ref.o, 1e-11, 1e-11);
      STRATA_REQUIRE_CLOSE(got.final_state, ref.final_state, 1e-11, 1e-11);
      GatedDeltaRuleInputs f32 = in;
      for (Tensor* t : fields(f32))
        if (t->defined()) *t = t->to(DType::f32);
      const GatedDeltaRuleOutputs got32 = gated_delta_rule(f32);
      STRATA_REQUIRE_CLOSE(got32.o, ref.o, 1e-4, 1e-4);
      STRATA_REQUIRE_CLOSE(got32.final_state, ref.final_state, 1e-4, 1e-4);
    }
  }
}

TEST_CASE("gated_delta_rule: an explicit scale multiplies q", "[ops][gated_delta_rule]") {
  Generator gen(191);
  GatedDeltaRuleInputs in = make_inputs({1, 9, 1, 2, 4, 3, true}, gen, DType::f64);
  in.scale = 0.7;
  in.chunk = 4;
  STRATA_REQUIRE_CLOSE(gated_delta_rule(in).o, reference_recurrence(in).o, 1e-11, 1e-11);
}

TEST_CASE("gated_delta_rule gradient checks in f64 (q, k, v, g, beta, initial state, through o and the final state)",
          "[ops][gated_delta_rule][gradcheck]") {
  Generator gen(192);
  for (const auto& [c, chunk] : std::vector<std::pair<DeltaCase, std::int64_t>>{{{2, 7, 1, 2, 3, 2, true}, 3},
                                                                                {{1, 9, 2, 4, 2, 3, true}, 4},
                                                                                {{2, 5, 3, 3, 2, 2, false}, 8},
                                                                                {{1, 6, 1, 2, 3, 2, true}, 1}}) {
    INFO("T " << c.T << " Hk " << c.Hk << " H " << c.H << " chunk " << chunk);
    GatedDeltaRuleInputs in = make_inputs(c, gen, DType::f64);
    std::vector<Tensor> leaves;
    for (Tensor* t : fields(in))
      if (t->defined()) leaves.push_back(t->detach().requires_grad_());
    const bool with_state = c.with_state;
    const std::int64_t chunk_size = chunk;
    STRATA_REQUIRE_GRADCHECK(
        [with_state, chunk_size](const std::vector<Tensor>& v) {
          GatedDeltaRuleInputs s{v[0], v[1], v[2], v[3], v[4], with_state ? v[5] : Tensor(), 0.0, chunk_size, Tensor()};
          const GatedDeltaRuleOutputs o = gated_delta_rule(s);
          return std::vector<Tensor>{o.o, o.final_state};
        },
        leaves);
  }
}

TEST_CASE("gated_delta_rule: two halves with the state passed along equal one pass, gradients included",
          "[ops][gated_delta_rule]") {
  Generator gen(193);
  GatedDeltaRuleInputs in = make_inputs({2, 40, 2, 4, 4, 6, true}, gen, DType::f64);
  in.chunk = 16;
  const GatedDeltaRuleOutputs whole = gated_delta_rule(in);
  GatedDeltaRuleInputs first = in, second = in;
  for (auto name : {&GatedDeltaRuleInputs::q, &GatedDeltaRuleInputs::k, &GatedDeltaRuleInputs::v,
                    &GatedDeltaRuleInputs::g, &GatedDeltaRuleInputs::beta}) {
    first.*name = (in.*name).slice(1, 0, 25);
    second.*name = (in.*name).slice(1, 25, 40);
  }
  const GatedDeltaRuleOutputs a = gated_delta_rule(first);
  second.initial_state = a.final_state;
  const GatedDeltaRuleOutputs b = gated_delta_rule(second);
  STRATA_REQUIRE_CLOSE(concat({a.o, b.o}, 1), whole.o, 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(b.final_state, whole.final_state, 1e-12, 1e-12);
}

TEST_CASE("gated_delta_rule: bad shapes are clear errors", "[ops][gated_delta_rule][errors]") {
  Generator gen(194);
  const GatedDeltaRuleInputs good = make_inputs({1, 4, 2, 4, 2, 3, true}, gen, DType::f32);
  GatedDeltaRuleInputs bad = good;
  bad.v = Tensor::zeros({1, 4, 3, 3});
  CHECK_THROWS_WITH(gated_delta_rule(bad), Catch::Contains("3 value heads cannot share 2 key heads"));
  bad = good;
  bad.g = Tensor::zeros({1, 4, 2});
  CHECK_THROWS_WITH(gated_delta_rule(bad), Catch::Contains("g is [1, 4, 2], expected [1, 4, 4]"));
  bad = good;
  bad.k = Tensor::zeros({1, 4, 2, 3});
  CHECK_THROWS_WITH(gated_delta_rule(bad), Catch::Contains("k is [1, 4, 2, 3]"));
  bad = good;
  bad.initial_state = Tensor::zeros({1, 4, 3, 2});
  CHECK_THROWS_WITH(gated_delta_rule(bad), Catch::Contains("initial_state"));
  bad = good;
  bad.chunk = 0;
  CHECK_THROWS_AS(gated_delta_rule(bad), ValueError);
  bad = good;
  bad.scale = -1;
  CHECK_THROWS_AS(gated_delta_rule(bad), ValueError);
  bad = good;
  bad.beta = bad.beta.to(DType::f64);
  CHECK_THROWS_AS(gated_delta_rule(bad), DTypeError);
}
