// A latency histogram as the guardrails read it (DESIGN §5): counts per bucket over finite
// upper bounds in microseconds (Prometheus `le`: a request of exactly a bound's duration is
// in that bound's bucket), the last bucket being +Inf. routing/ does not include metrics/,
// so the caller hands the bounds and counts over as plain spans.
//
// Counts above a bound are exact; anything between two bounds is a model. The model here
// is "lognormal inside each bucket": the normal quantile (probit) of the CDF is taken as
// linear in log(latency) between the bucket's two edges, which is exact for lognormal
// latencies and close for the usual right-skewed ones, where linear interpolation (what
// Prometheus' histogram_quantile does) overstates a tail quantile by up to the bucket's
// width, i.e. by 2 to 2.5x with these bounds. Where an edge's CDF is 0 or 1 the probit is
// infinite and the bucket falls back to linear interpolation in log(latency); the first
// bucket, starting at 0, to linear interpolation.
//
// A non-owning view: the spans must outlive it. Pure, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace cutover::routing {

class BucketedLatency {
 public:
  // `counts` holds bounds_us.size() + 1 buckets (the last is +Inf) and bounds_us rises
  // strictly from a positive first bound; otherwise the view is invalid and reads as empty.
  BucketedLatency(std::span<const uint64_t> bounds_us, std::span<const uint64_t> counts);

  bool valid() const { return valid_; }
  uint64_t total() const { return total_; }
  std::size_t bound_count() const { return bounds_us_.size(); }
  uint64_t bound_us(std::size_t bound) const { return bounds_us_[bound]; }

  // Requests slower than bounds_us[bound] (in later buckets, +Inf included).
  uint64_t CountAbove(std::size_t bound) const;

  // Estimated q-quantile in microseconds under the model above; 0 when empty. A quantile
  // in the +Inf bucket answers the last finite bound and sets *beyond_last_bound.
  double QuantileUs(double q, bool* beyond_last_bound = nullptr) const;

  // Estimated share of requests slower than x_us under the model. Beyond the last finite
  // bound the share above that bound is all we know, and is what this answers.
  double ShareAboveUs(double x_us) const;

 private:
  // Share of requests at or below bounds_us[bound]: the CDF at that edge.
  double CdfAt(std::size_t bound) const;

  std::span<const uint64_t> bounds_us_;
  std::span<const uint64_t> counts_;
  uint64_t total_ = 0;
  bool valid_ = false;
};

}  // namespace cutover::routing
