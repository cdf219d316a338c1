#include "strata/run_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "strata/atomic_file.h"
#include "strata/error.h"

namespace strata::run_folder {

namespace fs = std::filesystem;
using nlohmann::json;

LineAppender::LineAppender(const fs::path& file, bool truncate) : file_(file) {
  fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd_ < 0)
    throw Error("cannot write " + file.string() + ": " + std::strerror(errno), "check that the run folder is writable");
  const off_t end = ::lseek(fd_, 0, SEEK_END);
  size_ = end < 0 ? 0 : std::int64_t(end);
}

LineAppender::~LineAppender() {
  if (fd_ >= 0) ::close(fd_);
}

void LineAppender::append(const std::string& line) {
  const std::string text = line + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pwrite(fd_, text.data() + done, text.size() - done, off_t(size_ + std::int64_t(done)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = n < 0 ? std::strerror(errno) : "nothing was written";
      // Keep the file a sequence of whole lines.
      (void)!::ftruncate(fd_, off_t(size_));
      throw Error("cannot write " + file_.string() + ": " + reason, "free some disk space (or raise the limit)");
    }
    done += std::size_t(n);
  }
  size_ += std::int64_t(text.size());
}

void write_variant_info(const fs::path& run, const VariantInfo& info) {
  json settings = json::array();
  for (const auto& [key, value] : info.settings) settings.push_back({key, value});
  write_text_atomically(run / kVariantFile,
                        json{{"sweep", info.sweep}, {"variant", info.name}, {"settings", settings}}.dump(2) + "\n");
}

std::optional<VariantInfo> read_variant_info(const fs::path& run) {
  std::ifstream in(run / kVariantFile);
  if (!in) return std::nullopt;
  const json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("variant") || !j["variant"].is_string()) return std::nullopt;
  VariantInfo info;
  info.name = j["variant"].get<std::string>();
  if (j.contains("sweep") && j["sweep"].is_string()) info.sweep = j["sweep"].get<std::string>();
  if (j.contains("settings") && j["settings"].is_array())
    for (const json& kv : j["settings"])
      if (kv.is_array() && kv.size() == 2 && kv[0].is_string() && kv[1].is_string())
        info.settings.emplace_back(kv[0].get<std::string>(), kv[1].get<std::string>());
  return info;
}

std::string metrics_line(const MetricsRecord& r) {
  json j;
  j["step"] = r.step;
  for (const auto& [name, value] : r.values) {
    if (std::isfinite(value))
      j[name] = value;
    else
      j[name] = nullptr;  // JSON has no NaN/inf
  }
  return j.dump();
}

std::string series_line(const std::vector<MetricSeries>& series) {
  json list = json::array();
  for (const MetricSeries& s : series) {
    list.push_back({{"name", s.name},
                    {"scope", s.scope},
                    {"kind", std::string(to_string(s.kind))},
                    {"axes", s.axes},
                    {"edges", s.edges},
                    {"unit", s.unit},
                    {"reduce", std::string(to_string(s.reduce))},
                    {"doc", s.doc},
                    {"headline", s.headline}});
  }
  return json{{"series", list}}.dump();
}

namespace {

// The declarations of a {"series": [...]} line; false when it is not one.
bool read_series(const json& j, std::vector<MetricSeries>& out) {
  if (!j.is_object() || !j.contains("series") || !j["series"].is_array() || j.contains("step")) return false;
  try {
    for (const json& e : j["series"]) {
      MetricSeries s;
      s.name = e.at("name").get<std::string>();
      s.scope = e.value("scope", std::string{});
      s.kind = parse_metric_kind(e.at("kind").get<std::string>());
      s.axes = e.value("axes", std::vector<std::string>{});
      s.edges = e.value("edges", std::vector<double>{});
      s.unit = e.value("unit", std::string{});
      s.reduce = parse_metric_reduce(e.value("reduce", std::string("mean")));
      s.doc = e.value("doc", std::string{});
      s.headline = e.value("headline", false);
      out.push_back(std::move(s));
    }
  } catch (const std::exception&) {
    out.clear();
    return false;
  }
  return true;
}

// The declarations of a log written before components declared their metrics.
std::vector<MetricSeries> inferred_series(const std::vector<MetricsRecord>& records) {
  static const std::map<std::string, std::vector<std::string>> kKnownAxes = {
      {"load", {"expert"}},
      {"bias", {"expert"}},
      {"dt", {"token"}},
      {"token_expert", {"token", "expert"}},
      {"position_expert", {"position", "expert"}},
      {"coactivation", {"expert", "expert"}}};
  std::vector<MetricSeries> out;
  std::set<std::string> seen;
  for (const MetricsRecord& r : records)
    for (const auto& [key, value] : r.values) {
      if (key.rfind("metric.", 0) != 0) continue;
      // "metric.<scope>.<name>[.<i>[.<j>]]"
      std::vector<std::string> parts;
      std::stringstream in(key.substr(7));
      for (std::string part; std::getline(in, part, '.');) parts.push_back(part);
      std::size_t end = parts.size();
      while (end > 0 && !parts[end - 1].empty() && parts[end - 1].size() <= 18 &&
             parts[end - 1].find_first_not_of("0123456789") == std::string::npos)
        --end;
      const std::size_t indices = parts.size() - end;
      if (end == 0 || indices > 2) continue;
      MetricSeries s;
      s.name = parts[end - 1];
      for (std::size_t i = 0; i + 1 < end; ++i) s.scope += (i ? "." : "") + parts[i];
      if (!seen.insert(s.key()).second) continue;
      s.kind = indices == 0 ? MetricKind::scalar : indices == 1 ? MetricKind::vector : MetricKind::matrix;
      const auto known = kKnownAxes.find(s.name);
      if (known != kKnownAxes.end() && known->second.size() == indices)
        s.axes = known->second;
      else if (indices == 1)
        s.axes = {"index"};
      else if (indices == 2)
        s.axes = {"row", "column"};
      if (s.name == "load") s.unit = "fraction";
      s.headline = indices == 0;
      out.push_back(std::move(s));
    }
  return out;
}

}  // namespace

