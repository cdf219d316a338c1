#include "balance_terms.h"

#include <strata/communicator.h>
#include <strata/error.h>
#include <strata/ops.h>

#include <string>
#include <vector>

namespace strata::moe_plugin {

namespace {

enum class Normalization { switch_top1, topk, hf };
enum class Scope { batch, sequence, global };

class SwitchAux : public Balance {
 public:
  SwitchAux(double alpha, Normalization normalization, Scope scope)
      : alpha_(alpha), normalization_(normalization), scope_(scope) {}

  Tensor loss(const Routing& r, StepContext& ctx) override {
    const std::int64_t N = r.probs.size(0), E = r.n_experts, k = r.expert_ids.size(1);
    // Counted slots of each token: the first (top-1) for "switch", all k otherwise.
    const std::vector<std::int64_t> ids = r.expert_ids.to_vector<std::int64_t>();
    const std::int64_t counted = normalization_ == Normalization::switch_top1 ? 1 : k;
    // Slots per slot-normalised token: f_i = counts_i / (N * per_token).
    const double per_token = normalization_ == Normalization::hf ? 1.0 : double(counted);
    // The group (sequence, or packed document) of each token for the sequence scope; empty
    // otherwise: every token in group 0.
    const std::vector<std::int64_t> group_of = scope_ == Scope::sequence ? sequence_of_tokens(r) : std::vector<std::int64_t>{};
    const std::int64_t groups = group_of.empty() ? 1 : group_of.back() + 1;
    std::vector<double> group_len(std::size_t(groups), 0.0);
    if (group_of.empty()) group_len[0] = double(N);
    for (const std::int64_t g : group_of) group_len[std::size_t(g)] += 1.0;
    std::vector<double> f(std::size_t(groups * E), 0.0);
    for (std::int64_t t = 0; t < N; ++t) {
      const std::int64_t g = group_of.empty() ? 0 : group_of[std::size_t(t)];
      for (std::int64_t j = 0; j < counted; ++j) {
        const std::int64_t e = ids[std::size_t(t * k + j)];
        if (e >= 0) f[std::size_t(g * E + e)] += 1.0;
      }
    }
    // The global scope counts over the training step; an evaluation forward (no step to
    // count over) counts its own tokens, as the batch scope does, and leaves the step's alone.
    if (scope_ == Scope::global && ctx.training()) {
      // This micro-batch's counts and tokens, summed over the data-parallel ranks when
      // training data parallel (Megatron-Core's global-batch load balancing).
      std::vector<double> counted_here(f.begin(), f.begin() + E);
      counted_here.push_back(double(N));
      if (Communicator* ranks = ctx.data_parallel(); ranks != nullptr && ctx.training())
        ranks->all_reduce_sum(std::span<double>(counted_here));
      if (step_counts_.empty()) step_counts_.assign(std::size_t(E), 0.0);
      for (std::int64_t e = 0; e < E; ++e) step_counts_[std::size_t(e)] += counted_here[std::size_t(e)];
      step_tokens_ += counted_here[std::size_t(E)];
      for (std::int64_t e = 0; e < E; ++e) f[std::size_t(e)] = step_counts_[std::size_t(e)] / (step_tokens_ * per_token);
    } else {
      for (std::int64_t g = 0; g < groups; ++g)
        for (std::int64_t e = 0; e < E; ++e) f[std::size_t(g * E + e)] /= group_len[std::size_t(g)] * per_token;
    }
    const Device device = r.probs.device();  // counted on the host, used where the router ran
    const Tensor fraction = Tensor::from_vector(f, {groups, E}).to(r.probs.dtype()).to(device);
    // P: each group's mean router probabilities, [groups, E]
    Tensor P;
    if (groups == 1) {
      P = unsqueeze(mean(r.probs, {0}), 0);
    } else {
      std::vector<double> inv_len(group_len.size());
      for (std::size_t g = 0; g < group_len.size(); ++g) inv_len[g] = 1.0 / group_len[g];
      const Tensor sums = index_add(Tensor::zeros({groups, E}, r.probs.dtype(), device), 0,
                                    Tensor::from_vector(group_of, {N}).to(device), r.probs);
      P = mul(sums, Tensor::from_vector(inv_len, {groups, 1}).to(r.probs.dtype()).to(device));
    }
    // alpha E sum_i f_i P_i, averaged over the groups (sequences).
    return mul(sum(mul(fraction, P)), alpha_ * double(E) / double(groups));
  }

