// Failover (DESIGN §4): when a pool has no available endpoint, its policy either sends its
// traffic elsewhere ("other-pool": the baseline first, as the known-good pool, else the
// first available pool in order) or answers 503.
#include "routing/routing_table.h"

namespace cutover::routing {
namespace {

// `available` is parallel to the pools; empty means all are available. A pool past its end
// counts as available, so a short span from the caller degrades to "no failover", not 503.
bool IsAvailable(std::span<const bool> available, std::size_t pool) {
  return pool >= available.size() || available[pool];
}

}  // namespace

int RoutingTable::FailoverPool(uint32_t from, std::span<const bool> available) const {
  const auto& pools = spec_.pools;
  if (from >= pools.size() || pools[from].failover == FailoverPolicy::kUnavailable) return -1;
  if (baseline_ >= 0 && static_cast<uint32_t>(baseline_) != from &&
      IsAvailable(available, static_cast<std::size_t>(baseline_))) {
    return baseline_;
  }
  for (std::size_t pool = 0; pool < pools.size(); ++pool) {
    if (pool != from && IsAvailable(available, pool)) return static_cast<int>(pool);
  }
  return -1;
}

void RoutingTable::ApplyFailover(std::span<const bool> available, Decision* decision) const {
  if (available.empty() || IsAvailable(available, decision->pool)) return;
  decision->write_pin = false;  // never pin a session to where it was only sent in need
  decision->rule = -1;
  const int target = FailoverPool(decision->pool, available);
  if (target >= 0) {
    decision->pool = static_cast<uint32_t>(target);
    decision->reason = RouteReason::kFailover;
  } else {
    decision->unavailable = true;
    decision->reason = RouteReason::kUnavailable;
  }
}

}  // namespace cutover::routing
