#include "plugins/elf_section.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace strata::detail {

namespace {

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t(1) << 31;  // 2 GiB: no plugin is larger

template <class T>
T read_at(const std::vector<char>& data, std::uint64_t offset, const char* what) {
  if (offset > data.size() || data.size() - offset < sizeof(T)) {
    throw std::runtime_error(std::string("truncated ELF file (") + what + " out of bounds)");
  }
  T value;
  std::memcpy(&value, data.data() + offset, sizeof(T));
  return value;
}

}  // namespace

std::optional<ElfSection> read_elf_section(const std::filesystem::path& file, std::string_view name) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) throw std::runtime_error("cannot read the file size: " + ec.message());
  if (size > kMaxFileBytes) throw std::runtime_error("file larger than 2 GiB");
  std::ifstream in(file, std::ios::binary);
  std::vector<char> data(static_cast<std::size_t>(size));
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) {
    throw std::runtime_error("cannot read the file");
  }

  const auto header = read_at<Elf64_Ehdr>(data, 0, "header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) throw std::runtime_error("not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw std::runtime_error("not a 64-bit little-endian ELF file");
  }
  if (header.e_shentsize != sizeof(Elf64_Shdr)) throw std::runtime_error("unexpected ELF section header size");
  const auto section = [&](std::uint64_t index) {
    return read_at<Elf64_Shdr>(data, header.e_shoff + index * sizeof(Elf64_Shdr), "section header");
  };
  if (header.e_shstrndx >= header.e_shnum) throw std::runtime_error("no ELF section name table");
  const Elf64_Shdr names = section(header.e_shstrndx);
  for (std::uint64_t i = 0; i < header.e_shnum; ++i) {
    const Elf64_Shdr s = section(i);
    const std::uint64_t name_offset = names.sh_offset + s.sh_name;
    if (name_offset >= data.size()) throw std::runtime_error("truncated ELF file (section name out of bounds)");
    const char* section_name = data.data() + name_offset;
    const std::size_t max_len = data.size() - name_offset;
    if (std::string_view(section_name, strnlen(section_name, max_len)) != name) continue;
    if (s.sh_type == SHT_NOBITS || s.sh_offset > data.size() || data.size() - s.sh_offset < s.sh_size) {
      throw std::runtime_error("section " + std::string(name) + " has no contents in the file");
    }
    ElfSection out;
    out.bytes.assign(data.begin() + std::ptrdiff_t(s.sh_offset),
                     data.begin() + std::ptrdiff_t(s.sh_offset + s.sh_size));
    return out;
  }
  return std::nullopt;
}

}  // namespace strata::detail
