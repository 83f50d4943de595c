// Per-worker request counters. Owned by one worker thread, which alone writes them with
// plain (relaxed atomic) stores; readers on other threads load and sum the shards, so the
// hot path takes no lock and shares no cache line with other workers (HAProxy's habit).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include "metrics/request_record.h"

namespace cutover::metrics {

// Index of a status class: 0 for "no status", 1..5 for 1xx..5xx.
constexpr std::size_t StatusClass(uint16_t status) {
  return status >= 100 && status < 600 ? status / 100 : 0;
}

struct PoolCounters {
  std::array<std::atomic<uint64_t>, 6> requests_by_class{};
  std::atomic<uint64_t> upstream_errors{0};
  std::atomic<uint64_t> bytes_in{0};
  std::atomic<uint64_t> bytes_out{0};
};

class WorkerCounters {
 public:
  explicit WorkerCounters(std::size_t pool_count) : pools_(pool_count) {}
  WorkerCounters(const WorkerCounters&) = delete;
  WorkerCounters& operator=(const WorkerCounters&) = delete;

  // Called by the owning worker only.
  void Record(const RequestRecord& record);

  std::size_t pool_count() const { return pools_.size(); }
  uint64_t Requests(std::size_t pool) const;  // all classes
  uint64_t RequestsInClass(std::size_t pool, std::size_t status_class) const;

 private:
  std::vector<PoolCounters> pools_;
};

}  // namespace cutover::metrics
