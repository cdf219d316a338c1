// The MPI implementation of strata::Communicator, built as its own module
// (libstrata_mpi.so) that the application loads only when mpirun or srun started the
// process (world.cpp). Neither strata nor libstrata_app links libmpi.
//
// Sums are deterministic (communicator.h): a reduce-scatter by personalised exchange in
// which rank r receives chunk r of every rank's buffer and adds them in rank order, then an
// all-gather of the summed chunks. That moves what a ring all-reduce moves
// (2 (N-1)/N of the buffer per rank) and fixes the order of every addition.
#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "strata/communicator.h"
#include "strata/error.h"

namespace strata {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, std::size_t(length)),
              "a rank of the job may have stopped; see the messages of mpirun above");
}

template <class T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

int as_count(std::size_t n, const char* what) {
  if (n > std::size_t(std::numeric_limits<int>::max()))
    throw Error(std::string(what) + ": " + std::to_string(n) + " elements exceed one MPI message",
                "split the data (the gradient buckets of train.bucket_mib do)");
  return int(n);
}

// One deterministic sum in two non-blocking phases: the exchange starts at once, the gather in wait().
template <class T>
class RankOrderedSum final : public Communicator::PendingSum {
 public:
  RankOrderedSum(MPI_Comm comm, std::span<T> data) : comm_(comm), data_(data) {
    MPI_Comm_size(comm, &size_);
    MPI_Comm_rank(comm, &rank_);
    const int n = as_count(data.size(), "all_reduce_sum");
    counts_.resize(static_cast<std::size_t>(size_));
    starts_.resize(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      starts_[std::size_t(r)] = int(std::int64_t(n) * r / size_);
      counts_[std::size_t(r)] = int(std::int64_t(n) * (r + 1) / size_) - starts_[std::size_t(r)];
    }
    const int mine = counts_[std::size_t(rank_)];
    received_.resize(std::size_t(mine) * std::size_t(size_));
    // A non-blocking collective reads its count arrays until it completes: members, not locals.
    receive_counts_.assign(std::size_t(size_), mine);
    receive_starts_.resize(std::size_t(size_));
    for (int r = 0; r < size_; ++r) receive_starts_[std::size_t(r)] = r * mine;
    check(MPI_Ialltoallv(data_.data(), counts_.data(), starts_.data(), mpi_type<T>(), received_.data(),
                         receive_counts_.data(), receive_starts_.data(), mpi_type<T>(), comm_, &request_),
          "MPI_Ialltoallv");
  }

  ~RankOrderedSum() override {
    // A sum abandoned by an exception still has to complete before its buffers go.
    if (phase_ != Phase::done) {
      try {
        wait();
      } catch (...) {
      }
    }
  }

  // Lets MPI move the exchange on; the gather starts only in wait(), so that every rank
  // starts its collectives in the same order (the order the sums are waited for) whatever
  // the timing of their completions.
  // (A completed request is MPI_REQUEST_NULL: testing or waiting on it again returns at once.)
  void progress() override {
    if (phase_ != Phase::exchange) return;
    int complete = 0;
    check(MPI_Test(&request_, &complete, MPI_STATUS_IGNORE), "MPI_Test");
  }

