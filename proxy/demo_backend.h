#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cutover::proxy {

// Small HTTP/1.1 origin servers on loopback, each answering as one named pool, on one
// background thread with its own libuv loop. For `cutover demo` and for tests.
//
// Every well-formed request is answered `200 OK` with `Content-Type: text/plain;
// charset=utf-8`, `X-Backend: <name>` and the body `<name>: <METHOD> <request-target>\n`
// (HEAD: the header fields a GET would get, no body; RFC 9110 §9.3.2). Request bodies
// (Content-Length or chunked) are read and discarded. Keep-alive, HTTP/1.0 keep-alive
// and pipelining are supported; a malformed request gets 400 and a close.
//
// Ownership and threads: the caller owns the DemoBackends; every libuv handle lives on
// and is touched only by the background thread. Start, the destructor, port(),
// requests_served() and size() may be called from any thread (not concurrently with the
// destructor). Not copyable or movable: the loop thread holds pointers into it.
class DemoBackends {
 public:
  // Starts one server per name (e.g. {"blue", "green"}) on host:0 (ephemeral ports);
  // host is a numeric IPv4 or IPv6 address. The ports are bound and listening when Start
  // returns. Returns nullptr and sets *error (if error is not null) on failure.
  static std::unique_ptr<DemoBackends> Start(const std::vector<std::string>& names,
                                             const std::string& host, std::string* error);

  // Stops the loop thread: closes every handle (listeners and open connections, even
  // mid-request), waits for their close callbacks, joins the thread.
  ~DemoBackends();

  DemoBackends(const DemoBackends&) = delete;
  DemoBackends& operator=(const DemoBackends&) = delete;
  DemoBackends(DemoBackends&&) = delete;
  DemoBackends& operator=(DemoBackends&&) = delete;

  // Number of servers, in the order of the names given to Start.
  std::size_t size() const;
  // Port the server `index` listens on. Throws std::out_of_range for a bad index.
  uint16_t port(std::size_t index) const;
  // Requests answered 200 by server `index` so far (error answers are not counted).
  // Atomic, readable from any thread. Throws std::out_of_range for a bad index.
  uint64_t requests_served(std::size_t index) const;

 private:
  // The libuv side (loop, stop signal, listeners, thread); defined in demo_backend.cc so
  // that users of this header need neither libuv nor llhttp.
  class Loop;

  explicit DemoBackends(std::unique_ptr<Loop> loop);

  std::unique_ptr<Loop> loop_;
};

}  // namespace cutover::proxy
