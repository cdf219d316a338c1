#include "strata/experiment.h"

#include <algorithm>
#include <sstream>

#include "config/toml_config.h"
#include "strata/plugin_loader.h"

namespace strata {

namespace fs = std::filesystem;

const ConfigSchema& model_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    s.integer("d_model", 128, "width of the residual stream").range(1, 1 << 16);
    s.integer("n_layers", 2, "number of blocks").range(1, 4096);
    s.integer("vocab_size", 0, "0: the task's vocabulary; larger values pad the embedding").range(0, 1 << 24);
    s.string("norm", "rmsnorm", "normalisation before each mixer/ffn and at the end").one_of({"rmsnorm", "layernorm"});
    s.number("norm_eps", 1e-5, "epsilon of the norms").greater_than(0);
    s.boolean("tie_embeddings", true, "LM head shares the embedding matrix");
    s.number("init_std", 0.02, "std of the embedding (and untied head) initialisation").greater_than(0);
    s.number("embedding_multiplier", 1.0, "the embeddings are multiplied by this (Granite's embedding_multiplier)")
        .greater_than(0);
    s.number("logits_scaling", 1.0, "the logits are divided by this (Granite's logits_scaling)").greater_than(0);
    s.component("stack", ComponentKind::stack, "pattern", "which mixer and ffn each layer uses");
    s.component("block", ComponentKind::block, "prenorm", "how each layer combines its mixer and ffn with norms and residuals");
    s.component_map("mixer", ComponentKind::mixer, "named mixer entries: [model.mixer.NAME] type = ...");
    s.component_map("ffn", ComponentKind::ffn, "named ffn entries: [model.ffn.NAME] type = ...");
    return s;
  }();
  return schema;
}

const ConfigSchema& train_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    s.integer("steps", 200, "optimizer steps").range(1, std::int64_t(1) << 40);
    s.integer("batch_size", 16, "sequences per micro-batch (per rank under mpirun: the global batch is ranks x this)")
        .range(1, 1 << 20);
    s.integer("grad_accum", 1, "micro-batches per optimizer step (gradients are averaged)").range(1, 1 << 16);
    s.number("lr", 3e-3, "peak learning rate").greater_than(0).at_most(10);
    s.string("schedule", "cosine", "decay after warmup").one_of({"cosine", "linear", "constant"});
    s.integer("warmup_steps", 0, "linear warmup from 0 to lr").at_least(0);
    s.number("min_lr_ratio", 0.1, "final lr as a fraction of lr (cosine, linear)").range(0, 1);
    s.integer("schedule_steps", 0,
              "steps the learning-rate schedule spans (0: steps); a resumed run keeps its checkpoint's span "
              "unless this is set")
        .range(0, std::int64_t(1) << 40);
    s.component("optimizer", ComponentKind::optimizer, "adamw", "the update rule and its keys ([train.optimizer])");
    s.number("grad_clip", 1.0, "clip the global gradient norm to this; 0 disables").at_least(0);
    s.integer("eval_every", 100, "evaluate every N steps (and at the end); 0: only at the end").at_least(0);
    s.integer("eval_batches", 4, "batches of the fixed evaluation set").range(1, 1 << 20);
    s.integer("eval_batch_size", 0, "0: batch_size").at_least(0);
    s.integer("log_every", 10, "log a metrics line every N steps").range(1, 1 << 30);
    s.integer("seed", 0, "seeds initialisation and training data").at_least(0);
    s.integer("threads", 0, "CPU threads; 0: OMP_NUM_THREADS or all cores").range(0, 1024);
    s.string("precision", "f32",
             "matrix products in f32, or bf16 mixed precision: bf16 operands, f32 accumulation, f32 weights and "
             "optimizer state; or tf32: operands rounded to TF32, GPU tensor cores (docs/precision.md)")
        .one_of({"f32", "bf16", "tf32"});
    s.string("device", "cpu",
             "where the model trains and evaluates: cpu, cuda (the first GPU) or cuda:N; checkpoints do not depend "
             "on it (docs/cuda.md)");
    s.integer("checkpoint_every", 0, "write the run's checkpoint every N steps (0: only at the end)").at_least(0);
    s.integer("keep_checkpoints", 0,
              "also keep the last N checkpoints as checkpoints/step-NNNNNN (0: only the latest, checkpoint/)")
        .at_least(0);
    s.number("bucket_mib", 25, "data parallel (mpirun): gradients are summed over the ranks in buckets of this size, "
                               "overlapped with the backward (docs/distributed.md)")
        .greater_than(0);
    s.integer("ranks_per_run", 0,
              "under mpirun: ranks each run trains on, data parallel; 0: a single run takes every rank of the job, "
              "a sweep gives each variant one rank (docs/distributed.md)")
        .range(0, 1 << 20);
    s.integer("replica_check_every", 100,
              "data parallel (mpirun): compare a hash of every rank's parameters every N steps and stop when they "
              "differ (0: never)")
        .at_least(0);
    return s;
  }();
  return schema;
}

