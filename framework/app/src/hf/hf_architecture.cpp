// config.json <-> strata experiments, driven by the registered Hugging Face mappings.
#include "hf/hf_architecture.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "model/model_layers.h"
#include "strata/error.h"

namespace strata::hf_detail {

namespace {

// "LlamaForCausalLM (attention + mlp), MambaForCausalLM (mamba), ..."
std::string describe_architectures(const ComponentRegistry& registry) {
  std::string out;
  for (const hf::ArchitectureMapping* a : registry.hf_architectures()) {
    std::string parts = a->stack == "pattern" ? "" : "stack " + a->stack + ": ";
    std::vector<std::string> types = a->mixers;
    types.insert(types.end(), a->ffns.begin(), a->ffns.end());
    for (std::size_t i = 0; i < types.size(); ++i) parts += (i ? " + " : "") + types[i];
    out += (out.empty() ? "" : ", ") + a->name + " (" + parts + ")";
  }
  return out.empty() ? "none: load the plugins that provide them (attention, mamba, moe, jamba)" : out;
}

// The mapping of `type` in `arch`, or an error naming the plugin that is missing.
const hf::ComponentMapping& component_mapping(const ComponentRegistry& registry, const hf::ArchitectureMapping& arch,
                                              ComponentKind kind, const std::string& type) {
  if (const hf::ComponentMapping* m = registry.find_hf_component(kind, type, arch.name)) return *m;
  throw Error(arch.name + " composes " + std::string(to_string(kind)) + " '" + type +
                  "', but no loaded plugin maps it for " + arch.name,
              "load the plugin that provides " + std::string(to_string(kind)) + " '" + type +
                  "' (a component registers its Hugging Face mapping with registrar.add_hf_component)");
}

// The stack's mapping: required unless the stack is the built-in pattern (its defaults).
const hf::ComponentMapping* stack_mapping(const ComponentRegistry& registry, const hf::ArchitectureMapping& arch) {
  if (const hf::ComponentMapping* m = registry.find_hf_component(ComponentKind::stack, arch.stack, arch.name)) return m;
  if (arch.stack == "pattern") return nullptr;
  return &component_mapping(registry, arch, ComponentKind::stack, arch.stack);
}

std::string module_of(const hf::ArchitectureMapping& arch, const std::string& type) {
  for (const auto& [t, module] : arch.modules)
    if (t == type) return module;
  throw Error(arch.name + " names no Hugging Face module for '" + type + "'",
              "the plugin that registers " + arch.name + " must list every composed type in `modules`");
}

std::vector<std::string> types_of(const std::vector<Config>& entries) {
  std::vector<std::string> out;
  for (const Config& c : entries) out.push_back(c.type());
  return out;
}

std::string listed(const std::vector<std::string>& types) {
  if (types.empty()) return "none";
  std::string out;
  for (const std::string& t : types) out += (out.empty() ? "" : ", ") + t;
  return out;
}

// The keys transformers' PretrainedConfig gives every architecture (4.x and 5.x) that
// cannot change a causal language model's numerics, and why.
void mark_generic_keys(const hf::ConfigView& c) {
  static const char* const kGeneration[] = {
      "bad_words_ids", "begin_suppress_tokens", "decoder_start_token_id", "diversity_penalty", "do_sample",
      "early_stopping", "encoder_no_repeat_ngram_size", "exponential_decay_length_penalty", "forced_bos_token_id",
      "forced_eos_token_id", "length_penalty", "max_length", "min_length", "no_repeat_ngram_size", "num_beam_groups",
      "num_beams", "num_return_sequences", "output_scores", "remove_invalid_values", "repetition_penalty",
      "return_dict_in_generate", "suppress_tokens", "temperature", "top_k", "top_p", "typical_p"};
  for (const char* key : kGeneration) c.irrelevant(key, "a generation setting (strata generate takes its own)");
  for (const char* key : {"bos_token_id", "eos_token_id", "pad_token_id", "sep_token_id"})
    c.irrelevant(key, "a special token id, for tokenizers and generation; the layers do not use it");
  for (const char* key : {"_name_or_path", "_commit_hash", "transformers_version", "model_type", "tokenizer_class",
                          "prefix", "task_specific_params", "finetuning_task", "id2label", "label2id", "problem_type"})
    c.irrelevant(key, "bookkeeping (names, versions, labels of classification heads)");
  for (const char* key : {"output_attentions", "output_hidden_states", "return_dict", "use_cache", "torchscript",
                          "tf_legacy_loss", "use_bfloat16", "attn_implementation", "_attn_implementation"})
    c.irrelevant(key, "what transformers returns or which kernel it runs, not what the model computes");
  for (const char* key : {"is_encoder_decoder", "is_decoder", "add_cross_attention", "cross_attention_hidden_size",
                          "tie_encoder_decoder"})
    c.irrelevant(key, "encoder-decoder settings, which a decoder-only ...ForCausalLM does not use");
  c.irrelevant("chunk_size_feed_forward", "computes the same feed-forward in chunks of tokens");
  c.irrelevant("dtype", "the storage type: each tensor's own dtype is read from the weights");
  c.irrelevant("torch_dtype", "the storage type (transformers 4's name): each tensor's own dtype is read from the weights");
  c.irrelevant("initializer_range", "initialisation only: the weights are loaded");
  c.require(!c.is_object("pruned_heads") || c.object("pruned_heads").keys().empty(), "pruned_heads",
            "lists pruned attention heads; strata imports unpruned models");
  c.require(!c.present("quantization_config"), "quantization_config",
            "is set: the weights are quantized, and strata imports float (f32, bf16, f16) weights");
}

}  // namespace

const hf::ArchitectureMapping& architecture_of_config(const hf::ConfigView& config, const ComponentRegistry& registry) {
  if (!config.present("architectures") || config.strings("architectures").empty())
    throw FileFormatError(config.file() + ": missing key \"architectures\" (e.g. [\"LlamaForCausalLM\"])",
                          "is this a Hugging Face config.json?");
  const std::string name = config.strings("architectures").front();
  if (const hf::ArchitectureMapping* a = registry.find_hf_architecture(name)) return *a;
  throw FileFormatError(config.file() + ": architecture \"" + name + "\" is not one strata imports",
                        "the loaded plugins import " + describe_architectures(registry));
}

std::string config_to_toml(const hf::ArchitectureMapping& arch, const hf::ConfigView& view,
                           const ComponentRegistry& registry) {
  const hf::ConfigView c = view.for_architecture(arch.name);
  std::ostringstream os;
  os << "# Imported from " << c.file() << " (" << arch.name << ").\n"
     << "# Model-only: add a [task] and a [train] section to train or fine-tune it.\n";
  hf::TomlWriter model;
  model.set("d_model", c.integer("hidden_size"));
  model.set("n_layers", c.integer("num_hidden_layers"));
  model.set("vocab_size", c.integer("vocab_size"));
  model.set("norm", arch.norm);
  model.set("norm_eps", c.number_or(arch.norm_eps_key, arch.norm_eps_default));
  model.set("tie_embeddings", c.boolean_or("tie_word_embeddings", arch.tie_default));
  if (arch.import_config) arch.import_config(c, model);
  os << "[model]\n" << model.text();
  const auto section = [&](const hf::ComponentMapping& m, const std::string& table) {
    hf::TomlWriter keys;
    keys.set("type", m.type);
    m.import_config(c, keys);
    os << "\n[" << table << "]\n" << keys.text();
  };
  if (const hf::ComponentMapping* stack = stack_mapping(registry, arch)) section(*stack, "model.stack");
  for (const std::string& t : arch.mixers)
    section(component_mapping(registry, arch, ComponentKind::mixer, t), "model.mixer." + t);
  for (const std::string& t : arch.ffns) section(component_mapping(registry, arch, ComponentKind::ffn, t), "model.ffn." + t);
  mark_generic_keys(c);
  if (const std::vector<std::string> unknown = c.unconsidered(); !unknown.empty()) {
    std::string list;
    for (const std::string& k : unknown) list += (list.empty() ? "\"" : ", \"") + k + "\"";
    throw FileFormatError(c.file() + ": " + list + (unknown.size() == 1 ? " is a key" : " are keys") +
                              " that strata's import of " + arch.name +
                              " does not know; it could change the model, so the import stops rather than ignore it",
                          "docs/interop.md lists every key each architecture reads, refuses or knows to be irrelevant; "
                          "if this one cannot change the numerics, delete it from a copy of config.json");
  }
  return os.str();
}

namespace {

// The mixer and ffn type of every layer of the experiment's model, from its stack's plan.
std::vector<hf::LayerTypes> layer_types(const Experiment& e, const ComponentRegistry& registry) {
  Generator gen(0);  // a stack plans without parameters
  BuildContext ctx;
  ctx.dims.d_model = e.model.integer("d_model");
  ctx.dims.n_layers = e.model.integer("n_layers");
  ctx.gen = &gen;
  ctx.registry = &registry;
  const auto type_of = [&](const char* kind, const std::string& entry) {
    const std::vector<std::string>& names = e.model.component_names(kind);
    for (std::size_t i = 0; i < names.size(); ++i)
      if (names[i] == entry) return e.model.components(kind)[i].type();
    return std::string();
  };
  std::vector<hf::LayerTypes> out;
  for (const LayerSpec& layer : detail::plan_layers(e.model, registry, ctx))
    out.push_back({type_of("mixer", layer.mixer), layer.ffn.empty() ? std::string() : type_of("ffn", layer.ffn)});
  return out;
}

}  // namespace

std::vector<const hf::ArchitectureMapping*> architectures_of_experiment(const Experiment& e,
                                                                      const ComponentRegistry& registry) {
  const std::string stack = e.model.component("stack").type();
  const std::string block = e.model.component("block").type();
  const std::vector<std::string> mixers = types_of(e.model.components("mixer"));
  const std::vector<std::string> ffns = types_of(e.model.components("ffn"));
  const auto as_set = [](const std::vector<std::string>& v) { return std::set<std::string>(v.begin(), v.end()); };
  std::vector<const hf::ArchitectureMapping*> out;
  for (const hf::ArchitectureMapping* a : registry.hf_architectures()) {
    if (a->stack != stack || as_set(a->mixers) != as_set(mixers) || as_set(a->ffns) != as_set(ffns)) continue;
    if (block != "prenorm")
      throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart: [model.block] type = \"" +
                                block + "\"; " + a->name + " layers are pre-norm residual blocks (\"prenorm\")");
    if (mixers.size() != as_set(mixers).size() || ffns.size() != as_set(ffns).size())
      throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart: two [model.mixer] or "
                                "[model.ffn] entries of one type; " + a->name + " has one configuration of each");
    out.push_back(a);
  }
  if (out.empty())
    throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart: its stack (" + stack +
                              "), mixers (" + listed(mixers) + ") and ffns (" + listed(ffns) +
                              ") match none of the architectures the loaded plugins map",
                          "export-hf writes " + describe_architectures(registry));
  return out;
}

