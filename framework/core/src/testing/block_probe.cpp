#include "testing/block_probe.h"

#include "strata/nn.h"
#include "strata/ops.h"
#include "strata/packing.h"
#include "strata/testing/component_check.h"

namespace strata::testing {

namespace {

// The probe's decoding state: the last input token of each sequence.
class ShiftState : public MixerState {
 public:
  explicit ShiftState(Tensor last) : last_(std::move(last)) {}
  std::size_t size_bytes() const override { return last_.nbytes(); }
  std::int64_t position() const override { return position_; }
  Tensor last_;  // [B, 1, D]
  std::int64_t position_ = 0;
};

// y_t = W x_t + U x_{t-1}: causal, decodes, has parameters the gradient check can reach.
class ShiftMixer : public Mixer {
 public:
  ShiftMixer(std::int64_t d, Generator& gen, DType dtype) : d_(d), dtype_(dtype) {
    now_ = register_module("now", std::make_shared<nn::Linear>(d, d, false, gen, dtype));
    before_ = register_module("before", std::make_shared<nn::Linear>(d, d, false, gen, dtype));
  }
  // With packed documents, x_{t-1} is zero where a document starts.
  Tensor forward(const Tensor& x, StepContext& ctx) override {
    return mix(x, Tensor::zeros({x.size(0), 1, d_}, dtype_), ctx.sequence_starts());
  }
  bool supports_packed_sequences() const override { return true; }
  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override {
    return std::make_unique<ShiftState>(Tensor::zeros({batch, 1, d_}, dtype_));
  }
  Tensor forward_step(const Tensor& x, MixerState& base, StepContext&) override {
    auto& s = static_cast<ShiftState&>(base);
    Tensor y = mix(x, s.last_);
    s.last_ = x.slice(1, x.size(1) - 1, x.size(1)).contiguous();
    s.position_ += x.size(1);
    return y;
  }

 private:
  // x: [B, T, D], previous: [B, 1, D], starts: [B, T] or undefined -> [B, T, D]
  Tensor mix(const Tensor& x, const Tensor& previous, const Tensor& starts = Tensor()) const {
    Tensor shifted = slice(concat({previous, x}, 1), 1, 0, x.size(1));
    if (starts.defined()) {
      std::vector<double> keep;
      for (const std::int64_t p : positions_in_sequence(starts).to_vector<std::int64_t>()) keep.push_back(p > 0 ? 1.0 : 0.0);
      shifted = mul(shifted, Tensor::from_vector(keep, {x.size(0), x.size(1), 1}).to(dtype_));
    }
    return add(now_->forward(x), before_->forward(shifted));
  }
  std::int64_t d_;
  DType dtype_;
  std::shared_ptr<nn::Linear> now_, before_;
};

// The block as a mixer: forward and decoding go through Block::forward.
class BlockProbe : public Mixer {
 public:
  explicit BlockProbe(std::shared_ptr<Block> block) : block_(register_module("block", std::move(block))) {}
  Tensor forward(const Tensor& x, StepContext& ctx) override { return block_->forward(x, nullptr, ctx); }
  bool causal() const override { return block_->mixer().causal(); }
  // Checked when the block's parts support it: the block must pass the step context on.
  bool supports_packed_sequences() const override {
    return block_->mixer().supports_packed_sequences() && (!block_->ffn() || block_->ffn()->supports_packed_sequences());
  }
  std::unique_ptr<MixerState> make_state(std::int64_t batch) const override { return block_->mixer().make_state(batch); }
  Tensor forward_step(const Tensor& x, MixerState& state, StepContext& ctx) override {
    return block_->forward(x, &state, ctx);
  }

 private:
  std::shared_ptr<Block> block_;
};

}  // namespace

std::shared_ptr<Mixer> block_probe(const ComponentRegistry& registry, const Config& block_config, const BuildContext& ctx) {
  auto block = registry.create<Block>(block_config, ctx);
  auto mixer = std::make_shared<ShiftMixer>(ctx.dims.d_model, *ctx.gen, ctx.dtype);
  auto ffn = registry.create<Ffn>(component_config(registry, ComponentKind::ffn, "mlp", {"d_ff=16"}), ctx);
  block->assemble(0, BlockParts{mixer, ffn, nn::NormKind::rmsnorm, 1e-5});
  return std::make_shared<BlockProbe>(std::move(block));
}

}  // namespace strata::testing
