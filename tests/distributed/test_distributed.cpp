// Multi-rank tests: ctest runs this executable under `mpirun -np 2` (tests/CMakeLists.txt),
// one entry per tag. Every rank runs every test case; a failure on any rank fails the job.
#include "catch.h"

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "framework/app/src/distributed/gradient_buckets.h"
#include "framework/app/src/distributed/sharded_parameters.h"
#include "framework/app/src/distributed/step_exchange.h"
#include "moe/moe_registry.h"
#include "strata/autograd.h"
#include "strata/distributed.h"
#include "strata/experiment.h"
#include "strata/ops.h"
#include "strata/trainer.h"

namespace strata {
namespace {

// The job's world, opened once per process (MPI initialises once).
Communicator& world() {
  static const std::unique_ptr<Communicator> group = open_world();
  return *group;
}

// The largest |a - b| over two equally long lists.
double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  return worst;
}

std::vector<double> values_of(const Tensor& t) { return t.to(DType::f64).contiguous().to_vector<double>(); }

TEST_CASE("communicator: the job has several ranks", "[communicator]") {
  REQUIRE(detect_launch().by_mpi);
  REQUIRE(world().size() >= 2);
  REQUIRE(world().rank() < world().size());
  REQUIRE_THAT(world().backend_name(), Catch::StartsWith("mpi"));
}

TEST_CASE("communicator: sums add the ranks' values in rank order, the same bits on every rank", "[communicator]") {
  const int n = world().size(), me = world().rank();
  // Magnitudes that make the order of additions visible in the last bits.
  const auto value = [](int rank, int i) { return (rank % 2 ? -1.0 : 1.0) * std::pow(10.0, 7 - rank) + 0.1 * (i + 1); };
  for (const int length : {1, 3, 1000, 4097}) {
    const auto count = static_cast<std::size_t>(length);
    std::vector<double> mine(count), expected(count);
    std::vector<float> mine_f32(count), expected_f32(count);
    for (int i = 0; i < length; ++i) {
      mine[std::size_t(i)] = value(me, i);
      mine_f32[std::size_t(i)] = float(value(me, i));
      expected[std::size_t(i)] = value(0, i);
      expected_f32[std::size_t(i)] = float(value(0, i));
      for (int r = 1; r < n; ++r) {
        expected[std::size_t(i)] += value(r, i);
        expected_f32[std::size_t(i)] += float(value(r, i));
      }
    }
    world().all_reduce_sum(std::span<double>(mine));
    world().all_reduce_sum(std::span<float>(mine_f32));
    REQUIRE(mine == expected);
    REQUIRE(mine_f32 == expected_f32);
  }
}

TEST_CASE("communicator: a started sum completes while the caller goes on", "[communicator]") {
  std::vector<float> data(10000, float(world().rank() + 1));
  auto pending = world().start_all_reduce_sum(std::span<float>(data));
  for (int poll = 0; poll < 100; ++poll) pending->progress();
  pending->wait();
  const float total = float(world().size() * (world().size() + 1) / 2);
  for (const float v : data) REQUIRE(v == total);
}

TEST_CASE("communicator: gather, broadcast, exchange and maximum", "[communicator]") {
  const int n = world().size(), me = world().rank();
  const std::vector<std::string> gathered = world().all_gather(std::string(std::size_t(me + 1), char('a' + me)));
  REQUIRE(int(gathered.size()) == n);
  for (int r = 0; r < n; ++r) REQUIRE(gathered[std::size_t(r)] == std::string(std::size_t(r + 1), char('a' + r)));

  std::string text = me == 0 ? "from rank 0" : "";
  world().broadcast(text, 0);
  REQUIRE(text == "from rank 0");

  // Rank me sends r + 1 bytes of value (me, r) to rank r: the sizes first, then the bytes.
  std::vector<std::int64_t> send_bytes, expected_bytes;
  std::string send;
  for (int r = 0; r < n; ++r) {
    send_bytes.push_back(r + 1);
    expected_bytes.push_back(me + 1);
    send += std::string(std::size_t(r + 1), char('A' + me * n + r));
  }
  const std::vector<std::int64_t> receive_bytes = world().exchange_counts(send_bytes);
  REQUIRE(receive_bytes == expected_bytes);
  std::string received(std::size_t(n * (me + 1)), '?');
  world().all_to_all(send.data(), send_bytes, received.data(), receive_bytes);
  for (int r = 0; r < n; ++r)
    REQUIRE(received.substr(std::size_t(r * (me + 1)), std::size_t(me + 1)) ==
            std::string(std::size_t(me + 1), char('A' + r * n + me)));

  std::vector<double> largest{double(me), -double(me)};
  world().all_reduce_max(std::span<double>(largest));
  REQUIRE(largest == std::vector<double>{double(n - 1), 0.0});
}

TEST_CASE("gradient buckets: every rank ends with the sum of the ranks' gradients", "[buckets]") {
  const int n = world().size(), me = world().rank();
  // Parameters of several sizes in f32 and f64; 64-byte buckets split them over many buckets.
  std::vector<Tensor> params{Tensor::zeros({3}, DType::f32), Tensor::zeros({40}, DType::f32),
                             Tensor::zeros({5, 2}, DType::f64), Tensor::zeros({1}, DType::f32),
                             Tensor::zeros({7}, DType::f32)};
  for (Tensor& p : params) p.requires_grad_();
  GradientBuckets buckets(params, world(), 64);
  REQUIRE(buckets.bucket_count() >= 4);

  // Rank r's gradient of parameter k is the constant (r + 1) * (k + 1). In the second round
  // the last parameter is used by rank 0 only (the others' graphs never reach it: zero
  // from them).
  for (int round = 0; round < 2; ++round) {
    const bool all_used = round == 0 || me == 0;
    for (Tensor& p : params) p.set_grad(Tensor());
    Tensor loss = Tensor::zeros({}, DType::f64);
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (k + 1 == params.size() && !all_used) continue;
      const double weight = double((me + 1) * int(k + 1));
      loss = add(loss, scale(sum(params[k].to(DType::f64)), weight));
    }
    buckets.begin();
    const Tensor seed;
    autograd::backward(std::span<const Tensor>(&loss, 1), std::span<const Tensor>(&seed, 1), false,
                       buckets.ready_hook());
    // Overlap: every bucket started inside the backward when every parameter was reached;
    // none when the first bucket (the last parameters) waits for one that never is, since
    // buckets start in order.
    CHECK(buckets.started() == (all_used ? buckets.bucket_count() : 0));
    buckets.finish();
    const double rank_sum = double(n * (n + 1) / 2);
    for (std::size_t k = 0; k < params.size(); ++k) {
      const double expected = k + 1 == params.size() && round == 1 ? double(k + 1) : rank_sum * double(k + 1);
      for (const double g : values_of(params[k].grad())) REQUIRE(g == expected);
    }
  }
}