const ConfigSchema& plugins_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    s.string_list("paths", {}, "plugin folders or files (relative: to this file), searched after the defaults");
    return s;
  }();
  return schema;
}

const ConfigSchema& run_schema() {
  static const ConfigSchema schema = [] {
    ConfigSchema s;
    s.string("name", "", "run folder name; \"\": the experiment file's name and a timestamp");
    s.string("out_dir", "runs", "parent folder of run folders (relative: to the current folder)");
    return s;
  }();
  return schema;
}

namespace {

// [sweep] is read by read_sweep_axes (sweep.h); each variant is validated as an experiment.
const std::vector<std::string> kSections = {"model", "task", "train", "plugins", "run", "sweep"};

Config validate_section(const toml::table& root, const std::string& name, const ConfigSchema& schema,
                        const fs::path& file, const ComponentRegistry& registry) {
  const toml::node* node = root.get(name);
  if (node != nullptr && !node->is_table()) {
    throw ConfigError(detail::location_of(node->source()), name, "must be a table: write [" + name + "]");
  }
  return detail::validate_table(node ? node->as_table() : nullptr, schema, name, SourceLocation{file.string()},
                                registry);
}

Experiment validate(toml::table root, const fs::path& file, const ExperimentOptions& options,
                    ComponentRegistry& registry) {
  for (const std::string& o : options.overrides) detail::apply_override(root, o);
  for (auto&& [k, v] : root) {
    const std::string name(k.str());
    if (std::find(kSections.begin(), kSections.end(), name) != kSections.end()) continue;
    if (!v.is_table()) {
      std::string owner;
      for (const auto& [section_name, schema] : {std::pair{"model", &model_schema()},
                                                 {"train", &train_schema()},
                                                 {"run", &run_schema()},
                                                 {"plugins", &plugins_schema()}}) {
        if (schema->find(name) != nullptr) owner = section_name;
      }
      throw ConfigError(
          detail::location_of(k.source()), name, "a key outside any section",
          owner.empty() ? "keys belong to a section: " + join_names(kSections) : "put it under [" + owner + "]");
    }
    const std::string near = nearest_name(name, kSections);
    throw ConfigError(detail::location_of(k.source()), name, "unknown section",
                      (near.empty() ? std::string() : "did you mean [" + near + "]? ") +
                          "an experiment has the sections " + join_names(kSections));
  }
  Experiment e;
  e.file = file;
  e.plugins = validate_section(root, "plugins", plugins_schema(), file, registry);

  // Plugins first: they define the component names the other sections use.
  std::vector<fs::path> paths;
  for (const std::string& p : e.plugins.strings("paths")) {
    fs::path path(p);
    if (path.is_relative()) path = file.parent_path() / path;
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      throw e.plugins.error("paths", "plugin path not found: " + path.string(),
                            "relative paths start from the experiment file's folder");
    }
    paths.push_back(path);
  }
  load_experiment_plugins(options, registry, paths);

  e.model = validate_section(root, "model", model_schema(), file, registry);
  e.train = validate_section(root, "train", train_schema(), file, registry);
  e.run = validate_section(root, "run", run_schema(), file, registry);
  // Without [task] the experiment describes a model only (presets, imported models): it can
  // be inspected, loaded and decoded, but not trained.
  if (const toml::node* task = root.get("task")) {
    e.task = detail::validate_component(task, ComponentKind::task, "", "task", SourceLocation{file.string(), 0, 0},
                                        registry);
  }

