// selective_scan: the fused kernel against the step-by-step recurrence (f64 and f32, every
// optional input, shapes that leave partial chunks, lane groups and state groups), f64
// gradient checks of all nine inputs, the f32 (vectorised) backward against the f64 one,
// chunked processing with the state passed along, thread-count independence, and errors.
#include <algorithm>
#include <cmath>
#include <vector>

#include "catch.h"
#include "each_simd_target.h"
#include "helpers.h"
#include "scan_reference.h"
#include "strata/error.h"
#include "strata/runtime.h"

using namespace strata;
using strata::test::leaf;
using strata::test::reference_selective_scan;

namespace {

struct ScanCase {
  std::int64_t B, T, D, N;
  bool with_D, with_z, with_bias, with_state, softplus;
};

// Inputs of a realistic scale: delta around softplus^-1(0.01..0.1), A = -(1..N) scaled.
SelectiveScanInputs make_inputs(const ScanCase& c, Generator& gen, DType dtype) {
  auto randn = [&](const Shape& s, double scale, double shift = 0.0) {
    return add(mul(Tensor::randn(s, gen, DType::f64), scale), shift).to(dtype);
  };
  SelectiveScanInputs in;
  in.u = randn({c.B, c.T, c.D}, 1.0);
  in.delta = c.softplus ? randn({c.B, c.T, c.D}, 1.0, -3.0) : exp(randn({c.B, c.T, c.D}, 0.5, -3.0));
  in.A = neg(exp(randn({c.D, c.N}, 0.5, 0.5)));
  in.B = randn({c.B, c.T, c.N}, 1.0);
  in.C = randn({c.B, c.T, c.N}, 1.0);
  if (c.with_D) in.D = randn({c.D}, 1.0);
  if (c.with_z) in.z = randn({c.B, c.T, c.D}, 1.0);
  // Without softplus the step delta + bias must stay positive (else the state grows without bound).
  if (c.with_bias) in.delta_bias = c.softplus ? randn({c.D}, 0.5) : exp(randn({c.D}, 0.5, -3.0));
  if (c.with_state) in.initial_state = randn({c.B, c.D, c.N}, 1.0);
  in.delta_softplus = c.softplus;
  return in;
}

SelectiveScanInputs to_dtype(const SelectiveScanInputs& in, DType dtype) {
  SelectiveScanInputs out = in;
  for (Tensor* t : {&out.u, &out.delta, &out.A, &out.B, &out.C, &out.D, &out.z, &out.delta_bias, &out.initial_state})
    if (t->defined()) *t = t->to(dtype).detach();
  return out;
}

std::vector<Tensor*> fields(SelectiveScanInputs& in) {
  return {&in.u, &in.delta, &in.A, &in.B, &in.C, &in.D, &in.z, &in.delta_bias, &in.initial_state};
}

const std::vector<ScanCase> kCases = {
    {1, 1, 8, 16, true, true, true, true, true},       // one step
    {2, 63, 13, 16, true, false, true, false, true},   // one partial chunk, 8 + 5 channels
    {2, 64, 16, 4, false, true, false, true, true},    // one full chunk, 4 states
    {1, 65, 24, 16, true, true, true, true, false},    // chunk + 1, no softplus
    {2, 200, 9, 3, true, true, false, false, true},    // 3 states (2 + 1), 8 + 1 channels
    {1, 130, 40, 12, false, false, true, true, true},  // 12 states (8 + 4), no D, no z
    {3, 257, 8, 1, true, true, true, false, true},     // one state
};

}  // namespace

TEST_CASE("selective_scan equals the step-by-step recurrence (f64 and f32)", "[ops][selective_scan]") {
  Generator gen(70);
  for (const ScanCase& c : kCases) {
    INFO("B " << c.B << " T " << c.T << " D " << c.D << " N " << c.N << " D? " << c.with_D << " z? " << c.with_z
              << " bias? " << c.with_bias << " h0? " << c.with_state << " softplus? " << c.softplus);
    const SelectiveScanInputs in = make_inputs(c, gen, DType::f64);
    const SelectiveScanOutputs ref = reference_selective_scan(in);
    const SelectiveScanOutputs f64 = selective_scan(in);
    STRATA_REQUIRE_CLOSE(f64.y, ref.y, 1e-12, 1e-12);
    STRATA_REQUIRE_CLOSE(f64.final_state, ref.final_state, 1e-12, 1e-12);
    // f32: the vectorised path with its exp2 polynomial; upstream's fp32 gate is rtol 6e-4, atol 2e-3.
    const SelectiveScanOutputs f32 = selective_scan(to_dtype(in, DType::f32));
    STRATA_REQUIRE_CLOSE(f32.y, ref.y, 1e-4, 1e-4);
    STRATA_REQUIRE_CLOSE(f32.final_state, ref.final_state, 1e-4, 1e-4);
  }
}

