#include "plugins/elf_section.h"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace strata::detail {

namespace {

constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t(1) << 31;  // 2 GiB: no plugin is larger

bool in_bounds(std::uint64_t offset, std::uint64_t size, std::size_t total) {
  return offset <= total && size <= total - offset;
}

template <class T>
T read_at(const std::vector<char>& data, std::uint64_t offset, const char* what) {
  if (!in_bounds(offset, sizeof(T), data.size())) {
    throw std::runtime_error(std::string("truncated or malformed ELF file (") + what + " out of bounds)");
  }
  T value;
  std::memcpy(&value, data.data() + offset, sizeof(T));
  return value;
}

// A NUL-terminated name at `offset` of a string table, bounded by the table.
std::string name_at(std::string_view table, std::uint64_t offset) {
  if (offset >= table.size()) throw std::runtime_error("malformed ELF file (name offset out of bounds)");
  const std::string_view rest = table.substr(offset);
  const std::size_t end = rest.find('\0');
  if (end == std::string_view::npos) throw std::runtime_error("malformed ELF file (unterminated name)");
  return std::string(rest.substr(0, end));
}

}  // namespace

ElfFile::ElfFile(const std::filesystem::path& file) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) throw std::runtime_error("cannot read the file size: " + ec.message());
  if (size > kMaxFileBytes) throw std::runtime_error("file larger than 2 GiB");
  std::ifstream in(file, std::ios::binary);
  data_.resize(static_cast<std::size_t>(size));
  if (!in.read(data_.data(), static_cast<std::streamsize>(data_.size())))
    throw std::runtime_error("cannot read the file");

  const auto header = read_at<Elf64_Ehdr>(data_, 0, "header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) throw std::runtime_error("not an ELF file");
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw std::runtime_error("not a 64-bit little-endian ELF file");
  }
  if (header.e_type != ET_DYN)
    throw std::runtime_error("not a shared library (ELF type " + std::to_string(header.e_type) + ")");
  if (header.e_shentsize != sizeof(Elf64_Shdr)) throw std::runtime_error("unexpected ELF section header size");
  if (header.e_shstrndx >= header.e_shnum) throw std::runtime_error("no ELF section name table");
  std::vector<Elf64_Shdr> raw;
  for (std::uint64_t i = 0; i < header.e_shnum; ++i) {
    raw.push_back(read_at<Elf64_Shdr>(data_, header.e_shoff + i * sizeof(Elf64_Shdr), "section header"));
  }
  const Elf64_Shdr& names = raw[header.e_shstrndx];
  if (!in_bounds(names.sh_offset, names.sh_size, data_.size())) {
    throw std::runtime_error("malformed ELF file (section name table out of bounds)");
  }
  const std::string_view name_table(data_.data() + names.sh_offset, names.sh_size);
  for (const Elf64_Shdr& s : raw) {
    sections_.push_back({name_at(name_table, s.sh_name), s.sh_type, s.sh_offset, s.sh_size, s.sh_entsize, s.sh_link});
  }
}

std::string_view ElfFile::bytes_of(const Section& s) const {
  if (s.type == SHT_NOBITS || !in_bounds(s.offset, s.size, data_.size())) {
    throw std::runtime_error("malformed ELF file (section " + s.name + " has no contents in the file)");
  }
  return {data_.data() + s.offset, s.size};
}

std::optional<std::vector<char>> ElfFile::section(std::string_view name) const {
  for (const Section& s : sections_) {
    if (s.name != name) continue;
    const std::string_view bytes = bytes_of(s);
    return std::vector<char>(bytes.begin(), bytes.end());
  }
  return std::nullopt;
}

std::vector<std::string> ElfFile::symbols_in(std::string_view name) const {
  std::uint64_t target = 0;
  bool found = false;
  for (std::uint64_t i = 0; i < sections_.size(); ++i) {
    if (sections_[i].name == name) {
      target = i;
      found = true;
    }
  }
  std::vector<std::string> out;
  if (!found) return out;
  for (const Section& table : sections_) {
    if (table.type != SHT_SYMTAB && table.type != SHT_DYNSYM) continue;
    if (table.entry_size != sizeof(Elf64_Sym) || table.link >= sections_.size()) {
      throw std::runtime_error("malformed ELF file (symbol table " + table.name + ")");
    }
    const std::string_view symbols = bytes_of(table);
    const std::string_view strings = bytes_of(sections_[table.link]);
    for (std::size_t k = 0; k + sizeof(Elf64_Sym) <= symbols.size(); k += sizeof(Elf64_Sym)) {
      Elf64_Sym sym;
      std::memcpy(&sym, symbols.data() + k, sizeof sym);
      if (sym.st_shndx != target || sym.st_name == 0) continue;
      std::string symbol = name_at(strings, sym.st_name);
      bool seen = false;
      for (const std::string& s : out) seen = seen || s == symbol;
      if (!seen) out.push_back(std::move(symbol));
    }
  }
  return out;
}

}  // namespace strata::detail
