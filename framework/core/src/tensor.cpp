// Tensor: construction, metadata, element access, in-place updates and printing.
// Differentiable conversions (contiguous, clone, to) live in ops/convert.cpp and views
// in ops/view.cpp.
#include "strata/tensor.h"

#include <cmath>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <utility>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/detail/tensor_impl.h"
#include "strata/error.h"
#include "tensor_internal.h"


namespace strata {


Tensor::Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

namespace {

const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl, const char* what) {
  if (!impl) throw ValueError(std::string("Tensor::") + what + " called on an undefined tensor");
  return *impl;
}

void check_inplace(const Tensor& t, const char* op) {
  checked(t.impl_ptr(), op);
  if (t.requires_grad() && autograd::grad_enabled())
    throw AutogradError(std::string("Tensor::") + op + ": in-place update of a tensor that requires grad",
                        "wrap the update in autograd::NoGradGuard (as optimizers do), or use the out-of-place op");
  // an expanded view maps many elements to one memory location: the writes would race
  for (int d = 0; d < t.rank() && t.numel() > 0; ++d)
    if (t.strides()[d] == 0 && t.shape()[d] > 1)
      throw ValueError(std::string("Tensor::") + op + ": the destination " + t.shape().to_string() +
                           " is an expanded view (dim " + std::to_string(d) + " repeats one element)",
                       "write into a contiguous tensor, e.g. clone() the expanded view first");
}

template <class T>
std::string format_value(T v) {
  std::ostringstream os;
  if constexpr (std::is_same_v<T, bfloat16> || std::is_same_v<T, float16>) {
    os << std::setprecision(std::is_same_v<T, bfloat16> ? 3 : 4) << float(v);  // the digits the format holds
  } else if constexpr (std::is_floating_point_v<T>) {
    os << std::setprecision(sizeof(T) == 4 ? 6 : 10) << v;
  } else {
    os << v;
  }
  return os.str();
}

}  // namespace

