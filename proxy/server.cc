#include "proxy/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>

#include "metrics/exposition.h"
#include "proxy/admin/compare_json.h"
#include "proxy/admin/metrics_listener.h"
#include "proxy/admin/state_json.h"
#include "proxy/config_loader.h"
#include "proxy/listener_tls.h"
#include "proxy/log.h"
#include "proxy/upstream_connection.h"
#include "proxy/upstream_tls.h"
#include "proxy/uv_callback.h"
#include "proxy/uv_loop_close.h"
#include "proxy/version.h"

namespace cutover::proxy {
namespace {

uint16_t BoundPort(int fd) {
  sockaddr_storage address;
  socklen_t length = sizeof address;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return 0;
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
}

}  // namespace

Server::Server(std::string config_path) : config_path_(std::move(config_path)) {
  uv_loop_init(&loop_);
  for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_, &sigusr1_}) {
    uv_signal_init(&loop_, handle);
    handle->data = this;
  }
  uv_timer_init(&loop_, &poll_timer_);
  poll_timer_.data = this;
  uv_timer_init(&loop_, &tls_timer_);
  tls_timer_.data = this;
  uv_async_init(&loop_, &reload_async_, &UvCallback<&Server::OnReloadRequested>::Call);
  reload_async_.data = this;
}

Server::~Server() {
  health_checker_.Stop();
  if (admin_server_) admin_server_->Stop();
  if (metrics_server_) metrics_server_->Stop();
  for (auto& worker : workers_) {
    worker->Stop();
    worker->Join();
  }
  control_.AttachWorkers({});
  workers_.clear();
  CloseLoop(&loop_);
}

bool Server::Start(const Config& config, std::string* error) {
  health_.SetWorkerCount(config.listener.workers);
  if (!control_.Start(config, discard_state_, error)) return false;
  const std::shared_ptr<const Snapshot> snapshot = control_.snapshot();
  LogLevel level;
  if (ParseLogLevel(config.log.level, &level)) SetLogLevel(level);
  // A peer that goes away must surface as EPIPE on write, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  // Handlers go in before the port is open: a SIGTERM that arrives as soon as the port
  // accepts must drain, not kill.
  uv_signal_start(&sigterm_, &UvCallback<&Server::OnSignal>::Call, SIGTERM);
  uv_signal_start(&sigint_, &UvCallback<&Server::OnSignal>::Call, SIGINT);
  if (!config_path_.empty()) {
    uv_signal_start(&sighup_, &UvCallback<&Server::OnSignal>::Call, SIGHUP);
  }
  uv_signal_start(&sigusr1_, &UvCallback<&Server::OnSignal>::Call, SIGUSR1);
  // Certificates first: a bad one stops the start before anything listens.
  if (config.listener.tls.enabled && !StartListenerTls(config.listener.tls, error)) return false;
  // The admin API is up before the proxy port opens: whoever sees the port can steer it.
  if (config.admin.enabled && !StartAdmin(config, error)) return false;
  if (!config.metrics.host.empty() && !StartMetricsListener(config.metrics, error)) return false;

  // Bind every worker's socket before starting any, so a port conflict fails cleanly. With
  // port 0 the first bind picks the port and the others share it.
  uint16_t port = config.listener.port;
  std::vector<int> fds;
  for (unsigned i = 0; i < config.listener.workers; ++i) {
    const int fd = OpenReusePortListener(config.listener.host, port, error);
    if (fd < 0) {
      for (int open_fd : fds) close(open_fd);
      return false;
    }
    if (port == 0) port = BoundPort(fd);
    fds.push_back(fd);
  }
  port_ = port;
  std::vector<Worker*> workers;
  for (unsigned i = 0; i < fds.size(); ++i) {
    // The live snapshot: the admin API may have applied changes since the start began.
    workers_.push_back(std::make_unique<Worker>(i, fds[i], control_.snapshot(), &switched_));
    workers_.back()->SetListenerTls(listener_tls_.get());
    workers.push_back(workers_.back().get());
  }
  control_.AttachWorkers(std::move(workers));
  for (auto& worker : workers_) worker->Start();
  workers_listed_.store(true, std::memory_order_release);
  health_checker_.Apply(*snapshot);
  LogUpstreamTls(*snapshot, "start");
  WarnAboutExpiredRules();

  Log(LogLevel::kInfo, "cutover: listening on %s:%u (%zu workers)", config.listener.host.c_str(),
      port_, workers_.size());
  return true;
}

