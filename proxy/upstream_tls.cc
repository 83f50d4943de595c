#include "proxy/upstream_tls.h"

#include <ctime>

#include "proxy/log.h"
#include "proxy/snapshot.h"
#include "tls/client_context.h"
#include "tls/protocol_policy.h"

namespace cutover::proxy {

std::shared_ptr<const tls::ClientContext> LoadUpstreamTls(const std::string& pool,
                                                          const UpstreamTlsConfig& config,
                                                          std::string* error) {
  const std::string where = "pools." + pool + ".tls";
  tls::ClientSettings settings;
  settings.ca_file = config.ca_file;
  settings.server_name = config.server_name;
  settings.cert_file = config.cert;
  settings.key_file = config.key;
  settings.verify = config.verify;
  if (!tls::ParseTlsVersion(config.min_version, &settings.min_version)) {
    *error = where + ".min_version: must be \"1.2\" or \"1.3\"";
    return nullptr;
  }
  std::shared_ptr<const tls::ClientContext> context = tls::ClientContext::Load(settings, error);
  if (!context) *error = where + ": " + *error;
  return context;
}

std::string UnverifiedUpstreamWarning(const std::string& pool) {
  return "pools." + pool +
         ".tls: verify = false: the endpoints' certificates are NOT checked; anyone on the path "
         "to them can read and change this pool's traffic";
}

void LogUpstreamTls(const Snapshot& snapshot, const char* what) {
  const auto& pools = snapshot.routing->pools();
  for (std::size_t p = 0; p < pools.size() && p < snapshot.pool_tls.size(); ++p) {
    const tls::ClientContext* context = snapshot.pool_tls[p].get();
    if (context == nullptr) continue;
    const std::string& pool = pools[p].name;
    const UpstreamTlsConfig& config = snapshot.config.upstream_tls.at(pool);
    if (!context->verifies()) {
      Log(LogLevel::kWarn, "%s: %s", what, UnverifiedUpstreamWarning(pool).c_str());
    } else {
      Log(LogLevel::kInfo, "%s: pools.%s: TLS to the endpoints, verified against %s as %s", what,
          pool.c_str(), config.ca_file.empty() ? "the system store" : config.ca_file.c_str(),
          config.server_name.empty() ? "each endpoint's address" : config.server_name.c_str());
    }
    if (const auto& certificate = context->client_certificate()) {
      char expiry[32] = "?";
      const time_t not_after = static_cast<time_t>(certificate->not_after_unix);
      tm utc{};
      if (gmtime_r(&not_after, &utc) != nullptr) strftime(expiry, sizeof expiry, "%Y-%m-%d", &utc);
      const bool expired = certificate->not_after_unix < time(nullptr);
      Log(expired ? LogLevel::kWarn : LogLevel::kInfo,
          "%s: pools.%s: client certificate %s (%s), %s %s", what, pool.c_str(),
          certificate->file.c_str(), certificate->subject.c_str(),
          expired ? "EXPIRED on" : "valid until", expiry);
    }
  }
}

}  // namespace cutover::proxy
