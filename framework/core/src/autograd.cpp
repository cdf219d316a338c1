#include "strata/autograd.h"

#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "strata/detail/tensor_impl.h"
#include "strata/error.h"
#include "strata/ops/elementwise.h"

namespace strata::autograd {

// ---- grad mode ---------------------------------------------------------------------

namespace {
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

// ---- saved tensors -----------------------------------------------------------------

SavedTensor::SavedTensor(const Tensor& t) {
  if (!t.defined()) return;
  tensor_ = t.detach();
  version_ = t.impl()->storage->version();
}

const Tensor& SavedTensor::get() const {
  if (tensor_.defined() && tensor_.impl()->storage->version() != version_)
    throw AutogradError("a tensor saved for backward (shape " + tensor_.shape().to_string() +
                            ") was modified in place after it was saved, so its gradient would be wrong",
                        "do in-place updates (optimizer steps, fill_, copy_) after backward(), or clone() the "
                        "tensor before modifying it");
  return tensor_;
}

// ---- recording ---------------------------------------------------------------------

bool needs_recording(std::span<const Tensor> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

bool needs_recording(std::initializer_list<Tensor> inputs) {
  return needs_recording(std::span<const Tensor>(inputs.begin(), inputs.size()));
}

Node::Node(std::string name, std::vector<Edge> inputs, std::vector<TensorMeta> input_meta,
           std::vector<TensorMeta> output_meta, BackwardFn fn)
    : name_(std::move(name)),
      inputs_(std::move(inputs)),
      input_meta_(std::move(input_meta)),
      output_meta_(std::move(output_meta)),
      fn_(std::move(fn)) {}

Node::~Node() {
  // The outermost destructor on this thread drains a list of predecessors; nested ones
  // (triggered by that drain) only append to it, so the depth stays constant.
  static thread_local std::vector<std::shared_ptr<Node>>* draining = nullptr;
  std::vector<std::shared_ptr<Node>> local;
  const bool outermost = draining == nullptr;
  if (outermost) draining = &local;
  for (Edge& e : inputs_)
    if (e.node) draining->push_back(std::move(e.node));
  if (outermost) {
    while (!local.empty()) {
      std::shared_ptr<Node> next = std::move(local.back());
      local.pop_back();
      next.reset();
    }
    draining = nullptr;
  }
}

std::vector<Tensor> Node::apply(const std::vector<Tensor>& grads) {
  if (!fn_)
    throw AutogradError("backward through '" + name_ +
                            "' a second time, but its saved values were freed by the "
                            "first backward",
                        "pass retain_graph = true to the first backward() if you need to backpropagate twice");
  std::vector<bool> needs(inputs_.size());
  for (std::size_t i = 0; i < inputs_.size(); ++i) needs[i] = inputs_[i].connected();
  return fn_(BackwardArgs{grads, needs});
}

void record(std::string_view op, std::span<const Tensor> inputs, std::span<Tensor> outputs, BackwardFn backward) {
  if (!needs_recording(inputs)) return;
  std::vector<Edge> edges(inputs.size());
  std::vector<TensorMeta> input_meta(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined()) continue;
    input_meta[i] = {t.shape(), t.dtype(), t.device()};
    if (!t.requires_grad()) continue;
    if (t.grad_fn()) {
      edges[i].node = t.grad_fn();
      edges[i].output_nr = t.impl()->output_nr;
    } else {
      edges[i].leaf = t.impl_ptr();
    }
  }
  std::vector<TensorMeta> output_meta;
  for (const Tensor& out : outputs) {
    if (!is_floating(out.dtype()))
      throw AutogradError(std::string(op) + ": recorded output of dtype " + std::string(dtype_name(out.dtype())) +
                          "; only floating outputs can carry gradient");
    if (out.grad_fn() || out.requires_grad())
      throw AutogradError(std::string(op) + ": an output already has autograd history",
                          "an op must record the tensors it created, not its inputs or views of them");
    output_meta.push_back({out.shape(), out.dtype(), out.device()});
  }
  auto node = std::make_shared<Node>(std::string(op), std::move(edges), std::move(input_meta), std::move(output_meta),
                                     std::move(backward));
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i].impl();
    impl->grad_fn = node;
    impl->output_nr = int(i);
    impl->requires_grad = true;
  }
}

void record(std::string_view op, std::initializer_list<Tensor> inputs, std::initializer_list<Tensor> outputs,
            BackwardFn backward) {
  // Tensor handles share their impl, so recording on copies marks the caller's tensors.
  std::vector<Tensor> outs(outputs);
  record(op, std::span<const Tensor>(inputs.begin(), inputs.size()), std::span<Tensor>(outs), std::move(backward));
}

// ---- the engine --------------------------------------------------------------------

