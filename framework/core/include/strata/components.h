#pragma once
// The interfaces of model and experiment components. A factory (registry.h) builds one
// from a validated Config and a BuildContext; plugins implement these interfaces.
//
// Shapes: B batch, T time (sequence), D d_model, N tokens (= B*T), E experts, k top_k,
// V vocabulary.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/config.h"
#include "strata/module.h"
#include "strata/nn.h"
#include "strata/random.h"
#include "strata/tensor.h"

namespace strata {

class ComponentRegistry;
class Tokenizer;
class Communicator;

// The model's dimensions, as a factory sees them.
struct ModelDims {
  std::int64_t d_model = 0;
  std::int64_t vocab_size = 0;
  std::int64_t n_layers = 0;
  std::int64_t max_seq_len = 0;  // the longest sequence the task produces
};

// Everything a factory gets besides its own config.
struct BuildContext {
  ModelDims dims;
  int layer = -1;                               // index of the layer being built; -1 outside layers
  DType dtype = DType::f32;                     // parameters' dtype (f64 in gradient checks)
  Generator* gen = nullptr;                     // for parameter initialisation; never null in a factory call
  const ComponentRegistry* registry = nullptr;  // to build nested components (e.g. a router)
  // Named integers that a component passes to the components it builds, for sizes their
  // own tables do not hold (the moe plugin's ffn passes "n_experts" and "top_k" to its
  // router and balance terms). The names are a contract between the plugins involved;
  // the core never reads them.
  std::map<std::string, std::int64_t, std::less<>> from_parent;
  // The data-parallel group the model will train on (null: one process). A component may
  // shard its parameters over it (an moe ffn with expert_parallel: ParameterShard).
  Communicator* data_parallel = nullptr;

  // from_parent[name]; a ConfigError located at `config` when the parent did not pass it
  // (the component was built outside a parent that provides it).
  std::int64_t parent_integer(std::string_view name, const Config& config) const;
};

// Per-step side channel between the model and the trainer: auxiliary loss terms (summed
// into the training loss) and telemetry (logged), each under a scoped name such as
// "layers.3.ffn.balance". Nothing here is global: the trainer owns one per step.
class StepContext {
 public:
  StepContext() = default;
  explicit StepContext(bool training, Generator* gen = nullptr) : training_(training), gen_(gen) {}

  bool training() const { return training_; }
  // For stochastic components (router noise, dropout); null in deterministic evaluation.
  Generator* generator() const { return gen_; }
  // ids: [B, T] i64, the tokens of this forward (hash routers need them); may be undefined.
  const Tensor& token_ids() const { return token_ids_; }
  void set_token_ids(Tensor ids) { token_ids_ = std::move(ids); }
  // starts: [B, T] i64, where each token's document begins in its row, for a batch of
  // packed documents (strata/packing.h); undefined: one sequence per row. Mixers that
  // declare supports_packed_sequences() keep the documents apart.
  const Tensor& sequence_starts() const { return sequence_starts_; }
  void set_sequence_starts(Tensor starts) { sequence_starts_ = std::move(starts); }
  // The data-parallel group of this training step (strata/communicator.h): the ranks that
  // each compute a shard of the same global batch. Null in evaluation, decoding and
  // single-process training. Terms that count over the global batch (switch_aux's global
  // scope, the aux-free bias) sum their counts over it.
  Communicator* data_parallel() const { return data_parallel_; }
  void set_data_parallel(Communicator* group) { data_parallel_ = group; }

  // The scope prefixed to names added below; the model sets it per layer.
  void set_scope(std::string scope) { scope_ = std::move(scope); }
  const std::string& scope() const { return scope_; }

  // loss: rank-0, differentiable, already multiplied by its coefficient.
  void add_aux_loss(const std::string& name, const Tensor& loss);
  // A number to log under a declared series (strata/telemetry.h; the trainer reduces it
  // over the steps between two log lines as the declaration says).
  void add_metric(const std::string& name, double value);
  // Element `index` of a vector or histogram series ("name.<index>").
  void add_metric_at(const std::string& name, std::int64_t index, double value);
  // Element (i, j) of a matrix series ("name.<i>.<j>").
  void add_metric_at(const std::string& name, std::int64_t i, std::int64_t j, double value);

  struct AuxLoss {
    std::string name;
    Tensor value;
  };
  const std::vector<AuxLoss>& aux_losses() const { return aux_losses_; }
  const std::map<std::string, double>& metrics() const { return metrics_; }
  // Sum of all auxiliary losses (an undefined Tensor when there are none).
  Tensor total_aux_loss() const;
  void clear();

