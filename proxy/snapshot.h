// What a worker runs with: the loaded config, the routing table built from it, and every
// endpoint's resolved socket address. Immutable once built; published to workers as a
// shared_ptr<const Snapshot> (STYLE.md: snapshots, not locks).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/endpoint_health.h"
#include "routing/routing_table.h"

namespace cutover::proxy {

struct ResolvedEndpoint {
  std::string name;  // "host:port" as configured, for logs and pool keys
  sockaddr_storage address{};
  uint32_t weight = 1;
  std::shared_ptr<EndpointHealth> health;  // shared with the health checker
};

struct Snapshot {
  Config config;
  std::shared_ptr<const routing::RoutingTable> routing;
  // Parallel to routing->pools(): each pool's endpoints, resolved.
  std::vector<std::vector<ResolvedEndpoint>> endpoints;
};

// Builds a snapshot from a validated config. Returns nullptr and sets *error when an
// endpoint address does not parse or the routing table is rejected.
// `health` hands out each endpoint's shared health state (kept across reloads).
std::shared_ptr<const Snapshot> BuildSnapshot(const Config& config, uint64_t version,
                                              HealthRegistry* health, std::string* error);

// Parses a numeric IPv4/IPv6 host ("localhost" means 127.0.0.1) and port.
bool ResolveNumeric(const std::string& host, uint16_t port, sockaddr_storage* out);

}  // namespace cutover::proxy
