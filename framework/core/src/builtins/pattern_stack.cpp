// The built-in `pattern` stack: per-layer symbols naming [model.mixer.*] / [model.ffn.*]
// entries, e.g. mixers = "MMMAMMMM" (one character per layer) or ["mamba", "attn", ...];
// or a Megatron-style layout ("M-MEM-ME*-MEM-ME": M Mamba, * attention, - dense MLP, E
// MoE, one symbol per residual sub-layer); or an attention ratio spacing attention layers
// evenly among Mamba layers.
#include <algorithm>
#include <cmath>

#include "builtins/builtins.h"

namespace strata::builtins {
namespace {

class PatternStack : public Stack {
 public:
  explicit PatternStack(Config config) : config_(std::move(config)) {}

  std::vector<LayerSpec> plan(const StackInputs& in) const override {
    if (config_.has("layout")) return layout_plan(in);
    const std::vector<std::string> mixers = config_.has("attention_ratio") ? ratio_mixers(in)
                                                                           : resolve("mixers", "mixer", in.mixers, in.n_layers, false);
    const std::vector<std::string> ffns = resolve("ffns", "ffn", in.ffns, in.n_layers, true);
    std::vector<LayerSpec> layers(static_cast<std::size_t>(in.n_layers));
    for (std::size_t i = 0; i < layers.size(); ++i) {
      layers[i].mixer = mixers[i];
      layers[i].ffn = ffns.empty() ? std::string() : ffns[i];
    }
    return layers;
  }

 private:
  // The per-layer entry names for one key ("mixers" or "ffns").
  std::vector<std::string> resolve(const std::string& key, const std::string& kind,
                                   const std::vector<std::string>& declared, std::int64_t n_layers,
                                   bool may_be_empty) const {
    if (!config_.has(key)) {
      if (declared.size() == 1) return std::vector<std::string>(std::size_t(n_layers), declared.front());
      if (declared.empty() && may_be_empty) return {};
      if (declared.empty()) {
        throw config_.error(key, "no " + kind + " is declared",
                            "add a [model." + kind + ".NAME] table with type = ...");
      }
      throw config_.error(key,
                          std::to_string(declared.size()) + " " + kind + " entries are declared (" +
                              join_names(declared) + "), so the stack must say which layer uses which",
                          "in [" + config_.path() + "], set " + key +
                              " = \"...\" with one entry name per layer (a string of one-character names, "
                              "or a list of names)");
    }
    const std::vector<std::string>& pattern = config_.strings(key);
    if (pattern.empty()) throw config_.error(key, "is empty", "give one entry name per layer");
    for (const std::string& symbol : pattern) {
      if (std::find(declared.begin(), declared.end(), symbol) == declared.end()) {
        const std::string near = nearest_name(symbol, declared);
        throw config_.error(
            key,
            "names " + kind + " \"" + symbol + "\", which is not declared (declared: " + join_names(declared) + ")",
            (near.empty() ? std::string() : "did you mean \"" + near + "\"? ") + "add [model." + kind + "." + symbol +
                "] or fix the pattern");
      }
    }
    const auto len = static_cast<std::int64_t>(pattern.size());
    if (n_layers % len != 0) {
      throw config_.error(
          key, "has " + std::to_string(len) + " entries, which does not divide n_layers = " + std::to_string(n_layers),
          "give one entry per layer, or a pattern whose length divides n_layers (it repeats)");
    }
    std::vector<std::string> out;
    for (std::int64_t i = 0; i < n_layers; ++i) out.push_back(pattern[std::size_t(i % len)]);
    return out;
  }

