#pragma once
// Framework-internal: the representation behind a validated Config.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "strata/config.h"

namespace strata {

namespace detail {
// `s` as a TOML basic string: "...", with quotes, backslashes and control characters escaped.
std::string toml_quoted(const std::string& s);
}  // namespace detail

struct Config::Impl {
  struct Entry {
    std::string name;
    ConfigType type = ConfigType::integer;
    ConfigValue value;     // unused for component types
    bool present = false;  // given or defaulted (false: an optional key left out)
    bool given = false;    // written in the file or by --set
    SourceLocation where;
    std::vector<Config> components;  // component (0 or 1), component_list, component_map
    std::vector<std::string> names;  // component_map entry names, file order
  };

  std::string path;
  SourceLocation location;
  std::string type;            // component name, or ""
  std::vector<Entry> entries;  // schema order

  const Entry* find(std::string_view key) const {
    for (const Entry& e : entries)
      if (e.name == key) return &e;
    return nullptr;
  }
};

}  // namespace strata
