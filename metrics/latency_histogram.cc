#include "metrics/latency_histogram.h"

#include <algorithm>
#include <cmath>

#include "metrics/single_writer.h"

namespace cutover::metrics {
namespace {

// The exporter prints the seconds and Record() compares the microseconds: they must agree.
constexpr bool BoundsAgree() {
  for (std::size_t i = 0; i < kLatencyBoundsUs.size(); ++i) {
    const double diff = kLatencyBoundsSeconds[i] * 1e6 - static_cast<double>(kLatencyBoundsUs[i]);
    if (diff > 0.5 || diff < -0.5) return false;
    if (i > 0 && kLatencyBoundsUs[i] <= kLatencyBoundsUs[i - 1]) return false;
  }
  return true;
}
static_assert(BoundsAgree(), "kLatencyBoundsSeconds and kLatencyBoundsUs disagree");

}  // namespace

void HistogramSnapshot::Add(std::size_t bucket, uint64_t n, uint64_t sum_us) {
  if (bucket < buckets_.size()) buckets_[bucket] += n;
  sum_us_ += sum_us;
}

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  sum_us_ += other.sum_us_;
}

uint64_t HistogramSnapshot::count() const {
  uint64_t total = 0;
  for (uint64_t n : buckets_) total += n;
  return total;
}

uint64_t HistogramSnapshot::bucket(std::size_t index) const {
  return index < buckets_.size() ? buckets_[index] : 0;
}

double HistogramSnapshot::Quantile(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  q = std::isnan(q) ? 0.0 : std::clamp(q, 0.0, 1.0);  // clamp alone would pass NaN through
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;  // observations in the buckets before `i`
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    const uint64_t in_bucket = buckets_[i];
    // Skipping empty buckets keeps q = 0 off a 0/0 and answers the lowest populated bucket.
    if (in_bucket == 0 || static_cast<double>(below + in_bucket) < rank) {
      below += in_bucket;
      continue;
    }
    if (i == kLatencyBoundsSeconds.size()) return kLatencyBoundsSeconds.back();
    const double lower = i == 0 ? 0.0 : kLatencyBoundsSeconds[i - 1];
    const double upper = kLatencyBoundsSeconds[i];
    const double fraction = (rank - static_cast<double>(below)) / static_cast<double>(in_bucket);
    return lower + (upper - lower) * fraction;
  }
  return kLatencyBoundsSeconds.back();  // unreachable: rank <= total
}

void LatencyHistogram::RecordInBucket(std::size_t bucket, uint64_t duration_us) {
  Bump(buckets_[bucket], 1);
  Bump(sum_us_, duration_us);
}

HistogramSnapshot LatencyHistogram::Snapshot() const {
  HistogramSnapshot snapshot;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    snapshot.Add(i, buckets_[i].load(std::memory_order_relaxed));
  }
  snapshot.Add(0, 0, sum_us_.load(std::memory_order_relaxed));
  return snapshot;
}

}  // namespace cutover::metrics
