// How the `moe` ffn appears in Hugging Face's Mixtral (MixtralSparseMoeBlock: a `gate`
// router, experts w1 = gate, w3 = up, w2 = down, renormalised top-k weights) and Jamba
// (JambaSparseMoeBlock: a `router`, experts gate_proj, up_proj, down_proj, top-k weights
// not renormalised). strata stacks the experts: gate_up_proj [E, 2F, D] holds each
// expert's [gate; up] rows, down_proj [E, D, F].
#include "hf_mapping.h"

#include <strata/nn.h>

#include <string>

namespace strata::moe_plugin {

namespace {



// The config.json keys and tensor names that differ between the two architectures.
struct Dialect {
  const char* architecture;
  const char* experts_key;  // routed experts
  std::int64_t default_experts, default_top_k;  // 0: required
  bool renormalize;          // top-k weights renormalised to sum to 1 (unless renormalize_key says)
  const char* router;        // the router's module
  const char* gate;          // expert projections
  const char* up;
  const char* down;
  const char* d_ff_key = "intermediate_size";  // each expert's hidden width
  const char* renormalize_key = nullptr;       // Qwen3-MoE: norm_topk_prob (default false)
  const char* experts_key_v5 = nullptr;        // Qwen3-MoE: transformers 5 writes num_local_experts
  // Qwen3-Next: one always-active SwiGLU shared_expert of this width whose output is scaled
  // per token by sigmoid(shared_expert_gate(x)); null: no shared expert.
  const char* shared_d_ff_key = nullptr;
};

constexpr Dialect kMixtral{"MixtralForCausalLM", "num_local_experts", 0, 0, true, "gate", "w1", "w3", "w2"};
constexpr Dialect kJamba{"JambaForCausalLM", "num_experts", 16, 2, false, "router", "gate_proj", "up_proj", "down_proj"};
constexpr Dialect kQwen3Next{"Qwen3NextForCausalLM", "num_experts", 0, 0, false, "gate", "gate_proj", "up_proj",
                             "down_proj", "moe_intermediate_size", "norm_topk_prob", "num_local_experts",
                             "shared_expert_intermediate_size"};
constexpr Dialect kQwen3Moe{"Qwen3MoeForCausalLM", "num_experts", 0, 0, false, "gate", "gate_proj", "up_proj",
                            "down_proj", "moe_intermediate_size", "norm_topk_prob", "num_local_experts"};

std::int64_t required_or(const hf::ConfigView& c, const char* key, std::int64_t fallback) {
  return fallback > 0 ? c.integer_or(key, fallback) : c.integer(key);
}

double aux_coef(const Config& moe) {
  for (const Config& b : moe.components("balance"))
    if (b.type() == "switch_aux") return b.number("alpha");
  return 0.0;
}

hf::ComponentMapping moe_mapping(const Dialect& d) {
  hf::ComponentMapping m;
  m.kind = ComponentKind::ffn;
  m.type = "moe";
  m.architectures = {d.architecture};
  m.import_config = [d](const hf::ConfigView& c, hf::TomlWriter& out) {
    if (d.experts_key_v5 && c.present(d.experts_key_v5)) {
      const std::int64_t experts = c.integer(d.experts_key_v5);
      if (c.present(d.experts_key))
        c.require(c.integer(d.experts_key) == experts, d.experts_key,
                  std::string("differs from ") + d.experts_key_v5 + " (transformers 5's name for it)");
      out.set("n_experts", experts);
    } else {
      out.set("n_experts", required_or(c, d.experts_key, d.default_experts));
    }
    out.set("top_k", required_or(c, "num_experts_per_tok", d.default_top_k));
    c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
    out.set("activation", "swiglu");
    out.set("d_ff", c.integer(d.d_ff_key));
    const bool renormalize = d.renormalize_key ? c.boolean_or(d.renormalize_key, false) : d.renormalize;
    out.set_raw("router", std::string("{ type = \"softmax_topk\", renormalize = ") +
                              (renormalize ? "true" : "false") + " }");
    // Hugging Face's load-balancing loss (switch_aux with its normalisation), at its coefficient.
    out.set_raw("balance", "[{ type = \"switch_aux\", alpha = " +
                               hf::TomlWriter::toml_number(c.number_or("router_aux_loss_coef", 0.001)) +
                               ", normalization = \"hf\" }]");
    if (d.shared_d_ff_key) {
      out.set("n_shared_experts", 1);
      out.set("shared_d_ff", c.integer(d.shared_d_ff_key));
      out.set("shared_gate", true);
    }
    c.irrelevant("output_router_logits", "whether transformers returns the router logits");
    c.require(c.number_or("router_jitter_noise", 0.0) == 0.0, "router_jitter_noise",
              "is not 0: transformers multiplies the router's input by noise in training, and strata's router has "
              "none (it acts only in training: set it to 0 in a copy of config.json to import for inference)");
  };
  m.export_config = [d](const Config& moe, const Config& model, hf::ConfigWriter& out) {
    const Config& router = moe.component("router");
    if (router.type() != "softmax_topk")
      hf::not_exportable("the moe router must be softmax_topk");
    if (d.renormalize_key)
      out.set(d.renormalize_key, router.boolean("renormalize"));
    else if (router.boolean("renormalize") != d.renormalize)
      hf::not_exportable(std::string("the moe router must be softmax_topk with renormalize = ") +
                         (d.renormalize ? "true" : "false"));
    if (moe.number("capacity_factor") != 0) hf::not_exportable("moe with a capacity");
    if (!d.shared_d_ff_key && moe.integer("n_shared_experts") != 0) hf::not_exportable("moe with shared experts");
    if (d.shared_d_ff_key && (moe.integer("n_shared_experts") != 1 || !moe.boolean("shared_gate")))
      hf::not_exportable(std::string(d.architecture) + "'s MoE has one shared expert with a sigmoid gate "
                         "(n_shared_experts = 1, shared_gate = true)");
    if (moe.string("activation") != "swiglu") hf::not_exportable("ffn \"moe\" must use activation = swiglu");
    const std::int64_t d_ff =
        moe.integer("d_ff") > 0 ? moe.integer("d_ff") : nn::default_ffn_hidden(true, model.integer("d_model"));
    out.set(d.d_ff_key, d_ff);
    if (d.shared_d_ff_key) out.set(d.shared_d_ff_key, moe.integer("shared_d_ff") > 0 ? moe.integer("shared_d_ff") : d_ff);
    out.set("hidden_act", "silu");
    out.set(d.experts_key, moe.integer("n_experts"));
    out.set("num_experts_per_tok", moe.integer("top_k"));
    out.set("router_aux_loss_coef", aux_coef(moe));
  };
  const std::string expert = "experts.{e}.";
  m.tensors = {{"router.weight", {std::string(d.router) + ".weight"}},
               {"experts.gate_up_proj", {expert + d.gate + ".weight", expert + d.up + ".weight"}},
               {"experts.down_proj", {expert + d.down + ".weight"}}};
  if (d.shared_d_ff_key) {  // shared_expert_gate.weight keeps its name
    m.tensors.push_back({"shared_experts.gate_up_proj",
                         {std::string("shared_expert.") + d.gate + ".weight", std::string("shared_expert.") + d.up + ".weight"},
                         -1, true});
    m.tensors.push_back({"shared_experts.down_proj", {std::string("shared_expert.") + d.down + ".weight"}, -1, true});
  }
  return m;
}

// GraniteMoeHybrid's feed-forward (and GraniteMoe's layout): block_sparse_moe, a linear
// router whose top-k logits are softmaxed (the renormalised top-k of the full softmax),
// experts stacked as strata's (input_linear [E, 2F, D] holds each expert's [gate; up] rows,
// output_linear [E, D, F]), plus shared_mlp, one always-active SwiGLU expert of width
// shared_intermediate_size; both modules sit in the layer itself.
hf::ComponentMapping granite_moe_mapping() {
  hf::ComponentMapping m;
  m.kind = ComponentKind::ffn;
  m.type = "moe";
  m.architectures = {"GraniteMoeHybridForCausalLM"};
  m.import_config = [](const hf::ConfigView& c, hf::TomlWriter& out) {
    c.require(c.integer_or("num_local_experts", 8) > 0, "num_local_experts",
              "is 0 (a dense Granite, shared_mlp only); strata imports the MoE models (Granite-4.0-H Tiny, Small)");
    out.set("n_experts", c.integer_or("num_local_experts", 8));
    out.set("top_k", c.integer_or("num_experts_per_tok", 2));
    c.require(c.string_or("hidden_act", "silu") == "silu", "hidden_act", "must be \"silu\" (SwiGLU)");
    out.set("activation", "swiglu");
    out.set("d_ff", c.integer("intermediate_size"));
    out.set("n_shared_experts", 1);
    out.set("shared_d_ff", c.integer_or("shared_intermediate_size", 1024));
    out.set_raw("router", "{ type = \"softmax_topk\", renormalize = true }");
    out.set_raw("balance", "[{ type = \"switch_aux\", alpha = " +
                               hf::TomlWriter::toml_number(c.number_or("router_aux_loss_coef", 0.001)) +
                               ", normalization = \"hf\" }]");
    c.irrelevant("output_router_logits", "whether transformers returns the router logits");
  };
  m.export_config = [](const Config& moe, const Config& model, hf::ConfigWriter& out) {
    const Config& router = moe.component("router");
    if (router.type() != "softmax_topk" || !router.boolean("renormalize"))
      hf::not_exportable("Granite's router is softmax_topk with renormalize = true");
    if (moe.integer("n_shared_experts") != 1 || moe.number("capacity_factor") != 0)
      hf::not_exportable("Granite's MoE has one shared expert (n_shared_experts = 1) and no capacity");
    if (moe.boolean("shared_gate")) hf::not_exportable("Granite's shared expert has no gate (shared_gate = false)");
    if (moe.string("activation") != "swiglu") hf::not_exportable("ffn \"moe\" must use activation = swiglu");
    const std::int64_t d_ff =
        moe.integer("d_ff") > 0 ? moe.integer("d_ff") : nn::default_ffn_hidden(true, model.integer("d_model"));
    out.set("intermediate_size", d_ff);
    out.set("shared_intermediate_size", moe.integer("shared_d_ff") > 0 ? moe.integer("shared_d_ff") : d_ff);
    out.set("hidden_act", "silu");
    out.set("num_local_experts", moe.integer("n_experts"));
    out.set("num_experts_per_tok", moe.integer("top_k"));
    out.set("router_aux_loss_coef", aux_coef(moe));
  };
  m.tensors = {{"router.weight", {"block_sparse_moe.router.layer.weight"}},
               {"experts.gate_up_proj", {"block_sparse_moe.input_linear.weight"}},
               {"experts.down_proj", {"block_sparse_moe.output_linear.weight"}},
               {"shared_experts.gate_up_proj", {"shared_mlp.input_linear.weight"}, -1, true},
               {"shared_experts.down_proj", {"shared_mlp.output_linear.weight"}, -1, true}};
  return m;
}

}  // namespace

void register_hf_mappings(PluginRegistrar& registrar) {
  registrar.add_hf_component(moe_mapping(kMixtral));
  registrar.add_hf_component(moe_mapping(kJamba));
  registrar.add_hf_component(moe_mapping(kQwen3Moe));
  registrar.add_hf_component(granite_moe_mapping());
  registrar.add_hf_component(moe_mapping(kQwen3Next));
}

}  // namespace strata::moe_plugin
