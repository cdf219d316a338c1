#include "report/comparison.h"

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <sstream>

#include "strata/sweep.h"

namespace strata::report {

namespace fs = std::filesystem;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kAuxPrefix = "aux:";

// The trainer's final metrics, in the order tables show them.
const std::vector<MetricColumn>& trainer_metrics() {
  static const std::vector<MetricColumn> kMetrics = {
      {"eval_loss", "eval loss", "cross-entropy on the task's fixed evaluation set, nats per scored token", false},
      {"eval_accuracy", "eval accuracy", "share of the evaluation set's scored tokens predicted right", false},
      {"eval_perplexity", "eval perplexity", "exp(eval loss)", false},
      {"train_loss", "train loss", "the mean train loss over the last logging window", false},
      {"tokens_per_s", "tokens/s", "training throughput over the whole run", false},
      {"seconds", "seconds", "wall time of the training loop", false},
      {"parameters", "parameters", "trainable parameters", false},
      {"peak_mib", "peak MiB", "peak memory of the run", false},
      {"decode_tokens_per_s", "decode tokens/s", "token-by-token decoding throughput of the final model", false},
      {"state_bytes", "state bytes", "decoding state of one sequence after the task's sequence length: KV cache, "
                                     "conv and SSM states", false},
  };
  return kMetrics;
}

double number_at(const nlohmann::json& object, const char* field) {
  if (!object.is_object() || !object.contains(field) || !object[field].is_number()) return kNaN;
  return object[field].get<double>();
}

// The headline scalar series of a run's keys: key -> declared name.
std::map<std::string, std::string> headline_keys(const RunData& run) {
  std::map<std::string, std::string> out;
  for (const auto& [key, resolved] : resolve_series_keys(run, all_keys(run.steps)))
    if (resolved.series->kind == MetricKind::scalar && resolved.series->headline) out[key] = resolved.series->name;
  return out;
}

// At one logged step: each headline series' mean over the layers, each aux term's sum.
void component_values(const LoggedStep& step, const std::map<std::string, std::string>& headline,
                      std::map<std::string, double>& out) {
  std::map<std::string, std::pair<double, int>> sums;
  for (const auto& [key, value] : step.values) {
    if (!std::isfinite(value)) continue;
    if (const auto it = headline.find(key); it != headline.end()) {
      auto& [sum, count] = sums[it->second];
      sum += value;
      ++count;
    } else if (const auto aux = parse_aux_key(key)) {
      out[kAuxPrefix + aux->term] += value;
    }
  }
  for (const auto& [name, sum] : sums) out[name] = sum.first / sum.second;
}

// A run's resolved config for grouping: the table with its defaults uncommented, the dotted
// paths of its values, and those of them that were defaults (commented in config.toml).
struct GroupingConfig {
  toml::table table;
  std::set<std::string> paths, defaults;
  bool parsed = false;
};

void leaf_paths(const toml::table& table, const std::string& prefix, std::set<std::string>& out) {
  for (const auto& [key, node] : table) {
    const std::string path = prefix + std::string(key.str());
    if (const toml::table* inner = node.as_table())
      leaf_paths(*inner, path + ".", out);
    else
      out.insert(path);
  }
}

GroupingConfig grouping_config(const RunData& run) {
  GroupingConfig g;
  if (run.config_text.empty()) return g;
  try {
    // Defaults are comments in config.toml: uncommented, a run that kept the default seed
    // (or wrote a default explicitly) compares equal to one that set it.
    g.table = toml::parse(with_defaults_uncommented(run.config_text));
    const toml::table explicit_only = toml::parse(run.config_text);
    leaf_paths(g.table, "", g.paths);
    std::set<std::string> given;
    leaf_paths(explicit_only, "", given);
    for (const std::string& p : g.paths)
      if (!given.count(p)) g.defaults.insert(p);
    g.parsed = true;
  } catch (const toml::parse_error&) {
  }
  return g;
}

void erase_path(toml::table& table, const std::string& path) {
  const std::size_t dot = path.find('.');
  if (dot == std::string::npos) {
    table.erase(path);
    return;
  }
  if (toml::table* inner = table[path.substr(0, dot)].as_table()) erase_path(*inner, path.substr(dot + 1));
}

// The configs of `runs` without train.seed, as text: equal for the seeds of one variant ("" for
// a run whose config does not parse), and each run's seed (-1 when unknown). A key that some
// runs lack and the others hold at its default (a key added to strata after the older runs
// were made) does not separate them.
std::vector<std::string> configs_without_seed(const std::vector<const RunData*>& runs, std::vector<std::int64_t>& seeds) {
  std::vector<GroupingConfig> configs;
  for (const RunData* run : runs) configs.push_back(grouping_config(*run));
  std::set<std::string> all;
  for (const GroupingConfig& g : configs)
    if (g.parsed) all.insert(g.paths.begin(), g.paths.end());
  std::set<std::string> drop;
  for (const std::string& p : all) {
    bool missing_somewhere = false, default_wherever_present = true;
    for (const GroupingConfig& g : configs) {
      if (!g.parsed) continue;
      if (!g.paths.count(p)) missing_somewhere = true;
      else if (!g.defaults.count(p)) default_wherever_present = false;
    }
    if (missing_somewhere && default_wherever_present) drop.insert(p);
  }
  std::vector<std::string> out;
  seeds.assign(runs.size(), -1);
  for (std::size_t i = 0; i < configs.size(); ++i) {
    GroupingConfig& g = configs[i];
    if (!g.parsed) {
      out.emplace_back();
      continue;
    }
    if (toml::table* train = g.table["train"].as_table()) {
      if (const auto s = (*train)["seed"].value<std::int64_t>()) seeds[i] = *s;
      train->erase("seed");
    }
    for (const std::string& p : drop) erase_path(g.table, p);
    std::ostringstream os;
    os << toml::toml_formatter(g.table);
    out.push_back(os.str());
  }
  return out;
}

// "router_hash_seed-2" -> "router_hash": a folder named by its seed stands for its variant.
std::string without_seed_suffix(const std::string& name) {
  const std::size_t at = name.rfind("seed-");
  if (at == std::string::npos) return name;
  const std::string digits = name.substr(at + 5);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return name;
  std::string head = name.substr(0, at);
  while (!head.empty() && (head.back() == '_' || head.back() == '-')) head.pop_back();
  return head.empty() ? name : head;
}

// Labels from the variants' sweep settings without train.seed ("d_model=64", a named
// variant by its name), else their folder names; made unique by the parent folder, then
// by a number.
void label_variants(Comparison& c) {
  std::vector<std::vector<std::pair<std::string, std::string>>> settings(c.variants.size());
  std::vector<bool> from_settings(c.variants.size(), true);
  std::map<std::string, std::set<std::string>> keys_by_last;
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    for (std::size_t r : c.variants[v].runs) from_settings[v] = from_settings[v] && c.runs[r].variant.has_value();
    if (!from_settings[v]) continue;
    for (const auto& [key, value] : c.runs[c.variants[v].runs.front()].variant->settings)
      if (key != "train.seed") {
        settings[v].emplace_back(key, value);
        keys_by_last[last_key_part(key)].insert(key);
      }
    from_settings[v] = !settings[v].empty();
  }
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    std::string label;
    for (const auto& [key, value] : settings[v]) {
      std::string part = setting_value(value);
      if (key != "variant") part = (keys_by_last[last_key_part(key)].size() > 1 ? key : last_key_part(key)) + "=" + part;
      label += (label.empty() ? "" : ", ") + part;
    }
    const RunData& first = c.runs[c.variants[v].runs.front()];
    // A sweep over seeds alone: its variant is the experiment itself.
    if (label.empty() && first.variant && !first.variant->sweep.empty()) label = first.variant->sweep;
    if (label.empty()) label = without_seed_suffix(folder_name(first.folder));
    c.variants[v].label = label;
  }
  for (int pass = 0; pass < 2; ++pass) {
    std::map<std::string, int> uses, numbered;
    for (const ComparedVariant& v : c.variants) ++uses[v.label];
    for (ComparedVariant& v : c.variants) {
      if (uses[v.label] < 2) continue;
      if (pass == 0) {
        const fs::path parent = absolute_path(c.runs[v.runs.front()].folder).parent_path();
        v.label += " (" + parent.filename().string() + ")";
      } else {
        v.label += " #" + std::to_string(++numbered[v.label]);
      }
    }
  }
}

}  // namespace

