// The active health state of one endpoint, shared by the health checker (the only writer,
// on the main loop) and every worker (readers, once per request, relaxed loads: no lock).
// Kept in a registry keyed by endpoint address so a config reload keeps what was learned.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cutover::proxy {

struct EndpointHealth {
  std::atomic<bool> healthy{true};  // endpoints start healthy: a restart must not 503
};

// Thread-safe map from "host:port" to its shared health. Used when snapshots are built
// (main thread), never per request.
class HealthRegistry {
 public:
  std::shared_ptr<EndpointHealth> Get(const std::string& name) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = by_name_[name];
    if (!slot) slot = std::make_shared<EndpointHealth>();
    return slot;
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<EndpointHealth>> by_name_;
};

}  // namespace cutover::proxy
