#include "routing/weighted_split.h"

namespace cutover::routing {

std::size_t PoolForBucket(std::span<const uint32_t> basis_points, uint32_t bucket) {
  uint32_t upper = 0;
  std::size_t last_weighted = 0;
  for (std::size_t i = 0; i < basis_points.size(); ++i) {
    if (basis_points[i] == 0) continue;
    upper += basis_points[i];
    last_weighted = i;
    if (bucket < upper) return i;
  }
  // Only reachable when the weights do not cover the bucket (a table validated at build
  // time always sums to kBucketCount); the last weighted pool is the safe answer.
  return last_weighted;
}

}  // namespace cutover::routing