bool Server::StartListenerTls(const ListenerTlsConfig& config, std::string* error) {
  listener_tls_ = std::make_unique<ListenerTls>(time(nullptr));
  if (!listener_tls_->Load(config, error)) return false;
  LogCertificates("tls", *listener_tls_->current());
  // Ticket keys age on the main loop's clock; checking each minute keeps rotation within a
  // minute of the hour without a timer per key.
  uv_timer_start(&tls_timer_, &UvCallback<&Server::OnTlsTimer>::Call, 60'000, 60'000);
  return true;
}

bool Server::StartAdminTls(const AdminTlsConfig& config, std::string* error) {
  admin_tls_ = std::make_unique<ListenerTls>(time(nullptr));
  if (!admin_tls_->Load(config, error)) return false;
  LogCertificates("admin tls", *admin_tls_->current());
  ApplyClientRoles(config);
  uv_timer_start(&tls_timer_, &UvCallback<&Server::OnTlsTimer>::Call, 60'000, 60'000);
  return true;
}

void Server::ApplyClientRoles(const AdminTlsConfig& config) {
  std::string error;
  std::optional<admin::ClientRoles> roles = admin::ClientRoles::Make(config.client_roles, &error);
  if (!roles) {
    // The loader refuses unknown roles, so this is a bug; mapping nobody is the safe side.
    Log(LogLevel::kError, "admin tls: %s; no client certificate has a role", error.c_str());
    roles.emplace();
  }
  api_->SetClientRoles(std::make_shared<const admin::ClientRoles>(std::move(*roles)));
}

void Server::OnTlsTimer() {
  const int64_t now = time(nullptr);
  if (listener_tls_) listener_tls_->MaybeRotateTicketKeys(now);
  if (admin_tls_) admin_tls_->MaybeRotateTicketKeys(now);
}

void Server::LogCertificates(const char* what, const tls::ServerContext& context) {
  for (const tls::CertificateInfo& info : context.certificates()) {
    std::string names;
    for (const std::string& name : info.names) names += (names.empty() ? "" : ", ") + name;
    char expiry[32] = "?";
    const time_t not_after = static_cast<time_t>(info.not_after_unix);
    tm utc{};
    if (gmtime_r(&not_after, &utc) != nullptr) strftime(expiry, sizeof expiry, "%Y-%m-%d", &utc);
    const bool expired = info.not_after_unix < time(nullptr);
    Log(expired ? LogLevel::kWarn : LogLevel::kInfo, "%s: %s serves %s, %s %s", what,
        info.file.c_str(), names.c_str(), expired ? "EXPIRED on" : "valid until", expiry);
  }
}

std::optional<std::string> Server::ReloadTls() {
  if (!listener_tls_ && !admin_tls_) {
    return std::string("no listener terminates TLS ([listener.tls], [admin.tls])");
  }
  // Both sets are read before either is published: a bad admin key keeps the proxy's
  // certificates too, as on SIGHUP.
  const std::shared_ptr<const Snapshot> running = control_.snapshot();
  const Config& config = running->config;
  std::string error;
  std::shared_ptr<const tls::ServerContext> listener_next;
  std::shared_ptr<const tls::ServerContext> admin_next;
  if (listener_tls_) {
    listener_next = ListenerTls::Build(config.listener.tls, listener_tls_->ticket_keys(), &error);
  }
  if (admin_tls_ && (!listener_tls_ || listener_next)) {
    admin_next = ListenerTls::Build(config.admin.tls, admin_tls_->ticket_keys(), &error);
  }
  if ((listener_tls_ && !listener_next) || (admin_tls_ && !admin_next)) {
    Log(LogLevel::kError, "tls reload: %s; keeping the current certificates", error.c_str());
    return error;
  }
  if (listener_next) {
    listener_tls_->Publish(listener_next);
    LogCertificates("tls reload", *listener_next);
  }
  if (admin_next) {
    admin_tls_->Publish(admin_next);
    LogCertificates("admin tls reload", *admin_next);
  }
  return std::nullopt;
}

namespace {

nlohmann::json CertificatesJson(const ListenerTls* tls, int64_t now) {
  nlohmann::json certificates = nlohmann::json::array();
  if (tls == nullptr) return certificates;
  for (const tls::CertificateInfo& info : tls->current()->certificates()) {
    certificates.push_back({{"file", info.file},
                            {"names", info.names},
                            {"subject", info.subject},
                            {"not_after_unix", info.not_after_unix},
                            {"days_left", (info.not_after_unix - now) / 86400}});
  }
  return certificates;
}

}  // namespace

