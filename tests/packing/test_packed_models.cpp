// Packed documents through whole models: a batch whose rows hold several documents gives
// every document the logits it gets alone, and the same parameter gradients as running the
// documents one by one (f64), for every mixer that declares supports_packed_sequences
// (attention with RoPE and GQA, a sliding window, mamba, mamba2, gated_deltanet, the example plugin's
// shortconv) and a Jamba stack with MoE and a per-sequence balance loss. A mixer without
// packing support is refused by name; the text task's packed and padded layouts.
#include <filesystem>
#include <string>
#include <vector>

#include "catch.h"
#include "helpers.h"
#include "plugin_registry.h"
#include "strata/autograd.h"
#include "strata/experiment.h"
#include "strata/model.h"
#include "strata/ops.h"
#include "strata/packing.h"
#include "strata/trainer.h"

using namespace strata;

namespace {

ComponentRegistry& registry() {
  static ComponentRegistry r;
  static const bool ready = (test::add_builtins_and_plugins(r, {STRATA_ATTENTION_PLUGIN, STRATA_MAMBA_PLUGIN,
                                                                 STRATA_MOE_PLUGIN, STRATA_JAMBA_PLUGIN,
                                                                 STRATA_EXAMPLE_PLUGIN}),
                             true);
  (void)ready;
  return r;
}

// An experiment whose [model] has d_model 16, `n_layers` layers, and the given tables.
std::shared_ptr<Model> build_model(const std::string& model_tables, std::int64_t n_layers = 2) {
  const std::string text = "[task]\ntype = \"copy\"\nn_symbols = 6\ncopy_len = 4\n"
                           "[model]\nd_model = 16\nn_layers = " + std::to_string(n_layers) + "\n" + model_tables;
  const Experiment e = Experiment::from_string(text, "packed.toml", test::hermetic_options(), registry());
  ModelDims dims;
  dims.vocab_size = 20;
  dims.max_seq_len = 96;
  Generator gen(7);
  return Model::build(e.model, registry(), dims, gen, DType::f64);
}

// sum of the cross-entropies of logits [B', T', V] at targets [B', T'] plus the auxiliary
// losses, each per-sequence term weighted by `aux_weight`.
Tensor total_loss(const Tensor& logits, const Tensor& targets, const StepContext& ctx, double aux_weight) {
  CrossEntropyOptions o;
  o.reduction = Reduction::sum;
  Tensor loss = cross_entropy(logits, targets, o);
  if (const Tensor aux = ctx.total_aux_loss(); aux.defined()) loss = add(loss, mul(aux, aux_weight));
  return loss;
}

// Packed rows vs every document alone: logits and every parameter's gradient. Auxiliary
// losses must be per-sequence means (a packed batch averages over its documents).
void require_packed_equals_one_by_one(Model& model, const std::vector<std::vector<std::int64_t>>& lengths,
                                      double tol = 1e-9) {
  const std::int64_t B = std::int64_t(lengths.size()), T = 96;
  Generator gen(11);
  const Tensor ids = Tensor::randint({B, T}, 0, model.dims().vocab_size, gen);
  const Tensor targets = Tensor::randint({B, T}, 0, model.dims().vocab_size, gen);
  const Tensor starts = sequence_starts_from_lengths(lengths, T);
  std::int64_t n_docs = 0;
  for (const auto& row : lengths) n_docs += std::int64_t(row.size());

  model.zero_grad();
  StepContext packed_ctx(true);
  packed_ctx.set_sequence_starts(starts);
  const Tensor packed = model.forward(ids, packed_ctx);
  total_loss(packed, targets, packed_ctx, 1.0).backward();
  std::vector<Tensor> packed_grads;
  for (const NamedParameter& p : model.named_parameters()) packed_grads.push_back(p.tensor.grad().contiguous());

  model.zero_grad();
  for (std::int64_t b = 0; b < B; ++b)
    for (const auto [t0, t1] : sequence_ranges(starts, b)) {
      INFO("row " << b << ", document [" << t0 << ", " << t1 << ")");
      StepContext ctx(true);
      const Tensor doc_ids = ids.slice(0, b, b + 1).slice(1, t0, t1).contiguous();
      const Tensor alone = model.forward(doc_ids, ctx);
      STRATA_REQUIRE_CLOSE(alone.detach(), packed.slice(0, b, b + 1).slice(1, t0, t1).detach(), tol, tol);
      total_loss(alone, targets.slice(0, b, b + 1).slice(1, t0, t1).contiguous(), ctx, 1.0 / double(n_docs)).backward();
    }
  const std::vector<NamedParameter> params = model.named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) {
    INFO("gradient of " << params[i].name);
    const Tensor grad = params[i].tensor.grad();
    if (!grad.defined()) {
      CHECK(!packed_grads[i].defined());
      continue;
    }
    STRATA_REQUIRE_CLOSE(packed_grads[i], grad, tol, tol);
  }
}

// Row 0 spans the flash kernel's tiles and the scan's chunks with documents that cross
// them; row 1 has a one-token document.
const std::vector<std::vector<std::int64_t>> kRows = {{40, 3, 53}, {1, 70, 25}};

}  // namespace

