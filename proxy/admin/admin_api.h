// What the admin API's requests mean (docs/admin-api.md): who the caller is and what they may
// do, which endpoint a path names, how a body becomes a change. Changes themselves go through
// the ControlPlane, which applies them one at a time; this class only reads and translates.
//
// Threads: Handle() runs on the admin thread; SetTokens(), SetClientRoles() and SetDraining() may
// be called from the main thread (SIGHUP, SIGTERM).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proxy/admin/admin_server.h"
#include "proxy/admin/client_roles.h"
#include "proxy/admin/tokens.h"
#include "proxy/control_plane.h"
#include "proxy/guardrail_loop.h"

namespace cutover::proxy::admin {

class AdminApi {
 public:
  explicit AdminApi(ControlPlane* control) : control_(control) {}

  AdminResponse Handle(const AdminRequest& request);

  // The TCP listener's tokens; a reload replaces them only when the new file loaded cleanly.
  void SetTokens(std::shared_ptr<const TokenSet> tokens);
  // [admin.tls] client_roles: client certificate CN -> role. Replaced by a reload with the
  // admin listener's certificates.
  void SetClientRoles(std::shared_ptr<const ClientRoles> roles);
  void SetDraining() { draining_.store(true, std::memory_order_relaxed); }
  // `POST /v1/reload`: reloads the config file and returns its errors (empty on success), or
  // nullopt when there is no file to reload (the demo) or the proxy is stopping. Set once,
  // before the admin server starts.
  using Reloader = std::function<std::optional<std::vector<std::string>>(const Caller&)>;
  void SetReload(Reloader reload) { reload_ = std::move(reload); }
  // `GET /metrics`: the Prometheus text exposition of the moment. Set once, before the admin
  // server starts.
  void SetMetrics(std::function<std::string()> metrics) { metrics_ = std::move(metrics); }
  // `GET /v1/compare?window=60s`: blue and green over the last window. Set once, before start.
  using Comparer = std::function<nlohmann::json(int64_t window_ms)>;
  void SetCompare(Comparer compare) { compare_ = std::move(compare); }
  // `GET /v1/tls` (the served certificates) and `POST /v1/tls/reload` (re-read them; the
  // error when refused, nullopt when applied). Set once, before start.
  using TlsStatus = std::function<nlohmann::json()>;
  using TlsReloader = std::function<std::optional<std::string>()>;
  void SetTls(TlsStatus status, TlsReloader reload) {
    tls_status_ = std::move(status);
    tls_reload_ = std::move(reload);
  }
  // `GET /v1/series?window=10m`: the same, slot by slot, for the dashboard's lines.
  void SetSeries(Comparer series) { series_ = std::move(series); }
  // `/v1/guardrails` and `/v1/rollout`: the loop that judges and ramps the candidate (it runs
  // on this same admin thread), and its clock (the workers' monotonic milliseconds). Set once,
  // before start; without it those endpoints are 404.
  void SetGuardrails(GuardrailLoop* loop, std::function<int64_t()> now_ms) {
    guardrails_ = loop;
    now_ms_ = std::move(now_ms);
  }

 private:
  struct Principal {
    Caller caller;
    Role role = Role::kViewer;
  };

  // Who is calling, or the 401/403 answer.
  std::optional<Principal> Authenticate(const AdminRequest& request, AdminResponse* refusal);
  AdminResponse Route(const AdminRequest& request, const Principal& principal);
  AdminResponse Mutate(const AdminRequest& request, const Principal& principal, std::string action,
                       const Mutation& mutation);
  AdminResponse Rules(const AdminRequest& request, const Principal& principal,
                      const std::string& name);
  AdminResponse Rollback(const AdminRequest& request, const Principal& principal);
  AdminResponse Revert(const AdminRequest& request, const Principal& principal);
  AdminResponse Audit(const AdminRequest& request);
  AdminResponse History(const AdminRequest& request);
  // /v1/compare and /v1/series: `window` within [min_ms, 10m], then `read`.
  AdminResponse WindowQuery(const AdminRequest& request, int64_t default_ms, int64_t min_ms,
                            const Comparer& read);
  AdminResponse Reload(const AdminRequest& request, const Principal& principal);
  AdminResponse ReloadTls(const AdminRequest& request, const Principal& principal);
  AdminResponse Guardrails(const AdminRequest& request, const Principal& principal);
  // `/v1/rollout` and `/v1/rollout/COMMAND`.
  AdminResponse Rollout(const AdminRequest& request, const Principal& principal,
                        std::string_view command);
  // A refused mutating call that never reached the control plane still goes to the audit log.
  AdminResponse Refuse(const AdminRequest& request, const Principal* principal,
                       std::string_view action, int status, std::string field, std::string message);

  ControlPlane* control_;
  std::mutex tokens_mutex_;  // guards tokens_ and client_roles_
  std::shared_ptr<const TokenSet> tokens_;
  std::shared_ptr<const ClientRoles> client_roles_ = std::make_shared<const ClientRoles>();
  std::atomic<bool> draining_{false};
  Reloader reload_;
  std::function<std::string()> metrics_;
  Comparer compare_;
  Comparer series_;
  TlsStatus tls_status_;
  TlsReloader tls_reload_;
  GuardrailLoop* guardrails_ = nullptr;
  std::function<int64_t()> now_ms_;
};

}  // namespace cutover::proxy::admin
