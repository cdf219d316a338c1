#pragma once
// The language model an experiment's [model] section describes:
//   token embedding -> n_layers x block -> final norm -> LM head (tied or untied),
// the embeddings times [model] embedding_multiplier and the logits divided by
// logits_scaling (both 1 but in Granite's models),
// where a block is a [model.block] component, by default pre-norm residual:
// x = x + mixer(norm(x));  x = x + ffn(norm(x)) (the ffn half is absent when the layer has
// no ffn). Which mixer and ffn each layer uses comes from the [model.stack] component;
// each layer builds its own instances.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/components.h"
#include "strata/config.h"
#include "strata/module.h"
#include "strata/nn.h"
#include "strata/registry.h"

namespace strata {

// The resolved plan of one layer.
struct LayerPlan {
  int index = 0;
  std::string mixer_entry;  // [model.mixer.<entry>]
  std::string mixer_type;   // its `type`
  std::string ffn_entry;    // "" when the layer has no ffn
  std::string ffn_type;
  std::string block_type;   // [model.block] type
  std::int64_t mixer_params = 0;
  std::int64_t ffn_params = 0;
};

// Recurrent state of every layer for decoding a batch of sequences.
struct DecodeState {
  std::vector<std::shared_ptr<MixerState>> layers;
  std::int64_t position = 0;  // tokens consumed
  std::size_t size_bytes() const;
};

class Model : public Module {
 public:
  // Builds from a validated [model] config. dims.vocab_size and dims.max_seq_len come from
  // the task; d_model and n_layers are filled in from the config. `data_parallel`: the
  // group the model will train on (BuildContext::data_parallel), null for one process.
  static std::shared_ptr<Model> build(const Config& model_config, const ComponentRegistry& registry, ModelDims dims,
                                      Generator& gen, DType dtype = DType::f32, Communicator* data_parallel = nullptr);

  // ids: [B, T] i64 -> logits [B, T, V]
  Tensor forward(const Tensor& ids, StepContext& ctx);

  // Decoding: a fresh state for `batch` sequences (NotImplementedError naming the layer
  // whose mixer cannot decode), then ids: [B, T'] -> logits [B, T', V] continuing them.
  DecodeState make_decode_state(std::int64_t batch) const;
  Tensor forward_step(const Tensor& ids, DecodeState& state, StepContext& ctx);

  // Runs the forward on ids ([B, T]) without gradients, checking every block's outputs:
  // the first that holds a non-finite value ("embedding", "layers.3.mixer", "layers.3.ffn",
  // "final_norm / LM head"), or "" when all are finite. For diagnosing a diverged run.
  std::string first_nonfinite_activation(const Tensor& ids, StepContext& ctx);

  // Every series the layers declare, with absolute names ("layers.1.ffn.load_cv").
  std::vector<MetricSeries> metric_series() const override;

  const ModelDims& dims() const { return dims_; }
  const std::vector<LayerPlan>& plan() const { return plan_; }
  // The per-layer plan and parameter counts per component, as `strata inspect` prints it.
  std::string describe() const;

 private:
  Model() = default;
  Tensor logits(const Tensor& h) const;  // h: [B, T, D] -> [B, T, V]
  // ids: [B, T] -> logits; the full-sequence forward, or decoding when `state` is set.
  // `observe` (diagnosis) sees the embedding, each mixer's and ffn's output, and the logits.
  using Observer = std::function<void(const std::string& where, const Tensor& h)>;
  Tensor run(const Tensor& ids, DecodeState* state, StepContext& ctx, const Observer* observe = nullptr);
  // ctx.sequence_starts() is valid for ids and every layer can keep documents apart.
  void check_packed_batch(const Tensor& ids, bool decoding, const StepContext& ctx) const;

  ModelDims dims_;
  bool tied_ = true;
  double embedding_multiplier_ = 1.0;  // [model] embedding_multiplier: h = multiplier * embedding(ids)
  double logits_scaling_ = 1.0;        // [model] logits_scaling: logits = head(h) / scaling
  std::shared_ptr<nn::Embedding> embedding_;
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<nn::Norm> final_norm_;
  Tensor head_;  // [V, D], untied only
  std::vector<LayerPlan> plan_;
};

}  // namespace strata
