#include "strata/shape.h"

#include <ostream>

#include "strata/error.h"

namespace strata {

namespace {
void check_rank(std::size_t rank) {
  if (rank > std::size_t(kMaxRank))
    throw ShapeError("tensor rank " + std::to_string(rank) + " exceeds the maximum rank " + std::to_string(kMaxRank),
                     "merge dimensions with reshape before this point");
}
}  // namespace

Shape::Shape(std::initializer_list<std::int64_t> dims) {
  check_rank(dims.size());
  for (std::int64_t d : dims) dims_[std::size_t(rank_++)] = d;
}

Shape::Shape(std::span<const std::int64_t> dims) {
  check_rank(dims.size());
  for (std::int64_t d : dims) dims_[std::size_t(rank_++)] = d;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank_; ++i)
    if (__builtin_mul_overflow(n, dims_[std::size_t(i)], &n))
      throw ShapeError("shape " + to_string() + " has more elements than fit in 64 bits");
  return n;
}

std::int64_t Shape::at(int i) const { return dims_[std::size_t(normalize_dim(i, rank_, "Shape::at"))]; }

void Shape::push_back(std::int64_t d) {
  check_rank(std::size_t(rank_) + 1);
  dims_[std::size_t(rank_++)] = d;
}

Shape Shape::with(int i, std::int64_t d) const {
  Shape s = *this;
  s.dims_[std::size_t(normalize_dim(i, rank_, "Shape::with"))] = d;
  return s;
}

Shape Shape::drop(int i) const {
  i = normalize_dim(i, rank_, "Shape::drop");
  Shape s;
  for (int k = 0; k < rank_; ++k)
    if (k != i) s.dims_[std::size_t(s.rank_++)] = dims_[std::size_t(k)];
  return s;
}

Shape Shape::insert(int i, std::int64_t d) const {
  i = normalize_dim(i, rank_ + 1, "Shape::insert");
  check_rank(std::size_t(rank_) + 1);
  Shape s;
  for (int k = 0; k < rank_ + 1; ++k)
    s.dims_[std::size_t(s.rank_++)] = k == i ? d : dims_[std::size_t(k < i ? k : k - 1)];
  return s;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[std::size_t(i)] != o.dims_[std::size_t(i)]) return false;
  return true;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[std::size_t(i)]);
  }
  return s + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

Strides contiguous_strides(const Shape& shape) {
  Strides s = shape;
  std::int64_t stride = 1;
  for (int i = shape.rank() - 1; i >= 0; --i) {
    s[i] = stride;
    stride *= shape[i];
  }
  return s;
}

int normalize_dim(int dim, int rank, std::string_view op) {
  const int d = dim < 0 ? dim + rank : dim;
  if (d < 0 || d >= rank)
    throw ShapeError(std::string(op) + ": dim " + std::to_string(dim) + " is out of range for a tensor of rank " +
                         std::to_string(rank),
                     rank == 0 ? "a rank-0 tensor has no dims"
                               : "valid dims are -" + std::to_string(rank) + ".." + std::to_string(rank - 1));
  return d;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view op) {
  const int rank = std::max(a.rank(), b.rank());
  Shape out;
  for (int i = 0; i < rank; ++i) {
    const int ia = i - (rank - a.rank()), ib = i - (rank - b.rank());
    const std::int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes " + a.to_string() + " and " + b.to_string() +
                           " do not broadcast (dim " + std::to_string(i - rank) + ": " + std::to_string(da) + " vs " +
                           std::to_string(db) + ")",
                       "sizes must match or be 1, aligned from the last dim");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

}  // namespace strata
