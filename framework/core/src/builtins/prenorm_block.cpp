// The built-in block "prenorm": x = x + mixer(norm(x)); x = x + ffn(norm(x)), the layout
// of GPT-2, Llama, Mamba and Jamba.
#include "builtins/builtins.h"
#include "strata/ops.h"

namespace strata::builtins {

namespace {

class PreNormBlock : public Block {
 public:
  explicit PreNormBlock(const BuildContext& ctx) : d_model_(ctx.dims.d_model), dtype_(ctx.dtype) {}

  Tensor forward(const Tensor& x, MixerState* state, StepContext& ctx) override {
    Tensor h = add(x, run_mixer(mixer_norm_->forward(x), state, ctx));  // [B, T, D]
    if (ffn()) h = add(h, run_ffn(ffn_norm_->forward(h), ctx));
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
  std::int64_t d_model_;
  DType dtype_;
  std::shared_ptr<nn::Norm> mixer_norm_, ffn_norm_;  // ffn_norm_: null without ffn
};

}  // namespace

void register_prenorm_block(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::block, "prenorm", "pre-norm residual: x + mixer(norm(x)), then x + ffn(norm(x))", {}, {}};
  registry.add(std::move(spec), [](const Config&, const BuildContext& ctx) -> std::unique_ptr<Component> {
    return std::make_unique<PreNormBlock>(ctx);
  });
}

}  // namespace strata::builtins