// A softmax top-2 router over 8 experts and a balance term of `balance_type`, as an moe ffn
// of width 6 builds them, in f64.
struct RouterAndBalance {
  std::shared_ptr<Router> router;
  std::shared_ptr<Balance> balance;
};
RouterAndBalance router_and_balance(const std::vector<std::string>& balance_keys, const std::string& balance_type) {
  Generator gen(3);
  const BuildContext ctx = test::moe_context(gen, 6, DType::f64, 8, 2);
  RouterAndBalance made;
  made.router = test::make_moe_component<Router>(ComponentKind::router, "softmax_topk", {}, ctx);
  made.balance = test::make_moe_component<Balance>(ComponentKind::balance, balance_type, balance_keys, ctx);
  if (made.router->accepts_selection_bias() && made.balance->selection_bias().defined())
    made.router->set_selection_bias(made.balance->selection_bias());
  return made;
}

// x: [N, 6], the tokens of the whole batch, the same on every rank.
Tensor all_tokens(std::int64_t n_tokens) {
  Generator gen(11);
  return Tensor::randn({n_tokens, 6}, gen, DType::f64);
}

TEST_CASE("switch_aux global scope: the loss and its gradient over ranks equal one process on the whole batch",
          "[balance]") {
  const int n = world().size(), me = world().rank();
  const std::int64_t per_rank = 24, total = per_rank * n;
  const Tensor x = all_tokens(total);
  const std::vector<std::string> keys{"scope=\"global\"", "alpha=0.1"};

  // One process on the whole batch.
  RouterAndBalance single = router_and_balance(keys, "switch_aux");
  StepContext whole(true);
  const Tensor single_loss = single.balance->loss(single.router->route(x, whole), whole);
  single_loss.backward();
  const std::vector<double> single_grad = values_of(single.router->parameters().front().grad());

  // Each rank its rows; the trainer averages aux terms over the ranks (1 / N each) and sums
  // the gradients over them.
  RouterAndBalance shard = router_and_balance(keys, "switch_aux");
  StepContext part(true);
  part.set_data_parallel(&world());
  const Tensor rows = x.slice(0, me * per_rank, (me + 1) * per_rank).contiguous();
  const Tensor shard_loss = scale(shard.balance->loss(shard.router->route(rows, part), part), 1.0 / double(n));
  shard_loss.backward();
  std::vector<double> loss_sum{shard_loss.item()};
  world().all_reduce_sum(std::span<double>(loss_sum));
  Tensor grad = shard.router->parameters().front().grad();
  std::vector<double> grad_sum = values_of(grad);
  world().all_reduce_sum(std::span<double>(grad_sum));

  // f64, and only the order of additions differs: agreement to ~1e-15 relative.
  REQUIRE(std::abs(loss_sum[0] - single_loss.item()) <= 1e-12 * std::abs(single_loss.item()));
  REQUIRE(max_difference(grad_sum, single_grad) <= 1e-12);

  // The batch scope is per rank: over ranks it is not the whole batch's value.
  RouterAndBalance batch_scope = router_and_balance({"scope=\"batch\"", "alpha=0.1"}, "switch_aux");
  StepContext batch_part(true);
  batch_part.set_data_parallel(&world());
  std::vector<double> batch_sum{
      scale(batch_scope.balance->loss(batch_scope.router->route(rows, batch_part), batch_part), 1.0 / double(n)).item()};
  world().all_reduce_sum(std::span<double>(batch_sum));
  REQUIRE(std::abs(batch_sum[0] - single_loss.item()) > 1e-9);
}

