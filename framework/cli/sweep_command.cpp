// strata run with a sweep: every variant of the grid in SWEEP/<variant>/, then
// SWEEP/summary.csv and SWEEP/summary.md with one row per variant.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <algorithm>
#include <map>
#include <regex>
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
  std::map<std::string, double> moe;  // MoE telemetry of the last logged step, mean over layers
};

// The load-balance telemetry the MoE layers logged last (metric.layers.L.ffn.NAME), as the
// mean over layers: what a balancing ablation compares.
const std::vector<std::string> kMoeColumns = {"load_cv", "max_violation", "dead_experts", "dropped_fraction",
                                              "router_entropy"};

std::map<std::string, double> moe_telemetry(const fs::path& run) {
  const std::vector<MetricsRecord> records = run_folder::read_metrics(run).records;
  std::map<std::string, double> sums;
  std::map<std::string, int> counts;
  if (records.empty()) return sums;
  const std::regex pattern(R"(metric\.layers\.\d+\.ffn\.([a-z_]+))");
  for (const auto& [key, value] : records.back().values) {
    std::smatch m;
    if (!std::regex_match(key, m, pattern) || !std::isfinite(value)) continue;
    const std::string name = m[1];
    if (std::find(kMoeColumns.begin(), kMoeColumns.end(), name) == kMoeColumns.end()) continue;
    sums[name] += value;
    ++counts[name];
  }
  for (auto& [name, sum] : sums) sum /= counts[name];
  return sums;
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
  std::vector<std::string> moe_columns;
  for (const std::string& c : kMoeColumns)
    if (std::any_of(rows.begin(), rows.end(), [&](const Row& r) { return r.moe.count(c) != 0; })) {
      moe_columns.push_back(c);
      header.push_back(c);
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
    for (const std::string& c : moe_columns) line.push_back(r.moe.count(c) ? fixed(r.moe.at(c)) : "");
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
      rows[i].moe = moe_telemetry(variant_folder);
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
