#pragma once
// GGUF export for llama.cpp: `strata export-gguf CKPT --out model.gguf --type f16`.
//
// The checkpoint is exported as its Hugging Face architecture would be (hf.h) and converted
// as llama.cpp's convert_hf_to_gguf.py converts that: tensor names (token_embd,
// blk.N.attn_q, ...), llama's q/k row permutation, Mamba's A = -exp(A_log), experts stacked
// into 3-D tensors, the metadata llama.cpp reads ({arch}.block_count, ...). Norms, biases,
// routers and SSM parameters stay f32 whatever the type, and Q8_0 falls back to f16 for
// rows whose length is not a multiple of 32, as convert does. The checkpoint's tokenizer
// (SentencePiece tokenizer.model, or a byte-level BPE tokenizer.json with a split pattern
// llama.cpp implements) goes into the file's tokenizer.ggml.* metadata; without one the
// file holds token ids only (tokenizer.ggml.model = "none").
//
// llama.cpp architectures: llama (Llama, Mistral, Mixtral), qwen2, qwen3, qwen3moe, mamba,
// mamba2, jamba. What llama.cpp cannot run as the model runs in strata (RoPE scaling, sliding
// windows, un-renormalised Qwen3-MoE routing, Mamba with d_inner != 2 d_model) is refused
// by name, never approximated.
#include <cstdint>
#include <filesystem>
#include <string>

#include "strata/checkpoint.h"
#include "strata/experiment.h"
#include "strata/registry.h"

namespace strata {

enum class GgufType { f32, f16, bf16, q8_0 };

// "f32", "f16", "bf16", "q8_0" -> the type; ValueError otherwise.
GgufType parse_gguf_type(const std::string& name);

struct GgufExportResult {
  std::string architecture;     // llama.cpp's: "llama", "qwen3moe", ...
  std::string hf_architecture;  // the Hugging Face one it was converted from
  std::int64_t tensors = 0;
  std::uint64_t bytes = 0;
  std::string tokenizer;       // tokenizer.ggml.model: "gpt2", "llama", or "none"
  std::string tokenizer_note;  // why a tokenizer the checkpoint has was not written
};

GgufExportResult export_gguf(const std::filesystem::path& checkpoint, const std::filesystem::path& out, GgufType type,
                             ComponentRegistry& registry, const ExperimentOptions& options,
                             const CheckpointChecks& checks = {});

}  // namespace strata