TEST_CASE("aux_free_bias: every rank updates its bias from the global loads", "[balance]") {
  const int n = world().size(), me = world().rank();
  const std::int64_t per_rank = 16, total = per_rank * n;
  const Tensor x = all_tokens(total);
  RouterAndBalance single = router_and_balance({"rate=0.01"}, "aux_free_bias");
  RouterAndBalance shard = router_and_balance({"rate=0.01"}, "aux_free_bias");
  RouterAndBalance alone = router_and_balance({"rate=0.01"}, "aux_free_bias");  // the shard without the group
  const Tensor rows = x.slice(0, me * per_rank, (me + 1) * per_rank).contiguous();
  for (int step = 0; step < 3; ++step) {
    autograd::NoGradGuard no_grad;
    StepContext whole(true), part(true), local(true);
    part.set_data_parallel(&world());
    single.balance->loss(single.router->route(x, whole), whole);
    shard.balance->loss(shard.router->route(rows, part), part);
    alone.balance->loss(alone.router->route(rows, local), local);
    single.balance->after_step();
    shard.balance->after_step();
    alone.balance->after_step();
  }
  const std::vector<double> global_bias = values_of(shard.balance->selection_bias());
  REQUIRE(global_bias == values_of(single.balance->selection_bias()));
  const std::vector<std::string> everyone = world().all_gather(replica_hash(*shard.balance));
  for (const std::string& h : everyone) REQUIRE(h == everyone.front());
  // From its own rows alone a rank would have chosen another bias (this batch is uneven).
  std::vector<double> differs{values_of(alone.balance->selection_bias()) != global_bias ? 1.0 : 0.0};
  world().all_reduce_max(std::span<double>(differs));
  REQUIRE(differs[0] == 1.0);
}

