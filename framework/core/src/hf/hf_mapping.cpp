// The value types of Hugging Face mappings: the config.json view importers read, the
// writer exporters fill, and the TOML lines an import assembles. nlohmann::json stays
// inside this file; plugins see only strata types.
#include "strata/hf_mapping.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

namespace strata::hf {

using nlohmann::json;
using nlohmann::ordered_json;

NotExportable::~NotExportable() = default;

void not_exportable(const std::string& why) { throw NotExportable(why); }

// ---- ConfigView --------------------------------------------------------------------------

struct ConfigView::Node {
  json value;  // an object
};

struct ConfigView::Tracking {
  json root;                                 // the whole config.json
  std::set<std::string> considered, opened;  // dotted keys; objects opened with object()
  std::vector<std::pair<std::string, std::string>> irrelevant;  // (dotted key, why)
};

ConfigView::ConfigView(std::shared_ptr<const Node> node, std::string prefix, std::shared_ptr<const std::string> file,
                       std::string architecture, std::shared_ptr<Tracking> tracking)
    : node_(std::move(node)),
      tracking_(std::move(tracking)),
      prefix_(std::move(prefix)),
      file_(std::move(file)),
      architecture_(std::move(architecture)) {}

void ConfigView::consider(const std::string& key) const { tracking_->considered.insert(prefix_ + key); }

void ConfigView::irrelevant(const std::string& key, const std::string& why) const {
  consider(key);
  for (const auto& [k, reason] : tracking_->irrelevant)
    if (k == prefix_ + key) return;
  tracking_->irrelevant.emplace_back(prefix_ + key, why);
}

std::vector<std::pair<std::string, std::string>> ConfigView::irrelevant_keys() const { return tracking_->irrelevant; }

std::vector<ConfigView::KeyUse> ConfigView::key_uses() const {
  std::vector<KeyUse> out;
  const auto walk = [&](const auto& self, const json& object, const std::string& prefix) -> void {
    for (auto it = object.begin(); it != object.end(); ++it) {
      const std::string key = prefix + it.key();
      if (it->is_object() && tracking_->opened.count(key)) {
        self(self, *it, key + ".");
        continue;
      }
      KeyUse use{key, KeyUse::How::unconsidered, ""};
      for (const auto& [k, why] : tracking_->irrelevant)
        if (k == key) use = {key, KeyUse::How::irrelevant, why};
      if (use.how == KeyUse::How::unconsidered && tracking_->considered.count(key)) use.how = KeyUse::How::read;
      out.push_back(std::move(use));
    }
  };
  walk(walk, tracking_->root, "");
  return out;
}

std::vector<std::string> ConfigView::unconsidered() const {
  std::vector<std::string> out;
  for (const KeyUse& use : key_uses())
    if (use.how == KeyUse::How::unconsidered) out.push_back(use.key);
  return out;
}

namespace {

// Python's json module writes inf and nan as the bare words Infinity, -Infinity and NaN
// (transformers 4 config.json files do: Mamba-2's time_step_limit); transformers 5 writes
// {"__float__": "Infinity"}. The bare words, outside strings, become the latter, which
// numbers() reads.
std::string with_python_floats(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size()) out.push_back(text[++i]);
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    bool replaced = false;
    for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
      const std::size_t n = std::char_traits<char>::length(word);
      if (text.compare(i, n, word) == 0) {
        out += std::string("{\"__float__\": \"") + word + "\"}";
        i += n - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out.push_back(c);
  }
  return out;
}

// A number, or transformers 5's {"__float__": "Infinity" | "-Infinity" | "NaN"}.
std::optional<double> number_of(const json& item) {
  if (item.is_number()) return item.get<double>();
  if (!item.is_object() || item.size() != 1 || !item.contains("__float__") || !item["__float__"].is_string())
    return std::nullopt;
  const std::string v = item["__float__"].get<std::string>();
  if (v == "Infinity") return std::numeric_limits<double>::infinity();
  if (v == "-Infinity") return -std::numeric_limits<double>::infinity();
  if (v == "NaN") return std::numeric_limits<double>::quiet_NaN();
  return std::nullopt;
}

}  // namespace

ConfigView ConfigView::parse(const std::string& json_text, const std::string& file) {
  auto node = std::make_shared<Node>();
  try {
    node->value = json::parse(with_python_floats(json_text));
  } catch (const json::exception& e) {
    throw FileFormatError(file + ": not JSON (" + e.what() + ")");
  }
  if (!node->value.is_object()) throw FileFormatError(file + ": not a JSON object", "is this a Hugging Face config.json?");
  auto tracking = std::make_shared<Tracking>();
  tracking->root = node->value;
  return ConfigView(std::move(node), "", std::make_shared<const std::string>(file), "", std::move(tracking));
}

