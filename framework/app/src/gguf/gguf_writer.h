#pragma once
// GGUF version 3, the file format of llama.cpp (ggml-org/ggml docs/gguf.md): a header,
// typed key-value metadata, tensor descriptions, then the tensor data, each tensor aligned
// to 32 bytes. Tensors are produced one at a time while the file is written, so a model is
// never held twice.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace strata::gguf {

// ggml tensor types this writer produces (ggml.h numbering).
enum class TensorType : std::uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };
const char* type_name(TensorType t);

// Q8_0: blocks of 32 values as an f16 scale d = max|x| / 127 and 32 int8 round(x / d),
// rounding half away from zero (ggml's quantize_row_q8_0_ref).
inline constexpr std::int64_t kQ8BlockSize = 32;

// Bytes of `count` values (count a multiple of 32 for Q8_0).
std::uint64_t encoded_bytes(TensorType type, std::uint64_t count);

// f32 values -> their bytes in `type`, appended to `out`.
void encode(TensorType type, const float* values, std::size_t count, std::vector<unsigned char>& out);

using Value = std::variant<std::uint32_t, std::int32_t, float, bool, std::string, std::vector<std::string>,
                           std::vector<std::int32_t>, std::vector<float>>;

struct TensorEntry {
  std::string name;
  std::vector<std::int64_t> shape;  // row-major (numpy order); GGUF stores it reversed
  TensorType type;
  // Writes the tensor's values in row-major order, as f32 chunks of whole rows, to `sink`.
  std::function<void(const std::function<void(const float*, std::size_t)>& sink)> produce;
};

class Writer {
 public:
  void add(const std::string& key, Value value);
  void add_tensor(TensorEntry tensor);

  // Writes the file (FILE.partial, renamed when complete). Throws Error on a write failure
  // or when a tensor produces a different number of values than its shape holds.
  // Returns the file's size in bytes.
  std::uint64_t write(const std::filesystem::path& file) const;

  std::size_t tensor_count() const { return tensors_.size(); }

 private:
  std::vector<std::pair<std::string, Value>> metadata_;
  std::vector<TensorEntry> tensors_;
};

}  // namespace strata::gguf