namespace {

void accumulate_into_leaf(TensorImpl& leaf, Tensor grad) {
  if (leaf.grad.defined()) {
    leaf.grad.add_(grad);
    return;
  }
  // Adopt the gradient only when nothing else can see its memory; otherwise copy, so that
  // later in-place accumulation cannot leak into another tensor.
  const bool exclusive = grad.impl_ptr().use_count() == 1 && grad.impl()->storage.use_count() == 1 &&
                         grad.is_contiguous() && grad.offset() == 0;
  leaf.grad = exclusive ? grad : grad.clone();
}

void check_gradient(const Node& node, std::size_t input, const Tensor& grad) {
  const TensorMeta& meta = node.input_meta()[input];
  if (grad.shape() != meta.shape || grad.dtype() != meta.dtype)
    throw AutogradError("backward of '" + node.name() + "' returned a gradient of shape " + grad.shape().to_string() +
                        " " + std::string(dtype_name(grad.dtype())) + " for input " + std::to_string(input) +
                        " of shape " + meta.shape.to_string() + " " + std::string(dtype_name(meta.dtype)));
}

}  // namespace

void backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph) {
  backward(roots, grads, retain_graph, LeafReadyFn{});
}

void backward(std::span<const Tensor> roots, std::span<const Tensor> grads, bool retain_graph,
              const LeafReadyFn& on_leaf_ready) {
  if (roots.size() != grads.size())
    throw AutogradError("backward: " + std::to_string(roots.size()) + " roots but " + std::to_string(grads.size()) +
                        " gradients");
  NoGradGuard no_grad;

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> start;
  auto add_to_buffer = [&](Node* node, int output, Tensor g) {
    auto& slots = buffers[node];
    if (slots.empty()) slots.resize(node->output_meta().size());
    Tensor& slot = slots[std::size_t(output)];
    slot = slot.defined() ? add(slot, g) : std::move(g);
  };

  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    if (!root.requires_grad())
      throw AutogradError("backward: the tensor does not require grad, so there is nothing to differentiate",
                          "mark the parameters with requires_grad_() and compute the loss with grad mode on");
    Tensor seed = grads[i];
    if (!seed.defined()) {
      if (root.numel() != 1)
        throw AutogradError("backward: a loss of shape " + root.shape().to_string() +
                                " is not a scalar, so backward() needs a gradient",
                            "reduce it (sum, mean) first, or pass a gradient of the same shape");
      seed = Tensor::ones(root.shape(), root.dtype(), root.device());
    } else if (seed.shape() != root.shape() || seed.dtype() != root.dtype()) {
      throw AutogradError("backward: gradient " + seed.shape().to_string() + " " +
                          std::string(dtype_name(seed.dtype())) + " does not match the tensor " +
                          root.shape().to_string() + " " + std::string(dtype_name(root.dtype())));
    }
    if (!root.grad_fn()) {
      accumulate_into_leaf(*root.impl(), seed.clone());
      continue;
    }
    add_to_buffer(root.grad_fn().get(), root.impl()->output_nr, seed);
    start.push_back(root.grad_fn());
  }

  // Count, for every reachable node, how many edges point at it.
  std::unordered_map<Node*, int> pending;
  // For on_leaf_ready: how many edges of the graph still lead to each leaf.
  std::unordered_map<const TensorImpl*, int> leaf_pending;
  {
    std::unordered_set<Node*> seen;
    std::vector<Node*> stack;
    for (auto& n : start)
      if (seen.insert(n.get()).second) stack.push_back(n.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->inputs()) {
        if (e.leaf && on_leaf_ready) ++leaf_pending[e.leaf.get()];
        if (!e.node) continue;
        ++pending[e.node.get()];
        if (seen.insert(e.node.get()).second) stack.push_back(e.node.get());
      }
    }
  }

  std::deque<Node*> ready;
  {
    std::unordered_set<Node*> queued;
    for (auto& n : start)
      if (pending[n.get()] == 0 && queued.insert(n.get()).second) ready.push_back(n.get());
  }
  while (!ready.empty()) {
    Node* node = ready.front();
    ready.pop_front();
    std::vector<Tensor> grads_out;
    if (auto it = buffers.find(node); it != buffers.end()) {
      grads_out = std::move(it->second);
      buffers.erase(it);
    }
    // A node none of whose outputs received a gradient contributes nothing; its inputs
    // still count it as done.
    std::vector<Tensor> input_grads;
    if (!grads_out.empty()) {
      for (std::size_t o = 0; o < grads_out.size(); ++o)
        if (!grads_out[o].defined()) {
          const TensorMeta& m = node->output_meta()[o];
          grads_out[o] = Tensor::zeros(m.shape, m.dtype, m.device);
        }
      input_grads = node->apply(grads_out);
      grads_out.clear();
      if (input_grads.size() != node->inputs().size())
        throw AutogradError("backward of '" + node->name() + "' returned " + std::to_string(input_grads.size()) +
                            " gradients for " + std::to_string(node->inputs().size()) + " inputs");
      if (!retain_graph) node->release();
    }
    for (std::size_t i = 0; i < node->inputs().size(); ++i) {
      const Edge& e = node->inputs()[i];
      if (!e.connected()) continue;
      Tensor g = input_grads.empty() ? Tensor() : std::move(input_grads[i]);
      if (g.defined()) check_gradient(*node, i, g);
      if (e.leaf) {
        if (g.defined()) accumulate_into_leaf(*e.leaf, std::move(g));
        if (on_leaf_ready && --leaf_pending[e.leaf.get()] == 0) on_leaf_ready(*e.leaf);
        continue;
      }
      if (g.defined()) add_to_buffer(e.node.get(), e.output_nr, std::move(g));
      if (--pending[e.node.get()] == 0) ready.push_back(e.node.get());
    }
  }
}

}  // namespace strata::autograd
