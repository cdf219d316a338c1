#pragma once
// Per-thread scratch for kernels threaded over (batch, head): the caller allocates
// threads x per-thread elements (through its caching allocator), and each thread carves its
// buffers from its own slice, so that no call allocates or frees memory of its own (glibc
// returned such buffers to the system after each call and the next call faulted them in).
#include <cstddef>
#include <cstdint>
#include <utility>

namespace strata::kernels::cpu {

// A buffer carved from a thread's scratch: not initialised.
template <class T>
struct Buffer {
  T* p = nullptr;
  std::size_t n = 0;
  T* data() const { return p; }
  T* begin() const { return p; }
  T* end() const { return p + n; }
  T& operator[](std::size_t i) const { return p[i]; }
  void swap(Buffer& other) { std::swap(p, other.p), std::swap(n, other.n); }
};

// Hands out consecutive buffers of one thread's scratch; `used` counts the elements taken,
// so that a kernel sizes its scratch by a dry run of the same carving (base null).
template <class T>
struct Arena {
  T* base = nullptr;
  std::int64_t used = 0;
  Buffer<T> operator()(std::int64_t n) {
    Buffer<T> b{base ? base + used : nullptr, static_cast<std::size_t>(n)};
    used += n;
    return b;
  }
};

}  // namespace strata::kernels::cpu
