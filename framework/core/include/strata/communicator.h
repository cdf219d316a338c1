#pragma once
// A group of processes that compute together (data-parallel ranks, expert-parallel ranks).
//
// The core defines the interface; the application supplies the group: a single process
// (SingleProcess below) or the ranks of an MPI job, whose implementation lives in a module
// the application loads only when the process was started by mpirun or srun
// (docs/distributed.md). Components reach the data-parallel group of a training step through
// StepContext::data_parallel() (null outside data-parallel training), e.g. to count expert
// loads over the global batch.
//
// Every collective must be called by every rank of the group, in the same order, with the
// same sizes. Sums are deterministic: each element is summed in rank order 0, 1, ..., N-1
// by one rank and sent to all, so every rank holds the same bits and a rerun with the same
// N gives the same bits again.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace strata {

class Communicator {
 public:
  virtual ~Communicator();

  virtual int rank() const = 0;
  virtual int size() const = 0;
  // "mpi", "single process": for messages and telemetry.
  virtual std::string backend_name() const = 0;

  // Element-wise sums over the ranks, in place, in rank order.
  virtual void all_reduce_sum(std::span<float> data) = 0;
  virtual void all_reduce_sum(std::span<double> data) = 0;
  // Element-wise maximum over the ranks, in place.
  virtual void all_reduce_max(std::span<double> data) = 0;

  // A sum started now and finished by wait(). progress() lets it move on without blocking
  // (call it while computing something else: MPI advances a collective only inside its
  // calls). The buffer must stay alive and untouched until wait() returns. Sums must be
  // waited for in the order they were started (a sum may start its second half in wait(),
  // and every rank must issue its collectives in the same order).
  class PendingSum {
   public:
    virtual ~PendingSum();
    virtual void progress() = 0;
    virtual void wait() = 0;
  };
  virtual std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<float> data) = 0;
  virtual std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<double> data) = 0;

  // Every rank's `local` bytes, indexed by rank (sizes may differ between ranks).
  virtual std::vector<std::string> all_gather(const std::string& local) = 0;
  // Root's `data` on every rank (the size may differ: others receive root's).
  virtual void broadcast(std::string& data, int root) = 0;

  // Personalised exchange of one number per pair: counts[r] goes to rank r; returns what each
  // rank sent here, by rank (the sizes of an all_to_all to come).
  virtual std::vector<std::int64_t> exchange_counts(const std::vector<std::int64_t>& counts) = 0;
  // Personalised exchange of bytes, without copies of its own: `send` holds consecutive
  // blocks of send_bytes[r] bytes for rank r (rank 0's first); `receive` gets consecutive
  // blocks of receive_bytes[r] bytes from rank r (exchange_counts gives those sizes).
  virtual void all_to_all(const void* send, const std::vector<std::int64_t>& send_bytes, void* receive,
                          const std::vector<std::int64_t>& receive_bytes) = 0;

  virtual void barrier() = 0;

  // Divides the group: the ranks that pass the same `color` form a new group, ranked in
  // their order here (a sweep's variants each on their own group of ranks).
  virtual std::unique_ptr<Communicator> split(int color) = 0;

  // Ends every rank of the job at once (after an error on this rank that would otherwise
  // leave the others waiting in a collective). Returns only for a single process.
  virtual void abort(int exit_code) = 0;
};

// A group of one: every collective is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend_name() const override { return "single process"; }
  void all_reduce_sum(std::span<float>) override {}
  void all_reduce_sum(std::span<double>) override {}
  void all_reduce_max(std::span<double>) override {}
  std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<float> data) override;
  std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<double> data) override;
  std::vector<std::string> all_gather(const std::string& local) override { return {local}; }
  void broadcast(std::string&, int) override {}
  std::vector<std::int64_t> exchange_counts(const std::vector<std::int64_t>& counts) override { return counts; }
  void all_to_all(const void* send, const std::vector<std::int64_t>& send_bytes, void* receive,
                  const std::vector<std::int64_t>& receive_bytes) override;
  void barrier() override {}
  std::unique_ptr<Communicator> split(int) override { return std::make_unique<SingleProcess>(); }
  void abort(int) override {}
};

}  // namespace strata
