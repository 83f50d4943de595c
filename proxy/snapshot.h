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

namespace cutover::tls {
class ClientContext;
}

namespace cutover::proxy {

struct ResolvedEndpoint {
  std::string name;  // "host:port" as configured, for logs and pool keys
  std::string host;  // numeric, IPv6 without brackets: verified when TLS has no server_name
  sockaddr_storage address{};
  uint32_t weight = 1;
  std::shared_ptr<EndpointHealth> health;  // shared with the health checker
  // The pool's upstream TLS ([pools.NAME.tls]); null = plain TCP.
  std::shared_ptr<const tls::ClientContext> tls;
};

struct Snapshot {
  Config config;
  std::shared_ptr<const routing::RoutingTable> routing;
  // Parallel to routing->pools(): each pool's endpoints, resolved.
  std::vector<std::vector<ResolvedEndpoint>> endpoints;
  // Parallel to routing->pools(): each pool's TLS context, null for plain TCP. A reload loads
  // new ones (new files take effect, the session cache starts empty); a live routing change
  // keeps them.
  std::vector<std::shared_ptr<const tls::ClientContext>> pool_tls;
};

// Builds a snapshot from a validated config. Returns nullptr and sets *error when an
// endpoint address does not parse, the routing table is rejected, or a pool's TLS files do
// not load (the error then names the pool and the file).
// `health` hands out each endpoint's shared health state (kept across reloads).
std::shared_ptr<const Snapshot> BuildSnapshot(const Config& config, uint64_t version,
                                              HealthRegistry* health, std::string* error);

// Parses a numeric IPv4/IPv6 host ("localhost" means 127.0.0.1) and port.
bool ResolveNumeric(const std::string& host, uint16_t port, sockaddr_storage* out);

}  // namespace cutover::proxy
