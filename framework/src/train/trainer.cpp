#include "strata/trainer.h"

#include <chrono>
#include <cmath>
#include <map>

#include "strata/autograd.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/optim.h"
#include "strata/runtime.h"

namespace strata {

double MetricsRecord::get(const std::string& name, double fallback) const {
  for (const auto& [k, v] : values)
    if (k == name) return v;
  return fallback;
}

bool MetricsRecord::has(const std::string& name) const {
  for (const auto& [k, v] : values)
    if (k == name) return true;
  return false;
}

namespace {

// Correct argmax predictions at the scored positions. logits: [B, T, V], targets: [B, T].
std::int64_t count_correct(const Tensor& logits, const Tensor& targets, std::int64_t& scored) {
  const Tensor l = logits.to(DType::f32).contiguous();
  const float* p = l.data<float>();
  const std::vector<std::int64_t> t = targets.to_vector<std::int64_t>();
  const std::int64_t V = logits.size(-1);
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] < 0) continue;
    ++scored;
    const float* row = p + std::int64_t(i) * V;
    std::int64_t best = 0;
    for (std::int64_t v = 1; v < V; ++v)
      if (row[v] > row[best]) best = v;
    correct += best == t[i];
  }
  return correct;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

EvalResult evaluate(Model& model, Task& task, std::int64_t n_batches, std::int64_t batch_size) {
  autograd::NoGradGuard no_grad;
  const bool was_training = model.training();
  model.train(false);
  double loss_sum = 0;
  std::int64_t correct = 0, scored = 0;
  for (std::int64_t i = 0; i < n_batches; ++i) {
    const Batch batch = task.eval_batch(i, batch_size);
    StepContext ctx(false, nullptr);
    const Tensor logits = model.forward(batch.inputs, ctx);
    CrossEntropyOptions options;
    options.reduction = Reduction::sum;
    loss_sum += cross_entropy(logits, batch.targets, options).item();
    correct += count_correct(logits, batch.targets, scored);
  }
  model.train(was_training);
  EvalResult r;
  r.scored = scored;
  r.loss = scored ? loss_sum / double(scored) : 0.0;
  r.accuracy = scored ? double(correct) / double(scored) : 0.0;
  r.perplexity = task.reports_perplexity() ? std::exp(r.loss) : 0.0;
  return r;
}

TrainSummary train(Model& model, Task& task, const Config& c, const TrainCallbacks& callbacks) {
  if (c.integer("threads") > 0) set_num_threads(static_cast<int>(c.integer("threads")));
  const std::int64_t steps = c.integer("steps");
  const std::int64_t batch_size = c.integer("batch_size");
  const std::int64_t accum = c.integer("grad_accum");
  const std::int64_t eval_every = c.integer("eval_every");
  const std::int64_t eval_batches = c.integer("eval_batches");
  const std::int64_t eval_bs = c.integer("eval_batch_size") > 0 ? c.integer("eval_batch_size") : batch_size;
  const std::int64_t log_every = c.integer("log_every");
  const double grad_clip = c.number("grad_clip");
  const auto seed = static_cast<std::uint64_t>(c.integer("seed"));

  AdamWOptions adam;
  adam.beta1 = c.number("beta1");
  adam.beta2 = c.number("beta2");
  adam.eps = c.number("eps");
  adam.weight_decay = c.number("weight_decay");
  AdamW optimizer(model.named_parameters(), adam);
  const std::vector<Tensor> params = model.parameters();
  LrSchedule schedule{c.number("lr"), c.integer("warmup_steps"), steps, c.number("min_lr_ratio"),
                      parse_lr_decay(c.string("schedule"))};

  // Separate streams: the data does not shift when a component draws noise.
  Generator data_gen(seed * 2 + 1);
  Generator noise_gen(seed * 2 + 2);

  TrainSummary summary;
  summary.initial_eval = evaluate(model, task, eval_batches, eval_bs);
  model.train(true);

  const Clock::time_point start = Clock::now();
  double train_seconds = 0;  // excludes evaluation
  std::int64_t tokens_total = 0;
  // Sums over the current log window.
  double window_loss = 0;
  std::int64_t window_steps = 0, window_tokens = 0;
  double window_seconds = 0;
  std::map<std::string, double> window_extra;  // aux.<name>, metric.<name>

  for (std::int64_t step = 1; step <= steps; ++step) {
    const Clock::time_point step_start = Clock::now();
    const double lr = schedule.at(step - 1);
    model.zero_grad();
    double step_loss = 0;
    for (std::int64_t micro = 0; micro < accum; ++micro) {
      const Batch batch = task.train_batch(batch_size, data_gen);
      StepContext ctx(true, &noise_gen);
      const Tensor logits = model.forward(batch.inputs, ctx);
      const Tensor loss = cross_entropy(logits, batch.targets);
      Tensor total = loss;
      if (const Tensor aux = ctx.total_aux_loss(); aux.defined()) total = add(total, aux);
      scale(total, 1.0 / double(accum)).backward();
      step_loss += loss.item() / double(accum);
      for (const auto& a : ctx.aux_losses()) window_extra["aux." + a.name] += a.value.item() / double(accum);
      for (const auto& [name, value] : ctx.metrics()) window_extra["metric." + name] += value / double(accum);
      window_tokens += batch.inputs.numel();
      tokens_total += batch.inputs.numel();
    }
    if (!std::isfinite(step_loss)) {
      throw Error("training loss is not finite (" + std::to_string(step_loss) + ") at step " + std::to_string(step),
                  "lower train.lr, enable train.grad_clip, or check the model's initialisation");
    }
    const double grad_norm = clip_grad_norm(params, grad_clip);
    if (!std::isfinite(grad_norm)) {
      throw Error("gradient norm is not finite at step " + std::to_string(step),
                  "lower train.lr or check the components' backward functions (strata check)");
    }
    optimizer.step(lr);
    model.after_step();

    const double step_seconds = seconds_since(step_start);
    train_seconds += step_seconds;
    window_seconds += step_seconds;
    window_loss += step_loss;
    ++window_steps;
    if (callbacks.on_step) callbacks.on_step(step, step_loss, double(tokens_total) / std::max(train_seconds, 1e-9));

    const bool eval_now = step == steps || (eval_every > 0 && step % eval_every == 0);
    if (step % log_every != 0 && !eval_now) continue;
    MetricsRecord record;
    record.step = step;
    const double mean_loss = window_loss / double(window_steps);
    record.values.emplace_back("loss", mean_loss);
    record.values.emplace_back("lr", lr);
    record.values.emplace_back("tokens_per_s", double(window_tokens) / std::max(window_seconds, 1e-9));
    record.values.emplace_back("grad_norm", grad_norm);
    for (const auto& [name, sum] : window_extra) record.values.emplace_back(name, sum / double(window_steps));
    if (eval_now) {
      const EvalResult r = evaluate(model, task, eval_batches, eval_bs);
      record.values.emplace_back("eval_loss", r.loss);
      record.values.emplace_back("eval_accuracy", r.accuracy);
      if (task.reports_perplexity()) record.values.emplace_back("eval_perplexity", r.perplexity);
      summary.final_eval = r;
    }
    summary.final_train_loss = mean_loss;
    if (callbacks.on_record) callbacks.on_record(record);
    window_loss = 0;
    window_steps = 0;
    window_tokens = 0;
    window_seconds = 0;
    window_extra.clear();
  }
  summary.steps = steps;
  summary.seconds = seconds_since(start);
  summary.tokens_per_s = double(tokens_total) / std::max(train_seconds, 1e-9);
  return summary;
}

}  // namespace strata