namespace {
const json& value_of(const json& object, const std::string& key) { return object.find(key).value(); }
}  // namespace

bool ConfigView::present(const std::string& key) const {
  consider(key);
  const auto it = node_->value.find(key);
  return it != node_->value.end() && !it->is_null();
}

bool ConfigView::is_string(const std::string& key) const { return present(key) && value_of(node_->value, key).is_string(); }
bool ConfigView::is_object(const std::string& key) const { return present(key) && value_of(node_->value, key).is_object(); }

void ConfigView::require(bool ok, const std::string& key, const std::string& why) const {
  if (!ok) refuse(key, why);
}

void ConfigView::refuse(const std::string& key, const std::string& why) const {
  throw FileFormatError(*file_ + ": \"" + prefix_ + key + "\" " + why,
                        "strata imports " + (architecture_.empty() ? std::string("a model") : architecture_) +
                            " only where it reproduces the model exactly");
}

namespace {
// The value of a required key, or a FileFormatError naming the architecture that needs it.
const json& required(const json& object, const std::string& key, const std::string& shown_key, const std::string& file,
                     const std::string& architecture) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    const std::string who = architecture.empty() ? std::string("the importer") : architecture;
    throw FileFormatError(file + ": missing key \"" + shown_key + "\", which " + who + " needs",
                          "is this the config.json of a " + (architecture.empty() ? std::string("supported model") : architecture) +
                              "? add the key from the model card");
  }
  return *it;
}
}  // namespace

std::int64_t ConfigView::integer(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  if (!v.is_number_integer()) refuse(key, "must be an integer, not " + v.dump());
  return v.get<std::int64_t>();
}

std::int64_t ConfigView::integer_or(const std::string& key, std::int64_t fallback) const {
  return present(key) ? integer(key) : fallback;
}

double ConfigView::number(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  if (!v.is_number()) refuse(key, "must be a number, not " + v.dump());
  return v.get<double>();
}

double ConfigView::number_or(const std::string& key, double fallback) const { return present(key) ? number(key) : fallback; }

bool ConfigView::boolean_or(const std::string& key, bool fallback) const {
  if (!present(key)) return fallback;
  const json& v = value_of(node_->value, key);
  if (!v.is_boolean()) refuse(key, "must be true or false, not " + v.dump());
  return v.get<bool>();
}

std::string ConfigView::string(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  if (!v.is_string()) refuse(key, "must be a string, not " + v.dump());
  return v.get<std::string>();
}

std::string ConfigView::string_or(const std::string& key, const std::string& fallback) const {
  return present(key) ? string(key) : fallback;
}

std::vector<std::string> ConfigView::strings(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  std::vector<std::string> out;
  if (v.is_array())
    for (const json& item : v) {
      if (!item.is_string()) break;
      out.push_back(item.get<std::string>());
    }
  if (!v.is_array() || out.size() != v.size()) refuse(key, "must be a list of strings, not " + v.dump());
  return out;
}

std::vector<double> ConfigView::numbers(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  std::vector<double> out;
  if (v.is_array())
    for (const json& item : v) {
      const std::optional<double> number = number_of(item);
      if (!number) break;
      out.push_back(*number);
    }
  if (!v.is_array() || out.size() != v.size()) refuse(key, "must be a list of numbers, not " + v.dump());
  return out;
}

ConfigView ConfigView::object(const std::string& key) const {
  consider(key);
  const json& v = required(node_->value, key, prefix_ + key, *file_, architecture_);
  if (!v.is_object()) refuse(key, "must be an object, not " + v.dump());
  auto node = std::make_shared<Node>();
  node->value = v;
  tracking_->opened.insert(prefix_ + key);
  return ConfigView(std::move(node), prefix_ + key + ".", file_, architecture_, tracking_);
}

std::vector<std::string> ConfigView::keys() const {
  std::vector<std::string> out;
  for (auto it = node_->value.begin(); it != node_->value.end(); ++it) out.push_back(it.key());
  return out;
}

const std::string& ConfigView::file() const { return *file_; }
const std::string& ConfigView::architecture() const { return architecture_; }

ConfigView ConfigView::for_architecture(std::string architecture) const {
  return ConfigView(node_, prefix_, file_, std::move(architecture), tracking_);
}

// ---- ConfigWriter ------------------------------------------------------------------------

struct ConfigWriter::Document {
  ordered_json root = ordered_json::object();
};