nlohmann::json Server::TlsStatus() const {
  const int64_t now = time(nullptr);
  // The proxy listener's at the top level (as before the admin listener had TLS), the admin
  // listener's under "admin".
  const std::shared_ptr<const Snapshot> running = control_.snapshot();
  const AdminTlsConfig& admin = running->config.admin.tls;
  const char* client_certificates = !admin_tls_ || admin.client_ca_file.empty() ? "off"
                                    : admin.require_client_certificate          ? "required"
                                                                                : "optional";
  return {{"enabled", listener_tls_ != nullptr},
          {"certificates", CertificatesJson(listener_tls_.get(), now)},
          {"admin",
           {{"enabled", admin_tls_ != nullptr},
            {"certificates", CertificatesJson(admin_tls_.get(), now)},
            {"client_certificates", client_certificates}}}};
}

bool Server::StartMetricsListener(const MetricsConfig& config, std::string* error) {
  AdminConfig listener;
  listener.enabled = true;
  listener.socket = "";
  listener.host = config.host;
  listener.port = config.port;
  listener.body_bytes = 1024;  // it takes no bodies
  metrics_server_ = std::make_unique<admin::AdminServer>(
      admin::MetricsOnlyHandler([this] { return ScrapeMetrics(); }));
  if (!metrics_server_->Start(listener, error)) {
    *error = "metrics.address: " + *error;
    return false;
  }
  Log(LogLevel::kInfo, "metrics: listening on %s:%u (GET /metrics, no credentials)",
      config.host.c_str(), metrics_server_->tcp_port());
  return true;
}

namespace {

// The workers record on their loop clock (uv_now: CLOCK_MONOTONIC in ms); read on the same.
int64_t MonotonicMillis() {
  return static_cast<int64_t>(uv_hrtime() / 1'000'000);
}

}  // namespace

bool Server::StartAdmin(const Config& config, std::string* error) {
  api_ = std::make_unique<admin::AdminApi>(&control_);
  guardrails_ = std::make_unique<GuardrailLoop>(
      &control_, [this](const std::string& pool, int64_t window_ms, PoolObservation* out) {
        return ObservePool(pool, window_ms, out);
      });
  guardrails_->Restore(MonotonicMillis());
  api_->SetGuardrails(guardrails_.get(), &MonotonicMillis);
  if (!config.admin.tokens_file.empty() && !LoadTokens(config.admin.tokens_file, error)) {
    return false;
  }
  api_->SetReload([this](const Caller& caller) { return ReloadFromAdmin(caller); });
  api_->SetMetrics([this] { return ScrapeMetrics(); });
  api_->SetCompare([this](int64_t window_ms) {
    nlohmann::json compare = admin::CompareJson(ReadWindows(window_ms, false));
    compare["guardrail"] = guardrails_->VerdictJson();
    return compare;
  });
  api_->SetTls([this] { return TlsStatus(); }, [this] { return ReloadTls(); });
  api_->SetSeries(
      [this](int64_t window_ms) { return admin::SeriesJson(ReadWindows(window_ms, true)); });
  admin::AdminApi* api = api_.get();
  admin_server_ = std::make_unique<admin::AdminServer>(
      [api](const admin::AdminRequest& request) { return api->Handle(request); });
  GuardrailLoop* loop = guardrails_.get();
  admin_server_->SetTicker([loop] { loop->Tick(MonotonicMillis()); });
  const AdminTlsConfig& tls = config.admin.tls;
  if (tls.server.enabled) {
    if (!StartAdminTls(tls, error)) return false;
    admin_server_->SetTls(admin_tls_.get());
  }
  if (!admin_server_->Start(config.admin, error)) return false;
  if (!config.admin.socket.empty()) {
    Log(LogLevel::kInfo, "admin: listening on %s", config.admin.socket.c_str());
  }
  if (!config.admin.host.empty()) {
    const char* how = !tls.server.enabled          ? "bearer tokens"
                      : tls.client_ca_file.empty() ? "TLS, bearer tokens"
                      : tls.require_client_certificate
                          ? "TLS, client certificates required"
                          : "TLS, client certificates or bearer tokens";
    Log(LogLevel::kInfo, "admin: listening on %s:%u (%s)", config.admin.host.c_str(),
        admin_server_->tcp_port(), how);
  }
  if (config.admin.state_file.empty()) {
    Log(LogLevel::kWarn, "admin: no state_file: live changes are lost on restart");
  }
  if (config.admin.audit_log.empty()) {
    Log(LogLevel::kWarn, "admin: no audit_log: changes are not audited");
  }
  return true;
}

