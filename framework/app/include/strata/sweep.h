#pragma once
// Sweeps: a grid of experiment variants. The axes come from the experiment file's
// [sweep] section, a table of dotted config keys with lists of values (plus `seeds`, an
// axis over train.seed), and from `--sweep key=v1,v2,...` on the command line:
//
//   [sweep]
//   model.d_model = [32, 64]            # an axis: a dotted key and its values
//   seeds = [0, 1, 2]                   # short for train.seed
//   [sweep.variants.attention]          # an axis of named variants, each a set of overrides
//   model.stack.mixers = "A"
//   [sweep.variants.mamba]
//   model.stack.mixers = "M"
//   model.mixer.M.d_state = 8
//
// Every combination is one variant: a list of `key=value` overrides applied like --set.
#include <filesystem>
#include <string>
#include <vector>

#include "strata/config.h"
#include "strata/experiment.h"

namespace strata {

using Overrides = std::vector<std::pair<std::string, std::string>>;  // (dotted key, TOML value text)

struct SweepAxis {
  std::string key;                  // dotted config key ("train.seed" for seeds; "variant" for named variants)
  std::vector<std::string> values;  // each as TOML value text ("64", "\"rope\"", "[1, 2]"); variant names
  std::vector<Overrides> variant_overrides;  // named variants only: the overrides of each value
  std::vector<std::vector<SourceLocation>> variant_where;  // named variants: where each override is written
  SourceLocation where;                      // the file's key, or the --sweep argument
};

struct SweepVariant {
  std::string name;  // a folder name: "d_model-64_seed-1" (unique within the sweep)
  Overrides settings;  // (axis key, value text), one per axis: the summary's columns
  Overrides applied;   // what the variant sets: the plain axes' settings and the named variants' overrides
  std::vector<std::string> overrides() const;  // "key=value" of `applied`, for ExperimentOptions
};

// The [sweep] axes of an experiment file (none when it has no [sweep]). Throws ConfigError
// at file:line:col for a value that is not a non-empty list, or a variant that sets nothing.
std::vector<SweepAxis> read_sweep_axes(const std::filesystem::path& file);
// One `--sweep key=v1,v2` argument (values are TOML or bare words, split at top-level commas).
SweepAxis parse_sweep_argument(const std::string& argument);
// "model.d_model" -> "d_model": how names and labels show a sweep key.
std::string last_key_part(const std::string& key);
// A setting's value text as a reader sees it: "\"rope\"" -> "rope" (other values unchanged).
std::string setting_value(const std::string& value_text);

// The cartesian product, first axis slowest. A key given twice is a ConfigError.
std::vector<SweepVariant> expand_sweep(const std::vector<SweepAxis>& axes);

// Loads the experiment file without its sweep values, so that a value every variant replaces
// is still checked (a typo there is a typo). ConfigError "in the experiment itself" otherwise.
void validate_sweep_base(const std::filesystem::path& file, const ExperimentOptions& options,
                         ComponentRegistry& registry);

// The experiment of one variant: `file` with base.overrides (--set), then the variant's own
// overrides. A ConfigError caused by a variant's value is relocated to its sweep key (the
// file's line, or the --sweep argument) and names the variant.
Experiment load_sweep_variant(const std::filesystem::path& file, const ExperimentOptions& base,
                              const SweepVariant& variant, const std::vector<SweepAxis>& axes,
                              ComponentRegistry& registry);

}  // namespace strata
