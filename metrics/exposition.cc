#include "metrics/exposition.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <limits>
#include <sstream>
#include <utility>

namespace cutover::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// The `code` label: status classes as Prometheus users know them; "none" when the client
// got no status at all (it went away first).
constexpr std::array<const char*, kStatusClassCount> kClassNames = {"none", "1xx", "2xx",
                                                                    "3xx",  "4xx", "5xx"};

MetricFamily Family(std::string name, std::string help, MetricType type) {
  MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

ClientMetric Counter(std::vector<ClientMetric::Label> labels, uint64_t value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.counter.value = static_cast<double>(value);
  return metric;
}

ClientMetric Gauge(std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.gauge.value = value;
  return metric;
}

// Prometheus histograms count cumulatively, with a last +Inf bucket.
ClientMetric Histogram(std::vector<ClientMetric::Label> labels, const HistogramSnapshot& snapshot) {
  ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = snapshot.count();
  metric.histogram.sample_sum = static_cast<double>(snapshot.sum_us()) / 1e6;
  uint64_t cumulative = 0;
  for (std::size_t b = 0; b < kLatencyBucketCount; ++b) {
    cumulative += snapshot.bucket(b);
    const double bound = b < kLatencyBoundsSeconds.size() ? kLatencyBoundsSeconds[b]
                                                          : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, bound});
  }
  return metric;
}

// The sum over every worker's shard of `read(shard)`.
template <typename Read>
uint64_t Sum(const ExpositionInput& input, Read read) {
  uint64_t sum = 0;
  for (const WorkerCounters* shard : input.shards) sum += read(*shard);
  return sum;
}

}  // namespace

