// The conformance cases of the core table entries. Shapes are chosen to hit the kernels'
// edges: row lengths that are not multiples of the vector width (8/16 lanes), sequence
// lengths that are not multiples of the attention and scan tiles, strided (transposed,
// sliced) views, broadcasting, empty groups, GQA, sliding windows and partial rotary.
#include <cmath>

#include "strata/ops.h"
#include "strata/optim.h"
#include "strata/random.h"
#include "strata/testing/conformance.h"

namespace strata::testing {

namespace {

using Inputs = std::vector<Tensor>;

// f64 inputs from one generator per case, so cases do not depend on each other's order.
struct Maker {
  explicit Maker(std::uint64_t seed) : gen(seed) {}
  Tensor randn(const Shape& s, double scale = 1.0) { return scale * Tensor::randn(s, gen, DType::f64); }
  Tensor positive(const Shape& s) { return Tensor::rand(s, gen, DType::f64, 0.5, 2.0); }
  Tensor ids(const Shape& s, std::int64_t n) { return Tensor::randint(s, 0, n, gen); }
  Generator gen;
};

ConformanceCase make(std::string name, std::vector<std::string> ops, Inputs inputs,
                     std::function<std::vector<Tensor>(const Inputs&)> fn) {
  return {std::move(name), std::move(ops), std::move(inputs), std::move(fn)};
}

void elementwise_cases(std::vector<ConformanceCase>& out) {
  Maker m(11);
  // [3, 1, 17] (op) [4, 17]^T-view: broadcasting on both sides, b read through strides
  out.push_back(make("binary ops, broadcast [3,1,17] x [4,17] (strided)", {"binary", "sum"},
                     {m.randn({3, 1, 17}), m.randn({17, 4}), m.positive({4, 17})}, [](const Inputs& x) {
                       const Tensor b = transpose(x[1], 0, 1);  // [4, 17], column-major view
                       return Inputs{add(x[0], b), sub(b, x[0]), mul(x[0], b), div(x[0], x[2])};
                     }));
  out.push_back(make("scalar affine ops [5, 19]", {"affine"}, {m.randn({5, 19})}, [](const Inputs& x) {
    return Inputs{add(x[0], 0.25), mul(x[0], -1.5), neg(x[0])};
  }));
  out.push_back(make("unary functions [7, 23]", {"unary", "unary_backward"}, {m.randn({7, 23}), m.positive({7, 23})},
                     [](const Inputs& x) {
                       const Tensor& a = x[0];
                       return Inputs{exp(a),   log(x[1]),  sqrt(x[1]), square(a),
                                     tanh(a),  sigmoid(a), relu(a),    silu(a),
                                     gelu(a),  gelu(a, GeluApprox::tanh), softplus(a, 2.0, 5.0)};
                     }));
  out.push_back(make("copies: contiguous, to(dtype), concat of strided views", {"copy"},
                     {m.randn({6, 9}), m.randn({6, 4})}, [](const Inputs& x) {
                       const Tensor t = transpose(x[0], 0, 1);  // [9, 6] strided
                       return Inputs{t.contiguous(), concat({x[0], x[1]}, 1),
                                     slice(x[0], 1, 1, 9, 2).contiguous()};
                     }));
  out.push_back(make("fill: zeros, full and in-place fill of a strided view", {"fill"}, {m.randn({4, 10})},
                     [](const Inputs& x) {
                       const Tensor& a = x[0];
                       Tensor filled = Tensor::full({4, 10}, 0.5, a.dtype(), a.device());
                       Tensor strided = Tensor::zeros({4, 10}, a.dtype(), a.device());
                       Tensor every_other = slice(strided, 1, 0, 10, 2);
                       every_other.fill_(2.0);
                       return Inputs{add(a, filled), mul(a, strided)};
                     }));
  ConformanceCase random = make("random fills: uniform, normal, integers", {"random_fill"}, {m.randn({2})},
                                [](const Inputs& x) {
                                  Generator g(99);
                                  const DType t = x[0].dtype();
                                  const Device d = x[0].device();  // drawn there, by its backend
                                  return Inputs{Tensor::rand({1001}, g, t, -1.0, 3.0, d),
                                                Tensor::randn({1003}, g, t, 0.5, 2.0, d),
                                                Tensor::randint({517}, -7, 40, g, d)};
                                });
  random.differentiable = false;
  random.reference_in_tested_dtype = true;
  out.push_back(std::move(random));
  ConformanceCase inplace = make("in-place add_ (gradient accumulation), add_ of itself, mul_", {"axpy", "affine"},
                                 {m.randn({3, 29}), m.randn({29})}, [](const Inputs& x) {
                                   Tensor acc = x[0].detach().clone(), self = x[0].detach().clone();
                                   acc.add_(x[1], 0.5);  // broadcast source
                                   self.add_(self, 2.0);
                                   Tensor scaled = x[0].detach().clone();
                                   scaled.mul_(-3.0);
                                   return Inputs{acc, self, scaled};
                                 });
  inplace.differentiable = false;
  out.push_back(std::move(inplace));
  out.push_back(make("sum over axes {0, 2} and all of [5, 6, 37]", {"sum"}, {m.randn({5, 6, 37})},
                     [](const Inputs& x) { return Inputs{sum(x[0], {0, 2}), sum(x[0], {1}, true), sum(x[0])}; }));
}

void indexing_cases(std::vector<ConformanceCase>& out) {
  Maker m(12);
  out.push_back(make("embedding rows of [50, 19] with repeats", {"index_select", "index_add"},
                     {m.randn({50, 19}), m.ids({3, 11}, 50)},
                     [](const Inputs& x) { return Inputs{embedding(x[0], x[1])}; }));
  out.push_back(make("index_select / index_add along dim 1 of [3, 13, 5]", {"index_select", "index_add"},
                     {m.randn({3, 13, 5}), m.ids({9}, 13), m.randn({3, 9, 5})}, [](const Inputs& x) {
                       return Inputs{index_select(x[0], 1, x[1]), index_add(x[0], 1, x[1], x[2])};
                     }));
  out.push_back(make("gather / scatter_add along dim 1 of a strided [6, 11]", {"gather", "scatter_add"},
                     {m.randn({11, 6}), m.ids({6, 4}, 11), m.randn({6, 5})}, [](const Inputs& x) {
                       const Tensor t = transpose(x[0], 0, 1);  // [6, 11] strided
                       return Inputs{gather(t, 1, x[1]), scatter_add(t, 1, x[1], x[2])};
                     }));
  out.push_back(make("topk 5 of rows of 37", {"topk", "scatter_add"}, {m.randn({4, 37})}, [](const Inputs& x) {
    const TopK t = topk(x[0], 5);
    return Inputs{t.values, t.indices};
  }));
}

void row_cases(std::vector<ConformanceCase>& out) {
  Maker m(13);
  out.push_back(make("softmax / log_softmax rows of 33", {"softmax", "softmax_backward"}, {m.randn({7, 33}, 3.0)},
                     [](const Inputs& x) { return Inputs{softmax(x[0]), log_softmax(x[0])}; }));
  std::vector<std::int64_t> targets(21);  // every 5th position ignored (-100)
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i] = i % 5 == 4 ? -100 : std::int64_t(i * 7 % 41);
  out.push_back(make("cross_entropy over 41 classes, ignored rows, smoothing",
                     {"cross_entropy", "cross_entropy_backward"}, {m.randn({3, 7, 41}, 2.0), Tensor::from_vector(targets, {3, 7})},
                     [](const Inputs& x) {
                       CrossEntropyOptions none;
                       none.reduction = Reduction::none;
                       CrossEntropyOptions smooth;
                       smooth.label_smoothing = 0.1;
                       return Inputs{cross_entropy(x[0], x[1]), cross_entropy(x[0], x[1], none),
                                     cross_entropy(x[0], x[1], smooth)};
                     }));
  out.push_back(make("swiglu, separate and fused [gate | up], H = 21", {"swiglu", "swiglu_backward"},
                     {m.randn({5, 21}), m.randn({5, 21}), m.randn({2, 3, 42})},
                     [](const Inputs& x) { return Inputs{swiglu(x[0], x[1]), swiglu(x[2])}; }));
  out.push_back(make("rmsnorm with and without weight, rows of 35", {"rmsnorm", "rmsnorm_backward"},
                     {m.randn({2, 6, 35}), m.randn({35})},
                     [](const Inputs& x) { return Inputs{rmsnorm(x[0], x[1], 1e-5), rmsnorm(x[0], Tensor(), 1e-3)}; }));
  out.push_back(make("layernorm with weight and bias, rows of 35", {"layernorm", "layernorm_backward"},
                     {m.randn({9, 35}), m.randn({35}), m.randn({35})},
                     [](const Inputs& x) { return Inputs{layernorm(x[0], x[1], x[2], 1e-5)}; }));
  out.push_back(make("rope: rotate_half and interleaved, partial rotary, offset, strided heads, scaled frequencies",
                     {"rope"}, {m.randn({2, 5, 3, 24})}, [](const Inputs& x) {
                       RopeOptions half;
                       half.rotary_dim = 16;
                       half.position_offset = 7;
                       RopeOptions inter;
                       inter.interleaved = true;
                       inter.theta = 500000.0;
                       RopeOptions scaled;  // as YaRN: per-pair frequencies and a factor on cos and sin
                       scaled.rotary_dim = 8;
                       scaled.position_offset = 30;
                       scaled.inv_freq = {1.0, 0.2, 0.03, 0.001};
                       scaled.scale = 1.15;
                       const Tensor heads = slice(x[0], 2, 1, 3);  // [2, 5, 2, 24], heads of a wider tensor
                       return Inputs{rope(x[0], half), rope(heads, inter), rope(x[0], scaled)};
                     }));
}

void matmul_cases(std::vector<ConformanceCase>& out) {
  Maker m(14);
  out.push_back(make("matmul: folded batch, broadcast batch, transposed operands", {"gemm", "sum"},
                     {m.randn({2, 3, 5, 7}), m.randn({7, 9}), m.randn({3, 1, 7, 6}), m.randn({4, 5, 6})},
                     [](const Inputs& x) {
                       return Inputs{matmul(x[0], x[1]),                 // [2,3,5,7] x [7,9]: one tall product
                                     matmul(x[2], x[3], false, true),    // [3,1,7,6] x [4,5,6]^T: batched
                                     matmul(x[1], x[0], true, true)};    // [7,9]^T x [2,3,5,7]^T
                     }));
  out.push_back(make("linear with bias [3, 5, 17] -> 11", {"gemm", "sum"}, {m.randn({3, 5, 17}), m.randn({11, 17}),
                                                                             m.randn({11})},
                     [](const Inputs& x) { return Inputs{linear(x[0], x[1], x[2]), linear(x[0], x[1])}; }));
  out.push_back(make("grouped_matmul over 5 experts, one empty", {"grouped_gemm", "grouped_gemm_backward"},
                     {m.randn({23, 13}), m.randn({5, 9, 13}), Tensor::from_vector(std::vector<std::int64_t>{7, 0, 5, 10, 1}, {5})},
                     [](const Inputs& x) { return Inputs{grouped_matmul(x[0], x[1], x[2])}; }));
  // MoE's permutation: 300 tokens x 2 choices (more slots than a block walks at once), 7
  // experts, expert 4 unused, every 9th slot dropped (-1)
  std::vector<std::int64_t> choices(600);
  for (std::size_t i = 0; i < choices.size(); ++i) {
    const std::int64_t e = std::int64_t(i * 5 % 7);
    choices[i] = i % 9 == 8 ? -1 : e == 4 ? 6 : e;
  }
  ConformanceCase slots = make("sort_slots_by_expert: 300 x 2 slots over 7 experts, one unused, some dropped",
                               {"expert_slots_count", "expert_slots_permute"},
                               {Tensor::from_vector(choices, {300, 2})}, [](const Inputs& x) {
                                 const ExpertSlots s = sort_slots_by_expert(x[0], 7);
                                 return Inputs{s.slot, s.token, s.counts};
                               });
  slots.differentiable = false;
  out.push_back(std::move(slots));
}

void sequence_cases(std::vector<ConformanceCase>& out) {
  Maker m(15);
  // T = S = 37: not a multiple of the kernel's query/key tiles; Hq = 4 over Hkv = 2.
  out.push_back(make("attention: causal GQA, sliding window, cross with offset", {"attention", "attention_backward"},
                     {m.randn({2, 37, 4, 16}), m.randn({2, 37, 2, 16}), m.randn({2, 37, 2, 16}),
                      m.randn({1, 5, 2, 8}), m.randn({1, 19, 1, 8}), m.randn({1, 19, 1, 8})},
                     [](const Inputs& x) {
                       AttentionOptions window;
                       window.window = 6;
                       AttentionOptions cross;
                       cross.query_offset = 9;
                       AttentionOptions full;
                       full.causal = false;
                       return Inputs{attention(x[0], x[1], x[2]), attention(x[0], x[1], x[2], window),
                                     attention(x[3], x[4], x[5], cross), attention(x[3], x[4], x[5], full)};
                     }));
  // A decoding step against a cache of 300 keys (a CUDA backend takes its split-key kernel:
  // few query rows, more than 256 keys), causal at offset 298 with and without a window of
  // 40, 2 query rows of 4 heads over 2 key/value heads; and full attention of 3 rows over them.
  out.push_back(make("attention: 2 query rows against a 300-key cache (decoding), GQA, window",
                     {"attention", "attention_backward"},
                     {m.randn({1, 2, 4, 16}), m.randn({1, 300, 2, 16}), m.randn({1, 300, 2, 16}), m.randn({2, 3, 2, 8}),
                      m.randn({2, 260, 2, 8}), m.randn({2, 260, 2, 8})},
                     [](const Inputs& x) {
                       AttentionOptions decode;
                       decode.query_offset = 298;
                       AttentionOptions window = decode;
                       window.window = 40;
                       AttentionOptions full;
                       full.causal = false;
                       return Inputs{attention(x[0], x[1], x[2], decode), attention(x[0], x[1], x[2], window),
                                     attention(x[3], x[4], x[5], full)};
                     }));
  out.push_back(make("selective_scan with D, z, delta_bias, softplus and an initial state, T = 37",
                     {"selective_scan", "selective_scan_backward"},
                     {m.randn({2, 37, 11}), m.randn({2, 37, 11}, 0.5), -m.positive({11, 5}), m.randn({2, 37, 5}),
                      m.randn({2, 37, 5}), m.randn({11}), m.randn({2, 37, 11}), m.randn({11}, 0.3),
                      m.randn({2, 11, 5})},
                     [](const Inputs& x) {
                       SelectiveScanInputs in{x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7], x[8]};
                       const SelectiveScanOutputs o = selective_scan(in);
                       SelectiveScanInputs plain{x[0], x[1], x[2], x[3], x[4]};
                       plain.delta_softplus = false;
                       plain.delta = sigmoid(x[1]);  // positive steps without softplus
                       return Inputs{o.y, o.final_state, selective_scan(plain).y};
                     }));
  // T = 37 in chunks of 8 (the last partial), 4 heads over 2 groups of B and C.
  out.push_back(make("ssd: chunk 8 over T = 37, grouped B and C, an initial state", {"ssd", "ssd_backward"},
                     {m.randn({2, 37, 4, 3}), m.positive({2, 37, 4}), m.positive({4}), m.randn({2, 37, 2, 5}),
                      m.randn({2, 37, 2, 5}), m.randn({2, 4, 3, 5})},
                     [](const Inputs& x) {
                       // steps of about 0.1 and decays below 1, as a trained Mamba-2 has
                       SsdInputs in{x[0], scale(x[1], 0.1), neg(x[2]), x[3], x[4], x[5], 8};
                       const SsdOutputs o = ssd(in);
                       SsdInputs plain = in;
                       plain.initial_state = Tensor();
                       plain.chunk = 64;
                       return Inputs{o.y, o.final_state, ssd(plain).y};
                     }));
  // The forward alone (inference: a backend may have the forward only), with packed
  // documents: 3 documents in row 0 and 2 in row 1, where the state restarts from zero.
  std::vector<std::int64_t> starts(2 * 29);
  for (std::int64_t t = 0; t < 29; ++t) {
    starts[std::size_t(t)] = t < 10 ? 0 : t < 21 ? 10 : 21;
    starts[std::size_t(29 + t)] = t < 16 ? 0 : 16;
  }
  ConformanceCase ssd_forward = make(
      "ssd forward: packed documents, grouped B and C, d_state 70, an initial state", {"ssd"},
      {m.randn({2, 29, 4, 3}), m.positive({2, 29, 4}), m.positive({4}), m.randn({2, 29, 2, 70}, 0.3),
       m.randn({2, 29, 2, 70}, 0.3), m.randn({2, 4, 3, 70}), Tensor::from_vector(starts, {2, 29})},
      [](const Inputs& x) {
        SsdInputs in{x[0], scale(x[1], 0.1), neg(x[2]), x[3], x[4], x[5], 8};
        in.sequence_starts = x[6].to(Device::cpu());  // read by the host, wherever the data is
        const SsdOutputs o = ssd(in);
        return Inputs{o.y, o.final_state};
      });
  ssd_forward.differentiable = false;
  out.push_back(std::move(ssd_forward));
  // T = 37 in chunks of 8 (the last partial), 4 value heads over 2 key heads.
  out.push_back(make("gated_delta_rule: chunk 8 over T = 37, value heads sharing key heads, an initial state",
                     {"gated_delta_rule", "gated_delta_rule_backward"},
                     {m.randn({2, 37, 2, 5}), m.randn({2, 37, 2, 5}), m.randn({2, 37, 4, 3}), m.positive({2, 37, 4}),
                      m.randn({2, 37, 4}), m.randn({2, 4, 5, 3})},
                     [](const Inputs& x) {
                       // unit keys and decays around 0.9 per step, as the layer makes them
                       const auto unit = [](const Tensor& t) { return div(t, sqrt(sum(mul(t, t), {-1}, true))); };
                       GatedDeltaRuleInputs in{unit(x[0]), unit(x[1]), x[2], scale(x[3], -0.1), sigmoid(x[4]), x[5],
                                               0.0, 8, Tensor()};
                       const GatedDeltaRuleOutputs o = gated_delta_rule(in);
                       GatedDeltaRuleInputs plain = in;
                       plain.initial_state = Tensor();
                       plain.chunk = 64;
                       return Inputs{o.o, o.final_state, gated_delta_rule(plain).o};
                     }));
  out.push_back(make("causal_conv1d K = 4 with bias and initial state, D = 19", {"causal_conv1d", "causal_conv1d_backward"},
                     {m.randn({2, 13, 19}), m.randn({19, 4}), m.randn({19}), m.randn({2, 3, 19})},
                     [](const Inputs& x) {
                       return Inputs{causal_conv1d(x[0], x[1], x[2], x[3]), causal_conv1d(x[0], x[1])};
                     }));
}

