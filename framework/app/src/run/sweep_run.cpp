#include "strata/sweep_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <optional>

#include <nlohmann/json.hpp>

#include "report/comparison.h"
#include "report/comparison_page.h"
#include "report/run_data.h"
#include "run/outcome_json.h"
#include "strata/atomic_file.h"
#include "strata/report.h"
#include "strata/folder_lock.h"
#include "strata/run_folder.h"

namespace strata {

namespace fs = std::filesystem;

namespace {

// The components' headline scalar series at the run's last logged step, each the mean over
// the layers that log it (report::final_metrics, as the sweep report shows them), by name.
std::vector<std::pair<std::string, double>> headline_telemetry(const fs::path& run) {
  const report::RunData data = report::read_run_folder(run);
  std::set<std::string> headline;
  for (const MetricSeries& s : data.series)
    if (s.kind == MetricKind::scalar && s.headline) headline.insert(s.name);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, value] : report::final_metrics(data))
    if (headline.count(name)) out.emplace_back(name, value);
  return out;
}

// A number as summary.csv holds it (every digit: it reads back as the same double) and as
// summary.md shows it (`digits` after the point).
struct Number {
  std::string full, rounded;
};

Number number(double v, int digits = 4) {
  char full[64], rounded[64];
  std::snprintf(full, sizeof full, "%.17g", v);
  std::snprintf(rounded, sizeof rounded, "%.*f", digits, v);
  // The shortest text that reads back exactly (0.1, not 0.10000000000000001).
  for (int precision = 1; precision < 17; ++precision) {
    char shorter[64];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) {
      std::snprintf(full, sizeof full, "%s", shorter);
      break;
    }
  }
  return {full, rounded};
}

// A markdown table cell: a '|' would end it.
std::string markdown_cell(const std::string& text) {
  std::string escaped;
  for (char ch : text) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
  return escaped;
}

void write_summaries(const fs::path& folder, const std::vector<SweepAxis>& axes, const std::vector<SweepRow>& rows,
                     bool perplexity) {
  std::vector<std::string> header{"name"};
  for (const SweepAxis& a : axes) header.push_back(a.key);
  for (const char* c : {"status", "steps", "train_loss", "eval_loss", "eval_accuracy"}) header.push_back(c);
  if (perplexity) header.push_back("eval_perplexity");
  for (const char* c : {"chance_accuracy", "tokens_per_s", "seconds", "parameters", "peak_mib", "decode_tokens_per_s",
                        "decode_cache_kib"})
    header.push_back(c);
  std::vector<std::string> telemetry_columns;  // by first appearance over the variants
  for (const SweepRow& r : rows)
    for (const auto& [name, value] : r.headline)
      if (std::find(telemetry_columns.begin(), telemetry_columns.end(), name) == telemetry_columns.end()) {
        telemetry_columns.push_back(name);
        header.push_back(name);
      }

  std::vector<std::vector<Number>> cells;  // one per column: the full and the rounded text
  for (const SweepRow& r : rows) {
    std::vector<Number> line{{r.variant->name, r.variant->name}};
    const auto text = [&](const std::string& t) { line.push_back({t, t}); };
    const bool ran = r.status == "ok" || r.status == "interrupted";
    const auto value = [&](double v, int digits = 4) { line.push_back(ran ? number(v, digits) : Number{}); };
    for (const auto& [key, setting] : r.variant->settings) text(setting_value(setting));
    const TrainSummary& s = r.outcome.summary;
    text(r.status);
    text(ran ? std::to_string(s.steps) : "");
    value(s.final_train_loss);
    value(s.final_eval.loss);
    value(s.final_eval.accuracy);
    if (perplexity) value(s.final_eval.perplexity, 3);
    value(r.outcome.chance_accuracy);
    value(s.tokens_per_s, 0);
    value(s.seconds, 1);
    text(ran ? std::to_string(r.outcome.parameters) : "");
    value(double(r.outcome.peak_memory_bytes) / double(1 << 20), 1);
    value(r.outcome.decode_tokens_per_s, 0);
    value(double(r.outcome.decode_cache_bytes) / 1024.0, 1);
    for (const std::string& c : telemetry_columns) {
      const auto it = std::find_if(r.headline.begin(), r.headline.end(), [&](const auto& kv) { return kv.first == c; });
      if (it == r.headline.end())
        text("");
      else
        line.push_back(number(it->second));
    }
    cells.push_back(std::move(line));
  }
  std::ostringstream csv, md;
  for (std::size_t i = 0; i < header.size(); ++i) csv << (i ? "," : "") << run_folder::csv_field(header[i]);
  csv << "\n";
  md << "|";
  for (const std::string& h : header) md << " " << h << " |";
  md << "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) md << "---|";
  md << "\n";
  for (const auto& line : cells) {
    for (std::size_t i = 0; i < line.size(); ++i) csv << (i ? "," : "") << run_folder::csv_field(line[i].full);
    csv << "\n";
    md << "|";
    for (const Number& c : line) md << " " << markdown_cell(c.rounded) << " |";
    md << "\n";
  }
  write_text_atomically(folder / run_folder::kSweepSummaryCsv, csv.str());
  write_text_atomically(folder / run_folder::kSweepSummaryMd, md.str());
}