bool Server::LoadTokens(const std::string& path, std::string* error) {
  std::vector<std::string> problems;
  std::optional<admin::TokenSet> tokens = admin::TokenSet::Load(path, &problems);
  if (!tokens) {
    *error = "tokens file " + path + " is invalid:";
    for (const std::string& problem : problems) *error += "\n  " + problem;
    return false;
  }
  api_->SetTokens(std::make_shared<const admin::TokenSet>(std::move(*tokens)));
  return true;
}

int Server::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_) worker->Join();
  if (admin_server_) admin_server_->Stop();
  if (metrics_server_) metrics_server_->Stop();
  Log(LogLevel::kInfo, "cutover: stopped");
  return 0;
}

void Server::OnSignal(int signum) {
  if (signum == SIGHUP) {
    Reload({"signal", "SIGHUP"});
    return;
  }
  if (signum == SIGUSR1) {
    control_.ReopenAuditLog();
    return;
  }
  BeginShutdown(shutting_down_);  // a second SIGTERM/SIGINT stops at once
}

void Server::BeginShutdown(bool immediate) {
  if (immediate) {
    Log(LogLevel::kWarn, "cutover: stopping now");
    for (auto& worker : workers_) worker->Stop();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    shutting_down_ = true;
  }
  OnReloadRequested();  // answers reloads already asked for
  if (api_) api_->SetDraining();
  health_checker_.Stop();
  Log(LogLevel::kInfo, "cutover: draining (up to %lld ms)",
      static_cast<long long>(control_.snapshot()->config.timeouts.drain.count()));
  for (auto& worker : workers_) worker->Drain();
  uv_signal_stop(&sighup_);
  // Poll (not sleep) until every worker loop has ended, then let this loop end too.
  uv_timer_start(&poll_timer_, &UvCallback<&Server::OnPollWorkers>::Call, 20, 20);
}

void Server::OnPollWorkers() {
  for (auto& worker : workers_) {
    if (!worker->finished()) return;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&tls_timer_), nullptr);
  for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_, &sigusr1_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&reload_async_), nullptr);
}

std::optional<std::vector<std::string>> Server::ReloadFromAdmin(const Caller& caller) {
  std::future<std::vector<std::string>> done;
  {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    if (shutting_down_ || config_path_.empty()) return std::nullopt;
    reload_waiters_.push_back(ReloadWaiter{caller, {}});
    done = reload_waiters_.back().done.get_future();
  }
  uv_async_send(&reload_async_);
  // A reload reads one file and publishes one snapshot; this is a generous bound.
  if (done.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    return std::vector<std::string>{"the reload did not finish within 30 s"};
  }
  return done.get();
}

void Server::OnReloadRequested() {
  std::vector<ReloadWaiter> waiters;
  {
    std::lock_guard<std::mutex> lock(reload_mutex_);
    waiters.swap(reload_waiters_);
  }
  for (ReloadWaiter& waiter : waiters) {
    if (shutting_down_) {
      waiter.done.set_value({"the proxy is shutting down"});
    } else {
      waiter.done.set_value(Reload(waiter.caller));
    }
  }
}

