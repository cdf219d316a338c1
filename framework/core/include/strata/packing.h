#pragma once
// Packed sequences: several documents in one batch row (mamba_ssm's seq_idx / cu_seqlens,
// flash-attn's varlen). A packed batch carries, for every token, the time index at which its
// document starts in the row:
//
//   starts: [B, T] i64, starts[b, t] = the first t' of the document that holds token t
//
// so row [a a a | b b | c c c] has starts [0 0 0 3 3 5 5 5]. The sequence mixers use it to
// keep documents apart: attention sees keys starts[b, t] .. t, RoPE counts positions
// t - starts[b, t], the causal conv does not read across a start, and the recurrent scans
// (Mamba's selective scan, Mamba-2's SSD) restart from a zero state at each start after
// t = 0. Only a row's first document continues from an initial state. An undefined tensor
// means one sequence per row.
#include <cstdint>
#include <string_view>
#include <vector>

#include "strata/tensor.h"

namespace strata {

// Throws ValueError (naming `what`) unless `starts` is a valid [batch, seq_len] i64 CPU
// tensor: starts[b, 0] = 0 and for t > 0 starts[b, t] is t (a new document) or
// starts[b, t - 1] (the same one).
void check_sequence_starts(const Tensor& starts, std::int64_t batch, std::int64_t seq_len, std::string_view what);

// lengths: per row, the document lengths in order (each row summing to seq_len) -> [B, T].
Tensor sequence_starts_from_lengths(const std::vector<std::vector<std::int64_t>>& lengths, std::int64_t seq_len);

// starts: [B, T] -> [B, T] i64, the position of each token within its document.
Tensor positions_in_sequence(const Tensor& starts);

// starts: [B, T] -> the document of each of the B*T tokens, numbered over the batch in
// order from 0 (row 0's first document is 0, each start and each new row opens the next).
std::vector<std::int64_t> sequence_ids(const Tensor& starts);

// The documents of row b as [begin, end) time ranges, in order.
struct SequenceRange {
  std::int64_t begin = 0, end = 0;
};
std::vector<SequenceRange> sequence_ranges(const Tensor& starts, std::int64_t b);

}  // namespace strata
