#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
// header {"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data. strata's checkpoints use it, and so do Hugging Face
// models, so both read and write here.
//
//   safetensors::Reader file("model.safetensors");      // validates the header
//   Tensor w = file.load("layers.0.mixer.in_proj.weight");
//   safetensors::write("out.safetensors", {{"logits", logits}}, {{"format", "strata"}});
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "strata/shape.h"
#include "strata/tensor.h"

namespace strata::safetensors {

struct TensorInfo {
  std::string name;
  std::string dtype;  // as stored: "F32", "BF16", "I64", ...
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets into the data section
  std::uint64_t end = 0;
};

class Reader {
 public:
  // Reads and validates the header: its length against the file size, the JSON, every
  // entry's dtype, shape and offsets (inside the file, sized to match, not overlapping).
  // Throws FileFormatError naming the file and the entry.
  explicit Reader(const std::filesystem::path& file);

  const std::filesystem::path& file() const { return file_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in name order
  const TensorInfo* find(const std::string& name) const;               // null when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // The tensor `name` as a fresh CPU tensor: F32, F64 and I64 as stored; F16 and BF16
  // widened to f32; I32 widened to i64. Throws FileFormatError when absent or unreadable.
  Tensor load(const std::string& name) const;

 private:
  std::filesystem::path file_;
  std::uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes `tensors` (f32 as F32, f64 as F64, i64 as I64; names unique) to `file`
// atomically: into a temporary file next to it, then renamed over it, so a reader never
// sees a half-written file. Throws Error when the folder is not writable.
void write(const std::filesystem::path& file, const std::vector<std::pair<std::string, Tensor>>& tensors,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace strata::safetensors
