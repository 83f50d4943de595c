#include "routing/routing_table.h"

#include "routing/weighted_split.h"

namespace cutover::routing {

std::string_view RouteReasonName(RouteReason reason) {
  switch (reason) {
    case RouteReason::kWeight:
      return "weight";
  }
  return "unknown";
}

std::shared_ptr<const RoutingTable> RoutingTable::Build(RoutingSpec spec, uint64_t version,
                                                        std::string* error) {
  if (spec.pools.empty()) {
    *error = "at least one pool is required";
    return nullptr;
  }
  uint64_t sum = 0;
  for (std::size_t i = 0; i < spec.pools.size(); ++i) {
    const PoolSpec& pool = spec.pools[i];
    if (pool.name.empty()) {
      *error = "a pool has an empty name";
      return nullptr;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (spec.pools[j].name == pool.name) {
        *error = "pool '" + pool.name + "' is defined twice";
        return nullptr;
      }
    }
    if (pool.basis_points > 0 && pool.endpoints.empty()) {
      *error = "pool '" + pool.name + "' has weight but no endpoints";
      return nullptr;
    }
    sum += pool.basis_points;
  }
  if (sum != kBucketCount) {
    *error = "weights must sum to 100 (they sum to " + std::to_string(sum / 100) + "." +
             std::to_string(sum % 100 / 10) + std::to_string(sum % 10) + ")";
    return nullptr;
  }
  auto known = [&spec](const std::string& name) {
    for (const PoolSpec& pool : spec.pools)
      if (pool.name == name) return true;
    return false;
  };
  if (!spec.baseline.empty() && !known(spec.baseline)) {
    *error = "baseline '" + spec.baseline + "' is not a pool";
    return nullptr;
  }
  if (!spec.candidate.empty() && !known(spec.candidate)) {
    *error = "candidate '" + spec.candidate + "' is not a pool";
    return nullptr;
  }
  return std::shared_ptr<const RoutingTable>(new RoutingTable(std::move(spec), version));
}

RoutingTable::RoutingTable(RoutingSpec spec, uint64_t version)
    : spec_(std::move(spec)), version_(version) {
  basis_points_.reserve(spec_.pools.size());
  for (const PoolSpec& pool : spec_.pools) basis_points_.push_back(pool.basis_points);
}

Decision RoutingTable::Decide(uint64_t random) const {
  const auto pool = PoolForBucket(basis_points_, BucketFromRandom(random));
  return Decision{static_cast<uint32_t>(pool), RouteReason::kWeight};
}

int RoutingTable::PoolIndex(std::string_view name) const {
  for (std::size_t i = 0; i < spec_.pools.size(); ++i)
    if (spec_.pools[i].name == name) return static_cast<int>(i);
  return -1;
}

}  // namespace cutover::routing
