// A run's training state in a checkpoint: optimizer.safetensors (the optimizer's state
// tensors by the names its state() gives, e.g. AdamW's "m.<param>" / "v.<param>") and
// state.json (everything else, with the optimizer's type). Doubles are written with
// enough digits to read back bit for bit, so a resumed run's metrics equal an
// uninterrupted run's.
#include "io/training_state.h"

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>

#include "io/checkpoint_integrity.h"
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

json generator_json(const Generator& g) { return {{"seed", g.seed()}, {"offset", g.offset()}}; }

}  // namespace

void save_training_state(const fs::path& folder, const TrainingState& state, const Model& model) {
  (void)model;
  safetensors::write(folder / kCheckpointOptimizerFile, state.optimizer_state,
                     {{"format", "strata optimizer"},
                      {"optimizer", state.optimizer_type},
                      {"strata.step", std::to_string(state.step)}});
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
  j["schedule_steps"] = state.schedule_steps;
  j["data_parallel_size"] = state.data_parallel_size;
  write_text_atomically(folder / kCheckpointStateFile, j.dump(2) + "\n");
}

namespace {

// state.json's fields, each read with its type and range checked. A field is named by its
// path ("window.steps"); it is looked up in `j` by the path's last part.
class StateFields {
 public:
  explicit StateFields(fs::path file) : file_(std::move(file)) {}

  const json& object(const json& j, const std::string& path) const {
    const json& v = field(j, path);
    if (!v.is_object()) throw bad(path, "must be an object", v);
    return v;
  }
  // An integer in [min, max].
  std::int64_t integer(const json& j, const std::string& path, std::int64_t min,
                       std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
    const json& v = field(j, path);
    const bool fits = v.is_number_integer() &&
                      (v.is_number_unsigned() ? v.get<std::uint64_t>() <= std::uint64_t(max)
                                              : v.get<std::int64_t>() >= min && v.get<std::int64_t>() <= max);
    if (!fits || v.get<std::int64_t>() < min)
      throw bad(path, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max), v);
    return v.get<std::int64_t>();
  }
  std::uint64_t unsigned_integer(const json& j, const std::string& path) const {
    const json& v = field(j, path);
    if (!v.is_number_unsigned()) throw bad(path, "must be a non-negative integer", v);
    return v.get<std::uint64_t>();
  }
  // A finite number in [min, max].
  double number(const json& j, const std::string& path, double min = -HUGE_VAL, double max = HUGE_VAL) const {
    const json& v = field(j, path);
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < min || v.get<double>() > max)
      throw bad(path, "must be a finite number" + range_text(min, max), v);
    return v.get<double>();
  }
  std::string text(const json& j, const std::string& path) const {
    const json& v = field(j, path);
    if (!v.is_string() || v.get<std::string>().empty()) throw bad(path, "must be a non-empty string", v);
    return v.get<std::string>();
  }
  FileFormatError bad(const std::string& path, const std::string& what, const json& value) const {
    return FileFormatError(file_.string() + ": \"" + path + "\" " + what + ", not " + value.dump(),
                           "the file is damaged or was edited; resume from an earlier checkpoint "
                           "(RUN/checkpoints/step-N) or start again");
  }

 private:
  const json& field(const json& j, const std::string& path) const {
    const std::string key = path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    if (!j.contains(key))
      throw FileFormatError(file_.string() + ": \"" + path + "\" is missing",
                            "the file is damaged; resume from an earlier checkpoint or start again");
    return j[key];
  }
  static std::string number_text(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }
  static std::string range_text(double min, double max) {
    if (min == -HUGE_VAL && max == HUGE_VAL) return "";
    if (max == HUGE_VAL) return " >= " + number_text(min);
    return " from " + number_text(min) + " to " + number_text(max);
  }
  fs::path file_;
};

Generator generator_from(const StateFields& f, const json& j, const std::string& key) {
  const json& g = f.object(j, key);
  Generator out;
  out.set_state(f.unsigned_integer(g, key + ".seed"), f.unsigned_integer(g, key + ".offset"));
  return out;
}

