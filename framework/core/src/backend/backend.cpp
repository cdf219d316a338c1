// The backend table's listing, the call observer and the unsupported-call error.
#include "strata/backend.h"

#include <algorithm>
#include <map>
#include <set>

#include "backend/core_kernels.h"
#include "strata/error.h"

namespace strata::backend {

namespace {

struct Table {
  std::vector<const OpEntry*> ops;
};

// Never destroyed: ops defined in plugins may outlive any static of this library at exit.
Table& table() {
  static Table* t = new Table;
  return *t;
}

const OpEntry* find_listed(std::string_view name) {
  for (const OpEntry* op : table().ops)
    if (op->name() == name) return op;
  return nullptr;
}

std::string join_dtypes(const std::vector<DType>& dtypes) {
  std::string s;
  for (DType t : dtypes) s += (s.empty() ? "" : ", ") + std::string(dtype_name(t));
  return s;
}

}  // namespace

DTypeList::DTypeList(std::initializer_list<DType> dtypes) {
  for (DType t : dtypes) {
    if (size_ == values_.size()) break;
    values_[size_++] = t;
  }
}

std::string DTypeList::to_string() const {
  std::string s = "(";
  for (DType t : *this) s += (s.size() > 1 ? ", " : "") + std::string(dtype_name(t));
  return s + ")";
}

std::string_view device_type_name(DeviceType type) { return type == DeviceType::cpu ? "cpu" : "cuda"; }

OpEntry::OpEntry(std::string name) : name_(std::move(name)) {}

OpEntry::~OpEntry() { std::erase(table().ops, this); }

void OpEntry::list_in_table() {
  auto& ops = table().ops;
  if (std::find(ops.begin(), ops.end(), this) != ops.end()) return;
  if (find_listed(name_))
    throw ValueError("backend table: another op is already named '" + name_ + "'",
                     "give a plugin's ops names of their own, e.g. \"my_plugin.op\"");
  ops.push_back(this);
}

void OpEntry::throw_unsupported(Device device, const DTypeList& dtypes) const {
  // Name every backend that has a kernel for this op, with what it takes.
  std::map<std::string, std::set<DType>> by_backend;
  bool limited_here = false;
  for (const KernelInfo& k : kernels()) {
    const std::string where = k.backend + (k.backend == device_type_name(k.device) ? "" : " on " +
                                           std::string(device_type_name(k.device)));
    by_backend[where].insert(k.dtypes.begin(), k.dtypes.end());
    if (k.device == device.type && k.has_limits) limited_here = true;
  }
  std::string others;
  for (const auto& [name, dtypes_of] : by_backend)
    others += (others.empty() ? "" : "; ") + name + " (" +
              join_dtypes(std::vector<DType>(dtypes_of.begin(), dtypes_of.end())) + ")";
  throw NotImplementedError(
      name_ + ": no kernel for " + device.to_string() + " takes dtypes " + dtypes.to_string() +
          (limited_here ? " with these shapes or options" : "") +
          (others.empty() ? "; no backend has a kernel for it" : "; kernels exist for: " + others),
      "move the tensors to a device and dtype listed there (.to(Device::cpu()), .to(DType::f32)); nothing falls "
      "back to another device by itself");
}

std::vector<const OpEntry*> ops() {
  core_kernels::table();  // the core entries are registered on first use
  return table().ops;
}

const OpEntry* find_op(std::string_view name) {
  core_kernels::table();
  return find_listed(name);
}

namespace detail {
CallObserver call_observer = nullptr;
}  // namespace detail

void set_call_observer(CallObserver observer) { detail::call_observer = observer; }

}  // namespace strata::backend
