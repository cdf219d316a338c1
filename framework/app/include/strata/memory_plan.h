#pragma once
// Memory planning for a machine: whether a model's weights and decode cache, and a
// training step, fit in a memory budget, and the longest context that does. Analytic,
// from the model plan (strata/model_plan.h), so it works for published models far larger
// than this machine. `strata inspect --memory 128GiB` / `--target dgx-spark` prints it.
//
// What is counted (docs/planning.md):
//   decoding  weights (params x dtype) + batch x the decode cache after `context` tokens;
//   training  params x 16 bytes (f32 master weights, f32 gradients, AdamW's two moments)
//             + batch x the activations a forward keeps for one sequence of `seq_len`
//             tokens (in dtype) + the backward's transient: the logits' gradient (f32),
//             two layers' activations and a component's declared backward transient.
// A machine whose CPU and GPU share one memory (DGX Spark) has one budget: nothing is
// counted twice, because nothing is copied between host and device.
#include <cstdint>
#include <string>
#include <vector>

#include "strata/experiment.h"
#include "strata/model_plan.h"

namespace strata {

// A named machine: its memory for strata's tensors, and what is special about it.
struct MemoryTarget {
  std::string name;  // "dgx-spark"
  std::int64_t bytes = 0;
  std::string note;
};
const std::vector<MemoryTarget>& memory_targets();
// The target named `name`; ValueError listing the known ones otherwise.
const MemoryTarget& memory_target(const std::string& name);

// "128GiB", "128 GB", "1.5TiB", "96000MiB", "1073741824" -> bytes (GB = 1e9, GiB = 2^30).
// ValueError saying what is accepted otherwise.
std::int64_t parse_memory_size(const std::string& text);
std::string format_bytes(double bytes);  // "93.41 GiB"

struct MemoryQuery {
  std::int64_t budget_bytes = 0;
  std::string budget_name;    // "dgx-spark", or the size as given
  std::string budget_note;
  std::int64_t batch = 1;     // sequences per step (training) or decoded together
  std::int64_t seq_len = 0;   // training sequence length
  std::int64_t context = 0;   // decode: tokens in the cache
  std::string dtype = "f32";  // weights for decoding, the cache, the activations: f32, bf16, f16
};

// Tokens: kUnbounded when the requirement does not grow with the context (a constant
// recurrent state), 0 when not even one token fits, kUnknown when a component declares
// no cost to plan with.
inline constexpr std::int64_t kUnbounded = -1;
inline constexpr std::int64_t kUnknown = -2;

// "335,947 tokens", "unbounded (...)", "none", "unknown (...)".
std::string tokens_text(std::int64_t tokens);

struct MemoryPlan {
  MemoryQuery query;
  std::int64_t params = 0;
  // decoding
  std::int64_t weights_bytes = 0;
  std::int64_t cache_bytes = 0;  // the whole batch
  bool cache_known = true;
  // training
  std::int64_t train_state_bytes = 0;
  std::int64_t activation_bytes = 0;  // the whole batch
  std::int64_t workspace_bytes = 0;
  bool activations_known = true;
  // the longest context that fits at this batch (or kUnbounded, 0, kUnknown)
  std::int64_t max_decode_context = 0;
  std::int64_t max_train_seq_len = 0;

  std::int64_t decode_bytes() const { return weights_bytes + cache_bytes; }
  std::int64_t train_bytes() const { return train_state_bytes + activation_bytes + workspace_bytes; }
  bool decode_fits() const { return cache_known && decode_bytes() <= query.budget_bytes; }
  bool train_fits() const { return activations_known && train_bytes() <= query.budget_bytes; }

  std::string to_text() const;
  std::string to_json() const;  // one object: budget_bytes, weights_bytes, cache_bytes, ..., max_train_seq_len
};

// Plans `experiment`'s model for the budget. Throws ValueError for a non-positive budget,
// batch or length.
MemoryPlan plan_memory(const Experiment& experiment, const ComponentRegistry& registry, const MemoryQuery& query);

}  // namespace strata
