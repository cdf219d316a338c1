#include "strata/telemetry.h"

#include <cctype>

#include "strata/error.h"

namespace strata {

std::string_view to_string(MetricKind kind) {
  switch (kind) {
    case MetricKind::scalar:
      return "scalar";
    case MetricKind::vector:
      return "vector";
    case MetricKind::matrix:
      return "matrix";
    case MetricKind::histogram:
      return "histogram";
  }
  return "?";
}

std::string_view to_string(MetricReduce reduce) {
  switch (reduce) {
    case MetricReduce::mean:
      return "mean";
    case MetricReduce::last:
      return "last";
    case MetricReduce::max:
      return "max";
    case MetricReduce::sum:
      return "sum";
  }
  return "?";
}

MetricKind parse_metric_kind(std::string_view name) {
  for (MetricKind k : {MetricKind::scalar, MetricKind::vector, MetricKind::matrix, MetricKind::histogram})
    if (to_string(k) == name) return k;
  throw ValueError("unknown metric kind '" + std::string(name) + "'", "use scalar, vector, matrix or histogram");
}

MetricReduce parse_metric_reduce(std::string_view name) {
  for (MetricReduce r : {MetricReduce::mean, MetricReduce::last, MetricReduce::max, MetricReduce::sum})
    if (to_string(r) == name) return r;
  throw ValueError("unknown metric reduction '" + std::string(name) + "'", "use mean, last, max or sum");
}

MetricSeries scoped_series(const MetricSeries& series, const std::string& scope) {
  MetricSeries out = series;
  if (!scope.empty()) out.scope = series.scope.empty() ? scope : scope + "." + series.scope;
  return out;
}

namespace {

// How many ".<digits>" components `rest` is made of (-1 when it is anything else).
int index_count(std::string_view rest) {
  int count = 0;
  while (!rest.empty()) {
    if (rest.front() != '.' || rest.size() < 2) return -1;
    std::size_t i = 1;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    if (i == 1) return -1;
    rest.remove_prefix(i);
    ++count;
  }
  return count;
}

int axes_of(MetricKind kind) {
  switch (kind) {
    case MetricKind::scalar:
      return 0;
    case MetricKind::vector:
    case MetricKind::histogram:
      return 1;
    case MetricKind::matrix:
      return 2;
  }
  return 0;
}

}  // namespace

const MetricSeries* find_series(const std::vector<MetricSeries>& declared, std::string_view key) {
  const MetricSeries* best = nullptr;
  std::size_t best_length = 0;
  for (const MetricSeries& s : declared) {
    const std::string full = s.key();
    if (key.size() < full.size() || key.substr(0, full.size()) != full) continue;
    if (index_count(key.substr(full.size())) != axes_of(s.kind)) continue;
    if (!best || full.size() > best_length) {
      best = &s;
      best_length = full.size();
    }
  }
  return best;
}

namespace {

// The layer number of "layers.<n>[.<rest>]" and where <rest> starts; -1 for other scopes.
std::pair<std::int64_t, std::size_t> layer_of(const std::string& scope) {
  constexpr std::string_view prefix = "layers.";
  if (scope.rfind(prefix, 0) != 0) return {-1, 0};
  std::size_t end = prefix.size();
  while (end < scope.size() && std::isdigit(static_cast<unsigned char>(scope[end]))) ++end;
  const std::size_t digits = end - prefix.size();
  if (digits == 0 || digits >= 15 || (end < scope.size() && scope[end] != '.')) return {-1, 0};
  return {std::stoll(scope.substr(prefix.size(), digits)), end};
}

}  // namespace

std::string scope_label(const std::string& scope) {
  if (scope.empty()) return "model";
  const auto [layer, end] = layer_of(scope);
  if (layer < 0) return scope;
  const std::string rest = end < scope.size() ? scope.substr(end + 1) : std::string();
  return "layer " + std::to_string(layer) + (rest.empty() || rest == "ffn" ? "" : " " + rest);
}

bool scope_less(const std::string& a, const std::string& b) {
  const std::int64_t la = layer_of(a).first, lb = layer_of(b).first;
  if (la != lb) return la < lb;
  return a < b;
}

const MetricSeries* SeriesIndex::find(std::string_view key) {
  if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
  return cache_.emplace(std::string(key), find_series(declared_, key)).first->second;
}

const MetricSeries* SeriesIndex::find_record_key(std::string_view record_key) {
  constexpr std::string_view prefix = "metric.";
  if (record_key.substr(0, prefix.size()) != prefix) return nullptr;
  return find(record_key.substr(prefix.size()));
}

}  // namespace strata
