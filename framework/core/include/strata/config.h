#pragma once
// The framework's config view: what component factories (and plugins) see of an
// experiment file. Plugins never see TOML: they declare a ConfigSchema (each key's type,
// default, range or choices, and a one-line doc) and read a validated Config.
//
//   ConfigSchema schema;
//   schema.integer("kernel_size", 4, "width of the causal convolution").range(1, 64);
//   schema.string("activation", "swiglu", "gated or plain MLP").one_of({"swiglu", "gelu"});
//   ...
//   std::int64_t k = config.integer("kernel_size");
//   if (k > dims.max_seq_len) throw config.error("kernel_size", "is longer than the sequence");
//
// Every value remembers where it was written (file:line:col), so a factory's own check
// (an impossible combination) reports the same kind of located error as the validator.
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "strata/component_kind.h"
#include "strata/error.h"

namespace strata {

// Where a config value was written. line/column are 1-based; 0 when unknown (a default,
// or a value that came from the command line without a position).
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  // "file:line:col", "file:line" or "file".
  std::string to_string() const;
};

// A config value that is wrong: where (file:line:col), which key (dotted path), what, and a hint.
class ConfigError : public Error {
 public:
  ConfigError(SourceLocation where, std::string key_path, const std::string& message, const std::string& hint = {});
  ~ConfigError() override;
  const SourceLocation& where() const noexcept { return where_; }
  const std::string& key_path() const noexcept { return key_path_; }

 private:
  SourceLocation where_;
  std::string key_path_;
};

enum class ConfigType {
  boolean,
  integer,
  number,  // a float; an integer literal is accepted
  string,
  symbols,  // a string (one symbol per character) or a list of strings
  integer_list,
  number_list,
  string_list,
  component,       // a table with `type = "<registered name>"` and that component's keys
  component_list,  // an array of such tables
  component_map,   // a table of named component tables: [model.mixer.A], [model.mixer.M]
};
std::string_view to_string(ConfigType type);

using ConfigValue = std::variant<bool, std::int64_t, double, std::string, std::vector<std::string>,
                                 std::vector<std::int64_t>, std::vector<double>>;
// TOML-like rendering: true, 3, 0.001, "x", ["a", "b"], [1, 2].
std::string to_string(const ConfigValue& value);

// One declared key. Built through ConfigSchema's adders and refined with the chainable
// setters below.
struct ConfigKey {
  std::string name;
  ConfigType type = ConfigType::integer;
  std::string doc;
  // For scalar and list types: the value when the key is absent. Unset: required,
  // unless `may_be_absent` (then Config::has() says whether it was given).
  // For component types: the default component name (a string), or unset.
  std::optional<ConfigValue> default_value;
  bool may_be_absent = false;
  std::optional<double> min;  // inclusive bounds for integers and numbers (each element of lists)
  std::optional<double> max;
  bool min_exclusive = false;
  std::vector<std::string> choices;                     // allowed strings (string and string_list)
  ComponentKind component_kind = ComponentKind::mixer;  // for component types

  ConfigKey& range(double lo, double hi);
  ConfigKey& at_least(double lo);
  ConfigKey& greater_than(double lo);
  ConfigKey& at_most(double hi);
  ConfigKey& one_of(std::vector<std::string> allowed);
  // "", or e.g. "in [1, 64]", "> 0", "one of swiglu, gelu".
  std::string constraint() const;
  // "" when required; else the default as TOML ("(none)" when it may be absent).
  std::string default_string() const;
};

class ConfigSchema {
 public:
  ConfigKey& boolean(std::string name, bool default_value, std::string doc);
  ConfigKey& integer(std::string name, std::int64_t default_value, std::string doc);
  ConfigKey& number(std::string name, double default_value, std::string doc);
  ConfigKey& string(std::string name, std::string default_value, std::string doc);
  ConfigKey& string_list(std::string name, std::vector<std::string> default_value, std::string doc);
  ConfigKey& integer_list(std::string name, std::vector<std::int64_t> default_value, std::string doc);
  // A key that must be given.
  ConfigKey& required(std::string name, ConfigType type, std::string doc);
  // A key that may be absent and has no default (check Config::has()).
  ConfigKey& optional(std::string name, ConfigType type, std::string doc);
  // A nested component of `kind`; default_type "" makes it required.
  ConfigKey& component(std::string name, ComponentKind kind, std::string default_type, std::string doc);
  ConfigKey& component_list(std::string name, ComponentKind kind, std::string doc);  // default: empty
  ConfigKey& component_map(std::string name, ComponentKind kind, std::string doc);   // default: empty

  const ConfigKey* find(std::string_view name) const;
  const std::deque<ConfigKey>& keys() const { return keys_; }
  std::vector<std::string> names() const;

 private:
  ConfigKey& add(ConfigKey key);
  std::deque<ConfigKey> keys_;  // a deque: references returned by the adders stay valid
};

// A validated table: every declared key has a value (given or default) of its declared
// type and within its range. Cheap to copy (shared, immutable).
class Config {
 public:
  Config();  // an empty table with no keys

  // Dotted path of this table in the experiment ("model.mixer.C"); "" for the root.
  const std::string& path() const;
  const SourceLocation& location() const;
  // The component name (`type = ...`) when this table configures a component; else "".
  const std::string& type() const;

  // Whether the key was written in the file (or --set), as opposed to defaulted/absent.
  bool has(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::int64_t integer(std::string_view key) const;
  double number(std::string_view key) const;
  const std::string& string(std::string_view key) const;
  const std::vector<std::string>& strings(std::string_view key) const;  // string_list, symbols
  const std::vector<std::int64_t>& integers(std::string_view key) const;
  const std::vector<double>& numbers(std::string_view key) const;
  // component: the nested table (an empty Config when absent and without default).
  const Config& component(std::string_view key) const;
  // component_list in order; component_map in the order of the file.
  const std::vector<Config>& components(std::string_view key) const;
  // Entry names of a component_map, in file order.
  const std::vector<std::string>& component_names(std::string_view key) const;

  // Where the key's value was written; the table's location when it was defaulted.
  SourceLocation where(std::string_view key) const;
  // The error a factory throws for an impossible value or combination, located at `key`.
  [[nodiscard]] ConfigError error(std::string_view key, const std::string& message, const std::string& hint = {}) const;

  // The resolved table (defaults filled in) as TOML text, nested tables included.
  void write_toml(std::ostream& os) const;
  std::string to_toml() const;

  struct Impl;
  explicit Config(std::shared_ptr<const Impl> impl);
  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<const Impl> impl_;
};

// Levenshtein edit distance; used to suggest the nearest valid name.
std::size_t edit_distance(std::string_view a, std::string_view b);
// The candidate nearest to `name` when it is close enough to be a plausible typo, else "".
std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates);
// "a, b, c" (or "(none)").
std::string join_names(const std::vector<std::string>& names);
// The first `shown` names, then "... (N in all)" when there are more: for error messages
// that list tensors or keys.
std::string join_first_names(const std::vector<std::string>& names, std::size_t shown = 5);

}  // namespace strata
