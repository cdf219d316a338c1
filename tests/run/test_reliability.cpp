// What strata refuses instead of silently accepting (docs/reliability.md): damaged, relabelled,
// non-finite or mixed-up checkpoint files, out-of-range training state, a second writer of a
// run folder, an existing run given as --out, a run that cannot fit in memory; and SIGTERM,
// which checkpoints like SIGINT. Each case would pass silently without its check.
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "catch.h"
#include "helpers.h"
#include "registry_helpers.h"
#include "run/tiny_run.h"
#include "strata/checkpoint.h"
#include "strata/folder_lock.h"
#include "strata/memory_guard.h"
#include "strata/run.h"
#include "strata/run_folder.h"
#include "strata/safetensors.h"

using namespace strata;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

// The byte offset in `file` where tensor `name`'s data begins.
std::size_t data_offset(const fs::path& file, const std::string& name) {
  const std::string bytes = test::file_bytes(file);
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | static_cast<unsigned char>(bytes[std::size_t(i)]);
  const safetensors::Reader reader(file);
  return std::size_t(8 + header + reader.find(name)->begin);
}

// A finished tiny run in a fresh folder; its checkpoint folder.
fs::path trained(const std::string& name, const std::string& extra_train = "") {
  const fs::path folder = test::fresh_temp_dir("reliability", name);
  run_in_folder(test::tiny_run(10, extra_train), test::example_registry(), folder);
  return folder / run_folder::kCheckpointFolder;
}

LoadedCheckpoint load(const fs::path& checkpoint, const CheckpointChecks& checks = {}) {
  return load_checkpoint(checkpoint, test::hermetic_options(), test::example_registry(), DType::f32, checks);
}

// Edits state.json's JSON with `edit`, keeping everything else.
void edit_state(const fs::path& checkpoint, const std::function<void(json&)>& edit) {
  json j = json::parse(test::file_bytes(checkpoint / kCheckpointStateFile));
  edit(j);
  write_file(checkpoint / kCheckpointStateFile, j.dump(2));
}

}  // namespace

TEST_CASE("checkpoint integrity: a damaged tensor is refused, naming the file and the tensor", "[reliability]") {
  const fs::path checkpoint = trained("flip");
  REQUIRE_NOTHROW(load(checkpoint));
  const fs::path weights = checkpoint / kCheckpointWeightsFile;
  const std::string name = safetensors::Reader(weights).tensors().back().name;
  std::string bytes = test::file_bytes(weights);
  bytes[data_offset(weights, name) + 1] ^= 0x10;  // one bit: the size and the header stay as they were
  write_file(weights, bytes);
  CHECK_THROWS_WITH(load(checkpoint), Catch::Contains("tensor '" + name + "' is damaged") &&
                                          Catch::Contains(weights.string()));
  // Skipping the manifest does not skip the tensor's own digest.
  CHECK_THROWS_WITH(load(checkpoint, CheckpointChecks{.allow_unverified = true}), Catch::Contains("is damaged"));
}

TEST_CASE("checkpoint integrity: NaN or infinite weights are refused unless allowed", "[reliability]") {
  const Experiment e = test::tiny_run(10);
  const ExperimentObjects objects = build_experiment(e, test::example_registry());
  NamedParameter target = objects.model->named_parameters().back();
  target.tensor.data<float>()[0] = NAN;
  const fs::path checkpoint = test::fresh_temp_dir("reliability", "nan") / "checkpoint";
  save_checkpoint(checkpoint, e, *objects.model);  // its digests and manifest are correct
  CHECK_THROWS_WITH(load(checkpoint), Catch::Contains("tensor '" + target.name + "' holds NaN or infinite values") &&
                                          Catch::Contains("--allow-nonfinite"));
  const LoadedCheckpoint loaded = load(checkpoint, CheckpointChecks{.allow_nonfinite = true});
  for (const NamedParameter& p : loaded.model->named_parameters())
    if (p.name == target.name) CHECK(std::isnan(p.tensor.to_vector<float>()[0]));

  target.tensor.data<float>()[0] = INFINITY;
  save_checkpoint(checkpoint, e, *objects.model);
  CHECK_THROWS_WITH(load(checkpoint), Catch::Contains("NaN or infinite"));
}

