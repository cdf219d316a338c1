#pragma once
// The training loop: the [train.optimizer] with warmup + decay, gradient accumulation and clipping,
// auxiliary losses from the step context, periodic evaluation on the task's fixed
// evaluation set. Deterministic for a fixed seed and thread count.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "strata/communicator.h"
#include "strata/components.h"
#include "strata/config.h"
#include "strata/error.h"
#include "strata/model.h"
#include "strata/random.h"

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
// With a data-parallel `group`, each rank evaluates its rows of every batch and the result is
// the whole set's (the same on every rank).
EvalResult evaluate(Model& model, Task& task, std::int64_t n_batches, std::int64_t batch_size,
                    Communicator* group = nullptr);

// Everything besides the model's weights and buffers that continuing a run needs so that
// its metrics equal an uninterrupted run's (with the same thread count): the step, both
// random streams, the optimizer's state, and the open log window.
struct TrainingState {
  std::int64_t step = 0;  // optimizer steps done
  Generator data_gen;     // the task's training batches
  Generator noise_gen;    // stochastic components (router noise, ...)
  std::int64_t optimizer_steps = 0;
  std::string optimizer_type = "adamw";  // [train.optimizer] type of the run that saved it
  // Optimizer::state() by name: what optimizer.safetensors holds.
  std::vector<std::pair<std::string, Tensor>> optimizer_state;
  // The log window open at `step` (sums since the last logged line).
  double window_loss = 0;
  std::int64_t window_steps = 0, window_tokens = 0;
  double window_seconds = 0;
  std::map<std::string, double> window_extra;  // aux.<name>, metric.<name>
  EvalResult initial_eval, last_eval;
  double last_train_loss = 0;
  std::int64_t tokens_total = 0;
  double train_seconds = 0;
  // The steps the learning-rate schedule spans (train.schedule_steps, else train.steps, of
  // the run that started it): a resumed run keeps it, so that its learning rate goes on where
  // it stopped even when --set train.steps extends the run. 0 in checkpoints from before.
  std::int64_t schedule_steps = 0;
  // Ranks of the data-parallel job that wrote it (1: one process); a resume needs as many.
  int data_parallel_size = 1;
  // Expert parallel: the full tensors of the model's sharded parameters, gathered from every
  // rank for the checkpoint (the optimizer state above holds full tensors too). Not saved
  // in state.json: they go into model.safetensors. Empty otherwise.
  std::vector<std::pair<std::string, Tensor>> gathered_parameters;
};

struct TrainCallbacks {
  // After every optimizer step: step (1-based), training loss of that step, tokens/s so far.
  std::function<void(std::int64_t step, double loss, double tokens_per_s)> on_step;
  // For every logged step (every log_every steps, each evaluation, and the last step).
  std::function<void(const MetricsRecord&)> on_record;
  // Every train.checkpoint_every steps, after the last step, and when a stop is requested:
  // the state to save next to the weights (checkpoint.h).
  std::function<void(const TrainingState&)> on_checkpoint;
  // Polled after every step: true stops training after a checkpoint (e.g. on SIGINT or SIGTERM).
  std::function<bool()> stop_requested;
};

struct TrainSummary {
  std::int64_t steps = 0;       // the last step done
  bool interrupted = false;     // stopped by stop_requested before train.steps
  double final_train_loss = 0;  // mean over the last log window
  EvalResult initial_eval;      // before the first step
  EvalResult final_eval;
  double seconds = 0;
  double tokens_per_s = 0;
};

// Training stopped by a non-finite loss or gradient. The message names the step and the
// first non-finite activation (e.g. "layers.2.mixer") or parameter gradient.
class TrainingDivergedError : public Error {
 public:
  using Error::Error;
  ~TrainingDivergedError() override;
};

// Trains `model` on `task` with `optimizer` (holding the model's parameters:
// make_optimizer in experiment.h) as the validated [train] config says; from `resume` (a
// saved TrainingState, with the model already holding the matching weights) when given.
//
// With a `group` of N > 1 ranks (strata/communicator.h; every rank calls train() alike), it
// trains data parallel: each micro-batch is a global batch of N x batch_size rows drawn from
// the shared data stream, of which rank r trains rows [r b, (r + 1) b); gradients are summed
// over the ranks in buckets during the backward (gradient_buckets.h), so every rank takes the
// same update; logged losses, metrics and evaluations are the global batch's. Callbacks
// are the caller's business: give rank 0 the ones that write.
TrainSummary train(Model& model, Task& task, Optimizer& optimizer, const Config& train_config,
                   const TrainCallbacks& callbacks = {}, const TrainingState* resume = nullptr,
                   Communicator* group = nullptr);

}  // namespace strata
