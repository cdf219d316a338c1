#pragma once
// The training loop: AdamW with warmup + decay, gradient accumulation and clipping,
// auxiliary losses from the step context, periodic evaluation on the task's fixed
// evaluation set. Deterministic for a fixed seed and thread count.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "strata/components.h"
#include "strata/config.h"
#include "strata/model.h"

namespace strata {

// One logged line: the step and named values (loss, lr, tokens_per_s, grad_norm,
// aux.<name>, metric.<name>, eval_loss, eval_accuracy, eval_perplexity), in a stable order.
struct MetricsRecord {
  std::int64_t step = 0;
  std::vector<std::pair<std::string, double>> values;
  double get(const std::string& name, double fallback = 0.0) const;
  bool has(const std::string& name) const;
};

struct EvalResult {
  double loss = 0;        // mean cross-entropy over the scored positions
  double accuracy = 0;    // argmax == target over the scored positions
  double perplexity = 0;  // exp(loss), for tasks that report it (0 otherwise)
  std::int64_t scored = 0;
};

// Evaluates `model` on the first n_batches of the task's evaluation set (no grad, eval mode).
EvalResult evaluate(Model& model, Task& task, std::int64_t n_batches, std::int64_t batch_size);

struct TrainCallbacks {
  // After every optimizer step: step (1-based), training loss of that step, tokens/s so far.
  std::function<void(std::int64_t step, double loss, double tokens_per_s)> on_step;
  // For every logged step (every log_every steps, each evaluation, and the last step).
  std::function<void(const MetricsRecord&)> on_record;
};

struct TrainSummary {
  std::int64_t steps = 0;
  double final_train_loss = 0;  // mean over the last log window
  EvalResult initial_eval;      // before the first step
  EvalResult final_eval;
  double seconds = 0;
  double tokens_per_s = 0;
};

// Trains `model` on `task` as the validated [train] config says.
TrainSummary train(Model& model, Task& task, const Config& train_config, const TrainCallbacks& callbacks = {});

}  // namespace strata
