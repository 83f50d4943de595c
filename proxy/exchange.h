// The state of one request/response exchange on a client connection (STYLE.md: a request's
// state is one struct). Reset when the exchange finishes; the head buffers go back to the
// worker's pool so an idle connection holds none.
#pragma once

#include <array>
#include <cstdint>

#include "proxy/http_head.h"
#include "proxy/upstream_connection.h"
#include "routing/routing_table.h"

namespace cutover::proxy {

struct UpstreamEndpoint;

struct Exchange {
  HeadBuffer* request = nullptr;   // pooled; null while the connection is idle
  HeadBuffer* response = nullptr;  // pooled; taken when the response head starts
  BodyFraming request_framing = BodyFraming::kNone;
  BodyFraming response_framing = BodyFraming::kNone;  // as sent to the client
  bool head_request = false;
  bool request_complete = false;  // every request byte parsed and queued upstream
  bool response_started = false;  // response bytes queued to the client
  bool response_complete = false;
  bool upgrade = false;    // request asked to switch protocols
  bool keep_alive = true;  // the client connection may carry another request

  uint32_t pool = 0;
  routing::Decision decision;  // as the router made it (pool may change on failover)
  uint8_t attempts = 0;        // upstream attempts so far (retries are bounded)
  uint8_t failed_count = 0;    // endpoints that failed this exchange, not to retry on
  std::array<UpstreamEndpoint*, 4> failed_endpoints{};
  bool pool_exhausted = false;  // connects failed and the pool's policy is "503"
  UpstreamEndpoint* endpoint = nullptr;
  bool endpoint_failure_counted = false;  // its failure already went to outlier ejection
  UpstreamConnection* upstream = nullptr;
  UpstreamError error = UpstreamError::kNone;
  int status = 0;
  uint64_t start_ns = 0;
  uint64_t upstream_head_ns = 0;  // when the upstream's response head arrived; 0 = it did not
  uint64_t bytes_in = 0;          // request body bytes
  uint64_t bytes_out = 0;         // response body bytes
};

}  // namespace cutover::proxy