// ---- factories ---------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (std::int64_t d : shape)
    if (d < 0)
      throw ShapeError("Tensor::empty: negative size in shape " + shape.to_string(),
                       "every size must be >= 0 (-1 is only meaningful in reshape)");
  std::int64_t bytes = 0;
  if (__builtin_mul_overflow(shape.numel(), std::int64_t(dtype_size(dtype)), &bytes))
    throw ShapeError("Tensor::empty: shape " + shape.to_string() + " of " + std::string(dtype_name(dtype)) +
                     " needs more bytes than fit in 64 bits");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(std::size_t(bytes), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(std::int64_t n, DType dtype) {
  if (n < 0) throw ValueError("Tensor::arange: n = " + std::to_string(n) + " is negative");
  Tensor t = empty({n}, dtype);
  detail::dispatch_any(dtype, [&](auto type) {
    using T = decltype(type);
    T* p = t.data<T>();
    for (std::int64_t i = 0; i < n; ++i) p[i] = T(i);
  });
  return t;
}

template <class T>
Tensor Tensor::from_vector(std::span<const T> values, const Shape& shape) {
  if (std::int64_t(values.size()) != shape.numel())
    throw ShapeError("Tensor::from_vector: " + std::to_string(values.size()) + " values cannot fill shape " +
                     shape.to_string() + " (" + std::to_string(shape.numel()) + " elements)");
  Tensor t = empty(shape, dtype_of<T>);
  if (!values.empty()) std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(std::span<const float>, const Shape&);
template Tensor Tensor::from_vector<double>(std::span<const double>, const Shape&);
template Tensor Tensor::from_vector<std::int64_t>(std::span<const std::int64_t>, const Shape&);
template Tensor Tensor::from_vector<bfloat16>(std::span<const bfloat16>, const Shape&);
template Tensor Tensor::from_vector<float16>(std::span<const float16>, const Shape&);

Tensor Tensor::from_vector(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  Tensor t = from_vector(std::span<const double>(values.begin(), values.size()), shape);
  return dtype == DType::f64 ? t : t.to(dtype);
}

Tensor Tensor::scalar(double value, DType dtype) { return full(Shape{}, value, dtype); }

Tensor Tensor::randn(const Shape& shape, Generator& gen, DType dtype, double mean, double std, Device device) {
  // bf16 and f16: the f32 draws, rounded (the same stream of numbers at every precision).
  if (dtype == DType::bf16 || dtype == DType::f16) return randn(shape, gen, DType::f32, mean, std, device).to(dtype);
  Tensor t = empty(shape, dtype, device);
  const std::int64_t per_counter = dispatch_floating(
      dtype, "Tensor::randn", [](auto type) { return kernels::normal_per_counter<decltype(type)>; });
  const std::uint64_t first = gen.reserve(kernels::counters_for(t.numel(), per_counter));
  core_kernels::table().random_fill.run(t.device(), {.distribution = core_kernels::Distribution::normal,
                                                     .out = &t,
                                                     .key = gen.seed(),
                                                     .first_counter = first,
                                                     .a = mean,
                                                     .b = std});
  return t;
}

Tensor Tensor::rand(const Shape& shape, Generator& gen, DType dtype, double low, double high, Device device) {
  if (!(low < high))
    throw ValueError("Tensor::rand: empty interval [" + format_value(low) + ", " + format_value(high) + ")",
                     "low must be smaller than high");
  if (dtype == DType::bf16 || dtype == DType::f16) return rand(shape, gen, DType::f32, low, high, device).to(dtype);
  Tensor t = empty(shape, dtype, device);
  const std::int64_t per_counter = dispatch_floating(
      dtype, "Tensor::rand", [](auto type) { return kernels::uniform_per_counter<decltype(type)>; });
  const std::uint64_t first = gen.reserve(kernels::counters_for(t.numel(), per_counter));
  core_kernels::table().random_fill.run(t.device(), {.distribution = core_kernels::Distribution::uniform,
                                                     .out = &t,
                                                     .key = gen.seed(),
                                                     .first_counter = first,
                                                     .a = low,
                                                     .b = high});
  return t;
}

Tensor Tensor::randint(const Shape& shape, std::int64_t low, std::int64_t high, Generator& gen, Device device) {
  if (!(low < high))
    throw ValueError("Tensor::randint: empty range [" + std::to_string(low) + ", " + std::to_string(high) + ")",
                     "low must be smaller than high");
  Tensor t = empty(shape, DType::i64, device);
  const std::uint64_t first = gen.reserve(kernels::counters_for(t.numel(), kernels::randint_per_counter));
  core_kernels::table().random_fill.run(t.device(), {.distribution = core_kernels::Distribution::integers,
                                                     .out = &t,
                                                     .key = gen.seed(),
                                                     .first_counter = first,
                                                     .low = low,
                                                     .high = high});
  return t;
}

// ---- metadata ----------------------------------------------------------------------

const Shape& Tensor::shape() const { return checked(impl_, "shape").shape; }
DType Tensor::dtype() const { return checked(impl_, "dtype").dtype; }
Device Tensor::device() const { return checked(impl_, "device").storage->device(); }
const Strides& Tensor::strides() const { return checked(impl_, "strides").strides; }
std::int64_t Tensor::offset() const { return checked(impl_, "offset").offset; }

bool Tensor::is_contiguous() const {
  const TensorImpl& t = checked(impl_, "is_contiguous");
  std::int64_t expected = 1;
  for (int i = t.shape.rank() - 1; i >= 0; --i) {
    if (t.shape[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (t.strides[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

bool Tensor::shares_storage(const Tensor& other) const {
  return defined() && other.defined() && impl_->storage == other.impl_->storage;
}

template <class T>
T* Tensor::data() {
  const TensorImpl& t = checked(impl_, "data");
  if (t.dtype != dtype_of<T>)
    throw DTypeError("Tensor::data<" + std::string(dtype_name(dtype_of<T>)) + ">() on a tensor of dtype " +
                     std::string(dtype_name(t.dtype)));
  return static_cast<T*>(t.storage->data()) + t.offset;
}
template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template std::int64_t* Tensor::data<std::int64_t>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const std::int64_t* Tensor::data<std::int64_t>() const;
template bfloat16* Tensor::data<bfloat16>();
template float16* Tensor::data<float16>();
template const bfloat16* Tensor::data<bfloat16>() const;
template const float16* Tensor::data<float16>() const;

const void* Tensor::raw_data() const {
  const TensorImpl& t = checked(impl_, "raw_data");
  return static_cast<const char*>(t.storage->data()) + t.offset * std::int64_t(dtype_size(t.dtype));
}
void* Tensor::raw_data() { return const_cast<void*>(std::as_const(*this).raw_data()); }

template <class T>
std::vector<T> Tensor::to_vector() const {
  checked(impl_, "to_vector");
  // detached first, so reading values never records on the tape
  const Tensor host = detach().to(Device::cpu()).contiguous().to(dtype_of<T>);
  const T* p = host.data<T>();
  return std::vector<T>(p, p + host.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<std::int64_t> Tensor::to_vector<std::int64_t>() const;

template <class T>
T Tensor::item() const {
  if (checked(impl_, "item").shape.numel() != 1)
    throw ShapeError("Tensor::item: needs a tensor with one element, got shape " + shape().to_string());
  return to_vector<T>()[0];
}
template double Tensor::item<double>() const;
template float Tensor::item<float>() const;
template std::int64_t Tensor::item<std::int64_t>() const;

Tensor Tensor::detach() const {
  const TensorImpl& t = checked(impl_, "detach");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage;
  impl->shape = t.shape;
  impl->strides = t.strides;
  impl->offset = t.offset;
  impl->dtype = t.dtype;
  return Tensor(std::move(impl));
}

// ---- in-place ----------------------------------------------------------------------

Tensor& Tensor::fill_(double value) {
  check_inplace(*this, "fill_");
  if (is_contiguous())
    core_kernels::table().fill.run(device(), {.dst = this, .value = value});
  else
    detail::strided_copy(full(Shape{}, value, dtype(), device()), *this);
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_inplace(*this, "copy_");
  checked(src.impl_ptr(), "copy_ (source)");
  if (broadcast_shapes(src.shape(), shape(), "Tensor::copy_") != shape())
    throw ShapeError("Tensor::copy_: source of shape " + src.shape().to_string() +
                     " does not broadcast to the destination shape " + shape().to_string());
  // a source on another device crosses first (loading CPU checkpoints into GPU parameters);
  // one overlapping the destination (x.copy_(x.transpose(0, 1))) is read from a copy
  const Tensor from = src.device() != device()      ? src.detach().to(device())
                      : src.shares_storage(*this) ? src.detach().clone()
                                                  : src.detach();
  detail::strided_copy(from, *this);
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_inplace(*this, "add_");
  checked(other.impl_ptr(), "add_ (other)");
  detail::check_floating("Tensor::add_", "self", *this);
  detail::common_dtype("Tensor::add_", {this, &other});
  detail::common_device("Tensor::add_", {this, &other});
  if (!is_contiguous()) throw ValueError("Tensor::add_: the destination must be contiguous", "call contiguous() first");
  Tensor src = other.detach().expand(shape()).contiguous();
  // x.add_(x) is a scaling; any other overlap is read from a copy (axpy's arrays must not overlap)
  const bool same_view = src.shares_storage(*this) && src.offset() == offset() && src.strides() == strides();
  if (src.shares_storage(*this) && !same_view) src = src.clone();
  if (same_view)
    core_kernels::table().affine.run(device(), {.x = this, .out = this, .alpha = 1 + alpha});
  else
    core_kernels::table().axpy.run(device(), {.x = &src, .y = this, .alpha = alpha});
  impl_->storage->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double factor) {
  check_inplace(*this, "mul_");
  if (!is_contiguous()) throw ValueError("Tensor::mul_: the destination must be contiguous", "call contiguous() first");
  detail::check_floating("Tensor::mul_", "self", *this);
  core_kernels::table().affine.run(device(), {.x = this, .out = this, .alpha = factor});
  impl_->storage->bump_version();
  return *this;
}

// ---- autograd accessors ------------------------------------------------------------

bool Tensor::requires_grad() const { return checked(impl_, "requires_grad").requires_grad; }

Tensor& Tensor::move_to_(Device device) {
  checked(impl_, "move_to_");
  TensorImpl& t = *impl_;
  if (t.grad_fn)
    throw AutogradError("Tensor::move_to_: only leaves can move in place; this tensor is the result of '" +
                            t.grad_fn->name() + "'",
                        "move the leaves it was computed from, or use to(device)");
  if (t.storage->device() == device) return *this;
  const Tensor moved = detach().to(device);
  t.storage = moved.impl_->storage;
  t.offset = moved.impl_->offset;
  t.strides = moved.impl_->strides;
  t.grad = Tensor();
  return *this;
}

Tensor& Tensor::requires_grad_(bool value) {
  checked(impl_, "requires_grad_");
  if (impl_->grad_fn)
    throw AutogradError("Tensor::requires_grad_: only leaves can be marked; this tensor is the result of '" +
                            impl_->grad_fn->name() + "'",
                        "use detach() to make a leaf from it");
  if (value && !is_floating(impl_->dtype))
    throw AutogradError("Tensor::requires_grad_: a " + std::string(dtype_name(impl_->dtype)) +
                        " tensor cannot require grad (only f32 and f64 can)");
  impl_->requires_grad = value;
  return *this;
}

bool Tensor::is_leaf() const { return !checked(impl_, "is_leaf").grad_fn; }
Tensor Tensor::grad() const { return checked(impl_, "grad").grad; }

void Tensor::set_grad(const Tensor& grad) {
  checked(impl_, "set_grad");
  if (grad.defined() && (grad.shape() != shape() || grad.dtype() != dtype() || grad.device() != device()))
    throw ShapeError("Tensor::set_grad: gradient " + grad.shape().to_string() + " " +
                     std::string(dtype_name(grad.dtype())) + " on " + grad.device().to_string() +
                     " does not match the tensor " + shape().to_string() + " " + std::string(dtype_name(dtype())) +
                     " on " + device().to_string());
  // stored detached (no cycle through its history) and contiguous (backward accumulates into it in place)
  impl_->grad = grad.defined() ? grad.detach().contiguous() : Tensor();
}

const std::shared_ptr<autograd::Node>& Tensor::grad_fn() const { return checked(impl_, "grad_fn").grad_fn; }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  checked(impl_, "backward");
  autograd::backward(std::span<const Tensor>(this, 1), std::span<const Tensor>(&grad, 1), retain_graph);
}

// ---- printing ----------------------------------------------------------------------

std::string Tensor::to_string(int max_per_dim) const {
  if (!defined()) return "tensor(undefined)";
  const Tensor host = detach().to(Device::cpu());
  std::string out = "tensor(";
  detail::dispatch_any(dtype(), [&](auto type) {
    using T = decltype(type);
    const T* base = host.data<T>();
    auto print = [&](auto&& self, int dim, std::int64_t offset) -> void {
      if (dim == rank()) {
        out += format_value(base[offset]);
        return;
      }
      out += "[";
      const std::int64_t n = shape()[dim];
      for (std::int64_t i = 0; i < n; ++i) {
        // show the first ceil(max/2) and the last floor(max/2) elements (at least one each)
        const std::int64_t head = std::max(1, (max_per_dim + 1) / 2), tail = std::max(1, max_per_dim / 2);
        if (n > head + tail && i == head) {
          out += "..., ";
          i = n - tail;
        }
        self(self, dim + 1, offset + i * host.strides()[dim]);
        if (i + 1 < n) out += ", ";
      }
      out += "]";
    };
    print(print, 0, 0);
  });
  out += ", shape=" + shape().to_string() + ", dtype=" + std::string(dtype_name(dtype()));
  if (!device().is_cpu()) out += ", device=" + device().to_string();
  if (requires_grad()) out += ", requires_grad";
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.to_string(); }

}  // namespace strata
