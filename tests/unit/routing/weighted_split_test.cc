#include "routing/weighted_split.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>

namespace cutover::routing {
namespace {

TEST(WeightedSplit, BucketsSweepIntoContiguousRanges) {
  const std::array<uint32_t, 2> weights{9000, 1000};
  for (uint32_t bucket = 0; bucket < kBucketCount; ++bucket) {
    EXPECT_EQ(PoolForBucket(weights, bucket), bucket < 9000 ? 0u : 1u) << bucket;
  }
}

TEST(WeightedSplit, ZeroWeightPoolOwnsNoBucket) {
  const std::array<uint32_t, 3> weights{0, 10000, 0};
  for (uint32_t bucket = 0; bucket < kBucketCount; ++bucket) {
    ASSERT_EQ(PoolForBucket(weights, bucket), 1u);
  }
}

TEST(WeightedSplit, OneBasisPointIsOneBucket) {
  const std::array<uint32_t, 2> weights{9999, 1};
  EXPECT_EQ(PoolForBucket(weights, 9998), 0u);
  EXPECT_EQ(PoolForBucket(weights, 9999), 1u);
}

TEST(WeightedSplit, RaisingSecondPoolOnlyMovesBucketsIntoIt) {
  for (uint32_t green = 0; green < kBucketCount; green += 37) {
    const std::array<uint32_t, 2> before{kBucketCount - green, green};
    const std::array<uint32_t, 2> after{kBucketCount - green - 1, green + 1};
    for (uint32_t bucket = 0; bucket < kBucketCount; bucket += 13) {
      if (PoolForBucket(before, bucket) == 1) {
        ASSERT_EQ(PoolForBucket(after, bucket), 1u);
      }
    }
  }
}

TEST(WeightedSplit, RandomDrawCoversWholeBucketRange) {
  EXPECT_EQ(BucketFromRandom(0), 0u);
  EXPECT_EQ(BucketFromRandom(std::numeric_limits<uint64_t>::max()), kBucketCount - 1);
  EXPECT_EQ(BucketFromRandom(uint64_t{1} << 63), kBucketCount / 2);
}

}  // namespace
}  // namespace cutover::routing
