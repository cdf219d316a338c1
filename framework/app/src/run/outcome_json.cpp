#include "run/outcome_json.h"

namespace strata {

namespace {

nlohmann::json eval_json(const EvalResult& r, bool perplexity) {
  nlohmann::json j{{"loss", r.loss}, {"accuracy", r.accuracy}, {"scored_positions", r.scored}};
  if (perplexity) j["perplexity"] = r.perplexity;
  return j;
}

EvalResult eval_from_json(const nlohmann::json& j) {
  EvalResult r;
  r.loss = j.at("loss");
  r.accuracy = j.at("accuracy");
  r.scored = j.at("scored_positions");
  r.perplexity = j.value("perplexity", 0.0);
  return r;
}

}  // namespace

nlohmann::json outcome_json(const RunOutcome& outcome) {
  const TrainSummary& s = outcome.summary;
  return {{"steps", s.steps},
          {"interrupted", s.interrupted},
          {"stop_signal", outcome.stop_signal},
          {"seconds", s.seconds},
          {"tokens_per_s", s.tokens_per_s},
          {"train_loss", s.final_train_loss},
          {"initial_eval", eval_json(s.initial_eval, outcome.perplexity)},
          {"eval", eval_json(s.final_eval, outcome.perplexity)},
          {"chance_accuracy", outcome.chance_accuracy},
          {"parameters", outcome.parameters},
          {"peak_memory_bytes", outcome.peak_memory_bytes},
          {"decode", {{"tokens_per_s", outcome.decode_tokens_per_s},
                      {"cache_bytes", outcome.decode_cache_bytes},
                      {"state_bytes", outcome.decode_state_bytes}}}};
}

RunOutcome outcome_from_json(const nlohmann::json& j) {
  RunOutcome o;
  TrainSummary& s = o.summary;
  s.steps = j.at("steps");
  s.interrupted = j.at("interrupted");
  s.seconds = j.at("seconds");
  s.tokens_per_s = j.at("tokens_per_s");
  s.final_train_loss = j.at("train_loss");
  s.initial_eval = eval_from_json(j.at("initial_eval"));
  s.final_eval = eval_from_json(j.at("eval"));
  o.stop_signal = j.at("stop_signal");
  o.perplexity = j.at("eval").contains("perplexity");
  o.chance_accuracy = j.at("chance_accuracy");
  o.parameters = j.at("parameters");
  o.peak_memory_bytes = j.at("peak_memory_bytes");
  const nlohmann::json& decode = j.at("decode");
  o.decode_tokens_per_s = decode.at("tokens_per_s");
  o.decode_cache_bytes = decode.at("cache_bytes");
  o.decode_state_bytes = decode.at("state_bytes");
  return o;
}

}  // namespace strata