  // Megatron's hybrid layout: a mixer symbol (M, *) starts a layer, an ffn symbol (-, E)
  // right after it gives that layer its ffn. The layout repeats when its layers divide n_layers.
  std::vector<LayerSpec> layout_plan(const StackInputs& in) const {
    for (const char* other : {"mixers", "ffns", "attention_ratio"})
      if (config_.has(other))
        throw config_.error(other, "cannot be combined with layout", "describe the layers one way: remove one of them");
    const std::vector<std::string>& symbols = config_.strings("layout");
    std::vector<LayerSpec> block;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const std::string& c = symbols[i];
      const std::string where = "symbol " + std::to_string(i + 1) + " '" + c + "'";
      if (c == "M" || c == "*") {
        block.push_back({entry(c == "M" ? "mamba" : "attention", in.mixers, "mixer"), ""});
      } else if (c == "-" || c == "E") {
        if (block.empty() || !block.back().ffn.empty())
          throw config_.error("layout", where + " is an ffn with no mixer before it",
                              "each layer is a mixer symbol (M, *) optionally followed by one ffn symbol (-, E)");
        block.back().ffn = entry(c == "-" ? "mlp" : "moe", in.ffns, "ffn");
      } else {
        throw config_.error("layout", where + " is not a layer symbol",
                            "use M (Mamba), * (attention), - (dense MLP), E (MoE), as Megatron's hybrid pattern");
      }
    }
    if (block.empty()) throw config_.error("layout", "has no layer", "give at least one mixer symbol (M or *)");
    const auto len = static_cast<std::int64_t>(block.size());
    if (in.n_layers % len != 0)
      throw config_.error("layout", "has " + std::to_string(len) + " layers, which does not divide n_layers = " +
                                        std::to_string(in.n_layers),
                          "give one mixer symbol per layer, or a block whose layer count divides n_layers");
    std::vector<LayerSpec> layers;
    for (std::int64_t i = 0; i < in.n_layers; ++i) layers.push_back(block[std::size_t(i % len)]);
    return layers;
  }

  // round(ratio n) attention layers at floor((i + 1/2) n / count), Mamba elsewhere.
  std::vector<std::string> ratio_mixers(const StackInputs& in) const {
    if (config_.has("mixers"))
      throw config_.error("attention_ratio", "cannot be combined with mixers", "remove one of them");
    const auto count = static_cast<std::int64_t>(std::llround(config_.number("attention_ratio") * double(in.n_layers)));
    std::vector<std::string> mixers(std::size_t(in.n_layers), count < in.n_layers ? entry("mamba", in.mixers, "mixer") : "");
    for (std::int64_t i = 0; i < count; ++i)
      mixers[std::size_t((2 * i + 1) * in.n_layers / (2 * count))] = entry("attention", in.mixers, "mixer");
    return mixers;
  }

  // The entry named by key (mamba, attention, mlp, moe), which must be declared.
  std::string entry(const std::string& key, const std::vector<std::string>& declared, const std::string& kind) const {
    const std::string& name = config_.string(key);
    if (std::find(declared.begin(), declared.end(), name) == declared.end())
      throw config_.error(key, "names " + kind + " entry \"" + name + "\", which is not declared under [model." + kind + "]",
                          "add [model." + kind + "." + name + "], or set " + key + " to a declared entry");
    return name;
  }

  Config config_;
};

}  // namespace

void register_pattern_stack(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::stack, "pattern", "per-layer mixer and ffn entries from a pattern", {}, {}};
  spec.schema.optional("mixers", ConfigType::symbols,
                       "mixer entry per layer: a string of one-character names (\"MMMA\") or a list of names; a "
                       "pattern shorter than n_layers repeats; optional with a single [model.mixer] entry");
  spec.schema.optional("ffns", ConfigType::symbols,
                       "ffn entry per layer, as mixers; optional with zero (no ffn) or one [model.ffn] entry");
  spec.schema.optional("layout", ConfigType::symbols,
                       "Megatron-style hybrid layout instead of mixers/ffns: M Mamba, * attention, - dense MLP, E MoE, "
                       "one symbol per sub-layer (Jamba's block: \"M-MEM-ME*-MEM-ME\"); repeats to n_layers");
  spec.schema.optional("attention_ratio", ConfigType::number,
                       "instead of mixers: round(ratio * n_layers) attention layers spaced evenly, Mamba elsewhere")
      .range(0.0, 1.0);
  spec.schema.string("mamba", "mamba", "with layout or attention_ratio: the [model.mixer.*] entry of M layers");
  spec.schema.string("attention", "attention", "with layout or attention_ratio: the [model.mixer.*] entry of * layers");
  spec.schema.string("mlp", "mlp", "with layout: the [model.ffn.*] entry of - sub-layers");
  spec.schema.string("moe", "moe", "with layout: the [model.ffn.*] entry of E sub-layers");
  registry.add(std::move(spec), [](const Config& config, const BuildContext&) -> std::unique_ptr<Component> {
    return std::make_unique<PatternStack>(config);
  });
}

}  // namespace strata::builtins
