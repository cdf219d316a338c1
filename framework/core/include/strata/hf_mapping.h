#pragma once
// Hugging Face mappings: how a model architecture of the transformers library (a model
// folder with config.json and safetensors weights) and the strata components it is made of
// translate into each other. Plugins declare them through the PluginRegistrar; the
// application's generic driver (import-hf, export-hf, logits --grads hf) reads config.json
// and the shards, assembles the experiment, converts the tensors and verifies them.
//
// Two kinds of declaration:
//   Architecture  one per transformers class ("LlamaForCausalLM"): which stack and which
//                 mixer and ffn types it composes, the module each one is under in a layer
//                 ("self_attn", "mlp"), and the model-level tensor names.
//   Component     one per component type and the architectures it takes part in: which
//                 config.json keys it reads (import) and writes (export), which it refuses,
//                 and how its parameters are named in the Hugging Face files.
//
//   hf::ComponentMapping m{ComponentKind::mixer, "my_mixer", {"MyModelForCausalLM"}};
//   m.import_config = [](const hf::ConfigView& c, hf::TomlWriter& out) {
//     out.set("kernel_size", c.integer_or("conv_kernel", 4));
//   };
//   m.export_config = [](const Config& mixer, const Config& model, hf::ConfigWriter& out) {
//     out.set("conv_kernel", mixer.integer("kernel_size"));
//   };
//   m.tensors = {{"conv.weight", {"conv1d.weight"}, 1}};  // strata [D, K] <-> HF [D, 1, K]
//   registrar.add_hf_component(std::move(m));
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "strata/component_kind.h"
#include "strata/config.h"
#include "strata/error.h"

namespace strata::hf {

// Thrown by an export_config that meets a setting the architecture cannot express; the
// driver reports it as "this model has no Hugging Face counterpart (<architecture>): <why>".
class NotExportable : public Error {
 public:
  using Error::Error;
  ~NotExportable() override;
};
[[noreturn]] void not_exportable(const std::string& why);

// A read-only view of a config.json object (or of an object inside it). A key that is
// missing or of the wrong type is a FileFormatError naming the file, the key and the
// architecture; a key that is present with JSON null counts as absent.
//
// Every key of config.json must be considered by some mapping: read (any accessor below,
// present() included: a refusal is a consideration), or marked irrelevant() with the reason
// it cannot change the model's numerics. The import driver refuses a config.json with a key
// nobody considered (unconsidered()), so that a new transformers setting is never silently
// ignored.
class ConfigView {
 public:
  // Parses the text of a config.json. Throws FileFormatError when it is not a JSON object.
  static ConfigView parse(const std::string& json_text, const std::string& file);

  bool present(const std::string& key) const;
  bool is_string(const std::string& key) const;
  bool is_object(const std::string& key) const;

  std::int64_t integer(const std::string& key) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
  double number(const std::string& key) const;  // an integer is accepted
  double number_or(const std::string& key, double fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  std::string string(const std::string& key) const;
  std::string string_or(const std::string& key, const std::string& fallback) const;
  std::vector<std::string> strings(const std::string& key) const;  // a JSON array of strings
  std::vector<double> numbers(const std::string& key) const;       // a JSON array of numbers
  ConfigView object(const std::string& key) const;                 // a nested object
  std::vector<std::string> keys() const;                           // this object's keys, sorted

  // Settings strata cannot reproduce exactly are refused rather than changed:
  // require(false, key, why) throws a FileFormatError "<file>: "<key>" <why>".
  void require(bool ok, const std::string& key, const std::string& why) const;
  [[noreturn]] void refuse(const std::string& key, const std::string& why) const;

  // Marks `key` as known not to change the model's numerics (`why` says why, e.g. "token
  // ids for generation"); it counts as considered.
  void irrelevant(const std::string& key, const std::string& why) const;
  // The keys of the whole config.json, dotted ("rope_parameters.factor" inside an object a
  // mapping opened with object()), that nothing read or marked irrelevant, sorted by name.
  std::vector<std::string> unconsidered() const;
  // The keys marked irrelevant so far, with their reasons.
  std::vector<std::pair<std::string, std::string>> irrelevant_keys() const;
  // How the import treated every key of config.json (dotted inside objects a mapping opened),
  // sorted by name: for `strata import-hf --explain`.
  struct KeyUse {
    std::string key;
    enum class How { read, irrelevant, unconsidered } how = How::read;
    std::string why;  // irrelevant: the reason
  };
  std::vector<KeyUse> key_uses() const;

  const std::string& file() const;
  // Names the architecture in errors ("... which LlamaForCausalLM needs").
  ConfigView for_architecture(std::string architecture) const;
  const std::string& architecture() const;

 private:
  struct Node;
  struct Tracking;  // what was considered, shared by every view of one config.json
  ConfigView(std::shared_ptr<const Node> node, std::string prefix, std::shared_ptr<const std::string> file,
             std::string architecture, std::shared_ptr<Tracking> tracking);
  void consider(const std::string& key) const;
  std::shared_ptr<const Node> node_;
  std::shared_ptr<Tracking> tracking_;
  std::string prefix_;  // "rope_parameters." inside a nested object
  std::shared_ptr<const std::string> file_;
  std::string architecture_;
};

// The keys of the config.json an export writes, in the order first written. Writing a key
// twice with different values (two components that disagree, e.g. on intermediate_size)
// throws NotExportable naming the key.
class ConfigWriter {
 public:
  ConfigWriter();

