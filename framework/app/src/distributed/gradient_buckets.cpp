#include "distributed/gradient_buckets.h"

#include <algorithm>

#include "strata/error.h"

namespace strata {

namespace {

using Clock = std::chrono::steady_clock;

// Adds the time from construction to destruction to `total`.
class Stopwatch {
 public:
  explicit Stopwatch(double& total) : total_(total), start_(Clock::now()) {}
  ~Stopwatch() { total_ += std::chrono::duration<double>(Clock::now() - start_).count(); }
  Stopwatch(const Stopwatch&) = delete;
  Stopwatch& operator=(const Stopwatch&) = delete;

 private:
  double& total_;
  Clock::time_point start_;
};

template <class T>
void copy_into(std::vector<T>& buffer, std::size_t offset, const Tensor& grad, std::int64_t numel) {
  if (!grad.defined()) {
    std::fill_n(buffer.begin() + std::ptrdiff_t(offset), numel, T(0));
    return;
  }
  const Tensor g = grad.contiguous();
  std::copy_n(g.data<T>(), numel, buffer.begin() + std::ptrdiff_t(offset));
}

// The summed gradient back into the parameter's .grad: in place when it has one (no
// allocation per step), else as a new tensor.
template <class T>
void copy_out(const std::vector<T>& buffer, std::size_t offset, Tensor& param) {
  const std::size_t n = std::size_t(param.numel());
  Tensor grad = param.grad();
  if (grad.defined() && grad.is_contiguous()) {
    std::copy_n(buffer.begin() + std::ptrdiff_t(offset), n, grad.data<T>());
    return;
  }
  param.set_grad(Tensor::from_vector(std::span<const T>(buffer.data() + offset, n), param.shape()));
}

}  // namespace

GradientBuckets::GradientBuckets(std::vector<Tensor> params, Communicator& group, std::size_t bucket_bytes)
    : params_(std::move(params)), group_(group) {
  bucket_of_.assign(params_.size(), 0);
  ready_.assign(params_.size(), false);
  // Reverse model order: the backward reaches the last layers' parameters first.
  std::size_t open_f32 = SIZE_MAX, open_f64 = SIZE_MAX;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const Tensor& p = params_[k];
    index_[p.impl()] = k;
    if (p.dtype() != DType::f32 && p.dtype() != DType::f64)
      throw ValueError("data-parallel training reduces f32 and f64 parameters; parameter " + std::to_string(k) +
                           " is " + std::string(dtype_name(p.dtype())),
                       "keep the parameters in f32 (train.precision sets the products' precision)");
    std::size_t& open = p.dtype() == DType::f32 ? open_f32 : open_f64;
    const std::size_t bytes = std::size_t(p.numel()) * dtype_size(p.dtype());
    if (open == SIZE_MAX ||
        (buckets_[open].elements * dtype_size(p.dtype()) + bytes > bucket_bytes && !buckets_[open].members.empty())) {
      buckets_.push_back(Bucket{});
      buckets_.back().dtype = p.dtype();
      open = buckets_.size() - 1;
    }
    Bucket& b = buckets_[open];
    b.members.push_back(k);
    b.offsets.push_back(b.elements);
    b.elements += std::size_t(p.numel());
    bucket_of_[k] = open;
  }
  for (Bucket& b : buckets_) (b.dtype == DType::f32 ? b.f32.resize(b.elements) : b.f64.resize(b.elements));
  hook_ = [this](const TensorImpl& leaf) {
    if (const auto it = index_.find(&leaf); it != index_.end()) mark_ready(it->second);
  };
}

GradientBuckets::~GradientBuckets() = default;

void GradientBuckets::begin() {
  std::fill(ready_.begin(), ready_.end(), false);
  for (Bucket& b : buckets_) {
    b.waiting = b.members.size();
    b.sum.reset();
  }
  next_to_start_ = 0;
  exposed_seconds_ = 0;
}

void GradientBuckets::mark_ready(std::size_t param) {
  if (ready_[param]) return;
  ready_[param] = true;
  Bucket& b = buckets_[bucket_of_[param]];
  --b.waiting;
  Stopwatch time(exposed_seconds_);
  start_ready_buckets();
  poll_started();
}

void GradientBuckets::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].waiting == 0) {
    Bucket& b = buckets_[next_to_start_++];
    for (std::size_t m = 0; m < b.members.size(); ++m) {
      const Tensor& p = params_[b.members[m]];
      if (b.dtype == DType::f32)
        copy_into(b.f32, b.offsets[m], p.grad(), p.numel());
      else
        copy_into(b.f64, b.offsets[m], p.grad(), p.numel());
    }
    b.sum = b.dtype == DType::f32 ? group_.start_all_reduce_sum(std::span<float>(b.f32))
                                  : group_.start_all_reduce_sum(std::span<double>(b.f64));
  }
}

void GradientBuckets::poll_started() {
  for (std::size_t i = 0; i < next_to_start_; ++i)
    if (buckets_[i].sum) buckets_[i].sum->progress();
}

void GradientBuckets::finish() {
  Stopwatch time(exposed_seconds_);
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (!ready_[k]) {
      ready_[k] = true;
      --buckets_[bucket_of_[k]].waiting;
    }
  start_ready_buckets();
  for (Bucket& b : buckets_) {
    b.sum->wait();
    b.sum.reset();
    for (std::size_t m = 0; m < b.members.size(); ++m) {
      Tensor& p = params_[b.members[m]];
      if (b.dtype == DType::f32)
        copy_out(b.f32, b.offsets[m], p);
      else
        copy_out(b.f64, b.offsets[m], p);
    }
  }
}

}  // namespace strata