std::vector<std::string> Server::Reload(const Caller& caller) {
  const ConfigLoadResult result = LoadConfigFile(config_path_);
  if (!result.config) {
    Log(LogLevel::kError, "reload: %s is invalid; keeping the running config",
        config_path_.c_str());
    std::vector<std::string> errors;
    for (const ConfigError& e : result.errors) {
      errors.push_back(e.ToString(config_path_));
      Log(LogLevel::kError, "reload: %s", errors.back().c_str());
    }
    return errors;
  }
  Config next = *result.config;
  const std::shared_ptr<const Snapshot> running = control_.snapshot();
  const Config& current = running->config;
  if (next.listener.host != current.listener.host || next.listener.port != current.listener.port ||
      next.listener.workers != current.listener.workers) {
    Log(LogLevel::kWarn, "reload: [listener] changes take effect only after a restart");
  }
  if (next.admin.enabled != current.admin.enabled || next.admin.socket != current.admin.socket ||
      next.admin.host != current.admin.host || next.admin.port != current.admin.port ||
      next.admin.state_file != current.admin.state_file ||
      next.admin.audit_log != current.admin.audit_log) {
    Log(LogLevel::kWarn,
        "reload: [admin] listeners and files change only after a restart (tokens reload now)");
  }
  if (next.metrics.host != current.metrics.host || next.metrics.port != current.metrics.port) {
    Log(LogLevel::kWarn, "reload: [metrics] address changes take effect only after a restart");
  }
  // The listener stays as bound; only what workers read per request changes. Its certificates
  // are re-read (the same paths or new ones), all or nothing with the rest of the reload.
  std::shared_ptr<const tls::ServerContext> next_tls;
  ListenerTlsConfig tls_config = current.listener.tls;
  if (next.listener.tls.enabled != current.listener.tls.enabled) {
    Log(LogLevel::kWarn, "reload: turning TLS on or off takes effect only after a restart");
  } else if (listener_tls_) {
    std::string error;
    next_tls = ListenerTls::Build(next.listener.tls, listener_tls_->ticket_keys(), &error);
    if (!next_tls) {
      Log(LogLevel::kError, "reload: %s; keeping the running config", error.c_str());
      return {error};
    }
    tls_config = next.listener.tls;
  }
  next.listener = current.listener;
  next.listener.tls = tls_config;
  // The admin listener's certificates, client CA and client roles likewise.
  std::shared_ptr<const tls::ServerContext> next_admin_tls;
  if (next.admin.tls.server.enabled != current.admin.tls.server.enabled) {
    Log(LogLevel::kWarn, "reload: turning admin TLS on or off takes effect only after a restart");
    next.admin.tls = current.admin.tls;
  } else if (admin_tls_) {
    std::string error;
    next_admin_tls = ListenerTls::Build(next.admin.tls, admin_tls_->ticket_keys(), &error);
    if (!next_admin_tls) {
      Log(LogLevel::kError, "reload: %s; keeping the running config", error.c_str());
      return {error};
    }
  }
  std::string error;
  if (!control_.ApplyConfig(next, caller, &error)) {
    Log(LogLevel::kError, "reload: %s; keeping the running config", error.c_str());
    return {error};
  }
  if (next_tls) {
    listener_tls_->Publish(next_tls);
    LogCertificates("reload", *next_tls);
  }
  if (next_admin_tls) {
    admin_tls_->Publish(next_admin_tls);
    ApplyClientRoles(next.admin.tls);
    LogCertificates("reload: admin tls", *next_admin_tls);
  }
  LogLevel level;
  if (ParseLogLevel(next.log.level, &level)) SetLogLevel(level);
  health_checker_.Apply(*control_.snapshot());
  LogUpstreamTls(*control_.snapshot(), "reload");
  if (api_ && !current.admin.tokens_file.empty()) {
    if (LoadTokens(current.admin.tokens_file, &error)) {
      Log(LogLevel::kInfo, "reload: tokens reloaded from %s", current.admin.tokens_file.c_str());
    } else {
      Log(LogLevel::kError, "reload: %s; keeping the previous tokens", error.c_str());
    }
  }
  WarnAboutExpiredRules();
  Log(LogLevel::kInfo, "reload: applied %s (routing version %llu)", config_path_.c_str(),
      static_cast<unsigned long long>(control_.version()));
  return {};
}

void Server::WarnAboutExpiredRules() const {
  // Expired flags keep routing (DESIGN §4); saying so at every start and reload keeps the
  // debt visible until someone removes them.
  for (const std::string& name : control_.snapshot()->routing->ExpiredRules(time(nullptr))) {
    Log(LogLevel::kWarn, "rule '%s' has expired and still routes: remove it or extend expires",
        name.c_str());
  }
}

std::string Server::ScrapeMetrics() const {
  return metrics::SerializeText(collector_.Collect());
}