TEST_CASE("packed models: every mixer keeps documents apart, logits and gradients", "[packing][model]") {
  struct Case {
    const char* name;
    std::string tables;
  };
  const Case cases[] = {
      {"attention (RoPE, GQA)", "[model.mixer.a]\ntype = \"attention\"\nn_heads = 4\nn_kv_heads = 2\n"},
      {"attention (sliding window 20, naive)",
       "[model.mixer.a]\ntype = \"attention\"\nn_heads = 2\nwindow = 20\nimpl = \"naive\"\n"},
      {"mamba", "[model.mixer.m]\ntype = \"mamba\"\nd_state = 4\n[model.ffn.mlp]\ntype = \"mlp\"\nd_ff = 24\n"},
      {"mamba2", "[model.mixer.m]\ntype = \"mamba2\"\nd_state = 8\nhead_dim = 8\nn_groups = 2\nchunk_size = 16\n"},
      {"shortconv (example plugin)", "[model.mixer.s]\ntype = \"shortconv\"\nkernel_size = 4\n"},
      {"gated_deltanet and Qwen3-Next's gated attention",
       "[model.stack]\ntype = \"pattern\"\nmixers = [\"g\", \"a\"]\n"
       "[model.mixer.g]\ntype = \"gated_deltanet\"\nkey_heads = 2\nvalue_heads = 4\nkey_head_dim = 4\nchunk_size = 16\n"
       "[model.mixer.a]\ntype = \"attention\"\nn_heads = 2\noutput_gate = true\nqk_norm = true\nrope_fraction = 0.5\n"},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      const auto model = build_model(c.tables);
      require_packed_equals_one_by_one(*model, kRows);
    }
  }
}

TEST_CASE("packed models: a Jamba stack with MoE and a per-sequence balance loss", "[packing][model][jamba]") {
  const std::string tables =
      "[model.stack]\ntype = \"jamba\"\nattn_layer_period = 2\nattn_layer_offset = 1\n"
      "expert_layer_period = 2\nexpert_layer_offset = 0\n"
      "[model.mixer.attention]\ntype = \"attention\"\nn_heads = 2\n"
      "[model.mixer.mamba]\ntype = \"mamba\"\nd_state = 4\n"
      "[model.ffn.mlp]\ntype = \"mlp\"\nd_ff = 24\n"
      "[model.ffn.moe]\ntype = \"moe\"\nn_experts = 4\ntop_k = 2\nd_ff = 12\n"
      "balance = [{ type = \"switch_aux\", scope = \"sequence\", alpha = 0.1 }]\n";
  const auto model = build_model(tables, 4);
  require_packed_equals_one_by_one(*model, kRows);
}

TEST_CASE("packed models: a packed batch is refused for a mixer that cannot keep documents apart", "[packing][model]") {
  // Dynamic NTK scaling picks RoPE frequencies by the forward's length, which a packed row
  // does not share with its documents.
  const auto model = build_model(
      "[model.mixer.a]\ntype = \"attention\"\nrope_scaling = \"dynamic\"\nrope_factor = 2.0\nrope_max_context = 32\n");
  StepContext ctx(true);
  ctx.set_sequence_starts(sequence_starts_from_lengths({{30, 66}}, 96));
  const Tensor ids = Tensor::zeros({1, 96}, DType::i64);
  CHECK_THROWS_WITH(model->forward(ids, ctx), Catch::Contains("layers.0.mixer (attention) cannot keep packed documents apart"));
  ctx.set_sequence_starts(sequence_starts_from_lengths({{30, 60}}, 90));
  CHECK_THROWS_WITH(model->forward(ids, ctx), Catch::Contains("sequence starts must be [B, T] = [1, 96]"));
}

TEST_CASE("packed task: a synthetic task's examples packed to a row score as they do alone", "[packing][tasks]") {
  const std::string model = "[model]\nd_model = 16\nn_layers = 2\n"
                            "[model.mixer.a]\ntype = \"attention\"\nn_heads = 2\n"
                            "[model.mixer.m]\ntype = \"mamba2\"\nd_state = 8\nhead_dim = 8\nchunk_size = 8\n"
                            "[model.stack]\nmixers = [\"a\", \"m\"]\n";
  const std::string mqar = "{ type = \"mqar\", vocab_size = 32, seq_len = 24, num_kv_pairs = 4 }";
  const Experiment packed = Experiment::from_string("[task]\ntype = \"packed\"\nper_row = 3\ntask = " + mqar + "\n" + model,
                                                    "packed.toml", test::hermetic_options(), registry());
  const ExperimentObjects p = build_experiment(packed, registry());
  CHECK(p.task->seq_len() == 72);
  // The rows are the inner task's examples, three by three, with a start every 24 tokens.
  const Experiment inner_only = Experiment::from_string(
      "[task]\ntype = \"mqar\"\nvocab_size = 32\nseq_len = 24\nnum_kv_pairs = 4\n" + model, "inner.toml",
      test::hermetic_options(), registry());
  const ExperimentObjects i = build_experiment(inner_only, registry());
  const Batch rows = p.task->eval_batch(0, 2), examples = i.task->eval_batch(0, 6);
  CHECK(rows.inputs.to_vector<std::int64_t>() == examples.inputs.to_vector<std::int64_t>());
  CHECK(rows.targets.to_vector<std::int64_t>() == examples.targets.to_vector<std::int64_t>());
  CHECK(positions_in_sequence(rows.sequence_starts).to_vector<std::int64_t>()[30] == 6);
  // One model evaluated on both: packing keeps the examples apart, so loss and accuracy agree.
  const EvalResult on_rows = evaluate(*p.model, *p.task, 2, 2), on_examples = evaluate(*p.model, *i.task, 2, 6);
  CHECK(on_rows.loss == Approx(on_examples.loss).epsilon(1e-5));
  CHECK(on_rows.accuracy == on_examples.accuracy);
  CHECK(on_rows.scored == on_examples.scored);
}
