#include "proxy/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <ctime>

#include "proxy/config_loader.h"
#include "proxy/log.h"
#include "proxy/uv_callback.h"

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
  for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_}) {
    uv_signal_init(&loop_, handle);
    handle->data = this;
  }
  uv_timer_init(&loop_, &poll_timer_);
  poll_timer_.data = this;
}

Server::~Server() {
  health_checker_.Stop();
  for (auto& worker : workers_) {
    worker->Stop();
    worker->Join();
  }
  workers_.clear();
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void*) {
        if (!uv_is_closing(handle)) uv_close(handle, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

bool Server::Start(const Config& config, std::string* error) {
  snapshot_ = BuildSnapshot(config, version_, &health_, error);
  if (!snapshot_) return false;
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
  for (unsigned i = 0; i < fds.size(); ++i) {
    workers_.push_back(std::make_unique<Worker>(i, fds[i], snapshot_));
  }
  for (auto& worker : workers_) worker->Start();
  health_checker_.Apply(*snapshot_);
  WarnAboutExpiredRules();

  Log(LogLevel::kInfo, "cutover: listening on %s:%u (%zu workers)", config.listener.host.c_str(),
      port_, workers_.size());
  return true;
}

int Server::Run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_) worker->Join();
  Log(LogLevel::kInfo, "cutover: stopped");
  return 0;
}

void Server::OnSignal(int signum) {
  if (signum == SIGHUP) {
    Reload();
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
  shutting_down_ = true;
  health_checker_.Stop();
  Log(LogLevel::kInfo, "cutover: draining (up to %lld ms)",
      static_cast<long long>(snapshot_->config.timeouts.drain.count()));
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
  for (uv_signal_t* handle : {&sigterm_, &sigint_, &sighup_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
  }
}

void Server::Reload() {
  const ConfigLoadResult result = LoadConfigFile(config_path_);
  if (!result.config) {
    Log(LogLevel::kError, "reload: %s is invalid; keeping the running config",
        config_path_.c_str());
    for (const ConfigError& e : result.errors) {
      Log(LogLevel::kError, "reload: %s", e.ToString(config_path_).c_str());
    }
    return;
  }
  const Config& next = *result.config;
  const Config& current = snapshot_->config;
  if (next.listener.host != current.listener.host || next.listener.port != current.listener.port ||
      next.listener.workers != current.listener.workers) {
    Log(LogLevel::kWarn, "reload: [listener] changes take effect only after a restart");
  }
  std::string error;
  auto snapshot = BuildSnapshot(next, version_ + 1, &health_, &error);
  if (!snapshot) {
    Log(LogLevel::kError, "reload: %s; keeping the running config", error.c_str());
    return;
  }
  // The listener stays as bound; only what workers read per request changes.
  auto adjusted = std::make_shared<Snapshot>(*snapshot);
  adjusted->config.listener = current.listener;
  snapshot_ = std::move(adjusted);
  ++version_;
  LogLevel level;
  if (ParseLogLevel(next.log.level, &level)) SetLogLevel(level);
  for (auto& worker : workers_) worker->Publish(snapshot_);
  health_checker_.Apply(*snapshot_);
  WarnAboutExpiredRules();
  Log(LogLevel::kInfo, "reload: applied %s (routing version %llu)", config_path_.c_str(),
      static_cast<unsigned long long>(version_));
}

void Server::WarnAboutExpiredRules() const {
  // Expired flags keep routing (DESIGN §4); saying so at every start and reload keeps the
  // debt visible until someone removes them.
  for (const std::string& name : snapshot_->routing->ExpiredRules(time(nullptr))) {
    Log(LogLevel::kWarn, "rule '%s' has expired and still routes: remove it or extend expires",
        name.c_str());
  }
}

uint64_t Server::RequestsForPool(std::size_t pool) const {
  uint64_t sum = 0;
  for (const auto& worker : workers_) sum += worker->counters().Requests(pool);
  return sum;
}

}  // namespace cutover::proxy
