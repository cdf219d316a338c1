#include "strata/memory_plan.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "strata/error.h"

namespace strata {

const std::vector<MemoryTarget>& memory_targets() {
  static const std::vector<MemoryTarget> targets = {
      {"dgx-spark", std::int64_t(128) << 30,
       "NVIDIA DGX Spark (GB10): a 20-core ARM64 Grace CPU and a Blackwell GPU sharing 128 GB of LPDDR5x, counted "
       "once; the operating system takes a few GB of it"},
  };
  return targets;
}

const MemoryTarget& memory_target(const std::string& name) {
  std::vector<std::string> names;
  for (const MemoryTarget& t : memory_targets()) {
    if (t.name == name) return t;
    names.push_back(t.name);
  }
  throw ValueError("unknown memory target '" + name + "' (known: " + join_names(names) + ")",
                   "or give the memory itself, e.g. --memory 128GiB");
}

std::int64_t parse_memory_size(const std::string& text) {
  const auto bad = [&]() {
    return ValueError("memory size '" + text + "' is not a size",
                      "write a number and a unit: 128GiB, 96GB, 1.5TiB, 512MiB (GB = 1e9 bytes, GiB = 2^30)");
  };
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string unit;
  for (std::size_t i = used; i < text.size(); ++i)
    if (!std::isspace(static_cast<unsigned char>(text[i]))) unit += char(std::tolower(static_cast<unsigned char>(text[i])));
  double scale = 0;
  for (const auto& [name, value] : std::initializer_list<std::pair<const char*, double>>{
           {"", 1.0}, {"b", 1.0}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12}, {"kib", 1024.0},
           {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0}})
    if (unit == name) scale = value;
  if (scale == 0 || !(number > 0) || !std::isfinite(number) || number * scale > 9.0e18) throw bad();
  return std::int64_t(std::llround(number * scale));
}

std::string format_bytes(double bytes) {
  char buffer[64];
  if (std::abs(bytes) >= double(1ull << 40))
    std::snprintf(buffer, sizeof buffer, "%.2f TiB", bytes / double(1ull << 40));
  else if (std::abs(bytes) >= double(1ull << 30))
    std::snprintf(buffer, sizeof buffer, "%.2f GiB", bytes / double(1ull << 30));
  else if (std::abs(bytes) >= double(1ull << 20))
    std::snprintf(buffer, sizeof buffer, "%.2f MiB", bytes / double(1ull << 20));
  else if (std::abs(bytes) >= 1024)
    std::snprintf(buffer, sizeof buffer, "%.2f KiB", bytes / 1024.0);
  else
    std::snprintf(buffer, sizeof buffer, "%.0f B", bytes);
  return buffer;
}

namespace {

// f32 master weights, f32 gradients, AdamW's first and second moments (f32).
constexpr std::int64_t kTrainBytesPerParam = 16;
// The longest context searched; a requirement still within budget there does not grow.
constexpr std::int64_t kLongest = std::int64_t(1) << 40;

struct Requirement {
  std::int64_t bytes = 0;
  bool known = true;
};

class Planner {
 public:
  Planner(const Experiment& e, const ComponentRegistry& registry, const MemoryQuery& q)
      : e_(e), registry_(registry), q_(q), element_(std::int64_t(plan_dtype_bytes(q.dtype))) {}

  ModelPlan at(std::int64_t tokens) const { return plan_model(e_, registry_, PlanQuery{tokens, q_.dtype}); }

  // Weights and the batch's cache after `context` tokens.
  Requirement decode(std::int64_t context) const {
    const ModelPlan p = at(context);
    return {p.params_total * element_ + q_.batch * p.cache_bytes, p.cache_known};
  }

  struct Training {
    std::int64_t state = 0, activations = 0, workspace = 0;
    bool known = true;
    std::int64_t total() const { return state + activations + workspace; }
  };
  Training train(std::int64_t seq_len) const {
    const ModelPlan p = at(seq_len);
    Training t;
    t.state = p.params_total * kTrainBytesPerParam;
    t.activations = q_.batch * p.activation_elements * element_;
    const std::int64_t logits_grad = q_.batch * seq_len * p.dims.vocab_size * 4;
    // Measured (tests/jamba/test_memory_plan.cpp): the backward's transient is the logits'
    // gradient, about one layer's activations (two bound it) and what a component declares
    // beyond them (naive attention's gradients of the probabilities and the scores).
    t.workspace = logits_grad +
                  q_.batch * (2 * p.largest_layer_activation_elements + p.largest_backward_elements) * element_;
    t.known = p.activations_known;
    return t;
  }

  // The largest n in [1, kLongest] whose requirement fits: kUnbounded when kLongest fits
  // and the requirement never grew, 0 when 1 does not fit. Doubling first, so that a
  // requirement growing like T^2 is never evaluated far beyond the budget (no overflow).
  template <class Bytes>
  std::int64_t longest(Bytes bytes) const {
    const std::int64_t at_one = bytes(1);
    if (at_one > q_.budget_bytes) return 0;
    std::int64_t lo = 1, hi = 2;  // bytes(lo) fits
    while (hi <= kLongest && bytes(hi) <= q_.budget_bytes) lo = hi, hi *= 2;
    if (hi > kLongest) return bytes(lo) == at_one ? kUnbounded : lo;
    while (hi - lo > 1) {  // bytes(hi) does not fit
      const std::int64_t mid = lo + (hi - lo) / 2;
      (bytes(mid) <= q_.budget_bytes ? lo : hi) = mid;
    }
    return lo;
  }

