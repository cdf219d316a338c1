// safetensors and .npy files: round trips, the widening of F16/BF16/I32, and a clear
// FileFormatError (naming the file and the entry) for every kind of broken file.
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "strata/error.h"
#include "strata/npy.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("strata_safetensors_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir / name;
}

// A safetensors file from a header text and raw data bytes.
fs::path raw_safetensors(const std::string& name, const std::string& header, const std::string& data) {
  const fs::path file = temp_file(name);
  std::ofstream out(file, std::ios::binary);
  const std::uint64_t length = header.size();
  out.write(reinterpret_cast<const char*>(&length), 8);
  out << header << data;
  return file;
}

std::string bytes_of(const void* p, std::size_t n) { return std::string(static_cast<const char*>(p), n); }

void require_format_error(const fs::path& file, const std::string& fragment) {
  INFO(file.string() << " should fail with: " << fragment);
  try {
    safetensors::Reader reader(file);
    FAIL("no error");
  } catch (const FileFormatError& e) {
    const std::string message = e.what();
    CHECK(message.find(fragment) != std::string::npos);
    CHECK(message.find(file.filename().string()) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("safetensors: f32, f64 and i64 tensors and metadata round-trip", "[safetensors]") {
  Generator gen(3);
  const Tensor a = Tensor::randn({3, 5}, gen);
  const Tensor b = Tensor::randn({2, 1, 4}, gen, DType::f64);
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{4, -1, 7}, {3});
  const Tensor scalar = Tensor::scalar(2.5);
  const fs::path file = temp_file("round_trip.safetensors");
  // A transposed (non-contiguous) view is written in row-major order.
  safetensors::write(file, {{"a", a.transpose(0, 1)}, {"b", b}, {"ids", ids}, {"s", scalar}}, {{"k", "v"}});
  const safetensors::Reader reader(file);
  REQUIRE(reader.tensors().size() == 4);
  CHECK(reader.metadata().at("k") == "v");
  CHECK(reader.find("a")->dtype == "F32");
  CHECK(reader.find("b")->dtype == "F64");
  CHECK(reader.find("missing") == nullptr);
  CHECK(test::mismatch(reader.load("a"), a.transpose(0, 1).contiguous(), 0).empty());
  CHECK(test::mismatch(reader.load("b"), b, 0).empty());
  CHECK(reader.load("ids").to_vector<std::int64_t>() == std::vector<std::int64_t>{4, -1, 7});
  CHECK(reader.load("s").shape().rank() == 0);
  CHECK(reader.load("s").item() == 2.5);
  CHECK_THROWS_AS(reader.load("missing"), FileFormatError);
  // No temporary is left next to the file.
  for (const auto& item : fs::directory_iterator(file.parent_path()))
    CHECK(item.path().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("safetensors: a lazily written file equals the one written from memory", "[safetensors]") {
  Generator gen(4);
  const Tensor a = Tensor::randn({4, 6}, gen), b = Tensor::randn({3}, gen).to(DType::bf16);
  const fs::path eager = temp_file("eager.safetensors"), lazy = temp_file("lazy.safetensors");
  safetensors::write(eager, {{"a", a.transpose(0, 1)}, {"b", b}}, {{"k", "v"}});
  int made = 0;
  safetensors::write_lazily(lazy,
                            {{"a", [&] { ++made; return a.transpose(0, 1); }}, {"b", [&] { ++made; return b; }}},
                            {{"k", "v"}});
  CHECK(made == 4);  // each tensor twice: digests, then data
  CHECK(test::file_bytes(lazy) == test::file_bytes(eager));
  CHECK(safetensors::common_float_dtype(safetensors::Reader(lazy)) == DType::f32);  // F32 and BF16 mixed
  safetensors::write(eager, {{"b", b}, {"ids", Tensor::from_vector(std::vector<std::int64_t>{1}, {1})}});
  CHECK(safetensors::common_float_dtype(safetensors::Reader(eager)) == DType::bf16);
  // A maker that gives other values the second time is caught, and the file is not replaced.
  int calls = 0;
  CHECK_THROWS_WITH(safetensors::write_lazily(lazy, {{"a", [&] { return Tensor::full({2}, double(++calls)); }}}),
                    Catch::Contains("tensor 'a' came out different the second time"));
  CHECK(safetensors::Reader(lazy).tensors().size() == 2);  // still the earlier file
}

TEST_CASE("safetensors: F16, BF16 and I32 are widened to f32 and i64", "[safetensors]") {
  // 1.0, -2.0, 0.5 and a subnormal (2^-24) in F16; 1.0, -3.0 in BF16; I32 5, -6.
  const std::uint16_t f16[] = {0x3c00, 0xc000, 0x3800, 0x0001};
  const std::uint16_t bf16[] = {0x3f80, 0xc040};
  const std::int32_t i32[] = {5, -6};
  const std::string header =
      R"({"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},)"
      R"("i":{"dtype":"I32","shape":[1,2],"data_offsets":[12,20]}})";
  const fs::path file =
      raw_safetensors("widen.safetensors", header, bytes_of(f16, 8) + bytes_of(bf16, 4) + bytes_of(i32, 8));
  const safetensors::Reader reader(file);
  const auto h = reader.load("h").to_vector<float>();
  CHECK(h == std::vector<float>{1.0f, -2.0f, 0.5f, std::ldexp(1.0f, -24)});
  CHECK(reader.load("b").to_vector<float>() == std::vector<float>{1.0f, -3.0f});
  const Tensor i = reader.load("i");
  CHECK(i.dtype() == DType::i64);
  CHECK(i.shape() == Shape{1, 2});
  CHECK(i.to_vector<std::int64_t>() == std::vector<std::int64_t>{5, -6});
}

TEST_CASE("safetensors: broken files are clear errors", "[safetensors][errors]") {
  const std::string four_floats(16, '\0');
  const fs::path tiny = temp_file("tiny.safetensors");
  std::ofstream(tiny, std::ios::binary) << "abc";
  require_format_error(tiny, "shorter than the 8-byte header length");
  CHECK(safetensors::Reader(raw_safetensors("empty.safetensors", "{}", "")).tensors().empty());  // valid, empty
  {
    // The header length claims more than the file holds (a truncated download).
    const fs::path file = temp_file("truncated_header.safetensors");
    std::ofstream out(file, std::ios::binary);
    const std::uint64_t length = 1000;
    out.write(reinterpret_cast<const char*>(&length), 8);
    out << "{\"a\":";
    out.close();
    require_format_error(file, "does not fit the file");
  }
  require_format_error(raw_safetensors("not_json.safetensors", "{\"a\": [1, 2", ""), "not JSON");
  require_format_error(raw_safetensors("array.safetensors", "[1, 2]", ""), "not a JSON object");
  require_format_error(
      raw_safetensors("unknown_dtype.safetensors", R"({"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}})",
                      four_floats),
      "tensor 'a': unknown dtype Q4");
  require_format_error(
      raw_safetensors("outside.safetensors", R"({"a":{"dtype":"F32","shape":[8],"data_offsets":[0,32]}})",
                      four_floats),
      "tensor 'a': data_offsets [0, 32) lie outside the 16 data bytes");
  require_format_error(
      raw_safetensors("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}})", four_floats),
      "tensor 'a': holds 16 bytes, but F32 [3] needs 12");
  require_format_error(raw_safetensors("overlap.safetensors",
                                       R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},)"
                                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                       four_floats),
                       "overlap");
  // The data section is the tensors back to back: trailing bytes and gaps are damage.
  require_format_error(
      raw_safetensors("trailing.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})", four_floats),
      "4 bytes after the last tensor's data");
  require_format_error(
      raw_safetensors("gap.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[4,16]}})", four_floats),
      "data bytes 0 to 4 belong to no tensor");
  require_format_error(
      raw_safetensors("no_offsets.safetensors", R"({"a":{"dtype":"F32","shape":[4]}})", four_floats),
      "tensor 'a': needs dtype, shape and data_offsets");
  require_format_error(
      raw_safetensors("negative.safetensors", R"({"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}})",
                       four_floats),
      "not a non-negative integer");
  CHECK_THROWS_AS(safetensors::Reader(temp_file("does_not_exist.safetensors")), FileFormatError);
  // A dtype strata can describe but not load is refused at load() with a conversion hint.
  const safetensors::Reader u8(
      raw_safetensors("u8.safetensors", R"({"a":{"dtype":"U8","shape":[16],"data_offsets":[0,16]}})", four_floats));
  CHECK_THROWS_WITH(u8.load("a"), Catch::Contains("which strata does not read"));
}

