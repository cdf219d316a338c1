// ssd (Mamba-2's chunked state-space duality scan): the chunked kernel against the
// step-by-step recurrence (f64 and f32, many chunk sizes, T not a multiple of the chunk,
// grouped B and C, with and without an initial state), f64 gradient checks of every input
// through y and the final state, chunked processing with the state passed along, and errors.
#include <cmath>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/ops.h"

using namespace strata;

namespace {

struct SsdCase {
  std::int64_t B, T, H, P, G, N;
  bool with_state;
};

// dt around 0.01..0.1 (softplus of the usual init), A = -exp(~0.5): realistic decays.
SsdInputs make_inputs(const SsdCase& c, Generator& gen, DType dtype) {
  auto randn = [&](const Shape& s, double scale, double shift = 0.0) {
    return add(mul(Tensor::randn(s, gen, DType::f64), scale), shift).to(dtype);
  };
  SsdInputs in;
  in.x = randn({c.B, c.T, c.H, c.P}, 1.0);
  in.dt = exp(randn({c.B, c.T, c.H}, 0.5, -3.0));
  in.A = neg(exp(randn({c.H}, 0.5, 0.5)));
  in.B = randn({c.B, c.T, c.G, c.N}, 1.0);
  in.C = randn({c.B, c.T, c.G, c.N}, 1.0);
  if (c.with_state) in.initial_state = randn({c.B, c.H, c.P, c.N}, 1.0);
  return in;
}

// The recurrence one step at a time, in f64.
SsdOutputs reference_ssd(const SsdInputs& in) {
  const auto x = in.x.to(DType::f64).to_vector<double>(), dt = in.dt.to(DType::f64).to_vector<double>();
  const auto A = in.A.to(DType::f64).to_vector<double>(), Bm = in.B.to(DType::f64).to_vector<double>();
  const auto Cm = in.C.to(DType::f64).to_vector<double>();
  const std::int64_t B = in.x.size(0), T = in.x.size(1), H = in.x.size(2), P = in.x.size(3), G = in.B.size(2),
                     N = in.B.size(3);
  std::vector<double> S(std::size_t(B * H * P * N), 0.0), y(std::size_t(B * T * H * P), 0.0);
  if (in.initial_state.defined()) S = in.initial_state.to(DType::f64).to_vector<double>();
  for (std::int64_t b = 0; b < B; ++b)
    for (std::int64_t t = 0; t < T; ++t)
      for (std::int64_t h = 0; h < H; ++h) {
        const std::int64_t g = h / (H / G);
        const double d = dt[std::size_t((b * T + t) * H + h)], decay = std::exp(d * A[std::size_t(h)]);
        for (std::int64_t p = 0; p < P; ++p) {
          double out = 0;
          for (std::int64_t n = 0; n < N; ++n) {
            double& s = S[std::size_t(((b * H + h) * P + p) * N + n)];
            s = decay * s + d * x[std::size_t(((b * T + t) * H + h) * P + p)] * Bm[std::size_t(((b * T + t) * G + g) * N + n)];
            out += s * Cm[std::size_t(((b * T + t) * G + g) * N + n)];
          }
          y[std::size_t(((b * T + t) * H + h) * P + p)] = out;
        }
      }
  return {Tensor::from_vector(y, {B, T, H, P}), Tensor::from_vector(S, {B, H, P, N})};
}

std::vector<Tensor*> fields(SsdInputs& in) { return {&in.x, &in.dt, &in.A, &in.B, &in.C, &in.initial_state}; }

}  // namespace

TEST_CASE("ssd equals the step-by-step recurrence for every chunk size (f64 and f32)", "[ops][ssd]") {
  Generator gen(90);
  for (const SsdCase& c : std::vector<SsdCase>{{2, 23, 4, 3, 2, 5, true},
                                               {1, 64, 2, 8, 1, 16, false},
                                               {3, 17, 6, 4, 3, 2, true},
                                               {1, 1, 1, 1, 1, 1, false},
                                               {2, 130, 4, 16, 1, 8, true}}) {
    SsdInputs in = make_inputs(c, gen, DType::f64);
    const SsdOutputs ref = reference_ssd(in);
    for (std::int64_t chunk : {1, 2, 3, 5, 8, 16, 64, 256}) {
      INFO("B " << c.B << " T " << c.T << " H " << c.H << " P " << c.P << " G " << c.G << " N " << c.N << " h0? "
                << c.with_state << " chunk " << chunk);
      in.chunk = chunk;
      const SsdOutputs got = ssd(in);
      STRATA_REQUIRE_CLOSE(got.y, ref.y, 1e-11, 1e-11);
      STRATA_REQUIRE_CLOSE(got.final_state, ref.final_state, 1e-11, 1e-11);
      SsdInputs f32 = in;
      for (Tensor* t : fields(f32))
        if (t->defined()) *t = t->to(DType::f32);
      const SsdOutputs got32 = ssd(f32);
      STRATA_REQUIRE_CLOSE(got32.y, ref.y, 1e-4, 1e-4);
      STRATA_REQUIRE_CLOSE(got32.final_state, ref.final_state, 1e-4, 1e-4);
    }
  }
}

