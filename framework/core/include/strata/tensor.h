#pragma once
// Tensor: a handle to a dense, strided, typed view of device memory, plus its
// autograd metadata. Copying a Tensor copies the handle (like a shared_ptr), not the data.
//
// Layout: row-major; a view (reshape of contiguous data, transpose, permute, slice,
// expand) shares its storage with its base and has its own offset and strides (in
// elements; 0 for broadcast dimensions). Kernels take contiguous inputs; ops call
// contiguous() where needed, which copies only when the view is not already contiguous.
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "strata/device.h"
#include "strata/dtype.h"
#include "strata/random.h"
#include "strata/shape.h"

namespace strata {

class Storage;
struct TensorImpl;
namespace autograd {
class Node;
}

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<TensorImpl> impl);

  // ---- factories ----------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = Device::cpu());
  // [0, 1, ..., n-1]
  static Tensor arange(std::int64_t n, DType dtype = DType::i64);
  // Copies `values` (row-major) into a new CPU tensor; values.size() must equal shape.numel().
  template <class T>
  static Tensor from_vector(std::span<const T> values, const Shape& shape);
  template <class T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
    return from_vector(std::span<const T>(values), shape);
  }
  static Tensor from_vector(std::initializer_list<double> values, const Shape& shape, DType dtype = DType::f32);
  // A rank-0 tensor.
  static Tensor scalar(double value, DType dtype = DType::f32);
  // Normal(mean, std), uniform [low, high) and integer [low, high) draws from `gen`; in bf16
  // and f16, the f32 draws rounded (so a model built at any precision starts from one stream).
  // Drawn on `device`: every backend computes the same Philox stream (uniform and integer
  // draws bit for bit; normal draws up to the last bits of the device's log, sin and cos).
  static Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32, double mean = 0.0,
                      double std = 1.0, Device device = Device::cpu());
  static Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32, double low = 0.0, double high = 1.0,
                     Device device = Device::cpu());
  static Tensor randint(const Shape& shape, std::int64_t low, std::int64_t high, Generator& gen,
                        Device device = Device::cpu());

  // ---- metadata -----------------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int rank() const { return shape().rank(); }
  std::int64_t size(int dim) const { return shape().at(dim); }  // dim may be negative
  std::int64_t numel() const { return shape().numel(); }
  DType dtype() const;
  Device device() const;
  const Strides& strides() const;
  std::int64_t offset() const;  // of element 0, in elements, within the storage
  bool is_contiguous() const;
  std::size_t nbytes() const { return std::size_t(numel()) * dtype_size(dtype()); }
  // True when both tensors view the same storage.
  bool shares_storage(const Tensor& other) const;

  // Typed pointer to element 0 (checks the dtype; throws DTypeError on mismatch).
  // Element (i, j, ...) lives at data<T>()[i*strides()[0] + j*strides()[1] + ...].
  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  const void* raw_data() const;
  void* raw_data();

  // The value of a one-element tensor, converted to T.
  template <class T = double>
  T item() const;
  // All elements in row-major order, converted to T.
  template <class T>
  std::vector<T> to_vector() const;

  // ---- conversions (differentiable where it makes sense) --------------------------
  Tensor contiguous() const;  // self when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  // Moves a leaf's values to `device` in place: every handle of this tensor sees them there
  // (modules hold their parameters by handle: Module::to). Drops the gradient. Other
  // tensors that share its storage (views) stay where they were.
  Tensor& move_to_(Device device);
  // Shares storage, drops autograd history; never requires grad.
  Tensor detach() const;

  // ---- views and shape ops (see ops.h for the full list) -------------------------
  Tensor reshape(const Shape& shape) const;  // one dim may be -1
  Tensor transpose(int dim0, int dim1) const;
  Tensor permute(std::span<const int> dims) const;
  Tensor permute(std::initializer_list<int> dims) const;
  Tensor slice(int dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor expand(const Shape& shape) const;
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;
  Tensor flatten(int start_dim = 0, int end_dim = -1) const;

  // ---- in-place (no autograd) -----------------------------------------------------
  // Refused on a tensor that requires grad while grad mode is on (wrap updates in
  // NoGradGuard, as optimizers do). Each bumps the storage's version, so a tensor saved
  // for backward and modified afterwards is detected at backward time.
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);                       // src broadcasts to self's shape; dtypes may differ
  Tensor& add_(const Tensor& other, double alpha = 1.0);  // self += alpha * other
  Tensor& mul_(double factor);

  // ---- autograd -----------------------------------------------------------------
  bool requires_grad() const;
  // Marks a leaf as a variable whose gradient backward() accumulates into grad().
  Tensor& requires_grad_(bool value = true);
  bool is_leaf() const;
  // Accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  // Backpropagates from this tensor. A scalar needs no `grad`; any other shape needs
  // a `grad` of the same shape. The graph is freed unless retain_graph.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const;

  std::string to_string(int max_per_dim = 6) const;
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace strata
