// Packed vs padded training on documents of mixed lengths: the same experiment (a text task
// with documents = lines | paragraphs | separator) with layout = "packed" and "padded",
// training steps of the two interleaved in one process, so that the ratio is measured side
// by side. A padded row holds one document and pads the rest; a packed row runs through
// several, kept apart by the model (strata/packing.h). Prints one JSON object.
//
//   bench_packing bench/models/packing_attention.toml --steps 10 [--set K=V]...
//
// Document tokens/s counts the tokens that belong to documents (not padding), per median
// step time; padding_fraction is the padded layout's share of padding.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <nlohmann/json.hpp>

#include "strata/error.h"
#include "strata/experiment.h"
#include "strata/ops.h"
#include "strata/optim.h"
#include "strata/packing.h"
#include "strata/runtime.h"
#include "timing.h"

using namespace strata;
using bench::Clock;
using bench::median;
using bench::ms_since;

namespace {

// One layout's model, optimizer and data, and what its steps measured.
struct Arm {
  std::string layout;
  Experiment experiment;
  ExperimentObjects objects;
  std::shared_ptr<Optimizer> optimizer;
  Generator data{1}, noise{2};
  std::vector<double> step_ms;
  std::int64_t document_tokens = 0, padding = 0, documents = 0;
  double last_loss = 0;

  void step(std::int64_t batch, bool timed) {
    Model& model = *objects.model;
    const Batch b = objects.task->train_batch(batch, data);
    const auto start = Clock::now();
    model.zero_grad();
    StepContext ctx(true, &noise);
    ctx.set_sequence_starts(b.sequence_starts);
    Tensor loss = cross_entropy(model.forward(b.inputs, ctx), b.targets);
    last_loss = loss.item();
    if (const Tensor aux = ctx.total_aux_loss(); aux.defined()) loss = add(loss, aux);
    loss.backward();
    clip_grad_norm(model.parameters(), experiment.train.number("grad_clip"));
    optimizer->step(experiment.train.number("lr"));
    model.after_step();
    if (!timed) return;
    step_ms.push_back(ms_since(start));
    document_tokens += b.inputs.numel() - b.padding;
    padding += b.padding;
    documents += b.sequence_starts.defined() ? std::int64_t(sequence_ids(b.sequence_starts).back() + 1) : batch;
  }

  nlohmann::json report(std::int64_t steps) const {
    const double ms = median(step_ms), per_step = double(document_tokens) / double(steps);
    return {{"layout", layout},
            {"step_ms", ms},
            {"step_ms_all", step_ms},
            {"document_tokens_per_step", per_step},
            {"documents_per_step", double(documents) / double(steps)},
            {"padding_fraction", double(padding) / double(document_tokens + padding)},
            {"document_tokens_per_s", per_step / (ms / 1000.0)},
            {"loss", last_loss}};
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"packed vs padded training on mixed-length documents, side by side (JSON on stdout)"};
  std::string file;
  std::vector<std::string> overrides;
  std::int64_t steps = 10, warmup = 2, batch = 0;
  int threads = 0;
  app.add_option("file", file, "experiment file with a text task over documents")->required();
  app.add_option("--set", overrides, "override a config value (repeatable)")->allow_extra_args(false);
  app.add_option("--steps", steps, "timed steps of each layout")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed steps of each layout first");
  app.add_option("--batch", batch, "rows per step (0: train.batch_size)");
  app.add_option("--threads", threads, "CPU threads (0: OMP_NUM_THREADS or all cores)");
  CLI11_PARSE(app, argc, argv);
  apply_cpu_simd_environment();
  try {
    if (threads > 0) set_num_threads(threads);
    ComponentRegistry registry;
    register_builtin_components(registry);
    std::vector<std::unique_ptr<Arm>> arms;
    for (const char* layout : {"packed", "padded"}) {
      auto arm = std::make_unique<Arm>();
      arm->layout = layout;
      ExperimentOptions options;
      options.overrides = overrides;
      options.overrides.push_back(std::string("task.layout=\"") + layout + "\"");
      arm->experiment = Experiment::load(file, options, registry);
      arm->objects = build_experiment(arm->experiment, registry);
      arm->optimizer = make_optimizer(arm->experiment, registry, *arm->objects.model);
      arm->objects.model->train(true);
      arms.push_back(std::move(arm));
    }
    if (batch == 0) batch = arms[0]->experiment.train.integer("batch_size");
    for (std::int64_t s = 0; s < warmup + steps; ++s)
      for (auto& arm : arms) arm->step(batch, s >= warmup);
    const nlohmann::json packed = arms[0]->report(steps), padded = arms[1]->report(steps);
    nlohmann::json out{{"file", file},
                       {"threads", num_threads()},
                       {"batch", batch},
                       {"seq_len", arms[0]->objects.task->seq_len()},
                       {"parameters", arms[0]->objects.model->num_parameters()},
                       {"packed", packed},
                       {"padded", padded},
                       {"packed_over_padded_document_tokens_per_s",
                        packed["document_tokens_per_s"].get<double>() / padded["document_tokens_per_s"].get<double>()}};
    std::cout << out.dump() << "\n";
    return 0;
  } catch (const Error& err) {
    std::cerr << "bench_packing: " << err.what() << "\n";
    return 2;
  }
}
