#pragma once
// Module: an object that owns named parameters and child modules. Every trainable
// component (mixer, ffn, router, balance) and the model itself is a Module, so the
// optimizer, checkpoints and `strata inspect` see one parameter tree.
//
//   class MyMixer : public Mixer {
//    public:
//     MyMixer(std::int64_t d, Generator& gen) {
//       proj_ = register_module("proj", std::make_shared<nn::Linear>(d, d, true, gen));
//       gate_ = register_parameter("gate", Tensor::zeros({d}), ParamFlags::no_weight_decay);
//     }
//   };
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "strata/telemetry.h"
#include "strata/tensor.h"

namespace strata {

// Base of every component object. Its virtual destructor lives in libstrata_core; a plugin's
// objects are destroyed through a deleter created on the host side (registry.h).
class Component {
 public:
  virtual ~Component();
};

enum class ParamFlags : unsigned {
  none = 0,
  no_weight_decay = 1,  // norms, biases, A_log, D, expert biases: AdamW skips their decay
};

// State that is not trained (no gradient; the optimizer never sees it) but belongs to the
// model and its checkpoints: running statistics, expert selection biases, ...
struct NamedBuffer {
  std::string name;  // dotted path, as for parameters
  Tensor tensor;
};

class Communicator;

// A parameter of which this process holds one block of rows (along dim 0) of the full
// tensor, the other blocks living on other ranks: expert parallelism
// (docs/distributed.md). Block i is held by rank i of `shards`; the ranks of `replicas`
// hold the same block, and its gradient is summed over them. Checkpoints hold the full
// tensor (the application gathers the blocks), so that a model trained sharded loads
// whole into one process.
struct ParameterShard {
  Communicator* shards = nullptr;    // the ranks that together hold the full tensor
  Communicator* replicas = nullptr;  // the ranks that hold this same block
  std::int64_t full_rows = 0;        // rows (dim 0) of the full tensor
};

struct NamedParameter {
  std::string name;  // dotted path: "layers.3.mixer.conv_weight"
  Tensor tensor;     // a leaf that requires grad
  bool weight_decay = true;
  std::shared_ptr<const ParameterShard> shard;  // null: the whole tensor (replicated under data parallelism)
};

class Module : public Component {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter of this module and its children, depth first, in registration order
  // (a child's parameters where the child was registered).
  std::vector<NamedParameter> named_parameters(const std::string& prefix = "") const;

  // The metric series this module logs through the StepContext (strata/telemetry.h), with
  // names relative to its scope. A module that builds others (an MoE ffn and its router
  // and balance terms) includes theirs. Default: none.
  virtual std::vector<MetricSeries> metric_series() const { return {}; }
  std::vector<Tensor> parameters() const;
  // Every buffer of this module and its children: its own in registration order, then
  // each child's (depth first).
  std::vector<NamedBuffer> named_buffers(const std::string& prefix = "") const;
  std::int64_t num_parameters() const;
  // Sets every parameter's grad to undefined.
  void zero_grad() const;

  // Called by the trainer after each optimizer step, on the whole tree (children first
  // in registration order): controllers such as expert-bias balancing update here.
  virtual void after_step();

  // Moves every parameter and buffer of this module and its children to `device` in place
  // (Tensor::move_to_; gradients are dropped). Build the optimizer after the move.
  void to(Device device);
  // The device of this module's parameters and buffers (the first one's: Module::to keeps
  // them together); the CPU for a module without any. Decode states are made here.
  Device device() const;

  // Training mode (dropout, router noise) vs evaluation; applies to children.
  void train(bool on = true);
  bool training() const { return training_; }

 protected:
  // Registers `value` (made a leaf that requires grad) and returns the stored tensor.
  // Names must be unique within the module; use [A-Za-z0-9_].
  Tensor& register_parameter(const std::string& name, Tensor value, ParamFlags flags = ParamFlags::none);
  // The same for a block of a parameter sharded over ranks (ParameterShard).
  Tensor& register_sharded_parameter(const std::string& name, Tensor block, std::shared_ptr<const ParameterShard> shard,
                                     ParamFlags flags = ParamFlags::none);
  // Registers `value` as a buffer (detached; updated in place by its owner, e.g. in
  // after_step) and returns the stored tensor.
  Tensor& register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> child) {
    add_child(name, child);
    return child;
  }

  void add_child(const std::string& name, std::shared_ptr<Module> child);

 private:
  void check_new_name(const std::string& name) const;
  // Every parameter tensor of the tree, in no particular order.
  void for_each_parameter(const std::function<void(const Tensor&)>& fn) const;
  void collect(const std::string& prefix, std::vector<NamedParameter>& out) const;
  void collect_buffers(const std::string& prefix, std::vector<NamedBuffer>& out) const;

  struct Param {
    std::string name;
    Tensor tensor;
    ParamFlags flags;
    std::shared_ptr<const ParameterShard> shard;
  };
  std::vector<Param> params_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  std::vector<NamedBuffer> buffers_;
  // Registration order over both lists (true: the next parameter, false: the next child),
  // so that named_parameters() follows the order in which the module declared them.
  std::vector<bool> order_;
  bool training_ = true;
};

// A list of child modules named "0", "1", ... (the model's layers).
class ModuleList : public Module {
 public:
  void append(std::shared_ptr<Module> child) { add_child(std::to_string(size_++), std::move(child)); }
  std::size_t size() const { return size_; }

 private:
  std::size_t size_ = 0;
};

}  // namespace strata
