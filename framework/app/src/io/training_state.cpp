// A run's training state in a checkpoint: optimizer.safetensors (AdamW moments, named
// "m.<param>" / "v.<param>") and state.json (everything else). Doubles are written with
// enough digits to read back bit for bit, so a resumed run's metrics equal an
// uninterrupted run's.
#include "io/training_state.h"

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
  const auto params = model.named_parameters();
  if (state.adam_m.size() != params.size() || state.adam_v.size() != params.size())
    throw ValueError("save_training_state: the optimizer state has " + std::to_string(state.adam_m.size()) +
                     " moments for " + std::to_string(params.size()) + " parameters");
  std::vector<std::pair<std::string, Tensor>> moments;
  for (std::size_t i = 0; i < params.size(); ++i) {
    moments.emplace_back("m." + params[i].name, state.adam_m[i]);
    moments.emplace_back("v." + params[i].name, state.adam_v[i]);
  }
  safetensors::write(folder / kCheckpointOptimizerFile, moments, {{"format", "strata optimizer (AdamW)"}});
  json j;
  j["format"] = kStateFormat;
  j["step"] = state.step;
  j["data_generator"] = generator_json(state.data_gen);
  j["noise_generator"] = generator_json(state.noise_gen);
  j["optimizer_steps"] = state.optimizer_steps;
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

TrainingState load_training_state(const fs::path& checkpoint, const Model& model) {
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
    const json& w = j.at("window");
    state.window_loss = w.at("loss").get<double>();
    state.window_steps = w.at("steps").get<std::int64_t>();
    state.window_tokens = w.at("tokens").get<std::int64_t>();
    state.window_seconds = w.at("seconds").get<double>();
    state.window_extra = w.at("extra").get<std::map<std::string, double>>();
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
  for (const auto& p : model.named_parameters()) {
    for (auto* list : {&state.adam_m, &state.adam_v}) {
      const std::string name = (list == &state.adam_m ? "m." : "v.") + p.name;
      Tensor t = moments.load(name);
      if (!(t.shape() == p.tensor.shape()))
        throw FileFormatError(moments.file().string() + ": '" + name + "' has shape " + t.shape().to_string() +
                              ", the parameter " + p.tensor.shape().to_string());
      list->push_back(t.to(p.tensor.dtype()));
    }
  }
  return state;
}

}  // namespace strata