 private:
  std::string scoped(const std::string& name) const;
  bool training_ = false;
  Generator* gen_ = nullptr;
  Tensor token_ids_;
  Tensor sequence_starts_;
  Communicator* data_parallel_ = nullptr;
  std::string scope_;
  std::vector<AuxLoss> aux_losses_;
  std::map<std::string, double> metrics_;
};

// ---- analytic cost -------------------------------------------------------------------

// What a mixer or ffn costs, computed from its config alone, without allocating it: so
// that `strata inspect` can plan published models far larger than memory. A component
// declares it next to its factory (PluginRegistrar::add); tests compare it with the
// built component.
struct CostQuery {
  std::int64_t context = 0;  // tokens of history a decoded token sees; the length of a training sequence
};
struct ComponentCost {
  std::int64_t params = 0;         // every parameter (what num_parameters() counts)
  std::int64_t active_params = 0;  // those one token uses (MoE: the top_k routed experts, router, shared)
  double flops_per_token = 0;      // forward multiply-adds x 2 for one token at `context` history
  std::int64_t state_elements = 0;  // decode state per sequence after `context` tokens (KV, conv, SSM)
  // Elements a training forward keeps for the backward, for one sequence of `context` tokens
  // (what its ops save: projections' inputs, attention's q, k, v, output and log-sum-exp,
  // the scan's checkpoints, ...); -1: not declared. docs/planning.md says how it is used.
  std::int64_t activation_elements = -1;
  // The backward's transient beyond what the layers hold, for one sequence: naive
  // attention's gradients of the probabilities and the scores (2 x heads x T x T).
  std::int64_t backward_elements = 0;
};
using ComponentCostFn = std::function<ComponentCost(const Config&, const BuildContext&, const CostQuery&)>;

// ---- mixer -------------------------------------------------------------------------

// A mixer's recurrent inference state for a batch of sequences (KV cache, conv + SSM
// state, ...). Created by the mixer; holds whatever it needs to continue the sequences.
class MixerState : public Component {
 public:
  virtual std::size_t size_bytes() const = 0;
  // Number of tokens consumed so far.
  virtual std::int64_t position() const = 0;
};

class Mixer : public Module {
 public:
  // x: [B, T, D] -> [B, T, D]; output t may depend only on inputs <= t when causal().
  virtual Tensor forward(const Tensor& x, StepContext& ctx) = 0;
  virtual bool causal() const { return true; }
  // Whether forward() keeps packed documents apart when ctx.sequence_starts() is set (no
  // output of one document depends on another). The model refuses a packed batch for a
  // mixer that does not declare it.
  virtual bool supports_packed_sequences() const { return false; }

