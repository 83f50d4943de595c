// Per-pool sliding window of recent requests (DESIGN §5): error rate and p50/p90/p99 over any
// window up to slot_ms * slot_count (10 min by default) for `GET /v1/compare`, the dashboard
// and the guardrails. Time is always a parameter, in milliseconds of a monotonic clock.
//
// Ownership: one SlidingWindow per pool per worker, owned by that worker, which alone calls
// Record(). Any thread may call Read() and gets a plain WindowSnapshot; shards of several
// workers are summed with WindowSnapshot::Merge().
//
// Concurrency: slot fields are relaxed atomics and each slot carries the epoch (slot start /
// slot_ms) it holds, so a reader takes only the slots whose epoch lies inside its window and
// never reads out of bounds. A read racing with the writer may miss or include one request
// that is half recorded, or see a slot being reused as empty; for a dashboard and for
// guardrails that need many requests anyway, that is acceptable, a lock on the request path
// is not.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "metrics/latency_histogram.h"
#include "metrics/status_class.h"

namespace cutover::metrics {

struct WindowSnapshot {
  std::array<uint64_t, kStatusClassCount> requests_by_class{};
  HistogramSnapshot latency;  // bucket counts only: slots keep no sum, so sum_us() is 0
  int64_t covered_ms = 0;     // from the start of the oldest slot read to `now`

  // Sums another worker's shard; the workers read the same span, so covered_ms is the longer.
  void Merge(const WindowSnapshot& other);

  uint64_t Requests() const;  // every class, "no status" included
  // Share of 5xx among requests that got a status. Requests without one (the client went
  // away before an answer) are left out: they say nothing about the pool. 0 when none.
  double ErrorRate() const;
  // All requests over covered_ms; 0 when nothing is covered yet.
  double RequestsPerSecond() const;
};

class SlidingWindow {
 public:
  static constexpr int64_t kDefaultSlotMs = 10'000;
  static constexpr std::size_t kDefaultSlotCount = 60;

  // slot_ms and slot_count are raised to 1 if smaller.
  explicit SlidingWindow(int64_t slot_ms = kDefaultSlotMs,
                         std::size_t slot_count = kDefaultSlotCount);
  SlidingWindow(const SlidingWindow&) = delete;
  SlidingWindow& operator=(const SlidingWindow&) = delete;

  // Owning worker only. `status` 0 means no status was sent. A `now_ms` older than the last
  // one recorded (clock step between calls) counts in the current slot.
  void Record(int64_t now_ms, uint16_t status, uint64_t duration_us) {
    RecordInBucket(now_ms, status, LatencyBucket(duration_us));
  }
  // The same with LatencyBucket(duration_us) already computed.
  void RecordInBucket(int64_t now_ms, uint16_t status, std::size_t latency_bucket);

  // Any thread. The current, partial slot is always read; older slots are read when their
  // start is at or after now_ms - window_ms, up to the whole ring.
  WindowSnapshot Read(int64_t now_ms, int64_t window_ms) const;

  // Any thread. The same slots as Read(), one snapshot each, oldest first, each merged into
  // the matching entry of `series` (resized to the slot count), so several workers' shards
  // sum by passing the same vector. Idle slots read as zeroes; covered_ms is the slot's span
  // up to now_ms (shorter for the current, partial slot).
  void ReadSeries(int64_t now_ms, int64_t window_ms, std::vector<WindowSnapshot>* series) const;

  int64_t slot_ms() const { return slot_ms_; }
  std::size_t slot_count() const { return slot_count_; }

 private:
  static constexpr int64_t kNoEpoch = -1;

  struct Slot {
    std::atomic<int64_t> epoch{kNoEpoch};
    std::array<std::atomic<uint64_t>, kStatusClassCount> requests_by_class{};
    std::array<std::atomic<uint64_t>, kLatencyBucketCount> latency{};
  };

  void Rotate(int64_t epoch);
  // Slots Read() and ReadSeries() cover: the current one, then older ones that start at or
  // after now_ms - window_ms, up to the whole ring.
  std::size_t SlotsInWindow(int64_t now_ms, int64_t window_ms) const;
  void ReadSlot(const Slot& slot, int64_t epoch, WindowSnapshot& into) const;

  const int64_t slot_ms_;
  const std::size_t slot_count_;
  std::unique_ptr<Slot[]> slots_;
  // Writer only: the slot being filled, and where the next one starts (0 = none yet).
  int64_t current_epoch_ = kNoEpoch;
  Slot* current_slot_ = nullptr;
  int64_t next_slot_start_ms_ = 0;
};

}  // namespace cutover::metrics
