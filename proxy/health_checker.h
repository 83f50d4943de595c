// Active HTTP health checks (issue 3): for every endpoint of a pool with [health_check]
// enabled, a GET of the configured path every interval; 2xx/3xx within the timeout is a
// pass. `healthy_threshold` passes in a row mark an endpoint healthy, `unhealthy_threshold`
// failures in a row unhealthy. Results go into the endpoint's shared EndpointHealth, which
// every worker reads; the checks themselves run once, on the main loop, not per worker.
//
// Ownership: the Server owns the HealthChecker; it owns one Probe per checked endpoint, and
// each Probe owns its uv handles (freed in their close callbacks). Main-loop thread only.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "proxy/snapshot.h"

namespace cutover::proxy {

class HealthChecker {
 public:
  explicit HealthChecker(uv_loop_t* loop) : loop_(loop) {}
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;
  ~HealthChecker();

  // Replaces every probe with those `snapshot` asks for (health state itself survives in
  // the shared EndpointHealth objects).
  void Apply(const Snapshot& snapshot);
  void Stop();

  class Probe;

 private:
  uv_loop_t* loop_;
  std::vector<Probe*> probes_;  // each frees itself after Stop() closes its handles
};

}  // namespace cutover::proxy