MetricsLog read_metrics(const fs::path& run) {
  MetricsLog log;
  std::ifstream in(run / kMetricsFile, std::ios::binary);
  if (!in) return log;
  log.found = true;
  std::string line;
  std::int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!log.declared && log.records.empty() && read_series(j, log.series)) {
      log.declared = true;
      continue;
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number() || std::fabs(j["step"].get<double>()) >= 9e15) {
      log.bad_lines.push_back(line_no);
      continue;
    }
    MetricsRecord r;
    r.step = static_cast<std::int64_t>(j["step"].get<double>());
    for (const auto& [key, value] : j.items()) {
      if (key == "step") continue;
      if (value.is_number())
        r.values.emplace_back(key, value.get<double>());
      else if (value.is_null())
        r.values.emplace_back(key, NAN);
    }
    log.records.push_back(std::move(r));
  }
  if (!log.declared) log.series = inferred_series(log.records);
  return log;
}

void truncate_metrics(const fs::path& run, std::int64_t step) {
  const MetricsLog log = read_metrics(run);
  std::string kept = log.declared ? series_line(log.series) + "\n" : std::string();
  for (const MetricsRecord& r : log.records)
    if (r.step <= step) kept += metrics_line(r) + "\n";
  write_text_atomically(run / kMetricsFile, kept);
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

namespace {

std::string number_text(double v) {
  if (!std::isfinite(v)) return "nan";
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

}  // namespace

void write_metrics_tables(const fs::path& run) {
  const MetricsLog log = read_metrics(run);
  const std::vector<MetricsRecord>& records = log.records;
  if (records.empty()) return;
  std::vector<std::string> columns{"step"};
  std::map<std::string, bool> seen{{"step", true}};
  for (const MetricsRecord& r : records)
    for (const auto& [key, value] : r.values)
      if (!seen[key]) {
        seen[key] = true;
        columns.push_back(key);
      }
  std::ostringstream csv;
  for (std::size_t i = 0; i < columns.size(); ++i) csv << (i ? "," : "") << csv_field(columns[i]);
  csv << "\n";
  for (const MetricsRecord& r : records) {
    const std::map<std::string, double> values(r.values.begin(), r.values.end());
    csv << r.step;
    for (std::size_t i = 1; i < columns.size(); ++i) {
      csv << ",";
      if (const auto it = values.find(columns[i]); it != values.end()) csv << number_text(it->second);
    }
    csv << "\n";
  }
  write_text_atomically(run / kMetricsCsvFile, csv.str());

  // Every declared per-expert vector (the expert load, selection biases...), long format.
  std::ostringstream experts;
  bool any = false;
  experts << "step,scope,series,expert,value\n";
  SeriesIndex index(log.series);
  for (const MetricsRecord& r : records) {
    for (const auto& [key, value] : r.values) {
      const MetricSeries* s = index.find_record_key(key);
      if (!s || s->kind != MetricKind::vector || s->axes != std::vector<std::string>{"expert"}) continue;
      any = true;
      experts << r.step << "," << csv_field(s->scope) << "," << csv_field(s->name) << ","
              << key.substr(7 + s->key().size() + 1) << "," << number_text(value) << "\n";
    }
  }
  if (any) write_text_atomically(run / kExpertsCsvFile, experts.str());
}

}  // namespace strata::run_folder
