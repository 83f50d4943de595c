#include "metrics/worker_counters.h"

#include "metrics/single_writer.h"

namespace cutover::metrics {
void WorkerCounters::Record(const RequestRecord& record) {
#if CUTOVER_METRICS
  if (record.pool >= pools_.size()) return;
  PoolCounters& pool = pools_[record.pool];
  Bump(pool.requests_by_class[StatusClass(record.status)], 1);
  if (record.upstream_error) Bump(pool.upstream_errors, 1);
  Bump(pool.bytes_in, record.bytes_in);
  Bump(pool.bytes_out, record.bytes_out);
  const std::size_t bucket = LatencyBucket(record.duration_us);
  pool.latency.RecordInBucket(bucket, record.duration_us);
  if (record.upstream_us != 0) pool.upstream_latency.Record(record.upstream_us);
  pool.recent.RecordInBucket(record.now_ms, record.status, bucket);
#else
  (void)record;
#endif
}

void WorkerCounters::RecordDecision(std::size_t pool, std::size_t reason) {
#if CUTOVER_METRICS
  if (pool < pools_.size() && reason < kRouteReasonCount) {
    Bump(pools_[pool].decisions_by_reason[reason], 1);
  }
#else
  (void)pool;
  (void)reason;
#endif
}

void WorkerCounters::RecordRetry(std::size_t pool) {
  if (pool < pools_.size()) Bump(pools_[pool].retries, 1);
}

void WorkerCounters::RecordEjection() {
  Bump(ejections_, 1);
}

uint64_t WorkerCounters::Decisions(std::size_t pool, std::size_t reason) const {
  if (pool >= pools_.size() || reason >= kRouteReasonCount) return 0;
  return pools_[pool].decisions_by_reason[reason].load(std::memory_order_relaxed);
}

uint64_t WorkerCounters::Retries(std::size_t pool) const {
  return pool < pools_.size() ? pools_[pool].retries.load(std::memory_order_relaxed) : 0;
}

HistogramSnapshot WorkerCounters::Latency(std::size_t pool) const {
  return pool < pools_.size() ? pools_[pool].latency.Snapshot() : HistogramSnapshot();
}

HistogramSnapshot WorkerCounters::UpstreamLatency(std::size_t pool) const {
  return pool < pools_.size() ? pools_[pool].upstream_latency.Snapshot() : HistogramSnapshot();
}

WindowSnapshot WorkerCounters::Recent(std::size_t pool, int64_t now_ms, int64_t window_ms) const {
  return pool < pools_.size() ? pools_[pool].recent.Read(now_ms, window_ms) : WindowSnapshot();
}

void WorkerCounters::RecentSeries(std::size_t pool, int64_t now_ms, int64_t window_ms,
                                  std::vector<WindowSnapshot>* series) const {
  if (pool < pools_.size()) pools_[pool].recent.ReadSeries(now_ms, window_ms, series);
}

uint64_t WorkerCounters::BytesIn(std::size_t pool) const {
  return pool < pools_.size() ? pools_[pool].bytes_in.load(std::memory_order_relaxed) : 0;
}

uint64_t WorkerCounters::BytesOut(std::size_t pool) const {
  return pool < pools_.size() ? pools_[pool].bytes_out.load(std::memory_order_relaxed) : 0;
}

uint64_t WorkerCounters::Requests(std::size_t pool) const {
  uint64_t sum = 0;
  for (std::size_t c = 0; c < kStatusClassCount; ++c) sum += RequestsInClass(pool, c);
  return sum;
}

uint64_t WorkerCounters::RequestsInClass(std::size_t pool, std::size_t status_class) const {
  if (pool >= pools_.size() || status_class >= kStatusClassCount) return 0;
  return pools_[pool].requests_by_class[status_class].load(std::memory_order_relaxed);
}

}  // namespace cutover::metrics
