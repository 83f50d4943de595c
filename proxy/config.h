// The proxy's configuration as loaded from TOML (DESIGN §10). A plain value: the loader
// (config_loader.h) builds and validates it; nothing else parses TOML.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "routing/guardrail.h"
#include "routing/routing_table.h"

namespace cutover::proxy {

using Millis = std::chrono::milliseconds;

// `[listener.tls]`: terminate TLS on the listener. The files are read when the proxy starts
// or reloads (tls::ServerContext), not by the loader, so `cutover check` reports them too
// through the same path.
struct ListenerTlsConfig {
  bool enabled = false;
  struct Certificate {
    std::string cert;  // PEM: the certificate, then its chain
    std::string key;   // PEM private key
  };
  std::vector<Certificate> certificates;  // the first is the default; SNI picks by name
  std::string min_version = "1.2";        // "1.2" or "1.3"
  std::string ciphers;                    // TLS 1.2 cipher list; "" = modern default
  std::string ciphersuites;               // TLS 1.3 suites; "" = OpenSSL's default
};

// `[admin.tls]`: the admin TCP listener speaks TLS, optionally asking clients for a certificate
// that names them (docs/tls.md, "Admin over TLS"). The files are read by the Server, like
// [listener.tls]'s.
struct AdminTlsConfig {
  ListenerTlsConfig server;    // the keys [listener.tls] has: certificates, min_version, ...
  std::string client_ca_file;  // "" = no client certificates asked for
  bool require_client_certificate = false;  // refuse the handshake without one
  // A verified client certificate's subject CN -> "viewer", "operator" or "admin" (checked by
  // the loader), in file order.
  std::vector<std::pair<std::string, std::string>> client_roles;
};

// `[pools.NAME.tls]`: TLS to every endpoint of the pool. Like the listener's, the files are
// read when a snapshot is built (proxy/upstream_tls.h), so `cutover check`, a start and a
// reload all load them the same way.
struct UpstreamTlsConfig {
  std::string ca_file;      // PEM bundle the peer is verified against; "" = the system store
  std::string server_name;  // SNI and the verified name; "" = each endpoint's host (an IP)
  std::string cert;         // client certificate (mTLS), with `key`; "" = none
  std::string key;
  bool verify = true;               // false: anyone on the path can impersonate the upstream
  std::string min_version = "1.2";  // "1.2" or "1.3"
};

struct ListenerConfig {
  std::string host = "0.0.0.0";  // numeric address; "[::]" style brackets removed
  uint16_t port = 8080;
  unsigned workers = 0;  // 0 = one per core (resolved by the loader)
  ListenerTlsConfig tls;
};

struct TimeoutConfig {
  Millis header_read{10'000};        // first byte of a request head to its end
  Millis idle{60'000};               // between requests on a keep-alive client connection
  Millis upstream_connect{2'000};    // TCP connect to an endpoint
  Millis upstream_response{30'000};  // request sent to response head complete; also between
                                     // reads of an upstream response body
  Millis upstream_idle{30'000};      // a pooled idle upstream connection lives this long
  Millis tunnel_idle{300'000};       // an upgraded (WebSocket) tunnel with no traffic
  Millis drain{30'000};              // SIGTERM: how long in-flight requests may finish
};

struct LimitConfig {
  uint32_t header_bytes = 16384;  // request line + headers
  uint32_t header_count = 100;
  uint32_t uri_bytes = 8192;
  uint64_t body_bytes = 0;                   // 0 = unlimited
  uint32_t connections = 0;                  // per worker; 0 = unlimited
  uint32_t upstream_idle_per_endpoint = 64;  // pooled idle connections per endpoint per worker
};

struct LogConfig {
  bool access = false;            // one JSON line per request
  std::string access_path = "-";  // "-" = stdout
  std::string level = "info";     // error | warn | info | debug
};

struct HeaderConfig {
  bool x_forwarded_for = true;    // append the client address
  bool x_forwarded_proto = true;  // set to the listener's scheme
  bool x_cutover_pool = false;    // response header X-Cutover-Pool naming the pool that answered
};

// The admin API (DESIGN §6, docs/admin-api.md). Off unless the config has an [admin] section:
// the paths below default to system directories a test or a laptop may not have.
struct AdminConfig {
  bool enabled = false;
  std::string socket = "/run/cutover/admin.sock";  // "" = no Unix socket
  std::vector<uint32_t> allow_uids;                // besides root and the proxy's own uid
  std::string host;                                // TCP listener; empty = none
  uint16_t port = 0;
  std::string tokens_file;  // bearer tokens for TCP callers; required with a TCP address
                            // unless every caller must show a client certificate
  AdminTlsConfig tls;       // the TCP listener's TLS; tls.server.enabled = on
  std::string state_file = "/var/lib/cutover/state.json";  // "" = live changes not persisted
  std::string audit_log = "/var/log/cutover/audit.log";    // "" = no audit trail
  uint32_t body_bytes = 65536;                             // larger request bodies get 413
};

// `[metrics]`: an optional listener that serves only GET /metrics, without credentials.
struct MetricsConfig {
  std::string host;  // empty = none (scrape the admin listener instead)
  uint16_t port = 0;
};

// `[guardrails]` (docs/guardrails.md): statistical verdicts on the candidate against the
// baseline, evaluated every `interval` over the last `window`. Without the section the verdict
// is still computed and shown (and gates a rollout's steps), but nothing acts on a breach.
struct GuardrailsConfig {
  enum class Action : uint8_t { kRollback, kPause };

  bool enabled = false;  // the section is present
  Millis window{30'000};
  Millis interval{1'000};
  routing::GuardrailSpec spec;
  Action action = Action::kRollback;
};

// `[rollout]` (docs/guardrails.md): what a finished migration looks like.
struct RolloutConfig {
  // The candidate at 100 % for this long: the cutover is complete, and the API and `ctl status`
  // suggest the next step.
  Millis complete_after{600'000};
};

struct Config {
  ListenerConfig listener;
  AdminConfig admin;
  MetricsConfig metrics;
  // Pools in configuration order, with weights; baseline/candidate names.
  routing::RoutingSpec routing;
  // Pools that speak TLS to their endpoints, by pool name (routing/ knows nothing of TLS).
  std::map<std::string, UpstreamTlsConfig> upstream_tls;
  TimeoutConfig timeouts;
  LimitConfig limits;
  LogConfig log;
  HeaderConfig headers;
  GuardrailsConfig guardrails;
  RolloutConfig rollout;
};

}  // namespace cutover::proxy
