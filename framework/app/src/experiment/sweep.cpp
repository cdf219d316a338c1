#include "strata/sweep.h"

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>

#include "config/config_impl.h"
#include "config/toml_config.h"

namespace strata {

namespace {

std::string value_text(const toml::node& node) {
  if (const auto* s = node.as_string()) return detail::toml_quoted(s->get());
  std::ostringstream os;
  if (node.is_table())
    os << toml::toml_formatter(*node.as_table(), toml::format_flags::none);
  else
    os << toml::toml_formatter(node, toml::format_flags::none);
  return os.str();
}

// A value as a folder-name fragment: letters, digits, '.', '-' kept; the rest becomes '_'.
// Floats are written with 6 significant digits (0.00046416, not 0.00046415999999999997).
std::string name_fragment(const std::string& value) {
  std::string text = value;
  if (value.find_first_of(".eE") != std::string::npos) {
    char* end = nullptr;
    const double number = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && *end == '\0') {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%g", number);
      text = buffer;
    }
  }
  std::string out;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
    if (keep)
      out.push_back(c);
    else if (!out.empty() && out.back() != '_')
      out.push_back('_');
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (out.size() > 24) out.resize(24);
  return out.empty() ? "x" : out;
}

}  // namespace

std::string last_key_part(const std::string& key) {
  const std::size_t dot = key.rfind('.');
  return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string setting_value(const std::string& value) {
  return value.size() >= 2 && value.front() == '"' && value.back() == '"' ? value.substr(1, value.size() - 2) : value;
}

std::vector<std::string> SweepVariant::overrides() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : applied) out.push_back(key + "=" + value);
  return out;
}

namespace {

// The leaves under `table` as (dotted key, node), tables flattened: `model.d_model = [..]`
// and `"model.d_model" = [..]` mean the same. Inline tables are values (`router = {...}`
// replaces the router table, as --set does).
void flatten(const toml::table& table, const std::string& prefix,
             std::vector<std::pair<std::string, const toml::node*>>& out, std::vector<const toml::key*>& keys) {
  std::vector<std::pair<const toml::key*, const toml::node*>> items;
  for (auto&& [k, v] : table) items.emplace_back(&k, &v);
  std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
    return std::pair(a.first->source().begin.line, a.first->source().begin.column) <
           std::pair(b.first->source().begin.line, b.first->source().begin.column);
  });
  for (const auto& [k, v] : items) {
    const std::string key = prefix.empty() ? std::string(k->str()) : prefix + "." + std::string(k->str());
    if (v->is_table() && !v->as_table()->is_inline()) {  // an inline table is a value: it replaces
      flatten(*v->as_table(), key, out, keys);
    } else {
      out.emplace_back(key, v);
      keys.push_back(k);
    }
  }
}

}  // namespace

std::vector<SweepAxis> read_sweep_axes(const std::filesystem::path& file) {
  const toml::table root = detail::parse_toml_file(file);
  const toml::node* sweep = root.get("sweep");
  std::vector<SweepAxis> axes;
  if (sweep == nullptr) return axes;
  if (!sweep->is_table())
    throw ConfigError(detail::location_of(sweep->source()), "sweep", "must be a table: write [sweep]");
  // Named variants first (they are usually the main comparison), then the plain axes.
  if (const toml::node* variants = sweep->as_table()->get("variants")) {
    SweepAxis axis;
    axis.key = "variant";
    axis.where = detail::location_of(variants->source());
    if (!variants->is_table() || variants->as_table()->empty())
      throw ConfigError(axis.where, "sweep.variants", "must hold [sweep.variants.NAME] tables",
                        "each NAME table lists the keys that variant sets, e.g. model.stack.mixers = \"M\"");
    std::vector<std::pair<const toml::key*, const toml::node*>> items;
    for (auto&& [k, v] : *variants->as_table()) items.emplace_back(&k, &v);
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
      return a.first->source().begin.line < b.first->source().begin.line;
    });
    for (const auto& [k, v] : items) {
      const std::string name(k->str());
      if (!v->is_table() || v->as_table()->empty())
        throw ConfigError(detail::location_of(k->source()), "sweep.variants." + name,
                          "must be a table of the keys this variant sets", "write [sweep.variants." + name + "]");
      std::vector<std::pair<std::string, const toml::node*>> leaves;
      std::vector<const toml::key*> keys;
      flatten(*v->as_table(), "", leaves, keys);
      Overrides overrides;
      std::vector<SourceLocation> where;
      for (std::size_t j = 0; j < leaves.size(); ++j) {
        overrides.emplace_back(leaves[j].first, value_text(*leaves[j].second));
        where.push_back(detail::location_of(keys[j]->source()));
      }
      axis.values.push_back(detail::toml_quoted(name));
      axis.variant_overrides.push_back(std::move(overrides));
      axis.variant_where.push_back(std::move(where));
    }
    axes.push_back(std::move(axis));
  }
  std::vector<std::pair<std::string, const toml::node*>> leaves;
  std::vector<const toml::key*> keys;
  toml::table plain = *sweep->as_table();
  plain.erase("variants");
  flatten(plain, "", leaves, keys);
  for (std::size_t i = 0; i < leaves.size(); ++i) {
    const auto& [name, v] = leaves[i];
    SweepAxis axis;
    axis.where = detail::location_of(keys[i]->source());
    axis.key = name == "seeds" ? "train.seed" : name;
    const toml::array* values = v->as_array();
    if (values == nullptr || values->empty())
      throw ConfigError(axis.where, "sweep." + name, "must be a non-empty list of values", "for example [32, 64]");
    for (const toml::node& value : *values) axis.values.push_back(value_text(value));
    axes.push_back(std::move(axis));
  }
  return axes;
}

