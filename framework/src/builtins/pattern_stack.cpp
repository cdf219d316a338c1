// The built-in `pattern` stack: per-layer symbols naming [model.mixer.*] / [model.ffn.*]
// entries, e.g. mixers = "MMMAMMMM" (one character per layer) or ["mamba", "attn", ...].
#include <algorithm>

#include "builtins/builtins.h"

namespace strata::builtins {
namespace {

class PatternStack : public Stack {
 public:
  explicit PatternStack(Config config) : config_(std::move(config)) {}

  std::vector<LayerSpec> plan(const StackInputs& in) const override {
    const std::vector<std::string> mixers = resolve("mixers", "mixer", in.mixers, in.n_layers, false);
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

  Config config_;
};

}  // namespace

void register_pattern_stack(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::stack, "pattern", "per-layer mixer and ffn entries from a pattern", {}};
  spec.schema.optional("mixers", ConfigType::symbols,
                       "mixer entry per layer: a string of one-character names (\"MMMA\") or a list of names; a "
                       "pattern shorter than n_layers repeats; optional with a single [model.mixer] entry");
  spec.schema.optional("ffns", ConfigType::symbols,
                       "ffn entry per layer, as mixers; optional with zero (no ffn) or one [model.ffn] entry");
  registry.add(std::move(spec), [](const Config& config, const BuildContext&) -> std::unique_ptr<Component> {
    return std::make_unique<PatternStack>(config);
  });
}

}  // namespace strata::builtins
