#include "report/run_data.h"

#include "strata/run_folder.h"

#include <toml++/toml.h>
#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

namespace strata::report {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::vector<std::string> split_dots(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

std::string join_dots(const std::vector<std::string>& parts, std::size_t begin, std::size_t end) {
  std::string out;
  for (std::size_t i = begin; i < end; ++i) out += (i > begin ? "." : "") + parts[i];
  return out;
}

}  // namespace

std::string with_defaults_uncommented(const std::string& text) {
  std::istringstream in(text);
  std::string line, out;
  const std::string marker = "  # default";
  while (std::getline(in, line)) {
    const bool is_default = line.rfind("# ", 0) == 0 && line.size() > marker.size() &&
                            line.compare(line.size() - marker.size(), marker.size(), marker) == 0 &&
                            line.find(" = ") != std::string::npos;
    out += (is_default ? line.substr(2, line.size() - 2 - marker.size()) : line) + "\n";
  }
  return out;
}

namespace {

std::optional<LrSchedule> schedule_of(const toml::table& root) {
  const auto train = root["train"];
  const auto lr = train["lr"].value<double>();
  const auto warmup = train["warmup_steps"].value<std::int64_t>();
  const auto steps = train["steps"].value<std::int64_t>();
  const auto min_ratio = train["min_lr_ratio"].value<double>();
  const auto decay = train["schedule"].value<std::string>();
  if (!lr || !warmup || !steps || !min_ratio || !decay || *steps < 1) return std::nullopt;
  const std::int64_t span = train["schedule_steps"].value<std::int64_t>().value_or(0);
  try {
    return LrSchedule{*lr, *warmup, span > 0 ? span : *steps, *min_ratio, parse_lr_decay(*decay)};
  } catch (const std::exception&) {
    return std::nullopt;  // a schedule name this build does not know: show the logged values only
  }
}

// The experiment's name and task from the resolved config. A config that does not parse
// leaves both empty and adds a note.
void read_config(RunData& run) {
  const fs::path file = run.folder / run_folder::kConfigFile;
  const std::optional<std::string> text = read_text(file);
  if (!text) {
    run.notes.push_back("config.toml is missing: the experiment name and task are not known");
    return;
  }
  run.config_text = *text;
  try {
    const toml::table root = toml::parse(*text, file.string());
    run.name = root["run"]["name"].value_or(std::string{});
    run.task = root["task"]["type"].value_or(std::string{});
    try {
      run.schedule = schedule_of(toml::parse(with_defaults_uncommented(*text), file.string()));
    } catch (const toml::parse_error&) {
      run.schedule = schedule_of(root);  // a comment that only looked like a default
    }
  } catch (const toml::parse_error& e) {
    run.notes.push_back("config.toml does not parse (" + std::string(e.description()) + ")");
  }
  if (run.name.empty()) {
    // "# resolved from experiments/moe_copy.toml ..." names the experiment file.
    const std::string marker = "resolved from ";
    const std::size_t at = text->find(marker);
    if (at != std::string::npos && at < text->find('\n')) {
      const std::size_t start = at + marker.size();
      const std::size_t end = text->find_first_of(" \n", start);
      run.name =
          fs::path(text->substr(start, end == std::string::npos ? std::string::npos : end - start)).stem().string();
    }
  }
}

void read_metrics(RunData& run) {
  const run_folder::MetricsLog log = run_folder::read_metrics(run.folder);
  if (!log.found) {
    run.notes.push_back(std::string(run_folder::kMetricsFile) + " is missing: no curves can be drawn");
    return;
  }
  for (const MetricsRecord& r : log.records) {
    LoggedStep s;
    s.step = r.step;
    for (const auto& [key, value] : r.values) s.values[key] = value;
    run.steps.push_back(std::move(s));
  }
  run.series = log.series;
  run.declared = log.declared;
  const std::vector<std::int64_t>& bad_lines = log.bad_lines;
  if (!bad_lines.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(bad_lines.size(), 10); ++i)
      list += (i ? ", " : "") + std::to_string(bad_lines[i]);
    if (bad_lines.size() > 10) list += ", ...";
    run.notes.push_back(std::string(run_folder::kMetricsFile) + ": skipped " + std::to_string(bad_lines.size()) +
                        (bad_lines.size() == 1 ? " line" : " lines") +
                        " that did not parse as a JSON object with a numeric \"step\" (line " + list + ")");
  }
  if (run.steps.empty() && bad_lines.empty())
    run.notes.push_back(std::string(run_folder::kMetricsFile) + " is empty: no step was logged");
}

}  // namespace

