#pragma once
// Framework-internal: turning TOML (files and --set overrides) into validated Configs.
// The only place that knows TOML++; plugins and components see strata::Config.
#include <filesystem>
#include <string>

#include <toml++/toml.h>

#include "strata/config.h"
#include "strata/registry.h"

namespace strata::detail {

// Names of TOML sources that stand for the command line rather than a file: one per
// `--set ARG` ("--set ARG"), and kCommandLineSource for other arguments. Their locations
// carry no line:col (the text parsed for them is not what the user typed).
inline constexpr const char* kCommandLineSource = "(command line)";
std::string set_argument_source(const std::string& assignment);
bool is_command_line_source(std::string_view name);

SourceLocation location_of(const toml::source_region& region);

// Parses a TOML file; a missing file or a syntax error is a ConfigError at file:line:col.
toml::table parse_toml_file(const std::filesystem::path& file);
// Parses TOML text (`name` stands for the file in locations).
toml::table parse_toml_text(const std::string& text, const std::string& name);

// Applies one `--set key.path=value` to `root`. The value is read as a TOML value
// (number, boolean, "string", [list]); a bare word that is not one becomes a string.
// Tables on the path are created as needed. Errors are ConfigErrors located in the
// argument itself.
void apply_override(toml::table& root, const std::string& assignment);

// Validates a plain table (no `type` key) against `schema`; `table` may be null (absent:
// every key takes its default, and `location` is where errors point). `registry`
// resolves the components of nested component keys.
Config validate_table(const toml::table* table, const ConfigSchema& schema, const std::string& path,
                      const SourceLocation& location, const ComponentRegistry& registry);

// Validates a component table of `kind`: its `type` (default `default_type` when the
// table or its type is absent) selects the schema. `node` may be null (absent).
Config validate_component(const toml::node* node, ComponentKind kind, const std::string& default_type,
                          const std::string& path, const SourceLocation& parent_location,
                          const ComponentRegistry& registry);

}  // namespace strata::detail
