// strata: train, inspect and check models composed from plugins in TOML experiment files.
#include <csignal>
#include <iostream>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/config.h"
#include "strata/distributed.h"
#include "strata/error.h"
#include "strata/folder_lock.h"
#include "strata/memory_guard.h"
#include "strata/plugin_loader.h"
#include "strata/runtime.h"
#include "strata/trainer.h"

namespace strata::cli {

void CommonOptions::add_plugin_flags(CLI::App& app) {
  app.add_option("--plugin-path", plugin_paths,
                 "plugin folder or file, searched after the defaults and STRATA_PLUGIN_PATH (repeatable)")
      ->allow_extra_args(false);  // one value per flag: `--plugin-path D file.toml` keeps the file
  app.add_flag("--no-default-plugins", no_default_plugins,
               "do not search the default plugin folders or STRATA_PLUGIN_PATH");
}

void CommonOptions::add_set_flag(CLI::App& app) {
  app.add_option("--set", overrides, "override a config value: --set train.lr=0.001 (repeatable)")
      ->allow_extra_args(false);
}

void add_checkpoint_check_flags(CLI::App& app, CheckpointChecks& checks) {
  app.add_flag("--allow-nonfinite", checks.allow_nonfinite,
               "load a checkpoint holding NaN or infinite weights (for debugging a diverged run)");
  app.add_flag("--unverified", checks.allow_unverified,
               "load a checkpoint whose manifest.json is missing or does not match its files, or whose files lack "
               "tensor digests (an older strata, or put together by hand); tensors with a digest are still verified");
  app.add_flag_callback(
      "--no-memory-check", [&checks] { checks.check_memory = false; },
      "do not refuse a model, batch or cache estimated not to fit in the available memory");
}

ExperimentOptions CommonOptions::experiment_options() const {
  ExperimentOptions o;
  o.overrides = overrides;
  for (const auto& p : plugin_paths) o.plugin_paths.emplace_back(p);
  o.default_plugin_folders = !no_default_plugins;
  return o;
}

PluginSearch CommonOptions::plugin_search() const {
  PluginSearch s;
  s.use_defaults = !no_default_plugins;
  s.use_environment = !no_default_plugins;
  for (const auto& p : plugin_paths) s.extra.emplace_back(p);
  return s;
}

}  // namespace strata::cli

