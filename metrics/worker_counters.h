// Per-worker request counters. Owned by one worker thread, which alone writes them with
// plain (relaxed atomic) stores; readers on other threads load and sum the shards, so the
// hot path takes no lock and shares no cache line with other workers (HAProxy's habit).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "metrics/latency_histogram.h"
#include "metrics/request_record.h"
#include "metrics/sliding_window.h"
#include "metrics/status_class.h"

namespace cutover::metrics {

// Route reasons, in the order of routing::RouteReason (weight, rule, pin, failover,
// unavailable); metrics/ does not depend on routing/, so the count is restated here.
inline constexpr std::size_t kRouteReasonCount = 5;

struct PoolCounters {
  std::array<std::atomic<uint64_t>, kStatusClassCount> requests_by_class{};
  std::array<std::atomic<uint64_t>, kRouteReasonCount> decisions_by_reason{};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> upstream_errors{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
  LatencyHistogram latency;           // since start, for Prometheus
  LatencyHistogram upstream_latency;  // to the upstream's response head
  SlidingWindow recent;               // the last 10 minutes, for /v1/compare and guardrails
};

class WorkerCounters {
 public:
  explicit WorkerCounters(std::size_t pool_count) : pools_(pool_count) {}
  WorkerCounters(const WorkerCounters&) = delete;
  WorkerCounters& operator=(const WorkerCounters&) = delete;

  // Called by the owning worker only.
  void Record(const RequestRecord& record);
  void RecordDecision(std::size_t pool, std::size_t reason);
  void RecordRetry(std::size_t pool);
  void RecordEjection();
  void SetDownstreamConnections(std::size_t open) {
    downstream_connections_.store(open, std::memory_order_relaxed);
  }

  std::size_t pool_count() const { return pools_.size(); }
  uint64_t Requests(std::size_t pool) const;  // all classes
  uint64_t RequestsInClass(std::size_t pool, std::size_t status_class) const;
  uint64_t Decisions(std::size_t pool, std::size_t reason) const;
  uint64_t Retries(std::size_t pool) const;
  uint64_t BytesIn(std::size_t pool) const;   // request body bytes forwarded
  uint64_t BytesOut(std::size_t pool) const;  // response body bytes forwarded
  HistogramSnapshot Latency(std::size_t pool) const;
  HistogramSnapshot UpstreamLatency(std::size_t pool) const;
  // The last `window_ms` up to `now_ms` (the same monotonic clock the worker records with).
  WindowSnapshot Recent(std::size_t pool, int64_t now_ms, int64_t window_ms) const;
  // The same span slot by slot, merged into `series` (SlidingWindow::ReadSeries).
  void RecentSeries(std::size_t pool, int64_t now_ms, int64_t window_ms,
                    std::vector<WindowSnapshot>* series) const;
  uint64_t Ejections() const { return ejections_.load(std::memory_order_relaxed); }
  uint64_t DownstreamConnections() const {
    return downstream_connections_.load(std::memory_order_relaxed);
  }

 private:
  std::vector<PoolCounters> pools_;
  std::atomic<uint64_t> ejections_{0};
  std::atomic<uint64_t> downstream_connections_{0};  // client connections open now
};

}  // namespace cutover::metrics
