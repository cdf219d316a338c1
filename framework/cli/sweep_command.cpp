// strata run with a sweep: every variant of the grid in SWEEP/<variant>/, then
// SWEEP/summary.csv and SWEEP/summary.md with one row per variant.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <sstream>

#include "strata/run_folder.h"
#include "cli/run_single.h"
#include "strata/atomic_file.h"
#include "strata/report.h"

namespace strata::cli {

namespace fs = std::filesystem;

namespace {

struct Row {
  const SweepVariant* variant = nullptr;
  std::string status = "ok";  // ok, diverged, interrupted, not run
  RunOutcome outcome;
  // The headline scalar series of the components (load CV, dead experts, ... as declared),
  // at the last logged step, each the mean over the layers that log it; in declaration order.
  std::vector<std::pair<std::string, double>> headline;
};

std::vector<std::pair<std::string, double>> headline_telemetry(const fs::path& run) {
  const run_folder::MetricsLog log = run_folder::read_metrics(run);
  std::vector<std::pair<std::string, double>> out;
  if (log.records.empty()) return out;
  std::map<std::string, std::pair<double, int>> sums;  // name -> (sum, layers)
  for (const auto& [key, value] : log.records.back().values) {
    if (key.rfind("metric.", 0) != 0 || !std::isfinite(value)) continue;
    const MetricSeries* s = find_series(log.series, std::string_view(key).substr(7));
    if (!s || s->kind != MetricKind::scalar || !s->headline) continue;
    if (!sums.count(s->name)) out.emplace_back(s->name, 0.0);
    sums[s->name].first += value;
    ++sums[s->name].second;
  }
  for (auto& [name, value] : out) value = sums[name].first / sums[name].second;
  return out;
}

std::string fixed(double v, int digits = 4) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, v);
  return buffer;
}

// The variant's settings as a cell: its values without TOML quotes.
std::string plain(const std::string& value) {
  return value.size() >= 2 && value.front() == '"' && value.back() == '"' ? value.substr(1, value.size() - 2) : value;
}

void write_summaries(const fs::path& folder, const std::vector<SweepAxis>& axes, const std::vector<Row>& rows,
                     bool perplexity) {
  std::vector<std::string> header{"name"};
  for (const SweepAxis& a : axes) header.push_back(a.key);
  for (const char* c : {"status", "steps", "train_loss", "eval_loss", "eval_accuracy"}) header.push_back(c);
  if (perplexity) header.push_back("eval_perplexity");
  for (const char* c : {"chance_accuracy", "tokens_per_s", "seconds", "parameters", "peak_mib", "decode_tokens_per_s",
                        "decode_cache_kib"})
    header.push_back(c);
  std::vector<std::string> telemetry_columns;  // by first appearance over the variants
  for (const Row& r : rows)
    for (const auto& [name, value] : r.headline)
      if (std::find(telemetry_columns.begin(), telemetry_columns.end(), name) == telemetry_columns.end()) {
        telemetry_columns.push_back(name);
        header.push_back(name);
      }

  std::vector<std::vector<std::string>> cells;
  for (const Row& r : rows) {
    std::vector<std::string> line{r.variant->name};
    for (const auto& [key, value] : r.variant->settings) line.push_back(plain(value));
    const TrainSummary& s = r.outcome.summary;
    const bool ran = r.status == "ok" || r.status == "interrupted";
    line.push_back(r.status);
    line.push_back(ran ? std::to_string(s.steps) : "");
    line.push_back(ran ? fixed(s.final_train_loss) : "");
    line.push_back(ran ? fixed(s.final_eval.loss) : "");
    line.push_back(ran ? fixed(s.final_eval.accuracy) : "");
    if (perplexity) line.push_back(ran ? fixed(s.final_eval.perplexity, 3) : "");
    line.push_back(ran ? fixed(r.outcome.chance_accuracy) : "");
    line.push_back(ran ? fixed(s.tokens_per_s, 0) : "");
    line.push_back(ran ? fixed(s.seconds, 1) : "");
    line.push_back(ran ? std::to_string(r.outcome.parameters) : "");
    line.push_back(ran ? fixed(double(r.outcome.peak_memory_bytes) / double(1 << 20), 1) : "");
    line.push_back(ran ? fixed(r.outcome.decode_tokens_per_s, 0) : "");
    line.push_back(ran ? fixed(double(r.outcome.decode_cache_bytes) / 1024.0, 1) : "");
    for (const std::string& c : telemetry_columns) {
      const auto it = std::find_if(r.headline.begin(), r.headline.end(), [&](const auto& kv) { return kv.first == c; });
      line.push_back(it == r.headline.end() ? "" : fixed(it->second));
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
    for (std::size_t i = 0; i < line.size(); ++i) csv << (i ? "," : "") << run_folder::csv_field(line[i]);
    csv << "\n";
    md << "|";
    for (const std::string& c : line) {
      std::string escaped;
      for (char ch : c) escaped += ch == '|' ? std::string("\\|") : std::string(1, ch);
      md << " " << escaped << " |";
    }
    md << "\n";
  }
  write_text_atomically(folder / run_folder::kSweepSummaryCsv, csv.str());
  write_text_atomically(folder / run_folder::kSweepSummaryMd, md.str());
}

}  // namespace