// With seeds: summary_variants.csv, one row per variant (its settings but the seed) with
// every final metric's mean, standard deviation, 95% interval and Welch's p-value against
// the first variant, plain and Holm-adjusted; and the same, rounded, as a second table in summary.md.
void write_seed_summaries(const fs::path& folder, const std::vector<SweepRow>& rows) {
  std::vector<report::RunData> runs;
  for (const SweepRow& r : rows)
    if (r.status != "not run") runs.push_back(report::read_run_folder(folder / r.variant->name));
  const report::Comparison c = report::compare_runs(std::move(runs));
  std::vector<std::string> setting_keys;
  for (const auto& [key, value] : rows.front().variant->settings)
    if (key != "train.seed") setting_keys.push_back(key);

  std::ostringstream csv;
  csv << "name";
  for (const std::string& k : setting_keys) csv << "," << run_folder::csv_field(k);
  csv << ",seeds";
  for (const report::MetricColumn& m : c.metrics)
    for (const char* part : {"_mean", "_std", "_ci_low", "_ci_high", "_p", "_p_holm"}) csv << "," << run_folder::csv_field(m.key + part);
  csv << "\n";
  for (std::size_t v = 0; v < c.variants.size(); ++v) {
    const report::ComparedVariant& variant = c.variants[v];
    const report::RunData& first = c.runs[variant.runs.front()];
    csv << run_folder::csv_field(variant.label);
    for (const std::string& k : setting_keys) {
      std::string value;
      if (first.variant)
        for (const auto& [key, text] : first.variant->settings)
          if (key == k) value = setting_value(text);
      csv << "," << run_folder::csv_field(value);
    }
    csv << "," << variant.runs.size();
    for (const report::MetricColumn& m : c.metrics) {
      const report::Stats& st = variant.stats.at(m.key);
      const auto put = [&](double x) { csv << "," << (st.n && std::isfinite(x) ? number(x).full : std::string()); };
      put(st.mean);
      put(st.n >= 2 ? st.std : NAN);
      put(st.n >= 2 ? st.low : NAN);
      put(st.n >= 2 ? st.high : NAN);
      put(c.p_value.at(m.key)[v]);
      put(c.p_holm.at(m.key)[v]);
    }
    csv << "\n";
  }
  write_text_atomically(folder / run_folder::kSweepVariantsCsv, csv.str());

  const std::vector<std::string> columns = report::ranked_columns(c);
  std::ostringstream md;
  md << "\n## Over seeds\n\nEach variant's mean over its seeds \u00b1 the half-width of the 95% interval, ranked by "
     << (c.metric(c.primary) ? c.metric(c.primary)->label : c.primary)
     << "; * marks a difference from " << c.variants[c.reference].label
     << " beyond seed noise. Every metric is in summary_variants.csv.\n\n| variant | seeds |";
  for (const std::string& k : columns) md << " " << (c.metric(k) ? c.metric(k)->label : k) << " |";
  md << "\n|---|---|";
  for (std::size_t i = 0; i < columns.size(); ++i) md << "---|";
  md << "\n";
  for (std::size_t v : c.ranking) {
    md << "| " << markdown_cell(c.variants[v].label) << " | " << c.variants[v].runs.size() << " |";
    for (const std::string& k : columns)
      md << " " << report::mean_and_interval(c.variants[v].stats.at(k)) << (c.differs(k, v) ? " *" : "") << " |";
    md << "\n";
  }
  md << "\n";
  for (const std::string& statement : report::noise_statements(c)) md << "- " << statement << "\n";
  std::ifstream in(folder / run_folder::kSweepSummaryMd);
  std::ostringstream existing;
  existing << in.rdbuf();
  write_text_atomically(folder / run_folder::kSweepSummaryMd, existing.str() + md.str());
}

// ---- sweeps across ranks --------------------------------------------------------------

// A finished row, as the rank that ran it sends it to the rank that writes the summaries.
nlohmann::json row_to_json(std::size_t index, const SweepRow& row) {
  nlohmann::json headline = nlohmann::json::array();
  for (const auto& [name, value] : row.headline) headline.push_back({name, value});
  return {{"index", index}, {"status", row.status}, {"error", row.error}, {"headline", headline},
          {"outcome", outcome_json(row.outcome)}};
}

void row_from_json(const nlohmann::json& j, SweepRow& row) {
  row.status = j.at("status");
  row.error = j.at("error");
  row.headline.clear();
  for (const auto& h : j.at("headline")) row.headline.emplace_back(h.at(0).get<std::string>(), h.at(1).get<double>());
  row.outcome = outcome_from_json(j.at("outcome"));
}

