// Fixed-bucket request latency histogram (DESIGN §5), shaped like a Prometheus histogram so
// the exporter can emit `_bucket{le=...}`, `_sum` and `_count` without translation.
//
// Ownership: a LatencyHistogram is owned by one worker thread, which alone calls Record();
// any thread may call Snapshot() and gets a plain value. Every field is a relaxed atomic
// written with load + store (single writer, so no lock prefix on the hot path), which makes a
// concurrent Snapshot() free of data races; it may see one request in a bucket but not yet in
// the sum, which is harmless for a scrape.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace cutover::metrics {

// Finite upper bounds in seconds, roughly three per decade from 0.5 ms to 10 s. The exporter
// prints these as `le` labels and adds the implicit +Inf bucket.
inline constexpr std::array<double, 14> kLatencyBoundsSeconds = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// The same bounds in whole microseconds: Record() compares integers, so a duration exactly on
// a bound lands in that bound's bucket (Prometheus `le`) without floating-point doubt.
inline constexpr std::array<uint64_t, kLatencyBoundsSeconds.size()> kLatencyBoundsUs = {
    500,     1'000,   2'500,   5'000,     10'000,    25'000,    50'000,
    100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};

// Finite buckets plus +Inf.
inline constexpr std::size_t kLatencyBucketCount = kLatencyBoundsSeconds.size() + 1;

// Index of the bucket for a duration: the first bound >= duration_us, or the +Inf bucket.
// The scan stops at that bound: a proxy's requests mostly land in the first few buckets, so
// this is one or two well-predicted compares where counting all 14 bounds cost ~70
// instructions (measured with callgrind, docs/benchmarks.md#metrics-cost).
constexpr std::size_t LatencyBucket(uint64_t duration_us) {
  std::size_t index = 0;
  while (index < kLatencyBoundsUs.size() && duration_us > kLatencyBoundsUs[index]) ++index;
  return index;
}

// A plain copy of a histogram: per-bucket (not cumulative) counts and the sum. Shards from
// several workers are summed with Merge() by the reader (HAProxy and Envoy's habit).
class HistogramSnapshot {
 public:
  // Adds `n` observations to a bucket and `sum_us` to the sum; used by Snapshot() and by
  // sliding windows, whose slots keep no sum.
  void Add(std::size_t bucket, uint64_t n, uint64_t sum_us = 0);
  void Merge(const HistogramSnapshot& other);

  uint64_t count() const;
  uint64_t sum_us() const { return sum_us_; }
  // Observations in one bucket (kLatencyBucketCount - 1 is +Inf); 0 past the end.
  uint64_t bucket(std::size_t index) const;

  // Estimated q-quantile in seconds, as Prometheus histogram_quantile() computes it: linear
  // interpolation inside the bucket holding rank q * count, the first bucket starting at 0,
  // and the +Inf bucket answering with the last finite bound (we cannot know more). q is
  // clamped to [0, 1]; an empty histogram answers 0.
  double Quantile(double q) const;

  friend bool operator==(const HistogramSnapshot&, const HistogramSnapshot&) = default;

 private:
  std::array<uint64_t, kLatencyBucketCount> buckets_{};
  uint64_t sum_us_ = 0;
};

class LatencyHistogram {
 public:
  LatencyHistogram() = default;
  LatencyHistogram(const LatencyHistogram&) = delete;
  LatencyHistogram& operator=(const LatencyHistogram&) = delete;

  // Owning worker only. RecordInBucket takes LatencyBucket(duration_us) already computed,
  // for a caller that files the same duration in several places.
  void Record(uint64_t duration_us) { RecordInBucket(LatencyBucket(duration_us), duration_us); }
  void RecordInBucket(std::size_t bucket, uint64_t duration_us);
  // Any thread.
  HistogramSnapshot Snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kLatencyBucketCount> buckets_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace cutover::metrics
