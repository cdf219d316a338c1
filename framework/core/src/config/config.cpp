// The config view: schemas, validated tables, located errors, name suggestions.
#include "strata/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "config/config_impl.h"

namespace strata {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string detail::toml_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// ---- locations and errors -------------------------------------------------------------

std::string SourceLocation::to_string() const {
  std::string s = file.empty() ? "<config>" : file;
  if (line > 0) {
    s += ":" + std::to_string(line);
    if (column > 0) s += ":" + std::to_string(column);
  }
  return s;
}

namespace {
std::string located(const SourceLocation& where, const std::string& key_path, const std::string& message) {
  std::string s = where.to_string() + ": ";
  if (!key_path.empty()) s += key_path + ": ";
  return s + message;
}
}  // namespace

ConfigError::ConfigError(SourceLocation where, std::string key_path, const std::string& message,
                         const std::string& hint)
    : Error(located(where, key_path, message), hint), where_(std::move(where)), key_path_(std::move(key_path)) {}
ConfigError::~ConfigError() = default;

std::string_view to_string(ConfigType type) {
  switch (type) {
    case ConfigType::boolean:
      return "boolean";
    case ConfigType::integer:
      return "integer";
    case ConfigType::number:
      return "number";
    case ConfigType::string:
      return "string";
    case ConfigType::symbols:
      return "string or list of strings";
    case ConfigType::integer_list:
      return "list of integers";
    case ConfigType::number_list:
      return "list of numbers";
    case ConfigType::string_list:
      return "list of strings";
    case ConfigType::component:
      return "component table";
    case ConfigType::component_list:
      return "list of component tables";
    case ConfigType::component_map:
      return "table of named component tables";
  }
  return "?";
}

namespace {
std::string format_number(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // keep it a TOML float
  return s;
}
template <class T, class F>
std::string list_string(const std::vector<T>& v, F&& item) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + item(v[i]);
  return s + "]";
}
}  // namespace

std::string to_string(const ConfigValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using V = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<V, bool>)
          return v ? "true" : "false";
        else if constexpr (std::is_same_v<V, std::int64_t>)
          return std::to_string(v);
        else if constexpr (std::is_same_v<V, double>)
          return format_number(v);
        else if constexpr (std::is_same_v<V, std::string>)
          return detail::toml_quoted(v);
        else if constexpr (std::is_same_v<V, std::vector<std::string>>)
          return list_string(v, detail::toml_quoted);
        else if constexpr (std::is_same_v<V, std::vector<std::int64_t>>)
          return list_string(v, [](std::int64_t x) { return std::to_string(x); });
        else
          return list_string(v, format_number);
      },
      value);
}

// ---- keys and schemas ----------------------------------------------------------------

ConfigKey& ConfigKey::range(double lo, double hi) {
  min = lo;
  max = hi;
  return *this;
}
ConfigKey& ConfigKey::at_least(double lo) {
  min = lo;
  min_exclusive = false;
  return *this;
}
ConfigKey& ConfigKey::greater_than(double lo) {
  min = lo;
  min_exclusive = true;
  return *this;
}
ConfigKey& ConfigKey::at_most(double hi) {
  max = hi;
  return *this;
}
ConfigKey& ConfigKey::one_of(std::vector<std::string> allowed) {
  choices = std::move(allowed);
  return *this;
}

std::string ConfigKey::constraint() const {
  auto num = [&](double v) {
    if (type == ConfigType::integer || type == ConfigType::integer_list) return std::to_string(std::int64_t(v));
    std::ostringstream os;
    os << v;
    return os.str();
  };
  if (!choices.empty()) return "one of " + join_names(choices);
  if (min && max && !min_exclusive) return "in [" + num(*min) + ", " + num(*max) + "]";
  if (min && max) return "in (" + num(*min) + ", " + num(*max) + "]";
  if (min) return (min_exclusive ? "> " : ">= ") + num(*min);
  if (max) return "<= " + num(*max);
  return "";
}

std::string ConfigKey::default_string() const {
  if (default_value) return to_string(*default_value);
  return may_be_absent ? "(none)" : "";
}

namespace {
ConfigKey make_key(std::string name, ConfigType type, std::string doc, std::optional<ConfigValue> default_value = {}) {
  ConfigKey key;
  key.name = std::move(name);
  key.type = type;
  key.doc = std::move(doc);
  key.default_value = std::move(default_value);
  return key;
}
}  // namespace

