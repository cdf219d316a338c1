#include "strata/trainer.h"

#include "strata/precision.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "distributed/gradient_buckets.h"
#include "distributed/sharded_parameters.h"
#include "distributed/step_exchange.h"
#include "strata/autograd.h"
#include "strata/distributed.h"
#include "strata/error.h"
#include "strata/ops.h"
#include "strata/optim.h"
#include "strata/telemetry.h"
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
  const Tensor l = logits.to(Device::cpu()).to(DType::f32).contiguous();
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

// The batch's tokens on `device` (tasks draw on the CPU). The packed documents' starts stay
// on the CPU: ops validate them there and backends copy them where their kernels run.
Batch on_device(Batch batch, Device device) {
  if (device.is_cpu()) return batch;
  batch.inputs = batch.inputs.to(device);
  batch.targets = batch.targets.to(device);
  return batch;
}

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

EvalResult evaluate(Model& model, Task& task, std::int64_t n_batches, std::int64_t batch_size, Communicator* group) {
  autograd::NoGradGuard no_grad;
  const bool was_training = model.training();
  model.train(false);
  // Data parallel: each rank evaluates its rows of every batch; the sums are reduced below.
  const std::int64_t ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
  double loss_sum = 0;
  std::int64_t correct = 0, scored = 0;
  const Device device = model.device();
  for (std::int64_t i = 0; i < n_batches; ++i) {
    Batch batch = task.eval_batch(i, batch_size);
    // Every rank takes part in every forward (expert-parallel layers exchange tokens): a
    // batch of fewer rows than ranks is evaluated whole on every rank and counted by rank 0.
    bool counted = true;
    if (ranks > 1) {
      const std::int64_t rows = batch.inputs.size(0);
      if (rows >= ranks) {
        const std::int64_t first = rows * rank / ranks, last = rows * (rank + 1) / ranks;
        batch = batch_rows(batch, first, last - first);
      } else {
        counted = rank == 0;
      }
    }
    batch = on_device(std::move(batch), device);
    StepContext ctx(false, nullptr);
    ctx.set_sequence_starts(batch.sequence_starts);
    if (ranks > 1) ctx.set_data_parallel(group);  // expert-parallel layers exchange tokens
    const Tensor logits = model.forward(batch.inputs, ctx);
    if (!counted) continue;
    CrossEntropyOptions options;
    options.reduction = Reduction::sum;
    loss_sum += cross_entropy(logits, batch.targets, options).item();
    correct += count_correct(logits, batch.targets, scored);
  }
  model.train(was_training);
  if (ranks > 1) {
    std::vector<double> sums{loss_sum, double(correct), double(scored)};
    group->all_reduce_sum(std::span<double>(sums));
    loss_sum = sums[0];
    correct = std::int64_t(sums[1]);
    scored = std::int64_t(sums[2]);
  }
  EvalResult r;
  r.scored = scored;
  r.loss = scored ? loss_sum / double(scored) : 0.0;
  r.accuracy = scored ? double(correct) / double(scored) : 0.0;
  r.perplexity = task.reports_perplexity() ? std::exp(r.loss) : 0.0;
  return r;
}

TrainingDivergedError::~TrainingDivergedError() = default;

namespace {

// The first parameter whose gradient holds a non-finite value ("" when none).
std::string first_nonfinite_gradient(const Model& model) {
  for (const auto& p : model.named_parameters()) {
    const Tensor g = p.tensor.grad();
    if (g.defined() && !all_finite(g)) return p.name;
  }
  return "";
}

}  // namespace