TEST_CASE("ssd gradient checks in f64 (x, dt, A, B, C, initial state, through y and the final state)", "[ops][ssd][gradcheck]") {
  Generator gen(91);
  for (const auto& [c, chunk] : std::vector<std::pair<SsdCase, std::int64_t>>{{{2, 7, 4, 3, 2, 3, true}, 3},
                                                                              {{1, 9, 2, 2, 1, 4, true}, 4},
                                                                              {{2, 5, 3, 2, 3, 2, false}, 8},
                                                                              {{1, 6, 2, 3, 2, 2, true}, 1}}) {
    INFO("T " << c.T << " H " << c.H << " G " << c.G << " chunk " << chunk);
    SsdInputs in = make_inputs(c, gen, DType::f64);
    std::vector<Tensor> leaves;
    for (Tensor* t : fields(in))
      if (t->defined()) leaves.push_back(t->detach().requires_grad_());
    const bool with_state = c.with_state;
    const std::int64_t chunk_size = chunk;
    STRATA_REQUIRE_GRADCHECK(
        [with_state, chunk_size](const std::vector<Tensor>& v) {
          SsdInputs s{v[0], v[1], v[2], v[3], v[4], with_state ? v[5] : Tensor(), chunk_size};
          const SsdOutputs o = ssd(s);
          return std::vector<Tensor>{o.y, o.final_state};
        },
        leaves);
  }
}

TEST_CASE("ssd: two halves with the state passed along equal one scan, gradients included", "[ops][ssd]") {
  Generator gen(92);
  const SsdCase c{2, 40, 4, 4, 2, 6, true};
  SsdInputs in = make_inputs(c, gen, DType::f64);
  in.chunk = 16;
  const SsdOutputs whole = ssd(in);
  SsdInputs first = in, second = in;
  for (auto [name, dim] : {std::pair{&SsdInputs::x, 1}, {&SsdInputs::dt, 1}, {&SsdInputs::B, 1}, {&SsdInputs::C, 1}}) {
    first.*name = (in.*name).slice(dim, 0, 25);
    second.*name = (in.*name).slice(dim, 25, 40);
  }
  const SsdOutputs a = ssd(first);
  second.initial_state = a.final_state;
  const SsdOutputs b = ssd(second);
  STRATA_REQUIRE_CLOSE(concat({a.y, b.y}, 1), whole.y, 1e-12, 1e-12);
  STRATA_REQUIRE_CLOSE(b.final_state, whole.final_state, 1e-12, 1e-12);
}

TEST_CASE("ssd: bad shapes are clear errors", "[ops][ssd][errors]") {
  Generator gen(93);
  const SsdInputs good = make_inputs({1, 4, 4, 2, 2, 3, true}, gen, DType::f32);
  SsdInputs bad = good;
  bad.B = Tensor::zeros({1, 4, 3, 3});
  CHECK_THROWS_WITH(ssd(bad), Catch::Contains("4 heads cannot share 3 groups"));
  bad = good;
  bad.A = Tensor::zeros({3});
  CHECK_THROWS_WITH(ssd(bad), Catch::Contains("A is [3], expected [4]"));
  bad = good;
  bad.initial_state = Tensor::zeros({1, 4, 3, 2});
  CHECK_THROWS_WITH(ssd(bad), Catch::Contains("initial_state"));
  bad = good;
  bad.chunk = 0;
  CHECK_THROWS_AS(ssd(bad), ValueError);
  bad = good;
  bad.dt = bad.dt.to(DType::f64);
  CHECK_THROWS_AS(ssd(bad), DTypeError);
}