std::map<std::string, double> final_metrics(const RunData& run) {
  std::map<std::string, double> out;
  const auto put = [&](const std::string& key, double value) {
    if (std::isfinite(value)) out[key] = value;
  };
  if (run.final_json) {
    const nlohmann::json& f = *run.final_json;
    if (f.contains("eval")) {
      put("eval_loss", number_at(f["eval"], "loss"));
      put("eval_accuracy", number_at(f["eval"], "accuracy"));
      put("eval_perplexity", number_at(f["eval"], "perplexity"));
    }
    put("train_loss", number_at(f, "train_loss"));
    put("tokens_per_s", number_at(f, "tokens_per_s"));
    put("seconds", number_at(f, "seconds"));
    put("parameters", number_at(f, "parameters"));
    put("peak_mib", number_at(f, "peak_memory_bytes") / double(1 << 20));
    if (f.contains("decode")) {
      put("decode_tokens_per_s", number_at(f["decode"], "tokens_per_s"));
      if (number_at(f["decode"], "state_bytes") > 0) put("state_bytes", number_at(f["decode"], "state_bytes"));
    }
  }
  // A metric final.json lacks (a run written before final.json held it): its last logged value.
  for (const auto& [key, logged] : std::map<std::string, std::string>{
           {"train_loss", "loss"}, {"eval_loss", "eval_loss"}, {"eval_accuracy", "eval_accuracy"}})
    if (!out.count(key))
      for (auto it = run.steps.rbegin(); it != run.steps.rend(); ++it)
        if (const auto v = it->values.find(logged); v != it->values.end() && std::isfinite(v->second)) {
          out[key] = v->second;
          break;
        }
  const std::map<std::string, std::string> headline = headline_keys(run);
  for (auto it = run.steps.rbegin(); it != run.steps.rend(); ++it) {  // the last step that logs them
    std::map<std::string, double> values;
    component_values(*it, headline, values);
    if (values.empty()) continue;
    out.insert(values.begin(), values.end());
    break;
  }
  return out;
}

