#pragma once
// Data-parallel gradient reduction in buckets, overlapped with the backward.
//
// The parameters are grouped, in reverse model order (the order a backward tends to finish
// them), into buckets of at most `bucket_bytes` of one dtype. During the step's last backward
// the autograd engine reports each parameter whose gradient is final (autograd.h,
// on_leaf_ready); a bucket whose parameters are all final is copied into its flat buffer and
// its sum over the ranks starts at once, while the backward goes on. Buckets start strictly
// in bucket order, so every rank issues the same collectives in the same order whatever
// order its graph finished them in. A bucket's sum is an exchange (each rank receives its
// chunk of every rank's bucket) that runs during the backward, then a gather of the summed
// chunks that finish() starts in bucket order. finish() starts the buckets left (parameters
// the graph did not reach count as zero gradients), waits, and writes the sums back into
// the gradients.
//
//   GradientBuckets buckets(params, group, 25 << 20);
//   buckets.begin();
//   autograd::backward(roots, seeds, false, buckets.ready_hook());
//   buckets.finish();   // every rank's .grad now holds the sum over the ranks
#include <chrono>
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <vector>

#include "strata/autograd.h"
#include "strata/communicator.h"
#include "strata/tensor.h"

namespace strata {

class GradientBuckets {
 public:
  GradientBuckets(std::vector<Tensor> params, Communicator& group, std::size_t bucket_bytes);
  ~GradientBuckets();
  GradientBuckets(const GradientBuckets&) = delete;
  GradientBuckets& operator=(const GradientBuckets&) = delete;

  // Before the backward that finishes the step's gradients.
  void begin();
  // For autograd::backward: marks a parameter final and starts what became ready.
  const autograd::LeafReadyFn& ready_hook() const { return hook_; }
  // After that backward: completes every bucket and writes the sums into the .grad tensors.
  void finish();

  std::size_t bucket_count() const { return buckets_.size(); }
  // Buckets whose sum has started since begin() (during the backward, before finish()).
  std::size_t started() const { return next_to_start_; }
  // Seconds spent inside the communicator since the last begin(): copying, starting,
  // testing and waiting (the part of communication not hidden behind the backward).
  double exposed_seconds() const { return exposed_seconds_; }

 private:
  struct Bucket {
    DType dtype = DType::f32;
    std::vector<std::size_t> members;  // indices into params_
    std::vector<std::size_t> offsets;  // element offset of each member in the buffer
    std::size_t elements = 0;
    std::vector<float> f32;
    std::vector<double> f64;
    std::size_t waiting = 0;  // members whose gradient is not final yet
    std::unique_ptr<Communicator::PendingSum> sum;
  };

  void mark_ready(std::size_t param);
  void start_ready_buckets();
  void poll_started();

  std::vector<Tensor> params_;
  Communicator& group_;
  std::vector<Bucket> buckets_;
  std::vector<std::size_t> bucket_of_;                      // per parameter
  std::unordered_map<const TensorImpl*, std::size_t> index_;  // leaf -> parameter
  std::vector<bool> ready_;
  std::size_t next_to_start_ = 0;
  autograd::LeafReadyFn hook_;
  double exposed_seconds_ = 0;
};

}  // namespace strata