void optimizer_cases(std::vector<ConformanceCase>& out) {
  Maker m(16);
  ConformanceCase c = make("adamw: three steps with and without weight decay", {"adamw"},
                           {m.randn({37}), m.randn({37}), m.randn({5, 7})}, [](const Inputs& x) {
                             Tensor p = x[0].detach().clone().requires_grad_();
                             Tensor q = x[2].detach().clone().requires_grad_();
                             AdamW opt({{"p", p, true}, {"q", q, false}}, AdamWOptions{});
                             for (int step = 0; step < 3; ++step) {
                               p.set_grad(scale(x[1], 1.0 + step));
                               q.set_grad(scale(x[2], -0.5));
                               opt.step(1e-2);
                             }
                             return Inputs{p.detach(), q.detach(), opt.first_moments()[0], opt.second_moments()[1]};
                           });
  c.differentiable = false;
  out.push_back(std::move(c));
}

}  // namespace

namespace {
// Never destroyed: the cases' functions live in plugins, which are never unloaded.
std::vector<ConformanceCase>& plugin_cases() {
  static auto* cases = new std::vector<ConformanceCase>;
  return *cases;
}
}  // namespace

void add_conformance_case(ConformanceCase c) {
  for (const ConformanceCase& existing : plugin_cases())
    if (existing.name == c.name) return;  // a plugin loaded twice
  plugin_cases().push_back(std::move(c));
}

std::vector<ConformanceCase> all_conformance_cases() {
  std::vector<ConformanceCase> cases = core_conformance_cases();
  cases.insert(cases.end(), plugin_cases().begin(), plugin_cases().end());
  return cases;
}

std::vector<ConformanceCase> core_conformance_cases() {
  std::vector<ConformanceCase> cases;
  elementwise_cases(cases);
  indexing_cases(cases);
  row_cases(cases);
  matmul_cases(cases);
  sequence_cases(cases);
  optimizer_cases(cases);
  return cases;
}

}  // namespace strata::testing