ConfigKey& ConfigSchema::add(ConfigKey key) {
  if (find(key.name) != nullptr) throw ValueError("config schema declares key '" + key.name + "' twice");
  keys_.push_back(std::move(key));
  return keys_.back();
}
ConfigKey& ConfigSchema::boolean(std::string name, bool default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::boolean, std::move(doc), default_value));
}
ConfigKey& ConfigSchema::integer(std::string name, std::int64_t default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::integer, std::move(doc), default_value));
}
ConfigKey& ConfigSchema::number(std::string name, double default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::number, std::move(doc), default_value));
}
ConfigKey& ConfigSchema::string(std::string name, std::string default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::string, std::move(doc), std::move(default_value)));
}
ConfigKey& ConfigSchema::string_list(std::string name, std::vector<std::string> default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::string_list, std::move(doc), std::move(default_value)));
}
ConfigKey& ConfigSchema::integer_list(std::string name, std::vector<std::int64_t> default_value, std::string doc) {
  return add(make_key(std::move(name), ConfigType::integer_list, std::move(doc), std::move(default_value)));
}
ConfigKey& ConfigSchema::required(std::string name, ConfigType type, std::string doc) {
  return add(make_key(std::move(name), type, std::move(doc)));
}
ConfigKey& ConfigSchema::optional(std::string name, ConfigType type, std::string doc) {
  ConfigKey& k = add(make_key(std::move(name), type, std::move(doc)));
  k.may_be_absent = true;
  return k;
}
ConfigKey& ConfigSchema::component(std::string name, ComponentKind kind, std::string default_type, std::string doc) {
  ConfigKey key = make_key(std::move(name), ConfigType::component, std::move(doc));
  if (!default_type.empty()) key.default_value = std::move(default_type);
  key.component_kind = kind;
  return add(std::move(key));
}
ConfigKey& ConfigSchema::component_list(std::string name, ComponentKind kind, std::string doc) {
  ConfigKey key = make_key(std::move(name), ConfigType::component_list, std::move(doc));
  key.may_be_absent = true;
  key.component_kind = kind;
  return add(std::move(key));
}
ConfigKey& ConfigSchema::component_map(std::string name, ComponentKind kind, std::string doc) {
  ConfigKey key = make_key(std::move(name), ConfigType::component_map, std::move(doc));
  key.may_be_absent = true;
  key.component_kind = kind;
  return add(std::move(key));
}