ExportChoice choose_export(const Experiment& e, std::int64_t vocab_size, const ComponentRegistry& registry) {
  const std::vector<const hf::ArchitectureMapping*> candidates = architectures_of_experiment(e, registry);
  std::string reasons, hint;
  for (const hf::ArchitectureMapping* a : candidates) {
    try {
      return {a, experiment_to_config(*a, e, vocab_size, registry)};
    } catch (const FileFormatError& err) {
      if (candidates.size() == 1) throw;
      const std::string prefix = e.file.string() + ": this model has no Hugging Face counterpart (";
      std::string why = err.message();
      if (why.rfind(prefix, 0) == 0) why = why.substr(prefix.size() - 1);  // "(LlamaForCausalLM): ..."
      reasons += (reasons.empty() ? "" : "; ") + why;
      hint = err.hint();
    }
  }
  throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart: " + reasons, hint);
}

std::string experiment_to_config(const hf::ArchitectureMapping& arch, const Experiment& e, std::int64_t vocab_size,
                                 const ComponentRegistry& registry) {
  hf::ConfigWriter out;
  out.set("architectures", std::vector<std::string>{arch.name});
  out.set("model_type", arch.model_type);
  out.set("hidden_size", e.model.integer("d_model"));
  out.set("num_hidden_layers", e.model.integer("n_layers"));
  out.set("vocab_size", vocab_size);
  out.set("tie_word_embeddings", e.model.boolean("tie_embeddings"));
  out.set("torch_dtype", "float32");
  try {
    if (e.model.string("norm") != arch.norm) hf::not_exportable("norm must be " + arch.norm);
    if (!arch.multipliers && (e.model.number("embedding_multiplier") != 1.0 || e.model.number("logits_scaling") != 1.0 ||
                              e.model.component("block").number("residual_multiplier") != 1.0))
      hf::not_exportable("embedding_multiplier, logits_scaling and the block's residual_multiplier must be 1 "
                         "(GraniteMoeHybridForCausalLM has them)");
    out.set(arch.norm_eps_key, e.model.number("norm_eps"));
    if (const hf::ComponentMapping* stack = stack_mapping(registry, arch))
      stack->export_config(e.model.component("stack"), e.model, out);
    for (const auto& [kind, types] : {std::pair{ComponentKind::mixer, &arch.mixers}, std::pair{ComponentKind::ffn, &arch.ffns}}) {
      for (const std::string& t : *types)
        for (const Config& entry : e.model.components(std::string(to_string(kind))))
          if (entry.type() == t) component_mapping(registry, arch, kind, t).export_config(entry, e.model, out);
    }
    if (arch.export_config) arch.export_config(e.model, out);
    if (arch.export_layers) arch.export_layers(layer_types(e, registry), out);
  } catch (const hf::NotExportable& x) {
    throw FileFormatError(e.file.string() + ": this model has no Hugging Face counterpart (" + arch.name +
                              "): " + x.message(),
                          x.hint().empty() ? "change the setting, or keep the model in strata's own format" : x.hint());
  }
  return out.dump() + "\n";
}

