#include "strata/npy.h"

#include <cstring>
#include <fstream>
#include <regex>

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
  Shape shape;
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it) {
    if (shape.rank() == kMaxRank) throw bad("more than " + std::to_string(kMaxRank) + " dimensions");
    shape.push_back(std::stoll(it->str()));
  }
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
  throw bad("dtype '" + descr + "' (use int64, int32, float32 or float64, little-endian)");
}

}  // namespace strata