  void wait() override {
    if (phase_ == Phase::exchange) {
      check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
      add_chunk_and_start_gather();
    }
    if (phase_ == Phase::gather) {
      check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "MPI_Wait");
      phase_ = Phase::done;
    }
  }

 private:
  enum class Phase { exchange, gather, done };

  void add_chunk_and_start_gather() {
    // Chunk `rank_` of every rank's buffer, added in rank order.
    const std::size_t mine = std::size_t(counts_[std::size_t(rank_)]);
    T* out = data_.data() + starts_[std::size_t(rank_)];
    for (std::size_t i = 0; i < mine; ++i) out[i] = received_[i];
    for (int r = 1; r < size_; ++r) {
      const T* part = received_.data() + std::size_t(r) * mine;
      for (std::size_t i = 0; i < mine; ++i) out[i] += part[i];
    }
    check(MPI_Iallgatherv(MPI_IN_PLACE, 0, mpi_type<T>(), data_.data(), counts_.data(), starts_.data(), mpi_type<T>(),
                          comm_, &request_),
          "MPI_Iallgatherv");
    phase_ = Phase::gather;
  }

  MPI_Comm comm_;
  std::span<T> data_;
  int size_ = 1, rank_ = 0;
  std::vector<int> counts_, starts_;                  // chunk r of the buffer: the part rank r sums
  std::vector<int> receive_counts_, receive_starts_;  // where each rank's copy of our chunk lands
  std::vector<T> received_;
  MPI_Request request_ = MPI_REQUEST_NULL;
  Phase phase_ = Phase::exchange;
};

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int provided = 0;
      // Only the thread that initialised MPI calls it (strata's compute threads never do).
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    adopt();
  }

  // A group split from another (split()); MPI is already initialised.
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) { adopt(); }

  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized) return;
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend_name() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string text(version, std::size_t(length));
    return "mpi (" + text.substr(0, text.find_first_of(",\n")) + ")";
  }

  void all_reduce_sum(std::span<float> data) override { sum_in_pieces(data); }
  void all_reduce_sum(std::span<double> data) override { sum_in_pieces(data); }

  void all_reduce_max(std::span<double> data) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data.data(), as_count(data.size(), "all_reduce_max"), MPI_DOUBLE, MPI_MAX,
                        comm_),
          "MPI_Allreduce");
  }

  std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<float> data) override {
    return std::make_unique<RankOrderedSum<float>>(comm_, data);
  }
  std::unique_ptr<PendingSum> start_all_reduce_sum(std::span<double> data) override {
    return std::make_unique<RankOrderedSum<double>>(comm_, data);
  }

  std::vector<std::string> all_gather(const std::string& local) override {
    const int mine = as_count(local.size(), "all_gather");
    std::vector<int> sizes(static_cast<std::size_t>(size_)), starts(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&mine, 1, MPI_INT, sizes.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    std::size_t total = 0;
    for (int r = 0; r < size_; ++r) {
      starts[std::size_t(r)] = as_count(total, "all_gather");
      total += std::size_t(sizes[std::size_t(r)]);
    }
    std::string all(total, '\0');
    check(MPI_Allgatherv(local.data(), mine, MPI_BYTE, all.data(), sizes.data(), starts.data(), MPI_BYTE, comm_),
          "MPI_Allgatherv");
    std::vector<std::string> out(static_cast<std::size_t>(size_));
    for (int r = 0; r < size_; ++r)
      out[std::size_t(r)] = all.substr(std::size_t(starts[std::size_t(r)]), std::size_t(sizes[std::size_t(r)]));
    return out;
  }

  void broadcast(std::string& data, int root) override {
    long long n = static_cast<long long>(data.size());
    check(MPI_Bcast(&n, 1, MPI_LONG_LONG, root, comm_), "MPI_Bcast");
    data.resize(std::size_t(n));
    check(MPI_Bcast(data.data(), as_count(std::size_t(n), "broadcast"), MPI_BYTE, root, comm_), "MPI_Bcast");
  }

  std::vector<std::int64_t> exchange_counts(const std::vector<std::int64_t>& counts) override {
    if (int(counts.size()) != size_)
      throw ValueError("exchange_counts: " + std::to_string(counts.size()) + " counts for " + std::to_string(size_) +
                       " ranks");
    std::vector<std::int64_t> received(counts.size());
    check(MPI_Alltoall(counts.data(), 1, MPI_INT64_T, received.data(), 1, MPI_INT64_T, comm_), "MPI_Alltoall");
    return received;
  }

  void all_to_all(const void* send, const std::vector<std::int64_t>& send_bytes, void* receive,
                  const std::vector<std::int64_t>& receive_bytes) override {
    if (int(send_bytes.size()) != size_ || int(receive_bytes.size()) != size_)
      throw ValueError("all_to_all: sizes for " + std::to_string(send_bytes.size()) + " and " +
                       std::to_string(receive_bytes.size()) + " ranks in a group of " + std::to_string(size_));
    std::vector<int> send_sizes(send_bytes.size()), send_starts(send_bytes.size());
    std::vector<int> receive_sizes(receive_bytes.size()), receive_starts(receive_bytes.size());
    std::size_t sent = 0, received = 0;
    for (std::size_t r = 0; r < send_bytes.size(); ++r) {
      send_starts[r] = as_count(sent, "all_to_all");
      send_sizes[r] = as_count(std::size_t(send_bytes[r]), "all_to_all");
      sent += std::size_t(send_bytes[r]);
      receive_starts[r] = as_count(received, "all_to_all");
      receive_sizes[r] = as_count(std::size_t(receive_bytes[r]), "all_to_all");
      received += std::size_t(receive_bytes[r]);
    }
    check(MPI_Alltoallv(send, send_sizes.data(), send_starts.data(), MPI_BYTE, receive, receive_sizes.data(),
                        receive_starts.data(), MPI_BYTE, comm_),
          "MPI_Alltoallv");
  }

  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

  void abort(int exit_code) override { MPI_Abort(comm_, exit_code); }

  std::unique_ptr<Communicator> split(int color) override {
    MPI_Comm part = MPI_COMM_NULL;
    check(MPI_Comm_split(comm_, color, rank_, &part), "MPI_Comm_split");
    return std::make_unique<MpiCommunicator>(part);
  }

 private:
  void adopt() {
    // Failures come back as error codes (and become exceptions), not as MPI's default abort.
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }

  // Blocking sums, in pieces that each fit one MPI message.
  template <class T>
  void sum_in_pieces(std::span<T> data) {
    constexpr std::size_t piece = std::size_t(1) << 28;
    for (std::size_t start = 0; start < data.size(); start += piece)
      RankOrderedSum<T>(comm_, data.subspan(start, std::min(piece, data.size() - start))).wait();
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace
}  // namespace strata

// The module's one entry point (world.cpp looks it up by this name). Returns null and
// writes the reason into `error` when MPI cannot start.
extern "C" __attribute__((visibility("default"))) strata::Communicator* strata_open_mpi_world(char* error,
                                                                                              std::size_t capacity) {
  try {
    return new strata::MpiCommunicator();
  } catch (const std::exception& e) {
    std::snprintf(error, capacity, "%s", e.what());
  } catch (...) {
    std::snprintf(error, capacity, "an unknown exception");
  }
  return nullptr;
}
