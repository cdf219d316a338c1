// A run's training state in a checkpoint: optimizer.safetensors (the optimizer's state
// tensors by the names its state() gives, e.g. AdamW's "m.<param>" / "v.<param>") and
// state.json (everything else, with the optimizer's type). Doubles are written with
// enough digits to read back bit for bit, so a resumed run's metrics equal an
// uninterrupted run's.
#include "io/training_state.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "strata/atomic_file.h"
#include "strata/checkpoint.h"
#include "strata/error.h"
#include "strata/safetensors.h"

namespace strata {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kStateFormat = 1;

json eval_json(const EvalResult& r) {
  return {{"loss", r.loss}, {"accuracy", r.accuracy}, {"perplexity", r.perplexity}, {"scored", r.scored}};
}

EvalResult eval_from(const json& j) {
  EvalResult r;
  r.loss = j.at("loss").get<double>();
  r.accuracy = j.at("accuracy").get<double>();
  r.perplexity = j.at("perplexity").get<double>();
  r.scored = j.at("scored").get<std::int64_t>();
  return r;
}

json generator_json(const Generator& g) { return {{"seed", g.seed()}, {"offset", g.offset()}}; }

Generator generator_from(const json& j) {
  Generator g;
  g.set_state(j.at("seed").get<std::uint64_t>(), j.at("offset").get<std::uint64_t>());
  return g;
}

}  // namespace

void save_training_state(const fs::path& folder, const TrainingState& state, const Model& model) {
  (void)model;
  safetensors::write(folder / kCheckpointOptimizerFile, state.optimizer_state,
                     {{"format", "strata optimizer"}, {"optimizer", state.optimizer_type}});
  json j;
  j["format"] = kStateFormat;
  j["step"] = state.step;
  j["data_generator"] = generator_json(state.data_gen);
  j["noise_generator"] = generator_json(state.noise_gen);
  j["optimizer_steps"] = state.optimizer_steps;
  j["optimizer"] = state.optimizer_type;
  j["window"] = {{"loss", state.window_loss},
                 {"steps", state.window_steps},
                 {"tokens", state.window_tokens},
                 {"seconds", state.window_seconds},
                 {"extra", state.window_extra}};
  j["initial_eval"] = eval_json(state.initial_eval);
  j["last_eval"] = eval_json(state.last_eval);
  j["last_train_loss"] = state.last_train_loss;
  j["tokens_total"] = state.tokens_total;
  j["train_seconds"] = state.train_seconds;
  write_text_atomically(folder / kCheckpointStateFile, j.dump(2) + "\n");
}

TrainingState load_training_state(const fs::path& checkpoint) {
  const fs::path folder = resolve_checkpoint_folder(checkpoint);
  const fs::path file = folder / kCheckpointStateFile;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw FileFormatError(folder.string() + ": has no training state (" + kCheckpointStateFile + ")",
                          "only checkpoints written by `strata run` can be resumed; start a new run from the weights "
                          "instead");
  TrainingState state;
  try {
    const json j = json::parse(std::ifstream(file));
    if (j.at("format").get<int>() != kStateFormat)
      throw FileFormatError(file.string() + ": state format " + j.at("format").dump() + ", this strata reads " +
                            std::to_string(kStateFormat));
    state.step = j.at("step").get<std::int64_t>();
    state.data_gen = generator_from(j.at("data_generator"));
    state.noise_gen = generator_from(j.at("noise_generator"));
    state.optimizer_steps = j.at("optimizer_steps").get<std::int64_t>();
    // Checkpoints from before optimizers were components were all AdamW's.
    state.optimizer_type = j.value("optimizer", std::string("adamw"));
    const json& w = j.at("window");
    state.window_loss = w.at("loss").get<double>();
    state.window_steps = w.at("steps").get<std::int64_t>();
    state.window_tokens = w.at("tokens").get<std::int64_t>();
    state.window_seconds = w.at("seconds").get<double>();
    // A non-finite telemetry value of the open window was written as null (JSON has no NaN).
    for (const auto& [name, value] : w.at("extra").items())
      state.window_extra[name] = value.is_null() ? NAN : value.get<double>();
    state.initial_eval = eval_from(j.at("initial_eval"));
    state.last_eval = eval_from(j.at("last_eval"));
    state.last_train_loss = j.at("last_train_loss").get<double>();
    state.tokens_total = j.at("tokens_total").get<std::int64_t>();
    state.train_seconds = j.at("train_seconds").get<double>();
  } catch (const json::exception& e) {
    throw FileFormatError(file.string() + ": not a valid training state (" + e.what() + ")",
                          "the file is damaged; resume from an earlier checkpoint or start again");
  }
  const safetensors::Reader moments(folder / kCheckpointOptimizerFile);
  // Names and shapes are checked against the optimizer when it loads them
  // (Optimizer::load_state); copying converts the dtype to the live state's.
  for (const safetensors::TensorInfo& info : moments.tensors())
    state.optimizer_state.emplace_back(info.name, moments.load(info.name));
  return state;
}

}  // namespace strata
