#pragma once
// The metadata llama.cpp reads for each architecture (src/llama-model.cpp load_hparams),
// from a model's Hugging Face config.json, as convert_hf_to_gguf.py writes it.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "gguf/gguf_writer.h"
#include "strata/tokenizer.h"

namespace strata::gguf {

struct ArchitectureInfo {
  std::string name;         // llama.cpp's architecture: "llama", "qwen2", ...
  bool permute_qk = false;  // llama's RoPE pairs adjacent channels: q/k rows are permuted
  std::int64_t heads = 0, kv_heads = 0;
  std::int64_t ssm_groups = 0;  // Mamba-2: groups of the gated norm (its scale is [groups, E / groups])
};

// Adds general.architecture and every {arch}.* key; refuses (ValueError, by name) what
// llama.cpp cannot run as the model runs in strata.
ArchitectureInfo architecture_metadata(const std::string& hf_architecture, const nlohmann::json& config,
                                       std::int64_t vocab_size, Writer& writer);

// Adds tokenizer.ggml.*: the model's tokenizer when llama.cpp can run it as strata does
// (byte-level BPE with a split pattern llama.cpp implements: "gpt2"; SentencePiece:
// "llama"), else "none" (the file holds token ids only; {arch}.vocab_size gives their
// count) with `note` saying why. Returns tokenizer.ggml.model.
std::string tokenizer_metadata(const Tokenizer* tokenizer, std::int64_t vocab_size, Writer& writer, std::string& note);

}  // namespace strata::gguf
