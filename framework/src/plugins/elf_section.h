#pragma once
// Reading one section of an ELF file from disk, without loading it: how the plugin loader
// checks a plugin's descriptor before any of the plugin's code can run.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::detail {

struct ElfSection {
  std::vector<char> bytes;  // the section's contents as stored in the file
};

// The contents of section `name` of a 64-bit little-endian ELF file; std::nullopt when
// the file has no such section. Throws std::runtime_error, saying why, when the file is
// not such an ELF file or is truncated.
std::optional<ElfSection> read_elf_section(const std::filesystem::path& file, std::string_view name);

}  // namespace strata::detail