  // Token-by-token (or chunk-by-chunk) decoding. A mixer that supports it returns a fresh
  // state for `batch` sequences from make_state; the default returns null (unsupported).
  virtual std::unique_ptr<MixerState> make_state(std::int64_t batch) const;
  // x: [B, T', D], the next T' tokens of the sequences in `state` -> [B, T', D]; updates
  // the state. Must equal the matching rows of forward() over the whole sequence.
  virtual Tensor forward_step(const Tensor& x, MixerState& state, StepContext& ctx);
};

// ---- ffn ---------------------------------------------------------------------------

class Ffn : public Module {
 public:
  // x: [B, T, D] -> [B, T, D] (may add aux losses and telemetry to ctx)
  virtual Tensor forward(const Tensor& x, StepContext& ctx) = 0;
  // Whether output t depends on input t alone. False for MoE with expert capacity or
  // expert-choice routing, where tokens compete for expert slots.
  virtual bool token_independent() const { return true; }
  // Whether forward() handles packed documents (ctx.sequence_starts()); token-independent
  // ffns do by construction. An MoE ffn declares it when its per-sequence terms count per
  // document.
  virtual bool supports_packed_sequences() const { return token_independent(); }
};

// ---- router and balance terms (used by MoE ffns) ------------------------------------

struct Routing {
  std::int64_t n_experts = 0;
  std::int64_t top_k = 0;
  Tensor expert_ids;  // [N, k] i64, the experts each token is sent to (-1: dropped slot)
  Tensor gates;       // [N, k], combine weights (differentiable)
  Tensor probs;       // [N, E], router probabilities (differentiable; for balance losses)
  Tensor logits;      // [N, E], router logits before the softmax/sigmoid (z-loss)
  Tensor counts;      // [E] i64, tokens assigned to each expert
  // Tokens per sequence (the N tokens are N / seq_len sequences in order); 0 when the
  // tokens are not whole sequences. Set by the ffn, read by per-sequence balance terms.
  std::int64_t seq_len = 0;
  // For packed documents (StepContext::sequence_starts): the document of each of the N
  // tokens, numbered from 0 in order (strata/packing.h sequence_ids); empty otherwise.
  // Per-sequence balance terms count per document when it is set.
  std::vector<std::int64_t> sequence_ids;
  // The router's own payload: tensors that only some routers produce and only some
  // balance terms read (noisy top-k's noisy logits and noise scale, for the smooth load
  // estimator), by names the plugins involved agree on. The core never reads them.
  std::map<std::string, Tensor, std::less<>> extras;
  // extras[name], or an undefined Tensor when the router did not produce it.
  Tensor extra(std::string_view name) const;
};

class Router : public Module {
 public:
  // x: [N, D] -> routing of N tokens to n_experts
  virtual Routing route(const Tensor& x, StepContext& ctx) = 0;
  // False for routers whose choice for token t depends on later tokens (expert choice).
  virtual bool causal() const { return true; }
  // Routers that support it add bias[e] ([E]) to the scores they choose experts by, but not
  // to the gate values (DeepSeek-V3's auxiliary-loss-free balancing). The tensor is shared:
  // the controller that owns it updates it in place.
  virtual bool accepts_selection_bias() const { return false; }
  virtual void set_selection_bias(const Tensor& bias);
};

class Balance : public Module {
 public:
  // An auxiliary loss (rank-0, coefficient applied) for this routing, or undefined.
  virtual Tensor loss(const Routing& routing, StepContext& ctx) = 0;
  // A controller's expert selection bias ([E]) for the router, or undefined.
  virtual Tensor selection_bias() const { return {}; }
  // Controllers (e.g. expert-bias updates) override Module::after_step, which the trainer
  // calls after each optimizer step.
};

// ---- stack -------------------------------------------------------------------------

// One layer of the plan: the names of its mixer and ffn entries (as in [model.mixer.NAME]
// and [model.ffn.NAME]); an empty ffn means the block has no ffn (pure Mamba stacks).
struct LayerSpec {
  std::string mixer;
  std::string ffn;
};

struct StackInputs {
  std::int64_t n_layers = 0;
  std::vector<std::string> mixers;  // entry names declared under [model.mixer]
  std::vector<std::string> ffns;    // entry names declared under [model.ffn]
};

class Stack : public Component {
 public:
  // One LayerSpec per layer; throws ConfigError for a plan the inputs cannot satisfy.
  virtual std::vector<LayerSpec> plan(const StackInputs& inputs) const = 0;
};

// ---- block -------------------------------------------------------------------------

// What the model hands a layer's block: its mixer and ffn, and the model's norm settings.
struct BlockParts {
  std::shared_ptr<Mixer> mixer;
  std::shared_ptr<Ffn> ffn;  // null: the layer has no ffn
  nn::NormKind norm = nn::NormKind::rmsnorm;  // [model] norm and norm_eps, for the block's own norms
  double norm_eps = 1e-5;
};

// How one layer combines its mixer and ffn: norms, residuals, order. The model builds one
// block per layer from [model.block] (default "prenorm": x = x + mixer(norm(x));
// x = x + ffn(norm(x))), then hands it the layer's parts with assemble().
//
// A block implements build() and forward(). build() creates its own parameters and must
// register the mixer as "mixer" and the ffn (when there is one) as "ffn", so that
// parameter names stay layers.<i>.mixer.* and layers.<i>.ffn.* for every layout.
// forward() calls the mixer and ffn through run_mixer() and run_ffn(), which set the
// telemetry scope, pick the full-sequence or the decoding path, and let the model observe
// each output (non-finite diagnosis).
class Block : public Module {
 public:
  // Called once by the model right after the factory; `layer` names the scopes
  // ("layers.3.mixer"). Checks that build() registered the parts under their names.
  void assemble(int layer, BlockParts parts);

  // x: [B, T, D] -> [B, T, D]. `state` is the mixer's decoding state (forward_step), or
  // null for the full-sequence forward.
  virtual Tensor forward(const Tensor& x, MixerState* state, StepContext& ctx) = 0;

  Mixer& mixer() const { return *mixer_; }
  Ffn* ffn() const { return ffn_.get(); }
  // "layers.3": the scope of the block's own telemetry (the model sets it before forward;
  // run_mixer and run_ffn return to it).
  const std::string& scope() const { return scope_; }
  const std::string& mixer_scope() const { return mixer_scope_; }
  const std::string& ffn_scope() const { return ffn_scope_; }

