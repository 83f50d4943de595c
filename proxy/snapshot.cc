#include "proxy/snapshot.h"

#include <arpa/inet.h>

#include <cstring>

#include "proxy/upstream_tls.h"
#include "tls/client_context.h"

namespace cutover::proxy {

bool ResolveNumeric(const std::string& host, uint16_t port, sockaddr_storage* out) {
  std::memset(out, 0, sizeof *out);
  const std::string numeric = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, numeric.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, numeric.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return true;
  }
  return false;
}

std::shared_ptr<const Snapshot> BuildSnapshot(const Config& config, uint64_t version,
                                              HealthRegistry* health, std::string* error) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->config = config;
  snapshot->routing = routing::RoutingTable::Build(config.routing, version, error);
  if (!snapshot->routing) return nullptr;
  for (const routing::PoolSpec& pool : snapshot->routing->pools()) {
    std::shared_ptr<const tls::ClientContext> tls;
    if (auto found = config.upstream_tls.find(pool.name); found != config.upstream_tls.end()) {
      tls = LoadUpstreamTls(pool.name, found->second, error);
      if (!tls) return nullptr;
    }
    snapshot->pool_tls.push_back(tls);
    auto& resolved = snapshot->endpoints.emplace_back();
    for (const routing::EndpointSpec& endpoint : pool.endpoints) {
      ResolvedEndpoint r;
      const bool v6 = endpoint.host.find(':') != std::string::npos;
      r.name =
          (v6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + std::to_string(endpoint.port);
      if (!ResolveNumeric(endpoint.host, endpoint.port, &r.address)) {
        *error = "pool '" + pool.name + "': endpoint '" + r.name + "' is not a numeric address";
        return nullptr;
      }
      r.host = endpoint.host;
      r.weight = endpoint.weight;
      r.health = health->Get(r.name);
      r.tls = tls;
      resolved.push_back(std::move(r));
    }
  }
  return snapshot;
}

}  // namespace cutover::proxy