std::map<std::string, SeriesKey> resolve_series_keys(const RunData& run, const std::vector<std::string>& keys) {
  std::map<std::string, SeriesKey> out;
  const std::string prefix = "metric.";
  for (const std::string& key : keys) {
    if (key.rfind(prefix, 0) != 0) continue;
    const std::string logged = key.substr(prefix.size());
    const MetricSeries* s = find_series(run.series, logged);
    if (!s) continue;
    SeriesKey r;
    r.series = s;
    for (const std::string& part : split_dots(logged.substr(s->key().size())))
      if (!part.empty()) {
        if (part.size() > 18) {
          r.series = nullptr;  // an index too long to be one
          break;
        }
        r.indices.push_back(std::stoll(part));
      }
    if (r.series) out.emplace(key, std::move(r));
  }
  return out;
}

RunData read_run_folder(const fs::path& folder) {
  RunData run;
  run.folder = folder;
  read_config(run);
  run.variant = run_folder::read_variant_info(folder);
  if (const auto plan = read_text(folder / run_folder::kPlanFile))
    run.plan = *plan;
  else
    run.notes.push_back("plan.txt is missing: no layer plan to show");
  if (const auto text = read_text(folder / run_folder::kFinalFile)) {
    nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (j.is_object())
      run.final_json = std::move(j);
    else
      run.notes.push_back(
          "final.json does not parse as a JSON object: final metrics are taken from the last logged step");
  } else {
    run.notes.push_back(
        "final.json is missing (the run may not have finished): final metrics are taken from the last "
        "logged step");
  }
  read_metrics(run);
  if (run.name.empty()) run.name = folder_name(folder);
  if (run.name.empty()) run.name = "run";
  return run;
}

std::vector<Point> series_of(const std::vector<LoggedStep>& steps, const std::string& key) {
  std::vector<Point> points;
  for (const LoggedStep& s : steps) {
    const auto it = s.values.find(key);
    if (it != s.values.end()) points.push_back({double(s.step), it->second});
  }
  return points;
}

std::vector<Point> eval_curve(const RunData& run, const std::string& key) {
  std::vector<Point> points = series_of(run.steps, key);
  const std::string field = key.substr(key.find('_') + 1);  // "eval_loss" -> "loss"
  if (run.final_json && run.final_json->contains("initial_eval")) {
    const nlohmann::json& initial = (*run.final_json)["initial_eval"];
    const bool has_step_zero = !points.empty() && points.front().x == 0;
    if (initial.is_object() && initial.contains(field) && initial[field].is_number() && !has_step_zero)
      points.insert(points.begin(), Point{0, initial[field].get<double>()});
  }
  return points;
}

std::vector<std::string> all_keys(const std::vector<LoggedStep>& steps) {
  std::set<std::string> keys;
  for (const LoggedStep& s : steps)
    for (const auto& kv : s.values) keys.insert(kv.first);
  return {keys.begin(), keys.end()};
}

std::optional<AuxKey> parse_aux_key(const std::string& key) {
  const std::string prefix = "aux.";
  if (key.rfind(prefix, 0) != 0 || key.size() == prefix.size()) return std::nullopt;
  const std::vector<std::string> parts = split_dots(key.substr(prefix.size()));
  AuxKey a;
  a.term = parts.back();
  if (a.term.empty()) return std::nullopt;
  std::size_t scope_end = parts.size() - 1;
  // "...balance.<i>.<term>": the slot of the term in the component's balance list
  if (scope_end >= 2 && parts[scope_end - 2] == "balance" && all_digits(parts[scope_end - 1])) {
    a.slot = "balance." + parts[scope_end - 1];
    scope_end -= 2;
  }
  a.scope = join_dots(parts, 0, scope_end);
  return a;
}

fs::path absolute_path(const fs::path& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  return (ec ? path : absolute).lexically_normal();
}

std::string folder_name(const fs::path& folder) {
  fs::path p = absolute_path(folder);
  if (!p.has_filename()) p = p.parent_path();  // "a/b/" normalises to "a/b/"
  return p.filename().string();
}

std::optional<std::vector<std::vector<std::string>>> read_csv(const fs::path& file) {
  const std::optional<std::string> text = read_text(file);
  if (!text) return std::nullopt;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  const std::string& s = *text;
  const auto end_field = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  const auto end_row = [&] {
    end_field();
    if (!(row.size() == 1 && row[0].empty())) rows.push_back(std::move(row));  // blank lines
    row.clear();
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field.push_back(c);
      }
    } else if (c == '"' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == ',') {
      end_field();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      end_row();
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (field_started || !field.empty() || !row.empty()) end_row();
  return rows;
}

}  // namespace strata::report
