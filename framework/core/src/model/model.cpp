#include "strata/model.h"
#include "strata/packing.h"

#include <iomanip>
#include <sstream>

#include "model/model_layers.h"
#include "strata/autograd.h"
#include "strata/error.h"
#include "strata/ops.h"

namespace strata {

std::size_t DecodeState::size_bytes() const {
  std::size_t total = 0;
  for (const auto& s : layers) total += s ? s->size_bytes() : 0;
  return total;
}

namespace detail {

const Config& model_entry_config(const Config& model, const std::string& key, const std::string& entry) {
  const auto& names = model.component_names(key);
  const auto& configs = model.components(key);
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == entry) return configs[i];
  throw model.error(key, "the stack names entry '" + entry + "', which is not declared under [model." + key + "]",
                    "declared: " + join_names(names));
}

ModelDims resolve_model_dims(const Config& config, ModelDims dims) {
  const std::int64_t task_vocab = dims.vocab_size;
  if (config.integer("vocab_size") > 0) {
    if (config.integer("vocab_size") < task_vocab) {
      throw config.error("vocab_size", "is smaller than the task's vocabulary (" + std::to_string(task_vocab) + ")",
                         "use 0 to take the task's vocabulary");
    }
    dims.vocab_size = config.integer("vocab_size");
  }
  dims.d_model = config.integer("d_model");
  dims.n_layers = config.integer("n_layers");
  return dims;
}

std::vector<LayerSpec> plan_layers(const Config& config, const ComponentRegistry& registry, const BuildContext& ctx) {
  const auto stack = registry.create<Stack>(config.component("stack"), ctx);
  StackInputs inputs{ctx.dims.n_layers, config.component_names("mixer"), config.component_names("ffn")};
  std::vector<LayerSpec> layers = stack->plan(inputs);
  if (std::int64_t(layers.size()) != ctx.dims.n_layers) {
    throw config.error("stack", "the stack planned " + std::to_string(layers.size()) +
                                    " layers for n_layers = " + std::to_string(ctx.dims.n_layers));
  }
  return layers;
}

}  // namespace detail

std::shared_ptr<Model> Model::build(const Config& config, const ComponentRegistry& registry, ModelDims dims,
                                    Generator& gen, DType dtype, Communicator* data_parallel) {
  std::shared_ptr<Model> model(new Model());
  dims = detail::resolve_model_dims(config, dims);
  model->dims_ = dims;
  model->tied_ = config.boolean("tie_embeddings");
  model->embedding_multiplier_ = config.number("embedding_multiplier");
  model->logits_scaling_ = config.number("logits_scaling");
  const nn::NormKind norm = nn::parse_norm_kind(config.string("norm"));
  const Config& block_config = config.component("block");
  const double eps = config.number("norm_eps");

  BuildContext ctx;
  ctx.dims = dims;
  ctx.dtype = dtype;
  ctx.gen = &gen;
  ctx.registry = &registry;
  ctx.data_parallel = data_parallel;

  const std::vector<LayerSpec> layers = detail::plan_layers(config, registry, ctx);

  model->embedding_ = model->register_module(
      "embedding",
      std::make_shared<nn::Embedding>(dims.vocab_size, dims.d_model, config.number("init_std"), gen, dtype));
  auto layer_list = model->register_module("layers", std::make_shared<ModuleList>());
  for (std::size_t i = 0; i < layers.size(); ++i) {
    ctx.layer = static_cast<int>(i);
    LayerPlan plan;
    plan.index = static_cast<int>(i);
    plan.mixer_entry = layers[i].mixer;
    const Config& mixer_config = detail::model_entry_config(config, "mixer", layers[i].mixer);
    plan.mixer_type = mixer_config.type();
    auto mixer = registry.create<Mixer>(mixer_config, ctx);
    if (!mixer->causal()) {
      throw mixer_config.error("type", "mixer \"" + plan.mixer_type +
                                           "\" is not causal; a language model needs "
                                           "outputs that depend only on earlier tokens");
    }
    plan.mixer_params = mixer->num_parameters();
    std::shared_ptr<Ffn> ffn;
    if (!layers[i].ffn.empty()) {
      plan.ffn_entry = layers[i].ffn;
      const Config& ffn_config = detail::model_entry_config(config, "ffn", layers[i].ffn);
      plan.ffn_type = ffn_config.type();
      ffn = registry.create<Ffn>(ffn_config, ctx);
      plan.ffn_params = ffn->num_parameters();
    }
    auto block = registry.create<Block>(block_config, ctx);
    plan.block_type = block_config.type();
    block->assemble(static_cast<int>(i), BlockParts{std::move(mixer), std::move(ffn), norm, eps});
    layer_list->append(block);  // parameters read layers.3.mixer.*
    model->blocks_.push_back(block);
    model->plan_.push_back(plan);
  }
  model->final_norm_ = model->register_module("final_norm", std::make_shared<nn::Norm>(norm, dims.d_model, eps, dtype));
  if (!model->tied_) {
    model->head_ = model->register_parameter(
        "head", nn::normal_init({dims.vocab_size, dims.d_model}, config.number("init_std"), gen, dtype));
  }
  return model;
}

