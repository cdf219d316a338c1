#pragma once
// Framework-internal: what loading a checkpoint checks. manifest.json ties the folder's
// files together; every loaded tensor must be finite.
//
//   {"format": 1, "step": 200,                        (null for a checkpoint without training state)
//    "files": {"model.safetensors":     {"bytes": N, "header_xxh3": "..."},
//              "optimizer.safetensors": {"bytes": N, "header_xxh3": "..."},
//              "state.json":            {"bytes": N, "xxh3": "..."},
//              "experiment.toml":       {"bytes": N, "xxh3": "..."}}}
//
// A safetensors file is identified by its size and the digest of its header, which holds the
// digest of every tensor (safetensors.h), so verifying the manifest reads only headers; each
// tensor is verified as it is loaded. The manifest is written last: its presence marks a
// complete checkpoint.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "strata/checkpoint.h"
#include "strata/safetensors.h"
#include "strata/tensor.h"

namespace strata {

// Writes FOLDER/manifest.json for the checkpoint files in `folder` (those of checkpoint.h
// that are present).
void write_checkpoint_manifest(const std::filesystem::path& folder, std::optional<std::int64_t> step);

struct VerifiedCheckpoint {
  bool has_manifest = false;
  std::optional<std::int64_t> step;  // the manifest's step
};

// Checks that every file the manifest lists is there, unchanged, and that no checkpoint file
// is there that it does not list. FileFormatError names the file and what differs, or says
// that there is no manifest. `allow_unverified` skips all of it (has_manifest is then false).
VerifiedCheckpoint verify_checkpoint_manifest(const std::filesystem::path& folder, bool allow_unverified);

// FileFormatError naming the reader's file when it carries no tensor digests, unless
// `allow_unverified` (files from other tools, or from strata before digests).
void require_digests(const safetensors::Reader& reader, bool allow_unverified);

// FileFormatError naming `file` and tensor `name` when `value` (floating) holds NaN or inf.
void require_finite(const Tensor& value, const std::filesystem::path& file, const std::string& name);

}  // namespace strata
