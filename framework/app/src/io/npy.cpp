#include "strata/npy.h"

#include <cstring>
#include <fstream>
#include <regex>
#include <string>

#include "strata/error.h"

namespace strata {

namespace fs = std::filesystem;

Tensor read_npy(const fs::path& file) {
  const auto bad = [&](const std::string& what) {
    return FileFormatError(file.string() + ": not a readable .npy file: " + what,
                           "write it with numpy.save from a C-ordered int64/int32/float32/float64 array");
  };
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileFormatError(file.string() + ": cannot open", "check the path");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw bad("no \\x93NUMPY magic");
  const int major = static_cast<unsigned char>(magic[6]);
  std::uint32_t header_len = 0;
  if (major == 1) {
    std::uint16_t len16 = 0;
    if (!in.read(reinterpret_cast<char*>(&len16), 2)) throw bad("truncated header");
    header_len = len16;
  } else if (major == 2 || major == 3) {
    if (!in.read(reinterpret_cast<char*>(&header_len), 4)) throw bad("truncated header");
  } else {
    throw bad("format version " + std::to_string(major));
  }
  if (header_len > (1u << 20)) throw bad("header too long");
  std::string header(header_len, '\0');
  if (!in.read(header.data(), header_len)) throw bad("truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) throw bad("no 'descr' in the header");
  const std::string descr = m[1];
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)"))) throw bad("Fortran order");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) throw bad("no 'shape' in the header");
  // "(3, 4)", "(5,)", "()": non-negative integers only (Python 2 numpy wrote "3L").
  Shape shape;
  const std::string dims = m[1];
  std::size_t at = 0;
  while (at < dims.size()) {
    const std::size_t comma = dims.find(',', at);
    std::string item = dims.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    at = comma == std::string::npos ? dims.size() : comma + 1;
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty() && item.back() == 'L') item.pop_back();
    if (item.empty() && comma == std::string::npos && shape.rank() > 0) break;  // "(5,)"
    if (item.empty() || item.size() > 18 || item.find_first_not_of("0123456789") != std::string::npos)
      throw bad("shape (" + dims + ") has a size that is not a non-negative integer");
    if (shape.rank() == kMaxRank) throw bad("more than " + std::to_string(kMaxRank) + " dimensions");
    shape.push_back(std::stoll(item));
  }
  std::size_t element = descr == "<i8" || descr == "<f8" ? 8 : descr == "<f4" || descr == "<i4" ? 4 : 0;
  if (element == 0) throw bad("dtype '" + descr + "' (use int64, int32, float32 or float64, little-endian)");
  // The data must be exactly what the header describes: checked before allocating, so a
  // damaged header cannot ask for terabytes.
  std::uint64_t count = 1;
  for (std::int64_t size : shape) {
    if (size != 0 && count > (std::uint64_t(1) << 58) / std::uint64_t(size)) throw bad("shape " + shape.to_string() + " is too large");
    count *= std::uint64_t(size);
  }
  std::error_code ec;
  const std::uint64_t file_size = fs::file_size(file, ec);
  const std::uint64_t data_start = std::uint64_t(in.tellg());
  const std::uint64_t needed = count * element;
  if (!ec && file_size - data_start < needed)
    throw bad("truncated data: " + shape.to_string() + " of " + descr + " needs " + std::to_string(needed) +
              " bytes, the file has " + std::to_string(file_size - data_start));
  if (!ec && file_size - data_start > needed)
    throw bad(std::to_string(file_size - data_start - needed) + " bytes after the " + shape.to_string() + " " + descr +
              " data");
  const std::int64_t n = shape.numel();
  const auto read_all = [&](void* dst, std::size_t bytes) {
    if (!in.read(static_cast<char*>(dst), std::streamsize(bytes)))
      throw bad("truncated data: " + shape.to_string() + " of " + descr + " needs " + std::to_string(bytes) + " bytes");
  };
  if (descr == "<i8" || descr == "<f4" || descr == "<f8") {
    Tensor t = Tensor::empty(shape, descr == "<i8" ? DType::i64 : descr == "<f4" ? DType::f32 : DType::f64);
    read_all(t.raw_data(), t.nbytes());
    return t;
  }
  if (descr == "<i4") {
    std::vector<std::int32_t> raw(static_cast<std::size_t>(n));
    read_all(raw.data(), raw.size() * 4);
    Tensor t = Tensor::empty(shape, DType::i64);
    std::int64_t* out = t.data<std::int64_t>();
    for (std::int64_t i = 0; i < n; ++i) out[i] = raw[std::size_t(i)];
    return t;
  }
  throw bad("dtype '" + descr + "'");  // not reached: checked above
}

}  // namespace strata
