#pragma once
// Reverse-mode automatic differentiation on a tape of coarse ops.
//
// An op computes its outputs, then calls record() with its inputs, its outputs and a
// backward function. record() does nothing in no-grad mode or when no input requires
// grad, so ops pay for the tape only when a gradient is wanted. backward() walks the
// recorded nodes in reverse topological order (Kahn's algorithm over the reachable
// graph) with grad mode off, sums gradients that meet at a node, and accumulates into
// the .grad of leaves (parameter gradients accumulate; call zero_grad between steps).
//
// Writing a new differentiable op (for example in a plugin):
//
//   Tensor my_square(const Tensor& x) {
//     Tensor y = mul(x.detach(), x.detach());        // forward, off the tape
//     autograd::record("my_square", {x}, {y},
//         [xs = autograd::SavedTensor(x)](const autograd::BackwardArgs& a) {
//           return std::vector<Tensor>{mul(scale(xs.get(), 2.0), a.grad())};
//         });
//     return y;
//   }
//
// The backward function returns one gradient per input (an undefined Tensor where an
// input needs none: check a.needs(i) to skip work). The engine checks each gradient's
// shape and dtype against its input and names the op when they disagree.
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "strata/tensor.h"

namespace strata::autograd {

// ---- grad mode (per thread) ---------------------------------------------------------
bool grad_enabled();
void set_grad_enabled(bool enabled);

// Disables recording in its scope (evaluation, decoding, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// ---- saved tensors -----------------------------------------------------------------
// A tensor kept for backward, without its autograd history (no reference cycles), with
// the storage version at save time: get() throws AutogradError if the storage was
// modified in place since (a stale value would give a silently wrong gradient).
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  const Tensor& get() const;
  bool defined() const { return tensor_.defined(); }

 private:
  Tensor tensor_;
  std::uint64_t version_ = 0;
};

// ---- recording ---------------------------------------------------------------------
struct BackwardArgs {
  // One gradient per output, same shape as the output (zeros where an output did not
  // contribute to the loss).
  const std::vector<Tensor>& grads;
  // needs_input[i]: whether input i requires a gradient.
  const std::vector<bool>& needs_input;

  const Tensor& grad(int output = 0) const { return grads[output]; }
  bool needs(int input) const { return needs_input[input]; }
};
using BackwardFn = std::function<std::vector<Tensor>(const BackwardArgs&)>;

// True when grad mode is on and any defined input requires grad.
bool needs_recording(std::span<const Tensor> inputs);
bool needs_recording(std::initializer_list<Tensor> inputs);

// Attaches `outputs` to a new node of the tape named `op`. Call after computing the
// outputs; no-op unless needs_recording(inputs). Outputs must be floating tensors
// created by the op (not views of inputs that were already recorded).
void record(std::string_view op, std::span<const Tensor> inputs, std::span<Tensor> outputs, BackwardFn backward);
void record(std::string_view op, std::initializer_list<Tensor> inputs, std::initializer_list<Tensor> outputs,
            BackwardFn backward);

// Backpropagates from `roots` with the given seed gradients (same shapes).
void backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph = false);
// The same, calling on_leaf_ready(leaf) once for each leaf the graph reaches, as soon as the
// pass has delivered every gradient it will give that leaf (its .grad is final for this
// pass): data-parallel training starts reducing a bucket of gradients while the rest of the
// backward still runs.
using LeafReadyFn = std::function<void(const TensorImpl& leaf)>;
void backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph,
              const LeafReadyFn& on_leaf_ready);

// ---- the tape ----------------------------------------------------------------------
struct TensorMeta {
  Shape shape;
  DType dtype;
  Device device;
};

// Where an input's gradient goes: another node's output, a leaf's .grad, or nowhere.
struct Edge {
  std::shared_ptr<Node> node;        // set when the input is the result of a recorded op
  int output_nr = 0;                 // which output of `node`
  std::shared_ptr<TensorImpl> leaf;  // set when the input is a leaf that requires grad
  bool connected() const { return node || leaf; }
};

class Node {
 public:
  Node(std::string name, std::vector<Edge> inputs, std::vector<TensorMeta> input_meta,
       std::vector<TensorMeta> output_meta, BackwardFn fn);
  // Releases long chains of predecessors iteratively: a recursive release of a graph with
  // 100k ops in a row would overflow the stack.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  const std::vector<TensorMeta>& input_meta() const { return input_meta_; }
  const std::vector<TensorMeta>& output_meta() const { return output_meta_; }
  bool released() const { return !fn_; }

  // Runs the backward function; called by the engine.
  std::vector<Tensor> apply(const std::vector<Tensor>& grads);
  // Frees what the backward function captured (saved tensors).
  void release() { fn_ = nullptr; }

 private:
  std::string name_;
  std::vector<Edge> inputs_;
  std::vector<TensorMeta> input_meta_;
  std::vector<TensorMeta> output_meta_;
  BackwardFn fn_;
};

}  // namespace strata::autograd
