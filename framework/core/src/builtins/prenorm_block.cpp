// The built-in block "prenorm": x = x + mixer(norm(x)); x = x + ffn(norm(x)), the layout
// of GPT-2, Llama, Mamba and Jamba; with residual_multiplier m (Granite's),
// x = x + m mixer(norm(x)) and likewise for the ffn.
#include "builtins/builtins.h"
#include "strata/ops.h"

namespace strata::builtins {

namespace {

class PreNormBlock : public Block {
 public:
  PreNormBlock(const BuildContext& ctx, double residual_multiplier)
      : d_model_(ctx.dims.d_model), dtype_(ctx.dtype), residual_multiplier_(residual_multiplier) {}

  Tensor forward(const Tensor& x, MixerState* state, StepContext& ctx) override {
    Tensor h = add(x, branch(run_mixer(mixer_norm_->forward(x), state, ctx)));  // [B, T, D]
    if (ffn()) h = add(h, branch(run_ffn(ffn_norm_->forward(h), ctx)));
    return h;
  }

 protected:
  void build(const BlockParts& parts) override {
    mixer_norm_ = register_module("mixer_norm", std::make_shared<nn::Norm>(parts.norm, d_model_, parts.norm_eps, dtype_));
    register_module("mixer", parts.mixer);
    if (parts.ffn) {
      ffn_norm_ = register_module("ffn_norm", std::make_shared<nn::Norm>(parts.norm, d_model_, parts.norm_eps, dtype_));
      register_module("ffn", parts.ffn);
    }
  }

 private:
  Tensor branch(const Tensor& y) const { return residual_multiplier_ == 1.0 ? y : scale(y, residual_multiplier_); }

  std::int64_t d_model_;
  DType dtype_;
  double residual_multiplier_;
  std::shared_ptr<nn::Norm> mixer_norm_, ffn_norm_;  // ffn_norm_: null without ffn
};

}  // namespace

void register_prenorm_block(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::block, "prenorm", "pre-norm residual: x + mixer(norm(x)), then x + ffn(norm(x))", {}, {}};
  spec.schema.number("residual_multiplier", 1.0,
                     "each branch's output is multiplied by this before the residual add (Granite's residual_multiplier)")
      .greater_than(0);
  registry.add(std::move(spec), [](const Config& c, const BuildContext& ctx) -> std::unique_ptr<Component> {
    return std::make_unique<PreNormBlock>(ctx, c.number("residual_multiplier"));
  });
}

}  // namespace strata::builtins
