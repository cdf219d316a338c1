// The dense `mlp` ffn: SwiGLU (one fused [gate | up] projection) or GELU.

#include "builtins/builtins.h"
#include "strata/nn.h"
#include "strata/ops.h"

namespace strata::builtins {
namespace {

enum class MlpActivation { swiglu, gelu, gelu_tanh };

class Mlp : public Ffn {
 public:
  Mlp(MlpActivation activation, std::int64_t d_model, std::int64_t d_ff, bool bias, Generator& gen, DType dtype)
      : activation_(activation) {
    const std::int64_t up_width = activation == MlpActivation::swiglu ? 2 * d_ff : d_ff;
    up_ = register_module("up", std::make_shared<nn::Linear>(d_model, up_width, bias, gen, dtype));
    down_ = register_module("down", std::make_shared<nn::Linear>(d_ff, d_model, bias, gen, dtype));
  }

  // x: [B, T, D] -> [B, T, D]
  Tensor forward(const Tensor& x, StepContext&) override {
    Tensor h = up_->forward(x);  // [B, T, 2H] (swiglu: [gate | up]) or [B, T, H]
    switch (activation_) {
      case MlpActivation::swiglu:
        h = swiglu(h);
        break;
      case MlpActivation::gelu:
        h = gelu(h, GeluApprox::none);
        break;
      case MlpActivation::gelu_tanh:
        h = gelu(h, GeluApprox::tanh);
        break;
    }
    return down_->forward(h);
  }

 private:
  MlpActivation activation_;
  std::shared_ptr<nn::Linear> up_;
  std::shared_ptr<nn::Linear> down_;
};

MlpActivation activation_of(const Config& config) {
  const std::string& name = config.string("activation");
  return name == "swiglu" ? MlpActivation::swiglu : name == "gelu" ? MlpActivation::gelu : MlpActivation::gelu_tanh;
}

std::int64_t hidden_width(const Config& config, std::int64_t d_model) {
  return config.integer("d_ff") > 0 ? config.integer("d_ff")
                                    : nn::default_ffn_hidden(activation_of(config) == MlpActivation::swiglu, d_model);
}

// The mlp in every Hugging Face architecture that composes it (Llama's `mlp`, Jamba's dense
// `feed_forward`): SwiGLU with gate_proj, up_proj and down_proj; intermediate_size is F.
hf::ComponentMapping hf_mapping() {
  hf::ComponentMapping m;
  m.kind = ComponentKind::ffn;
  m.type = "mlp";
  m.import_config = [](const hf::ConfigView& c, hf::TomlWriter& out) {
    c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
    out.set("activation", "swiglu");
    out.set("d_ff", c.integer("intermediate_size"));
    if (c.boolean_or("mlp_bias", false)) out.set("bias", true);
  };
  m.export_config = [](const Config& mlp, const Config& model, hf::ConfigWriter& out) {
    if (activation_of(mlp) != MlpActivation::swiglu) hf::not_exportable("ffn \"mlp\" must use activation = swiglu");
    out.set("intermediate_size", hidden_width(mlp, model.integer("d_model")));
    out.set("hidden_act", "silu");
    out.set("mlp_bias", mlp.boolean("bias"));
  };
  // strata's fused up projection holds [gate; up] rows: [2F, D] and [2F].
  m.tensors = {{"up.weight", {"gate_proj.weight", "up_proj.weight"}},
               {"up.bias", {"gate_proj.bias", "up_proj.bias"}},
               {"down.weight", {"down_proj.weight"}},
               {"down.bias", {"down_proj.bias"}}};
  return m;
}

}  // namespace

void register_mlp(ComponentRegistry& registry) {
  registry.add_hf_component(hf_mapping());
  ComponentSpec spec{ComponentKind::ffn, "mlp", "dense feed-forward block: SwiGLU or GELU", {}, {}};
  spec.schema.string("activation", "swiglu", "swiglu: down(silu(gate) * up); gelu / gelu_tanh: down(gelu(up))")
      .one_of({"swiglu", "gelu", "gelu_tanh"});
  spec.schema.integer("d_ff", 0, "hidden width; 0: 4*d_model (gelu) or 8/3*d_model rounded up to 8 (swiglu)")
      .range(0, 1 << 24);
  spec.schema.boolean("bias", false, "biases on both projections");
  spec.cost = [](const Config& config, const BuildContext& ctx, const CostQuery& query) {
    const std::int64_t D = ctx.dims.d_model, F = hidden_width(config, D);
    const std::int64_t up_width = activation_of(config) == MlpActivation::swiglu ? 2 * F : F;
    ComponentCost c;
    c.params = D * up_width + F * D + (config.boolean("bias") ? up_width + D : 0);
    c.active_params = c.params;
    c.flops_per_token = 2.0 * double(D * up_width + F * D);
    c.activation_elements = query.context * (up_width + F);  // the up projection's output and the activation's
    return c;
  };
  registry.add(std::move(spec), [](const Config& config, const BuildContext& ctx) -> std::unique_ptr<Component> {
    return std::make_unique<Mlp>(activation_of(config), ctx.dims.d_model, hidden_width(config, ctx.dims.d_model),
                                 config.boolean("bias"), *ctx.gen, ctx.dtype);
  });
}

}  // namespace strata::builtins