std::vector<MetricFamily> CollectFamilies(const ExpositionInput& input) {
  MetricFamily requests =
      Family("cutover_requests_total", "Requests answered, by pool and status class.",
             MetricType::Counter);
  MetricFamily decisions = Family("cutover_route_decisions_total",
                                  "Routing decisions, by pool and reason.", MetricType::Counter);
  MetricFamily retries =
      Family("cutover_retries_total", "Requests retried on another endpoint or connection.",
             MetricType::Counter);
  MetricFamily bytes =
      Family("cutover_bytes_total", "Body bytes forwarded, by direction.", MetricType::Counter);
  MetricFamily durations = Family("cutover_request_duration_seconds",
                                  "From the first request byte to the last response byte, by pool.",
                                  MetricType::Histogram);
  MetricFamily upstream_durations =
      Family("cutover_upstream_duration_seconds",
             "From the first request byte to the upstream's response head, by pool.",
             MetricType::Histogram);
  MetricFamily weights =
      Family("cutover_pool_weight_ratio", "The pool's share of weighted traffic (0 to 1).",
             MetricType::Gauge);
  for (std::size_t p = 0; p < input.pools.size(); ++p) {
    const std::string& pool = input.pools[p];
    for (std::size_t c = 0; c < kClassNames.size(); ++c) {
      requests.metric.push_back(
          Counter({{"pool", pool}, {"code", kClassNames[c]}},
                  Sum(input, [&](const WorkerCounters& s) { return s.RequestsInClass(p, c); })));
    }
    for (std::size_t r = 0; r < input.route_reasons.size(); ++r) {
      decisions.metric.push_back(
          Counter({{"pool", pool}, {"reason", input.route_reasons[r]}},
                  Sum(input, [&](const WorkerCounters& s) { return s.Decisions(p, r); })));
    }
    retries.metric.push_back(Counter(
        {{"pool", pool}}, Sum(input, [&](const WorkerCounters& s) { return s.Retries(p); })));
    bytes.metric.push_back(
        Counter({{"pool", pool}, {"direction", "in"}},
                Sum(input, [&](const WorkerCounters& s) { return s.BytesIn(p); })));
    bytes.metric.push_back(
        Counter({{"pool", pool}, {"direction", "out"}},
                Sum(input, [&](const WorkerCounters& s) { return s.BytesOut(p); })));
    HistogramSnapshot latency;
    for (const WorkerCounters* shard : input.shards) latency.Merge(shard->Latency(p));
    durations.metric.push_back(Histogram({{"pool", pool}}, latency));
    HistogramSnapshot upstream;
    for (const WorkerCounters* shard : input.shards) upstream.Merge(shard->UpstreamLatency(p));
    upstream_durations.metric.push_back(Histogram({{"pool", pool}}, upstream));
    const double ratio = p < input.weight_ratios.size() ? input.weight_ratios[p] : 0.0;
    weights.metric.push_back(Gauge({{"pool", pool}}, ratio));
  }

  MetricFamily healthy =
      Family("cutover_endpoint_healthy",
             "1 while the active health check sees the endpoint healthy.", MetricType::Gauge);
  for (const EndpointState& endpoint : input.endpoints) {
    if (endpoint.pool >= input.pools.size()) continue;
    healthy.metric.push_back(
        Gauge({{"pool", input.pools[endpoint.pool]}, {"endpoint", endpoint.address}},
              endpoint.healthy ? 1.0 : 0.0));
  }

  MetricFamily errors =
      Family("cutover_upstream_errors_total",
             "Upstream failures (each attempt), by endpoint and kind.", MetricType::Counter);
  for (const EndpointState& endpoint : input.endpoints) {
    if (endpoint.pool >= input.pools.size()) continue;
    for (std::size_t k = 0; k < input.error_kinds.size() && k < endpoint.errors.size(); ++k) {
      errors.metric.push_back(Counter({{"pool", input.pools[endpoint.pool]},
                                       {"endpoint", endpoint.address},
                                       {"kind", input.error_kinds[k]}},
                                      endpoint.errors[k]));
    }
  }

  MetricFamily endpoint_requests = Family(
      "cutover_endpoint_requests_total",
      "Requests whose exchange ended on the endpoint (its last attempt).", MetricType::Counter);
  std::vector<int64_t> pool_connections(input.pools.size(), 0);
  for (const EndpointState& endpoint : input.endpoints) {
    if (endpoint.pool >= input.pools.size()) continue;
    endpoint_requests.metric.push_back(Counter(
        {{"pool", input.pools[endpoint.pool]}, {"endpoint", endpoint.address}}, endpoint.requests));
    pool_connections[endpoint.pool] += endpoint.connections;
  }

  MetricFamily upstream_connections =
      Family("cutover_upstream_connections_active",
             "Upstream connections open now (in use or idle), by pool.", MetricType::Gauge);
  for (std::size_t p = 0; p < input.pools.size(); ++p) {
    upstream_connections.metric.push_back(
        Gauge({{"pool", input.pools[p]}}, static_cast<double>(pool_connections[p])));
  }

  MetricFamily downstream_connections = Family("cutover_downstream_connections_active",
                                               "Client connections open now.", MetricType::Gauge);
  downstream_connections.metric.push_back(
      Gauge({}, static_cast<double>(Sum(
                    input, [](const WorkerCounters& s) { return s.DownstreamConnections(); }))));

  MetricFamily ejections =
      Family("cutover_endpoint_ejections_total", "Passive outlier ejections, summed over workers.",
             MetricType::Counter);
  ejections.metric.push_back(
      Counter({}, Sum(input, [](const WorkerCounters& s) { return s.Ejections(); })));

  MetricFamily version = Family("cutover_routing_version",
                                "Version of the routing state the workers run.", MetricType::Gauge);
  version.metric.push_back(Gauge({}, static_cast<double>(input.routing_version)));

  MetricFamily changes =
      Family("cutover_config_changes_total", "Routing changes (admin calls, reloads), by result.",
             MetricType::Counter);
  changes.metric.push_back(Counter({{"result", "applied"}}, input.changes_applied));
  changes.metric.push_back(Counter({{"result", "rejected"}}, input.changes_rejected));

  MetricFamily expired =
      Family("cutover_flag_expired", "1 for each enabled rule past its expires date: flag debt.",
             MetricType::Gauge);
  for (const std::string& rule : input.expired_rules) {
    expired.metric.push_back(Gauge({{"rule", rule}}, 1.0));
  }

  MetricFamily expiry =
      Family("cutover_tls_cert_expiry_timestamp_seconds",
             "When each served certificate expires (Unix time).", MetricType::Gauge);
  for (const ExpositionInput::Certificate& certificate : input.certificates) {
    expiry.metric.push_back(Gauge({{"name", certificate.name}, {"listener", certificate.listener}},
                                  static_cast<double>(certificate.not_after_unix)));
  }

  MetricFamily breaches = Family(
      "cutover_guardrail_breaches_total",
      "Guardrail breaches of the candidate against the baseline, by rule.", MetricType::Counter);
  for (const auto& [rule, count] : input.guardrail_breaches) {
    breaches.metric.push_back(Counter({{"rule", rule}}, count));
  }
  MetricFamily verdict =
      Family("cutover_guardrail_verdict", "1 for the latest guardrail verdict, 0 for the others.",
             MetricType::Gauge);
  if (!input.guardrail_verdict.empty()) {
    for (const char* kind : {"healthy", "breach", "insufficient_data", "none"}) {
      verdict.metric.push_back(
          Gauge({{"verdict", kind}}, input.guardrail_verdict == kind ? 1.0 : 0.0));
    }
  }
  MetricFamily rollout =
      Family("cutover_rollout_step_percent",
             "The progressive rollout's current step (candidate percent), labelled with its phase.",
             MetricType::Gauge);
  if (!input.rollout_phase.empty()) {
    rollout.metric.push_back(Gauge({{"phase", input.rollout_phase}}, input.rollout_step_percent));
  }

  MetricFamily build = Family("cutover_build_info", "Always 1; the labels say which build this is.",
                              MetricType::Gauge);
  build.metric.push_back(Gauge({{"version", input.version}}, 1.0));

  std::vector<MetricFamily> families;
  for (MetricFamily* family : {&requests,
                               &durations,
                               &upstream_durations,
                               &decisions,
                               &retries,
                               &bytes,
                               &weights,
                               &healthy,
                               &errors,
                               &endpoint_requests,
                               &downstream_connections,
                               &upstream_connections,
                               &ejections,
                               &version,
                               &changes,
                               &expired,
                               &expiry,
                               &breaches,
                               &verdict,
                               &rollout,
                               &build}) {
    families.push_back(std::move(*family));
  }
  return families;
}

std::string SerializeText(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace cutover::metrics
