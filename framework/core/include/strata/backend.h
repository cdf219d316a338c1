#pragma once
// The backend table: the one seam between ops and kernels.
//
// An op (softmax, attention, ...) validates its inputs, allocates its outputs, records its
// backward, and hands the raw work to a KernelOp: a named entry of the table whose kernels
// are registered per device by backends (the CPU backend always; CUDA when built) and by
// plugins for their own ops. A call carries tensors (dtype and device included) and plain
// scalars in a small struct, the op's `Call`; the kernel reads the pointers of the dtypes
// it supports. Each kernel declares what it supports, in the manner of ggml's supports_op:
// the dtypes it takes and, optionally, a predicate over the call (shape limits). A call no
// kernel of its device supports raises NotImplementedError naming the op, the device, the
// dtypes and the backends that do have a kernel; nothing falls back to another device.
//
//   struct ScaleCall {                        // the op's call: tensors and scalars
//     const Tensor& x;  Tensor& out;  double factor;
//     backend::DTypeList dtypes() const { return {x.dtype()}; }
//   };
//   backend::KernelOp<ScaleCall> scale_kernel{"my_plugin.scale"};
//   scale_kernel.add({.backend = "cpu", .device = DeviceType::cpu, .dtypes = {DType::f32, DType::f64},
//                     .run = [](const ScaleCall& c) { ... }});
//   scale_kernel.run(x.device(), ScaleCall{x, out, 2.0});
//
// Later registrations take precedence over earlier ones for the calls they support, so a
// plugin can put a faster kernel in front of the built-in one for the shapes it handles.
#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "strata/device.h"
#include "strata/dtype.h"

namespace strata::backend {

// The dtypes of one call, in the order the op's Call documents (at most 4).
class DTypeList {
 public:
  DTypeList() = default;
  DTypeList(std::initializer_list<DType> dtypes);
  const DType* begin() const { return values_.data(); }
  const DType* end() const { return values_.data() + size_; }
  std::size_t size() const { return size_; }
  std::string to_string() const;  // "(f32, i64)"
  // One bit per distinct dtype (1 << DType), for cheap "all of these are supported" checks.
  std::uint32_t mask() const {
    std::uint32_t m = 0;
    for (DType t : *this) m |= 1u << unsigned(t);
    return m;
  }

 private:
  std::array<DType, 4> values_{};
  std::uint8_t size_ = 0;
};

// What every Call provides: the dtypes that decide which kernels can take it.
template <class Call>
concept KernelCall = requires(const Call& call) {
  { call.dtypes() } -> std::convertible_to<DTypeList>;
};

class OpEntry;
using CallObserver = void (*)(const OpEntry& op, Device device, const DTypeList& dtypes, const std::string& backend);

// One registered kernel, as listed by `kernels()` (conformance suite, `strata backends`).
struct KernelInfo {
  std::string backend;  // "cpu", "cuda", or the registering plugin's name
  DeviceType device = DeviceType::cpu;
  std::vector<DType> dtypes;
  bool has_limits = false;  // a predicate restricts the calls beyond their dtypes
};

// The type-independent part of a KernelOp: its name, its kernels, and the table listing.
class OpEntry {
 public:
  explicit OpEntry(std::string name);
  virtual ~OpEntry();
  OpEntry(const OpEntry&) = delete;
  OpEntry& operator=(const OpEntry&) = delete;

  const std::string& name() const { return name_; }
  virtual std::vector<KernelInfo> kernels() const = 0;

 protected:
  // Adds this op to the table listing (idempotent); ValueError when another op already
  // uses the name.
  void list_in_table();
  [[noreturn]] void throw_unsupported(Device device, const DTypeList& dtypes) const;

 private:
  std::string name_;
};

// A kernel of a KernelOp: the backend that provides it, what it supports, and the work.
template <class Call>
struct Kernel {
  std::string backend;
  DeviceType device = DeviceType::cpu;
  std::vector<DType> dtypes;                   // a call is taken when each of its dtypes is listed
  std::function<bool(const Call&)> supports;   // optional: further limits (shapes, flags)
  std::function<void(const Call&)> run;

  std::uint32_t dtype_mask() const {
    std::uint32_t m = 0;
    for (DType t : dtypes) m |= 1u << unsigned(t);
    return m;
  }
};

namespace detail {
// The observer set by set_call_observer (read inline on every call, so it costs one load).
extern CallObserver call_observer;
}  // namespace detail

template <KernelCall Call>
class KernelOp final : public OpEntry {
 public:
  using OpEntry::OpEntry;

  // Registers a kernel and returns its id (for remove). Kernels registered later are
  // tried first.
  std::size_t add(Kernel<Call> kernel) {
    list_in_table();
    const std::uint32_t mask = kernel.dtype_mask();
    kernels_.push_back({next_id_, mask, std::move(kernel)});
    return next_id_++;
  }
  // Removes the kernel `add` returned `id` for; unknown ids are ignored.
  void remove(std::size_t id) {
    std::erase_if(kernels_, [id](const Entry& e) { return e.id == id; });
  }

  // Runs the newest kernel of `device`'s type that takes the call.
  void run(Device device, const Call& call) const {
    if (const Entry* e = find(device, call)) {
      if (detail::call_observer) detail::call_observer(*this, device, call.dtypes(), e->kernel.backend);
      e->kernel.run(call);
      return;
    }
    throw_unsupported(device, call.dtypes());
  }

  // True when some kernel of `device`'s type takes the call.
  bool supported(Device device, const Call& call) const { return find(device, call) != nullptr; }

  std::vector<KernelInfo> kernels() const override {
    std::vector<KernelInfo> out;
    for (const Entry& e : kernels_)
      out.push_back({e.kernel.backend, e.kernel.device, e.kernel.dtypes, bool(e.kernel.supports)});
    return out;
  }

 private:
  struct Entry {
    std::size_t id;
    std::uint32_t dtype_mask;
    Kernel<Call> kernel;
  };

  // The newest kernel of the device's type that takes every dtype of the call and whose
  // predicate (if any) accepts it.
  const Entry* find(Device device, const Call& call) const {
    const std::uint32_t needed = DTypeList(call.dtypes()).mask();
    for (auto it = kernels_.rbegin(); it != kernels_.rend(); ++it) {
      if (it->kernel.device != device.type || (needed & ~it->dtype_mask) != 0) continue;
      if (!it->kernel.supports || it->kernel.supports(call)) return &*it;
    }
    return nullptr;
  }
  std::vector<Entry> kernels_;
  std::size_t next_id_ = 0;
};

// Every op with at least one kernel, in the order they were first given one.
std::vector<const OpEntry*> ops();
// The op of that name, or nullptr.
const OpEntry* find_op(std::string_view name);

// Called with every kernel that runs (op, device, dtypes, backend): the conformance suite
// uses it to check that each op of the table was exercised. nullptr (the default) turns it
// off. Not thread-safe: set it before running ops.
void set_call_observer(CallObserver observer);

// Sets the observer for a scope and turns it off at the end, however the scope ends.
class ScopedCallObserver {
 public:
  explicit ScopedCallObserver(CallObserver observer) { set_call_observer(observer); }
  ~ScopedCallObserver() { set_call_observer(nullptr); }
  ScopedCallObserver(const ScopedCallObserver&) = delete;
  ScopedCallObserver& operator=(const ScopedCallObserver&) = delete;
};

std::string_view device_type_name(DeviceType type);  // "cpu", "cuda"

}  // namespace strata::backend
