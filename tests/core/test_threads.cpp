// Kernels split work into blocks whose size depends only on the shape, so results are
// bitwise identical for any thread count, on every SIMD instruction set.
#include "catch.h"
#include "each_simd_target.h"
#include "helpers.h"
#include "strata/runtime.h"

using namespace strata;

namespace {
template <class Fn>
void require_thread_invariant(Fn fn) {
  testing::for_each_simd_target([&] {
    const int saved = num_threads();
    set_num_threads(1);
    const std::vector<float> one = fn();
    set_num_threads(2);
    const std::vector<float> two = fn();
    set_num_threads(saved);
    REQUIRE(one == two);
  });
}
}  // namespace

TEST_CASE("reductions and norm gradients are thread-count invariant", "[threads]") {
  require_thread_invariant([] {
    Generator gen(5);
    const Tensor x = Tensor::randn({513, 777}, gen);
    std::vector<float> out = sum(x).to_vector<float>();
    for (float v : sum(x, {0}).to_vector<float>()) out.push_back(v);
    for (float v : sum(x, {1}).to_vector<float>()) out.push_back(v);
    return out;
  });
  require_thread_invariant([] {
    Generator gen(6);
    Tensor x = Tensor::randn({2048, 96}, gen).requires_grad_();
    Tensor w = Tensor::randn({96}, gen).requires_grad_();
    Tensor b = Tensor::randn({96}, gen).requires_grad_();
    sum(mul(rmsnorm(x, w), layernorm(x, w, b))).backward();
    std::vector<float> out = w.grad().to_vector<float>();
    for (float v : b.grad().to_vector<float>()) out.push_back(v);
    for (float v : x.grad().to_vector<float>()) out.push_back(v);
    return out;
  });
  require_thread_invariant([] {
    Generator gen(7);
    Tensor logits = Tensor::randn({4096, 33}, gen).requires_grad_();
    const Tensor targets = Tensor::randint({4096}, 0, 33, gen);
    cross_entropy(logits, targets).backward();
    std::vector<float> out = logits.grad().to_vector<float>();
    Tensor emb = Tensor::randn({50, 64}, gen).requires_grad_();
    sum(embedding(emb, Tensor::randint({4096}, 0, 50, gen))).backward();
    for (float v : emb.grad().to_vector<float>()) out.push_back(v);
    return out;
  });
}
