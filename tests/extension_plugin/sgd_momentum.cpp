// Optimizer "sgd_momentum": SGD with heavy-ball or Nesterov momentum (torch.optim.SGD with
// dampening 0) and decoupled weight decay, built from Tensor's in-place ops. Its state,
// "momentum.<param>", is saved and resumed by the framework without code here.
//
//   buf = mu * buf + g                    (buf = g at the first step, as torch)
//   d   = g + mu * buf   (nesterov)  or  buf
//   p   = p * (1 - lr * wd) - lr * d
#include "extension.h"

#include <strata/plugin.h>

namespace strata::extension_plugin {

namespace {

class SgdMomentum : public Optimizer {
 public:
  SgdMomentum(double momentum, bool nesterov, double weight_decay, bool live_state)
      : momentum_(momentum), nesterov_(nesterov), weight_decay_(weight_decay), live_state_(live_state) {}

  std::vector<std::pair<std::string, Tensor>> state() const override {
    std::vector<std::pair<std::string, Tensor>> out;
    for (std::size_t i = 0; i < params().size(); ++i)
      out.emplace_back("momentum." + params()[i].name, live_state_ ? buffers_[i] : buffers_[i].clone());
    return out;
  }

 protected:
  void init_state() override {
    for (const NamedParameter& p : params())
      buffers_.push_back(Tensor::zeros(p.tensor.shape(), p.tensor.dtype(), p.tensor.device()));
  }

  void update(double lr, std::int64_t step) override {
    for (std::size_t i = 0; i < params().size(); ++i) {
      Tensor param = params()[i].tensor;
      const Tensor grad = param.grad();
      if (!grad.defined()) continue;
      Tensor& buf = buffers_[i];
      if (step == 1) {
        buf.copy_(grad);
      } else {
        buf.mul_(momentum_);
        buf.add_(grad);
      }
      if (params()[i].weight_decay && weight_decay_ > 0) param.mul_(1.0 - lr * weight_decay_);
      if (nesterov_) {
        param.add_(grad, -lr);
        param.add_(buf, -lr * momentum_);
      } else {
        param.add_(buf, -lr);
      }
    }
  }

 private:
  double momentum_;
  bool nesterov_;
  double weight_decay_;
  bool live_state_;
  std::vector<Tensor> buffers_;  // parallel to params()
};

}  // namespace

void register_sgd_momentum(PluginRegistrar& registrar) {
  ConfigSchema s;
  s.number("momentum", 0.9, "momentum mu").range(0.0, 0.999999);
  s.boolean("nesterov", false, "Nesterov momentum");
  s.number("weight_decay", 0.0, "decoupled decay (not on norms, biases, marked params)").range(0.0, 1.0);
  s.boolean("live_state", true, "false: deliberately hand out copies from state(), so a resume loses it (tests strata check)");
  registrar.add<Optimizer>("sgd_momentum", "SGD with momentum (test extension plugin)", std::move(s),
                           [](const Config& c, const BuildContext&) {
                             return std::make_unique<SgdMomentum>(c.number("momentum"), c.boolean("nesterov"),
                                                                  c.number("weight_decay"), c.boolean("live_state"));
                           });
}

}  // namespace strata::extension_plugin