hf::TensorRule tensor_rule(const hf::ArchitectureMapping& arch, const ComponentRegistry& registry, const Model& model,
                           const std::string& name) {
  if (name == "embedding.weight") return {name, {arch.embedding}};
  if (name == "final_norm.weight") return {name, {arch.final_norm}, -1, false, arch.norm_offset};
  if (name == "head") return {name, {arch.head}};
  // "layers.3.mixer.in_proj.weight" -> layer 3, "mixer", "in_proj.weight"
  if (name.rfind("layers.", 0) == 0) {
    const std::size_t dot = name.find('.', 7);
    const std::size_t layer = std::stoul(name.substr(7, dot - 7));
    const std::string rest = name.substr(dot + 1);
    const std::string prefix = arch.layer_prefix + std::to_string(layer) + ".";
    const LayerPlan& plan = model.plan().at(layer);
    if (rest == "mixer_norm.weight") return {name, {prefix + arch.mixer_norm + ".weight"}, -1, false, arch.norm_offset};
    if (rest == "ffn_norm.weight" && !arch.ffn_norm.empty())
      return {name, {prefix + arch.ffn_norm + ".weight"}, -1, false, arch.norm_offset};
    for (const auto& [role, kind, type] : {std::tuple{std::string("mixer."), ComponentKind::mixer, plan.mixer_type},
                                           std::tuple{std::string("ffn."), ComponentKind::ffn, plan.ffn_type}}) {
      if (type.empty() || rest.rfind(role, 0) != 0) continue;
      const std::string inner = rest.substr(role.size());
      const std::string under = module_of(arch, type);
      const std::string module = under.empty() ? prefix : prefix + under + ".";
      hf::TensorRule rule{inner, {inner}};  // unnamed parameters keep their name under the module
      for (const hf::TensorRule& r : component_mapping(registry, arch, kind, type).tensors)
        if (r.strata == inner) rule = r;
      rule.strata = name;
      for (std::string& part : rule.hf) part = module + part;
      return rule;
    }
  }
  throw FileFormatError("strata tensor '" + name + "' has no counterpart in " + arch.name,
                        "the model uses a component option Hugging Face's class lacks");
}

}  // namespace strata::hf_detail
