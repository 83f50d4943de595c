#include "routing/bucketed_latency.h"

#include <algorithm>
#include <cmath>

#include "routing/guardrail_stats.h"

namespace cutover::routing {
namespace {

// Position (0 at `low`, 1 at `high`) of the value whose CDF is `cdf` inside a bucket whose
// edges have CDFs cdf_low < cdf_high, under the lognormal-inside-the-bucket model.
double PositionOfCdf(double cdf_low, double cdf_high, double cdf) {
  const double z_low = NormalQuantile(cdf_low);
  const double z_high = NormalQuantile(cdf_high);
  if (cdf_low > 0 && cdf_high < 1 && z_high > z_low) {
    return (NormalQuantile(cdf) - z_low) / (z_high - z_low);
  }
  return (cdf - cdf_low) / (cdf_high - cdf_low);
}

// The inverse: the CDF at a position inside the bucket.
double CdfAtPosition(double cdf_low, double cdf_high, double position) {
  if (cdf_high <= cdf_low) return cdf_low;
  const double z_low = NormalQuantile(cdf_low);
  const double z_high = NormalQuantile(cdf_high);
  if (cdf_low > 0 && cdf_high < 1 && z_high > z_low) {
    return NormalCdf(z_low + position * (z_high - z_low));
  }
  return cdf_low + position * (cdf_high - cdf_low);
}

}  // namespace

BucketedLatency::BucketedLatency(std::span<const uint64_t> bounds_us,
                                 std::span<const uint64_t> counts)
    : bounds_us_(bounds_us), counts_(counts) {
  valid_ = !bounds_us.empty() && counts.size() == bounds_us.size() + 1 && bounds_us[0] > 0;
  for (std::size_t i = 1; valid_ && i < bounds_us.size(); ++i) {
    valid_ = bounds_us[i] > bounds_us[i - 1];
  }
  if (!valid_) return;
  for (const uint64_t count : counts) total_ += count;
}

uint64_t BucketedLatency::CountAbove(std::size_t bound) const {
  if (!valid_) return 0;
  uint64_t above = 0;
  for (std::size_t i = bound + 1; i < counts_.size(); ++i) above += counts_[i];
  return above;
}

double BucketedLatency::CdfAt(std::size_t bound) const {
  return 1 - static_cast<double>(CountAbove(bound)) / static_cast<double>(total_);
}

double BucketedLatency::QuantileUs(double q, bool* beyond_last_bound) const {
  if (beyond_last_bound != nullptr) *beyond_last_bound = false;
  if (!valid_ || total_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  double cdf_low = 0;
  for (std::size_t bound = 0; bound < bounds_us_.size(); ++bound) {
    const double cdf_high = CdfAt(bound);
    if (cdf_high >= q && cdf_high > cdf_low) {
      const double high = static_cast<double>(bounds_us_[bound]);
      if (bound == 0) return high * (q - cdf_low) / (cdf_high - cdf_low);
      const double low = static_cast<double>(bounds_us_[bound - 1]);
      const double position = std::clamp(PositionOfCdf(cdf_low, cdf_high, q), 0.0, 1.0);
      return low * std::pow(high / low, position);
    }
    cdf_low = cdf_high;
  }
  if (beyond_last_bound != nullptr) *beyond_last_bound = true;
  return static_cast<double>(bounds_us_.back());
}

double BucketedLatency::ShareAboveUs(double x_us) const {
  if (!valid_ || total_ == 0) return 0;
  std::size_t bound = 0;
  while (bound < bounds_us_.size() && static_cast<double>(bounds_us_[bound]) < x_us) ++bound;
  if (bound == bounds_us_.size()) return 1 - CdfAt(bound - 1);
  const double high = static_cast<double>(bounds_us_[bound]);
  const double cdf_high = CdfAt(bound);
  if (x_us >= high) return 1 - cdf_high;
  if (bound == 0) return 1 - cdf_high * std::max(x_us, 0.0) / high;
  const double low = static_cast<double>(bounds_us_[bound - 1]);
  const double cdf_low = CdfAt(bound - 1);
  const double position = std::log(x_us / low) / std::log(high / low);
  return 1 - CdfAtPosition(cdf_low, cdf_high, position);
}

}  // namespace cutover::routing
