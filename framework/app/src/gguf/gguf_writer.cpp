#include "gguf/gguf_writer.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include "strata/error.h"
#include "strata/half.h"

namespace strata::gguf {
namespace {

constexpr std::uint64_t kAlignment = 32;

// GGUF metadata value types (gguf.h).
enum ValueType : std::uint32_t { u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9 };

std::uint64_t padded(std::uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

class ByteSink {
 public:
  explicit ByteSink(std::ofstream& out) : out_(out) {}
  template <class T>
  void pod(T v) {
    out_.write(reinterpret_cast<const char*>(&v), sizeof v);
    written_ += sizeof v;
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void bytes(const void* data, std::size_t n) {
    out_.write(static_cast<const char*>(data), std::streamsize(n));
    written_ += n;
  }
  void pad() {
    static const char zeros[kAlignment] = {};
    bytes(zeros, std::size_t(padded(written_) - written_));
  }
  std::uint64_t written() const { return written_; }

 private:
  std::ofstream& out_;
  std::uint64_t written_ = 0;
};

void write_value(ByteSink& s, const Value& value) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::uint32_t>) {
          s.pod<std::uint32_t>(u32), s.pod(v);
        } else if constexpr (std::is_same_v<T, std::int32_t>) {
          s.pod<std::uint32_t>(i32), s.pod(v);
        } else if constexpr (std::is_same_v<T, float>) {
          s.pod<std::uint32_t>(f32), s.pod(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          s.pod<std::uint32_t>(boolean), s.pod<std::uint8_t>(v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, std::string>) {
          s.pod<std::uint32_t>(string), s.str(v);
        } else {
          s.pod<std::uint32_t>(array);
          using E = typename T::value_type;
          s.pod<std::uint32_t>(std::is_same_v<E, std::string> ? string : std::is_same_v<E, float> ? f32 : i32);
          s.pod<std::uint64_t>(v.size());
          for (const E& e : v) {
            if constexpr (std::is_same_v<E, std::string>)
              s.str(e);
            else
              s.pod(e);
          }
        }
      },
      value);
}

void quantize_q8_0(const float* x, std::size_t count, std::vector<unsigned char>& out) {
  for (std::size_t b = 0; b < count; b += kQ8BlockSize) {
    float amax = 0.0f;
    for (std::size_t j = 0; j < kQ8BlockSize; ++j) amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const std::uint16_t scale = float16(d).bits;
    out.push_back(static_cast<unsigned char>(scale & 0xFF));
    out.push_back(static_cast<unsigned char>(scale >> 8));
    for (std::size_t j = 0; j < kQ8BlockSize; ++j)
      out.push_back(static_cast<unsigned char>(static_cast<std::int8_t>(std::round(x[b + j] * id))));
  }
}

}  // namespace

const char* type_name(TensorType t) {
  switch (t) {
    case TensorType::f32: return "F32";
    case TensorType::f16: return "F16";
    case TensorType::bf16: return "BF16";
    case TensorType::q8_0: return "Q8_0";
  }
  return "?";
}

std::uint64_t encoded_bytes(TensorType type, std::uint64_t count) {
  switch (type) {
    case TensorType::f32: return 4 * count;
    case TensorType::f16:
    case TensorType::bf16: return 2 * count;
    case TensorType::q8_0: return count / kQ8BlockSize * (2 + kQ8BlockSize);
  }
  return 0;
}

void encode(TensorType type, const float* values, std::size_t count, std::vector<unsigned char>& out) {
  const auto put16 = [&](std::uint16_t bits) {
    out.push_back(static_cast<unsigned char>(bits & 0xFF));
    out.push_back(static_cast<unsigned char>(bits >> 8));
  };
  switch (type) {
    case TensorType::f32: {
      const auto* bytes = reinterpret_cast<const unsigned char*>(values);
      out.insert(out.end(), bytes, bytes + 4 * count);
      break;
    }
    case TensorType::f16:
      for (std::size_t i = 0; i < count; ++i) put16(float16(values[i]).bits);
      break;
    case TensorType::bf16:
      for (std::size_t i = 0; i < count; ++i) put16(bfloat16(values[i]).bits);
      break;
    case TensorType::q8_0:
      quantize_q8_0(values, count, out);
      break;
  }
}

void Writer::add(const std::string& key, Value value) { metadata_.emplace_back(key, std::move(value)); }

void Writer::add_tensor(TensorEntry tensor) { tensors_.push_back(std::move(tensor)); }

std::uint64_t Writer::write(const std::filesystem::path& file) const {
  const std::filesystem::path partial = file.string() + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write " + partial.string(), "check that the folder exists and is writable");
  ByteSink s(out);
  s.bytes("GGUF", 4);
  s.pod<std::uint32_t>(3);
  s.pod<std::uint64_t>(tensors_.size());
  s.pod<std::uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    s.str(key);
    write_value(s, value);
  }
  std::vector<std::uint64_t> counts;
  std::uint64_t offset = 0;
  for (const TensorEntry& t : tensors_) {
    std::uint64_t count = 1;
    for (std::int64_t d : t.shape) count *= std::uint64_t(d);
    counts.push_back(count);
    s.str(t.name);
    s.pod<std::uint32_t>(std::uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) s.pod<std::uint64_t>(std::uint64_t(*it));
    s.pod<std::uint32_t>(static_cast<std::uint32_t>(t.type));
    s.pod<std::uint64_t>(offset);
    offset += padded(encoded_bytes(t.type, count));
  }
  s.pad();
  std::vector<unsigned char> buffer;
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const TensorEntry& t = tensors_[i];
    std::uint64_t produced = 0;
    t.produce([&](const float* values, std::size_t n) {
      buffer.clear();
      encode(t.type, values, n, buffer);
      s.bytes(buffer.data(), buffer.size());
      produced += n;
    });
    if (produced != counts[i])
      throw Error("GGUF tensor " + t.name + ": produced " + std::to_string(produced) + " values, its shape holds " +
                  std::to_string(counts[i]));
    s.pad();
  }
  out.flush();
  if (!out) {
    std::error_code ec;
    std::filesystem::remove(partial, ec);
    throw Error("writing " + partial.string() + " failed (disk full?)", "free space and run the export again");
  }
  out.close();
  std::filesystem::rename(partial, file);
  return s.written();
}

}  // namespace strata::gguf
