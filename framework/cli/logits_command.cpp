// strata logits: the logits of every position of given token sequences, as safetensors,
// to compare numerics with other frameworks; with --grads also the loss of predicting each
// next token and its gradient with respect to every parameter.
#include <iostream>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/hf.h"
#include "strata/ops.h"
#include "strata/safetensors.h"

namespace strata::cli {

int logits_command(const LogitsOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  LoadedCheckpoint c = load_checkpoint(options.checkpoint, options.common.experiment_options(), registry, DType::f32,
                                       options.checks);
  const std::int64_t V = c.model->dims().vocab_size;
  if (options.tokens.empty() && options.text.empty())
    throw UsageError("logits needs token ids or text", "give --tokens \"5 3 9\" (or a file of ids) or --text \"...\"");
  const Tensor ids = options.text.empty()
                         ? read_token_ids(options.tokens, V, "--tokens")
                         : encode_text(*text_tokenizer(c, options.tokenizer), options.text, V, "--text");  // [B, T]
  c.model->train(false);
  StepContext ctx(false);
  std::vector<std::pair<std::string, Tensor>> out{{"input_ids", ids}};
  if (options.grads.empty()) {
    autograd::NoGradGuard no_grad;
    out.emplace_back("logits", c.model->forward(ids, ctx).to(DType::f32));  // [B, T, V]
  } else {
    const std::int64_t T = ids.shape()[1];
    if (T < 2) throw UsageError("--grads needs at least 2 tokens per sequence (the loss predicts each next one)");
    // As Hugging Face's labels = input_ids: position t predicts token t + 1, mean over all.
    const Tensor logits = c.model->forward(ids, ctx);  // [B, T, V]
    const Tensor loss = cross_entropy(logits.slice(1, 0, T - 1).contiguous(), ids.slice(1, 1, T).contiguous());
    c.model->zero_grad();
    loss.backward();
    std::vector<std::pair<std::string, Tensor>> grads;
    for (const auto& p : c.model->named_parameters()) {
      const Tensor g = p.tensor.grad();
      grads.emplace_back(p.name, g.defined() ? g : Tensor::zeros(p.tensor.shape(), p.tensor.dtype()));
    }
    if (options.grads == "hf") grads = to_hf_layout(c.experiment, *c.model, registry, grads);
    out.emplace_back("logits", logits.detach().to(DType::f32));
    out.emplace_back("loss", loss.detach().to(DType::f32));
    for (auto& [name, g] : grads) out.emplace_back("grad." + name, g.to(DType::f32));
  }
  safetensors::write(options.out, out, {{"checkpoint", options.checkpoint}, {"format", "strata logits"}});
  std::cerr << "wrote logits " << out[1].second.shape().to_string() << " (f32) and input_ids "
            << ids.shape().to_string()
            << (options.grads.empty() ? "" : ", the loss and " + std::to_string(out.size() - 3) + " gradients (" +
                                                  options.grads + " names, grad.<name>)")
            << " to " << options.out << "\n";
  return kOk;
}

}  // namespace strata::cli
