// Weighted split: pools own contiguous ranges of the bucket space [0, kBucketCount) in their
// configured order, sized by weight. A bucket is a pure function of its input (a random draw
// per request, or an affinity hash), so the same bucket always lands on the same pool for the
// same weights, and raising a later pool's weight only moves buckets into it (DESIGN §4).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace cutover::routing {

// Weights are percent with two decimals, i.e. basis points: 100 % = 10000.
inline constexpr uint32_t kBucketCount = 10000;

// Returns the index of the pool whose range holds `bucket` (bucket < kBucketCount).
// `basis_points` sum to kBucketCount; a pool with weight 0 owns no bucket.
std::size_t PoolForBucket(std::span<const uint32_t> basis_points, uint32_t bucket);

// Maps a uniformly random 64-bit value onto [0, kBucketCount) without modulo bias worth
// measuring (Lemire's multiply-shift).
constexpr uint32_t BucketFromRandom(uint64_t random) {
  return static_cast<uint32_t>((static_cast<unsigned __int128>(random) * kBucketCount) >> 64);
}

// Basis points as the shortest percent text, for messages and tables: 2000 -> "20",
// 1250 -> "12.5", 1 -> "0.01".
std::string FormatPercent(uint64_t basis_points);

}  // namespace cutover::routing
