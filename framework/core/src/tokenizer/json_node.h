#pragma once
// A position in a tokenizer.json: the value and its JSON path, so that every refusal names
// the file and the exact place ("tokenizer.json: pre_tokenizer.pretokenizers[1].type").
#include <filesystem>
#include <memory>
#include <vector>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "strata/error.h"

namespace strata::tokenizer {

struct JsonNode {
  const nlohmann::json& value;
  std::string path;
  const std::filesystem::path& file;

  [[noreturn]] void fail(const std::string& what, const std::string& hint = {}) const {
    throw FileFormatError(file.string() + ": " + (path.empty() ? "" : path + ": ") + what,
                          hint.empty() ? "strata reads the tokenizer.json parts of GPT-2, Llama, Mistral and Qwen "
                                         "tokenizers; see docs/interop.md"
                                       : hint);
  }

  bool has(const std::string& key) const { return value.is_object() && value.contains(key) && !value[key].is_null(); }

  JsonNode operator[](const std::string& key) const {
    if (!value.is_object()) fail("expected an object");
    if (!value.contains(key)) fail("has no \"" + key + "\"");
    return {value[key], path.empty() ? key : path + "." + key, file};
  }

  JsonNode operator[](std::size_t index) const {
    return {value.at(index), path + "[" + std::to_string(index) + "]", file};
  }

  std::string string() const {
    if (!value.is_string()) fail("expected a string, found " + std::string(value.type_name()));
    return value.get<std::string>();
  }

  bool boolean() const {
    if (!value.is_boolean()) fail("expected true or false, found " + std::string(value.type_name()));
    return value.get<bool>();
  }

  std::int64_t integer() const {
    if (!value.is_number_integer()) fail("expected an integer, found " + std::string(value.type_name()));
    return value.get<std::int64_t>();
  }

  // An optional member with a default when absent or null.
  bool boolean_or(const std::string& key, bool fallback) const { return has(key) ? (*this)[key].boolean() : fallback; }
  std::string string_or(const std::string& key, const std::string& fallback) const {
    return has(key) ? (*this)[key].string() : fallback;
  }

  std::string type() const { return (*this)["type"].string(); }

  [[noreturn]] void unsupported_type(const std::string& kind) const {
    fail(kind + " type \"" + type() + "\" is not supported",
         "supported " + kind + "s are listed in docs/interop.md; a file that needs another cannot be read faithfully");
  }
};

// The steps of a "Sequence" part (its list under `key`), each made by `make`; null steps
// (a part that does nothing) are left out.
template <class Part, class Make>
std::vector<std::unique_ptr<Part>> sequence_steps(const JsonNode& node, const std::string& key, Make make) {
  const JsonNode list = node[key];
  if (!list.value.is_array()) list.fail("expected a list");
  std::vector<std::unique_ptr<Part>> steps;
  for (std::size_t i = 0; i < list.value.size(); ++i)
    if (auto step = make(list[i])) steps.push_back(std::move(step));
  return steps;
}

}  // namespace strata::tokenizer
