#pragma once
// RoPE scaling: the ways a model trained on `original_context` tokens is stretched to longer
// contexts, as transformers' rope types define them (modeling_rope_utils.py):
//   linear    position interpolation (Chen et al. 2023): every frequency / factor
//   dynamic   NTK-aware base (bloc97, emozilla): past max_context tokens the base grows with
//             the forward's length, base * (factor * L / max_context - (factor - 1))^(d/(d-2))
//   yarn      YaRN (Peng et al. 2023): high frequencies kept, low ones / factor, a linear ramp
//             between (beta_fast, beta_slow rotations), and cos, sin times an attention factor
//             (0.1 ln(factor) + 1 unless given; DeepSeek's mscale / mscale_all_dim ratio)
//   llama3    Llama 3.1: wavelengths above original_context / low_freq_factor / factor, below
//             original_context / high_freq_factor kept, smoothly interpolated between
//   longrope  LongRoPE (Phi-3): per-pair factors, short_factor up to original_context tokens
//             and long_factor past it, and an attention factor sqrt(1 + ln(factor) / ln(orig))
// dynamic and longrope depend on the length of the forward (the largest position + 1), as in
// transformers, so decoding past the threshold uses other frequencies than the prompt did.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <strata/config.h>
#include <strata/ops/rope.h>

namespace strata::attention_plugin {

struct RopeScaling {
  std::string type = "none";  // none, linear, dynamic, yarn, llama3, longrope
  double factor = 1.0;
  std::int64_t original_context = 0;  // original_max_position_embeddings
  std::int64_t max_context = 0;       // max_position_embeddings (dynamic's threshold)
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // llama3
  double beta_fast = 32.0, beta_slow = 1.0;              // yarn
  bool truncate = true;                                  // yarn: integer correction range
  std::optional<double> attention_factor;                // yarn, longrope
  double mscale = 0, mscale_all_dim = 0;                 // yarn (0: unset)
  std::vector<double> short_factor, long_factor;         // longrope: rotary_dim / 2 each
};

// The inverse frequency of each channel pair and the factor on cos and sin for a forward
// whose last position is seq_len - 1 (`base` is rope_theta). The f64 values of transformers'
// f32 computation.
struct RopeFrequencies {
  std::vector<double> inv_freq;  // [rotary_dim / 2]
  double scale = 1.0;
};
RopeFrequencies rope_frequencies(const RopeScaling& scaling, double base, std::int64_t rotary_dim,
                                 std::int64_t seq_len);

// The keys of [model.mixer.X] that describe the scaling (rope_scaling, rope_factor, ...).
void add_rope_scaling_keys(ConfigSchema& schema);
// Reads and checks them (a located config error for a missing or inapplicable key).
// `rotary_dim` sizes longrope's factor lists.
RopeScaling read_rope_scaling(const Config& config, std::int64_t rotary_dim);

// Whether the frequencies depend on the forward's length (dynamic, longrope).
inline bool depends_on_length(const RopeScaling& s) { return s.type == "dynamic" || s.type == "longrope"; }

}  // namespace strata::attention_plugin
