#pragma once
// Shape: the sizes of a tensor's dimensions, rank <= kMaxRank, stored inline (no heap).
// The same type holds strides (in elements).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace strata {

inline constexpr int kMaxRank = 5;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  explicit Shape(std::span<const std::int64_t> dims);

  int rank() const { return rank_; }
  bool empty() const { return rank_ == 0; }
  std::int64_t numel() const;  // 1 for rank 0

  std::int64_t operator[](int i) const { return dims_[i]; }
  std::int64_t& operator[](int i) { return dims_[i]; }
  // Python-style index: -1 is the last dimension. Throws ShapeError when out of range.
  std::int64_t at(int i) const;
  std::int64_t back() const { return dims_[rank_ - 1]; }

  void push_back(std::int64_t d);
  Shape with(int i, std::int64_t d) const;  // copy with dims[i] replaced
  Shape drop(int i) const;                  // copy without dimension i
  Shape insert(int i, std::int64_t d) const;

  const std::int64_t* begin() const { return dims_.data(); }
  const std::int64_t* end() const { return dims_.data() + rank_; }
  std::span<const std::int64_t> span() const { return {dims_.data(), std::size_t(rank_)}; }

  bool operator==(const Shape& o) const;
  std::string to_string() const;  // "[2, 3, 4]"

 private:
  std::array<std::int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};
using Strides = Shape;

std::ostream& operator<<(std::ostream& os, const Shape& s);

// Row-major (C-order) strides for a shape.
Strides contiguous_strides(const Shape& shape);

// Maps a possibly negative dim to [0, rank); throws ShapeError naming `op` when out of range.
int normalize_dim(int dim, int rank, std::string_view op);

// The shape two operands broadcast to (numpy rules); throws ShapeError naming `op`.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op);

}  // namespace strata