 private:
  const Experiment& e_;
  const ComponentRegistry& registry_;
  const MemoryQuery& q_;
  std::int64_t element_;
};

}  // namespace

std::string tokens_text(std::int64_t n) {
  if (n == kUnbounded) return "unbounded (the state does not grow with the context)";
  if (n == kUnknown) return "unknown (a component declares no cost)";
  if (n == 0) return "none";
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out + " tokens";
}

MemoryPlan plan_memory(const Experiment& e, const ComponentRegistry& registry, const MemoryQuery& query) {
  if (query.budget_bytes <= 0) throw ValueError("the memory budget must be positive");
  if (query.batch < 1) throw ValueError("the batch must be >= 1, got " + std::to_string(query.batch));
  if (query.seq_len < 1 || query.context < 1)
    throw ValueError("the training sequence length and the decode context must be >= 1");
  const Planner planner(e, registry, query);
  MemoryPlan plan;
  plan.query = query;
  const std::int64_t element = std::int64_t(plan_dtype_bytes(query.dtype));
  const ModelPlan at_context = planner.at(query.context);
  plan.params = at_context.params_total;
  plan.weights_bytes = plan.params * element;
  plan.cache_bytes = query.batch * at_context.cache_bytes;
  plan.cache_known = at_context.cache_known;
  const auto training = planner.train(query.seq_len);
  plan.train_state_bytes = training.state;
  plan.activation_bytes = training.activations;
  plan.workspace_bytes = training.workspace;
  plan.activations_known = training.known;
  plan.max_decode_context =
      plan.cache_known ? planner.longest([&](std::int64_t c) { return planner.decode(c).bytes; }) : kUnknown;
  plan.max_train_seq_len =
      plan.activations_known ? planner.longest([&](std::int64_t t) { return planner.train(t).total(); }) : kUnknown;
  return plan;
}

std::string MemoryPlan::to_text() const {
  std::ostringstream os;
  const auto row = [&](const std::string& what, std::int64_t bytes, const char* fits = "") {
    char line[160];
    std::snprintf(line, sizeof line, "  %-52s %14s  %s\n", what.c_str(), format_bytes(double(bytes)).c_str(), fits);
    os << line;
  };
  os << "memory plan: " << format_bytes(double(query.budget_bytes)) << " (" << query.budget_name << ")\n";
  if (!query.budget_note.empty()) os << "  " << query.budget_note << "\n";
  os << "decoding, batch " << query.batch << ", weights and cache in " << query.dtype << ":\n";
  row("weights (" + std::to_string(params) + " parameters)", weights_bytes);
  if (cache_known)
    row("decode cache after " + std::to_string(query.context) + " tokens", cache_bytes);
  else
    os << "  decode cache: unknown (a mixer declares no cost)\n";
  row("total", decode_bytes(), !cache_known ? "" : decode_fits() ? "fits" : "does not fit");
  os << "  longest context that fits: " << tokens_text(max_decode_context) << "\n";
  os << "training with AdamW, batch " << query.batch << " x " << query.seq_len << " tokens, activations in "
     << query.dtype << ":\n";
  row("weights, gradients, AdamW moments (16 B per parameter)", train_state_bytes);
  if (activations_known) {
    row("activations kept for the backward", activation_bytes);
    row("backward workspace (logits' gradient, two layers)", workspace_bytes);
  } else {
    os << "  activations: unknown (a component declares no cost)\n";
  }
  row("total", train_bytes(), !activations_known ? "" : train_fits() ? "fits" : "does not fit");
  os << "  longest sequence that fits: " << tokens_text(max_train_seq_len) << "\n";
  return os.str();
}

std::string MemoryPlan::to_json() const {
  nlohmann::ordered_json j;
  j["budget_bytes"] = query.budget_bytes;
  j["budget"] = query.budget_name;
  j["dtype"] = query.dtype;
  j["batch"] = query.batch;
  j["context"] = query.context;
  j["seq_len"] = query.seq_len;
  j["params"] = params;
  j["weights_bytes"] = weights_bytes;
  const auto known = [](bool k, std::int64_t v) { return k ? nlohmann::ordered_json(v) : nlohmann::ordered_json(); };
  j["cache_bytes"] = known(cache_known, cache_bytes);
  j["decode_bytes"] = known(cache_known, decode_bytes());
  j["decode_fits"] = decode_fits();
  j["train_state_bytes"] = train_state_bytes;
  j["activation_bytes"] = known(activations_known, activation_bytes);
  j["workspace_bytes"] = known(activations_known, workspace_bytes);
  j["train_bytes"] = known(activations_known, train_bytes());
  j["train_fits"] = train_fits();
  // null: unknown; -1: unbounded (the state does not grow)
  j["max_decode_context"] = known(max_decode_context != kUnknown, max_decode_context);
  j["max_train_seq_len"] = known(max_train_seq_len != kUnknown, max_train_seq_len);
  return j.dump(2) + "\n";
}

}  // namespace strata