// A two-layer attention + moe model on the copy task in f64, with the global balance scope
// (the scope whose value does not depend on the split) and the z-loss.
const char* kModel = R"(
[task]
type = "copy"
n_symbols = 6
copy_len = 6
n_blanks = 2
[model]
d_model = 16
n_layers = 2
[model.mixer.A]
type = "attention"
n_heads = 2
[model.ffn.E]
type = "moe"
n_experts = 4
top_k = 2
d_ff = 16
router = { type = "softmax_topk" }
balance = [{ type = "switch_aux", alpha = 0.01, scope = "global" }, { type = "z_loss", coef = 1e-3 }]
[train]
steps = 6
lr = 0.01
warmup_steps = 2
grad_accum = 2
log_every = 1
eval_every = 3
eval_batches = 2
eval_batch_size = 6
threads = 1
replica_check_every = 2
)";

struct Trained {
  std::vector<double> losses, eval_losses, aux;
  std::vector<double> load_cv, global_load_cv;  // layer 0's, per logged step
  std::vector<double> expert_rank_load;         // layer 0's share of rank 1's experts (-1: not logged)
  std::vector<double> params;
};

Trained train_copy(std::int64_t batch_size, Communicator* group, std::vector<std::string> overrides = {}) {
  ComponentRegistry& registry = test::moe_registry();
  overrides.push_back("train.batch_size=" + std::to_string(batch_size));
  const Experiment e = Experiment::from_string(kModel, "dp.toml", test::hermetic_options(overrides), registry);
  const ExperimentObjects objects = build_experiment(e, registry, DType::f64, group);
  Trained out;
  TrainCallbacks callbacks;
  callbacks.on_record = [&](const MetricsRecord& r) {
    out.losses.push_back(r.get("loss"));
    if (r.has("eval_loss")) out.eval_losses.push_back(r.get("eval_loss"));
    for (const auto& [name, value] : r.values)
      if (name.rfind("aux.", 0) == 0) out.aux.push_back(value);
    out.load_cv.push_back(r.get("metric.layers.0.ffn.load_cv"));
    out.expert_rank_load.push_back(r.get("metric.layers.0.ffn.expert_rank_load.1", -1.0));
    out.global_load_cv.push_back(r.get("metric.layers.0.ffn.global_load_cv"));
  };
  train(*objects.model, *objects.task, *make_optimizer(e, registry, *objects.model), e.train, callbacks, nullptr,
        group);
  // Whole tensors: a sharded parameter's blocks gathered from its ranks.
  for (const NamedParameter& p : objects.model->named_parameters())
    for (const double v : values_of(p.shard ? gather_blocks(p.tensor, *p.shard) : p.tensor)) out.params.push_back(v);
  return out;
}

TEST_CASE("data parallel: N ranks of batch b train as one process of batch N b", "[training]") {
  const int n = world().size();
  const Trained single = train_copy(3 * n, nullptr);
  const Trained parallel = train_copy(3, &world());
  REQUIRE(single.losses.size() == 6);
  REQUIRE(parallel.losses.size() == 6);
  // f64: the two differ only in the order of additions (per-rank partial sums of the loss,
  // the gradients and the expert counts), ~1e-16 relative per operation; six AdamW steps
  // keep that far below 1e-9.
  REQUIRE(max_difference(single.losses, parallel.losses) <= 1e-9);
  REQUIRE(max_difference(single.eval_losses, parallel.eval_losses) <= 1e-9);
  REQUIRE(max_difference(single.aux, parallel.aux) <= 1e-9);
  REQUIRE(max_difference(single.params, parallel.params) <= 1e-9);
  REQUIRE(single.losses.back() < single.losses.front());
  // The global batch's balance is the one process's; the ranks' own micro-batches differ from it.
  REQUIRE(max_difference(single.load_cv, parallel.global_load_cv) <= 1e-9);
  REQUIRE(max_difference(single.load_cv, parallel.load_cv) > 1e-3);
}

