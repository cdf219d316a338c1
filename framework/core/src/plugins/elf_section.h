#pragma once
// Reading a 64-bit little-endian ELF file from disk, without loading it, with every
// offset bounds-checked: how the plugin loader inspects a plugin (its exported aliases and
// its descriptor) before any of the plugin's code can run. A malformed file gives an
// exception, never a crash.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::detail {

class ElfFile {
 public:
  // Reads and checks the header and section table. Throws std::runtime_error saying why
  // the file is not a readable 64-bit little-endian ELF file.
  explicit ElfFile(const std::filesystem::path& file);

  // The contents of section `name`; std::nullopt when there is no such section.
  std::optional<std::vector<char>> section(std::string_view name) const;
  // Names of the symbols (from .symtab and .dynsym) defined in section `name`.
  std::vector<std::string> symbols_in(std::string_view name) const;

 private:
  struct Section {
    std::string name;
    std::uint32_t type = 0;
    std::uint64_t offset = 0, size = 0, entry_size = 0;
    std::uint32_t link = 0;
  };
  // The section's bytes within the file (throws when they are out of bounds).
  std::string_view bytes_of(const Section& s) const;
  std::vector<char> data_;
  std::vector<Section> sections_;
};

}  // namespace strata::detail