TEST_CASE("selective_scan gradient checks in f64 (all nine inputs)", "[ops][selective_scan][gradcheck]") {
  Generator gen(71);
  for (const ScanCase& c : std::vector<ScanCase>{{2, 3, 3, 3, true, true, true, true, true},
                                                 {1, 70, 2, 2, true, true, true, true, true},
                                                 {2, 66, 3, 1, false, false, false, true, false},
                                                 {2, 5, 3, 4, false, true, true, false, true}}) {
    INFO("T " << c.T << " D " << c.D << " N " << c.N);
    SelectiveScanInputs in = make_inputs(c, gen, DType::f64);
    std::vector<Tensor> leaves;
    for (Tensor* t : fields(in))
      if (t->defined()) leaves.push_back(t->detach().requires_grad_());
    const bool softplus = c.softplus;
    const bool has[9] = {true, true, true, true, true, c.with_D, c.with_z, c.with_bias, c.with_state};
    STRATA_REQUIRE_GRADCHECK(
        [&has, softplus](const std::vector<Tensor>& x) {
          SelectiveScanInputs s;
          std::size_t k = 0;
          std::vector<Tensor*> f = fields(s);
          for (int i = 0; i < 9; ++i)
            if (has[i]) *f[i] = x[k++];
          s.delta_softplus = softplus;
          const SelectiveScanOutputs o = selective_scan(s);
          return std::vector<Tensor>{o.y, o.final_state};
        },
        leaves);
  }
}

namespace {

// Gradients of sum(w_y * y) + sum(w_h * final_state) with respect to every defined input.
std::vector<Tensor> scan_gradients(const SelectiveScanInputs& base, const Tensor& wy, const Tensor& wh) {
  SelectiveScanInputs in = base;
  std::vector<Tensor> leaves;
  for (Tensor* t : fields(in))
    if (t->defined()) {
      *t = t->detach().requires_grad_();
      leaves.push_back(*t);
    }
  const SelectiveScanOutputs o = selective_scan(in);
  const Tensor loss = add(sum(mul(o.y, wy.to(o.y.dtype()))), sum(mul(o.final_state, wh.to(o.y.dtype()))));
  loss.backward();
  std::vector<Tensor> grads;
  for (const Tensor& l : leaves) grads.push_back(l.grad().to(DType::f64));
  return grads;
}

}  // namespace

TEST_CASE("selective_scan: the f32 (vectorised) backward agrees with the f64 backward", "[ops][selective_scan]") {
  Generator gen(72);
  for (const ScanCase& c :
       {ScanCase{2, 150, 19, 16, true, true, true, true, true}, ScanCase{1, 64, 136, 12, true, true, true, true, true},
        ScanCase{2, 70, 8, 5, false, false, false, false, false},
        ScanCase{1, 90, 16, 8, false, true, false, true, true}}) {
    INFO("T " << c.T << " D " << c.D << " N " << c.N);
    const SelectiveScanInputs in = make_inputs(c, gen, DType::f64);
    const Tensor wy = Tensor::randn({c.B, c.T, c.D}, gen, DType::f64);
    const Tensor wh = Tensor::randn({c.B, c.D, c.N}, gen, DType::f64);
    const std::vector<Tensor> g64 = scan_gradients(in, wy, wh);
    const std::vector<Tensor> g32 = scan_gradients(to_dtype(in, DType::f32), wy, wh);
    REQUIRE(g64.size() == g32.size());
    for (std::size_t i = 0; i < g64.size(); ++i) {
      INFO("input " << i);
      // Gradients summed over many steps (dA, dD, d bias) are large: compare relative to their scale.
      double scale = 1.0;
      for (double v : g64[i].to_vector<double>()) scale = std::max(scale, std::abs(v));
      STRATA_REQUIRE_CLOSE(g32[i], g64[i], 2e-4 * scale, 1e-3);
    }
  }
}

TEST_CASE("selective_scan: chunks with the state passed along equal one long scan, gradients included",
          "[ops][selective_scan]") {
  Generator gen(73);
  const ScanCase c{2, 150, 5, 4, true, true, true, false, true};
  SelectiveScanInputs in = make_inputs(c, gen, DType::f64);
  for (Tensor* t : fields(in))
    if (t->defined()) *t = t->detach().requires_grad_();
  const Tensor wy = Tensor::randn({c.B, c.T, c.D}, gen, DType::f64);

  const SelectiveScanOutputs full = selective_scan(in);
  sum(mul(full.y, wy)).backward();
  std::vector<Tensor> full_grads;
  for (Tensor* t : fields(in))
    if (t->defined()) full_grads.push_back(t->grad()), t->set_grad(Tensor());

  Tensor state;
  std::vector<Tensor> parts;
  for (const auto& [t0, t1] :
       std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 1}, {1, 64}, {64, 129}, {129, 150}}) {
    SelectiveScanInputs chunk = in;
    for (Tensor* t : {&chunk.u, &chunk.delta, &chunk.B, &chunk.C, &chunk.z}) *t = slice(*t, 1, t0, t1);
    chunk.initial_state = state;
    const SelectiveScanOutputs o = selective_scan(chunk);
    parts.push_back(o.y);
    state = o.final_state;
  }
  const Tensor y = concat(parts, 1);
  STRATA_REQUIRE_CLOSE(y, full.y, 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(state, full.final_state, 1e-12, 1e-12);
  sum(mul(y, wy)).backward();
  std::size_t k = 0;
  for (Tensor* t : fields(in))
    if (t->defined()) {
      INFO("input " << k);
      STRATA_REQUIRE_CLOSE(t->grad(), full_grads[k], 1e-11, 1e-10);
      ++k;
    }
}

