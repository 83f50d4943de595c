// `[pools.NAME.tls]` turned into the tls::ClientContext that a pool's connections and its health
// checks use (docs/tls.md "TLS to the upstreams"). Loaded where a snapshot is built, and by
// `cutover check`, so a bad file fails all three the same way, naming the pool and the file.
//
// Threads: LoadUpstreamTls runs wherever a config is loaded (main or admin thread); the
// contexts it makes are shared read-only by every worker (see tls/client_context.h).
#pragma once

#include <memory>
#include <string>

#include "proxy/config.h"

namespace cutover::tls {
class ClientContext;
}

namespace cutover::proxy {

struct Snapshot;

// The pool's client context; nullptr with "pools.NAME.tls: FILE: reason" in *error.
std::shared_ptr<const tls::ClientContext> LoadUpstreamTls(const std::string& pool,
                                                          const UpstreamTlsConfig& config,
                                                          std::string* error);

// The line that `verify = false` earns at every start, reload and check: nothing protects
// that pool's traffic against an impostor, and the operator must not miss it.
std::string UnverifiedUpstreamWarning(const std::string& pool);

// One line per TLS pool of `snapshot` (what it verifies against, as which name, its client
// certificate and its expiry), and the warning above for `verify = false`. `what` prefixes each
// line ("start", "reload").
void LogUpstreamTls(const Snapshot& snapshot, const char* what);

}  // namespace cutover::proxy
