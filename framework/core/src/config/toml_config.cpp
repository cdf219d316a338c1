#include "config/toml_config.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/config_impl.h"

namespace strata::detail {

using Entry = Config::Impl::Entry;

std::string set_argument_source(const std::string& assignment) { return "--set " + assignment; }

bool is_command_line_source(std::string_view name) {
  return name.rfind("--set ", 0) == 0 || name == kCommandLineSource;
}

SourceLocation location_of(const toml::source_region& region) {
  SourceLocation where;
  if (region.path) where.file = *region.path;
  // Positions inside the text parsed for a command-line source would mislead.
  if (is_command_line_source(where.file)) return where;
  where.line = static_cast<int>(region.begin.line);
  where.column = static_cast<int>(region.begin.column);
  return where;
}

namespace {

std::string join_path(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

const char* kind_noun(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "a list";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

std::string value_text(const toml::node& node) {
  std::ostringstream os;
  if (node.is_floating_point()) {
    os.precision(10);  // 0.003, not 0.0030000000000000001
    os << node.as_floating_point()->get();
    return os.str();
  }
  node.visit([&](const auto& v) { os << v; });
  std::string text = os.str();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string describe(const toml::node& node) {
  std::string s = kind_noun(node.type());
  if (node.is_value()) s += " (" + value_text(node) + ")";
  return s;
}

std::string expected_noun(ConfigType type) {
  switch (type) {
    case ConfigType::boolean:
      return "a boolean (true or false)";
    case ConfigType::integer:
      return "an integer";
    case ConfigType::number:
      return "a number";
    case ConfigType::string:
      return "a string";
    case ConfigType::symbols:
      return "a string or a list of strings";
    case ConfigType::integer_list:
      return "a list of integers";
    case ConfigType::number_list:
      return "a list of numbers";
    case ConfigType::string_list:
      return "a list of strings";
    case ConfigType::component:
      return "a table with type = \"...\"";
    case ConfigType::component_list:
      return "a list of tables, each with type = \"...\"";
    case ConfigType::component_map:
      return "a table of named tables, each with type = \"...\"";
  }
  return "?";
}

[[noreturn]] void type_error(const toml::node& node, const std::string& path, ConfigType expected,
                             const std::string& hint = {}) {
  throw ConfigError(location_of(node.source()), path, "expected " + expected_noun(expected) + ", got " + describe(node),
                    hint);
}

void check_range(const ConfigKey& key, double v, const toml::node& node, const std::string& path) {
  if (key.type == ConfigType::number || key.type == ConfigType::number_list) {
    if (!std::isfinite(v))
      throw ConfigError(location_of(node.source()), path, "must be a finite number, got " + describe(node));
  }
  const bool below = key.min && (key.min_exclusive ? v <= *key.min : v < *key.min);
  const bool above = key.max && v > *key.max;
  if (below || above) {
    throw ConfigError(location_of(node.source()), path,
                      "value " + value_text(node) + " is out of range: must be " + key.constraint(),
                      key.doc.empty() ? "" : key.name + ": " + key.doc);
  }
}

void check_choice(const ConfigKey& key, const std::string& v, const toml::node& node, const std::string& path) {
  if (key.choices.empty() || std::find(key.choices.begin(), key.choices.end(), v) != key.choices.end()) return;
  const std::string near = nearest_name(v, key.choices);
  throw ConfigError(location_of(node.source()), path,
                    "\"" + v + "\" is not allowed: must be one of " + join_names(key.choices),
                    near.empty() ? "" : "did you mean \"" + near + "\"?");
}

std::int64_t as_integer(const ConfigKey& key, const toml::node& node, const std::string& path) {
  if (!node.is_integer()) {
    const bool integral_float =
        node.is_floating_point() && std::floor(node.as_floating_point()->get()) == node.as_floating_point()->get();
    type_error(node, path, ConfigType::integer, integral_float ? "write it without a decimal point" : "");
  }
  const std::int64_t v = node.as_integer()->get();
  check_range(key, double(v), node, path);
  return v;
}

double as_number(const ConfigKey& key, const toml::node& node, const std::string& path) {
  double v = 0;
  if (node.is_floating_point())
    v = node.as_floating_point()->get();
  else if (node.is_integer())
    v = double(node.as_integer()->get());
  else
    type_error(node, path, ConfigType::number);
  check_range(key, v, node, path);
  return v;
}

std::string as_string(const ConfigKey& key, const toml::node& node, const std::string& path) {
  if (!node.is_string()) type_error(node, path, ConfigType::string, "strings are written in double quotes");
  std::string v = node.as_string()->get();
  check_choice(key, v, node, path);
  return v;
}

template <class T, class F>
std::vector<T> as_list(const ConfigKey& key, const toml::node& node, const std::string& path, F&& element) {
  if (!node.is_array()) type_error(node, path, key.type);
  std::vector<T> out;
  const toml::array& array = *node.as_array();
  for (std::size_t i = 0; i < array.size(); ++i) out.push_back(element(array[i], path + "[" + std::to_string(i) + "]"));
  return out;
}

Entry convert_value(const ConfigKey& key, const toml::node& node, const std::string& path) {
  Entry e;
  e.name = key.name;
  e.type = key.type;
  e.present = true;
  e.given = true;
  e.where = location_of(node.source());
  switch (key.type) {
    case ConfigType::boolean:
      if (!node.is_boolean()) type_error(node, path, key.type);
      e.value = node.as_boolean()->get();
      break;
    case ConfigType::integer:
      e.value = as_integer(key, node, path);
      break;
    case ConfigType::number:
      e.value = as_number(key, node, path);
      break;
    case ConfigType::string:
      e.value = as_string(key, node, path);
      break;
    case ConfigType::symbols:
      if (node.is_string()) {
        std::vector<std::string> symbols;
        // One symbol per character: a UTF-8 lead byte with its continuation bytes.
        for (char c : node.as_string()->get()) {
          const bool continuation = (static_cast<unsigned char>(c) & 0xC0) == 0x80;
          if (continuation && !symbols.empty())
            symbols.back() += c;
          else
            symbols.emplace_back(1, c);
        }
        e.value = std::move(symbols);
      } else {
        e.value = as_list<std::string>(key, node, path,
                                       [&](const toml::node& n, const std::string& p) { return as_string(key, n, p); });
      }
      break;
    case ConfigType::integer_list:
      e.value = as_list<std::int64_t>(key, node, path,
                                      [&](const toml::node& n, const std::string& p) { return as_integer(key, n, p); });
      break;
    case ConfigType::number_list:
      e.value = as_list<double>(key, node, path,
                                [&](const toml::node& n, const std::string& p) { return as_number(key, n, p); });
      break;
    case ConfigType::string_list:
      e.value = as_list<std::string>(key, node, path,
                                     [&](const toml::node& n, const std::string& p) { return as_string(key, n, p); });
      break;
    default:
      break;
  }
  return e;
}

bool is_component_type(ConfigType t) {
  return t == ConfigType::component || t == ConfigType::component_list || t == ConfigType::component_map;
}

Entry convert_components(const ConfigKey& key, const toml::node* node, const std::string& path,
                         const SourceLocation& table_location, const ComponentRegistry& registry) {
  Entry e;
  e.name = key.name;
  e.type = key.type;
  e.present = true;
  e.given = node != nullptr;
  e.where = node ? location_of(node->source()) : table_location;
  const std::string default_type = key.default_value && std::holds_alternative<std::string>(*key.default_value)
                                       ? std::get<std::string>(*key.default_value)
                                       : "";
  if (key.type == ConfigType::component) {
    if (node == nullptr && default_type.empty() && key.may_be_absent) return e;
    e.components.push_back(validate_component(node, key.component_kind, default_type, path, table_location, registry));
  } else if (key.type == ConfigType::component_list) {
    if (node == nullptr) return e;
    if (!node->is_array()) type_error(*node, path, key.type, "write [[" + path + "]] tables, one per entry");
    const toml::array& array = *node->as_array();
    for (std::size_t i = 0; i < array.size(); ++i) {
      e.components.push_back(validate_component(&array[i], key.component_kind, "", path + "[" + std::to_string(i) + "]",
                                                e.where, registry));
    }
  } else {  // component_map
    if (node == nullptr) return e;
    if (!node->is_table()) type_error(*node, path, key.type, "write [" + path + ".NAME] tables");
    std::vector<std::pair<const toml::key*, const toml::node*>> items;
    for (auto&& [k, v] : *node->as_table()) items.emplace_back(&k, &v);
    // File order (TOML++ keeps tables sorted by key).
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      const auto& sa = a.first->source().begin;
      const auto& sb = b.first->source().begin;
      return std::pair(sa.line, sa.column) < std::pair(sb.line, sb.column);
    });
    for (const auto& [k, v] : items) {
      const std::string name(k->str());
      e.names.push_back(name);
      e.components.push_back(
          validate_component(v, key.component_kind, "", join_path(path, name), location_of(k->source()), registry));
    }
  }
  return e;
}

Config validate_entries(const toml::table* table, const ConfigSchema& schema, const std::string& path,
                        const std::string& type_name, const SourceLocation& location, const ComponentRegistry& registry,
                        const std::string& what) {
  if (table != nullptr) {
    // In file order (TOML++ keeps keys sorted), so the first bad key is the one reported.
    std::vector<const toml::key*> keys;
    for (auto&& [k, v] : *table) keys.push_back(&k);
    std::stable_sort(keys.begin(), keys.end(), [](const toml::key* a, const toml::key* b) {
      return std::pair(a->source().begin.line, a->source().begin.column) <
             std::pair(b->source().begin.line, b->source().begin.column);
    });
    for (const toml::key* key : keys) {
      const toml::key& k = *key;
      const std::string name(k.str());
      if (!type_name.empty() && name == "type") continue;
      if (schema.find(name) != nullptr) continue;
      std::vector<std::string> valid = schema.names();
      if (!type_name.empty()) valid.push_back("type");
      const std::string near = nearest_name(name, valid);
      std::string hint = near.empty() ? "" : "did you mean '" + near + "'? ";
      hint += "valid keys of " + what + ": " + join_names(schema.names());
      throw ConfigError(location_of(k.source()), join_path(path, name), "unknown key", hint);
    }
  }
  auto impl = std::make_shared<Config::Impl>();
  impl->path = path;
  impl->location = location;
  impl->type = type_name;
  for (const ConfigKey& key : schema.keys()) {
    const toml::node* node = table ? table->get(key.name) : nullptr;
    const std::string key_path = join_path(path, key.name);
    if (is_component_type(key.type)) {
      impl->entries.push_back(convert_components(key, node, key_path, location, registry));
      continue;
    }
    if (node != nullptr) {
      impl->entries.push_back(convert_value(key, *node, key_path));
      continue;
    }
    Entry e;
    e.name = key.name;
    e.type = key.type;
    e.where = location;
    if (key.default_value) {
      e.value = *key.default_value;
      e.present = true;
    } else if (!key.may_be_absent) {
      throw ConfigError(location, key_path, "missing required key (" + std::string(to_string(key.type)) + ")",
                        "add `" + key.name + " = ...` to [" + path + "]" + (key.doc.empty() ? "" : ": " + key.doc));
    }
    impl->entries.push_back(std::move(e));
  }
  return Config(std::move(impl));
}

}  // namespace

Config validate_table(const toml::table* table, const ConfigSchema& schema, const std::string& path,
                      const SourceLocation& location, const ComponentRegistry& registry) {
  return validate_entries(table, schema, path, "", table ? location_of(table->source()) : location, registry,
                          path.empty() ? "the file" : "[" + path + "]");
}

Config validate_component(const toml::node* node, ComponentKind kind, const std::string& default_type,
                          const std::string& path, const SourceLocation& parent_location,
                          const ComponentRegistry& registry) {
  const std::string kind_name(to_string(kind));
  if (node != nullptr && !node->is_table()) {
    type_error(*node, path, ConfigType::component, "a " + kind_name + " is configured by a table: [" + path + "]");
  }
  const toml::table* table = node ? node->as_table() : nullptr;
  const SourceLocation location = table && table->source().path ? location_of(table->source()) : parent_location;
  std::string type = default_type;
  SourceLocation type_location = location;
  const std::vector<std::string> known = registry.names(kind);
  if (table != nullptr) {
    if (const toml::node* t = table->get("type")) {
      if (!t->is_string()) type_error(*t, join_path(path, "type"), ConfigType::string);
      type = t->as_string()->get();
      type_location = location_of(t->source());
      if (type.empty()) {
        throw ConfigError(type_location, join_path(path, "type"), "is empty: name a " + kind_name,
                          "known " + kind_name + "s: " + join_names(known));
      }
    }
  }
  if (type.empty()) {
    throw ConfigError(location, join_path(path, "type"), "missing required key: which " + kind_name + " to use",
                      "add type = \"NAME\"; known " + kind_name + "s: " + join_names(known));
  }
  const ComponentSpec* spec = registry.find(kind, type);
  if (spec == nullptr) {
    const std::string near = nearest_name(type, known);
    throw ConfigError(
        type_location, join_path(path, "type"),
        "unknown " + kind_name + " \"" + type + "\" (known " + kind_name + "s: " + join_names(known) + ")",
        (near.empty() ? std::string() : "did you mean \"" + near + "\"? ") +
            "components come from plugins: `strata plugins` lists what is loaded; add a folder with "
            "[plugins] paths, --plugin-path or STRATA_PLUGIN_PATH");
  }
  return validate_entries(table, spec->schema, path, type, location, registry, kind_name + " \"" + type + "\"");
}

// ---- files and overrides ---------------------------------------------------------------

namespace {
ConfigError parse_error_to_config_error(const toml::parse_error& e, const std::string& name) {
  SourceLocation where = location_of(e.source());
  if (where.file.empty()) where.file = name;
  return ConfigError(where, "", "TOML syntax error: " + std::string(e.description()),
                     "see https://toml.io for the syntax; strings need double quotes");
}
}  // namespace

toml::table parse_toml_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw ConfigError(SourceLocation{file.string()}, "", "experiment file not found or not a regular file",
                      "check the path (relative paths start from the current folder)");
  }
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw parse_error_to_config_error(e, file.string());
  }
}

