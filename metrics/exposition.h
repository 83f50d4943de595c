// The Prometheus view of the proxy (issue 5, docs/metrics.md): merges the workers' counter
// shards when scraped and builds prometheus-cpp MetricFamily values, which its TextSerializer
// turns into the text exposition format. Nothing here runs per request: the workers only bump
// their own shards (worker_counters.h); this reads them, on the scraping thread.
//
// Label values come only from the config (pool names, endpoint addresses, route reasons),
// never from request data, so the series count is bounded by the config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "metrics/worker_counters.h"

namespace cutover::metrics {

struct EndpointState {
  std::size_t pool = 0;          // index into ExpositionInput::pools
  std::string address;           // "host:port" as configured
  bool healthy = true;           // the active health check's view
  std::vector<uint64_t> errors;  // upstream failures, parallel to ExpositionInput::error_kinds
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
  std::vector<const WorkerCounters*> shards;
};

// Every family, with the shards summed.
std::vector<prometheus::MetricFamily> CollectFamilies(const ExpositionInput& input);

// The text exposition format (version 0.0.4) of `families`.
std::string SerializeText(const std::vector<prometheus::MetricFamily>& families);

}  // namespace cutover::metrics
