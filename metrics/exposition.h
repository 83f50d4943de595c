// The Prometheus view of the proxy (issue 5, docs/metrics.md): merges the workers' counter
// shards when scraped and builds prometheus-cpp MetricFamily values, which its TextSerializer
// turns into the text exposition format. Nothing here runs per request: the workers only bump
// their own shards (worker_counters.h); this reads them, on the scraping thread.
//
// Label values come only from the config (pool names, endpoint addresses, route reasons),
// never from request data, so the series count is bounded by the config.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "metrics/worker_counters.h"

namespace cutover::metrics {

struct EndpointState {
  std::size_t pool = 0;          // index into ExpositionInput::pools
  std::string address;           // "host:port" as configured
  bool healthy = true;           // the active health check's view
  std::vector<uint64_t> errors;  // upstream failures, parallel to ExpositionInput::error_kinds
  uint64_t requests = 0;         // exchanges that ended on this endpoint, all workers
  int64_t connections = 0;       // upstream connections open now, all workers
};

// What a scrape needs besides the shards: names for the indices the workers count by.
struct ExpositionInput {
  std::vector<std::string> pools;          // parallel to the counters' pool indices
  std::vector<double> weight_ratios;       // parallel to pools: 0..1
  std::vector<std::string> route_reasons;  // parallel to the decision reason indices
  std::vector<std::string> error_kinds;    // names of EndpointState::errors' entries
  std::vector<EndpointState> endpoints;
  uint64_t routing_version = 0;
  uint64_t changes_applied = 0;   // routing changes accepted (admin calls and reloads)
  uint64_t changes_rejected = 0;  // refused: bad input, stale If-Match, wrong role, failed disk
  std::vector<std::string> expired_rules;  // enabled rules past their `expires`
  std::string version;                     // cutover's version, for cutover_build_info
  struct Certificate {
    std::string name;      // its first DNS name (or its file when it names none)
    std::string listener;  // who serves it: "proxy" ([listener.tls]) or "admin" ([admin.tls])
    int64_t not_after_unix = 0;
  };
  std::vector<Certificate> certificates;  // served by the TLS listeners
  // Guardrail breaches since start, by rule (every rule listed, 0 included).
  std::vector<std::pair<std::string, uint64_t>> guardrail_breaches;
  // The latest verdict: "healthy", "breach", "insufficient_data" or "none" (1 for it, 0 for
  // the others), and the rollout's phase and candidate weight (percent) when one ran.
  std::string guardrail_verdict;
  std::string rollout_phase;  // "" = no rollout ever started
  double rollout_step_percent = 0;
  std::vector<const WorkerCounters*> shards;
};

// Every family, with the shards summed.
std::vector<prometheus::MetricFamily> CollectFamilies(const ExpositionInput& input);

// prometheus-cpp's Collectable over the shards: each Collect() gathers a fresh input (names,
// gauges, pointers to the live shards) and merges it. Collect() runs on the scraping thread.
class ShardCollector : public prometheus::Collectable {
 public:
  explicit ShardCollector(std::function<ExpositionInput()> gather) : gather_(std::move(gather)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    return CollectFamilies(gather_());
  }

 private:
  std::function<ExpositionInput()> gather_;
};

// The text exposition format (version 0.0.4) of `families`.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace cutover::metrics