// How a job's ranks share a sweep: groups of `ranks_per_variant` ranks, variant i on group
// i mod groups. One group of the whole job's single rank without a launcher.
struct SweepPlacement {
  int groups = 1;
  int group = 0;                         // this rank's
  std::unique_ptr<Communicator> ranks;   // this rank's group (null: one process)
  bool leads_group() const { return ranks == nullptr || ranks->rank() == 0; }
  bool runs(std::size_t variant) const { return int(variant % std::size_t(groups)) == group; }
};

SweepPlacement place_sweep(const std::vector<Experiment>& experiments, Communicator* job) {
  SweepPlacement p;
  if (job == nullptr || job->size() == 1) return p;
  const std::int64_t asked = experiments.front().train.integer("ranks_per_run");
  for (const Experiment& e : experiments)
    if (e.train.integer("ranks_per_run") != asked)
      throw e.train.error("ranks_per_run", "differs between the sweep's variants (" + std::to_string(asked) + " and " +
                                               std::to_string(e.train.integer("ranks_per_run")) + ")",
                          "give every variant the same ranks_per_run: the job's ranks are grouped once");
  const int per_variant = asked > 0 ? int(asked) : 1;
  if (job->size() % per_variant != 0)
    throw experiments.front().train.error(
        "ranks_per_run", std::to_string(per_variant) + " ranks per variant do not divide the job's " +
                             std::to_string(job->size()) + " ranks",
        "start the sweep with a multiple of " + std::to_string(per_variant) + " ranks (mpirun -np)");
  p.groups = job->size() / per_variant;
  p.group = job->rank() / per_variant;
  p.ranks = job->split(p.group);
  return p;
}

}  // namespace

SweepOutcome run_sweep_in_folder(const std::vector<SweepVariant>& variants, const std::vector<Experiment>& experiments,
                                 const std::vector<SweepAxis>& axes, const ComponentRegistry& registry,
                                 const fs::path& folder, const SweepHooks& hooks, const RunSettings& settings) {
  Communicator* job = settings.group;
  const bool writes_summaries = job == nullptr || job->rank() == 0;
  std::optional<FolderLock> lock;  // one sweep per folder
  if (writes_summaries) lock.emplace(folder);
  const SweepPlacement placement = place_sweep(experiments, job);
  RunSettings variant_settings = settings;
  variant_settings.group = placement.ranks.get();
  SweepOutcome out;
  out.rows.resize(variants.size());
  for (std::size_t i = 0; i < variants.size(); ++i) {
    SweepRow& row = out.rows[i];
    row.variant = &variants[i];
    if (!placement.runs(i)) continue;  // another group's: its row arrives below
    if (out.interrupted) {
      row.status = "not run";
      continue;
    }
    const fs::path variant_folder = folder / variants[i].name;
    if (placement.leads_group()) {
      create_run_folder(variant_folder, "--out");
      std::string sweep_name = experiments[i].run.string("name");
      if (sweep_name.empty()) sweep_name = experiments[i].file.stem().string();
      run_folder::write_variant_info(variant_folder, {sweep_name, variants[i].name, variants[i].settings});
    }
    if (hooks.on_variant_start) hooks.on_variant_start(i, variants[i]);
    try {
      row.outcome = run_in_folder(experiments[i], registry, variant_folder, variant_settings, hooks.run);
      if (placement.leads_group()) row.headline = headline_telemetry(variant_folder);
      if (row.outcome.summary.interrupted) {
        row.status = "interrupted";
        out.interrupted = true;
      }
    } catch (const TrainingDivergedError& e) {
      row.status = "diverged";
      row.error = e.message();
    }
    if (hooks.on_variant_end) hooks.on_variant_end(i, row);
  }
  if (placement.groups > 1) {
    // Every group leader's rows to every rank, so that all agree on the outcome.
    nlohmann::json mine = nlohmann::json::array();
    if (placement.leads_group())
      for (std::size_t i = 0; i < variants.size(); ++i)
        if (placement.runs(i)) mine.push_back(row_to_json(i, out.rows[i]));
    for (const std::string& text : job->all_gather(mine.dump()))
      for (const nlohmann::json& j : nlohmann::json::parse(text)) row_from_json(j, out.rows[j.at("index").get<std::size_t>()]);
  }
  bool perplexity = false;
  for (const SweepRow& r : out.rows) {
    out.failed = out.failed || r.status == "diverged";
    out.interrupted = out.interrupted || r.status == "interrupted";
    perplexity = perplexity || (r.status != "not run" && r.outcome.perplexity);
  }
  if (!writes_summaries) return out;
  write_summaries(folder, axes, out.rows, perplexity);
  const bool seeded = std::any_of(axes.begin(), axes.end(),
                                  [](const SweepAxis& a) { return a.key == "train.seed" && a.values.size() >= 2; });
  if (seeded) write_seed_summaries(folder, out.rows);
  std::vector<SweepReportVariant> report_variants;
  for (const SweepRow& r : out.rows)
    if (r.status != "not run") report_variants.push_back({r.variant->name, folder / r.variant->name, r.variant->settings});
  write_sweep_report(folder, report_variants);
  return out;
}

}  // namespace strata