TEST_CASE("data parallel: two runs with the same N are bitwise identical, on every rank", "[training]") {
  const Trained first = train_copy(3, &world());
  const Trained second = train_copy(3, &world());
  REQUIRE(first.losses == second.losses);
  REQUIRE(first.params == second.params);
  const std::vector<std::string> everyone = world().all_gather(std::string(
      reinterpret_cast<const char*>(first.params.data()), first.params.size() * sizeof(double)));
  for (const std::string& p : everyone) REQUIRE(p == everyone.front());
}

TEST_CASE("data parallel: ranks whose parameters drift apart are stopped with the rank named", "[training]") {
  ComponentRegistry& registry = test::moe_registry();
  const Experiment e = Experiment::from_string(kModel, "dp.toml", test::hermetic_options(), registry);
  const ExperimentObjects objects = build_experiment(e, registry, DType::f64);
  REQUIRE_NOTHROW(check_replicas(world(), *objects.model, 1));
  if (world().rank() == 1) {
    autograd::NoGradGuard no_grad;
    objects.model->parameters().front().add_(Tensor::ones(objects.model->parameters().front().shape(), DType::f64),
                                              1e-12);
  }
  try {
    check_replicas(world(), *objects.model, 7);
    FAIL("drifted replicas were not detected");
  } catch (const Error& error) {
    REQUIRE_THAT(error.message(), Catch::Contains("rank(s) 1 differ from rank 0's after step 7"));
  }
}

// ---- expert parallelism ------------------------------------------------------------

// An moe ffn of 4 experts at width 6 in f64, its experts on every rank (group null) or
// sharded over the job (expert_parallel = 2); the same initial weights either way.
std::shared_ptr<Ffn> moe_ffn(Communicator* group, std::vector<std::string> keys) {
  Generator gen(5);
  BuildContext ctx = test::moe_context(gen, 6, DType::f64);
  ctx.data_parallel = group;
  keys.insert(keys.begin(), {"n_experts=4", "top_k=2", "d_ff=8", "expert_parallel=2"});  // the test's keys win
  return test::make_moe_component<Ffn>(ComponentKind::ffn, "moe", keys, ctx);
}

