#include "strata/sweep_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "strata/atomic_file.h"
#include "strata/report.h"
#include "strata/folder_lock.h"
#include "strata/run_folder.h"

namespace strata {

namespace fs = std::filesystem;

namespace {


std::vector<std::pair<std::string, double>> headline_telemetry(const fs::path& run) {
  const run_folder::MetricsLog log = run_folder::read_metrics(run);
  std::vector<std::pair<std::string, double>> out;
  if (log.records.empty()) return out;
  std::map<std::string, std::pair<double, int>> sums;  // name -> (sum, layers)
  SeriesIndex index(log.series);
  for (const auto& [key, value] : log.records.back().values) {
    if (!std::isfinite(value)) continue;
    const MetricSeries* s = index.find_record_key(key);
    if (!s || s->kind != MetricKind::scalar || !s->headline) continue;
    if (!sums.count(s->name)) out.emplace_back(s->name, 0.0);
    sums[s->name].first += value;
    ++sums[s->name].second;
  }
  for (auto& [name, value] : out) value = sums[name].first / sums[name].second;
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

// The variant's settings as a cell: its values without TOML quotes.
std::string plain(const std::string& value) {
  return value.size() >= 2 && value.front() == '"' && value.back() == '"' ? value.substr(1, value.size() - 2) : value;
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
    for (const auto& [key, setting] : r.variant->settings) text(plain(setting));
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
    for (const Number& c : line) {
      std::string escaped;
      for (char ch : c.rounded) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
      md << " " << escaped << " |";
    }
    md << "\n";
  }
  write_text_atomically(folder / run_folder::kSweepSummaryCsv, csv.str());
  write_text_atomically(folder / run_folder::kSweepSummaryMd, md.str());
}

}  // namespace

SweepOutcome run_sweep_in_folder(const std::vector<SweepVariant>& variants, const std::vector<Experiment>& experiments,
                                 const std::vector<SweepAxis>& axes, const ComponentRegistry& registry,
                                 const fs::path& folder, const SweepHooks& hooks, const RunSettings& settings) {
  const FolderLock lock(folder);  // one sweep per folder
  SweepOutcome out;
  out.rows.resize(variants.size());
  bool perplexity = false;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    SweepRow& row = out.rows[i];
    row.variant = &variants[i];
    if (out.interrupted) {
      row.status = "not run";
      continue;
    }
    const fs::path variant_folder = folder / variants[i].name;
    create_run_folder(variant_folder, "--out");
    std::string sweep_name = experiments[i].run.string("name");
    if (sweep_name.empty()) sweep_name = experiments[i].file.stem().string();
    run_folder::write_variant_info(variant_folder, {sweep_name, variants[i].name, variants[i].settings});
    if (hooks.on_variant_start) hooks.on_variant_start(i, variants[i]);
    try {
      row.outcome = run_in_folder(experiments[i], registry, variant_folder, settings, hooks.run);
      row.headline = headline_telemetry(variant_folder);
      perplexity = perplexity || row.outcome.perplexity;
      if (row.outcome.summary.interrupted) {
        row.status = "interrupted";
        out.interrupted = true;
      }
    } catch (const TrainingDivergedError& e) {
      row.status = "diverged";
      row.error = e.message();
      out.failed = true;
    }
    if (hooks.on_variant_end) hooks.on_variant_end(i, row);
  }
  write_summaries(folder, axes, out.rows, perplexity);
  std::vector<SweepReportVariant> report_variants;
  for (const SweepRow& r : out.rows)
    if (r.status != "not run") report_variants.push_back({r.variant->name, folder / r.variant->name, r.variant->settings});
  write_sweep_report(folder, report_variants);
  return out;
}

}  // namespace strata
