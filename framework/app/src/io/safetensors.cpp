#include "strata/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/digest.h"
#include "strata/atomic_file.h"
#include "strata/error.h"

namespace strata::safetensors {

namespace fs = std::filesystem;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

namespace {

// A header larger than this is not a real one (Hugging Face's reader caps it at 100 MB).
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

std::size_t stored_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

bool loadable(const std::string& dtype) {
  return dtype == "F32" || dtype == "F64" || dtype == "I64" || dtype == "F16" || dtype == "BF16" || dtype == "I32";
}

std::string stored_name(DType t) {
  switch (t) {
    case DType::f32:
      return "F32";
    case DType::f64:
      return "F64";
    case DType::i64:
      return "I64";
    case DType::bf16:
      return "BF16";
    case DType::f16:
      return "F16";
  }
  return "?";
}


// What a tensor's digest covers: its stored dtype, its shape and its bytes, so a relabelled
// dtype or shape fails as surely as a flipped bit.
std::string tensor_digest(const std::string& dtype, const Shape& shape, const void* data, std::size_t bytes) {
  Digest d;
  d.update(dtype).update_u64(std::uint64_t(shape.rank()));
  for (std::int64_t size : shape) d.update_u64(std::uint64_t(size));
  return d.update(data, bytes).hex();
}

}  // namespace

bool is_float_dtype(const std::string& dtype) {
  return dtype == "F64" || dtype == "F32" || dtype == "F16" || dtype == "BF16" || dtype == "F8_E4M3" ||
         dtype == "F8_E5M2";
}

Reader::Reader(const fs::path& file) : file_(file) {
  const auto bad = [&](const std::string& what) {
    return FileFormatError(file.string() + ": not a valid safetensors file: " + what,
                           "the file may be truncated or corrupt; write or download it again");
  };
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw FileFormatError(file.string() + ": no such file", "check the path");
  }
  const std::uint64_t file_size = fs::file_size(file, ec);
  if (ec) throw FileFormatError(file.string() + ": cannot read its size: " + ec.message());
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileFormatError(file.string() + ": cannot open for reading", "check the file's permissions");
  if (file_size < 8) throw bad("shorter than the 8-byte header length (" + std::to_string(file_size) + " bytes)");
  std::uint64_t header_bytes = 0;
  in.read(reinterpret_cast<char*>(&header_bytes), 8);
  if (header_bytes > kMaxHeaderBytes || header_bytes > file_size - 8) {
    throw bad("header length " + std::to_string(header_bytes) + " does not fit the file's " +
              std::to_string(file_size) + " bytes");
  }
  std::string header(header_bytes, '\0');
  in.read(header.data(), std::streamsize(header_bytes));
  if (!in) throw bad("cannot read the header");
  file_size_ = file_size;
  header_digest_ = Digest().update_u64(header_bytes).update(header).hex();
  data_start_ = 8 + header_bytes;
  const std::uint64_t data_bytes = file_size - data_start_;