TrainSummary train(Model& model, Task& task, Optimizer& optimizer, const Config& c, const TrainCallbacks& callbacks,
                   const TrainingState* resume, Communicator* group) {
  if (optimizer.params().empty() && !model.named_parameters().empty())
    throw ValueError("train: the optimizer holds no parameters", "create it with make_optimizer (experiment.h)");
  if (c.integer("threads") > 0) set_num_threads(static_cast<int>(c.integer("threads")));
  // Forward, backward and evaluation of the whole run compute their products in this precision.
  const PrecisionGuard precision(parse_precision(c.string("precision")));
  const std::int64_t steps = c.integer("steps");
  const std::int64_t batch_size = c.integer("batch_size");
  const std::int64_t accum = c.integer("grad_accum");
  const std::int64_t eval_every = c.integer("eval_every");
  const std::int64_t eval_batches = c.integer("eval_batches");
  const std::int64_t eval_bs = c.integer("eval_batch_size") > 0 ? c.integer("eval_batch_size") : batch_size;
  const std::int64_t log_every = c.integer("log_every");
  const std::int64_t checkpoint_every = c.integer("checkpoint_every");
  const double grad_clip = c.number("grad_clip");
  const auto seed = static_cast<std::uint64_t>(c.integer("seed"));
  // Data parallel (docs/distributed.md): `ranks` processes each train on batch_size rows of
  // a global batch of ranks x batch_size, and sum their gradients before every update.
  const int ranks = group ? group->size() : 1;
  const int rank = group ? group->rank() : 0;
  const bool data_parallel = ranks > 1;
  const std::int64_t replica_check_every = c.integer("replica_check_every");

  const std::vector<Tensor> params = model.parameters();
  const std::vector<NamedParameter> named = model.named_parameters();
  const Device device = model.device();  // run.cpp moved the model to train.device
  // Expert parallel: some parameters are blocks of tensors sharded over ranks.
  const bool sharded = has_sharded_parameters(named);
  // The schedule's span: given, else the resumed run's (its learning rate must not jump when
  // train.steps changes on resume), else train.steps. Past its end the rate stays at its floor.
  const std::int64_t span = c.integer("schedule_steps") > 0                 ? c.integer("schedule_steps")
                            : resume != nullptr && resume->schedule_steps > 0 ? resume->schedule_steps
                                                                              : steps;
  if (c.integer("warmup_steps") > span)
    throw ValueError("train.warmup_steps (" + std::to_string(c.integer("warmup_steps")) +
                         ") is larger than the schedule's span (" + std::to_string(span) + " steps)",
                     "set train.schedule_steps to at least warmup_steps");
  LrSchedule schedule{c.number("lr"), c.integer("warmup_steps"), span, c.number("min_lr_ratio"),
                      parse_lr_decay(c.string("schedule"))};

  TrainingState state;
  if (resume) {
    if (resume->step > steps)
      throw ValueError("cannot resume at step " + std::to_string(resume->step) + ": train.steps is " +
                           std::to_string(steps),
                       "resume with at least as many steps as the checkpoint has done");
    // Bad input, like a config error (exit code 2): the command, not the checkpoint, is wrong.
    if (resume->data_parallel_size != ranks)
      throw ConfigError(SourceLocation{"the checkpoint's state.json"}, "data_parallel_size",
                        "cannot resume on " + std::to_string(ranks) + " rank(s): the checkpoint was written by a job of " +
                            std::to_string(resume->data_parallel_size) +
                            " rank(s), whose batches and random streams another number of ranks would not continue",
                        resume->data_parallel_size > 1
                            ? "resume with mpirun -np " + std::to_string(resume->data_parallel_size)
                            : std::string("resume without mpirun (or with mpirun -np 1)"));
    state = *resume;
    if (const std::string& type = c.component("optimizer").type(); state.optimizer_type != type)
      throw ValueError("cannot resume with optimizer '" + type + "': the checkpoint was written by '" +
                           state.optimizer_type + "'",
                       "resume with the checkpoint's [train.optimizer], or start a new run from its weights");
    if (sharded) slice_sharded_state(named, state.optimizer_state);  // the checkpoint holds full tensors
    optimizer.load_state(state.optimizer_steps, {state.optimizer_state.begin(), state.optimizer_state.end()});
  } else {
    // Separate streams: the data does not shift when a component draws noise.
    state.data_gen = Generator(seed * 2 + 1);
    state.noise_gen = Generator(seed * 2 + 2);
    state.data_parallel_size = ranks;
    state.initial_eval = evaluate(model, task, eval_batches, eval_bs, group);
  }
  // Every rank draws the same data stream (and takes its rows); noise differs per rank, so
  // that the ranks' tokens do not share router noise. Rank 0 keeps the saved stream.
  if (rank > 0) state.noise_gen.set_state(rank_noise_seed(state.noise_gen.seed(), rank), state.noise_gen.offset());
  state.schedule_steps = span;
  model.train(true);

  // Gradient sums: the replicated parameters' over the data-parallel group, each sharded
  // block's over the ranks that hold the same block (none when it is alone).
  std::vector<std::unique_ptr<GradientBuckets>> buckets;
  autograd::LeafReadyFn ready_hook;
  if (data_parallel) {
    const std::size_t bucket_bytes = std::size_t(c.number("bucket_mib") * double(1 << 20));
    std::vector<Tensor> replicated;
    std::vector<std::pair<Communicator*, std::vector<Tensor>>> blocks;
    for (const NamedParameter& p : named) {
      if (!p.shard) {
        replicated.push_back(p.tensor);
        continue;
      }
      if (p.shard->replicas->size() == 1) continue;
      if (blocks.empty() || blocks.back().first != p.shard->replicas) blocks.emplace_back(p.shard->replicas, std::vector<Tensor>{});
      blocks.back().second.push_back(p.tensor);
    }
    buckets.push_back(std::make_unique<GradientBuckets>(replicated, *group, bucket_bytes));
    for (auto& [replicas, tensors] : blocks)
      buckets.push_back(std::make_unique<GradientBuckets>(tensors, *replicas, bucket_bytes));
    ready_hook = [&buckets](const TensorImpl& leaf) {
      for (const auto& b : buckets) b->ready_hook()(leaf);
    };
  }

  TrainSummary summary;
  summary.initial_eval = state.initial_eval;
  summary.final_eval = state.last_eval;
  summary.final_train_loss = state.last_train_loss;
  const Clock::time_point start = Clock::now();
  const auto checkpoint = [&] {
    if (!callbacks.on_checkpoint && !sharded) return;
    state.optimizer_steps = optimizer.steps_taken();
    state.optimizer_type = c.component("optimizer").type();
    state.optimizer_state = optimizer.state();
    TrainingState saved = state;
    // The checkpoint holds rank 0's noise stream (the one each rank's is derived from).
    if (rank > 0) saved.noise_gen.set_state(seed * 2 + 2, state.noise_gen.offset());
    if (sharded) {
      // Every rank sends its blocks: the checkpoint holds whole tensors.
      gather_sharded_state(named, saved.optimizer_state);
      saved.gathered_parameters = gather_sharded_parameters(named);
    }
    if (callbacks.on_checkpoint) callbacks.on_checkpoint(saved);
  };

  // How each logged metric combines over a logging window: as its declaration says
  // (strata/telemetry.h); mean for a metric nobody declared.
  const std::vector<MetricSeries> declared = model.metric_series();
  SeriesIndex series(declared);
  const auto reduction = [&](const std::string& name) {
    const MetricSeries* s = series.find(name);
    return s ? s->reduce : MetricReduce::mean;
  };
  const auto diverged_loss = [&](std::int64_t step, double loss, const Batch& batch) {
    StepContext again(true, nullptr);
    again.set_sequence_starts(batch.sequence_starts);
    if (data_parallel) again.set_data_parallel(group);
    const std::string where = model.first_nonfinite_activation(batch.inputs, again);
    return TrainingDivergedError(
        "training diverged at step " + std::to_string(step) + ": the loss is " +
            (std::isnan(loss) ? std::string("nan") : std::to_string(loss)) +
            (where.empty() ? "" : "; the first non-finite activation is the output of " + where),
        "lower train.lr, enable train.grad_clip, or check the model's initialisation; the last checkpoint "
        "written before this step is kept");
  };

  while (state.step < steps) {
    const std::int64_t step = state.step + 1;
    const Clock::time_point step_start = Clock::now();
    const double lr = schedule.at(step - 1);
    model.zero_grad();
    double step_loss = 0;
    std::map<std::string, double> step_aux;      // this step's value: the mean over micro-batches
    std::map<std::string, double> step_metrics;  // idem
    Batch batch;
    for (std::int64_t micro = 0; micro < accum; ++micro) {
      const Batch global = task.train_batch(batch_size * ranks, state.data_gen);
      batch = on_device(data_parallel ? batch_rows(global, rank * batch_size, batch_size) : global, device);
      StepContext ctx(true, &state.noise_gen);
      ctx.set_sequence_starts(batch.sequence_starts);
      if (data_parallel) ctx.set_data_parallel(group);
      const Tensor logits = model.forward(batch.inputs, ctx);
      Tensor loss;
      if (data_parallel) {
        // This rank's part of the global batch's mean: its sum over the global count, so
        // that the ranks' parts (and their gradients) add up to the single-process mean.
        CrossEntropyOptions options;
        options.reduction = Reduction::sum;
        const double global_scored = double(std::max<std::int64_t>(scored_positions(global.targets), 1));
        loss = scale(cross_entropy(logits, batch.targets, options), 1.0 / global_scored);
      } else {
        loss = cross_entropy(logits, batch.targets);
        if (!std::isfinite(loss.item())) throw diverged_loss(step, loss.item(), batch);
      }
      Tensor total = loss;
      // Auxiliary terms are per rank: the gradient sum over the ranks averages them.
      if (const Tensor aux = ctx.total_aux_loss(); aux.defined()) total = add(total, scale(aux, 1.0 / double(ranks)));
      const Tensor root = scale(total, 1.0 / double(accum));
      if (data_parallel && micro == accum - 1) {
        for (const auto& b : buckets) b->begin();
        const Tensor seed_grad;  // undefined: d root / d root = 1
        autograd::backward(std::span<const Tensor>(&root, 1), std::span<const Tensor>(&seed_grad, 1), false,
                           ready_hook);
      } else {
        root.backward();
      }
      step_loss += loss.item() / double(accum);
      for (const auto& a : ctx.aux_losses()) step_aux["aux." + a.name] += a.value.item() / double(accum);
      for (const auto& [name, value] : ctx.metrics()) step_metrics[name] += value / double(accum);
      // Padding is not throughput: a padded layout counts its documents' tokens only. Every
      // rank counts the global batch: tokens/s is the job's.
      state.window_tokens += global.inputs.numel() - global.padding;
      state.tokens_total += global.inputs.numel() - global.padding;
    }
    double comm_seconds = 0;
    if (data_parallel) {
      for (const auto& b : buckets) b->finish();
      const Clock::time_point exchange_start = Clock::now();
      StepValues local;
      local.sums["loss"] = step_loss;
      for (const auto& [name, value] : step_aux) local.means[name] = value;
      for (const auto& [name, value] : step_metrics) local.means["metric." + name] = value;
      std::map<std::string, double> combined = combine_over_ranks(*group, local);
      step_loss = combined["loss"];
      step_aux.clear();
      step_metrics.clear();
      for (const auto& [name, value] : combined) {
        if (name.rfind("aux.", 0) == 0) step_aux[name] = value;
        if (name.rfind("metric.", 0) == 0) step_metrics[name.substr(7)] = value;
      }
      comm_seconds = seconds_since(exchange_start);
      for (const auto& b : buckets) comm_seconds += b->exposed_seconds();
      if (!std::isfinite(step_loss)) throw diverged_loss(step, step_loss, batch);
    }
    for (const auto& [name, value] : step_aux) state.window_extra[name] += value;
    for (const auto& [name, value] : step_metrics) {
      const std::string key = "metric." + name;
      const auto it = state.window_extra.find(key);
      switch (reduction(name)) {
        case MetricReduce::mean:
        case MetricReduce::sum:
          state.window_extra[key] += value;
          break;
        case MetricReduce::max:
          state.window_extra[key] = it == state.window_extra.end() ? value : std::max(it->second, value);
          break;
        case MetricReduce::last:
          state.window_extra[key] = value;
          break;
      }
    }
    const double grad_norm = sharded ? clip_sharded_grad_norm(named, grad_clip) : clip_grad_norm(params, grad_clip);
    if (!std::isfinite(grad_norm)) {
      const std::string name = first_nonfinite_gradient(model);
      throw TrainingDivergedError("training diverged at step " + std::to_string(step) +
                                      ": the gradient norm is not finite" +
                                      (name.empty() ? "" : "; the first non-finite gradient is " + name + "'s"),
                                  "lower train.lr or check the components' backward functions (strata check); the "
                                  "last checkpoint written before this step is kept");
    }
    optimizer.step(lr);
    model.after_step();
    state.step = step;
    if (data_parallel && replica_check_every > 0 && (step % replica_check_every == 0 || step == steps)) {
      const Clock::time_point check_start = Clock::now();
      check_replicas(*group, model, step);
      comm_seconds += seconds_since(check_start);
    }

    const double step_seconds = seconds_since(step_start);
    state.train_seconds += step_seconds;
    state.window_seconds += step_seconds;
    state.window_loss += step_loss;
    if (data_parallel) state.window_extra["comm_seconds"] += comm_seconds;
    ++state.window_steps;
    if (callbacks.on_step)
      callbacks.on_step(step, step_loss, double(state.tokens_total) / std::max(state.train_seconds, 1e-9));

    const bool eval_now = step == steps || (eval_every > 0 && step % eval_every == 0);
    if (step % log_every == 0 || eval_now) {
      MetricsRecord record;
      record.step = step;
      const double mean_loss = state.window_loss / double(state.window_steps);
      record.values.emplace_back("loss", mean_loss);
      record.values.emplace_back("lr", lr);
      record.values.emplace_back("tokens_per_s", double(state.window_tokens) / std::max(state.window_seconds, 1e-9));
      record.values.emplace_back("grad_norm", grad_norm);
      for (const auto& [name, acc] : state.window_extra) {
        const bool mean = name.rfind("metric.", 0) != 0 || reduction(name.substr(7)) == MetricReduce::mean;
        record.values.emplace_back(name, mean ? acc / double(state.window_steps) : acc);
      }
      // Rank 0's share of step time spent communicating (not hidden behind the backward).
      if (const auto it = state.window_extra.find("comm_seconds"); it != state.window_extra.end())
        record.values.emplace_back("comm_fraction", it->second / std::max(state.window_seconds, 1e-9));
      if (eval_now) {
        const EvalResult r = evaluate(model, task, eval_batches, eval_bs, group);
        record.values.emplace_back("eval_loss", r.loss);
        record.values.emplace_back("eval_accuracy", r.accuracy);
        if (task.reports_perplexity()) record.values.emplace_back("eval_perplexity", r.perplexity);
        summary.final_eval = state.last_eval = r;
      }
      summary.final_train_loss = state.last_train_loss = mean_loss;
      if (callbacks.on_record) callbacks.on_record(record);
      state.window_loss = 0;
      state.window_steps = 0;
      state.window_tokens = 0;
      state.window_seconds = 0;
      state.window_extra.clear();
    }
    bool stop = step < steps && callbacks.stop_requested && callbacks.stop_requested();
    if (data_parallel && step < steps) {
      // Stop together: a signal or a failed write on one rank stops every rank after this step.
      double any = stop ? 1.0 : 0.0;
      group->all_reduce_max(std::span<double>(&any, 1));
      stop = any > 0;
    }
    if (step == steps || stop || (checkpoint_every > 0 && step % checkpoint_every == 0)) checkpoint();
    if (stop) {
      summary.interrupted = true;
      break;
    }
  }
  summary.steps = state.step;
  summary.seconds = seconds_since(start);
  summary.tokens_per_s = double(state.tokens_total) / std::max(state.train_seconds, 1e-9);
  return summary;
}

}  // namespace strata
