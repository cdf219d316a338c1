#pragma once
// Conformance checks for components, used by `strata check`, by plugin tests and by the
// framework's own tests. For a mixer:
//   - forward: [B, T, D] -> [B, T, D], finite, in f32 and f64;
//   - gradient: f64 central differences for the input and every parameter;
//   - causality: perturbing token t changes no output before t (skipped for a mixer
//     whose causal() is false);
//   - decoding (when the mixer makes a state): token-by-token and chunked forward_step
//     equal the full-sequence forward.
// For an ffn: forward shape, gradient, and per-token independence (perturbing token t
// changes only output t). A block is checked as a mixer, assembled around a small causal
// probe mixer that decodes and the built-in mlp (its own parameters are in the gradient
// check). An optimizer: its state (unique names, finite), minimising 0.5 ||p - target||^2,
// leaving parameters without a gradient alone, and resuming bit for bit from its state.
#include <cstdint>
#include <string>
#include <vector>

#include "strata/component_kind.h"
#include "strata/config.h"
#include "strata/device.h"
#include "strata/registry.h"

namespace strata::testing {

struct CheckItem {
  std::string name;
  bool passed = true;
  bool skipped = false;
  std::string detail;
};

struct CheckReport {
  std::string component;  // "mixer shortconv"
  std::vector<CheckItem> items;
  bool passed() const;
  explicit operator bool() const { return passed(); }
  // One line per check: "PASS gradient (f64): ...".
  std::string to_string() const;
};

struct ComponentCheckOptions {
  std::int64_t batch = 2;
  std::int64_t seq_len = 7;  // odd, so that chunked decoding splits unevenly
  std::int64_t d_model = 8;
  std::uint64_t seed = 1;
  double gradcheck_step = 1e-6;
  double gradcheck_atol = 1e-7;
  double gradcheck_rtol = 1e-5;
  // Optimizers: the steps and learning rate of the quadratic (it must fall below 5%).
  int optimizer_steps = 300;
  double optimizer_lr = 0.02;
  // Devices besides the CPU to check the component on (e.g. cuda:0): in f64, its forward,
  // input and parameter gradients (and a mixer's token-by-token decoding) must equal the
  // CPU's from the same initialisation. Empty: the CPU only.
  std::vector<Device> devices;
};

// Validates `type` plus "key=value" assignments (its own keys, e.g. "kernel_size=3") into
// the config of a `kind` component, as an experiment file would.
Config component_config(const ComponentRegistry& registry, ComponentKind kind, const std::string& type,
                        const std::vector<std::string>& assignments = {});

// Runs every check that applies to the component's kind (mixer, ffn, block or optimizer).
CheckReport check_component(const ComponentRegistry& registry, ComponentKind kind, const Config& config,
                            const ComponentCheckOptions& options = {});

}  // namespace strata::testing