TEST_CASE("selective_scan: results do not depend on the thread count, on every SIMD set", "[ops][selective_scan]") {
  testing::for_each_simd_target([&] {
    Generator gen(74);
    const SelectiveScanInputs in = make_inputs({3, 100, 300, 16, true, true, true, true, true}, gen, DType::f32);
    const Tensor wy = Tensor::randn({3, 100, 300}, gen, DType::f64), wh = Tensor::randn({3, 300, 16}, gen, DType::f64);
    const int threads = num_threads();
    set_num_threads(1);
    const SelectiveScanOutputs one = selective_scan(in);
    const std::vector<Tensor> g_one = scan_gradients(in, wy, wh);
    set_num_threads(std::max(threads, 3));
    const SelectiveScanOutputs many = selective_scan(in);
    const std::vector<Tensor> g_many = scan_gradients(in, wy, wh);
    set_num_threads(threads);
    STRATA_REQUIRE_CLOSE(many.y, one.y, 0.0, 0.0);
    for (std::size_t i = 0; i < g_one.size(); ++i) {
      INFO("input " << i);
      STRATA_REQUIRE_CLOSE(g_many[i], g_one[i], 0.0, 0.0);
    }
  });
}

TEST_CASE("selective_scan: extreme step sizes stay finite", "[ops][selective_scan]") {
  Generator gen(75);
  SelectiveScanInputs in = make_inputs({1, 80, 16, 16, true, true, true, true, true}, gen, DType::f32);
  // Steps from e^-30 to ~60 (decays from 1 down to e^-1000): no NaN, no inf.
  in.delta = mul(Tensor::randn({1, 80, 16}, gen, DType::f32), 30.0);
  const SelectiveScanOutputs o = selective_scan(in);
  const SelectiveScanOutputs ref = reference_selective_scan(to_dtype(in, DType::f64));
  STRATA_REQUIRE_CLOSE(o.y, ref.y, 1e-3, 1e-3);
  const std::vector<Tensor> g =
      scan_gradients(in, Tensor::ones({1, 80, 16}, DType::f64), Tensor::ones({1, 16, 16}, DType::f64));
  for (const Tensor& t : g) REQUIRE(std::isfinite(sum(t).item()));
}

TEST_CASE("selective_scan: a NaN in any input reaches the output", "[ops][selective_scan]") {
  Generator gen(77);
  for (int input = 0; input < 9; ++input) {
    INFO("input " << input);
    SelectiveScanInputs in = make_inputs({1, 70, 16, 16, true, true, true, true, true}, gen, DType::f32);
    Tensor* t = fields(in)[input];
    std::vector<float> v = t->to_vector<float>();
    v[v.size() / 2] = NAN;
    *t = Tensor::from_vector(v, t->shape());
    const SelectiveScanOutputs o = selective_scan(in);
    CHECK_FALSE(std::isfinite(sum(o.y).item()));
  }
}

TEST_CASE("selective_scan: bad shapes and dtypes are clear errors", "[ops][selective_scan][errors]") {
  Generator gen(76);
  const SelectiveScanInputs good = make_inputs({2, 5, 3, 4, true, true, true, true, true}, gen, DType::f32);
  REQUIRE_NOTHROW(selective_scan(good));
  auto with = [&](auto change) {
    SelectiveScanInputs in = good;
    change(in);
    return in;
  };
  CHECK_THROWS_WITH(selective_scan(with([](auto& in) {
                      in.A = Tensor::zeros({4, 4});
                    })),
                    Catch::Contains("A is [4, 4], expected [3, N]"));
  CHECK_THROWS_WITH(selective_scan(with([](auto& in) {
                      in.B = Tensor::zeros({2, 5, 3});
                    })),
                    Catch::Contains("B is [2, 5, 3], expected [2, 5, 4]"));
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.C = Tensor::zeros({2, 4, 4}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.delta = Tensor::zeros({2, 5, 4}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.D = Tensor::zeros({4}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.z = Tensor::zeros({2, 5}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.delta_bias = Tensor::zeros({3, 1}); })), ShapeError);
  CHECK_THROWS_WITH(selective_scan(with([](auto& in) {
                      in.initial_state = Tensor::zeros({2, 4, 3});
                    })),
                    Catch::Contains("the state is [B, D, N]"));
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.u = Tensor::zeros({5, 3}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.A = Tensor::zeros({3, 0}); })), ShapeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.D = Tensor::zeros({3}, DType::f64); })), DTypeError);
  CHECK_THROWS_AS(selective_scan(with([](auto& in) { in.B = Tensor(); })), Error);
}
