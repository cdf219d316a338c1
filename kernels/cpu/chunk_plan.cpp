#include "kernels/cpu/chunk_plan.h"

namespace strata::kernels::cpu {

ChunkPlan chunk_plan(std::int64_t batch, std::int64_t seq_len, std::int64_t chunk, const std::int64_t* starts) {
  ChunkPlan plan;
  plan.rows.resize(static_cast<std::size_t>(batch));
  for (std::int64_t b = 0; b < batch; ++b) {
    std::vector<Chunk>& row = plan.rows[std::size_t(b)];
    const std::int64_t* s = starts ? starts + b * seq_len : nullptr;
    for (std::int64_t t0 = 0; t0 < seq_len;) {
      // The document of t0 ends at the next start (or the row's end).
      std::int64_t end = seq_len;
      if (s)
        for (std::int64_t t = t0 + 1; t < seq_len; ++t)
          if (s[t] == t) {
            end = t;
            break;
          }
      for (std::int64_t c0 = t0; c0 < end; c0 += chunk) {
        row.push_back({c0, std::min(chunk, end - c0), c0 == t0 && t0 > 0});
        plan.longest = std::max(plan.longest, row.back().len);
      }
      t0 = end;
    }
    plan.max_chunks = std::max<std::int64_t>(plan.max_chunks, std::int64_t(row.size()));
  }
  return plan;
}

}  // namespace strata::kernels::cpu
