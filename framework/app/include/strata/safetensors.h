#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON
// header {"NAME": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}},
// then the raw little-endian data, every byte of it belonging to exactly one tensor.
// strata's checkpoints use it, and so do Hugging Face models, so both read and write here.
// Files strata writes carry a digest of every tensor (its dtype, shape and bytes) in the
// metadata entry "strata.xxh3" (a JSON object: name -> XXH3-64 in hex); reading a tensor
// of such a file verifies it.
//
//   safetensors::Reader file("model.safetensors");      // validates the header
//   Tensor w = file.load("layers.0.mixer.in_proj.weight");
//   safetensors::write("out.safetensors", {{"logits", logits}}, {{"format", "strata"}});
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "strata/shape.h"
#include "strata/tensor.h"

namespace strata::safetensors {

inline constexpr const char* kDigestsMetadataKey = "strata.xxh3";

// Whether a stored dtype ("F32", "BF16", "I64", ...) is a floating-point one.
bool is_float_dtype(const std::string& dtype);

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
  // entry's dtype, shape and offsets (inside the file, sized to match, together covering
  // the data exactly: no overlaps, gaps or trailing bytes), and the digests when present
  // (one per tensor). Throws FileFormatError naming the file and the entry.
  explicit Reader(const std::filesystem::path& file);

  const std::filesystem::path& file() const { return file_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }  // in name order
  const TensorInfo* find(const std::string& name) const;               // null when absent
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Whether the file carries a digest of every tensor (strata writes them; other tools don't).
  bool has_digests() const { return !digests_.empty() || tensors_.empty(); }
  // The digest of the 8-byte length and the header: with the file's size it identifies the
  // whole file, since the header holds the digest of every tensor (checkpoint manifests).
  const std::string& header_digest() const { return header_digest_; }
  std::uint64_t file_size() const { return file_size_; }

  // The tensor `name` as a fresh CPU tensor: F32, F64, I64, F16 and BF16 as stored; I32
  // widened to i64. Throws FileFormatError when absent or unreadable, or when its bytes do
  // not match its digest.
  Tensor load(const std::string& name) const;

 private:
  std::filesystem::path file_;
  std::uint64_t data_start_ = 0;
  std::uint64_t file_size_ = 0;
  std::string header_digest_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, std::string> digests_;  // name -> hex, from metadata "strata.xxh3"
};

// Writes `tensors` (f32 as F32, f64 as F64, i64 as I64, bf16 as BF16, f16 as F16; names
// unique) and their digests to `file` atomically: into a temporary file next to it, then
// renamed over it, so a reader never sees a half-written file. Throws Error when the
// folder is not writable or the disk is full.
void write(const std::filesystem::path& file, const std::vector<std::pair<std::string, Tensor>>& tensors,
           const std::map<std::string, std::string>& metadata = {});

// A tensor made when it is written (a converted or re-laid-out piece of a larger model), so
// that a file of any size is written holding one tensor at a time. `make` must give the same
// values each time it is called: it is called twice, once for the digests of the header and
// once to write the data.
struct LazyTensor {
  std::string name;
  std::function<Tensor()> make;
};
void write_lazily(const std::filesystem::path& file, const std::vector<LazyTensor>& tensors,
                  const std::map<std::string, std::string>& metadata = {});

// BF16 or F16 when every floating tensor of the file is stored in it, else f32: the type to
// load a checkpoint's model in without widening it.
DType common_float_dtype(const Reader& reader);

}  // namespace strata::safetensors
