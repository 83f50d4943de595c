// Choosing an endpoint inside a pool. Pure: the caller owns the per-worker state (round
// robin counters, in-flight counts, health) and passes randomness in.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace cutover::routing {

enum class BalanceMode : uint8_t { kRoundRobin, kPowerOfTwo };

struct EndpointLoad {
  uint32_t weight = 1;     // configured weight (0 = never chosen)
  uint32_t in_flight = 0;  // requests this worker has outstanding on it
  bool available = true;   // healthy and not ejected
};

// Smooth weighted round robin (the nginx algorithm): spreads picks evenly in proportion to
// weight with no bursts. One per pool per worker; not thread-safe.
class WeightedRoundRobin {
 public:
  // Returns the index of the chosen endpoint, or -1 if none is available.
  int Pick(std::span<const EndpointLoad> endpoints);

 private:
  std::vector<int64_t> current_;
};

// Power of two choices: two distinct available endpoints drawn at random (weighted), the
// one with fewer in-flight requests (relative to weight) wins. -1 if none is available.
int PickPowerOfTwo(std::span<const EndpointLoad> endpoints, uint64_t random);

}  // namespace cutover::routing
