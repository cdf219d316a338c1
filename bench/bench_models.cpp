// Whole-model timings for one experiment file: a full training step (forward, next-token
// loss plus the components' auxiliary losses, backward, gradient clipping, AdamW) on random
// tokens, and greedy decoding after a prompt. Prints one JSON object, so that
// bench/pytorch/compare_models.py can interleave it with the same model in PyTorch.
//
//   bench_models bench/models/mamba.toml --batch 8 --seq-len 256 --steps 5 [--set K=V]...
//
// Times are per step (the median of --steps after --warmup untimed steps); tokens/s is
// batch x seq_len / median step time. Peak memory is the allocator's peak of live tensor
// bytes over the timed steps (what the model needs, without the allocator's cache); the
// process's peak resident set (max_rss_mib) is reported too, for comparison with PyTorch.
#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <nlohmann/json.hpp>

#include "strata/allocator.h"
#include "strata/error.h"
#include "strata/experiment.h"
#include "strata/generate.h"
#include "strata/ops.h"
#include "strata/precision.h"
#include "strata/optim.h"
#include "strata/runtime.h"
#include "timing.h"

using namespace strata;

namespace {

// The process's peak resident set (VmHWM). Not getrusage's ru_maxrss: Linux keeps that
// across execve, so a child of a large process (a Python driver with torch loaded) would
// report its parent's peak.
double peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;  // kB
  return 0;
}

}  // namespace

using bench::Clock;
using bench::median;
using bench::ms_since;

int main(int argc, char** argv) {
  CLI::App app{"time a training step and decoding of an experiment's model (JSON on stdout)"};
  std::string file;
  std::vector<std::string> overrides;
  std::int64_t batch = 8, seq_len = 256, steps = 5, warmup = 2, decode_batch = 1, prompt_len = 64, new_tokens = 64;
  int threads = 0;
  std::string device_name = "cpu";
  app.add_option("file", file, "experiment file (model-only is enough: [model] vocab_size)")->required();
  app.add_option("--set", overrides, "override a config value (repeatable)")->allow_extra_args(false);
  app.add_option("--batch", batch, "training sequences per step");
  app.add_option("--seq-len", seq_len, "training tokens per sequence");
  app.add_option("--steps", steps, "timed training steps")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed training steps first");
  app.add_option("--decode-batch", decode_batch, "sequences decoded together");
  app.add_option("--prompt-len", prompt_len, "prompt tokens before decoding");
  app.add_option("--new-tokens", new_tokens, "tokens decoded one at a time (0: no decoding)");
  app.add_option("--device", device_name, "cpu, cuda or cuda:N (training and decoding)");
  app.add_option("--threads", threads, "CPU threads (0: train.threads, else OMP_NUM_THREADS or all cores)");
  CLI11_PARSE(app, argc, argv);
  apply_cpu_simd_environment();

  try {
    ComponentRegistry registry;
    register_builtin_components(registry);
    ExperimentOptions options;
    options.overrides = overrides;
    const Experiment e = Experiment::load(file, options, registry);
    if (threads > 0)
      set_num_threads(threads);
    else if (e.train.integer("threads") > 0)
      set_num_threads(static_cast<int>(e.train.integer("threads")));
    ExperimentObjects objects = build_experiment(e, registry);
    Model& model = *objects.model;
    const Device device = parse_device(device_name);
    model.to(device);  // before the optimizer makes its state
    const PrecisionGuard precision(parse_precision(e.train.string("precision")));
    const std::int64_t V = model.dims().vocab_size;

    const std::shared_ptr<Optimizer> optimizer_owner = make_optimizer(e, registry, model);
    Optimizer& optimizer = *optimizer_owner;
    const std::vector<Tensor> params = model.parameters();
    Generator data(1), noise(2);
    Allocator& memory = allocator_for(device);
    std::vector<double> step_ms;
    double loss_value = 0;
    model.train(true);
    for (std::int64_t s = 0; s < warmup + steps; ++s) {
      const Tensor ids = Tensor::randint({batch, seq_len + 1}, 0, V, data);
      const Tensor inputs = ids.slice(1, 0, seq_len).contiguous().to(device);
      const Tensor targets = ids.slice(1, 1, seq_len + 1).contiguous().to(device);
      if (s == warmup) memory.reset_peak();
      const auto start = Clock::now();
      model.zero_grad();
      StepContext ctx(true, &noise);
      Tensor loss = cross_entropy(model.forward(inputs, ctx), targets);
      loss_value = loss.item();
      if (const Tensor aux = ctx.total_aux_loss(); aux.defined()) loss = add(loss, aux);
      loss.backward();
      clip_grad_norm(params, e.train.number("grad_clip"));
      optimizer.step(e.train.number("lr"));
      model.after_step();
      synchronize(device);  // a GPU step ends when its last kernel does
      if (s >= warmup) step_ms.push_back(ms_since(start));
    }
    const double train_peak_mib = double(memory.stats().peak_allocated_bytes) / double(1 << 20);
    const double train_ms = median(step_ms);

    nlohmann::json out{{"framework", "strata"},
                       {"file", file},
                       {"threads", num_threads()},
                       {"device", device.to_string()},
                       {"precision", e.train.string("precision")},
                       {"parameters", model.num_parameters()},
                       {"batch", batch},
                       {"seq_len", seq_len},
                       {"train_step_ms", train_ms},
                       {"train_step_ms_all", step_ms},
                       {"train_tokens_per_s", double(batch * seq_len) / (train_ms / 1000.0)},
                       {"train_peak_mib", train_peak_mib},
                       {"loss", loss_value}};
    if (new_tokens > 0) {
      memory.reset_peak();
      GenerateOptions g;
      g.max_new_tokens = new_tokens + 1;  // the first new token comes from the prompt chunk
      const Tensor prompt = Tensor::randint({decode_batch, prompt_len}, 0, V, data);
      Generator sampling(3);
      const GenerateResult r = generate(model, prompt, g, sampling);
      out["decode_batch"] = decode_batch;
      out["prompt_len"] = prompt_len;
      out["prefill_ms"] = r.prefill_seconds * 1000.0;
      out["decode_tokens"] = r.decoded_tokens;
      out["decode_tokens_per_s"] = double(r.decoded_tokens) / std::max(r.decode_seconds, 1e-12);
      out["decode_ms_per_step"] = r.decode_seconds * 1000.0 / double(new_tokens);
      out["cache_bytes"] = r.cache_bytes;
      out["decode_peak_mib"] = double(memory.stats().peak_allocated_bytes) / double(1 << 20);
    }
    out["max_rss_mib"] = peak_rss_mib();
    std::cout << out.dump() << "\n";
    return 0;
  } catch (const Error& err) {
    std::cerr << "bench_models: " << err.what() << "\n";
    return 2;
  }
}
