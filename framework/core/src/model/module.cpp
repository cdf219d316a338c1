#include "strata/module.h"

#include <algorithm>
#include <cctype>

#include "strata/error.h"

namespace strata {

// Anchors the vtable (and type_info) of every component base in libstrata.
Component::~Component() = default;

Tensor& Module::register_parameter(const std::string& name, Tensor value, ParamFlags flags) {
  check_new_name(name);
  if (!value.defined() || !is_floating(value.dtype())) {
    throw ValueError("parameter '" + name + "' must be a defined floating tensor");
  }
  Tensor leaf = value.detach();
  leaf.requires_grad_(true);
  params_.push_back({name, std::move(leaf), flags, nullptr});
  order_.push_back(true);
  return params_.back().tensor;
}

Tensor& Module::register_sharded_parameter(const std::string& name, Tensor block,
                                           std::shared_ptr<const ParameterShard> shard, ParamFlags flags) {
  if (!shard || shard->shards == nullptr || shard->replicas == nullptr || block.rank() == 0 ||
      shard->full_rows < block.size(0))
    throw ValueError("sharded parameter '" + name + "' needs its shard groups and a full row count of at least its "
                     "block's rows");
  Tensor& stored = register_parameter(name, std::move(block), flags);
  params_.back().shard = std::move(shard);
  return stored;
}

Tensor& Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  if (!value.defined()) throw ValueError("buffer '" + name + "' must be a defined tensor");
  buffers_.push_back({name, value.detach()});
  return buffers_.back().tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name);
  if (!child) throw ValueError("child module '" + name + "' is null");
  children_.emplace_back(name, std::move(child));
  order_.push_back(false);
}

void Module::check_new_name(const std::string& name) const {
  const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
  if (!valid) throw ValueError("module member name '" + name + "' must be non-empty [A-Za-z0-9_]");
  for (const auto& p : params_)
    if (p.name == name) throw ValueError("module already has a parameter named '" + name + "'");
  for (const auto& c : children_)
    if (c.first == name) throw ValueError("module already has a child named '" + name + "'");
  for (const auto& b : buffers_)
    if (b.name == name) throw ValueError("module already has a buffer named '" + name + "'");
}

void Module::collect(const std::string& prefix, std::vector<NamedParameter>& out) const {
  std::size_t next_param = 0, next_child = 0;
  for (const bool is_param : order_) {
    if (is_param) {
      const Param& p = params_[next_param++];
      const bool decay = (static_cast<unsigned>(p.flags) & static_cast<unsigned>(ParamFlags::no_weight_decay)) == 0;
      out.push_back({prefix + p.name, p.tensor, decay, p.shard});
    } else {
      const auto& [name, child] = children_[next_child++];
      child->collect(prefix + name + ".", out);
    }
  }
}

std::vector<NamedParameter> Module::named_parameters(const std::string& prefix) const {
  std::vector<NamedParameter> out;
  collect(prefix.empty() ? "" : prefix + ".", out);
  return out;
}

void Module::collect_buffers(const std::string& prefix, std::vector<NamedBuffer>& out) const {
  for (const NamedBuffer& b : buffers_) out.push_back({prefix + b.name, b.tensor});
  for (const auto& [name, child] : children_) child->collect_buffers(prefix + name + ".", out);
}

std::vector<NamedBuffer> Module::named_buffers(const std::string& prefix) const {
  std::vector<NamedBuffer> out;
  collect_buffers(prefix.empty() ? "" : prefix + ".", out);
  return out;
}

void Module::for_each_parameter(const std::function<void(const Tensor&)>& fn) const {
  for (const Param& p : params_) fn(p.tensor);
  for (const auto& [name, child] : children_) child->for_each_parameter(fn);
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& p : named_parameters()) out.push_back(p.tensor);
  return out;
}

std::int64_t Module::num_parameters() const {
  std::int64_t n = 0;
  for_each_parameter([&](const Tensor& t) { n += t.numel(); });
  return n;
}

void Module::zero_grad() const {
  // Every step: no parameter names built here.
  for_each_parameter([](const Tensor& t) { Tensor(t).set_grad(Tensor()); });
}

void Module::after_step() {
  for (auto& [name, child] : children_) child->after_step();
}

void Module::to(Device device) {
  check_available(device);
  for (const NamedParameter& p : named_parameters()) Tensor(p.tensor).move_to_(device);
  for (const NamedBuffer& b : named_buffers()) Tensor(b.tensor).move_to_(device);
}

Device Module::device() const {
  Device found = Device::cpu();
  bool seen = false;
  for_each_parameter([&](const Tensor& t) {
    if (!seen) found = t.device();
    seen = true;
  });
  if (seen) return found;
  const std::vector<NamedBuffer> buffers = named_buffers();
  return buffers.empty() ? found : buffers.front().tensor.device();
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

}  // namespace strata
