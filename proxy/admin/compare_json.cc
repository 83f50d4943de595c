#include "proxy/admin/compare_json.h"

#include <algorithm>

namespace cutover::proxy::admin {
namespace {

using nlohmann::json;

json NameOrNull(const std::string& name) {
  return name.empty() ? json(nullptr) : json(name);
}

json Millis(double seconds) {
  return seconds * 1e3;
}

// A slot without requests has no latency: null, so a chart leaves a gap instead of a drop to 0.
json MillisOrNull(const metrics::WindowSnapshot& window, double quantile) {
  if (window.latency.count() == 0) return nullptr;
  return Millis(window.latency.Quantile(quantile));
}

json SlotFigures(const metrics::WindowSnapshot& w) {
  return {{"requests", w.Requests()},         {"requests_per_second", w.RequestsPerSecond()},
          {"errors", w.requests_by_class[5]}, {"error_rate", w.ErrorRate()},
          {"p50_ms", MillisOrNull(w, 0.5)},   {"p99_ms", MillisOrNull(w, 0.99)}};
}

const PoolWindow* Find(const WindowReport& report, const std::string& name) {
  for (const PoolWindow& pool : report.pools) {
    if (!name.empty() && pool.name == name) return &pool;
  }
  return nullptr;
}

}  // namespace

json CompareJson(const WindowReport& report) {
  json pools = json::object();
  int64_t covered_ms = 0;
  for (const PoolWindow& pool : report.pools) {
    const metrics::WindowSnapshot& w = pool.total;
    covered_ms = std::max(covered_ms, w.covered_ms);
    pools[pool.name] = {{"weight", pool.weight},
                        {"requests", w.Requests()},
                        {"requests_per_second", w.RequestsPerSecond()},
                        {"errors", w.requests_by_class[5]},
                        {"error_rate", w.ErrorRate()},
                        {"p50_ms", Millis(w.latency.Quantile(0.5))},
                        {"p90_ms", Millis(w.latency.Quantile(0.9))},
                        {"p99_ms", Millis(w.latency.Quantile(0.99))}};
  }
  json delta = nullptr;
  const PoolWindow* base = Find(report, report.baseline);
  const PoolWindow* candidate = Find(report, report.candidate);
  if (base != nullptr && candidate != nullptr) {
    const json& b = pools[base->name];
    const json& c = pools[candidate->name];
    const double base_p99 = b["p99_ms"].get<double>();
    delta = {
        {"error_rate", c["error_rate"].get<double>() - b["error_rate"].get<double>()},
        {"p50_ms", c["p50_ms"].get<double>() - b["p50_ms"].get<double>()},
        {"p99_ms", c["p99_ms"].get<double>() - base_p99},
        {"p99_ratio", base_p99 > 0 ? json(c["p99_ms"].get<double>() / base_p99) : json(nullptr)}};
  }
  return {{"version", report.version},
          {"window_seconds", static_cast<double>(report.window_ms) / 1e3},
          {"covered_seconds", static_cast<double>(covered_ms) / 1e3},
          {"baseline", NameOrNull(report.baseline)},
          {"candidate", NameOrNull(report.candidate)},
          {"pools", std::move(pools)},
          {"delta", std::move(delta)}};
}

json SeriesJson(const WindowReport& report) {
  std::size_t slots = 0;
  for (const PoolWindow& pool : report.pools) slots = std::max(slots, pool.series.size());
  json points = json::array();
  int64_t end_ms = 0;  // the end of the slot being shaped, relative to now
  std::vector<json> reversed;
  for (std::size_t back = 0; back < slots; ++back) {
    json by_pool = json::object();
    int64_t span_ms = 0;
    for (const PoolWindow& pool : report.pools) {
      if (back >= pool.series.size()) continue;
      const metrics::WindowSnapshot& slot = pool.series[pool.series.size() - 1 - back];
      span_ms = std::max(span_ms, slot.covered_ms);
      by_pool[pool.name] = SlotFigures(slot);
    }
    reversed.push_back({{"t", static_cast<double>(end_ms - span_ms) / 1e3},
                        {"seconds", static_cast<double>(span_ms) / 1e3},
                        {"pools", std::move(by_pool)}});
    end_ms -= span_ms;
  }
  for (auto it = reversed.rbegin(); it != reversed.rend(); ++it) points.push_back(std::move(*it));
  return {{"version", report.version},
          {"window_seconds", static_cast<double>(report.window_ms) / 1e3},
          {"step_seconds", static_cast<double>(report.slot_ms) / 1e3},
          {"baseline", NameOrNull(report.baseline)},
          {"candidate", NameOrNull(report.candidate)},
          {"points", std::move(points)}};
}

}  // namespace cutover::proxy::admin
