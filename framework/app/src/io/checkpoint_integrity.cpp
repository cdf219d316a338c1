#include "io/checkpoint_integrity.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/digest.h"
#include "strata/atomic_file.h"
#include "strata/checkpoint.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

namespace strata {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kManifestFormat = 1;

const char* const kSafetensorsFiles[] = {kCheckpointWeightsFile, kCheckpointOptimizerFile};
const char* const kTextFiles[] = {kCheckpointStateFile, kCheckpointExperimentFile, kCheckpointTokenizerFiles[0],
                                  kCheckpointTokenizerFiles[1]};

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw FileFormatError(file.string() + ": cannot open for reading", "check the file's permissions");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// What the manifest records of one file.
json describe(const fs::path& file, bool is_safetensors) {
  if (is_safetensors) {
    const safetensors::Reader reader(file);
    return {{"bytes", reader.file_size()}, {"header_xxh3", reader.header_digest()}};
  }
  const std::string bytes = read_bytes(file);
  return {{"bytes", bytes.size()}, {"xxh3", digest_hex(bytes)}};
}

// The step a strata safetensors file says it was written at, for the error message.
std::string written_at(const fs::path& file) {
  try {
    const safetensors::Reader reader(file);
    const auto it = reader.metadata().find("strata.step");
    if (it != reader.metadata().end()) return " (the file says step " + it->second + ")";
  } catch (const Error&) {
  }
  return "";
}

}  // namespace

void write_checkpoint_manifest(const fs::path& folder, std::optional<std::int64_t> step) {
  json files = json::object();
  std::error_code ec;
  for (const char* name : kSafetensorsFiles)
    if (fs::is_regular_file(folder / name, ec)) files[name] = describe(folder / name, true);
  for (const char* name : kTextFiles)
    if (fs::is_regular_file(folder / name, ec)) files[name] = describe(folder / name, false);
  json manifest{{"format", kManifestFormat}, {"step", step ? json(*step) : json(nullptr)}, {"files", files}};
  write_text_atomically(folder / kCheckpointManifestFile, manifest.dump(2) + "\n");
}

void require_digests(const safetensors::Reader& reader, bool allow_unverified) {
  if (!reader.has_digests() && !allow_unverified)
    throw FileFormatError(reader.file().string() + ": has no tensor digests, so damage cannot be detected",
                          "files written by strata carry them; to load this one anyway, pass --unverified");
}

void require_finite(const Tensor& value, const fs::path& file, const std::string& name) {
  if (!is_floating(value.dtype())) return;
  const bool half = value.dtype() == DType::bf16 || value.dtype() == DType::f16;
  if (!all_finite(half ? value.to(DType::f32) : value))
    throw FileFormatError(file.string() + ": tensor '" + name + "' holds NaN or infinite values",
                          "the run that wrote it had diverged, or the file was edited; load it anyway for debugging "
                          "with --allow-nonfinite");
}

VerifiedCheckpoint verify_checkpoint_manifest(const fs::path& folder, bool allow_unverified) {
  VerifiedCheckpoint out;
  const fs::path file = folder / kCheckpointManifestFile;
  std::error_code ec;
  if (allow_unverified) return out;
  if (!fs::is_regular_file(file, ec)) {
    throw FileFormatError(folder.string() + ": has no " + kCheckpointManifestFile +
                              ", so its files cannot be checked against each other",
                          "checkpoints from strata before integrity data, or folders put together by hand, load "
                          "with --unverified; if a write was cut short, use an earlier checkpoint");
  }
  out.has_manifest = true;
  const auto damaged = [&](const std::string& what) {
    return FileFormatError(file.string() + ": " + what, "the checkpoint is damaged; use an earlier one (RUN/checkpoints/step-N)");
  };
  const json manifest = json::parse(read_bytes(file), nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object() || !manifest.contains("format") || !manifest.contains("files") ||
      !manifest["files"].is_object() || !manifest.contains("step"))
    throw damaged("not a checkpoint manifest (a JSON object with format, step and files)");
  if (manifest["format"] != kManifestFormat)
    throw FileFormatError(file.string() + ": manifest format " + manifest["format"].dump() + ", this strata reads " +
                              std::to_string(kManifestFormat),
                          "use the strata version that wrote the checkpoint");
  const json& step = manifest["step"];
  if (step.is_number_unsigned())
    out.step = step.get<std::int64_t>();
  else if (!step.is_null())
    throw damaged("\"step\" must be a non-negative integer or null, not " + step.dump());

  const json& files = manifest["files"];
  const auto step_text = out.step ? " (step " + std::to_string(*out.step) + ")" : std::string();
  const auto check = [&](const char* name, bool is_safetensors) {
    const fs::path path = folder / name;
    const bool listed = files.contains(name), present = fs::is_regular_file(path, ec);
    if (!listed && !present) return;
    if (!listed)
      throw FileFormatError(path.string() + ": not part of this checkpoint: " + kCheckpointManifestFile +
                                step_text + " does not list it" + (is_safetensors ? written_at(path) : ""),
                            "files of different checkpoints were combined; use a checkpoint folder as strata wrote it");
    if (!present)
      throw FileFormatError(path.string() + ": missing, though " + kCheckpointManifestFile + " lists it",
                            "the checkpoint is incomplete; use an earlier one (RUN/checkpoints/step-N)");
    const json expected = files[name];
    json actual;
    try {
      actual = describe(path, is_safetensors);
    } catch (const FileFormatError& e) {
      throw FileFormatError(e.message() + " (listed in " + file.string() + ")",
                            "the checkpoint is damaged; use an earlier one (RUN/checkpoints/step-N)");
    }
    if (actual != expected) {
      const bool size_differs = !expected.contains("bytes") || expected["bytes"] != actual["bytes"];
      throw FileFormatError(
          path.string() + ": does not match " + kCheckpointManifestFile + step_text + ": " +
              (size_differs ? "its size is " + actual["bytes"].dump() + " bytes, the manifest says " +
                                  (expected.contains("bytes") ? expected["bytes"].dump() : std::string("nothing"))
                            : std::string(is_safetensors ? "its header" : "its content") + " differs") +
              (is_safetensors ? written_at(path) : ""),
          "the file was changed, damaged, or taken from another checkpoint; use the checkpoint folder as strata "
          "wrote it, or an earlier one (RUN/checkpoints/step-N)");
    }
  };
  for (const char* name : kSafetensorsFiles) check(name, true);
  for (const char* name : kTextFiles) check(name, false);
  for (const auto& [name, entry] : files.items()) {
    bool known = false;
    for (const char* n : kSafetensorsFiles) known = known || name == n;
    for (const char* n : kTextFiles) known = known || name == n;
    if (!known) throw damaged("lists \"" + name + "\", which is not a checkpoint file");
  }
  return out;
}

}  // namespace strata