TEST_CASE("npy: int64, int32 and float arrays are read and broken files are errors", "[npy]") {
  const auto npy = [](const std::string& name, const std::string& descr, const std::string& shape,
                      const std::string& data) {
    std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    const fs::path file = temp_file(name);
    std::ofstream out(file, std::ios::binary);
    out << "\x93NUMPY" << char(1) << char(0);
    const std::uint16_t length = std::uint16_t(header.size());
    out.write(reinterpret_cast<const char*>(&length), 2);
    out << header << data;
    return file;
  };
  const std::int64_t i64[] = {1, 2, 3, 4, 5, 6};
  const Tensor a = read_npy(npy("a.npy", "<i8", "(2, 3)", bytes_of(i64, sizeof i64)));
  CHECK(a.shape() == Shape{2, 3});
  CHECK(a.to_vector<std::int64_t>() == std::vector<std::int64_t>{1, 2, 3, 4, 5, 6});
  const std::int32_t i32[] = {7, -8, 9};
  const Tensor b = read_npy(npy("b.npy", "<i4", "(3,)", bytes_of(i32, sizeof i32)));
  CHECK(b.dtype() == DType::i64);
  CHECK(b.to_vector<std::int64_t>() == std::vector<std::int64_t>{7, -8, 9});
  const float f32[] = {0.5f, -1.5f};
  CHECK(read_npy(npy("c.npy", "<f4", "(2,)", bytes_of(f32, sizeof f32))).to_vector<float>() ==
        std::vector<float>{0.5f, -1.5f});

  CHECK_THROWS_WITH(read_npy(npy("short.npy", "<i8", "(2, 3)", bytes_of(i64, 16))),
                    Catch::Contains("truncated data"));
  CHECK_THROWS_WITH(read_npy(npy("u2.npy", "<u2", "(2,)", "abcd")), Catch::Contains("dtype '<u2'"));
  CHECK_THROWS_WITH(read_npy(npy("negative.npy", "<i8", "(-2, 3)", bytes_of(i64, sizeof i64))),
                    Catch::Contains("shape (-2, 3) has a size that is not a non-negative integer"));
  CHECK_THROWS_WITH(read_npy(npy("long.npy", "<i8", "(5,)", bytes_of(i64, sizeof i64))),
                    Catch::Contains("8 bytes after the [5] <i8 data"));
  CHECK_THROWS_WITH(read_npy(npy("huge.npy", "<i8", "(100000000000, 100000000)", bytes_of(i64, 8))),
                    Catch::Contains("is too large"));
  const fs::path not_npy = temp_file("not.npy");
  std::ofstream(not_npy) << "1 2 3";
  CHECK_THROWS_WITH(read_npy(not_npy), Catch::Contains("no \\x93NUMPY magic"));
  CHECK_THROWS_AS(read_npy(temp_file("missing.npy")), FileFormatError);
}

