#include "kv_cache.h"

#include <strata/autograd.h>

#include <algorithm>

namespace strata::attention_plugin {

namespace {
constexpr std::int64_t kMinCapacity = 16;
}

KvCache::KvCache(std::int64_t batch, std::int64_t n_kv_heads, std::int64_t head_dim, std::int64_t window, DType dtype,
                 Device device)
    : batch_(batch), n_kv_heads_(n_kv_heads), head_dim_(head_dim), window_(window), dtype_(dtype), device_(device) {}

std::size_t KvCache::size_bytes() const {
  return (k_.defined() ? k_.nbytes() : 0) + (v_.defined() ? v_.nbytes() : 0);
}

void KvCache::reserve(std::int64_t incoming) {
  const std::int64_t capacity = k_.defined() ? k_.size(1) : 0;
  if (rows_ + incoming <= capacity) return;
  // The first incoming query (at position_) sees keys from position_ - window + 1 on.
  const std::int64_t keep = window_ > 0 ? std::min(rows_, window_ - 1) : rows_;
  const std::int64_t needed = keep + incoming;
  autograd::NoGradGuard no_grad;
  if (needed <= capacity) {  // compacting is enough: move the kept rows to the front
    for (Tensor* t : {&k_, &v_}) {
      const Tensor kept = t->slice(1, rows_ - keep, rows_).clone();
      t->slice(1, 0, keep).copy_(kept);
    }
  } else {
    const std::int64_t grown = std::max({needed, 2 * capacity, kMinCapacity});
    for (Tensor* t : {&k_, &v_}) {
      Tensor bigger = Tensor::empty({batch_, grown, n_kv_heads_, head_dim_}, dtype_, device_);
      if (keep > 0) bigger.slice(1, 0, keep).copy_(t->slice(1, rows_ - keep, rows_));
      *t = bigger;
    }
  }
  rows_ = keep;
}

void KvCache::append(const Tensor& k, const Tensor& v) {
  const std::int64_t incoming = k.size(1);
  reserve(incoming);
  autograd::NoGradGuard no_grad;
  k_.slice(1, rows_, rows_ + incoming).copy_(k.detach());
  v_.slice(1, rows_, rows_ + incoming).copy_(v.detach());
  rows_ += incoming;
  position_ += incoming;
}

Tensor KvCache::keys() const { return k_.slice(1, 0, rows_); }
Tensor KvCache::values() const { return v_.slice(1, 0, rows_); }

}  // namespace strata::attention_plugin
