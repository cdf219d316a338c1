// softmax, log_softmax and the fused softmax-cross-entropy loss.
#include "strata/ops/softmax.h"

#include <vector>

#include "backend/core_kernels.h"
#include "strata/autograd.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

enum class SoftmaxKind { softmax, log_softmax };

Tensor softmax_family(SoftmaxKind kind, const char* name, const Tensor& x) {
  detail::check_floating(name, "x", x);
  if (x.rank() == 0) throw ShapeError(std::string(name) + ": needs rank >= 1, got a scalar");
  const Tensor xc = x.contiguous();
  const std::int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  const bool log = kind == SoftmaxKind::log_softmax;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  core_kernels::table().softmax.run(x.device(), {.log = log, .rows = rows, .cols = cols, .x = &xc, .out = &out});
  autograd::record(name, {xc}, {out}, [log, ys = SavedTensor(out), rows, cols](const BackwardArgs& a) {
    const Tensor g = a.grad().contiguous();
    const Tensor y = ys.get();
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    core_kernels::table().softmax_backward.run(
        g.device(), {.log = log, .rows = rows, .cols = cols, .x = &y, .g = &g, .out = &dx});
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x) { return softmax_family(SoftmaxKind::softmax, "softmax", x); }
Tensor log_softmax(const Tensor& x) { return softmax_family(SoftmaxKind::log_softmax, "log_softmax", x); }

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const CrossEntropyOptions& options) {
  const char* op = "cross_entropy";
  detail::check_floating(op, "logits", logits);
  detail::check_index_tensor(op, "targets", targets);
  detail::common_device(op, {&logits, &targets});
  if (logits.rank() < 1 || logits.rank() != targets.rank() + 1 || targets.shape() != logits.shape().drop(-1))
    throw ShapeError("cross_entropy: logits " + logits.shape().to_string() + " and targets " +
                         targets.shape().to_string() + " do not match",
                     "logits are [..., V] and targets [...] with the same leading dims");
  if (!(options.label_smoothing >= 0.0 && options.label_smoothing < 1.0))
    throw ValueError("cross_entropy: label_smoothing = " + std::to_string(options.label_smoothing) +
                     " is outside [0, 1)");
  const std::int64_t V = logits.size(-1), rows = targets.numel();
  const Tensor lc = logits.contiguous();
  const Tensor tc = targets.contiguous();
  const Tensor host_targets = tc.to(Device::cpu());  // validated on the host
  const std::int64_t* t = host_targets.data<std::int64_t>();
  std::int64_t counted = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    if (t[i] == options.ignore_index) continue;
    if (t[i] < 0 || t[i] >= V)
      throw ValueError("cross_entropy: targets[" + std::to_string(i) + "] = " + std::to_string(t[i]) +
                           " is outside [0, " + std::to_string(V) + ") and is not the ignore_index (" +
                           std::to_string(options.ignore_index) + ")",
                       "targets are class indices into the last dim of logits");
    ++counted;
  }

  const Device device = logits.device();
  Tensor per_row = Tensor::empty(targets.shape(), logits.dtype(), device);
  Tensor lse = Tensor::empty(targets.shape(), logits.dtype(), device);
  core_kernels::table().cross_entropy.run(device, {.logits = &lc,
                                                   .targets = &tc,
                                                   .ignore_index = options.ignore_index,
                                                   .label_smoothing = options.label_smoothing,
                                                   .lse = &lse,
                                                   .loss = &per_row});

  Tensor out;
  double row_scale = 1.0;  // d(out)/d(row loss)
  if (options.reduction == Reduction::none) {
    out = per_row;
  } else {
    // all-ignored batches give 0, not 0/0: a padded batch must not poison training
    row_scale = options.reduction == Reduction::mean && counted > 0 ? 1.0 / double(counted) : 1.0;
    double total = 0;
    const Tensor host = per_row.to(Device::cpu());
    dispatch_floating(host.dtype(), op, [&](auto type) {
      using T = decltype(type);
      const T* p = host.data<T>();
      for (std::int64_t i = 0; i < rows; ++i) total += double(p[i]);
    });
    out = Tensor::scalar(total * row_scale, logits.dtype()).to(device);
  }
  autograd::record(op, {lc}, {out},
                   [ls = SavedTensor(lc), ts = SavedTensor(tc), lses = SavedTensor(lse), options, row_scale](
                       const BackwardArgs& a) {
                     const Tensor& l = ls.get();
                     const Tensor t = ts.get();
                     Tensor saved_lse = lses.get();
                     // per-row upstream gradients: g itself (none), or one scaled value for every row
                     const bool per_row_grad = options.reduction == Reduction::none;
                     const Tensor g =
                         per_row_grad ? a.grad().contiguous()
                                      : Tensor::scalar(a.grad().item<double>() * row_scale, l.dtype()).to(l.device());
                     Tensor dl = Tensor::empty(l.shape(), l.dtype(), l.device());
                     core_kernels::table().cross_entropy_backward.run(l.device(),
                                                                      {.logits = &l,
                                                                       .targets = &t,
                                                                       .ignore_index = options.ignore_index,
                                                                       .label_smoothing = options.label_smoothing,
                                                                       .lse = &saved_lse,
                                                                       .grad = &g,
                                                                       .grad_stride = per_row_grad ? 1 : 0,
                                                                       .dlogits = &dl});
                     return std::vector<Tensor>{dl};
                   });
  return out;
}

}  // namespace strata
