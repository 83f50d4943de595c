// The active health state of one endpoint, shared by the health checker (the only writer,
// on the main loop) and every worker (readers, once per request, relaxed loads: no lock).
// Kept in a registry keyed by endpoint address so a config reload keeps what was learned.
// It also holds the endpoint's per-worker metric shards: each worker writes only its own,
// on its own cache line, and a scrape sums them.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cutover::proxy {

// One worker's counts for one endpoint. Written by that worker alone (Bump), read by scrapes.
struct alignas(64) EndpointShard {
  std::atomic<uint64_t> requests{0};    // exchanges that ended on this endpoint
  std::atomic<int64_t> connections{0};  // upstream connections open now
};

struct EndpointHealth {
  explicit EndpointHealth(std::size_t worker_count)
      : shard_count(std::max<std::size_t>(worker_count, 1)),
        shards(std::make_unique<EndpointShard[]>(shard_count)) {}

  std::atomic<bool> healthy{true};  // endpoints start healthy: a restart must not 503
  // Passive ejections, for `GET /v1/health`: written by workers when they eject (rare), read
  // by the admin thread. Each worker ejects on what it sees; these summarise all of them.
  std::atomic<uint64_t> ejections{0};
  std::atomic<int64_t> ejected_until_unix_ms{0};
  // Upstream failures by kind (UpstreamError minus kNone), for cutover_upstream_errors_total.
  // Any worker adds on a failure, never on success, so the shared atomic stays off the
  // request path.
  static constexpr std::size_t kErrorKinds = 6;
  std::array<std::atomic<uint64_t>, kErrorKinds> errors{};
  const std::size_t shard_count;
  const std::unique_ptr<EndpointShard[]> shards;  // one per worker, indexed by worker index

  uint64_t Requests() const {
    uint64_t sum = 0;
    for (std::size_t i = 0; i < shard_count; ++i) {
      sum += shards[i].requests.load(std::memory_order_relaxed);
    }
    return sum;
  }
  int64_t Connections() const {
    int64_t sum = 0;
    for (std::size_t i = 0; i < shard_count; ++i) {
      sum += shards[i].connections.load(std::memory_order_relaxed);
    }
    return sum;
  }

  // Any worker: it has just ejected this endpoint for `duration_ms`.
  void RecordEjection(int64_t duration_ms) {
    ejections.fetch_add(1, std::memory_order_relaxed);
    const int64_t until = std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() +
                          duration_ms;
    int64_t seen = ejected_until_unix_ms.load(std::memory_order_relaxed);
    while (seen < until &&
           !ejected_until_unix_ms.compare_exchange_weak(seen, until, std::memory_order_relaxed)) {
    }
  }
};

// Thread-safe map from "host:port" to its shared health. Used when snapshots are built
// (main thread), never per request.
class HealthRegistry {
 public:
  // Before the first Get(): how many workers will index the endpoints' shards.
  void SetWorkerCount(std::size_t workers) { worker_count_ = workers; }

  std::shared_ptr<EndpointHealth> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = by_name_[name];
    if (!slot) slot = std::make_shared<EndpointHealth>(worker_count_);
    return slot;
  }

 private:
  std::size_t worker_count_ = 1;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<EndpointHealth>> by_name_;
};

}  // namespace cutover::proxy
