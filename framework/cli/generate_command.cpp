// strata generate: tokens from a checkpoint through the hybrid decode cache.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/device_option.h"
#include "cli/token_input.h"
#include "strata/checkpoint.h"
#include "strata/memory_guard.h"
#include "strata/generate.h"

namespace strata::cli {

namespace {

std::string join(const std::vector<std::int64_t>& ids) {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) out += (i ? " " : "") + std::to_string(ids[i]);
  return out;
}

std::string kib(std::size_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f KiB", double(bytes) / 1024.0);
  return buffer;
}

}  // namespace

int generate_command(const GenerateCommandOptions& options) {
  const Device device = device_option(options.device);
  ComponentRegistry registry;
  register_builtin_components(registry);
  LoadedCheckpoint c =
      load_checkpoint(options.checkpoint, options.common.experiment_options(), registry, DType::f32, options.checks);
  const std::int64_t V = c.model->dims().vocab_size;
  Tensor prompt;
  std::shared_ptr<const Tokenizer> tokenizer;  // with --text: the continuation is printed as text
  if (!options.text.empty()) {
    tokenizer = text_tokenizer(c, options.tokenizer);
    prompt = encode_text(*tokenizer, options.text, V, "--text");
  } else if (!options.prompt.empty()) {
    prompt = read_token_ids(options.prompt, V, "--prompt");
  } else {
    throw UsageError("generate needs a prompt", "give --prompt \"5 3 9\" (ids, or a file of ids) or --text \"...\"");
  }
  if (options.generate.stop_token < -1 || options.generate.stop_token >= V)
    throw UsageError("--stop-token " + std::to_string(options.generate.stop_token) + " is not a token of this model",
                     "give an id from 0 to " + std::to_string(V - 1) + ", or -1 for none");
  if (options.checks.check_memory)
    require_decoding_fits(c.experiment, registry, "f32", prompt.shape()[0],
                          prompt.shape()[1] + options.generate.max_new_tokens, device);
  c.model->to(device);  // checkpoints load on the CPU; decode states follow the model
  Generator gen(options.seed);
  const GenerateResult r = generate(*c.model, prompt, options.generate, gen);

  const double decode_tps = r.decode_seconds > 0 ? double(r.decoded_tokens) / r.decode_seconds : 0.0;
  if (options.json) {
    nlohmann::ordered_json j;
    j["prompt"] = nlohmann::json::array();
    for (std::int64_t b = 0; b < prompt.size(0); ++b) {
      const Tensor row = prompt.slice(0, b, b + 1).contiguous();
      j["prompt"].push_back(row.to_vector<std::int64_t>());
    }
    j["tokens"] = r.tokens;
    if (tokenizer) {
      j["text"] = nlohmann::json::array();
      for (const auto& t : r.tokens) j["text"].push_back(tokenizer->decode(t, true));
    }
    j["cache_bytes"] = r.cache_bytes;
    j["cache_bytes_by_mixer"] = r.cache_bytes_by_mixer;
    j["prefill_seconds"] = r.prefill_seconds;
    j["decode_tokens_per_s"] = decode_tps;
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  for (std::size_t b = 0; b < r.tokens.size(); ++b) {
    if (tokenizer)
      std::cout << tokenizer->decode(r.tokens[b], true) << "\n";
    else
      std::cout << join(r.tokens[b]) << "\n";
  }
  std::cerr << "cache after " << (prompt.size(1) + std::int64_t(r.tokens.empty() ? 0 : r.tokens[0].size()) - 1)
            << " tokens x " << prompt.size(0) << " sequences:";
  for (const auto& [type, bytes] : r.cache_bytes_by_mixer) std::cerr << " " << type << " " << kib(bytes) << ",";
  std::cerr << " total " << kib(r.cache_bytes) << "\n";
  char line[160];
  std::snprintf(line, sizeof line, "prefill %.1f ms, decode %.0f tokens/s\n", r.prefill_seconds * 1e3, decode_tps);
  std::cerr << line;
  return kOk;
}

}  // namespace strata::cli
