#include "distributed/step_exchange.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "io/digest.h"
#include "strata/error.h"

namespace strata {

namespace {

// "s <name> <value>\n" lines; hex floats read back exactly. Names hold no whitespace.
std::string encode(const StepValues& values) {
  std::string out;
  char number[64];
  for (const auto& [kind, map] : {std::pair{'s', &values.sums}, std::pair{'m', &values.means}})
    for (const auto& [name, value] : *map) {
      std::snprintf(number, sizeof number, "%a", value);
      out += std::string(1, kind) + " " + name + " " + number + "\n";
    }
  return out;
}

// A named tensor's name, shape and values into `digest`.
void add_to(Digest& digest, const std::string& name, const Tensor& t) {
  const Tensor c = t.contiguous();
  digest.update(name);
  for (const std::int64_t d : c.shape()) digest.update_u64(std::uint64_t(d));
  digest.update(c.raw_data(), std::size_t(c.numel()) * dtype_size(c.dtype()));
}

}  // namespace

std::map<std::string, double> combine_over_ranks(Communicator& group, const StepValues& local) {
  const std::vector<std::string> all = group.all_gather(encode(local));
  std::map<std::string, double> combined;
  std::map<std::string, bool> is_mean;
  for (const std::string& text : all) {
    std::istringstream lines(text);
    std::string kind, name, value;
    while (lines >> kind >> name >> value) {
      combined[name] += std::strtod(value.c_str(), nullptr);
      is_mean[name] = kind == "m";
    }
  }
  for (auto& [name, value] : combined)
    if (is_mean[name]) value /= double(all.size());
  return combined;
}

Batch batch_rows(const Batch& batch, std::int64_t start, std::int64_t count) {
  const auto rows = [&](const Tensor& t) { return t.defined() ? t.slice(0, start, start + count).contiguous() : t; };
  Batch shard;
  shard.inputs = rows(batch.inputs);
  shard.targets = rows(batch.targets);
  shard.sequence_starts = rows(batch.sequence_starts);
  return shard;
}

std::int64_t scored_positions(const Tensor& targets) {
  std::int64_t n = 0;
  for (const std::int64_t t : targets.to_vector<std::int64_t>()) n += t >= 0;
  return n;
}

std::string replica_hash(const Module& model) {
  Digest digest;
  for (const auto& p : model.named_parameters())
    if (!p.shard) add_to(digest, p.name, p.tensor);
  for (const auto& b : model.named_buffers()) add_to(digest, b.name, b.tensor);
  return digest.hex();
}

void check_replicas(Communicator& group, const Module& model, std::int64_t step) {
  // A sharded parameter's block is compared with the ranks that hold the same block.
  for (const auto& p : model.named_parameters()) {
    if (!p.shard || p.shard->replicas->size() == 1) continue;
    Digest digest;
    add_to(digest, p.name, p.tensor);
    const std::vector<std::string> blocks = p.shard->replicas->all_gather(digest.hex());
    for (const std::string& h : blocks)
      if (h != blocks.front())
        throw Error("the ranks holding the same block of " + p.name + " (expert parallel) disagree after step " +
                        std::to_string(step) + ": the data-parallel replicas drifted apart",
                    "run every rank with the same strata build, plugins and train.threads");
  }
  const std::vector<std::string> hashes = group.all_gather(replica_hash(model));
  std::string differing;
  std::size_t first = 0;
  for (std::size_t r = 1; r < hashes.size(); ++r)
    if (hashes[r] != hashes[0]) {
      differing += (differing.empty() ? "" : ", ") + std::to_string(r);
      if (first == 0) first = r;
    }
  if (differing.empty()) return;
  throw Error("the parameters of rank(s) " + differing + " differ from rank 0's after step " + std::to_string(step) +
                  " (replica hash " + hashes[first] + " vs " + hashes[0] + "): the data-parallel replicas drifted apart",
              "run every rank with the same strata build, plugins and train.threads; a component that draws random "
              "numbers outside the step's generator, or a kernel whose result depends on timing, makes replicas "
              "drift (train.replica_check_every sets how often this is checked)");
}

}  // namespace strata