ConfigWriter::ConfigWriter() : document_(std::make_shared<Document>()) {}
ConfigWriter::ConfigWriter(std::shared_ptr<Document> document, std::string pointer)
    : document_(std::move(document)), pointer_(std::move(pointer)) {}

namespace {
ordered_json& object_at(ordered_json& root, const std::string& pointer) {
  return pointer.empty() ? root : root[ordered_json::json_pointer(pointer)];
}
// "rope_scaling.factor" for the key "factor" of the object at "/rope_scaling".
std::string shown(const std::string& pointer, const std::string& key) {
  std::string path;
  for (std::size_t i = 1; i < pointer.size(); ++i) {
    if (pointer[i] == '/') path += '.';
    else if (pointer[i] == '~') path += pointer[++i] == '0' ? '~' : '/';
    else path += pointer[i];
  }
  return path.empty() ? key : path + "." + key;
}

void put(ordered_json& object, const std::string& pointer, const std::string& key, ordered_json value) {
  const auto it = object.find(key);
  if (it != object.end() && *it != value)
    not_exportable("config.json key \"" + shown(pointer, key) + "\" would be both " + it->dump() + " and " +
                   value.dump() + " (two components disagree)");
  object[key] = std::move(value);
}
}  // namespace

void ConfigWriter::set_boolean(const std::string& key, bool value) {
  put(object_at(document_->root, pointer_), pointer_, key, value);
}
void ConfigWriter::set_integer(const std::string& key, std::int64_t value) {
  put(object_at(document_->root, pointer_), pointer_, key, value);
}
void ConfigWriter::set_number(const std::string& key, double value) {
  put(object_at(document_->root, pointer_), pointer_, key, value);
}
void ConfigWriter::set_string(const std::string& key, const std::string& value) {
  put(object_at(document_->root, pointer_), pointer_, key, value);
}
void ConfigWriter::set_strings(const std::string& key, const std::vector<std::string>& value) {
  put(object_at(document_->root, pointer_), pointer_, key, value);
}
void ConfigWriter::set_numbers(const std::string& key, const std::vector<double>& values) {
  put(object_at(document_->root, pointer_), pointer_, key, values);
}
void ConfigWriter::set_integers(const std::string& key, const std::vector<std::int64_t>& values) {
  put(object_at(document_->root, pointer_), pointer_, key, values);
}
void ConfigWriter::set_null(const std::string& key) { put(object_at(document_->root, pointer_), pointer_, key, nullptr); }

ConfigWriter ConfigWriter::object(const std::string& key) {
  ordered_json& here = object_at(document_->root, pointer_);
  const auto it = here.find(key);
  if (it == here.end()) here[key] = ordered_json::object();
  else if (!it->is_object())
    not_exportable("config.json key \"" + shown(pointer_, key) + "\" is both a value and an object");
  std::string escaped;  // JSON pointer escaping: ~ -> ~0, / -> ~1
  for (char c : key) escaped += c == '~' ? std::string("~0") : c == '/' ? std::string("~1") : std::string(1, c);
  return ConfigWriter(document_, pointer_ + "/" + escaped);
}

bool ConfigWriter::has(const std::string& key) const { return object_at(document_->root, pointer_).contains(key); }

std::optional<bool> ConfigWriter::boolean(const std::string& key) const {
  const ordered_json& here = object_at(document_->root, pointer_);
  const auto it = here.find(key);
  if (it == here.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

void ConfigWriter::erase(const std::string& key) { object_at(document_->root, pointer_).erase(key); }

std::string ConfigWriter::dump() const { return document_->root.dump(2); }

// ---- TomlWriter --------------------------------------------------------------------------

void TomlWriter::set_raw(const std::string& key, std::string toml_value) {
  for (auto& [k, v] : lines_)
    if (k == key) {
      v = std::move(toml_value);
      return;
    }
  lines_.emplace_back(key, std::move(toml_value));
}

std::string TomlWriter::text() const {
  std::string out;
  for (const auto& [k, v] : lines_) out += k + " = " + v + "\n";
  return out;
}

std::string TomlWriter::toml_number(double value) {
  std::ostringstream os;
  os.precision(17);
  os << value;
  std::string s = os.str();
  if (s == "inf") return "inf";
  if (s == "-inf") return "-inf";
  if (s == "nan" || s == "-nan") return "nan";
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

std::string TomlWriter::toml_numbers(const std::vector<double>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + toml_number(values[i]);
  return out + "]";
}

std::string TomlWriter::toml_string(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace strata::hf
