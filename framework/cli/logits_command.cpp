// strata logits: the logits of every position of given token sequences, as safetensors,
// to compare numerics with other frameworks.
#include <iostream>

#include "cli/commands.h"
#include "cli/token_input.h"
#include "strata/autograd.h"
#include "strata/checkpoint.h"
#include "strata/safetensors.h"

namespace strata::cli {

int logits_command(const LogitsOptions& options) {
  ComponentRegistry registry;
  register_builtin_components(registry);
  LoadedCheckpoint c = load_checkpoint(options.checkpoint, options.common.experiment_options(), registry);
  const Tensor ids = read_token_ids(options.tokens, c.model->dims().vocab_size, "--tokens");  // [B, T]
  autograd::NoGradGuard no_grad;
  c.model->train(false);
  StepContext ctx(false);
  const Tensor logits = c.model->forward(ids, ctx).to(DType::f32);  // [B, T, V]
  safetensors::write(options.out, {{"input_ids", ids}, {"logits", logits}},
                     {{"checkpoint", options.checkpoint}, {"format", "strata logits"}});
  std::cerr << "wrote logits " << logits.shape().to_string() << " (f32) and input_ids " << ids.shape().to_string()
            << " to " << options.out << "\n";
  return kOk;
}

}  // namespace strata::cli