const ConfigKey* ConfigSchema::find(std::string_view name) const {
  for (const ConfigKey& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<std::string> ConfigSchema::names() const {
  std::vector<std::string> out;
  for (const ConfigKey& k : keys_) out.push_back(k.name);
  return out;
}

// ---- validated tables ----------------------------------------------------------------

Config::Config() : impl_(std::make_shared<Impl>()) {}
Config::Config(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

const std::string& Config::path() const { return impl_->path; }
const SourceLocation& Config::location() const { return impl_->location; }
const std::string& Config::type() const { return impl_->type; }

namespace {
const Config::Impl::Entry& entry_of(const Config::Impl& impl, std::string_view key) {
  const Config::Impl::Entry* e = impl.find(key);
  if (e == nullptr) {
    const std::string where = impl.path.empty() ? std::string("the root table") : "[" + impl.path + "]";
    throw Error("config key '" + std::string(key) + "' is not declared in the schema of " + where,
                "declare it in the component's ConfigSchema before reading it");
  }
  return *e;
}
template <class T>
const T& value_as(const Config::Impl& impl, std::string_view key, const char* accessor) {
  const Config::Impl::Entry& e = entry_of(impl, key);
  if (!e.present) {
    throw Error("config key '" + std::string(key) + "' was not given and has no default",
                "check has(\"" + std::string(key) + "\") before reading it");
  }
  const T* v = std::get_if<T>(&e.value);
  if (v == nullptr) {
    throw Error("config key '" + std::string(key) + "' is a " + std::string(to_string(e.type)) +
                "; read it with the matching accessor, not " + accessor);
  }
  return *v;
}
}  // namespace

bool Config::has(std::string_view key) const { return entry_of(*impl_, key).given; }
bool Config::boolean(std::string_view key) const { return value_as<bool>(*impl_, key, "boolean()"); }
std::int64_t Config::integer(std::string_view key) const { return value_as<std::int64_t>(*impl_, key, "integer()"); }
double Config::number(std::string_view key) const { return value_as<double>(*impl_, key, "number()"); }
const std::string& Config::string(std::string_view key) const { return value_as<std::string>(*impl_, key, "string()"); }
const std::vector<std::string>& Config::strings(std::string_view key) const {
  return value_as<std::vector<std::string>>(*impl_, key, "strings()");
}
const std::vector<std::int64_t>& Config::integers(std::string_view key) const {
  return value_as<std::vector<std::int64_t>>(*impl_, key, "integers()");
}
const std::vector<double>& Config::numbers(std::string_view key) const {
  return value_as<std::vector<double>>(*impl_, key, "numbers()");
}

const Config& Config::component(std::string_view key) const {
  static const Config empty;
  const Impl::Entry& e = entry_of(*impl_, key);
  return e.components.empty() ? empty : e.components.front();
}
const std::vector<Config>& Config::components(std::string_view key) const { return entry_of(*impl_, key).components; }
const std::vector<std::string>& Config::component_names(std::string_view key) const {
  return entry_of(*impl_, key).names;
}

SourceLocation Config::where(std::string_view key) const {
  const Impl::Entry* e = impl_->find(key);
  return e != nullptr && e->given ? e->where : impl_->location;
}

ConfigError Config::error(std::string_view key, const std::string& message, const std::string& hint) const {
  const std::string path = impl_->path.empty() ? std::string(key) : impl_->path + "." + std::string(key);
  return ConfigError(where(key), path, message, hint);
}

namespace {
bool is_bare_key(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}
std::string key_text(const std::string& k) { return is_bare_key(k) ? k : detail::toml_quoted(k); }

void write_table(std::ostream& os, const Config& config, const std::string& header, bool array_item) {
  const Config::Impl& impl = config.impl();
  if (!header.empty()) os << (array_item ? "\n[[" + header + "]]\n" : "\n[" + header + "]\n");
  if (!impl.type.empty()) os << "type = " << detail::toml_quoted(impl.type) << "\n";
  for (const auto& e : impl.entries) {
    const bool is_component =
        e.type == ConfigType::component || e.type == ConfigType::component_list || e.type == ConfigType::component_map;
    if (is_component) continue;
    if (!e.present) continue;
    // Defaults are shown but commented out: several checks treat a key written in the
    // file as a choice (drop_policy without a capacity is an error), so the resolved file
    // must read back as the same experiment.
    os << (e.given ? "" : "# ") << key_text(e.name) << " = " << to_string(e.value) << (e.given ? "" : "  # default")
       << "\n";
  }
  const std::string prefix = header.empty() ? "" : header + ".";
  for (const auto& e : impl.entries) {
    if (e.type == ConfigType::component && !e.components.empty()) {
      write_table(os, e.components.front(), prefix + key_text(e.name), false);
    } else if (e.type == ConfigType::component_list) {
      for (const Config& c : e.components) write_table(os, c, prefix + key_text(e.name), true);
    } else if (e.type == ConfigType::component_map) {
      for (std::size_t i = 0; i < e.components.size(); ++i)
        write_table(os, e.components[i], prefix + key_text(e.name) + "." + key_text(e.names[i]), false);
    }
  }
}
}  // namespace

void Config::write_toml(std::ostream& os) const { write_table(os, *this, impl_->path, false); }

std::string Config::to_toml() const {
  std::ostringstream os;
  write_toml(os);
  return os.str();
}

// ---- suggestions -----------------------------------------------------------------------

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and swaps of two
  // neighbouring letters ("stpes" -> "steps") each cost 1; case is ignored.
  const auto same = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  };
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> d((n + 1) * (m + 1));
  const auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * (m + 1) + j]; };
  for (std::size_t i = 0; i <= n; ++i) at(i, 0) = i;
  for (std::size_t j = 0; j <= m; ++j) at(0, j) = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (same(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && same(a[i - 1], b[j - 2]) && same(a[i - 2], b[j - 1])) {
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
      }
    }
  }
  return at(n, m);
}

std::string nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // A plausible typo: at most a third of the longer name differs (and at least 1 edit allowed).
  const std::size_t limit = std::max<std::size_t>(1, std::max(name.size(), best.size()) / 3);
  return best_distance <= limit ? best : std::string();
}

std::string join_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string s;
  for (std::size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

std::string join_first_names(const std::vector<std::string>& names, std::size_t shown) {
  if (names.size() <= shown) return join_names(names);
  return join_names(std::vector<std::string>(names.begin(), names.begin() + std::ptrdiff_t(shown))) + ", ... (" +
         std::to_string(names.size()) + " in all)";
}

}  // namespace strata