  template <class T>
  void set(const std::string& key, const T& value) {
    if constexpr (std::is_same_v<T, bool>)
      set_boolean(key, value);
    else if constexpr (std::is_integral_v<T>)
      set_integer(key, static_cast<std::int64_t>(value));
    else if constexpr (std::is_floating_point_v<T>)
      set_number(key, static_cast<double>(value));
    else if constexpr (std::is_same_v<T, std::vector<std::string>>)
      set_strings(key, value);
    else
      set_string(key, std::string(value));
  }
  void set_null(const std::string& key);
  void set_numbers(const std::string& key, const std::vector<double>& values);
  void set_integers(const std::string& key, const std::vector<std::int64_t>& values);
  // A nested object ("rope_scaling"), created on first use.
  ConfigWriter object(const std::string& key);

  bool has(const std::string& key) const;
  std::optional<bool> boolean(const std::string& key) const;  // nullopt when absent or not a boolean
  void erase(const std::string& key);

  // The whole document as JSON text (indented by 2).
  std::string dump() const;

 private:
  struct Document;
  ConfigWriter(std::shared_ptr<Document> document, std::string pointer);
  void set_boolean(const std::string& key, bool value);
  void set_integer(const std::string& key, std::int64_t value);
  void set_number(const std::string& key, double value);
  void set_string(const std::string& key, const std::string& value);
  void set_strings(const std::string& key, const std::vector<std::string>& value);
  std::shared_ptr<Document> document_;
  std::string pointer_;  // JSON pointer of this object inside the document
};

// The keys of one TOML table an import writes (a component's [model.mixer.<type>] table, or
// [model]), in order.
class TomlWriter {
 public:
  template <class T>
  void set(const std::string& key, const T& value) {
    if constexpr (std::is_same_v<T, bool>)
      set_raw(key, value ? "true" : "false");
    else if constexpr (std::is_integral_v<T>)
      set_raw(key, std::to_string(static_cast<std::int64_t>(value)));
    else if constexpr (std::is_floating_point_v<T>)
      set_raw(key, toml_number(static_cast<double>(value)));
    else
      set_raw(key, toml_string(std::string(value)));
  }
  // A value already in TOML syntax: an inline table or an array of them.
  void set_raw(const std::string& key, std::string toml_value);

  bool empty() const { return lines_.empty(); }
  // "key = value\n" lines.
  std::string text() const;