Tensor Model::logits(const Tensor& h) const {
  const Tensor out = linear(final_norm_->forward(h), tied_ ? embedding_->weight() : head_);
  return logits_scaling_ == 1.0 ? out : scale(out, 1.0 / logits_scaling_);
}

void Model::check_packed_batch(const Tensor& ids, bool decoding, const StepContext& ctx) const {
  check_sequence_starts(ctx.sequence_starts(), ids.size(0), ids.size(1), "Model::forward (packed batch)");
  if (decoding)
    throw ValueError("Model::forward_step: packed documents cannot be decoded",
                     "decode one document per row (unset the step context's sequence starts)");
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Block& b = *blocks_[i];
    if (!b.mixer().supports_packed_sequences())
      throw ValueError(b.mixer_scope() + " (" + plan_[i].mixer_type + ") cannot keep packed documents apart",
                       "train it on one document per row (the task's layout = \"padded\" or documents = \"stream\"), "
                       "or implement Mixer::supports_packed_sequences in its plugin");
    if (b.ffn() && !b.ffn()->supports_packed_sequences())
      throw ValueError(b.ffn_scope() + " (" + plan_[i].ffn_type + ") cannot keep packed documents apart",
                       "train it on one document per row, or implement Ffn::supports_packed_sequences in its plugin");
  }
}

Tensor Model::run(const Tensor& ids, DecodeState* state, StepContext& ctx, const Observer* observe) {
  if (ids.rank() != 2 || ids.dtype() != DType::i64) {
    throw ShapeError("Model::forward expects token ids [B, T] of dtype i64, got " + ids.shape().to_string() + " " +
                     std::string(dtype_name(ids.dtype())));
  }
  ctx.set_token_ids(ids);
  if (ctx.sequence_starts().defined()) check_packed_batch(ids, state != nullptr, ctx);
  Tensor h = embedding_->forward(ids);  // [B, T, D]
  if (embedding_multiplier_ != 1.0) h = scale(h, embedding_multiplier_);
  if (observe) (*observe)("embedding", h);
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    Block& b = *blocks_[i];
    // Diagnosis only (a plain forward builds nothing here): the observer names each
    // output with its component type, "layers.3.mixer (mamba)". It lives on this stack
    // frame, so the guard unsets it however forward ends.
    Block::Observer named;
    if (observe)
      named = [&](const std::string& scope, const Tensor& out) {
        (*observe)(scope + " (" + (scope == b.mixer_scope() ? plan_[i].mixer_type : plan_[i].ffn_type) + ")", out);
      };
    struct ObserverGuard {
      Block& block;
      ~ObserverGuard() { block.set_observer(nullptr); }
    } guard{b};
    b.set_observer(observe ? &named : nullptr);
    ctx.set_scope(b.scope());
    h = b.forward(h, state ? state->layers[i].get() : nullptr, ctx);  // [B, T, D]
  }
  ctx.set_scope("");
  const Tensor out = logits(h);
  if (observe) (*observe)("final_norm / LM head", out);
  return out;
}

