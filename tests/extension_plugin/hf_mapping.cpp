// A Hugging Face architecture that exists only in this plugin: "TokenShiftForCausalLM", a
// decoder of token_shift mixers and the built-in mlp. It shows what a plugin declares for
// import-hf and export-hf (nothing in framework/ names it):
//   config.json  shift_gate = "sigmoid" (refused otherwise), norm_epsilon, the mlp's keys
//   tensors      model.layers.N.shift.{current, previous, output}.weight, and time_mix,
//                stored [1, D] as RWKV stores its mixing vectors (strata's mix is [D])
#include "extension.h"

namespace strata::extension_plugin {

namespace {

constexpr const char* kArchitecture = "TokenShiftForCausalLM";

hf::ArchitectureMapping token_shift_architecture() {
  hf::ArchitectureMapping a;
  a.name = kArchitecture;
  a.model_type = "token_shift";
  a.mixers = {"token_shift"};
  a.ffns = {"mlp"};
  a.modules = {{"token_shift", "shift"}, {"mlp", "mlp"}};
  a.embedding = "model.embed_tokens.weight";
  a.final_norm = "model.norm.weight";
  a.layer_prefix = "model.layers.";
  a.mixer_norm = "shift_norm";
  a.ffn_norm = "mlp_norm";
  a.norm_eps_key = "norm_epsilon";
  a.norm_eps_default = 1e-5;
  a.tie_default = true;
  return a;
}

hf::ComponentMapping token_shift_mapping() {
  hf::ComponentMapping m;
  m.kind = ComponentKind::mixer;
  m.type = "token_shift";
  m.architectures = {kArchitecture};
  m.import_config = [](const hf::ConfigView& c, hf::TomlWriter&) {
    c.require(c.string_or("shift_gate", "sigmoid") == "sigmoid", "shift_gate",
              "must be \"sigmoid\" (token_shift gates with sigmoid(mix))");
  };
  m.export_config = [](const Config&, const Config&, hf::ConfigWriter& out) { out.set("shift_gate", "sigmoid"); };
  m.tensors = {{"in_a.weight", {"current.weight"}},
               {"in_b.weight", {"previous.weight"}},
               {"out_proj.weight", {"output.weight"}},
               {"mix", {"time_mix"}, 0}};
  return m;
}

}  // namespace

void register_token_shift_hf(PluginRegistrar& registrar) {
  registrar.add_hf_architecture(token_shift_architecture());
  registrar.add_hf_component(token_shift_mapping());
}

}  // namespace strata::extension_plugin