  // Sees each mixer and ffn output as forward() produces it ("layers.3.mixer", h).
  using Observer = std::function<void(const std::string& scope, const Tensor& out)>;
  void set_observer(const Observer* observer) { observer_ = observer; }

 protected:
  // Creates the block's own parameters (norms, gates...) and registers parts.mixer as
  // "mixer" and parts.ffn as "ffn", in the order the parameters should be listed.
  virtual void build(const BlockParts& parts) = 0;
  // The mixer on x ([B, T, D] -> [B, T, D]): forward, or forward_step when decoding.
  Tensor run_mixer(const Tensor& x, MixerState* state, StepContext& ctx);
  // The ffn on x ([B, T, D] -> [B, T, D]); the layer must have one (ffn() != null).
  Tensor run_ffn(const Tensor& x, StepContext& ctx);

 private:
  std::shared_ptr<Mixer> mixer_;
  std::shared_ptr<Ffn> ffn_;
  std::string scope_, mixer_scope_, ffn_scope_;
  const Observer* observer_ = nullptr;
};

// ---- optimizer ---------------------------------------------------------------------

// The parameter update rule ([train.optimizer], default "adamw"). The trainer creates it,
// hands it the model's parameters once, and calls step() after each accumulated batch with
// the learning rate of its schedule. Its state (moments, momentum buffers...) is a list of
// named tensors that checkpoints save to optimizer.safetensors and restore by name, so a
// plugin optimizer is saved and resumed without code of its own.
class Optimizer : public Component {
 public:
  // Called once, before the first step, with the parameters in the model's order; calls
  // init_state(). NamedParameter::weight_decay says whether decay applies (not to norms,
  // biases and parameters their component marked).
  void set_parameters(std::vector<NamedParameter> params);
  const std::vector<NamedParameter>& params() const { return params_; }

  // One update with learning rate `lr`, without recording gradients: counts the step,
  // calls update(), and marks the parameters modified (tensors saved for a backward
  // through the old values become stale).
  void step(double lr);
  std::int64_t steps_taken() const { return steps_; }

  // The state tensors by name (e.g. "m.layers.0.mixer.in_proj.weight"): the live buffers.
  virtual std::vector<std::pair<std::string, Tensor>> state() const = 0;
  // Restores a saved state: every name of state() must be in `saved` with the same shape
  // (ValueError naming the first that is missing or differs); values are copied in.
  void load_state(std::int64_t steps, const std::map<std::string, Tensor, std::less<>>& saved);

 protected:
  // Allocates the state for params() (zeros, typically).
  virtual void init_state() = 0;
  // Updates every parameter that has a gradient; `step` is 1-based and counts this one.
  virtual void update(double lr, std::int64_t step) = 0;

 private:
  std::vector<NamedParameter> params_;
  std::int64_t steps_ = 0;
};

// ---- task --------------------------------------------------------------------------

struct Batch {
  Tensor inputs;   // [B, T] i64
  Tensor targets;  // [B, T] i64; -100 where no prediction is scored (a document's last token
                   // in a packed row, padding)
  // Packed documents: [B, T] i64, where each token's document starts in its row
  // (strata/packing.h); undefined when every row is one sequence.
  Tensor sequence_starts;
  // Input tokens that are padding (after a document shorter than the row), which the
  // trainer leaves out of tokens/s.
  std::int64_t padding = 0;
};

class Task : public Component {
 public:
  virtual std::int64_t vocab_size() const = 0;
  // Length T of the sequences in every batch.
  virtual std::int64_t seq_len() const = 0;
  // A fresh training batch drawn from `gen` (the trainer's data generator).
  virtual Batch train_batch(std::int64_t batch_size, Generator& gen) = 0;
  // Batch `index` of the fixed evaluation set: the same for every call and every run.
  virtual Batch eval_batch(std::int64_t index, std::int64_t batch_size) = 0;
  // Whether perplexity (exp of the loss) is a meaningful metric (text).
  virtual bool reports_perplexity() const { return false; }
  // Chance-level accuracy at the scored positions, for reports (0 when unknown).
  virtual double chance_accuracy() const { return 0.0; }
  // What the token ids stand for: the tokenizer that made them from text (text tasks);
  // null for synthetic tasks, whose ids are just symbols.
  virtual const Tokenizer* tokenizer() const { return nullptr; }
};

}  // namespace strata
