// A checkpoint's state.json and manifest.json: the first byte chooses which file the rest
// replaces in a small valid checkpoint (written once); then the training state is loaded,
// verifying the manifest.
#include "fuzz_support.h"
#include "strata/checkpoint.h"
#include "strata/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace strata;
  namespace fs = std::filesystem;
  if (size == 0) return 0;
  static const fs::path folder = [] {
    const fs::path f = fuzz::scratch_folder() / "checkpoint";
    ComponentRegistry& registry = fuzz::registry();
    const Experiment e = Experiment::from_string(
        "[task]\ntype = \"copy\"\n[model]\nd_model = 8\nn_layers = 1\n[model.mixer.A]\ntype = \"attention\"\nn_heads = 2\n"
        "[train]\nsteps = 2\nlog_every = 1\n"
        "checkpoint_every = 1\n",
        "state.toml", fuzz::hermetic_options(), registry);
    const ExperimentObjects objects = build_experiment(e, registry);
    TrainingState state;
    state.step = 1;
    state.optimizer_steps = 1;
    state.optimizer_type = "adamw";
    for (const auto& p : objects.model->named_parameters()) state.optimizer_state.emplace_back("m." + p.name, p.tensor);
    save_checkpoint(f, e, *objects.model, &state);
    return f;
  }();
  const auto read = [](const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  static const std::string state = read(folder / kCheckpointStateFile);
  static const std::string manifest = read(folder / kCheckpointManifestFile);
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool fuzz_manifest = data[0] & 1;
  std::ofstream(folder / kCheckpointStateFile, std::ios::binary | std::ios::trunc) << (fuzz_manifest ? state : text);
  std::ofstream(folder / kCheckpointManifestFile, std::ios::binary | std::ios::trunc) << (fuzz_manifest ? text : manifest);
  CheckpointChecks checks;
  checks.allow_unverified = !fuzz_manifest;  // so that a fuzzed state.json reaches its field checks
  fuzz::expect_strata_errors_only([&] { (void)load_training_state(folder, checks); });
  return 0;
}
