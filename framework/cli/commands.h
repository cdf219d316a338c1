#pragma once
// The strata command line: one function per subcommand, each returning an exit code.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "strata/checkpoint.h"
#include "strata/communicator.h"
#include "strata/experiment.h"
#include "strata/generate.h"
#include "strata/plugin_loader.h"
#include "strata/registry.h"

namespace strata::cli {

// Exit codes (documented in `strata --help` and docs/experiments.md, "The command line").
enum ExitCode : int {
  kOk = 0,
  kInternalError = 1,  // a bug or a failed run (e.g. training diverged)
  kBadInput = 2,       // command line, experiment file, plugin file or data file
  kChecksFailed = 3,   // `strata check` found a failing check
  kInterrupted = 130,  // SIGINT: a checkpoint was written; `strata run --resume` continues
  kTerminated = 143,   // SIGTERM (128 + 15), likewise
  kUserSignal = 138,   // SIGUSR1 (128 + 10; what mpirun forwards to its ranks), likewise
};

// Options shared by the commands that read an experiment or load plugins.
struct CommonOptions {
  std::vector<std::string> overrides;     // --set
  std::vector<std::string> plugin_paths;  // --plugin-path
  bool no_default_plugins = false;        // --no-default-plugins
  void add_plugin_flags(CLI::App& app);
  void add_set_flag(CLI::App& app);
  ExperimentOptions experiment_options() const;
  PluginSearch plugin_search() const;
};

// --allow-nonfinite and --unverified, on every command that loads a checkpoint.
void add_checkpoint_check_flags(CLI::App& app, CheckpointChecks& checks);

struct RunOptions {
  std::string file;
  std::string out;
  bool overwrite = false;           // --overwrite: replace the run in --out
  std::string resume;               // --resume RUN_FOLDER
  CheckpointChecks checks;          // for --resume
  std::vector<std::string> sweeps;  // --sweep key=v1,v2 (repeatable)
  std::string seeds;                // --seeds 0,1,2: a seed axis (replaces [sweep] seeds)
  bool quiet = false;
  std::string device;  // --device cpu|cuda|cuda:N: main.cpp turns it into --set train.device=...
  CommonOptions common;
  Communicator* world = nullptr;  // the job's ranks under mpirun (main.cpp); null: one process
};
int run_command(const RunOptions& options);

struct CompareOptions {
  std::vector<std::string> folders;  // run folders and sweep folders
  std::string out;                   // the HTML report (default comparison.html)
};
int compare_command(const CompareOptions& options);

struct InspectOptions {
  std::string file;  // an experiment file, or a checkpoint folder
  std::int64_t context = 0;
  std::string dtype = "f32";
  bool json = false;
  // Memory planning (strata/memory_plan.h): a size or a named machine, and the step.
  std::string memory;
  std::string target;
  std::int64_t batch = 1;
  std::int64_t seq_len = 0;  // 0: --context, else the task's sequence length, else 4096
  CommonOptions common;
};
int inspect_command(const InspectOptions& options);

struct GenerateCommandOptions {
  std::string checkpoint;
  std::string prompt;  // token ids or a file of them (token_input.h)
  std::string text;    // the prompt as text, through the model's tokenizer
  std::string tokenizer;  // a tokenizer file or folder instead of the checkpoint's
  strata::GenerateOptions generate;
  std::uint64_t seed = 0;
  bool json = false;
  std::string device = "cpu";  // cpu, cuda or cuda:N: where the model decodes
  CheckpointChecks checks;
  CommonOptions common;
};
int generate_command(const GenerateCommandOptions& options);

struct LogitsOptions {
  std::string checkpoint;
  std::string tokens;
  std::string text;       // instead of tokens: text through the model's tokenizer
  std::string tokenizer;  // a tokenizer file or folder instead of the checkpoint's
  std::string out;
  std::string grads;  // "": logits only; "strata" or "hf": also the loss and parameter gradients, so named
  CheckpointChecks checks;
  CommonOptions common;
};
int logits_command(const LogitsOptions& options);

struct TokenizeOptions {
  std::string tokenizer;  // tokenizer.json / tokenizer.model, or a folder holding one
  std::string text;
  std::string file;
  std::string decode;  // ids to decode instead
  bool special = false;  // encode: add the special tokens; decode: keep them
};
int tokenize_command(const TokenizeOptions& options);

struct InitOptions {
  std::string file;
  std::string out;
  CommonOptions common;
};
int init_command(const InitOptions& options);

struct EvalOptions {
  std::string checkpoint;
  std::vector<std::string> seq_lens;  // --seq-len: task.seq_len overrides, one evaluation each
  std::int64_t batches = 8;
  std::int64_t batch_size = 0;  // 0: the run's train.batch_size
  bool json = false;
  std::string device = "cpu";  // cpu, cuda or cuda:N: where the model evaluates
  CheckpointChecks checks;
  CommonOptions common;
};
int eval_command(const EvalOptions& options);

struct ExpertsOptions {
  std::string run;
  std::string what = "both";  // tokens, positions or both
  std::int64_t from_step = 0;
};
int experts_command(const ExpertsOptions& options);

struct ProfileOptions {
  std::string file;
  std::vector<std::string> seq_lens{"512", "1024", "2048", "4096"};
  std::int64_t batch = 1;
  int repeats = 3;
  std::int64_t decode_tokens = 16;
  double memory_limit_gib = 8.0;
  double time_limit_s = 60.0;
  std::string out;
  CommonOptions common;
};
int profile_command(const ProfileOptions& options);

struct HfOptions {
  std::string source;  // import: a Hugging Face folder; export: a checkpoint folder
  std::string out;
  CheckpointChecks checks;  // export
  bool explain = false;     // import: print how each config.json key is treated, import nothing
  CommonOptions common;
};
int import_hf_command(const HfOptions& options);
int export_hf_command(const HfOptions& options);

struct GgufOptions {
  std::string checkpoint;
  std::string out;
  std::string type = "f16";  // f32, f16, bf16, q8_0
  CheckpointChecks checks;
  CommonOptions common;
};
int export_gguf_command(const GgufOptions& options);

struct PluginsOptions {
  CommonOptions common;
};
int plugins_command(const PluginsOptions& options);

struct BackendsOptions {
  bool check = false;             // --check: run the conformance suite
  std::vector<std::string> ops;   // --op (repeatable): only these entries
  std::vector<std::string> dtypes;  // --dtype (repeatable): f32, f64
  CommonOptions common;
};
int backends_command(const BackendsOptions& options);

struct CheckOptions {
  std::string type;
  std::string kind;  // "": the kind that has a component named `type`
  std::int64_t d_model = 8;
  std::int64_t seq_len = 7;
  std::string device;  // "": the CPU only; else also compare against the CPU on this device
  CommonOptions common;
};
int check_command(const CheckOptions& options);

}  // namespace strata::cli
