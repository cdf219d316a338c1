#include "strata/packing.h"

#include <string>

#include "strata/error.h"

namespace strata {

void check_sequence_starts(const Tensor& starts, std::int64_t batch, std::int64_t seq_len, std::string_view what) {
  const std::string name(what);
  if (!starts.defined()) throw ValueError(name + ": sequence starts are undefined");
  if (starts.dtype() != DType::i64)
    throw DTypeError(name + ": sequence starts must be i64, got " + std::string(dtype_name(starts.dtype())));
  if (!starts.device().is_cpu())
    throw DeviceError(name + ": sequence starts must be on the CPU (they are read by the host)");
  if (starts.rank() != 2 || starts.size(0) != batch || starts.size(1) != seq_len)
    throw ShapeError(name + ": sequence starts must be [B, T] = [" + std::to_string(batch) + ", " +
                         std::to_string(seq_len) + "], got " + starts.shape().to_string(),
                     "one start per token of the batch");
  const Tensor s = starts.contiguous();
  const std::int64_t* p = s.data<std::int64_t>();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t t = 0; t < seq_len; ++t) {
      const std::int64_t v = p[b * seq_len + t];
      const bool ok = t == 0 ? v == 0 : (v == t || v == p[b * seq_len + t - 1]);
      if (!ok)
        throw ValueError(name + ": sequence start " + std::to_string(v) + " at row " + std::to_string(b) + ", token " +
                             std::to_string(t) + " is not " + (t == 0 ? "0" : "t or the previous token's start"),
                         "starts[b, t] is where token t's document begins in its row (documents are contiguous)");
    }
}

Tensor sequence_starts_from_lengths(const std::vector<std::vector<std::int64_t>>& lengths, std::int64_t seq_len) {
  const auto B = static_cast<std::int64_t>(lengths.size());
  std::vector<std::int64_t> starts(static_cast<std::size_t>(B * seq_len));
  for (std::int64_t b = 0; b < B; ++b) {
    std::int64_t t = 0;
    for (const std::int64_t len : lengths[std::size_t(b)]) {
      if (len <= 0 || t + len > seq_len)
        throw ValueError("sequence_starts_from_lengths: row " + std::to_string(b) + " has a document of length " +
                         std::to_string(len) + " at token " + std::to_string(t) + " (row length " +
                         std::to_string(seq_len) + ")");
      for (std::int64_t i = 0; i < len; ++i) starts[std::size_t(b * seq_len + t + i)] = t;
      t += len;
    }
    if (t != seq_len)
      throw ValueError("sequence_starts_from_lengths: row " + std::to_string(b) + "'s documents cover " +
                       std::to_string(t) + " of " + std::to_string(seq_len) + " tokens");
  }
  return Tensor::from_vector(starts, {B, seq_len});
}

Tensor positions_in_sequence(const Tensor& starts) {
  const Tensor s = starts.contiguous();
  const std::int64_t T = s.size(1);
  std::vector<std::int64_t> pos = s.to_vector<std::int64_t>();
  for (std::size_t i = 0; i < pos.size(); ++i) pos[i] = std::int64_t(i) % T - pos[i];
  return Tensor::from_vector(pos, {s.size(0), T});
}

std::vector<std::int64_t> sequence_ids(const Tensor& starts) {
  const Tensor s = starts.contiguous();
  const std::int64_t T = s.size(1);
  std::vector<std::int64_t> ids = s.to_vector<std::int64_t>();
  std::int64_t id = -1;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int64_t t = std::int64_t(i) % T;
    if (ids[i] == t) ++id;  // t = 0 always opens one
    ids[i] = id;
  }
  return ids;
}

std::vector<SequenceRange> sequence_ranges(const Tensor& starts, std::int64_t b) {
  const Tensor s = starts.contiguous();
  const std::int64_t T = s.size(1);
  const std::int64_t* p = s.data<std::int64_t>() + b * T;
  std::vector<SequenceRange> ranges;
  for (std::int64_t t = 0; t < T; ++t) {
    if (p[t] == t) {
      if (!ranges.empty()) ranges.back().end = t;
      ranges.push_back({t, T});
    }
  }
  return ranges;
}

}  // namespace strata