namespace {

// Errors in what the user gave (exit code 2): the command line, an experiment, a data or
// checkpoint file, a run folder in use, a request that cannot fit in memory.
bool is_bad_input(const strata::Error& e) {
  using namespace strata;
  return dynamic_cast<const ConfigError*>(&e) || dynamic_cast<const FileFormatError*>(&e) ||
         dynamic_cast<const cli::UsageError*>(&e) || dynamic_cast<const InsufficientMemoryError*>(&e) ||
         dynamic_cast<const FolderBusyError*>(&e);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace strata;
  using namespace strata::cli;
  // Past a file size limit (ulimit -f) a write then fails with an error strata reports,
  // like a full disk, instead of the signal killing the process mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{
      "strata: compose sequence models from plugins in TOML experiment files, train, inspect and check them.\n"
      "Exit codes: 0 success, 1 internal error or failed run, 2 bad input (command line, experiment, plugin or "
      "data file), 3 failing checks (strata check), 130 interrupted by SIGINT, 143 by SIGTERM and 138 by SIGUSR1, each after writing a checkpoint."};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] { return build_info(); });

  RunOptions run;
  CLI::App* run_app = app.add_subcommand("run", "train the model an experiment file describes");
  run_app->add_option("file", run.file, "experiment file (TOML); optional with --resume");
  run_app->add_option("--out", run.out, "run folder (default: runs/<name>-<timestamp>); a sweep's parent folder");
  run_app->add_option("--resume", run.resume, "continue the run in this folder from its checkpoint")
      ->excludes(run_app->get_option("--out"));
  run_app->add_option("--sweep", run.sweeps, "add a sweep axis: --sweep model.d_model=32,64 (repeatable)")
      ->allow_extra_args(false);
  run_app->add_option("--seeds", run.seeds,
                      "run every variant with each of these seeds: --seeds 0,1,2 (replaces [sweep] seeds); the "
                      "sweep report gives means and 95% intervals over them")
      ->excludes(run_app->get_option("--resume"));
  run_app->add_flag("--quiet", run.quiet, "print only the final metrics");
  run_app->add_option("--device", run.device,
                      "train on cpu, cuda (the first GPU) or cuda:N (sets train.device; a resumed run may change it)");
  run_app->add_flag("--overwrite", run.overwrite,
                    "replace the run (or sweep) already in --out: its files are deleted first");
  add_checkpoint_check_flags(*run_app, run.checks);
  run.common.add_set_flag(*run_app);
  run.common.add_plugin_flags(*run_app);

  CompareOptions compare;
  CLI::App* compare_app = app.add_subcommand(
      "compare", "compare runs and sweeps from different days, files or machines: means and 95% intervals over seeds, "
                 "which differences exceed seed noise, and an HTML report");
  compare_app->add_option("folders", compare.folders, "run folders and sweep folders (the first run's variant is the "
                                                      "reference)")
      ->required();
  compare_app->add_option("--out", compare.out, "the HTML report to write (default comparison.html)");

  InspectOptions inspect;
  CLI::App* inspect_app =
      app.add_subcommand("inspect", "print the per-layer plan and parameter counts of an experiment's model");
  inspect_app->add_option("file", inspect.file, "experiment file (TOML) or checkpoint folder")->required();
  inspect_app->add_option("--context", inspect.context,
                          "tokens of history: adds the decode-cache size and the attention FLOPs at that length")
      ->check(CLI::Range(std::int64_t(0), std::int64_t(1) << 40));
  inspect_app->add_option("--dtype", inspect.dtype,
                          "element type of the decode cache (with --memory also of the weights and activations): "
                          "f32, bf16, f16, f64")
      ->check(CLI::IsMember({"f32", "bf16", "f16", "f64"}));
  inspect_app->add_flag("--json", inspect.json, "print the plan as JSON (params_total, params_active, cache_bytes, ...)");
  auto* memory = inspect_app->add_option("--memory", inspect.memory,
                                         "plan for this much memory (128GiB, 96GB, ...): whether decoding and a training "
                                         "step fit, and the longest context that does");
  inspect_app->add_option("--target", inspect.target, "plan for a named machine: dgx-spark (128 GB shared by CPU and GPU)")
      ->excludes(memory);
  inspect_app->add_option("--batch", inspect.batch, "with --memory/--target: sequences per step or decoded together")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 30));
  inspect_app->add_option("--seq-len", inspect.seq_len,
                          "with --memory/--target: training sequence length (default --context, else the task's, "
                          "else 4096)")
      ->check(CLI::Range(std::int64_t(1), std::int64_t(1) << 40));
  inspect.common.add_set_flag(*inspect_app);
  inspect.common.add_plugin_flags(*inspect_app);

  GenerateCommandOptions gen;
  CLI::App* generate_app = app.add_subcommand(
      "generate", "continue a prompt from a checkpoint, decoding token by token through the layers' caches");
  generate_app->add_option("checkpoint", gen.checkpoint, "checkpoint folder (e.g. runs/NAME/checkpoint)")->required();
  CLI::Option* prompt_option = generate_app->add_option("--prompt", gen.prompt,
                           "token ids (\"5 3 9\", sequences separated by ';') or a file of ids (.npy, .safetensors, "
                           "text)");
  generate_app->add_option("--text", gen.text,
                           "the prompt as text, encoded by the model's tokenizer (its checkpoint's tokenizer.json or "
                           "tokenizer.model, or its text task's); the continuation is printed as text")
      ->excludes(prompt_option);
  generate_app->add_option("--tokenizer", gen.tokenizer, "with --text: this tokenizer file or folder instead");
  generate_app->add_option("--max-new-tokens", gen.generate.max_new_tokens, "tokens to generate (default 32)")
      ->check(CLI::Range(std::int64_t(0), std::int64_t(1) << 30));
  generate_app->add_option("--temperature", gen.generate.sampling.temperature, "0: greedy (default); else sample")
      ->check(CLI::Range(0.0, 1e6));
  generate_app->add_option("--top-k", gen.generate.sampling.top_k, "sample among the k most likely tokens (0: all)")
      ->check(CLI::Range(std::int64_t(0), std::int64_t(1) << 40));
  generate_app->add_option("--top-p", gen.generate.sampling.top_p, "nucleus sampling: keep probability mass p (1: all)")
      ->check(CLI::Range(1e-9, 1.0));
  generate_app->add_option("--stop-token", gen.generate.stop_token, "stop a sequence after this token (-1: never)");
  generate_app->add_option("--seed", gen.seed, "sampling seed (default 0)");
  generate_app->add_flag("--json", gen.json, "print tokens, cache bytes per layer type and timings as JSON");
  generate_app->add_option("--device", gen.device, "decode on cpu (default), cuda (the first GPU) or cuda:N");
  add_checkpoint_check_flags(*generate_app, gen.checks);
  gen.common.add_plugin_flags(*generate_app);

  LogitsOptions logits;
  CLI::App* logits_app = app.add_subcommand(
      "logits", "write the logits of every position of token sequences (f32 safetensors) to compare frameworks");
  logits_app->add_option("checkpoint", logits.checkpoint, "checkpoint folder")->required();
  CLI::Option* tokens_option = logits_app->add_option(
      "--tokens", logits.tokens, "token ids: \"5 3 9\", or a .npy/.safetensors/text file of [B, T] ids");
  logits_app->add_option("--text", logits.text, "instead of --tokens: text, encoded by the model's tokenizer")
      ->excludes(tokens_option);
  logits_app->add_option("--tokenizer", logits.tokenizer, "with --text: this tokenizer file or folder instead");
  logits_app->add_option("--out", logits.out, "output .safetensors file (tensors input_ids and logits)")->required();
  add_checkpoint_check_flags(*logits_app, logits.checks);
  logits_app->add_option("--grads", logits.grads,
                         "also write the next-token loss and every parameter's gradient as grad.<name>, named as "
                         "strata names them or in the Hugging Face layout export-hf writes")
      ->check(CLI::IsMember({"strata", "hf"}));
  logits.common.add_plugin_flags(*logits_app);

  TokenizeOptions tokenize;
  CLI::App* tokenize_app = app.add_subcommand(
      "tokenize", "encode text to token ids (or decode ids) with a model's tokenizer.json or tokenizer.model");
  tokenize_app->add_option("tokenizer", tokenize.tokenizer, "tokenizer file, or a model or checkpoint folder")
      ->required();
  CLI::Option* tokenize_text = tokenize_app->add_option("--text", tokenize.text, "text to encode");
  CLI::Option* tokenize_file =
      tokenize_app->add_option("--file", tokenize.file, "a UTF-8 file to encode")->excludes(tokenize_text);
  tokenize_app->add_option("--decode", tokenize.decode, "token ids to decode (\"5 3 9\")")
      ->excludes(tokenize_text)
      ->excludes(tokenize_file);
  tokenize_app->add_flag("--special", tokenize.special,
                         "encode: add the tokens the tokenizer puts around a sequence (BOS); decode: keep special tokens");

  InitOptions init;
  CLI::App* init_app =
      app.add_subcommand("init", "write an experiment's freshly initialised model (train.seed) as a checkpoint");
  init_app->add_option("file", init.file, "experiment file (TOML)")->required();
  init_app->add_option("--out", init.out, "checkpoint folder to write")->required();
  init.common.add_set_flag(*init_app);
  init.common.add_plugin_flags(*init_app);

  EvalOptions eval;
  CLI::App* eval_app = app.add_subcommand(
      "eval", "evaluate a checkpoint on its task's fixed evaluation set, optionally at other sequence lengths");
  eval_app->add_option("checkpoint", eval.checkpoint, "checkpoint folder (e.g. runs/NAME/checkpoint)")->required();
  eval_app->add_option("--seq-len", eval.seq_lens,
                       "evaluate at these task.seq_len values (tasks with a seq_len key): --seq-len 64,256")
      ->delimiter(',');
  eval_app->add_option("--batches", eval.batches, "evaluation batches (default 8)")->check(CLI::Range(1, 1 << 20));
  eval_app->add_option("--batch-size", eval.batch_size, "sequences per batch (default: the run's batch_size)")
      ->check(CLI::Range(1, 1 << 20));
  eval_app->add_flag("--json", eval.json, "print the results as JSON");
  eval_app->add_option("--device", eval.device, "evaluate on cpu (default), cuda (the first GPU) or cuda:N");
  add_checkpoint_check_flags(*eval_app, eval.checks);
  eval.common.add_set_flag(*eval_app);
  eval.common.add_plugin_flags(*eval_app);

  ProfileOptions profile;
  CLI::App* profile_app = app.add_subcommand(
      "profile", "time and memory of a training step and of decoding against the context length, per sweep variant");
  profile_app->add_option("file", profile.file, "experiment file (TOML), usually with [sweep] variants")->required();
  profile_app->add_option("--seq-lens", profile.seq_lens, "context lengths (default 512,1024,2048,4096)")
      ->delimiter(',');
  profile_app->add_option("--batch", profile.batch, "sequences per step (default 1)")->check(CLI::Range(1, 1 << 16));
  profile_app->add_option("--repeats", profile.repeats, "timed training steps per length, median (default 3)")
      ->check(CLI::Range(1, 1000));
  profile_app->add_option("--decode-tokens", profile.decode_tokens, "tokens decoded after the prompt (default 16)")
      ->check(CLI::Range(1, 1 << 20));
  profile_app->add_option("--memory-limit-gib", profile.memory_limit_gib,
                          "skip lengths whose extrapolated training memory exceeds this (default 8)")
      ->check(CLI::Range(0.01, 1e6));
  profile_app->add_option("--time-limit-s", profile.time_limit_s,
                          "skip lengths whose extrapolated training step time exceeds this (default 60)")
      ->check(CLI::Range(0.001, 1e9));
  profile_app->add_option("--out", profile.out, "folder for profile.csv and profile.md");
  profile.common.add_set_flag(*profile_app);
  profile.common.add_plugin_flags(*profile_app);

  ExpertsOptions experts;
  CLI::App* experts_app = app.add_subcommand(
      "experts", "which token ids and positions each MoE layer routes to which experts (detailed_telemetry runs)");
  experts_app->add_option("run", experts.run, "run folder")->required();
  experts_app->add_option("--show", experts.what, "tokens, positions or both (default)")
      ->check(CLI::IsMember({"tokens", "positions", "both"}));
  experts_app->add_option("--from-step", experts.from_step, "sum the logged steps from this one on (default: all)");

  HfOptions import_options;
  CLI::App* import_app = app.add_subcommand(
      "import-hf",
      "convert a local Hugging Face model folder to a strata checkpoint (the architectures the loaded plugins map: "
      "strata plugins lists them)");
  import_app->add_option("folder", import_options.source, "folder with config.json and safetensors weights")
      ->required();
  import_app->add_option("--out", import_options.out, "checkpoint folder to write");
  import_app->add_flag("--explain", import_options.explain,
                       "print how each config.json key is treated (read, or irrelevant and why), import nothing");
  import_options.common.add_plugin_flags(*import_app);

  HfOptions export_options;
  CLI::App* export_app =
      app.add_subcommand("export-hf", "write a strata checkpoint as a Hugging Face model folder (config.json, weights)");
  export_app->add_option("checkpoint", export_options.source, "checkpoint folder")->required();
  export_app->add_option("--out", export_options.out, "folder to write")->required();
  add_checkpoint_check_flags(*export_app, export_options.checks);
  export_options.common.add_plugin_flags(*export_app);

  GgufOptions gguf_options;
  CLI::App* gguf_app = app.add_subcommand(
      "export-gguf", "write a strata checkpoint as a GGUF file for llama.cpp (Llama, Mistral, Mixtral, Qwen2/3, "
                     "Qwen3-MoE, Mamba, Mamba-2, Jamba)");
  gguf_app->add_option("checkpoint", gguf_options.checkpoint, "checkpoint folder")->required();
  gguf_app->add_option("--out", gguf_options.out, "the .gguf file to write")->required();
  gguf_app->add_option("--type", gguf_options.type,
                       "tensor type of the weight matrices: f32, f16 (default), bf16 or q8_0 (norms, biases, routers "
                       "and SSM parameters stay f32)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
  add_checkpoint_check_flags(*gguf_app, gguf_options.checks);
  gguf_options.common.add_plugin_flags(*gguf_app);

  PluginsOptions plugins;
  CLI::App* plugins_app = app.add_subcommand("plugins", "list loaded plugins and every component with its config keys");
  plugins.common.add_plugin_flags(*plugins_app);

  BackendsOptions backends;
  CLI::App* backends_app = app.add_subcommand(
      "backends", "list the backend table (every op's kernels per device and dtype); --check runs the conformance suite");
  backends_app->add_flag("--check", backends.check,
                         "run every entry on every device and dtype against the CPU f64 result (exit 3 on a failure)");
  backends_app->add_option("--op", backends.ops, "only this table entry (repeatable)");
  backends_app->add_option("--dtype", backends.dtypes,
                           "dtypes to check (repeatable; default f32, bf16 (the mixed-precision policy) and f64)")
      ->check(CLI::IsMember({"f32", "bf16", "f64"}));
  backends.common.add_plugin_flags(*backends_app);

  CheckOptions check;
  CLI::App* check_app = app.add_subcommand(
      "check",
      "conformance checks of one component: f64 gradients, causality, decoding equals forward (mixers, ffns, "
      "blocks); convergence and exact resume (optimizers)");
  check_app->add_option("type", check.type, "component name, e.g. shortconv")->required();
  check_app->add_option("--kind", check.kind, "mixer, ffn, block or optimizer (default: the kind with that name)")
      ->check(CLI::IsMember({"mixer", "ffn", "block", "optimizer"}));
  check_app->add_option("--d-model", check.d_model, "model width for the checks")->check(CLI::Range(1, 4096));
  check_app->add_option("--seq-len", check.seq_len, "sequence length for the checks")->check(CLI::Range(1, 4096));
  check_app->add_option("--device", check.device,
                        "also run the component on cuda or cuda:N and compare it with the CPU (f64)");
  check_app->add_option("--set", check.common.overrides, "a key of the component: --set kernel_size=3 (repeatable)")
      ->allow_extra_args(false);
  check.common.add_plugin_flags(*check_app);

  // CLI11 would only say "A subcommand is required" for a misspelt command.
  const auto is_command = [&](const std::string& name) {
    for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
      if (sub->get_name() == name) return true;
    return false;
  };
  if (argc > 1 && argv[1][0] != '-' && !is_command(argv[1])) {
    std::cerr << "strata: unknown command '" << argv[1] << "' (commands: run, compare, eval, init, inspect, generate, logits, experts, profile, import-hf, export-hf, plugins, backends, check)\n"
              << "  hint: strata --help lists them; strata COMMAND --help describes one\n";
    return kBadInput;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kOk : kBadInput;
  }

  try {
    apply_cpu_simd_environment();
  } catch (const Error& e) {
    std::cerr << "strata: error: " << e.what() << "\n";
    return kBadInput;
  }

  // Under mpirun (or srun) `strata run` joins the job's world (strata/distributed.h); any
  // other command, or a run started by hand, is one process.
  std::unique_ptr<Communicator> world;
  std::string who = "strata";  // "strata (rank 1 of 2)" in a multi-rank job
  bool failed_with_error = false;  // an exception ended the command (not a result such as a diverged variant)
  const auto dispatch = [&]() -> int {
    try {
      if (*run_app) {
        world = open_world();
        if (world->size() > 1)
          who = "strata (rank " + std::to_string(world->rank()) + " of " + std::to_string(world->size()) + ")";
        run.world = world.get();
        if (!run.device.empty()) run.common.overrides.push_back("train.device=" + run.device);
        return run_command(run);
      }
      if (*inspect_app) return inspect_command(inspect);
      if (*compare_app) return compare_command(compare);
      if (*plugins_app) return plugins_command(plugins);
      if (*backends_app) return backends_command(backends);
      if (*generate_app) return generate_command(gen);
      if (*eval_app) return eval_command(eval);
      if (*experts_app) return experts_command(experts);
      if (*profile_app) return profile_command(profile);
      if (*logits_app) return logits_command(logits);
      if (*init_app) return init_command(init);
      if (*tokenize_app) return tokenize_command(tokenize);
      if (*import_app) return import_hf_command(import_options);
      if (*export_app) return export_hf_command(export_options);
      if (*gguf_app) return export_gguf_command(gguf_options);
      if (*check_app) return check_command(check);
    } catch (const PluginError& e) {
      failed_with_error = true;
      std::cerr << who << ": plugin error: " << e.what() << "\n";
      return kBadInput;
    } catch (const TrainingDivergedError& e) {
      failed_with_error = true;
      std::cerr << who << ": training failed: " << e.what() << "\n";
      return kInternalError;
    } catch (const Error& e) {
      failed_with_error = true;
      std::cerr << who << ": error: " << e.what() << "\n";
      return is_bad_input(e) ? kBadInput : kInternalError;
    } catch (const std::exception& e) {
      failed_with_error = true;
      std::cerr << who << ": internal error: " << e.what() << "\n";
      return kInternalError;
    }
    return kOk;
  };
  const int code = dispatch();
  // A rank that failed ends the whole job: the others may be waiting for it in a collective.
  if (failed_with_error && world && world->size() > 1) {
    std::cerr.flush();
    world->abort(code);
  }
  return code;
}

