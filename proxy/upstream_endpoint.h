// One backend endpoint as a worker sees it: its address and the worker's idle keep-alive
// connections to it. Owned by the worker (kept for the worker's life, so exchanges may hold
// a plain pointer across snapshot changes); used only on the worker's thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/snapshot.h"

namespace cutover::proxy {

class UpstreamConnection;

struct UpstreamEndpoint {
  ResolvedEndpoint address;
  std::vector<UpstreamConnection*> idle;  // most recently used last (LIFO keeps them warm)
  uint32_t in_flight = 0;
};

}  // namespace cutover::proxy
