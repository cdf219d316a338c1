// The built-in `packed` task: another task's examples, `per_row` to a row, as packed
// documents (strata/packing.h). Row r of a batch is examples r * per_row .. (r + 1) *
// per_row - 1 of the inner task's batch, one after the other, with Batch::sequence_starts
// marking where each begins; the model keeps them apart, so the scores are those of the
// examples alone while a step runs longer rows. An inner task that packs already keeps its
// own starts (shifted to the example's place in the row).
#include "builtins/builtins.h"
#include "strata/packing.h"

namespace strata::builtins {
namespace {

class PackedTask : public Task {
 public:
  PackedTask(std::shared_ptr<Task> inner, std::int64_t per_row) : inner_(std::move(inner)), per_row_(per_row) {}

  std::int64_t vocab_size() const override { return inner_->vocab_size(); }
  std::int64_t seq_len() const override { return per_row_ * inner_->seq_len(); }
  bool reports_perplexity() const override { return inner_->reports_perplexity(); }
  double chance_accuracy() const override { return inner_->chance_accuracy(); }
  const Tokenizer* tokenizer() const override { return inner_->tokenizer(); }

  Batch train_batch(std::int64_t batch_size, Generator& gen) override {
    return pack(inner_->train_batch(batch_size * per_row_, gen), batch_size);
  }
  Batch eval_batch(std::int64_t index, std::int64_t batch_size) override {
    return pack(inner_->eval_batch(index, batch_size * per_row_), batch_size);
  }

 private:
  // examples: [B * per_row, T] -> [B, per_row * T] (row-major: the examples of a row are adjacent)
  Batch pack(const Batch& examples, std::int64_t batch_size) const {
    const std::int64_t T = inner_->seq_len(), row = per_row_ * T;
    std::vector<std::int64_t> starts(static_cast<std::size_t>(batch_size * row));
    const std::vector<std::int64_t> inner_starts =
        examples.sequence_starts.defined() ? examples.sequence_starts.to_vector<std::int64_t>() : std::vector<std::int64_t>{};
    for (std::int64_t i = 0; i < batch_size * per_row_; ++i) {
      const std::int64_t offset = (i % per_row_) * T;
      for (std::int64_t t = 0; t < T; ++t)
        starts[std::size_t(i * T + t)] = offset + (inner_starts.empty() ? 0 : inner_starts[std::size_t(i * T + t)]);
    }
    Batch out;
    out.inputs = examples.inputs.reshape({batch_size, row});
    out.targets = examples.targets.reshape({batch_size, row});
    out.sequence_starts = Tensor::from_vector(starts, {batch_size, row});
    out.padding = examples.padding;
    return out;
  }

  std::shared_ptr<Task> inner_;
  std::int64_t per_row_;
};

}  // namespace

void register_packed_task(ComponentRegistry& registry) {
  ComponentSpec spec{ComponentKind::task, "packed",
                     "another task's examples, per_row to a row, as packed documents the model keeps apart", {}, {}};
  spec.schema.component("task", ComponentKind::task, "mqar", "the task whose examples are packed");
  spec.schema.integer("per_row", 4, "examples per row (the row is per_row x the task's seq_len tokens)").range(1, 4096);
  registry.add(std::move(spec), [](const Config& c, const BuildContext& ctx) -> std::unique_ptr<Component> {
    std::shared_ptr<Task> inner = ctx.registry->create<Task>(c.component("task"), ctx);
    return std::make_unique<PackedTask>(std::move(inner), c.integer("per_row"));
  });
}

}  // namespace strata::builtins
