#pragma once
// What data-parallel ranks agree on around a training step (trainer.cpp): their logged
// numbers combined, their shard of a batch, and whether their parameters still match.
#include <cstdint>
#include <map>
#include <string>

#include "strata/communicator.h"
#include "strata/components.h"
#include "strata/module.h"

namespace strata {

// One rank's numbers of a step: `sums` are added over the ranks (each rank's share of a
// global quantity, such as its part of the global batch's mean loss), `means` are averaged
// over the ranks (a rank that did not log a name counts 0 for it, as a step that does not
// log a metric does in a window).
struct StepValues {
  std::map<std::string, double> sums;
  std::map<std::string, double> means;
};
// The combined values, by name, in rank order: the same bits on every rank.
std::map<std::string, double> combine_over_ranks(Communicator& group, const StepValues& local);

// Rows [start, start + count) of `batch`: a rank's shard of the global batch.
Batch batch_rows(const Batch& batch, std::int64_t start, std::int64_t count);
// Positions whose prediction is scored (target >= 0): the cross-entropy mean's denominator.
std::int64_t scored_positions(const Tensor& targets);

// A hash of every replicated parameter and buffer of `model` (names, shapes and values;
// blocks of sharded parameters are left out: they differ between ranks by design).
std::string replica_hash(const Module& model);
// Throws Error, on every rank alike, when a rank's replica_hash differs from rank 0's, or a
// sharded block differs between the ranks that hold it.
void check_replicas(Communicator& group, const Module& model, std::int64_t step);

}  // namespace strata