int run_sweep(const RunOptions& options, const std::vector<SweepAxis>& axes, ComponentRegistry& registry) {
  const std::vector<SweepVariant> variants = expand_sweep(axes);
  // Every variant is validated before any trains: a typo in the last one costs nothing.
  std::vector<Experiment> experiments;
  for (const SweepVariant& v : variants)
    experiments.push_back(load_sweep_variant(options.file, options.common.experiment_options(), v, axes, registry));
  const fs::path folder = options.out.empty() ? default_run_folder(experiments.front()) : fs::path(options.out);
  create_run_folder(folder, options.out.empty() ? "[run] out_dir" : "--out");
  std::cerr << "strata sweep " << options.file << ": " << variants.size() << " variants -> " << folder.string()
            << "\n";

  std::vector<Row> rows(variants.size());
  bool failed = false, interrupted = false, perplexity = false;
  for (std::size_t i = 0; i < variants.size(); ++i) {
    rows[i].variant = &variants[i];
    if (interrupted) {
      rows[i].status = "not run";
      continue;
    }
    const fs::path variant_folder = folder / variants[i].name;
    create_run_folder(variant_folder, "--out");
    std::cerr << "[" << i + 1 << "/" << variants.size() << "] " << variants[i].name << "\n";
    try {
      rows[i].outcome = run_in_folder(experiments[i], registry, variant_folder);
      rows[i].headline = headline_telemetry(variant_folder);
      perplexity = perplexity || rows[i].outcome.perplexity;
      if (rows[i].outcome.summary.interrupted) {
        rows[i].status = "interrupted";
        interrupted = true;
      }
      std::cerr << "  " << final_line(rows[i].outcome) << "\n";
    } catch (const TrainingDivergedError& e) {
      rows[i].status = "diverged";
      failed = true;
      std::cerr << "  training failed: " << e.message() << "\n";
    }
  }
  write_summaries(folder, axes, rows, perplexity);
  std::vector<SweepReportVariant> report_variants;
  for (const Row& r : rows)
    if (r.status != "not run") report_variants.push_back({r.variant->name, folder / r.variant->name, r.variant->settings});
  write_sweep_report(folder, report_variants);
  std::ifstream table(folder / run_folder::kSweepSummaryMd);
  std::cout << table.rdbuf() << "sweep folder: " << folder.string() << " (summary.csv, summary.md, report.html)\n";
  if (interrupted) {
    std::cout << "interrupted; the variant's checkpoint is in its folder (strata run --resume FOLDER)\n";
    return kInterrupted;
  }
  return failed ? kInternalError : kOk;
}

}  // namespace strata::cli
