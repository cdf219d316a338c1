#include "cli/run_files.h"

#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

#include "strata/atomic_file.h"

namespace strata::cli {

namespace fs = std::filesystem;
using nlohmann::json;

json to_json(const MetricsRecord& r) {
  json j;
  j["step"] = r.step;
  for (const auto& [name, value] : r.values) {
    if (std::isfinite(value))
      j[name] = value;
    else
      j[name] = nullptr;  // JSON has no NaN/inf
  }
  return j;
}

json to_json(const EvalResult& r, bool perplexity) {
  json j{{"loss", r.loss}, {"accuracy", r.accuracy}, {"scored_positions", r.scored}};
  if (perplexity) j["perplexity"] = r.perplexity;
  return j;
}

std::vector<json> read_metrics(const fs::path& run) {
  std::vector<json> records;
  std::ifstream in(run / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    try {
      json j = json::parse(line);
      if (j.is_object() && j.contains("step")) records.push_back(std::move(j));
    } catch (const json::exception&) {
      // A line cut by a killed process: the rest of the file is still usable.
    }
  }
  return records;
}

void truncate_metrics(const fs::path& run, std::int64_t step) {
  std::string kept;
  for (const json& j : read_metrics(run))
    if (j["step"].get<std::int64_t>() <= step) kept += j.dump() + "\n";
  write_text_atomically(run / "metrics.jsonl", kept);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

namespace {

std::string number_text(const json& v) {
  if (v.is_null()) return "nan";
  std::ostringstream os;
  os.precision(10);
  os << v.get<double>();
  return os.str();
}

}  // namespace

void write_metrics_tables(const fs::path& run) {
  const std::vector<json> records = read_metrics(run);
  if (records.empty()) return;
  std::vector<std::string> columns{"step"};
  std::map<std::string, bool> seen{{"step", true}};
  for (const json& r : records)
    for (const auto& [key, value] : r.items())
      if (!seen[key]) {
        seen[key] = true;
        columns.push_back(key);
      }
  std::ostringstream csv;
  for (std::size_t i = 0; i < columns.size(); ++i) csv << (i ? "," : "") << csv_field(columns[i]);
  csv << "\n";
  for (const json& r : records) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (i) csv << ",";
      if (r.contains(columns[i])) csv << (i == 0 ? std::to_string(r["step"].get<std::int64_t>()) : number_text(r[columns[i]]));
    }
    csv << "\n";
  }
  write_text_atomically(run / "metrics.csv", csv.str());

  const std::regex load(R"(metric\.layers\.(\d+)\.ffn\.load\.(\d+))");
  std::ostringstream experts;
  bool any = false;
  experts << "step,layer,expert,load\n";
  for (const json& r : records) {
    for (const auto& [key, value] : r.items()) {
      std::smatch m;
      if (!std::regex_match(key, m, load)) continue;
      any = true;
      experts << r["step"].get<std::int64_t>() << "," << m[1] << "," << m[2] << "," << number_text(value) << "\n";
    }
  }
  if (any) write_text_atomically(run / "experts.csv", experts.str());
}

}  // namespace strata::cli
