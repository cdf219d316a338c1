#include "softmax_routers.h"

#include <strata/ops.h>

#include "routing.h"

namespace strata::moe_plugin {

namespace {

class SoftmaxTopK : public LinearRouter {
 public:
  SoftmaxTopK(std::int64_t d_model, std::int64_t n_experts, std::int64_t top_k, bool renormalize, double jitter,
              Generator& gen, DType dtype)
      : LinearRouter(d_model, n_experts, top_k, jitter, gen, dtype), renormalize_(renormalize) {}

  // x: [N, D]
  Routing route(const Tensor& x, StepContext& ctx) override {
    Routing r;
    r.n_experts = n_experts_;
    r.top_k = top_k_;
    r.logits = scores(x, ctx);      // [N, E]
    r.probs = softmax(r.logits);    // [N, E]
    const TopK top = choose(r.probs, r.probs);
    r.expert_ids = top.indices;     // [N, k]
    r.gates = renormalize_ ? div(top.values, sum(top.values, {-1}, true)) : top.values;
    r.counts = count_experts(r.expert_ids, n_experts_);
    return r;
  }

  bool accepts_selection_bias() const override { return true; }
  void set_selection_bias(const Tensor& bias) override { selection_bias_ = bias; }

 private:
  bool renormalize_;
};

class NoisyTopK : public LinearRouter {
 public:
  NoisyTopK(std::int64_t d_model, std::int64_t n_experts, std::int64_t top_k, double jitter, Generator& gen,
            DType dtype)
      : LinearRouter(d_model, n_experts, top_k, jitter, gen, dtype) {
    // Shazeer et al. initialise W_g and W_noise at zero; a zero W_noise gives noise
    // scale softplus(0) = log 2 at the start.
    noise_weight_ = register_parameter("noise_weight", Tensor::zeros({n_experts, d_model}, dtype));
  }

  Routing route(const Tensor& x, StepContext& ctx) override {
    Routing r;
    r.n_experts = n_experts_;
    r.top_k = top_k_;
    r.logits = scores(x, ctx);  // clean logits [N, E]
    Tensor h = r.logits;
    if (training() && ctx.training() && ctx.generator()) {
      const Tensor noise_std = softplus(linear(x, noise_weight_));  // [N, E]
      h = add(h, mul(Tensor::randn(h.shape(), *ctx.generator(), h.dtype()), noise_std));
      r.extras[kExtraNoiseStd] = noise_std;
      r.extras[kExtraNoisyLogits] = h;
    }
    r.probs = softmax(h);
    const TopK top = topk(h, top_k_);
    r.expert_ids = top.indices;
    r.gates = softmax(top.values);  // softmax over the kept H, the rest at -inf
    r.counts = count_experts(r.expert_ids, n_experts_);
    return r;
  }

 private:
  Tensor noise_weight_;
};

ConfigSchema jitter_schema() {
  ConfigSchema s;
  s.number("jitter", 0.0, "training-time input noise: x * U(1 - jitter, 1 + jitter) (Switch: 0.01)").range(0.0, 1.0);
  return s;
}

// The moe ffn passes n_experts and top_k through the BuildContext.
void check_top_k(const Config& config, const BuildContext& ctx, std::int64_t required) {
  if (const std::int64_t top_k = parent_top_k(ctx, config); top_k != required)
    throw config.error("type", "routes each token to " + std::to_string(required) + " expert(s), but the moe ffn asks top_k = " + std::to_string(top_k),
                       "set top_k = " + std::to_string(required) + " in the moe ffn, or use router softmax_topk");
}

}  // namespace

void register_softmax_routers(PluginRegistrar& registrar) {
  ConfigSchema topk = jitter_schema();
  topk.boolean("renormalize", true,
               "divide the k gates by their sum (Mixtral, DeepSeek); false keeps the softmax values (Jamba, OLMoE)");
  registrar.add<Router>("softmax_topk", "softmax over all experts, then the top_k", topk,
                        [](const Config& c, const BuildContext& ctx) {
                          return std::make_unique<SoftmaxTopK>(ctx.dims.d_model, parent_experts(ctx, c), parent_top_k(ctx, c),
                                                               c.boolean("renormalize"), c.number("jitter"), *ctx.gen,
                                                               ctx.dtype);
                        });
  registrar.add<Router>("switch", "top-1 routing with gate p_max (Switch Transformer); needs top_k = 1",
                        jitter_schema(), [](const Config& c, const BuildContext& ctx) {
                          check_top_k(c, ctx, 1);
                          return std::make_unique<SoftmaxTopK>(ctx.dims.d_model, parent_experts(ctx, c), 1, false,
                                                               c.number("jitter"), *ctx.gen, ctx.dtype);
                        });
  registrar.add<Router>("noisy_topk", "noisy top-k gating with a learned softplus noise scale (Shazeer et al. 2017)",
                        jitter_schema(), [](const Config& c, const BuildContext& ctx) {
                          return std::make_unique<NoisyTopK>(ctx.dims.d_model, parent_experts(ctx, c), parent_top_k(ctx, c),
                                                             c.number("jitter"), *ctx.gen, ctx.dtype);
                        });
}

}  // namespace strata::moe_plugin