  static std::string toml_number(double value);  // round-trips exactly; always a float literal
  static std::string toml_numbers(const std::vector<double>& values);  // "[1.0, 2.5]"
  static std::string toml_string(const std::string& value);

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

// One strata parameter of a component and the Hugging Face tensor(s) it is made of, both
// relative to the component: `strata` to the component's parameter names ("conv1d.weight"),
// `hf` to the component's module in the Hugging Face layer ("model.layers.3.mamba.").
// - One part: a copy (a rename when the names differ).
// - Several parts: concatenated along dim 0 in equal pieces (strata's fused [gate; up]
//   rows from gate_proj and up_proj).
// - A part containing "{e}" repeats per expert: the strata tensor's dim 0 indexes the
//   expert ([E, ...]) and each expert's slice is made of its parts as above.
// - `hf_unsqueeze` >= 0: the Hugging Face tensor has an extra dimension of size 1 at that
//   position (mamba's conv1d.weight: strata [E, K], Hugging Face [E, 1, K]).
// A parameter no rule names maps to the same name under the module.
// - `strata_leading_one`: the strata tensor has a leading dimension of size 1 that the
//   Hugging Face tensor lacks (a single shared expert, stacked as strata's experts are).
// - `hf_offset`: strata's values are Hugging Face's plus this (Qwen3-Next's zero-centred
//   RMSNorm weights w, applied as 1 + w, are strata's plain RMSNorm weights 1 + w).
struct TensorRule {
  std::string strata;
  std::vector<std::string> hf;
  int hf_unsqueeze = -1;
  bool strata_leading_one = false;
  double hf_offset = 0.0;
};

// How one component type takes part in one or more architectures.
struct ComponentMapping {
  ComponentKind kind = ComponentKind::mixer;  // mixer, ffn or stack
  std::string type;                           // the `type = "..."` it maps
  // The architectures it takes part in ("LlamaForCausalLM"); empty: every architecture that
  // composes this type and has no mapping of its own for it.
  std::vector<std::string> architectures;
  // config.json -> the component's TOML keys (the driver writes `type`). Reads through the
  // view; refuses what the component cannot reproduce.
  std::function<void(const ConfigView& config, TomlWriter& out)> import_config;
  // The component's validated config (and the model's [model] table) -> config.json keys.
  // Throws NotExportable (hf::not_exportable) for a setting the architecture lacks.
  std::function<void(const Config& component, const Config& model, ConfigWriter& out)> export_config;
  std::vector<TensorRule> tensors;
};

// One layer of a model being exported: the types of its mixer and ffn ("" when it has none).
struct LayerTypes {
  std::string mixer, ffn;
};

// A transformers model class and the strata model it corresponds to.
struct ArchitectureMapping {
  std::string name;        // config.json "architectures"[0]: "LlamaForCausalLM"
  std::string model_type;  // config.json "model_type": "llama"
  std::string stack = "pattern";
  // The component types it composes, in the order the imported experiment lists them; an
  // export matches the architecture when the model has exactly these types.
  std::vector<std::string> mixers, ffns;
  // The module each component type is under in a Hugging Face layer: {"attention", "self_attn"};
  // "" when its tensors sit in the layer itself (Granite's block_sparse_moe and shared_mlp).
  std::vector<std::pair<std::string, std::string>> modules;
  // Model-level tensor names. A layer's are layer_prefix + index + "." + name + ".weight".
  std::string embedding;               // "model.embed_tokens.weight"
  std::string final_norm;              // "model.norm.weight"
  std::string head = "lm_head.weight";
  std::string layer_prefix;            // "model.layers."
  std::string mixer_norm, ffn_norm;    // "input_layernorm", "post_attention_layernorm"
  // The block and final norms' weights as Hugging Face stores them: strata's minus this
  // (1 for Qwen3-Next's zero-centred RMSNorm, which scales by 1 + weight).
  double norm_offset = 0.0;
  // The [model] norm ("rmsnorm") and the config.json key of its epsilon ("rms_norm_eps";
  // its default when config.json lacks it), and whether the head is tied when config.json
  // lacks tie_word_embeddings. The driver reads and writes these with hidden_size,
  // num_hidden_layers, vocab_size and tie_word_embeddings; an export of a model with
  // another norm is refused.
  std::string norm = "rmsnorm";
  std::string norm_eps_key;
  double norm_eps_default = 1e-6;
  bool tie_default = false;
  // Optional: further [model] keys from config.json, and further config.json keys. The
  // export runs after the components' export_config, so it may check or complete what
  // they wrote.
  std::function<void(const ConfigView& config, TomlWriter& model)> import_config;
  std::function<void(const Config& model, ConfigWriter& out)> export_config;
  // Optional, for architectures whose config.json lists per-layer choices (Bamba's
  // attn_layer_indices): the model's resolved layer plan -> config.json keys, whatever stack
  // keys produced the plan (mixers, layout, attention_ratio). NotExportable for a plan the
  // architecture cannot express.
  std::function<void(const std::vector<LayerTypes>& layers, ConfigWriter& out)> export_layers;
  // Whether the architecture has Granite's multipliers: [model] embedding_multiplier and
  // logits_scaling and the block's residual_multiplier (its import_config and export_config
  // map them). Export refuses a model with any of them != 1 for the other architectures.
  bool multipliers = false;
};

}  // namespace strata::hf
