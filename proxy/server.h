// The process: opens one SO_REUSEPORT listener per worker, starts the workers, and runs the
// main thread's loop for signals. SIGTERM/SIGINT drain (stop accepting, let in-flight
// exchanges finish up to timeouts.drain, exit 0; a second signal stops at once). SIGHUP
// reloads the config file: a bad file changes nothing; a good one is published to every
// worker as a new snapshot.
//
// Ownership: owns the Workers and the main loop's handles (signals, poll timer), all on the
// thread that calls Run(). Not copyable.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/health_checker.h"
#include "proxy/snapshot.h"
#include "proxy/worker.h"

namespace cutover::proxy {

class Server {
 public:
  // `config_path` is what SIGHUP reloads; empty disables reloading (the demo).
  explicit Server(std::string config_path);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // Binds the listeners and starts the workers. On failure returns false with *error.
  bool Start(const Config& config, std::string* error);
  // Runs until every worker has drained and stopped. Returns the process exit code.
  int Run();

  uint16_t port() const { return port_; }
  unsigned worker_count() const { return static_cast<unsigned>(workers_.size()); }
  // Requests answered per pool index, summed over workers (any thread).
  uint64_t RequestsForPool(std::size_t pool) const;
  const Snapshot& snapshot() const { return *snapshot_; }

 private:
  void OnSignal(int signum);
  void OnPollWorkers();
  void Reload();
  void BeginShutdown(bool immediate);
  void WarnAboutExpiredRules() const;

  std::string config_path_;
  uv_loop_t loop_;
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_signal_t sighup_;
  uv_timer_t poll_timer_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<const Snapshot> snapshot_;
  HealthRegistry health_;  // endpoint health shared with every worker
  HealthChecker health_checker_{&loop_};
  uint64_t version_ = 1;
  uint16_t port_ = 0;
  bool shutting_down_ = false;
};

}  // namespace cutover::proxy
