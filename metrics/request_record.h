// What one finished request leaves behind (DESIGN §2 step 7): a plain value the worker
// hands to its own counters shard.
#pragma once

#include <cstdint>

namespace cutover::metrics {

struct RequestRecord {
  uint32_t pool = 0;       // index into the routing table's pools
  uint16_t status = 0;     // final status sent to the client (0: none was sent)
  uint64_t bytes_in = 0;   // request body bytes forwarded
  uint64_t bytes_out = 0;  // response body bytes forwarded
  bool upstream_error = false;
  uint64_t duration_us = 0;  // first request byte to the last response byte
  uint64_t upstream_us = 0;  // first request byte to the upstream's response head; 0 = none came
  int64_t now_ms = 0;        // when it finished, on the worker's monotonic loop clock
};

}  // namespace cutover::metrics
