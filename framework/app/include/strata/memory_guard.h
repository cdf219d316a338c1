#pragma once
// Refusing work that cannot fit, before allocating it. `strata run`, `eval`, `logits` and
// `generate` estimate their peak memory from the model plan (strata/memory_plan.h: the
// weights, the training state, the activations of a step, the decode cache) and compare it
// with the memory this process may use; a model that cannot fit is refused at once with both
// numbers, instead of growing until the operating system kills the process.
//
//   require_training_fits(experiment, registry);   // InsufficientMemoryError if not
#include <cstdint>

#include "strata/device.h"
#include "strata/error.h"
#include "strata/experiment.h"

namespace strata {

class InsufficientMemoryError : public Error {
 public:
  using Error::Error;
  ~InsufficientMemoryError() override;
};

// The memory this process may still use, in bytes: the STRATA_MEMORY_AVAILABLE setting when
// given (a size such as "64GiB"; ValueError if it is not one), else MemAvailable from
// /proc/meminfo capped by the cgroup's limit (v2 memory.max less memory.current, or v1's).
// 0 when none of these can be read: nothing is refused then.
std::int64_t available_memory_bytes();

// A training step of `e` at its train.batch_size and task seq_len: weights, gradients,
// optimizer moments, activations and the backward's workspace (memory_plan.h), on its
// train.device. On a GPU the step must fit the device's free memory and the weights the
// host's (the model is built on the CPU, then moved); an integrated GPU (GB10) shares the
// host's memory, so its budget is the smaller of the two readings, counted once.
void require_training_fits(const Experiment& e, const ComponentRegistry& registry);

// Decoding (or evaluating) with `e`'s weights in `dtype` and a cache for `batch` sequences of
// `context` tokens (context 0: the weights alone), on `device` (as for training).
void require_decoding_fits(const Experiment& e, const ComponentRegistry& registry, const std::string& dtype,
                           std::int64_t batch = 1, std::int64_t context = 0, Device device = Device::cpu());

}  // namespace strata
