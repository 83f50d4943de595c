// One backend endpoint as a worker sees it: its address and the worker's idle keep-alive
// connections to it. Owned by the worker (kept for the worker's life, so exchanges may hold
// a plain pointer across snapshot changes); used only on the worker's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/snapshot.h"
#include "routing/outlier_detector.h"

namespace cutover::proxy {

class UpstreamConnection;

struct UpstreamEndpoint {
  ResolvedEndpoint address;
  std::vector<UpstreamConnection*> idle;  // most recently used last (LIFO keeps them warm)
  uint32_t in_flight = 0;
  routing::OutlierDetector outlier;  // this worker's view of consecutive failures
  routing::OutlierSpec outlier_spec;

  bool Available(int64_t now_ms) const {
    return address.health->healthy.load(std::memory_order_relaxed) && !outlier.Ejected(now_ms);
  }
};

}  // namespace cutover::proxy
