#include "strata/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "strata/autograd.h"
#include "strata/error.h"

namespace strata {

void validate(const SamplingOptions& o) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    throw ValueError("temperature must be >= 0 (0: greedy), got " + std::to_string(o.temperature));
  if (o.top_k < 0) throw ValueError("top_k must be >= 0 (0: off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0))
    throw ValueError("top_p must be in (0, 1] (1: off), got " + std::to_string(o.top_p));
}

std::int64_t sample_token(std::span<const float> logits, const SamplingOptions& o, Generator& gen) {
  const std::int64_t V = std::int64_t(logits.size());
  if (V == 0) throw ValueError("sample_token: empty logits");
  if (o.temperature == 0.0) return std::max_element(logits.begin(), logits.end()) - logits.begin();

  // Candidates by descending logit (ties: lower id first), cut to top_k.
  std::vector<std::int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  const std::int64_t k = o.top_k > 0 ? std::min(o.top_k, V) : V;
  const auto by_logit = [&](std::int64_t a, std::int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), by_logit);
  order.resize(k);

  std::vector<double> p(k);
  const double top = logits[order[0]];
  double sum = 0;
  for (std::int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((double(logits[order[i]]) - top) / o.temperature);
  // Nucleus: the shortest prefix whose mass reaches top_p (always at least one token).
  std::int64_t keep = k;
  if (o.top_p < 1.0) {
    double mass = 0;
    for (std::int64_t i = 0; i < k; ++i) {
      mass += p[i] / sum;
      if (mass >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  const double kept = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  const double u = double(gen.next_u64() >> 11) * 0x1.0p-53 * kept;  // uniform in [0, kept)
  double cumulative = 0;
  for (std::int64_t i = 0; i < keep; ++i) {
    cumulative += p[i];
    if (u < cumulative) return order[i];
  }
  return order[keep - 1];
}

std::map<std::string, std::size_t> cache_bytes_by_mixer(const Model& model, const DecodeState& state) {
  std::map<std::string, std::size_t> out;
  for (std::size_t i = 0; i < state.layers.size() && i < model.plan().size(); ++i)
    out[model.plan()[i].mixer_type] += state.layers[i] ? state.layers[i]->size_bytes() : 0;
  return out;
}

GenerateResult generate(Model& model, const Tensor& prompt, const GenerateOptions& options, Generator& gen) {
  validate(options.sampling);
  if (prompt.rank() != 2 || prompt.dtype() != DType::i64 || prompt.size(1) < 1)
    throw ShapeError("generate: the prompt must be token ids [B, T0] (i64, T0 >= 1), got " +
                     prompt.shape().to_string() + " " + std::string(dtype_name(prompt.dtype())));
  if (options.max_new_tokens < 0) throw ValueError("generate: max_new_tokens must be >= 0");
  const std::int64_t B = prompt.size(0);
  const std::int64_t V = model.dims().vocab_size;
  for (std::int64_t id : prompt.to_vector<std::int64_t>())
    if (id < 0 || id >= V)
      throw ValueError("generate: prompt token " + std::to_string(id) + " is outside the vocabulary [0, " +
                       std::to_string(V) + ")");

  autograd::NoGradGuard no_grad;
  const bool was_training = model.training();
  model.train(false);
  GenerateResult result;
  result.tokens.assign(B, {});
  DecodeState state = model.make_decode_state(B);
  StepContext ctx(false);
  std::vector<bool> done(B, false);
  using clock = std::chrono::steady_clock;

  // The model's device decodes (its decode state lives there); sampling reads the last
  // position's logits on the host, one [B, 1, V] copy per step.
  const Device device = model.device();
  Tensor input = prompt.to(device);
  for (std::int64_t step = 0; step < options.max_new_tokens; ++step) {
    const auto start = clock::now();
    const Tensor out = model.forward_step(input, state, ctx);  // [B, T', V]
    const Tensor last_logits =  // [B, 1, V] on the host
        out.slice(1, out.size(1) - 1, out.size(1)).to(Device::cpu()).to(DType::f32).contiguous();
    const float* last = last_logits.data<float>();
    std::vector<std::int64_t> next(B);
    for (std::int64_t b = 0; b < B; ++b) {
      // A finished sequence keeps feeding its stop token; its outputs are dropped.
      next[b] = done[b] ? options.stop_token
                        : sample_token({last + b * V, std::size_t(V)}, options.sampling, gen);
      if (!done[b]) result.tokens[b].push_back(next[b]);
      if (next[b] == options.stop_token) done[b] = true;
    }
    const double seconds = std::chrono::duration<double>(clock::now() - start).count();
    if (step == 0) {
      result.prefill_seconds = seconds;
    } else {
      result.decode_seconds += seconds;
      result.decoded_tokens += B;
    }
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; })) break;
    input = Tensor::from_vector(next, {B, 1}).to(device);
  }
  result.cache_bytes_by_mixer = cache_bytes_by_mixer(model, state);
  result.cache_bytes = state.size_bytes();
  model.train(was_training);
  return result;
}

}  // namespace strata
