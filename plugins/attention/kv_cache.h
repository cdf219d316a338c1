#pragma once
// The attention mixer's decoding state: the keys and values of the tokens seen so far,
// per sequence of the batch. Rows are appended as tokens arrive; the buffer grows by
// doubling (amortised O(1) per token, no copy of the whole cache per step). With a
// sliding window, rows older than the window are dropped when the buffer is full, so
// the cache stays O(window).
#include <strata/components.h>

#include <cstdint>

namespace strata::attention_plugin {

class KvCache : public MixerState {
 public:
  // window: 0 keeps every token; else only the keys a window of that size can still see.
  // The buffers are made on `device` (the mixer's) as tokens arrive.
  KvCache(std::int64_t batch, std::int64_t n_kv_heads, std::int64_t head_dim, std::int64_t window, DType dtype,
          Device device);

  // Bytes held by the key and value buffers (their capacity, which may exceed the rows in use).
  std::size_t size_bytes() const override;
  // Tokens consumed so far (the position of the next token).
  std::int64_t position() const override { return position_; }

  // k, v: [B, T', Hkv, d], the next T' tokens. Appends them; afterwards keys()/values()
  // end with these rows.
  void append(const Tensor& k, const Tensor& v);
  // [B, rows, Hkv, d] views of the rows in use: positions first_position() .. position() - 1.
  Tensor keys() const;
  Tensor values() const;
  std::int64_t first_position() const { return position_ - rows_; }

 private:
  // Makes room for `incoming` more rows: drops rows no future query can see, then grows.
  void reserve(std::int64_t incoming);

  std::int64_t batch_, n_kv_heads_, head_dim_, window_;
  DType dtype_;
  Device device_;
  Tensor k_, v_;  // [B, capacity, Hkv, d]
  std::int64_t rows_ = 0;      // rows in use, the last `rows_` tokens
  std::int64_t position_ = 0;  // tokens consumed
};

}  // namespace strata::attention_plugin
