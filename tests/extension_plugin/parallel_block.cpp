// Block "parallel": the mixer and the ffn read the same normalised input and their
// outputs are added to the residual together (GPT-J, PaLM):
//   x = x + mixer(norm(x)) + ffn(norm(x))
// With post_norm = true it is the original Transformer's post-norm layout instead:
//   x = norm1(x + mixer(x));  x = norm2(x + ffn(x))
#include "extension.h"

#include <strata/ops.h>
#include <strata/plugin.h>

namespace strata::extension_plugin {

namespace {

class ParallelBlock : public Block {
 public:
  ParallelBlock(bool post_norm, bool register_parts, const BuildContext& ctx)
      : post_norm_(post_norm), register_parts_(register_parts), d_model_(ctx.dims.d_model), dtype_(ctx.dtype) {}

  // x: [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, MixerState* state, StepContext& ctx) override {
    if (post_norm_) {
      Tensor h = norm_->forward(add(x, run_mixer(x, state, ctx)));
      return ffn() ? second_norm_->forward(add(h, run_ffn(h, ctx))) : h;
    }
    const Tensor in = norm_->forward(x);
    Tensor h = add(x, run_mixer(in, state, ctx));
    return ffn() ? add(h, run_ffn(in, ctx)) : h;
  }

 protected:
  void build(const BlockParts& parts) override {
    norm_ = register_module("norm", std::make_shared<nn::Norm>(parts.norm, d_model_, parts.norm_eps, dtype_));
    if (register_parts_) register_module("mixer", parts.mixer);
    if (parts.ffn) {
      if (register_parts_) register_module("ffn", parts.ffn);
      if (post_norm_)
        second_norm_ = register_module("ffn_norm", std::make_shared<nn::Norm>(parts.norm, d_model_, parts.norm_eps, dtype_));
    }
  }

 private:
  bool post_norm_;
  bool register_parts_;
  std::int64_t d_model_;
  DType dtype_;
  std::shared_ptr<nn::Norm> norm_, second_norm_;
};

}  // namespace

void register_parallel_block(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.boolean("post_norm", false, "post-norm residual layout instead of the parallel one");
  s.boolean("register_parts", true, "false: deliberately leave the mixer and ffn unregistered (tests the framework's check)");
  registrar.add<Block>("parallel", "x + mixer(norm(x)) + ffn(norm(x)) (GPT-J, PaLM), or post-norm (test extension plugin)",
                       std::move(s), [](const Config& c, const BuildContext& ctx) {
                         return std::make_unique<ParallelBlock>(c.boolean("post_norm"), c.boolean("register_parts"), ctx);
                       });
}

}  // namespace strata::extension_plugin