TEST_CASE("checkpoint integrity: a dtype relabelled F32 -> I32 is refused by the manifest, the digest and the model",
          "[reliability]") {
  const fs::path checkpoint = trained("relabel");
  const fs::path weights = checkpoint / kCheckpointWeightsFile;
  std::string bytes = test::file_bytes(weights);
  const std::size_t at = bytes.find("\"F32\"");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 5, "\"I32\"");  // same length: the header and the file keep their sizes
  write_file(weights, bytes);
  CHECK_THROWS_WITH(load(checkpoint), Catch::Contains("does not match manifest.json") &&
                                          Catch::Contains("its header differs"));
  // The model refuses an integer tensor for a float parameter; the tensor's digest covers its
  // dtype, so reading it alone fails too.
  CHECK_THROWS_WITH(load(checkpoint, CheckpointChecks{.allow_unverified = true}),
                    Catch::Contains("(file I32, model f32)"));
  const safetensors::Reader reader(weights);
  for (const auto& info : reader.tensors())
    if (info.dtype == "I32") CHECK_THROWS_WITH(reader.load(info.name), Catch::Contains("is damaged"));
  // --resume used to train on it.
  RunSettings resume;
  resume.resume_checkpoint = checkpoint;
  CHECK_THROWS_WITH(run_in_folder(test::tiny_run(20), test::example_registry(), checkpoint.parent_path(), resume),
                    Catch::Contains("does not match manifest.json"));

  // Without digests (a file from elsewhere), the model's dtype kind still refuses it.
  const Experiment e = test::tiny_run(10);
  const ExperimentObjects objects = build_experiment(e, test::example_registry());
  json header = json::object();
  std::string data;
  for (const NamedParameter& p : objects.model->named_parameters()) {
    const std::size_t begin = data.size();
    data.append(std::size_t(p.tensor.numel()) * 4, '\0');
    header[p.name] = {{"dtype", "I32"}, {"shape", std::vector<std::int64_t>(p.tensor.shape().begin(), p.tensor.shape().end())},
                      {"data_offsets", {begin, data.size()}}};
  }
  const std::string text = header.dump();
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[std::size_t(i)] = char((text.size() >> (8 * i)) & 0xff);
  const fs::path plain = test::fresh_temp_dir("reliability", "plain") / "weights.safetensors";
  write_file(plain, file + text + data);
  CHECK_THROWS_WITH(load_model_weights(*objects.model, plain), Catch::Contains("has no tensor digests"));
  CHECK_THROWS_WITH(load_model_weights(*objects.model, plain, CheckpointChecks{.allow_unverified = true}),
                    Catch::Contains("shape or dtype mismatches") && Catch::Contains("(file I32, model f32)"));
}