metrics::ExpositionInput Server::GatherMetrics() const {
  const std::shared_ptr<const Snapshot> snapshot = control_.snapshot();
  const routing::RoutingTable& table = *snapshot->routing;
  metrics::ExpositionInput input;
  for (std::size_t p = 0; p < table.pools().size(); ++p) {
    input.pools.push_back(table.pools()[p].name);
    input.weight_ratios.push_back(table.pools()[p].basis_points / 10000.0);
    for (const ResolvedEndpoint& endpoint : snapshot->endpoints[p]) {
      metrics::EndpointState state{
          p, endpoint.name, endpoint.health->healthy.load(std::memory_order_relaxed), {}};
      for (const auto& count : endpoint.health->errors) {
        state.errors.push_back(count.load(std::memory_order_relaxed));
      }
      state.requests = endpoint.health->Requests();
      state.connections = endpoint.health->Connections();
      input.endpoints.push_back(std::move(state));
    }
  }
  for (std::size_t r = 0; r < metrics::kRouteReasonCount; ++r) {
    input.route_reasons.emplace_back(
        routing::RouteReasonName(static_cast<routing::RouteReason>(r)));
  }
  for (std::size_t k = 1; k <= EndpointHealth::kErrorKinds; ++k) {
    input.error_kinds.emplace_back(UpstreamErrorName(static_cast<UpstreamError>(k)));
  }
  input.routing_version = table.version();
  input.changes_applied = control_.changes_applied();
  input.changes_rejected = control_.changes_rejected();
  input.expired_rules = table.ExpiredRules(time(nullptr));
  input.version = kCutoverVersion;
  if (guardrails_) {
    const GuardrailLoop::MetricsView view = guardrails_->Metrics();
    for (std::size_t r = 0; r < GuardrailLoop::kRuleNames.size(); ++r) {
      input.guardrail_breaches.emplace_back(GuardrailLoop::kRuleNames[r], view.breaches[r]);
    }
    input.guardrail_verdict = view.verdict;
    input.rollout_phase = view.rollout_phase;
    input.rollout_step_percent = view.rollout_step_percent;
  }
  for (const auto& [listener, tls] :
       {std::pair<const char*, const ListenerTls*>{"proxy", listener_tls_.get()},
        {"admin", admin_tls_.get()}}) {
    if (tls == nullptr) continue;
    for (const tls::CertificateInfo& info : tls->current()->certificates()) {
      input.certificates.push_back(
          {info.names.empty() ? info.file : info.names.front(), listener, info.not_after_unix});
    }
  }
  for (const auto& worker : ListedWorkers()) input.shards.push_back(&worker->counters());
  return input;
}

admin::WindowReport Server::ReadWindows(int64_t window_ms, bool slot_by_slot) const {
  const std::shared_ptr<const Snapshot> snapshot = control_.snapshot();
  const routing::RoutingTable& table = *snapshot->routing;
  const int64_t now_ms = MonotonicMillis();
  const nlohmann::json weights = admin::StateToJson(table.spec(), table.version())["weights"];
  admin::WindowReport report{.version = table.version(),
                             .baseline = table.baseline(),
                             .candidate = table.candidate(),
                             .window_ms = window_ms,
                             .slot_ms = metrics::SlidingWindow::kDefaultSlotMs,
                             .pools = {}};
  for (std::size_t p = 0; p < table.pools().size(); ++p) {
    admin::PoolWindow& pool = report.pools.emplace_back();
    pool.name = table.pools()[p].name;
    pool.weight = weights[pool.name];
    for (const auto& worker : ListedWorkers()) {
      if (slot_by_slot) {
        worker->counters().RecentSeries(p, now_ms, window_ms, &pool.series);
      } else {
        pool.total.Merge(worker->counters().Recent(p, now_ms, window_ms));
      }
    }
  }
  return report;
}

bool Server::ObservePool(const std::string& name, int64_t window_ms, PoolObservation* out) const {
  const std::shared_ptr<const Snapshot> snapshot = control_.snapshot();
  const auto& pools = snapshot->routing->pools();
  const auto found = std::find_if(pools.begin(), pools.end(),
                                  [&](const routing::PoolSpec& pool) { return pool.name == name; });
  if (found == pools.end()) return false;
  const std::size_t p = static_cast<std::size_t>(found - pools.begin());
  const int64_t now_ms = MonotonicMillis();
  *out = {};
  for (const auto& worker : ListedWorkers()) {
    out->window.Merge(worker->counters().Recent(p, now_ms, window_ms));
    out->requests_total += worker->counters().Requests(p);
  }
  return true;
}

uint64_t Server::RequestsForPool(std::size_t pool) const {
  uint64_t sum = 0;
  for (const auto& worker : ListedWorkers()) sum += worker->counters().Requests(pool);
  return sum;
}

}  // namespace cutover::proxy
