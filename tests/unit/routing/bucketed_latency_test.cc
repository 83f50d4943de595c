#include "routing/bucketed_latency.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "routing/guardrail_stats.h"

namespace cutover::routing {
namespace {

// metrics::kLatencyBoundsUs (routing tests do not link metrics/).
constexpr std::array<uint64_t, 14> kBoundsUs = {500,       1'000,     2'500,     5'000,     10'000,
                                                25'000,    50'000,    100'000,   250'000,   500'000,
                                                1'000'000, 2'500'000, 5'000'000, 10'000'000};

using Counts = std::array<uint64_t, kBoundsUs.size() + 1>;

// The expected counts of a lognormal latency (median and sigma of its log) over `total`
// requests: what an enormous sample would show, with no sampling noise.
Counts Lognormal(double median_us, double sigma, double total) {
  Counts counts{};
  double below = 0;
  for (std::size_t i = 0; i < kBoundsUs.size(); ++i) {
    const double cdf = NormalCdf(std::log(kBoundsUs[i] / median_us) / sigma);
    counts[i] = static_cast<uint64_t>(std::llround(total * (cdf - below)));
    below = cdf;
  }
  counts.back() = static_cast<uint64_t>(std::llround(total * (1 - below)));
  return counts;
}

TEST(BucketedLatency, RejectsMismatchedInput) {
  const Counts counts{1, 2, 3};
  EXPECT_TRUE(BucketedLatency(kBoundsUs, counts).valid());
  const std::vector<uint64_t> short_counts(kBoundsUs.size(), 1);
  EXPECT_FALSE(BucketedLatency(kBoundsUs, short_counts).valid());
  const std::array<uint64_t, 2> falling{1000, 500};
  const std::array<uint64_t, 3> three{1, 1, 1};
  EXPECT_FALSE(BucketedLatency(falling, three).valid());
  const std::array<uint64_t, 2> from_zero{0, 500};
  EXPECT_FALSE(BucketedLatency(from_zero, three).valid());
  const BucketedLatency invalid(falling, three);
  EXPECT_EQ(invalid.total(), 0u);
  EXPECT_EQ(invalid.CountAbove(0), 0u);
  EXPECT_EQ(invalid.QuantileUs(0.99), 0);
}

TEST(BucketedLatency, CountsAboveABound) {
  Counts counts{};
  counts[0] = 5;   // <= 0.5 ms
  counts[7] = 3;   // (50, 100] ms
  counts[14] = 2;  // +Inf
  const BucketedLatency latency(kBoundsUs, counts);
  EXPECT_EQ(latency.total(), 10u);
  EXPECT_EQ(latency.CountAbove(0), 5u);
  EXPECT_EQ(latency.CountAbove(6), 5u);   // slower than 50 ms
  EXPECT_EQ(latency.CountAbove(7), 2u);   // slower than 100 ms
  EXPECT_EQ(latency.CountAbove(13), 2u);  // slower than 10 s
}

TEST(BucketedLatency, RecoversLognormalQuantilesBetweenBounds) {
  // p50 20 ms, sigma 0.6: p99 = 20 * exp(0.6 * 2.3263) = 80.8 ms, inside (50, 100] ms,
  // where linear interpolation would answer ~96 ms.
  const double median_us = 20'000;
  const double sigma = 0.6;
  const Counts counts = Lognormal(median_us, sigma, 1e12);
  const BucketedLatency latency(kBoundsUs, counts);
  for (const double q : {0.5, 0.9, 0.99, 0.999}) {
    const double expected = median_us * std::exp(sigma * NormalQuantile(q));
    EXPECT_NEAR(latency.QuantileUs(q) / expected, 1, 1e-6) << q;
  }
  for (const double x_us : {15'000.0, 66'667.0, 80'000.0, 166'667.0}) {
    const double expected = 1 - NormalCdf(std::log(x_us / median_us) / sigma);
    EXPECT_NEAR(latency.ShareAboveUs(x_us) / expected, 1, 1e-5) << x_us;
  }
}

TEST(BucketedLatency, QuantileInTheInfBucketAnswersTheLastBound) {
  Counts counts{};
  counts[3] = 90;
  counts[14] = 10;
  const BucketedLatency latency(kBoundsUs, counts);
  bool beyond = false;
  EXPECT_EQ(latency.QuantileUs(0.95, &beyond), 10'000'000);
  EXPECT_TRUE(beyond);
  latency.QuantileUs(0.5, &beyond);
  EXPECT_FALSE(beyond);
  EXPECT_NEAR(latency.ShareAboveUs(20'000'000), 0.1, 1e-12);
}

TEST(BucketedLatency, FallsBackWhereTheModelHasNoEdges) {
  // Everything in (50, 100] ms: the edge CDFs are 0 and 1, so the bucket is read as
  // uniform in log(latency).
  Counts counts{};
  counts[7] = 100;
  const BucketedLatency latency(kBoundsUs, counts);
  EXPECT_NEAR(latency.QuantileUs(0.5), 50'000 * std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(latency.ShareAboveUs(50'000 * std::sqrt(2.0)), 0.5, 1e-12);
  // The first bucket starts at 0: linear.
  Counts fast{};
  fast[0] = 100;
  const BucketedLatency first(kBoundsUs, fast);
  EXPECT_NEAR(first.QuantileUs(0.5), 250, 1e-9);
  EXPECT_NEAR(first.ShareAboveUs(400), 0.2, 1e-12);
}

TEST(BucketedLatency, EmptyHistogramReadsAsNothing) {
  const Counts counts{};
  const BucketedLatency latency(kBoundsUs, counts);
  EXPECT_TRUE(latency.valid());
  EXPECT_EQ(latency.total(), 0u);
  EXPECT_EQ(latency.QuantileUs(0.99), 0);
  EXPECT_EQ(latency.ShareAboveUs(1000), 0);
}

}  // namespace
}  // namespace cutover::routing
