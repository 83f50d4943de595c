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

std::string FormatPercent(uint64_t basis_points) {
  std::string out = std::to_string(basis_points / 100);
  const uint64_t cents = basis_points % 100;
  if (cents == 0) return out;
  out += '.';
  out += static_cast<char>('0' + cents / 10);
  if (cents % 10 != 0) out += static_cast<char>('0' + cents % 10);
  return out;
}

}  // namespace cutover::routing