TEST_CASE("checkpoint integrity: state.json fields are range-checked", "[reliability]") {
  const fs::path checkpoint = trained("state");
  const CheckpointChecks unverified{.allow_unverified = true};  // so that the field check itself answers
  REQUIRE(load_training_state(checkpoint).step == 10);
  const std::string original = test::file_bytes(checkpoint / kCheckpointStateFile);
  const std::vector<std::pair<std::function<void(json&)>, std::string>> cases = {
      {[](json& j) { j["step"] = -3; }, "\"step\" must be an integer from 0"},
      {[](json& j) { j["step"] = 2.5; }, "\"step\" must be an integer"},
      {[](json& j) { j.erase("step"); }, "\"step\" is missing"},
      {[](json& j) { j["data_generator"]["offset"] = -7; }, "\"data_generator.offset\" must be a non-negative integer"},
      {[](json& j) { j["noise_generator"]["seed"] = "x"; }, "\"noise_generator.seed\" must be a non-negative integer"},
      {[](json& j) { j["optimizer_steps"] = 11; }, "\"optimizer_steps\" must be an integer from 0 to 10"},
      {[](json& j) { j["window"]["steps"] = -1; }, "\"window.steps\" must be an integer from 0 to 10"},
      {[](json& j) { j["window"]["seconds"] = -1.0; }, "\"window.seconds\" must be a finite number >= 0"},
      {[](json& j) { j["last_eval"]["accuracy"] = 1.5; }, "\"last_eval.accuracy\" must be a finite number from 0 to 1"},
      {[](json& j) { j["tokens_total"] = -5; }, "\"tokens_total\" must be an integer from 0"},
      {[](json& j) { j["optimizer"] = ""; }, "\"optimizer\" must be a non-empty string"},
      {[](json& j) { j["window"]["extra"]["x"] = "text"; }, "\"window.extra.x\" must be a number or null"},
  };
  for (const auto& [edit, message] : cases) {
    write_file(checkpoint / kCheckpointStateFile, original);
    edit_state(checkpoint, edit);
    CAPTURE(message);
    CHECK_THROWS_WITH(load_training_state(checkpoint, unverified), Catch::Contains(message));
    CHECK_THROWS_WITH(load_training_state(checkpoint), Catch::Contains("does not match manifest.json"));
  }

  // A negative step used to restart the run from 0 and replace its metrics: now nothing changes.
  write_file(checkpoint / kCheckpointStateFile, original);
  edit_state(checkpoint, [](json& j) { j["step"] = -1; });
  const fs::path run = checkpoint.parent_path();
  const std::string metrics = test::file_bytes(run / run_folder::kMetricsFile);
  RunSettings resume;
  resume.resume_checkpoint = checkpoint;
  resume.resume_checks = unverified;
  CHECK_THROWS_AS(run_in_folder(test::tiny_run(20), test::example_registry(), run, resume), FileFormatError);
  CHECK(test::file_bytes(run / run_folder::kMetricsFile) == metrics);
}

TEST_CASE("checkpoint integrity: files of different checkpoints are not combined", "[reliability]") {
  const fs::path checkpoint = trained("mixed", "checkpoint_every = 5\nkeep_checkpoints = 2");
  const fs::path earlier = checkpoint.parent_path() / run_folder::kSnapshotsFolder / "step-000005";
  REQUIRE(fs::is_directory(earlier));
  REQUIRE_NOTHROW(load_training_state(checkpoint));
  for (const char* file : {kCheckpointWeightsFile, kCheckpointOptimizerFile, kCheckpointStateFile}) {
    CAPTURE(file);
    const std::string saved = test::file_bytes(checkpoint / file);
    fs::remove(checkpoint / file);  // a hard link shared with the snapshot: replace it, do not write through it
    fs::copy_file(earlier / file, checkpoint / file);
    const auto message = Catch::Contains(std::string(file) + ": does not match manifest.json (step 10)");
    CHECK_THROWS_WITH(load_training_state(checkpoint), message);
    if (std::string(file) == kCheckpointWeightsFile) {
      CHECK_THROWS_WITH(load(checkpoint), message && Catch::Contains("the file says step 5"));
    }
    fs::remove(checkpoint / file);
    write_file(checkpoint / file, saved);
  }
  REQUIRE_NOTHROW(load_training_state(checkpoint));

  // state.json and the manifest both from step 5: the state's step must be the manifest's.
  const std::string manifest = test::file_bytes(checkpoint / kCheckpointManifestFile);
  fs::remove(checkpoint / kCheckpointManifestFile);
  CHECK_THROWS_WITH(load(checkpoint), Catch::Contains("has no manifest.json") && Catch::Contains("--unverified"));
  CHECK_NOTHROW(load(checkpoint, CheckpointChecks{.allow_unverified = true}));
  write_file(checkpoint / kCheckpointManifestFile, manifest);
  // A file the manifest does not list (optimizer state from elsewhere in a weights-only checkpoint).
  const fs::path weights_only = test::fresh_temp_dir("reliability", "weights_only") / "checkpoint";
  const Experiment e = test::tiny_run(10);
  save_checkpoint(weights_only, e, *build_experiment(e, test::example_registry()).model);
  fs::copy_file(checkpoint / kCheckpointOptimizerFile, weights_only / kCheckpointOptimizerFile);
  CHECK_THROWS_WITH(load(weights_only), Catch::Contains("not part of this checkpoint") &&
                                            Catch::Contains("the file says step 10"));
}

