// MoE ffn (plugins/moe) forward+backward against a dense SwiGLU FFN with the same active
// FLOPs, in one run: 4096 tokens, d_model 512, 8 experts of width 1024, top-2, dropless;
// the dense FFN has width 2048 (= top_k x expert width). Also the experts' grouped
// products alone on pre-sorted rows, so that the summary shows what routing, the slot
// sort, the gather and the weighted combine cost on top (issue 6's bars: MoE >= 0.8x the
// dense FLOP rate; routing + dispatch + combine <= 15% of the MoE layer).
//
// FLOPs: 3 projections x 2 x D x F per (token, expert) forward, x3 for forward+backward.
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "strata/autograd.h"
#include "strata/components.h"
#include "strata/ops.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"
#include "strata/testing/component_check.h"

using namespace strata;

namespace {

constexpr std::int64_t kTokens = 4096, kModel = 512, kExperts = 8, kTopK = 2, kExpertWidth = 1024;

ComponentRegistry& registry() {
  static ComponentRegistry r;
  static const bool ready = (register_builtin_components(r), load_plugin(r, STRATA_MOE_PLUGIN), true);
  (void)ready;
  return r;
}

std::shared_ptr<Ffn> make_ffn(const std::string& type, const std::vector<std::string>& keys, Generator& gen) {
  BuildContext ctx;
  ctx.dims.d_model = kModel;
  ctx.layer = 0;
  ctx.dtype = DType::f32;
  ctx.gen = &gen;
  ctx.registry = &registry();
  return registry().create<Ffn>(testing::component_config(registry(), ComponentKind::ffn, type, keys), ctx);
}

struct Layer {
  std::shared_ptr<Ffn> ffn;
  Tensor x, dy;
  void step() {
    StepContext ctx(true);
    ffn->forward(x, ctx).backward(dy);
    ffn->zero_grad();
    x.set_grad(Tensor());
  }
};

}  // namespace

int main(int argc, char** argv) {
  Generator gen(7);
  const Tensor x = Tensor::randn({1, kTokens, kModel}, gen).requires_grad_();
  const Tensor dy = Tensor::randn({1, kTokens, kModel}, gen);
  const double flops = 3.0 * 3.0 * 2.0 * double(kModel) * double(kExpertWidth) * double(kTokens * kTopK);
  const std::string name = "tokens=4096 D=512 E=8 k=2 F=1024";

  auto dense = std::make_shared<Layer>(Layer{make_ffn("mlp", {"d_ff=" + std::to_string(kTopK * kExpertWidth)}, gen), x, dy});
  auto moe = std::make_shared<Layer>(Layer{make_ffn("moe", {"n_experts=8", "top_k=2", "d_ff=1024"}, gen), x, dy});
  bench::add("ffn forward+backward", "dense SwiGLU F=2048", name, {flops, 0}, [dense] { dense->step(); }, true);
  bench::add("ffn forward+backward", "moe (router, sort, gather, experts, combine)", name, {flops, 0},
             [moe] { moe->step(); });

  // The experts alone: a balanced pre-sorted batch of 8192 rows through the grouped products.
  auto xs = std::make_shared<Tensor>(Tensor::randn({kTokens * kTopK, kModel}, gen).requires_grad_());
  auto up = std::make_shared<Tensor>(Tensor::randn({kExperts, 2 * kExpertWidth, kModel}, gen).requires_grad_());
  auto down = std::make_shared<Tensor>(Tensor::randn({kExperts, kModel, kExpertWidth}, gen).requires_grad_());
  const Tensor counts = Tensor::full({kExperts}, double(kTokens * kTopK / kExperts), DType::i64);
  const Tensor dys = Tensor::randn({kTokens * kTopK, kModel}, gen);
  bench::add("ffn forward+backward", "experts only (grouped products)", name, {flops, 0}, [=] {
    grouped_matmul(swiglu(grouped_matmul(*xs, *up, counts)), *down, counts).backward(dys);
    for (Tensor* t : {xs.get(), up.get(), down.get()}) t->set_grad(Tensor());
  });
  return bench::run(argc, argv, "strata bench: MoE ffn vs dense FFN of equal active FLOPs (forward+backward)");
}
