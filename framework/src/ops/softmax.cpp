// softmax, log_softmax and the fused softmax-cross-entropy loss.
#include "strata/ops/softmax.h"

#include <vector>

#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/softmax.h"
#include "strata/autograd.h"
#include "strata/ops/shape_ops.h"
#include "tensor_internal.h"

namespace strata {

namespace cpu = kernels::cpu;
using autograd::BackwardArgs;
using autograd::SavedTensor;

namespace {

enum class SoftmaxKind { softmax, log_softmax };

Tensor softmax_family(SoftmaxKind kind, const char* name, const Tensor& x) {
  detail::check_floating(name, "x", x);
  detail::require_cpu_kernel(name, x.device());
  if (x.rank() == 0) throw ShapeError(std::string(name) + ": needs rank >= 1, got a scalar");
  const Tensor xc = x.contiguous();
  const std::int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&](auto type) {
    using T = decltype(type);
    const cpu::SoftmaxArgs<T> args{rows, cols, xc.data<T>(), nullptr, out.data<T>()};
    kind == SoftmaxKind::softmax ? cpu::softmax_fwd_cpu(args) : cpu::log_softmax_fwd_cpu(args);
  });
  autograd::record(name, {xc}, {out}, [kind, ys = SavedTensor(out), rows, cols](const BackwardArgs& a) {
    const Tensor g = a.grad().contiguous();
    Tensor dx = Tensor::empty(g.shape(), g.dtype());
    dispatch_floating(g.dtype(), "softmax backward", [&](auto type) {
      using T = decltype(type);
      const cpu::SoftmaxArgs<T> args{rows, cols, ys.get().data<T>(), g.data<T>(), dx.data<T>()};
      kind == SoftmaxKind::softmax ? cpu::softmax_bwd_cpu(args) : cpu::log_softmax_bwd_cpu(args);
    });
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
  detail::require_cpu_kernel(op, detail::common_device(op, {&logits, &targets}));
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
  const std::int64_t* t = tc.data<std::int64_t>();
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

  Tensor per_row = Tensor::empty(targets.shape(), logits.dtype());
  Tensor lse = Tensor::empty(targets.shape(), logits.dtype());
  dispatch_floating(logits.dtype(), op, [&](auto type) {
    using T = decltype(type);
    cpu::CrossEntropyArgs<T> args;
    args.rows = rows;
    args.classes = V;
    args.logits = lc.data<T>();
    args.targets = t;
    args.ignore_index = options.ignore_index;
    args.label_smoothing = T(options.label_smoothing);
    args.loss = per_row.data<T>();
    args.lse = lse.data<T>();
    cpu::cross_entropy_fwd_cpu(args);
  });

  Tensor out;
  double row_scale = 1.0;  // d(out)/d(row loss)
  if (options.reduction == Reduction::none) {
    out = per_row;
  } else {
    // all-ignored batches give 0, not 0/0: a padded batch must not poison training
    row_scale = options.reduction == Reduction::mean && counted > 0 ? 1.0 / double(counted) : 1.0;
    double total = 0;
    dispatch_floating(logits.dtype(), op, [&](auto type) {
      using T = decltype(type);
      const T* p = per_row.data<T>();
      for (std::int64_t i = 0; i < rows; ++i) total += double(p[i]);
    });
    out = Tensor::scalar(total * row_scale, logits.dtype());
  }
  autograd::record(op, {lc}, {out},
                   [ls = SavedTensor(lc), ts = SavedTensor(tc), lses = SavedTensor(lse), options, row_scale, rows,
                    V](const BackwardArgs& a) {
                     const Tensor g = a.grad().contiguous();
                     const Tensor& l = ls.get();
                     Tensor dl = Tensor::empty(l.shape(), l.dtype());
                     dispatch_floating(l.dtype(), "cross_entropy backward", [&](auto type) {
                       using T = decltype(type);
                       // per-row upstream gradients: g itself (none) or one scaled value
                       const Tensor scaled = g.numel() == 1 && options.reduction != Reduction::none
                                                 ? Tensor::scalar(g.item<double>() * row_scale, l.dtype())
                                                 : g;
                       cpu::CrossEntropyArgs<T> args;
                       args.rows = rows;
                       args.classes = V;
                       args.logits = l.data<T>();
                       args.targets = ts.get().data<std::int64_t>();
                       args.ignore_index = options.ignore_index;
                       args.label_smoothing = T(options.label_smoothing);
                       Tensor saved_lse = lses.get();
                       args.lse = saved_lse.data<T>();
                       args.grad = scaled.data<T>();
                       args.grad_stride = options.reduction == Reduction::none ? 1 : 0;
                       args.dlogits = dl.data<T>();
                       cpu::cross_entropy_bwd_cpu(args);
                     });
                     return std::vector<Tensor>{dl};
                   });
  return out;
}

}  // namespace strata