TEST_CASE("run folder: a second writer is refused while the first holds the folder", "[reliability]") {
  const fs::path folder = test::fresh_temp_dir("reliability", "locked");
  {
    const FolderLock first(folder);
    CHECK_THROWS_AS(FolderLock(folder), FolderBusyError);
    CHECK_THROWS_WITH(run_in_folder(test::tiny_run(5), test::example_registry(), folder),
                      Catch::Contains("is being written by another strata process (pid " + std::to_string(::getpid())));
    CHECK_FALSE(fs::exists(folder / run_folder::kMetricsFile));
  }
  CHECK_NOTHROW(run_in_folder(test::tiny_run(5), test::example_registry(), folder));  // released with its holder
}

TEST_CASE("run folder: an existing run is not overwritten unless asked, and then wholly replaced", "[reliability]") {
  const fs::path checkpoint = trained("existing", "checkpoint_every = 5\nkeep_checkpoints = 2");
  const fs::path run = checkpoint.parent_path();
  CHECK_THROWS_WITH(create_run_folder(run, "--out"), Catch::Contains("is not empty (it holds an earlier run") &&
                                                         Catch::Contains("--overwrite"));
  CHECK(fs::is_directory(run / run_folder::kSnapshotsFolder));
  create_run_folder(run, "--out", /*overwrite=*/true);
  run_in_folder(test::tiny_run(4), test::example_registry(), run);
  CHECK_FALSE(fs::exists(run / run_folder::kSnapshotsFolder));  // none of the old run's files stay
  CHECK(load_training_state(checkpoint).step == 4);

  const fs::path user = test::fresh_temp_dir("reliability", "user_files");
  write_file(user / "notes.txt", "mine");
  CHECK_THROWS_WITH(create_run_folder(user, "--out", true), Catch::Contains("not a strata run or sweep"));
  CHECK(test::file_bytes(user / "notes.txt") == "mine");
  {
    const FolderLock busy(run);  // never emptied under a running process
    CHECK_THROWS_AS(create_run_folder(run, "--out", true), FolderBusyError);
  }
  CHECK(fs::exists(run / run_folder::kMetricsFile));
}

TEST_CASE("run: SIGTERM checkpoints and stops like SIGINT", "[reliability][resume]") {
  const fs::path folder = test::fresh_temp_dir("reliability", "sigterm");
  RunHooks hooks;
  hooks.on_step = [](std::int64_t step, double, double) {
    if (step == 6) std::raise(SIGTERM);  // what Slurm sends before it kills a job
  };
  const RunOutcome stopped = run_in_folder(test::tiny_run(20), test::example_registry(), folder, {}, hooks);
  CHECK(stopped.summary.interrupted);
  CHECK(stopped.stop_signal == SIGTERM);
  CHECK(stopped.summary.steps == 6);
  CHECK(load_training_state(folder / run_folder::kCheckpointFolder).step == 6);
}

TEST_CASE("memory: a run that cannot fit is refused before its model is built", "[reliability]") {
  const fs::path folder = test::fresh_temp_dir("reliability", "memory");
  REQUIRE(available_memory_bytes() > 0);  // /proc/meminfo
  ::setenv("STRATA_MEMORY_AVAILABLE", "1KiB", 1);
  struct Unset {
    ~Unset() { ::unsetenv("STRATA_MEMORY_AVAILABLE"); }
  } unset;
  CHECK(available_memory_bytes() == 1024);
  CHECK_THROWS_WITH(run_in_folder(test::tiny_run(5), test::example_registry(), folder),
                    Catch::Contains("needs about") && Catch::Contains("only 1.00 KiB is available") &&
                        Catch::Contains("--no-memory-check"));
  CHECK_FALSE(fs::exists(folder / run_folder::kMetricsFile));
  RunSettings anyway;
  anyway.check_memory = false;
  CHECK_NOTHROW(run_in_folder(test::tiny_run(5), test::example_registry(), folder, anyway));
  CHECK_THROWS_AS(load(folder / run_folder::kCheckpointFolder), InsufficientMemoryError);
  CHECK_NOTHROW(load(folder / run_folder::kCheckpointFolder, CheckpointChecks{.check_memory = false}));
  ::setenv("STRATA_MEMORY_AVAILABLE", "lots", 1);
  CHECK_THROWS_WITH(available_memory_bytes(), Catch::Contains("STRATA_MEMORY_AVAILABLE"));
}
