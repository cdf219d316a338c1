#include "strata/testing/component_check.h"

#include <cmath>
#include <sstream>

#include "config/config_impl.h"
#include "config/toml_config.h"
#include "strata/autograd.h"
#include "strata/ops.h"
#include "strata/packing.h"
#include "strata/testing/gradcheck.h"
#include "testing/block_probe.h"
#include "testing/check_items.h"

namespace strata::testing {

bool CheckReport::passed() const {
  for (const CheckItem& i : items)
    if (!i.passed) return false;
  return true;
}

std::string CheckReport::to_string() const {
  std::ostringstream os;
  for (const CheckItem& i : items) {
    os << (i.skipped ? "SKIP " : i.passed ? "PASS " : "FAIL ") << i.name;
    if (!i.detail.empty()) os << ": " << i.detail;
    os << "\n";
  }
  os << (passed() ? "all checks passed" : "some checks FAILED") << " for " << component << "\n";
  return os.str();
}

Config component_config(const ComponentRegistry& registry, ComponentKind kind, const std::string& type,
                        const std::vector<std::string>& assignments) {
  toml::table root = detail::parse_toml_text("type = " + detail::toml_quoted(type), detail::kCommandLineSource);
  for (const std::string& a : assignments) {
    if (a.rfind("type=", 0) == 0) {
      throw ConfigError(SourceLocation{detail::set_argument_source(a)}, "type",
                        "the component is named by the command's argument",
                        "write strata check NAME, not --set type=NAME");
    }
  }
  for (const std::string& a : assignments) detail::apply_override(root, a);
  return detail::validate_component(&root, kind, "", std::string(to_string(kind)),
                                    SourceLocation{detail::kCommandLineSource}, registry);
}

namespace {

struct Built {
  std::shared_ptr<Module> module;
  std::function<Tensor(const Tensor&, StepContext&)> forward;
  std::shared_ptr<Mixer> mixer;  // set for mixers
  std::shared_ptr<Ffn> ffn;      // set for ffns
};

Built build(const ComponentRegistry& registry, ComponentKind kind, const Config& config, const ComponentCheckOptions& o,
            DType dtype, Generator& gen) {
  BuildContext ctx;
  ctx.dims = ModelDims{o.d_model, 16, 1, o.seq_len};
  ctx.layer = 0;
  ctx.dtype = dtype;
  ctx.gen = &gen;
  ctx.registry = &registry;
  Built b;
  if (kind == ComponentKind::mixer) {
    b.mixer = registry.create<Mixer>(config, ctx);
    b.module = b.mixer;
    b.forward = [m = b.mixer](const Tensor& x, StepContext& c) { return m->forward(x, c); };
  } else if (kind == ComponentKind::ffn) {
    b.ffn = registry.create<Ffn>(config, ctx);
    b.module = b.ffn;
    b.forward = [ffn = b.ffn](const Tensor& x, StepContext& c) { return ffn->forward(x, c); };
  } else if (kind == ComponentKind::block) {
    // The block around a small probe mixer and the built-in mlp, checked as a mixer.
    b.mixer = block_probe(registry, config, ctx);
    b.module = b.mixer;
    b.forward = [m = b.mixer](const Tensor& x, StepContext& c) { return m->forward(x, c); };
  } else {
    throw ValueError("strata check covers mixers, ffns, blocks and optimizers; a " + std::string(to_string(kind)) +
                     " is checked through the component that uses it");
  }
  // Evaluation mode: stochastic parts (noise, dropout) off, so differences are exact.
  b.module->train(false);
  return b;
}

// Rows of x ([B, T, D]) packed with three documents each (a third, one token, the rest)
// against every document run alone: outputs, and the gradients of x and of every parameter
// through sum(y * w). Returns the detail line; `passed` false on a difference.
std::string check_packed_documents(const Built& m, const Tensor& x, bool& passed) {
  const std::int64_t B = x.size(0), T = x.size(1);
  if (T < 3) return "needs seq_len >= 3";
  const std::vector<std::int64_t> row = {T / 3, 1, T - T / 3 - 1};
  const Tensor starts = sequence_starts_from_lengths(std::vector<std::vector<std::int64_t>>(std::size_t(B), row), T);
  Generator gen(7);
  const Tensor w = Tensor::randn(x.shape(), gen, DType::f64);
  const auto params = m.module->named_parameters();
  const auto gradients = [&]() {
    std::vector<Tensor> g;
    for (const auto& p : params) g.push_back(p.tensor.grad().defined() ? p.tensor.grad().clone() : Tensor());
    return g;
  };
  m.module->zero_grad();
  const Tensor xp = x.clone().requires_grad_();
  StepContext packed_ctx(false, nullptr);
  packed_ctx.set_sequence_starts(starts);
  const Tensor packed = m.forward(xp, packed_ctx);
  sum(mul(packed, w)).backward();
  const std::vector<Tensor> packed_grads = gradients();
  m.module->zero_grad();
  WorstDifference diff;
  for (std::int64_t b = 0; b < B; ++b)
    for (const auto [t0, t1] : sequence_ranges(starts, b)) {
      const std::string doc = "row " + std::to_string(b) + ", document [" + std::to_string(t0) + ", " + std::to_string(t1) + ")";
      const Tensor xd = x.slice(0, b, b + 1).slice(1, t0, t1).contiguous().requires_grad_();
      StepContext ctx(false, nullptr);
      const Tensor alone = m.forward(xd, ctx);
      diff.note(max_abs_diff(alone, packed.slice(0, b, b + 1).slice(1, t0, t1)), "output of " + doc);
      sum(mul(alone, w.slice(0, b, b + 1).slice(1, t0, t1))).backward();
      diff.note(max_abs_diff(xd.grad(), xp.grad().slice(0, b, b + 1).slice(1, t0, t1)), "input gradient of " + doc);
    }
  const std::vector<Tensor> separate_grads = gradients();
  for (std::size_t i = 0; i < params.size(); ++i)
    if (packed_grads[i].defined() != separate_grads[i].defined())
      diff.note(1.0, "gradient of " + params[i].name + " (defined in one run only)");
    else if (packed_grads[i].defined())
      diff.note(max_abs_diff(packed_grads[i], separate_grads[i]), "gradient of " + params[i].name);
  m.module->zero_grad();
  if (diff.beyond_round_off()) {
    passed = false;
    return "the " + diff.where + " differs by " + fmt(diff.worst);
  }
  return "3 documents per row (" + std::to_string(row[0]) + ", 1, " + std::to_string(row[2]) +
         " tokens): outputs and gradients within " + fmt(std::max(diff.worst, 1e-300));
}

// The component built again from the same seed (the CPU check's f64 copy) on `device`: its
// forward, the gradients of the input and of every parameter, and (mixers with a state)
// token-by-token decoding, each against the CPU. Returns what was compared; clears
// `passed` on a difference beyond round-off.
std::string check_on_device(const ComponentRegistry& registry, ComponentKind kind, const Config& config,
                            const ComponentCheckOptions& o, const Tensor& x, Device device, bool& passed) {
  Generator gen_cpu(o.seed), gen_dev(o.seed), weights(o.seed + 200);
  const Built cpu = build(registry, kind, config, o, DType::f64, gen_cpu);
  const Built dev = build(registry, kind, config, o, DType::f64, gen_dev);
  dev.module->to(device);
  const Tensor w = Tensor::randn(x.shape(), weights, DType::f64);
  struct Run {
    Tensor y, dx;
    std::vector<Tensor> grads;
  };
  const auto run = [&](const Built& m, Device on) {
    Run r;
    const Tensor xi = x.to(on).detach().requires_grad_();
    StepContext ctx(false, nullptr);
    r.y = m.forward(xi, ctx);
    sum(mul(r.y, w.to(on))).backward();
    r.dx = xi.grad();
    for (const NamedParameter& p : m.module->named_parameters()) r.grads.push_back(p.tensor.grad());
    m.module->zero_grad();
    return r;
  };
  const Run want = run(cpu, Device::cpu()), got = run(dev, device);
  WorstDifference diff;
  const auto note = [&](const Tensor& a, const Tensor& b, const std::string& what) {
    if (a.defined() != b.defined()) return diff.note(1.0, what + " (defined on one device only)");
    if (!a.defined()) return;
    double scale = 1;
    for (double v : b.to_vector<double>()) scale = std::max(scale, std::abs(v));
    diff.note(max_abs_diff(a, b) / scale, what);
  };
  note(got.y, want.y, "output");
  note(got.dx, want.dx, "input gradient");
  const auto params = cpu.module->named_parameters();
  for (std::size_t i = 0; i < params.size(); ++i) note(got.grads[i], want.grads[i], "gradient of " + params[i].name);
  std::string decoded;
  if (dev.mixer) {
    autograd::NoGradGuard no_grad;
    if (auto state = dev.mixer->make_state(x.size(0))) {
      std::vector<Tensor> steps;
      for (std::int64_t t = 0; t < x.size(1); ++t) {
        StepContext ctx(false, nullptr);
        steps.push_back(dev.mixer->forward_step(x.slice(1, t, t + 1).to(device), *state, ctx));
      }
      note(concat(steps, 1), want.y, "token-by-token decoding");
      decoded = ", decoding";
    }
  }
  if (diff.beyond_round_off()) {
    passed = false;
    return "the " + diff.where + " differs from the CPU's by " + fmt(diff.worst) + " (relative)";
  }
  return "output, input and " + std::to_string(params.size()) + " parameter gradients" + decoded + " within " +
         fmt(std::max(diff.worst, 1e-300)) + " of the CPU's";
}

}  // namespace

CheckReport check_component(const ComponentRegistry& registry, ComponentKind kind, const Config& config,
                            const ComponentCheckOptions& o) {
  if (kind == ComponentKind::optimizer) return check_optimizer(registry, config, o);
  CheckReport report;
  report.component = std::string(to_string(kind)) + " " + config.type();
  const std::int64_t B = o.batch, T = o.seq_len, D = o.d_model;
  const bool mixer_like = kind == ComponentKind::mixer || kind == ComponentKind::block;

  Generator gen64(o.seed), gen32(o.seed), data_gen(o.seed + 100);
  Built f64, f32;
  report.items.push_back(run_check("build (f32 and f64)", [&](CheckItem& item) {
    f64 = build(registry, kind, config, o, DType::f64, gen64);
    f32 = build(registry, kind, config, o, DType::f32, gen32);
    item.detail = std::to_string(f64.module->num_parameters()) + " parameters at d_model " + std::to_string(D);
  }));
  if (!f64.module) return report;

  const Tensor x = Tensor::randn({B, T, D}, data_gen, DType::f64);
  Tensor y_full;
  report.items.push_back(run_check("forward shape and finiteness", [&](CheckItem& item) {
    StepContext ctx(false, nullptr);
    y_full = f64.forward(x, ctx);
    const Tensor y32 = f32.forward(x.to(DType::f32), ctx);
    if (y_full.shape() != x.shape() || y32.shape() != x.shape()) {
      item.passed = false;
      item.detail = "output " + y_full.shape().to_string() + " for input " + x.shape().to_string();
    } else if (!all_finite(y_full) || !all_finite(y32)) {
      item.passed = false;
      item.detail = "non-finite outputs";
    } else {
      item.detail = "[B, T, D] = " + x.shape().to_string();
    }
  }));

  report.items.push_back(run_check("gradient (f64, input and every parameter)", [&](CheckItem& item) {
    std::vector<Tensor> inputs{x.clone().requires_grad_()};
    const auto params = f64.module->named_parameters();
    for (const auto& p : params) inputs.push_back(p.tensor);
    GradcheckOptions go;
    go.step = o.gradcheck_step;
    go.atol = o.gradcheck_atol;
    go.rtol = o.gradcheck_rtol;
    go.perturb_in_place = true;
    const GradcheckResult r = gradcheck(
        [&](const std::vector<Tensor>& in) {
          StepContext ctx(false, nullptr);
          return f64.forward(in[0], ctx);
        },
        inputs, go);
    item.passed = r.passed;
    if (!r.passed) {
      std::string detail = r.report();
      // Name the parameter: gradcheck counts inputs, 0 being x.
      const std::string marker = "input ";
      if (auto pos = detail.find(marker); pos != std::string::npos) {
        const int index = std::atoi(detail.c_str() + pos + marker.size());
        detail += index == 0 ? " [the input x]" : " [parameter " + params[std::size_t(index - 1)].name + "]";
      }
      item.detail = detail;
    } else {
      item.detail = std::to_string(params.size()) + " parameter tensors, max |error| " + fmt(r.max_abs_error);
    }
  }));

  report.items.push_back(
      run_check(mixer_like ? "causality" : "per-token independence", [&](CheckItem& item) {
        if (mixer_like && !f64.mixer->causal()) {
          item.skipped = true;
          item.detail = "the mixer declares itself non-causal (causal() is false)";
          return;
        }
        if (kind == ComponentKind::ffn && !f64.ffn->token_independent()) {
          item.skipped = true;
          item.detail = "the ffn declares that tokens affect each other (token_independent() is false)";
          return;
        }
        autograd::NoGradGuard no_grad;
        for (std::int64_t t = 0; t < T; ++t) {
          std::vector<double> delta(std::size_t(B * T * D), 0.0);
          for (std::int64_t b = 0; b < B; ++b)
            for (std::int64_t d = 0; d < D; ++d) delta[std::size_t((b * T + t) * D + d)] = 0.5;
          const Tensor xp = add(x, Tensor::from_vector(delta, {B, T, D}));
          StepContext ctx(false, nullptr);
          const Tensor yp = f64.forward(xp, ctx);
          for (std::int64_t s = 0; s < T; ++s) {
            const bool may_change = mixer_like ? s >= t : s == t;
            if (may_change) continue;
            const double d = max_abs_diff(yp.slice(1, s, s + 1), y_full.slice(1, s, s + 1));
            if (d > 1e-12) {
              item.passed = false;
              item.detail =
                  "perturbing token " + std::to_string(t) + " changed output " + std::to_string(s) + " by " + fmt(d);
              return;
            }
          }
        }
      }));

  if (mixer_like) {
    report.items.push_back(run_check("packed documents equal separate runs", [&](CheckItem& item) {
      if (!f64.mixer->supports_packed_sequences()) {
        item.skipped = true;
        item.detail = "the mixer does not declare supports_packed_sequences()";
        return;
      }
      item.detail = check_packed_documents(f64, x, item.passed);
    }));
    report.items.push_back(run_check("decoding equals forward", [&](CheckItem& item) {
      autograd::NoGradGuard no_grad;
      if (!f64.mixer->make_state(B)) {
        item.skipped = true;
        item.detail = "the mixer has no recurrent state (make_state returns null)";
        return;
      }
      // Token by token, then two uneven chunks.
      for (const std::int64_t first_chunk : {std::int64_t(1), T / 2 + 1}) {
        auto state = f64.mixer->make_state(B);
        std::vector<Tensor> pieces;
        std::int64_t t = 0;
        while (t < T) {
          const std::int64_t len = first_chunk == 1 ? 1 : (t == 0 ? first_chunk : T - t);
          StepContext ctx(false, nullptr);
          pieces.push_back(f64.mixer->forward_step(x.slice(1, t, t + len), *state, ctx));
          t += len;
        }
        const Tensor y_steps = concat(pieces, 1);
        const double d = max_abs_diff(y_steps, y_full);
        if (d > 1e-10) {
          item.passed = false;
          item.detail =
              (first_chunk == 1 ? "token-by-token" : "chunked") + std::string(" decoding differs by ") + fmt(d);
          return;
        }
        if (state->position() != T) {
          item.passed = false;
          item.detail =
              "state position() is " + std::to_string(state->position()) + " after " + std::to_string(T) + " tokens";
          return;
        }
        item.detail = "state " + std::to_string(state->size_bytes()) + " bytes for batch " + std::to_string(B);
      }
    }));
  }
  for (const Device device : o.devices) {
    if (device.is_cpu()) continue;
    report.items.push_back(run_check("on " + device.to_string() + " (f64): equals the CPU", [&](CheckItem& item) {
      item.detail = check_on_device(registry, kind, config, o, x, device, item.passed);
    }));
  }
  return report;
}

}  // namespace strata::testing