Tensor Model::forward(const Tensor& ids, StepContext& ctx) { return run(ids, nullptr, ctx); }

std::vector<MetricSeries> Model::metric_series() const {
  std::vector<MetricSeries> out;
  const auto add = [&out](const Module* m, const std::string& scope) {
    if (m)
      for (const MetricSeries& s : m->metric_series()) out.push_back(scoped_series(s, scope));
  };
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    const Block& b = *blocks_[i];
    add(&b, b.scope());  // the block's own series (a gate of a custom layout, say)
    add(&b.mixer(), b.mixer_scope());
    add(b.ffn(), b.ffn_scope());
  }
  return out;
}

std::string Model::first_nonfinite_activation(const Tensor& ids, StepContext& ctx) {
  autograd::NoGradGuard no_grad;
  std::string first;
  const Observer check = [&](const std::string& where, const Tensor& h) {
    if (first.empty() && !all_finite(h)) first = where;
  };
  run(ids, nullptr, ctx, &check);
  return first;
}

DecodeState Model::make_decode_state(std::int64_t batch) const {
  DecodeState state;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    // Aliasing pointer: the state keeps its block (and so the mixer and its plugin) alive.
    std::shared_ptr<Mixer> mixer(blocks_[i], &blocks_[i]->mixer());
    std::unique_ptr<MixerState> raw = mixer->make_state(batch);
    if (!raw) {
      throw NotImplementedError("layer " + std::to_string(i) + ": mixer \"" + plan_[i].mixer_type +
                                "\" does not support recurrent decoding");
    }
    // Host-side deleter: the state keeps its mixer (and so the mixer's plugin) alive.
    state.layers.emplace_back(raw.release(), [mixer](MixerState* s) { delete s; });
  }
  return state;
}

Tensor Model::forward_step(const Tensor& ids, DecodeState& state, StepContext& ctx) {
  if (state.layers.size() != blocks_.size()) {
    throw ValueError("decode state has " + std::to_string(state.layers.size()) + " layers, the model " +
                     std::to_string(blocks_.size()));
  }
  Tensor out = run(ids, &state, ctx);
  state.position += ids.size(1);
  return out;
}

std::string Model::describe() const {
  std::ostringstream os;
  const std::int64_t embed = dims_.vocab_size * dims_.d_model;
  std::int64_t norms = final_norm_->num_parameters();
  for (const auto& b : blocks_)  // the blocks' own parameters (prenorm: its two norms)
    norms += b->num_parameters() - b->mixer().num_parameters() - (b->ffn() ? b->ffn()->num_parameters() : 0);
  os << "model: d_model " << dims_.d_model << ", " << dims_.n_layers << " layers, vocab " << dims_.vocab_size
     << ", LM head " << (tied_ ? "tied to the embedding" : "untied") << "\n";
  os << std::left << std::setw(7) << "layer" << std::setw(26) << "mixer" << std::right << std::setw(12) << "params"
     << "   " << std::left << std::setw(26) << "ffn" << std::right << std::setw(12) << "params"
     << "\n";
  std::int64_t mixers = 0, ffns = 0;
  for (const LayerPlan& p : plan_) {
    os << std::left << std::setw(7) << p.index << std::setw(26) << (p.mixer_entry + " (" + p.mixer_type + ")")
       << std::right << std::setw(12) << p.mixer_params << "   " << std::left << std::setw(26)
       << (p.ffn_entry.empty() ? std::string("-") : p.ffn_entry + " (" + p.ffn_type + ")") << std::right
       << std::setw(12) << p.ffn_params << "\n";
    mixers += p.mixer_params;
    ffns += p.ffn_params;
  }
  os << "parameters:\n";
  os << "  embedding        " << std::setw(12) << embed << "\n";
  os << "  mixers           " << std::setw(12) << mixers << "\n";
  os << "  ffns             " << std::setw(12) << ffns << "\n";
  os << "  norms            " << std::setw(12) << norms << "\n";
  if (!tied_) os << "  LM head          " << std::setw(12) << dims_.vocab_size * dims_.d_model << "\n";
  os << "  total            " << std::setw(12) << num_parameters() << "\n";
  return os.str();
}

}  // namespace strata