TEST_CASE("safetensors: randomly corrupted headers give FileFormatError or valid tensors, never a crash",
          "[safetensors][errors]") {
  Generator gen(9);
  const fs::path good = temp_file("fuzz_source.safetensors");
  safetensors::write(good, {{"a", Tensor::randn({4, 3}, gen)}, {"ids", Tensor::arange(5)}, {"b", Tensor::zeros({2})}},
                     {{"k", "v"}});
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::uint64_t header_end = 0;
  std::memcpy(&header_end, bytes.data(), 8);
  header_end += 8;
  const fs::path bad = temp_file("fuzz.safetensors");
  int rejected = 0;
  for (int round = 0; round < 400; ++round) {
    std::string mutated = bytes;
    const int flips = 1 + int(gen.next_u64() % 4);
    for (int f = 0; f < flips; ++f) {
      const std::size_t at = std::size_t(gen.next_u64() % header_end);
      mutated[at] = char(gen.next_u64() & 0xff);
    }
    if (round % 5 == 0) mutated.resize(std::size_t(gen.next_u64() % mutated.size()));  // and truncations
    {
      std::ofstream out(bad, std::ios::binary | std::ios::trunc);
      out << mutated;
    }
    try {
      const safetensors::Reader reader(bad);
      for (const auto& t : reader.tensors()) {
        try {
          (void)reader.load(t.name);
        } catch (const FileFormatError&) {  // e.g. a dtype flipped to one strata does not load
        }
      }
    } catch (const FileFormatError&) {
      ++rejected;
    }
  }
  CHECK(rejected > 100);
}

TEST_CASE("safetensors: strata's files carry a digest per tensor, and a changed byte is refused on load",
          "[safetensors][errors]") {
  const fs::path file = temp_file("digests.safetensors");
  safetensors::write(file, {{"a", Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2})},
                            {"b", Tensor::from_vector(std::vector<std::int64_t>{5, 6}, {2})}});
  {
    const safetensors::Reader reader(file);
    CHECK(reader.has_digests());
    CHECK(reader.metadata().count(safetensors::kDigestsMetadataKey) == 1);
    CHECK(reader.load("a").to_vector<float>() == std::vector<float>{1, 2, 3, 4});
  }
  std::string bytes = test::file_bytes(file);
  bytes[bytes.size() - 20] ^= 0x01;  // inside a's data (b's 16 bytes come last)
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  const safetensors::Reader reader(file);
  CHECK_THROWS_WITH(reader.load("a"), Catch::Contains("tensor 'a' is damaged"));
  CHECK(reader.load("b").to_vector<std::int64_t>() == std::vector<std::int64_t>{5, 6});
  // Digests for some tensors but not all: the header was edited.
  require_format_error(raw_safetensors("partial_digests.safetensors",
                                       R"({"__metadata__":{"strata.xxh3":"{\"a\":\"0123456789abcdef\"}"},)"
                                       R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
                                       std::string(16, '\0')),
                       "tensor 'b' has no digest");
  // Files from other tools have none, and load as before.
  const safetensors::Reader plain(raw_safetensors(
      "plain.safetensors", R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", std::string(16, '\0')));
  CHECK_FALSE(plain.has_digests());
  CHECK(plain.load("a").to_vector<float>() == std::vector<float>(4, 0.0f));
}
