// The Block base: assembling a layer from its parts, and running the mixer and ffn with
// their scopes, the decoding path and the model's observer.
#include <algorithm>

#include "strata/components.h"
#include "strata/error.h"

namespace strata {

namespace {

// Whether `block` lists the parameters of `part` under "<name>.": build() registered it so.
bool registered_as(const Module& block, const Module& part, const std::string& name) {
  const std::vector<NamedParameter> own = part.named_parameters();
  if (own.empty()) return true;  // nothing to name
  const std::vector<NamedParameter> all = block.named_parameters();
  return std::any_of(all.begin(), all.end(),
                     [&](const NamedParameter& p) { return p.name == name + "." + own.front().name; });
}

}  // namespace

void Block::assemble(int layer, BlockParts parts) {
  if (!parts.mixer) throw ValueError("Block::assemble: layer " + std::to_string(layer) + " has no mixer");
  mixer_ = parts.mixer;
  ffn_ = parts.ffn;
  scope_ = "layers." + std::to_string(layer);
  mixer_scope_ = scope_ + ".mixer";
  ffn_scope_ = scope_ + ".ffn";
  build(parts);
  if (!registered_as(*this, *mixer_, "mixer") || (ffn_ && !registered_as(*this, *ffn_, "ffn")))
    throw Error("the block of layer " + std::to_string(layer) + " did not register its mixer as \"mixer\" and its ffn as \"ffn\"",
                "in build(), call register_module(\"mixer\", parts.mixer) and register_module(\"ffn\", parts.ffn)");
}

Tensor Block::run_mixer(const Tensor& x, MixerState* state, StepContext& ctx) {
  ctx.set_scope(mixer_scope_);
  Tensor out = state ? mixer_->forward_step(x, *state, ctx) : mixer_->forward(x, ctx);
  ctx.set_scope(scope_);
  if (observer_) (*observer_)(mixer_scope_, out);
  return out;
}

Tensor Block::run_ffn(const Tensor& x, StepContext& ctx) {
  if (!ffn_) throw ValueError("Block::run_ffn: layer " + mixer_scope_ + " has no ffn", "check ffn() before calling run_ffn");
  ctx.set_scope(ffn_scope_);
  Tensor out = ffn_->forward(x, ctx);
  ctx.set_scope(scope_);
  if (observer_) (*observer_)(ffn_scope_, out);
  return out;
}

}  // namespace strata