  // The global scope's counts cover one optimizer step.
  void after_step() override {
    step_counts_.clear();
    step_tokens_ = 0;
  }

 private:
  // The sequence of each of the routing's N tokens: its packed document, or token / seq_len.
  std::vector<std::int64_t> sequence_of_tokens(const Routing& r) const {
    const std::int64_t N = r.probs.size(0);
    if (!r.sequence_ids.empty()) {
      if (std::int64_t(r.sequence_ids.size()) != N)
        throw ValueError("switch_aux: the routing has " + std::to_string(N) + " tokens but " +
                         std::to_string(r.sequence_ids.size()) + " sequence ids");
      return r.sequence_ids;
    }
    if (r.seq_len <= 0 || N % r.seq_len != 0)
      throw ValueError("switch_aux: scope = \"sequence\" needs whole sequences, but the routing has " +
                           std::to_string(N) + " tokens and seq_len " + std::to_string(r.seq_len),
                       "use scope = \"batch\" with an ffn that does not route whole sequences");
    std::vector<std::int64_t> group(static_cast<std::size_t>(N));
    for (std::int64_t t = 0; t < N; ++t) group[std::size_t(t)] = t / r.seq_len;
    return group;
  }

  double alpha_;
  Normalization normalization_;
  Scope scope_;
  std::vector<double> step_counts_;
  double step_tokens_ = 0;
};

class ZLoss : public Balance {
 public:
  explicit ZLoss(double coef) : coef_(coef) {}
  Tensor loss(const Routing& r, StepContext&) override {
    // logsumexp(l) = l_0 - log_softmax(l)_0, from ops that carry a gradient.
    const Tensor lse = sub(slice(r.logits, 1, 0, 1), slice(log_softmax(r.logits), 1, 0, 1));  // [N, 1]
    return mul(mean(square(lse)), coef_);
  }

 private:
  double coef_;
};

class NoBalance : public Balance {
 public:
  Tensor loss(const Routing&, StepContext&) override { return {}; }
};

}  // namespace

void register_balance_terms(PluginRegistrar& registrar) {
  ConfigSchema aux;
  aux.number("alpha", 0.01, "coefficient (Switch, Megatron: 1e-2; DeepSeek-V3 sequence-wise: 1e-4)").at_least(0.0);
  aux.string("normalization", "topk",
             "switch: top-1 counts; topk: counts / (k N), as Megatron; hf: counts / N, as Hugging Face (k x stronger)")
      .one_of({"switch", "topk", "hf"});
  aux.string("scope", "batch", "batch (this forward's tokens), sequence (per sequence, averaged), or global (counts over the step's "
             "micro-batches and, under mpirun, all data-parallel ranks)")
      .one_of({"batch", "sequence", "global"});
  registrar.add<Balance>("switch_aux", "Switch-style load-balancing loss alpha E sum_i f_i P_i", aux,
                         [](const Config& c, const BuildContext&) {
                           const std::string& n = c.string("normalization");
                           const std::string& s = c.string("scope");
                           return std::make_unique<SwitchAux>(
                               c.number("alpha"),
                               n == "switch" ? Normalization::switch_top1 : n == "hf" ? Normalization::hf : Normalization::topk,
                               s == "sequence" ? Scope::sequence : s == "global" ? Scope::global : Scope::batch);
                         });
  ConfigSchema z;
  z.number("coef", 1e-3, "coefficient (ST-MoE, Megatron, megablocks: 1e-3)").at_least(0.0);
  registrar.add<Balance>("z_loss", "router z-loss coef * mean_t logsumexp(logits_t)^2 (ST-MoE)", z,
                         [](const Config& c, const BuildContext&) { return std::make_unique<ZLoss>(c.number("coef")); });
  registrar.add<Balance>("none", "no balancing term", ConfigSchema{},
                         [](const Config&, const BuildContext&) { return std::make_unique<NoBalance>(); });
}

}  // namespace strata::moe_plugin
