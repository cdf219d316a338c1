#include "index_checks.h"

#include <string>

#include "strata/error.h"
#include "tensor_internal.h"

namespace strata::detail {

void check_accumulate_args(std::string_view op, const Tensor& base, const Tensor& index, const Tensor& src) {
  check_floating(op, "base", base);
  check_floating(op, "src", src);
  check_index_tensor(op, "index", index);
  common_dtype(op, {&base, &src});
  common_device(op, {&base, &index, &src});
}

void check_indices(std::string_view op, std::string_view arg, const Tensor& index, std::int64_t limit) {
  const Tensor host = index.to(Device::cpu());
  const std::int64_t* p = host.data<std::int64_t>();
  for (std::int64_t i = 0; i < index.numel(); ++i) {
    if (p[i] >= 0 && p[i] < limit) continue;
    // report the position as a multi-index in the index tensor's shape
    std::string where;
    std::int64_t rest = i;
    for (int d = index.rank() - 1; d >= 0; --d) {
      where = std::to_string(rest % index.shape()[d]) + (where.empty() ? "" : ", ") + where;
      rest /= index.shape()[d];
    }
    throw ValueError(std::string(op) + ": " + std::string(arg) + "[" + where + "] = " + std::to_string(p[i]) +
                         " is outside [0, " + std::to_string(limit) + ")",
                     "indices must be >= 0 and smaller than the size of the indexed dim");
  }
}

}  // namespace strata::detail
