#include "expert_parallel.h"

#include <strata/autograd.h>
#include <strata/error.h>
#include <strata/ops.h>

#include <chrono>
#include <cstring>
#include <string>

namespace strata::moe_plugin {

namespace {

// Rows ([S, D], contiguous) to each rank (send[q] rows for rank q, consecutive) -> the rows
// every rank sent here ([sum of receive, D], receive[s] from rank s, in rank order).
Tensor move_rows(Communicator& group, const Tensor& rows, const std::vector<std::int64_t>& send,
                 const std::vector<std::int64_t>& receive) {
  const std::int64_t D = rows.size(1), row_bytes = D * std::int64_t(dtype_size(rows.dtype()));
  std::vector<std::int64_t> send_bytes(send.size()), receive_bytes(receive.size());
  std::int64_t total = 0;
  for (std::size_t r = 0; r < send.size(); ++r) {
    send_bytes[r] = send[r] * row_bytes;
    receive_bytes[r] = receive[r] * row_bytes;
    total += receive[r];
  }
  Tensor out = Tensor::empty({total, D}, rows.dtype());
  group.all_to_all(rows.raw_data(), send_bytes, out.raw_data(), receive_bytes);
  return out;
}

}  // namespace

std::shared_ptr<ExpertPlacement> place_experts(const Config& config, std::int64_t P, std::int64_t n_experts,
                                               const BuildContext& ctx) {
  if (P <= 1 || ctx.data_parallel == nullptr || ctx.data_parallel->size() == 1) return nullptr;
  Communicator& job = *ctx.data_parallel;  // n_experts % P == 0: checked with the config
  if (job.size() % P != 0)
    throw config.error("expert_parallel", "= " + std::to_string(P) + " does not divide the job's " +
                                              std::to_string(job.size()) + " ranks",
                       "start the job with a multiple of " + std::to_string(P) + " ranks (mpirun -np)");
  auto placement = std::make_shared<ExpertPlacement>();
  const int position = job.rank() % int(P);
  placement->group = job.split(job.rank() / int(P));
  placement->replicas = job.split(position);
  placement->local_experts = n_experts / P;
  placement->first_expert = position * placement->local_experts;
  auto shard = std::make_shared<ParameterShard>();
  shard->shards = placement->group.get();
  shard->replicas = placement->replicas.get();
  shard->full_rows = n_experts;
  placement->shard = std::move(shard);
  return placement;
}

Tensor exchange_rows(const Tensor& rows, const std::vector<std::int64_t>& send_counts,
                     const std::vector<std::int64_t>& receive_counts, Communicator& group) {
  Tensor received = move_rows(group, rows.detach().contiguous(), send_counts, receive_counts);
  // The backward is a collective too: every rank's tape holds this node, so every rank runs it.
  autograd::record("expert_exchange", {rows}, {received},
                   [&group, send_counts, receive_counts](const autograd::BackwardArgs& a) {
                     return std::vector<Tensor>{move_rows(group, a.grad().contiguous(), receive_counts, send_counts)};
                   });
  return received;
}

Tensor run_placed_experts(const Tensor& xs, const Tensor& counts, const ExpertFfns& local,
                          const ExpertPlacement& placement, ExpertTraffic& traffic) {
  Communicator& group = *placement.group;
  const int P = group.size();
  const std::int64_t El = placement.local_experts, D = xs.size(1);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<std::int64_t> per_expert = counts.to_vector<std::int64_t>();  // [E]
  // Rows for each rank (its experts' slots are consecutive: the rows are sorted by expert);
  // the per-expert counts go first, and give each rank what it will receive.
  std::vector<std::int64_t> send_counts(static_cast<std::size_t>(P), 0);
  for (int q = 0; q < P; ++q)
    for (std::int64_t e = 0; e < El; ++e) send_counts[std::size_t(q)] += per_expert[std::size_t(q * El + e)];
  // from[s * El + e]: rows of local expert e from rank s (rank q gets counts[q El .. (q + 1) El)).
  std::vector<std::int64_t> from(static_cast<std::size_t>(P * El));
  const std::vector<std::int64_t> expert_bytes(static_cast<std::size_t>(P), El * std::int64_t(sizeof(std::int64_t)));
  group.all_to_all(per_expert.data(), expert_bytes, from.data(), expert_bytes);

  std::vector<std::int64_t> receive_counts(static_cast<std::size_t>(P), 0);
  for (int s = 0; s < P; ++s)
    for (std::int64_t e = 0; e < El; ++e) receive_counts[std::size_t(s)] += from[std::size_t(s * El + e)];
  const Tensor received = exchange_rows(xs, send_counts, receive_counts, group);  // [R, D], by source, then expert
  // Expert-major order for the grouped products: expert e's rows from rank 0, then rank 1, ...
  std::vector<std::int64_t> source_start(static_cast<std::size_t>(P), 0);
  for (int s = 1; s < P; ++s) source_start[std::size_t(s)] = source_start[std::size_t(s - 1)] + receive_counts[std::size_t(s - 1)];
  std::vector<std::int64_t> order, local_counts(std::size_t(El), 0);
  std::vector<std::int64_t> within(static_cast<std::size_t>(P), 0);  // rows of rank s already placed
  for (std::int64_t e = 0; e < El; ++e)
    for (int s = 0; s < P; ++s) {
      const std::int64_t n = from[std::size_t(s * El + e)];
      for (std::int64_t i = 0; i < n; ++i) order.push_back(source_start[std::size_t(s)] + within[std::size_t(s)] + i);
      within[std::size_t(s)] += n;
      local_counts[std::size_t(e)] += n;
    }
  const std::int64_t R = std::int64_t(order.size());
  std::vector<std::int64_t> back(order.size());  // the inverse permutation
  for (std::int64_t i = 0; i < R; ++i) back[std::size_t(order[std::size_t(i)])] = i;
  const Tensor grouped = index_select(received, 0, Tensor::from_vector(order, {R}));
  const auto compute_start = std::chrono::steady_clock::now();
  const Tensor processed = local.forward(grouped, Tensor::from_vector(local_counts, {El}));  // [R, D]
  // The local experts' share of the wall time, left out of traffic.seconds.
  const double computing = std::chrono::duration<double>(std::chrono::steady_clock::now() - compute_start).count();
  const Tensor by_source = index_select(processed, 0, Tensor::from_vector(back, {R}));
  const Tensor out = exchange_rows(by_source, receive_counts, send_counts, group);  // [S, D], in xs's order

  traffic.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - computing;
  traffic.slots_to_rank = send_counts;
  const std::int64_t rows_moved = 2 * (xs.size(0) + R);  // out and back, sent and received
  traffic.bytes = rows_moved * D * std::int64_t(dtype_size(xs.dtype())) +
                  2 * std::int64_t(P) * El * std::int64_t(sizeof(std::int64_t));
  return out;
}

}  // namespace strata::moe_plugin