EvalResult eval_from(const StateFields& f, const json& j, const std::string& key) {
  const json& e = f.object(j, key);
  EvalResult r;
  r.loss = f.number(e, key + ".loss", 0.0);
  r.accuracy = f.number(e, key + ".accuracy", 0.0, 1.0);
  r.perplexity = f.number(e, key + ".perplexity", 0.0);
  r.scored = f.integer(e, key + ".scored", 0);
  return r;
}

}  // namespace

TrainingState load_training_state(const fs::path& checkpoint, const CheckpointChecks& checks) {
  const fs::path folder = resolve_checkpoint_folder(checkpoint);
  const fs::path file = folder / kCheckpointStateFile;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec))
    throw FileFormatError(folder.string() + ": has no training state (" + kCheckpointStateFile + ")",
                          "only checkpoints written by `strata run` can be resumed; start a new run from the weights "
                          "instead");
  const VerifiedCheckpoint verified = verify_checkpoint_manifest(folder, checks.allow_unverified);
  const json j = json::parse(std::ifstream(file), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    throw FileFormatError(file.string() + ": not a JSON object",
                          "the file is damaged; resume from an earlier checkpoint or start again");
  const StateFields f(file);
  if (f.integer(j, "format", 0) != kStateFormat)
    throw FileFormatError(file.string() + ": state format " + j["format"].dump() + ", this strata reads " +
                          std::to_string(kStateFormat));
  TrainingState state;
  state.step = f.integer(j, "step", 0);
  if (verified.has_manifest && verified.step != state.step)
    throw FileFormatError(file.string() + ": is the state of step " + std::to_string(state.step) + ", but " +
                              kCheckpointManifestFile + " says step " +
                              (verified.step ? std::to_string(*verified.step) : std::string("none")),
                          "files of different checkpoints were combined; use a checkpoint folder as strata wrote it");
  state.data_gen = generator_from(f, j, "data_generator");
  state.noise_gen = generator_from(f, j, "noise_generator");
  state.optimizer_steps = f.integer(j, "optimizer_steps", 0, state.step);
  // Checkpoints from before optimizers were components were all AdamW's.
  state.optimizer_type = j.contains("optimizer") ? f.text(j, "optimizer") : std::string("adamw");
  const json& w = f.object(j, "window");
  state.window_loss = f.number(w, "window.loss");
  state.window_steps = f.integer(w, "window.steps", 0, state.step);
  state.window_tokens = f.integer(w, "window.tokens", 0);
  state.window_seconds = f.number(w, "window.seconds", 0.0);
  // A non-finite telemetry value of the open window was written as null (JSON has no NaN).
  for (const auto& [name, value] : f.object(w, "window.extra").items()) {
    if (!value.is_null() && !value.is_number()) throw f.bad("window.extra." + name, "must be a number or null", value);
    state.window_extra[name] = value.is_null() ? NAN : value.get<double>();
  }
  state.initial_eval = eval_from(f, j, "initial_eval");
  state.last_eval = eval_from(f, j, "last_eval");
  state.last_train_loss = f.number(j, "last_train_loss");
  state.tokens_total = f.integer(j, "tokens_total", 0);
  state.train_seconds = f.number(j, "train_seconds", 0.0);
  // Checkpoints from before the field: 0, the schedule then spans train.steps as it did.
  state.schedule_steps = j.contains("schedule_steps") ? f.integer(j, "schedule_steps", 0) : 0;
  state.data_parallel_size = j.contains("data_parallel_size") ? int(f.integer(j, "data_parallel_size", 1)) : 1;

  const fs::path moments_file = folder / kCheckpointOptimizerFile;
  const safetensors::Reader moments(moments_file);
  require_digests(moments, checks.allow_unverified);
  // Names and shapes are checked against the optimizer when it loads them
  // (Optimizer::load_state); copying converts the dtype to the live state's.
  for (const safetensors::TensorInfo& info : moments.tensors()) {
    if (!safetensors::is_float_dtype(info.dtype))
      throw FileFormatError(moments_file.string() + ": tensor '" + info.name + "' has dtype " + info.dtype +
                                "; optimizer state is floating point",
                            "the file is damaged or was edited; resume from an earlier checkpoint");
    state.optimizer_state.emplace_back(info.name, moments.load(info.name));
    if (!checks.allow_nonfinite) require_finite(state.optimizer_state.back().second, moments_file, info.name);
  }
  return state;
}

}  // namespace strata