  json root;
  try {
    root = json::parse(header);
  } catch (const json::exception& e) {
    throw bad(std::string("the header is not JSON (") + e.what() + ")");
  }
  if (!root.is_object()) throw bad("the header is not a JSON object");
  for (const auto& item : root.items()) {
    const std::string name = item.key();  // a named variable, not a binding: lambdas below capture it
    const json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) throw bad("__metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw bad("__metadata__." + k + " is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const auto bad_entry = [&](const std::string& what) { return bad("tensor '" + name + "': " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      throw bad_entry("needs dtype, shape and data_offsets");
    TensorInfo info;
    info.name = name;
    if (!entry["dtype"].is_string()) throw bad_entry("dtype is not a string");
    info.dtype = entry["dtype"].get<std::string>();
    const std::size_t element = stored_size(info.dtype);
    if (element == 0) throw bad_entry("unknown dtype " + info.dtype);
    const json& shape = entry["shape"];
    if (!shape.is_array() || shape.size() > std::size_t(kMaxRank))
      throw bad_entry("shape must be an array of at most " + std::to_string(kMaxRank) + " sizes");
    std::uint64_t numel = 1;
    for (const json& d : shape) {
      if (!d.is_number_unsigned()) throw bad_entry("shape has a size that is not a non-negative integer");
      const std::uint64_t size = d.get<std::uint64_t>();
      if (size != 0 && numel > (std::uint64_t(1) << 62) / size) throw bad_entry("shape is too large");
      numel *= size;
      info.shape.push_back(std::int64_t(size));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw bad_entry("data_offsets must be two non-negative integers");
    info.begin = offsets[0].get<std::uint64_t>();
    info.end = offsets[1].get<std::uint64_t>();
    if (info.begin > info.end || info.end > data_bytes) {
      throw bad_entry("data_offsets [" + std::to_string(info.begin) + ", " + std::to_string(info.end) +
                      ") lie outside the " + std::to_string(data_bytes) + " data bytes");
    }
    if (info.end - info.begin != numel * element) {
      throw bad_entry("holds " + std::to_string(info.end - info.begin) + " bytes, but " + info.dtype + " " +
                      info.shape.to_string() + " needs " + std::to_string(numel * element));
    }
    tensors_.push_back(std::move(info));
  }
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& t : tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  // The data section is the tensors back to back (the format's rule; Hugging Face's reader
  // refuses a buffer with holes too): an overlap, a gap or trailing bytes mean damage.
  std::uint64_t covered = 0;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < covered)
      throw bad("tensor '" + t->name + "' overlaps the tensor before it (its data begins at byte " +
                std::to_string(t->begin) + ", before " + std::to_string(covered) + ")");
    if (t->begin > covered)
      throw bad("data bytes " + std::to_string(covered) + " to " + std::to_string(t->begin) +
                " belong to no tensor (before '" + t->name + "')");
    covered = t->end;
  }
  if (covered != data_bytes)
    throw bad(std::to_string(data_bytes - covered) + " bytes after the last tensor's data (the data section holds " +
              std::to_string(data_bytes) + " bytes, the tensors " + std::to_string(covered) + ")");
  if (const auto it = metadata_.find(kDigestsMetadataKey); it != metadata_.end()) {
    const json digests = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (!digests.is_object()) throw bad(std::string("__metadata__.") + kDigestsMetadataKey + " is not a JSON object");
    for (const auto& [name, value] : digests.items()) {
      if (!value.is_string() || value.get<std::string>().size() != 16)
        throw bad(std::string("__metadata__.") + kDigestsMetadataKey + ": the digest of '" + name +
                  "' is not 16 hex digits");
      digests_[name] = value.get<std::string>();
    }
    for (const TensorInfo& t : tensors_)
      if (!digests_.count(t.name)) throw bad("tensor '" + t.name + "' has no digest, though the others have");
    if (digests_.size() != tensors_.size())
      throw bad(std::string("__metadata__.") + kDigestsMetadataKey + " names tensors the file does not hold");
  }
  std::sort(tensors_.begin(), tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
}

const TensorInfo* Reader::find(const std::string& name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

Tensor Reader::load(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) throw FileFormatError(file_.string() + ": has no tensor '" + name + "'");
  if (!loadable(info->dtype)) {
    throw FileFormatError(file_.string() + ": tensor '" + name + "' has dtype " + info->dtype +
                              ", which strata does not read",
                          "convert it to F32, F16, BF16, F64, I32 or I64");
  }
  std::ifstream in(file_, std::ios::binary);
  std::vector<char> raw(info->end - info->begin);
  in.seekg(std::streamoff(data_start_ + info->begin));
  in.read(raw.data(), std::streamsize(raw.size()));
  if (!in) throw FileFormatError(file_.string() + ": cannot read tensor '" + name + "'", "the file may be truncated");
  if (const auto it = digests_.find(name); it != digests_.end()) {
    const std::string actual = tensor_digest(info->dtype, info->shape, raw.data(), raw.size());
    if (actual != it->second)
      throw FileFormatError(file_.string() + ": tensor '" + name + "' is damaged: its " + info->dtype + " " +
                                info->shape.to_string() + " data does not match the digest written with it",
                            "the file changed after strata wrote it (disk or copy damage, or an edit); use an "
                            "earlier checkpoint (RUN/checkpoints/step-N) or the run that wrote it");
  }
  const std::int64_t n = info->shape.numel();
  const auto widen = [&](DType to, auto convert) {
    Tensor t = Tensor::empty(info->shape, to);
    convert(t);
    return t;
  };
  if (info->dtype == "I32") {
    return widen(DType::i64, [&](Tensor& out) {
      std::int64_t* dst = out.data<std::int64_t>();
      for (std::int64_t i = 0; i < n; ++i) {
        std::int32_t v;
        std::memcpy(&v, raw.data() + 4 * i, 4);
        dst[i] = v;
      }
    });
  }
  // the stored type itself: 16-bit weights stay 16-bit (no f32 copy of a bf16 checkpoint)
  const DType t = info->dtype == "F32"    ? DType::f32
                  : info->dtype == "F64"  ? DType::f64
                  : info->dtype == "I64"  ? DType::i64
                  : info->dtype == "BF16" ? DType::bf16
                                          : DType::f16;
  return widen(t, [&](Tensor& out) { std::memcpy(out.raw_data(), raw.data(), raw.size()); });
}

namespace {

// A tensor as the file holds it: on the CPU (a GPU tensor is copied, one at a time, so that
// files do not depend on the device that wrote them), contiguous.
Tensor storable(const Tensor& tensor) { return tensor.to(Device::cpu()).contiguous(); }

// The header for tensors of these names, dtypes, shapes and digests, padded so that the data
// section starts 8-byte aligned.
struct HeaderEntry {
  std::string name;
  DType dtype;
  Shape shape;
  std::string digest;
};
std::string header_text(const std::vector<HeaderEntry>& entries, const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  json digests = json::object();
  std::uint64_t offset = 0;
  for (const HeaderEntry& e : entries) {
    if (e.name == "__metadata__" || header.contains(e.name))
      throw ValueError("safetensors::write: tensor name '" + e.name + "' is repeated or reserved");
    const std::uint64_t bytes = std::uint64_t(e.shape.numel()) * dtype_size(e.dtype);
    header[e.name] = {{"dtype", stored_name(e.dtype)},
                      {"shape", std::vector<std::int64_t>(e.shape.begin(), e.shape.end())},
                      {"data_offsets", {offset, offset + bytes}}};
    digests[e.name] = e.digest;
    offset += bytes;
  }
  std::map<std::string, std::string> meta = metadata;
  meta[kDigestsMetadataKey] = digests.dump();
  header["__metadata__"] = meta;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

HeaderEntry entry_of(const std::string& name, const Tensor& t) {
  return {name, t.dtype(), t.shape(),
          tensor_digest(stored_name(t.dtype()), t.shape(), t.raw_data(), std::size_t(t.numel()) * dtype_size(t.dtype()))};
}

void write_data(std::ostream& out, const Tensor& t) {
  out.write(static_cast<const char*>(t.raw_data()), std::streamsize(t.numel() * dtype_size(t.dtype())));
}

void write_header(std::ostream& out, const std::string& text) {
  const std::uint64_t length = text.size();
  out.write(reinterpret_cast<const char*>(&length), 8);
  out.write(text.data(), std::streamsize(text.size()));
}

}  // namespace

void write(const fs::path& file, const std::vector<std::pair<std::string, Tensor>>& tensors,
           const std::map<std::string, std::string>& metadata) {
  std::vector<Tensor> contiguous;
  std::vector<HeaderEntry> entries;
  for (const auto& [name, tensor] : tensors) {
    contiguous.push_back(storable(tensor));
    entries.push_back(entry_of(name, contiguous.back()));
  }
  const std::string text = header_text(entries, metadata);
  write_file_atomically(file, [&](std::ostream& out) {
    write_header(out, text);
    for (const Tensor& t : contiguous) write_data(out, t);
  });
}

void write_lazily(const fs::path& file, const std::vector<LazyTensor>& tensors,
                  const std::map<std::string, std::string>& metadata) {
  std::vector<HeaderEntry> entries;
  for (const LazyTensor& t : tensors) entries.push_back(entry_of(t.name, storable(t.make())));
  const std::string text = header_text(entries, metadata);
  write_file_atomically(file, [&](std::ostream& out) {
    write_header(out, text);
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const Tensor t = storable(tensors[i].make());
      if (entry_of(tensors[i].name, t).digest != entries[i].digest || !(t.shape() == entries[i].shape))
        throw Error("safetensors::write_lazily: tensor '" + tensors[i].name + "' came out different the second time",
                    "its maker must give the same values on every call");
      write_data(out, t);
    }
  });
}

DType common_float_dtype(const Reader& reader) {
  std::set<std::string> dtypes;
  for (const TensorInfo& t : reader.tensors())
    if (is_float_dtype(t.dtype)) dtypes.insert(t.dtype);
  if (dtypes == std::set<std::string>{"BF16"}) return DType::bf16;
  if (dtypes == std::set<std::string>{"F16"}) return DType::f16;
  return DType::f32;
}

}  // namespace strata::safetensors
