#include "metrics/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace cutover::metrics {
namespace {

TEST(LatencyHistogram, BoundsForTheExporter) {
  ASSERT_EQ(kLatencyBoundsSeconds.size(), 14u);
  EXPECT_EQ(kLatencyBoundsSeconds.front(), 0.0005);
  EXPECT_EQ(kLatencyBoundsSeconds.back(), 10.0);
  EXPECT_EQ(kLatencyBucketCount, 15u);
}

// Prometheus `le`: a value exactly on a bound belongs to that bound's bucket.
TEST(LatencyHistogram, ValueOnABoundGoesIntoThatBucket) {
  EXPECT_EQ(LatencyBucket(0), 0u);
  EXPECT_EQ(LatencyBucket(500), 0u);
  EXPECT_EQ(LatencyBucket(501), 1u);
  EXPECT_EQ(LatencyBucket(1'000), 1u);
  EXPECT_EQ(LatencyBucket(1'001), 2u);
  EXPECT_EQ(LatencyBucket(2'500), 2u);
  EXPECT_EQ(LatencyBucket(1'000'000), 10u);
  EXPECT_EQ(LatencyBucket(10'000'000), 13u);
  EXPECT_EQ(LatencyBucket(10'000'001), 14u);
  EXPECT_EQ(LatencyBucket(std::numeric_limits<uint64_t>::max()), 14u);
  for (std::size_t i = 0; i < kLatencyBoundsUs.size(); ++i) {
    EXPECT_EQ(LatencyBucket(kLatencyBoundsUs[i]), i) << kLatencyBoundsUs[i];
    EXPECT_EQ(LatencyBucket(kLatencyBoundsUs[i] + 1), i + 1) << kLatencyBoundsUs[i];
  }
}

TEST(LatencyHistogram, RecordCountsBucketsSumAndCount) {
  LatencyHistogram histogram;
  histogram.Record(0);
  histogram.Record(500);
  histogram.Record(501);
  histogram.Record(20'000'000);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.count(), 4u);
  EXPECT_EQ(snapshot.sum_us(), 20'001'001u);
  EXPECT_EQ(snapshot.bucket(0), 2u);
  EXPECT_EQ(snapshot.bucket(1), 1u);
  EXPECT_EQ(snapshot.bucket(14), 1u);
  EXPECT_EQ(snapshot.bucket(2), 0u);
  EXPECT_EQ(snapshot.bucket(15), 0u);  // past the end
}

TEST(LatencyHistogram, MergedShardsEqualOneHistogramFedBothStreams) {
  LatencyHistogram a, b, both;
  std::mt19937_64 random(7);
  std::uniform_int_distribution<uint64_t> duration(0, 12'000'000);
  for (int i = 0; i < 1000; ++i) {
    const uint64_t us = duration(random);
    (i % 3 == 0 ? a : b).Record(us);
    both.Record(us);
  }
  HistogramSnapshot merged = a.Snapshot();
  merged.Merge(b.Snapshot());
  EXPECT_EQ(merged, both.Snapshot());
  EXPECT_EQ(merged.count(), 1000u);
}

TEST(LatencyHistogram, QuantileInterpolatesInsideTheBucket) {
  LatencyHistogram histogram;
  for (int i = 0; i < 4; ++i) histogram.Record(1'500);  // all in (0.001, 0.0025]
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_DOUBLE_EQ(snapshot.Quantile(0.5), 0.00175);
  EXPECT_DOUBLE_EQ(snapshot.Quantile(0.25), 0.001375);
  EXPECT_DOUBLE_EQ(snapshot.Quantile(1.0), 0.0025);
  EXPECT_DOUBLE_EQ(snapshot.Quantile(0.0), 0.001);  // lower edge of the lowest populated bucket
}

TEST(LatencyHistogram, QuantileFirstBucketStartsAtZero) {
  LatencyHistogram histogram;
  histogram.Record(100);
  histogram.Record(100);
  EXPECT_DOUBLE_EQ(histogram.Snapshot().Quantile(0.5), 0.00025);
}

TEST(LatencyHistogram, QuantileAcrossBuckets) {
  LatencyHistogram histogram;
  histogram.Record(400);    // bucket 0
  histogram.Record(700);    // bucket 1
  histogram.Record(3'000);  // bucket 3: (0.0025, 0.005]
  histogram.Record(4'000);  // bucket 3
  // rank 0.75 * 4 = 3: one past the 2 below, half of bucket 3.
  EXPECT_DOUBLE_EQ(histogram.Snapshot().Quantile(0.75), 0.00375);
  // rank 2: the whole of bucket 1.
  EXPECT_DOUBLE_EQ(histogram.Snapshot().Quantile(0.5), 0.001);
}

TEST(LatencyHistogram, QuantileInInfBucketAnswersLastFiniteBound) {
  LatencyHistogram histogram;
  histogram.Record(1'000);
  histogram.Record(60'000'000);
  histogram.Record(60'000'000);
  EXPECT_DOUBLE_EQ(histogram.Snapshot().Quantile(0.9), 10.0);
  EXPECT_DOUBLE_EQ(histogram.Snapshot().Quantile(1.0), 10.0);
}

TEST(LatencyHistogram, QuantileOfEmptyIsZeroAndQIsClamped) {
  EXPECT_EQ(HistogramSnapshot{}.Quantile(0.5), 0.0);
  LatencyHistogram histogram;
  histogram.Record(700);
  histogram.Record(30'000);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_DOUBLE_EQ(snapshot.Quantile(-3), snapshot.Quantile(0));
  EXPECT_DOUBLE_EQ(snapshot.Quantile(7), snapshot.Quantile(1));
  EXPECT_DOUBLE_EQ(snapshot.Quantile(1), 0.05);
  EXPECT_DOUBLE_EQ(snapshot.Quantile(std::nan("")), snapshot.Quantile(0));
}

// The estimate lies in the bucket that holds the exact quantile of the samples.
TEST(LatencyHistogram, QuantileEstimateWithinTheBucketOfTheExactValue) {
  std::mt19937_64 random(20261125);
  std::lognormal_distribution<double> seconds(std::log(0.02), 1.2);  // median 20 ms
  LatencyHistogram histogram;
  std::vector<uint64_t> samples;
  for (int i = 0; i < 10'000; ++i) {
    const auto us = static_cast<uint64_t>(seconds(random) * 1e6);
    samples.push_back(us);
    histogram.Record(us);
  }
  std::sort(samples.begin(), samples.end());
  const HistogramSnapshot snapshot = histogram.Snapshot();
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const auto rank = static_cast<std::size_t>(std::ceil(q * samples.size()));
    const uint64_t exact_us = samples[rank - 1];
    const std::size_t b = LatencyBucket(exact_us);
    ASSERT_LT(b, kLatencyBoundsSeconds.size()) << q;  // the data keeps them finite
    const double lower = b == 0 ? 0.0 : kLatencyBoundsSeconds[b - 1];
    const double estimate = snapshot.Quantile(q);
    EXPECT_GE(estimate, lower) << "q=" << q << " exact_us=" << exact_us;
    EXPECT_LE(estimate, kLatencyBoundsSeconds[b]) << "q=" << q << " exact_us=" << exact_us;
  }
}

}  // namespace
}  // namespace cutover::metrics