  if (e.train.integer("warmup_steps") > e.train.integer("steps")) {
    throw e.train.error("warmup_steps", "is larger than steps (" + std::to_string(e.train.integer("steps")) + ")",
                        "warmup must end before training does");
  }
  try {
    parse_device(e.train.string("device"));  // whether this machine has it is checked when a run starts
  } catch (const ValueError& bad) {
    throw e.train.error("device", bad.message(), bad.hint());
  }
  // The built-in adamw's decay is multiplicative: 1 - lr * weight_decay must stay positive.
  if (const Config& optimizer = e.train.component("optimizer");
      optimizer.type() == "adamw" && e.train.number("lr") * optimizer.number("weight_decay") >= 1.0) {
    throw optimizer.error("weight_decay",
                        "lr * weight_decay >= 1 would flip the sign of the weights at every step (AdamW multiplies "
                        "them by 1 - lr * weight_decay)",
                        "lower weight_decay or lr");
  }
  return e;
}

}  // namespace

void load_experiment_plugins(const ExperimentOptions& options, ComponentRegistry& registry,
                             const std::vector<fs::path>& paths) {
  PluginSearch search;
  search.use_defaults = options.default_plugin_folders;
  search.use_environment = options.default_plugin_folders;
  search.extra = paths;
  for (const fs::path& p : options.plugin_paths) search.extra.push_back(p);
  load_plugins(registry, search);
}

Experiment Experiment::load(const fs::path& file, const ExperimentOptions& options, ComponentRegistry& registry) {
  return validate(detail::parse_toml_file(file), file, options, registry);
}

Experiment Experiment::from_string(const std::string& text, const std::string& name, const ExperimentOptions& options,
                                   ComponentRegistry& registry) {
  return validate(detail::parse_toml_text(text, name), fs::path(name), options, registry);
}

std::shared_ptr<Task> make_experiment_task(const Experiment& e, const BuildContext& ctx, ModelDims& dims) {
  if (!e.has_task()) {
    if (e.model.integer("vocab_size") == 0)
      throw e.model.error("vocab_size", "is 0 (take the task's vocabulary), but the experiment has no [task]",
                          "set [model] vocab_size, or add a [task]");
    return nullptr;
  }
  auto task = ctx.registry->create<Task>(e.task, ctx);
  dims.vocab_size = task->vocab_size();
  dims.max_seq_len = task->seq_len();
  return task;
}

ExperimentObjects build_experiment(const Experiment& e, const ComponentRegistry& registry, DType dtype,
                                   Communicator* data_parallel) {
  Generator gen(static_cast<std::uint64_t>(e.train.integer("seed")));
  BuildContext ctx;
  ctx.dtype = dtype;
  ctx.gen = &gen;
  ctx.registry = &registry;
  ExperimentObjects out;
  ModelDims dims;
  out.task = make_experiment_task(e, ctx, dims);
  out.model = Model::build(e.model, registry, dims, gen, dtype, data_parallel);
  return out;
}

std::shared_ptr<Optimizer> make_optimizer(const Experiment& e, const ComponentRegistry& registry, const Model& model) {
  // Optimizers draw nothing at construction; the generator only satisfies the contract.
  Generator unused(0);
  BuildContext ctx;
  ctx.dims = model.dims();
  ctx.gen = &unused;
  ctx.registry = &registry;
  std::shared_ptr<Optimizer> optimizer = registry.create<Optimizer>(e.train.component("optimizer"), ctx);
  optimizer->set_parameters(model.named_parameters());
  return optimizer;
}

std::string Experiment::resolved_toml() const {
  std::ostringstream os;
  os << "# resolved from " << file.string() << " (keys left at their defaults are shown as comments)\n";
  for (const Config* c : {&model, &task, &train, &plugins, &run})
    if (c != &task || has_task()) c->write_toml(os);
  return os.str();
}

}  // namespace strata
