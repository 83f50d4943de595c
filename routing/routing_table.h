// The routing snapshot: an immutable value built and validated once, then shared read-only
// by every worker. A worker asks it one question per request, Decide(), and gets a plain
// value back. Pure: no I/O, no clock, no randomness of its own (the caller passes the draw).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cutover::routing {

struct EndpointSpec {
  std::string host;  // numeric IPv4/IPv6 address or a name resolved at load time
  uint16_t port = 0;
  uint32_t weight = 1;
};

struct PoolSpec {
  std::string name;
  std::vector<EndpointSpec> endpoints;
  uint32_t basis_points = 0;  // share of traffic, 10000 = 100 %
};

struct RoutingSpec {
  std::vector<PoolSpec> pools;  // order fixes the bucket ranges
  std::string baseline;
  std::string candidate;
};

enum class RouteReason : uint8_t { kWeight };

std::string_view RouteReasonName(RouteReason reason);

struct Decision {
  uint32_t pool = 0;  // index into RoutingTable::pools()
  RouteReason reason = RouteReason::kWeight;
};

class RoutingTable {
 public:
  // Validates `spec` completely; on failure returns nullptr and fills `error`.
  static std::shared_ptr<const RoutingTable> Build(RoutingSpec spec, uint64_t version,
                                                   std::string* error);

  // `random` is a uniformly random 64-bit draw supplied by the caller.
  Decision Decide(uint64_t random) const;

  uint64_t version() const { return version_; }
  const std::vector<PoolSpec>& pools() const { return spec_.pools; }
  const std::string& baseline() const { return spec_.baseline; }
  const std::string& candidate() const { return spec_.candidate; }
  // Index of the pool named `name`, or -1.
  int PoolIndex(std::string_view name) const;

 private:
  RoutingTable(RoutingSpec spec, uint64_t version);

  RoutingSpec spec_;
  uint64_t version_;
  std::vector<uint32_t> basis_points_;  // parallel to spec_.pools, for the hot path
};

}  // namespace cutover::routing
