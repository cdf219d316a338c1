#pragma once
// Autoregressive generation through the model's recurrent decode state (KV caches for
// attention layers, conv + SSM states for Mamba layers): the prompt is consumed in one
// chunk, then one token at a time. Decoding equals the full-sequence forward, so the
// tokens are those a forward over the growing sequence would choose.
//
//   GenerateOptions o;  o.max_new_tokens = 32;  o.sampling.temperature = 0.8;  o.sampling.top_p = 0.9;
//   Generator gen(seed);
//   GenerateResult r = generate(*model, prompt_ids, o, gen);   // prompt_ids: [B, T0] i64
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "strata/model.h"
#include "strata/random.h"

namespace strata {

struct SamplingOptions {
  double temperature = 0.0;  // 0: greedy (argmax); else softmax(logits / temperature)
  std::int64_t top_k = 0;    // keep the k most likely tokens (0: all)
  double top_p = 1.0;        // keep the smallest set of tokens whose probability reaches p (1: all)
};

// Checks the options; throws ValueError naming the bad one.
void validate(const SamplingOptions& options);

// logits: [V], one position -> the chosen token id. Ties in greedy mode go to the lowest id.
// Uses `gen` only when temperature > 0.
std::int64_t sample_token(std::span<const float> logits, const SamplingOptions& options, Generator& gen);

struct GenerateOptions {
  std::int64_t max_new_tokens = 32;
  SamplingOptions sampling;
  std::int64_t stop_token = -1;  // a sequence stops after emitting it (-1: never)
};

struct GenerateResult {
  std::vector<std::vector<std::int64_t>> tokens;  // per sequence: the new tokens only
  // Decode-state bytes after the last token, per mixer type ("attention", "mamba") and total.
  std::map<std::string, std::size_t> cache_bytes_by_mixer;
  std::size_t cache_bytes = 0;
  double prefill_seconds = 0;  // the prompt chunk
  double decode_seconds = 0;   // the token-by-token steps
  std::int64_t decoded_tokens = 0;  // tokens produced by single-token steps (all sequences)
};

// prompt: [B, T0] i64 with T0 >= 1. Runs without gradients and in evaluation mode.
GenerateResult generate(Model& model, const Tensor& prompt, const GenerateOptions& options, Generator& gen);

// Decode-state bytes per mixer type of `model`'s layers.
std::map<std::string, std::size_t> cache_bytes_by_mixer(const Model& model, const DecodeState& state);

}  // namespace strata