toml::table parse_toml_text(const std::string& text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    throw parse_error_to_config_error(e, name);
  }
}

void apply_override(toml::table& root, const std::string& assignment) {
  const std::string source = set_argument_source(assignment);
  const std::size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(SourceLocation{source}, "", "expected KEY.PATH=VALUE",
                      "for example --set train.lr=0.001 or --set model.mixer.C.type=shortconv");
  }
  const std::string key_path = assignment.substr(0, eq);
  const std::string value_text = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = key_path.find('.', start);
    parts.push_back(key_path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  for (const std::string& p : parts) {
    if (p.empty()) throw ConfigError(SourceLocation{source}, key_path, "empty component in the key path");
  }
  // Read the value as TOML; positions then point into the --set argument itself.
  toml::table parsed;
  try {
    parsed = toml::parse("value = " + value_text, source);
  } catch (const toml::parse_error&) {
    if (value_text.find_first_of("\"'[]{}=") != std::string::npos || value_text.empty()) {
      throw ConfigError(SourceLocation{source}, key_path, "the value is not valid TOML: " + value_text,
                        "quote strings: --set 'key=\"text\"'; lists look like [1, 2]");
    }
    const bool has_control = std::any_of(value_text.begin(), value_text.end(), [](char c) {
      const auto u = static_cast<unsigned char>(c);
      return u < 0x20 || u == 0x7f;
    });
    if (has_control) {
      throw ConfigError(SourceLocation{source}, key_path, "the value is not valid: it contains a control character",
                        "control characters cannot appear in values");
    }
    // A bare word: a string. Parsed again, quoted, so that it keeps the --set location.
    try {
      parsed = toml::parse("value = " + toml_quoted(value_text), source);
    } catch (const toml::parse_error& e) {
      // What even a quoted string cannot hold, such as bytes that are not UTF-8.
      throw ConfigError(SourceLocation{source}, key_path,
                        "the value is not valid: " + std::string(e.description()),
                        "values are UTF-8 text, numbers, booleans, lists or tables");
    }
  }
  if (parsed.size() != 1 || parsed.get("value") == nullptr) {
    throw ConfigError(SourceLocation{source}, key_path, "the value must be a single TOML value",
                      "one --set per key; a newline in the value starts another assignment");
  }
  toml::table* table = &root;
  std::string walked;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    walked = join_path(walked, parts[i]);
    toml::node* next = table->get(parts[i]);
    if (next == nullptr) {
      table->insert(toml::key(parts[i], toml::source_region{{}, {}, std::make_shared<const std::string>(source)}),
                    toml::table{});
      next = table->get(parts[i]);
    }
    if (!next->is_table()) {
      throw ConfigError(SourceLocation{source}, walked, "is " + describe(*next) + ", not a table, so it has no keys",
                        "check the key path");
    }
    table = next->as_table();
  }
  table->insert_or_assign(
      toml::key(parts.back(), toml::source_region{{}, {}, std::make_shared<const std::string>(source)}),
      std::move(*parsed.get("value")));
}

}  // namespace strata::detail
