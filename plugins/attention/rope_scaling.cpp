#include "rope_scaling.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace strata::attention_plugin {

namespace {

constexpr const char* kTypes[] = {"none", "linear", "dynamic", "yarn", "llama3", "longrope"};

// theta^(-2c/d) for each pair c.
std::vector<double> default_frequencies(double base, std::int64_t d) {
  std::vector<double> f(std::size_t(d / 2));
  for (std::int64_t c = 0; c < d / 2; ++c) f[std::size_t(c)] = 1.0 / std::pow(base, double(2 * c) / double(d));
  return f;
}

double yarn_mscale(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

}  // namespace

RopeFrequencies rope_frequencies(const RopeScaling& s, double base, std::int64_t d, std::int64_t seq_len) {
  RopeFrequencies out;
  const std::size_t half = std::size_t(d / 2);
  if (s.type == "none") {
    out.inv_freq = default_frequencies(base, d);
  } else if (s.type == "linear") {
    out.inv_freq = default_frequencies(base, d);
    for (double& f : out.inv_freq) f /= s.factor;
  } else if (s.type == "dynamic") {
    const double L = double(std::max(seq_len, s.max_context));
    const double grown =
        base * std::pow(s.factor * L / double(s.max_context) - (s.factor - 1.0), double(d) / double(d - 2));
    out.inv_freq = default_frequencies(grown, d);
  } else if (s.type == "yarn") {
    const double factor = s.factor;
    out.scale = s.attention_factor ? *s.attention_factor
                : (s.mscale != 0 && s.mscale_all_dim != 0)
                    ? yarn_mscale(factor, s.mscale) / yarn_mscale(factor, s.mscale_all_dim)
                    : yarn_mscale(factor, 1.0);
    // The pair index at which a frequency makes `rotations` turns over the original context.
    const auto correction_dim = [&](double rotations) {
      return double(d) * std::log(double(s.original_context) / (rotations * 2 * std::numbers::pi)) /
             (2 * std::log(base));
    };
    double low = correction_dim(s.beta_fast), high = correction_dim(s.beta_slow);
    if (s.truncate) low = std::floor(low), high = std::ceil(high);
    low = std::max(low, 0.0);
    high = std::min(high, double(d - 1));
    if (low == high) high += 0.001;  // as transformers: no division by zero
    const std::vector<double> extrapolation = default_frequencies(base, d);
    out.inv_freq.resize(half);
    for (std::size_t c = 0; c < half; ++c) {
      const double ramp = std::clamp((double(c) - low) / (high - low), 0.0, 1.0);
      const double keep = 1.0 - ramp;  // share of the unscaled (extrapolated) frequency
      out.inv_freq[c] = extrapolation[c] / factor * (1.0 - keep) + extrapolation[c] * keep;
    }
  } else if (s.type == "llama3") {
    out.inv_freq = default_frequencies(base, d);
    const double orig = double(s.original_context);
    const double low_wavelen = orig / s.low_freq_factor, high_wavelen = orig / s.high_freq_factor;
    for (double& f : out.inv_freq) {
      const double wavelen = 2 * std::numbers::pi / f;
      if (wavelen > low_wavelen) {
        f /= s.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (orig / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f = (1 - smooth) * f / s.factor + smooth * f;
      }
    }
  } else if (s.type == "longrope") {
    const std::vector<double>& ext = seq_len > s.original_context ? s.long_factor : s.short_factor;
    out.inv_freq = default_frequencies(base, d);
    for (std::size_t c = 0; c < half; ++c) out.inv_freq[c] /= ext[c];
    out.scale = s.attention_factor ? *s.attention_factor
                : s.factor <= 1.0   ? 1.0
                                    : std::sqrt(1 + std::log(s.factor) / std::log(double(s.original_context)));
  }
  return out;
}

void add_rope_scaling_keys(ConfigSchema& s) {
  s.string("rope_scaling", "none",
           "stretch RoPE past the trained context: none, linear, dynamic (NTK), yarn, llama3, longrope (as "
           "transformers' rope types)")
      .one_of({kTypes[0], kTypes[1], kTypes[2], kTypes[3], kTypes[4], kTypes[5]});
  s.optional("rope_factor", ConfigType::number, "scaling factor (linear, dynamic, yarn, llama3, longrope)")
      .greater_than(0.0);
  s.optional("rope_original_context", ConfigType::integer,
             "tokens the model was pretrained on (original_max_position_embeddings: yarn, llama3, longrope)")
      .at_least(1);
  s.optional("rope_max_context", ConfigType::integer,
             "max_position_embeddings: where dynamic scaling starts; yarn's and longrope's default factor is "
             "rope_max_context / rope_original_context")
      .at_least(1);
  s.number("rope_low_freq_factor", 1.0, "llama3: wavelengths above original / low_freq_factor are scaled")
      .greater_than(0.0);
  s.number("rope_high_freq_factor", 4.0, "llama3: wavelengths below original / high_freq_factor are kept")
      .greater_than(0.0);
  s.number("rope_beta_fast", 32.0, "yarn: rotations over the original context above which a pair is kept")
      .greater_than(0.0);
  s.number("rope_beta_slow", 1.0, "yarn: rotations below which a pair is fully interpolated").greater_than(0.0);
  s.boolean("rope_truncate", true, "yarn: round the correction range to whole pairs (transformers' default)");
  s.optional("rope_attention_factor", ConfigType::number,
             "yarn, longrope: factor on cos and sin (default from rope_factor)")
      .greater_than(0.0);
  s.optional("rope_mscale", ConfigType::number, "yarn (DeepSeek): attention factor numerator's mscale")
      .greater_than(0.0);
  s.optional("rope_mscale_all_dim", ConfigType::number, "yarn (DeepSeek): attention factor denominator's mscale")
      .greater_than(0.0);
  s.optional("rope_short_factor", ConfigType::number_list, "longrope: per-pair factors up to the original context");
  s.optional("rope_long_factor", ConfigType::number_list, "longrope: per-pair factors past the original context");
}

RopeScaling read_rope_scaling(const Config& config, std::int64_t rotary_dim) {
  RopeScaling s;
  s.type = config.string("rope_scaling");
  // Which keys each type reads; any other scaling key set is an error (it would do nothing).
  const auto uses = [&](const std::string& key) {
    if (key == "rope_factor") return s.type != "none";
    if (key == "rope_original_context") return s.type == "yarn" || s.type == "llama3" || s.type == "longrope";
    if (key == "rope_max_context") return s.type == "dynamic" || s.type == "yarn" || s.type == "longrope";
    if (key == "rope_low_freq_factor" || key == "rope_high_freq_factor") return s.type == "llama3";
    if (key == "rope_beta_fast" || key == "rope_beta_slow" || key == "rope_truncate" || key == "rope_mscale" ||
        key == "rope_mscale_all_dim")
      return s.type == "yarn";
    if (key == "rope_attention_factor") return s.type == "yarn" || s.type == "longrope";
    return s.type == "longrope";  // rope_short_factor, rope_long_factor
  };
  for (const char* key : {"rope_factor", "rope_original_context", "rope_max_context", "rope_low_freq_factor",
                          "rope_high_freq_factor", "rope_beta_fast", "rope_beta_slow", "rope_truncate",
                          "rope_attention_factor", "rope_mscale", "rope_mscale_all_dim", "rope_short_factor",
                          "rope_long_factor"})
    if (config.has(key) && !uses(key))
      throw config.error(key, "has no effect with rope_scaling = \"" + s.type + "\"",
                         "remove it, or choose the rope_scaling that uses it");
  if (s.type == "none") return s;
  const auto need = [&](const char* key, const std::string& why) {
    if (!config.has(key)) throw config.error("rope_scaling", "= \"" + s.type + "\" needs " + key, why);
  };
  if (config.has("rope_original_context")) s.original_context = config.integer("rope_original_context");
  if (config.has("rope_max_context")) s.max_context = config.integer("rope_max_context");
  if (config.has("rope_factor")) {
    s.factor = config.number("rope_factor");
  } else if ((s.type == "yarn" || s.type == "longrope") && s.max_context > 0 && s.original_context > 0) {
    s.factor = double(s.max_context) / double(s.original_context);  // as transformers without `factor`
  } else {
    need("rope_factor", "set rope_factor (e.g. 8 for Llama 3.1)");
  }
  if (s.type == "dynamic") need("rope_max_context", "set rope_max_context (max_position_embeddings)");
  if (s.type == "yarn" || s.type == "llama3" || s.type == "longrope")
    need("rope_original_context", "set rope_original_context (original_max_position_embeddings)");
  s.low_freq_factor = config.number("rope_low_freq_factor");
  s.high_freq_factor = config.number("rope_high_freq_factor");
  if (s.type == "llama3" && !(s.high_freq_factor > s.low_freq_factor))
    throw config.error("rope_high_freq_factor", "must exceed rope_low_freq_factor",
                       "Llama 3.1 uses low 1 and high 4");
  s.beta_fast = config.number("rope_beta_fast");
  s.beta_slow = config.number("rope_beta_slow");
  s.truncate = config.boolean("rope_truncate");
  if (config.has("rope_attention_factor")) s.attention_factor = config.number("rope_attention_factor");
  if (config.has("rope_mscale")) s.mscale = config.number("rope_mscale");
  if (config.has("rope_mscale_all_dim")) s.mscale_all_dim = config.number("rope_mscale_all_dim");
  if (s.type == "longrope") {
    need("rope_short_factor", "give one factor per rotated channel pair");
    need("rope_long_factor", "give one factor per rotated channel pair");
    s.short_factor = config.numbers("rope_short_factor");
    s.long_factor = config.numbers("rope_long_factor");
    for (const char* key : {"rope_short_factor", "rope_long_factor"}) {
      const std::vector<double>& list = std::string(key) == "rope_short_factor" ? s.short_factor : s.long_factor;
      if (std::int64_t(list.size()) != rotary_dim / 2)
        throw config.error(key, "has " + std::to_string(list.size()) + " factors; the " + std::to_string(rotary_dim) +
                                    " rotated channels make " + std::to_string(rotary_dim / 2) + " pairs",
                           "give one factor per pair");
      for (double f : list)
        if (!(f > 0) || !std::isfinite(f)) throw config.error(key, "holds " + std::to_string(f) + "; factors must be > 0");
    }
  }
  return s;
}

}  // namespace strata::attention_plugin
