// The process: opens one SO_REUSEPORT listener per worker, starts the workers and the admin
// API, and runs the main thread's loop for signals. SIGTERM/SIGINT drain (stop accepting, let
// in-flight exchanges finish up to timeouts.drain, exit 0; a second signal stops at once).
// SIGHUP reloads the config file (a bad file changes nothing; a good one goes through the
// ControlPlane, which keeps live weights unless [routing] changed) and the tokens file.
// SIGUSR1 reopens the audit log.
//
// Ownership: owns the Workers, the ControlPlane, the admin server and the main loop's handles
// (signals, poll timer), all on the thread that calls Run(). Not copyable.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "metrics/exposition.h"
#include "proxy/admin/admin_api.h"
#include "proxy/admin/admin_server.h"
#include "proxy/admin/compare_json.h"
#include "proxy/config.h"
#include "proxy/control_plane.h"
#include "proxy/guardrail_loop.h"
#include "proxy/health_checker.h"
#include "proxy/listener_tls.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace cutover::proxy {

class Server {
 public:
  // `config_path` is what SIGHUP reloads; empty disables reloading (the demo).
  explicit Server(std::string config_path);
  // Start from the config's routing, not the state file's, even a corrupt one
  // (`cutover run --discard-state`).
  void set_discard_state(bool discard) { discard_state_ = discard; }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Binds the listeners and starts the workers. On failure returns false with *error.
  bool Start(const Config& config, std::string* error);
  // Runs until every worker has drained and stopped. Returns the process exit code.
  int Run();

  uint16_t port() const { return port_; }
  // The admin API's TCP port once started (the bound one when the config said 0); 0 if none.
  uint16_t admin_port() const { return admin_server_ ? admin_server_->tcp_port() : 0; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // Requests answered per pool index, summed over workers (any thread).
  uint64_t RequestsForPool(std::size_t pool) const;

 private:
  bool StartAdmin(const Config& config, std::string* error);
  bool StartMetricsListener(const MetricsConfig& config, std::string* error);
  bool StartListenerTls(const ListenerTlsConfig& config, std::string* error);
  bool StartAdminTls(const AdminTlsConfig& config, std::string* error);
  // The client certificate CNs -> roles of `config`, for the admin API.
  void ApplyClientRoles(const AdminTlsConfig& config);
  void OnTlsTimer();
  static void LogCertificates(const char* what, const tls::ServerContext& context);
  // Any thread (`POST /v1/tls/reload`): re-reads the running config's certificate files, the
  // proxy listener's and the admin listener's, all or nothing; the error when they are refused
  // (the current ones stay), nullopt when applied.
  std::optional<std::string> ReloadTls();
  // Any thread (`GET /v1/tls`): the served certificates and their expiry, both listeners'.
  nlohmann::json TlsStatus() const;
  bool LoadTokens(const std::string& path, std::string* error);
  void OnSignal(int signum);
  void OnPollWorkers();
  // Reloads the config file; the errors (none on success) are for the caller to show.
  std::vector<std::string> Reload(const Caller& caller);
  // Admin thread: runs Reload on the main loop (which owns the health checker) and waits.
  std::optional<std::vector<std::string>> ReloadFromAdmin(const Caller& caller);
  void OnReloadRequested();
  // Any thread (the admin thread): the Prometheus text of the moment, through collector_.
  std::string ScrapeMetrics() const;
  // What collector_ merges at each scrape: names from the live snapshot, the workers' shards.
  metrics::ExpositionInput GatherMetrics() const;
  // Any thread (the admin thread): the workers' sliding windows over the last `window_ms`,
  // merged, in total (`GET /v1/compare`) or slot by slot (`GET /v1/series`).
  admin::WindowReport ReadWindows(int64_t window_ms, bool slot_by_slot) const;
  // The guardrail loop's view of pool `name` (admin thread); false when there is no such pool.
  bool ObservePool(const std::string& name, int64_t window_ms, PoolObservation* out) const;
  void BeginShutdown(bool immediate);
  void WarnAboutExpiredRules() const;

  std::string config_path_;
  uv_loop_t loop_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_signal_t sighup_;
  uv_signal_t sigusr1_;
  uv_async_t reload_async_;  // the admin thread asks the main loop to reload
  std::mutex reload_mutex_;  // guards reload_waiters_
  struct ReloadWaiter {
    Caller caller;
    std::promise<std::vector<std::string>> done;
  };
  std::vector<ReloadWaiter> reload_waiters_;
  uv_timer_t poll_timer_;
  uv_timer_t tls_timer_;  // ticket key rotation, while a listener terminates TLS
  std::vector<std::unique_ptr<Worker>> workers_;
  // The admin and metrics threads serve before workers_ is filled: they read it only once
  // this is set (release after the last push_back), through ListedWorkers().
  std::atomic<bool> workers_listed_{false};
  std::span<const std::unique_ptr<Worker>> ListedWorkers() const {
    if (!workers_listed_.load(std::memory_order_acquire)) return {};
    return workers_;
  }
  HealthRegistry health_;  // endpoint health shared with every worker
  HealthChecker health_checker_{&loop_};
  SwitchSignal switched_;  // workers say when they have applied a snapshot
  ControlPlane control_{&health_, &switched_};
  metrics::ShardCollector collector_{[this] { return GatherMetrics(); }};
  std::unique_ptr<GuardrailLoop> guardrails_;  // with the admin API, whose thread runs it
  std::unique_ptr<admin::AdminApi> api_;
  std::unique_ptr<admin::AdminServer> admin_server_;
  std::unique_ptr<admin::AdminServer> metrics_server_;  // [metrics] address, when set
  std::unique_ptr<ListenerTls> listener_tls_;           // [listener.tls], when set
  std::unique_ptr<ListenerTls> admin_tls_;              // [admin.tls], when set
  uint16_t port_ = 0;
  bool shutting_down_ = false;
  bool discard_state_ = false;
};

}  // namespace cutover::proxy