std::vector<Point> metric_curve(const RunData& run, const std::string& key) {
  if (key == "train_loss") return series_of(run.steps, "loss");
  if (key.rfind("eval_", 0) == 0) return eval_curve(run, key);
  const std::map<std::string, std::string> headline = headline_keys(run);
  const bool component = key.rfind(kAuxPrefix, 0) == 0 ||
                         std::any_of(headline.begin(), headline.end(), [&](const auto& kv) { return kv.second == key; });
  if (!component) return series_of(run.steps, key);
  std::vector<Point> points;
  for (const LoggedStep& step : run.steps) {
    std::map<std::string, double> values;
    component_values(step, headline, values);
    if (const auto it = values.find(key); it != values.end()) points.push_back({double(step.step), it->second});
  }
  return points;
}

const MetricColumn* Comparison::metric(const std::string& key) const {
  for (const MetricColumn& m : metrics)
    if (m.key == key) return &m;
  return nullptr;
}

bool Comparison::differs(const std::string& key, std::size_t variant, bool corrected) const {
  const auto& table = corrected ? p_holm : p_value;
  const auto it = table.find(key);
  return it != table.end() && variant < it->second.size() && it->second[variant] < kSignificance;
}

Comparison compare_runs(std::vector<RunData> runs) {
  Comparison c;
  c.runs = std::move(runs);

  // Only finished runs are compared: a diverged, interrupted or unfinished run stopped at
  // another step than its seeds, and its last values would pass for final ones.
  std::vector<std::size_t> complete;
  for (std::size_t r = 0; r < c.runs.size(); ++r) {
    const RunData& run = c.runs[r];
    const std::string name = run.folder.string();
    if (!run.final_json)
      c.notes.push_back("run " + name + " has no final.json (it diverged, was stopped, or is still running): left out");
    else if (run.final_json->value("interrupted", false))
      c.notes.push_back("run " + name + " was interrupted (resume it to finish): left out");
    else
      complete.push_back(r);
  }

  // Group: the runs of one config up to the seed are one variant, wherever they come from,
  // unless a seed repeats (the same run made twice: another day, another machine); then
  // each parent folder's runs are a variant of their own.
  std::vector<std::string> config_keys;
  std::vector<std::int64_t> seeds(c.runs.size(), -1);
  std::vector<std::string> config_of(c.runs.size());
  std::map<std::string, std::vector<std::size_t>> by_config;
  std::vector<const RunData*> complete_runs;
  for (std::size_t r : complete) complete_runs.push_back(&c.runs[r]);
  std::vector<std::int64_t> complete_seeds;
  const std::vector<std::string> keys = configs_without_seed(complete_runs, complete_seeds);
  for (std::size_t i = 0; i < complete.size(); ++i) {
    const std::size_t r = complete[i];
    seeds[r] = complete_seeds[i];
    std::string key = keys[i];
    if (key.empty() || seeds[r] < 0) key = "\x01" + absolute_path(c.runs[r].folder).string();  // cannot tell: its own
    if (!by_config.count(key)) config_keys.push_back(key);
    by_config[key].push_back(r);
    config_of[r] = key;
  }
  std::vector<std::vector<std::size_t>> groups;
  for (const std::string& key : config_keys) {
    const std::vector<std::size_t>& members = by_config[key];
    std::set<std::int64_t> distinct;
    for (std::size_t r : members) distinct.insert(seeds[r]);
    if (distinct.size() == members.size()) {
      groups.push_back(members);
      continue;
    }
    std::vector<std::string> sources;  // parent folders, in order of appearance
    std::map<std::string, std::vector<std::vector<std::size_t>>> by_source;
    for (std::size_t r : members) {
      const std::string source = absolute_path(c.runs[r].folder).parent_path().string();
      if (!by_source.count(source)) sources.push_back(source);
      auto& split = by_source[source];
      // Within one folder a seed may still repeat (a run given twice): first fit.
      auto fits = std::find_if(split.begin(), split.end(), [&](const std::vector<std::size_t>& g) {
        return std::none_of(g.begin(), g.end(), [&](std::size_t o) { return seeds[o] == seeds[r]; });
      });
      if (fits == split.end()) split.emplace_back(std::vector<std::size_t>{r});
      else fits->push_back(r);
    }
    for (const std::string& source : sources)
      for (auto& g : by_source[source]) groups.push_back(std::move(g));
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.front() < b.front(); });
  std::map<std::string, int> variants_per_config;
  for (const std::vector<std::size_t>& g : groups) ++variants_per_config[config_of[g.front()]];
  std::vector<std::map<std::string, double>> finals(c.runs.size());
  for (const std::vector<std::size_t>& g : groups) {
    ComparedVariant& v = c.variants.emplace_back();
    for (std::size_t r : g) {
      v.runs.push_back(r);
      v.seeds.push_back(seeds[r]);
      finals[r] = final_metrics(c.runs[r]);
    }
  }
  label_variants(c);
  // One config split by source (a seed made twice): name each part by its folder.
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    const std::string parent = absolute_path(c.runs[c.variants[v].runs.front()].folder).parent_path().filename().string();
    if (variants_per_config[config_of[c.variants[v].runs.front()]] > 1 && c.variants[v].label.find(" (" + parent + ")") == std::string::npos)
      c.variants[v].label += " (" + parent + ")";
  }

  // The metrics: the trainer's that some run has, then the declared ones by first appearance.
  std::set<std::string> present;
  for (const auto& f : finals)
    for (const auto& kv : f) present.insert(kv.first);
  for (const MetricColumn& m : trainer_metrics())
    if (present.count(m.key)) c.metrics.push_back(m);
  std::vector<std::string> declared_order;
  for (std::size_t r : complete) {
    for (const MetricSeries& s : c.runs[r].series)
      if (s.kind == MetricKind::scalar && s.headline && present.count(s.name) &&
          std::find(declared_order.begin(), declared_order.end(), s.name) == declared_order.end()) {
        declared_order.push_back(s.name);
        c.metrics.push_back({s.name, s.name, s.doc + (s.unit.empty() ? "" : " (" + s.unit + ")"), true});
      }
  }
  for (const std::string& key : present)
    if (key.rfind(kAuxPrefix, 0) == 0) {
      const std::string term = key.substr(std::char_traits<char>::length(kAuxPrefix));
      c.metrics.push_back({key, term + " loss",
                           "the auxiliary loss term " + term + " at the last logged step, summed over the layers", true});
    }

  for (ComparedVariant& v : c.variants)
    for (const MetricColumn& m : c.metrics) {
      std::vector<double> values;
      for (std::size_t r : v.runs) {
        const auto it = finals[r].find(m.key);
        values.push_back(it == finals[r].end() ? kNaN : it->second);
      }
      v.stats[m.key] = summarize(values);
    }

  // The reference: the first variant, or the first with two or more seeds when it has one
  // (a variant of one seed cannot be tested against).
  for (std::size_t v = 0; v < c.variants.size(); ++v)
    if (c.variants[v].runs.size() >= 2) {
      c.reference = v;
      break;
    }
  c.seeded = !c.variants.empty() && c.variants[c.reference].runs.size() >= 2 &&
             std::count_if(c.variants.begin(), c.variants.end(),
                           [](const ComparedVariant& v) { return v.runs.size() >= 2; }) >= 2;
  std::set<std::size_t> seed_counts;
  for (const ComparedVariant& v : c.variants) seed_counts.insert(v.runs.size());
  if (seed_counts.size() > 1)
    c.notes.push_back("the variants ran with different numbers of seeds; each interval uses its own");

  c.primary = "train_loss";
  if (c.metric("eval_loss") && std::all_of(c.variants.begin(), c.variants.end(), [](const ComparedVariant& v) {
        return v.stats.at("eval_loss").n > 0;
      }))
    c.primary = "eval_loss";
  for (std::size_t v = 0; v < c.variants.size(); ++v) c.ranking.push_back(v);
  const auto primary_mean = [&](std::size_t v) {
    const auto it = c.variants[v].stats.find(c.primary);
    return it == c.variants[v].stats.end() || it->second.n == 0 ? INFINITY : it->second.mean;
  };
  std::stable_sort(c.ranking.begin(), c.ranking.end(),
                   [&](std::size_t a, std::size_t b) { return primary_mean(a) < primary_mean(b); });

  // Each variant against the reference, and Holm-corrected over the variants per metric.
  for (const MetricColumn& m : c.metrics) {
    std::vector<double> raw;
    std::vector<std::size_t> tested;
    for (std::size_t v = 0; v < c.variants.size(); ++v) {
      if (v == c.reference) continue;
      // Only comparisons with two or more values on both sides form the family.
      const double p = welch_p_value(c.variants[v].stats.at(m.key), c.variants[c.reference].stats.at(m.key));
      if (std::isnan(p)) continue;
      raw.push_back(p);
      tested.push_back(v);
    }
    std::vector<double>& p = c.p_value[m.key];
    std::vector<double>& adjusted = c.p_holm[m.key];
    p.assign(c.variants.size(), NAN);
    adjusted.assign(c.variants.size(), NAN);
    const std::vector<double> holm = holm_adjusted(raw);
    for (std::size_t i = 0; i < tested.size(); ++i) {
      p[tested[i]] = raw[i];
      adjusted[tested[i]] = holm[i];
    }
  }

  // The declared metrics that separate the variants.
  struct Score {
    std::string key;
    int differing;
    double spread;
  };
  std::vector<Score> scores;
  for (const MetricColumn& m : c.metrics) {
    if (!m.declared) continue;
    double lo = INFINITY, hi = -INFINITY, size = 0;
    int with_values = 0, differing = 0;
    for (std::size_t v = 0; v < c.variants.size(); ++v) {
      const Stats& s = c.variants[v].stats.at(m.key);
      if (s.n == 0) continue;
      ++with_values;
      lo = std::min(lo, s.mean);
      hi = std::max(hi, s.mean);
      size = std::max(size, std::fabs(s.mean));
      differing += c.differs(m.key, v);
    }
    if (with_values < 2 || !(hi - lo > 1e-12 * std::max(size, 1e-300))) continue;
    scores.push_back({m.key, differing, (hi - lo) / size});
  }
  std::stable_sort(scores.begin(), scores.end(), [](const Score& a, const Score& b) {
    return a.differing != b.differing ? a.differing > b.differing : a.spread > b.spread;
  });
  for (const Score& s : scores) c.distinguishing.push_back(s.key);
  return c;
}

Series variant_curve(const Comparison& comparison, std::size_t variant, const std::string& key) {
  const ComparedVariant& v = comparison.variants.at(variant);
  std::map<double, std::vector<double>> by_step;
  for (std::size_t r : v.runs)
    for (const Point& p : metric_curve(comparison.runs[r], key)) by_step[p.x].push_back(p.y);
  Series series;
  series.label = v.label;
  const bool band = v.runs.size() >= 2;
  for (const auto& [step, values] : by_step) {
    const Stats s = summarize(values);
    series.points.push_back({step, s.n ? s.mean : kNaN});
    if (band) {
      series.lower.push_back(s.n >= 2 ? s.mean - s.std : kNaN);
      series.upper.push_back(s.n >= 2 ? s.mean + s.std : kNaN);
    }
  }
  return series;
}

}  // namespace strata::report