const NamedParameter& parameter_named(const std::vector<NamedParameter>& params, const std::string& suffix) {
  for (const NamedParameter& p : params)
    if (p.name.size() >= suffix.size() && p.name.compare(p.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      return p;
  FAIL("no parameter " << suffix);
  return params.front();
}

// Forward and backward of both on this rank's tokens: outputs, input and router gradients
// equal; the sharded experts' gradients equal the whole model's summed over the expert group.
void check_expert_parallel_ffn(const std::vector<std::string>& keys, bool route_to_first_rank) {
  const std::shared_ptr<Ffn> whole = moe_ffn(nullptr, keys), sharded = moe_ffn(&world(), keys);
  const std::vector<NamedParameter> whole_params = whole->named_parameters(), sharded_params = sharded->named_parameters();
  REQUIRE(parameter_named(sharded_params, "experts.down_proj").shard != nullptr);
  REQUIRE(parameter_named(sharded_params, "experts.down_proj").tensor.size(0) == 2);
  REQUIRE_FALSE(parameter_named(sharded_params, "router.weight").shard);
  if (route_to_first_rank) {
    // Every token to experts 0 and 1, which rank 0 holds: rank 1 receives no rows at all.
    autograd::NoGradGuard no_grad;
    const Tensor w = Tensor::from_vector(std::vector<double>(24, 0.0), {4, 6});
    w.slice(0, 0, 2).fill_(1.0);
    w.slice(0, 2, 4).fill_(-1.0);
    for (auto* params : {&whole_params, &sharded_params}) {
      Tensor weight = parameter_named(*params, "router.weight").tensor;
      weight.copy_(w);
    }
  }
  Generator gen(20 + std::uint64_t(world().rank()));
  const Tensor x = route_to_first_rank ? Tensor::rand({2, 5, 6}, gen, DType::f64) : Tensor::randn({2, 5, 6}, gen, DType::f64);
  const Tensor weights = Tensor::randn({2, 5, 6}, gen, DType::f64);
  Tensor x_whole = x.detach().clone().requires_grad_(), x_sharded = x.detach().clone().requires_grad_();
  StepContext plain(true), in_job(true);
  in_job.set_data_parallel(&world());
  const Tensor y_whole = whole->forward(x_whole, plain), y_sharded = sharded->forward(x_sharded, in_job);
  REQUIRE(max_difference(values_of(y_whole), values_of(y_sharded)) <= 1e-12);
  sum(mul(y_whole, weights)).backward();
  sum(mul(y_sharded, weights)).backward();
  REQUIRE(max_difference(values_of(x_whole.grad()), values_of(x_sharded.grad())) <= 1e-12);
  REQUIRE(max_difference(values_of(parameter_named(whole_params, "router.weight").tensor.grad()),
                         values_of(parameter_named(sharded_params, "router.weight").tensor.grad())) <= 1e-12);
  for (const std::string name : {"experts.gate_up_proj", "experts.down_proj"}) {
    // Summed over the expert group's ranks (whose tokens the block's experts processed);
    // the trainer then sums over the ranks that hold the same block.
    const NamedParameter& block = parameter_named(sharded_params, name);
    std::vector<double> summed = values_of(parameter_named(whole_params, name).tensor.grad());
    block.shard->shards->all_reduce_sum(std::span<double>(summed));
    const Tensor full = Tensor::from_vector(summed, parameter_named(whole_params, name).tensor.shape());
    REQUIRE(max_difference(values_of(block_of(full, *block.shard)), values_of(block.tensor.grad())) <= 1e-12);
  }
  // Telemetry: each rank's share of the group's expert work, and the bytes moved.
  const auto& m = in_job.metrics();
  REQUIRE(m.count("expert_rank_load.0") == 1);
  REQUIRE(m.at("expert_rank_load.0") + m.at("expert_rank_load.1") == Approx(1.0));
  if (route_to_first_rank) REQUIRE(m.at("expert_rank_load.1") == 0.0);
  REQUIRE(m.at("expert_exchange_mib") > 0.0);
}

TEST_CASE("expert parallel: a sharded moe ffn computes what the whole one does, dropless", "[expert]") {
  check_expert_parallel_ffn({}, false);
}

TEST_CASE("expert parallel: with a capacity, and with a rank whose experts get no token", "[expert]") {
  check_expert_parallel_ffn({"capacity_factor=1.0"}, false);
  check_expert_parallel_ffn({}, true);
}

TEST_CASE("expert parallel: EP 2 trains as one process of the whole batch", "[expert]") {
  const int n = world().size();
  const Trained single = train_copy(3 * n, nullptr);
  const Trained sharded = train_copy(3, &world(), {"model.ffn.E.expert_parallel=2"});
  REQUIRE(max_difference(single.losses, sharded.losses) <= 1e-9);
  REQUIRE(max_difference(single.eval_losses, sharded.eval_losses) <= 1e-9);
  REQUIRE(max_difference(single.params, sharded.params) <= 1e-9);
  for (const double share : sharded.expert_rank_load) REQUIRE((share > 0.0 && share < 1.0));
  // With a capacity, the sharded ffn's outputs and gradients equal the whole one's (above);
  // over training steps the two differ in the order of additions (the experts' rows from
  // every rank go through one product instead of one per rank), and a capacity turns such
  // 1e-16 differences into a different dropped token whenever two tokens nearly tie for an
  // expert's last slot. So here: it trains, and the ranks holding the same experts agree
  // (train.replica_check_every = 2 checks them).
  const Trained split = train_copy(3, &world(), {"model.ffn.E.capacity_factor=1.0", "model.ffn.E.expert_parallel=2"});
  REQUIRE(split.losses.back() < split.losses.front());
}

TEST_CASE("expert parallel: expert_parallel must divide the job's ranks and the experts", "[expert]") {
  REQUIRE_THROWS_WITH(moe_ffn(&world(), {"expert_parallel=3", "n_experts=6"}),
                      Catch::Contains("does not divide the job's"));
  REQUIRE_THROWS_WITH(moe_ffn(nullptr, {"n_experts=3", "top_k=1"}), Catch::Contains("does not divide n_experts"));
}

}  // namespace
}  // namespace strata
