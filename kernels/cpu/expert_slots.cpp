#include "kernels/cpu/expert_slots.h"

#include <vector>

namespace strata::kernels::cpu {

void expert_slots_count_cpu(const ExpertSlotsArgs& a) {
  const std::int64_t E = a.experts;
  for (std::int64_t e = 0; e < E + 2; ++e) a.summary[e] = 0;
  a.summary[E + 1] = -1;
  for (std::int64_t i = 0; i < a.slots; ++i) {
    const std::int64_t e = a.ids[i];
    if (e >= 0 && e < E) {
      ++a.summary[e];
    } else if (e == -1) {
      ++a.summary[E];
    } else if (a.summary[E + 1] < 0) {
      a.summary[E + 1] = i;
    }
  }
}

void expert_slots_permute_cpu(const ExpertSlotsArgs& a) {
  std::vector<std::int64_t> next(static_cast<std::size_t>(a.experts), 0);  // the next position of each expert
  for (std::int64_t e = 1; e < a.experts; ++e) next[std::size_t(e)] = next[std::size_t(e - 1)] + a.summary[e - 1];
  for (std::int64_t i = 0; i < a.slots; ++i) {
    const std::int64_t e = a.ids[i];
    if (e < 0) continue;
    const std::int64_t at = next[std::size_t(e)]++;
    a.slot[at] = i;
    a.token[at] = i / a.k;
  }
}

}  // namespace strata::kernels::cpu