SweepAxis parse_sweep_argument(const std::string& argument) {
  SweepAxis axis;
  axis.where = SourceLocation{"--sweep " + argument};
  const std::size_t eq = argument.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size())
    throw ConfigError(axis.where, "", "expected KEY.PATH=V1,V2,...", "for example --sweep model.d_model=32,64");
  axis.key = argument.substr(0, eq);
  // Split at commas outside brackets and quotes, so that lists and strings stay whole.
  int depth = 0;
  bool quoted = false;
  std::string current;
  for (char c : argument.substr(eq + 1)) {
    if (c == '"' || c == '\'') quoted = !quoted;
    if (!quoted && (c == '[' || c == '{')) ++depth;
    if (!quoted && (c == ']' || c == '}')) --depth;
    if (c == ',' && depth == 0 && !quoted) {
      axis.values.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  axis.values.push_back(current);
  for (const std::string& v : axis.values)
    if (v.empty()) throw ConfigError(axis.where, axis.key, "has an empty value", "separate values by single commas");
  return axis;
}

std::vector<SweepVariant> expand_sweep(const std::vector<SweepAxis>& axes) {
  std::set<std::string> keys;
  for (const SweepAxis& a : axes)
    if (!keys.insert(a.key).second)
      throw ConfigError(a.where, a.key, "is swept twice", "give each key one list of values (merge the two)");
  std::vector<SweepVariant> variants(1);
  for (const SweepAxis& axis : axes) {
    std::vector<SweepVariant> next;
    for (const SweepVariant& v : variants)
      for (std::size_t i = 0; i < axis.values.size(); ++i) {
        SweepVariant w = v;
        w.settings.emplace_back(axis.key, axis.values[i]);
        if (axis.variant_overrides.empty()) {
          w.applied.emplace_back(axis.key, axis.values[i]);
        } else {
          for (const auto& o : axis.variant_overrides[i]) w.applied.push_back(o);
        }
        next.push_back(std::move(w));
      }
    variants = std::move(next);
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    std::string name;
    for (const auto& [key, value] : variants[i].settings) {
      if (!name.empty()) name += '_';
      if (key != "variant") {  // a named variant is its name alone
        name += last_key_part(key);
        name += '-';
      }
      name += name_fragment(value);
    }
    if (name.empty()) name = "base";
    if (!names.insert(name).second) name = std::to_string(i) + "_" + name;  // two keys share a last part
    names.insert(name);
    variants[i].name = name;
  }
  return variants;
}

namespace {

// `err` at `where`, its message prefixed with `context` and without its own "key: " prefix.
ConfigError reworded(const ConfigError& err, const SourceLocation& where, const std::string& context) {
  std::string message = err.message();
  const std::string prefix = err.key_path() + ": ";
  if (const std::size_t at = message.find(prefix); at != std::string::npos) message = message.substr(at + prefix.size());
  return ConfigError(where, err.key_path(), context + ": " + message, err.hint());
}

}  // namespace

Experiment load_sweep_variant(const std::filesystem::path& file, const ExperimentOptions& base,
                              const SweepVariant& variant, const std::vector<SweepAxis>& axes,
                              ComponentRegistry& registry) {
  ExperimentOptions options = base;
  for (const std::string& override : variant.overrides()) options.overrides.push_back(override);
  try {
    return Experiment::load(file, options, registry);
  } catch (const ConfigError& err) {
    SourceLocation where = err.where();
    const auto concerns = [&](const std::string& key) {
      return err.key_path().rfind(key, 0) == 0 || key.rfind(err.key_path() + ".", 0) == 0;
    };
    for (const SweepAxis& a : axes) {
      if (a.variant_overrides.empty()) {
        if (concerns(a.key)) where = a.where;
        continue;
      }
      // A named variant: the line in [sweep.variants.NAME] that set the key.
      for (const auto& [key, value] : variant.settings) {
        if (key != a.key) continue;
        for (std::size_t i = 0; i < a.values.size(); ++i) {
          if (a.values[i] != value) continue;
          for (std::size_t j = 0; j < a.variant_overrides[i].size(); ++j)
            if (concerns(a.variant_overrides[i][j].first) && j < a.variant_where[i].size()) where = a.variant_where[i][j];
        }
      }
    }
    throw reworded(err, where, "in sweep variant " + variant.name);
  }
}

void validate_sweep_base(const std::filesystem::path& file, const ExperimentOptions& options,
                         ComponentRegistry& registry) {
  try {
    (void)Experiment::load(file, options, registry);
  } catch (const ConfigError& err) {
    throw reworded(err, err.where(), "in the experiment itself (before any sweep value)");
  }
}

}  // namespace strata
