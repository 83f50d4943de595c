// The admin API's transport (DESIGN §6, docs/admin-api.md): its own thread and libuv loop, an
// HTTP/1.1 listener on a Unix socket (mode 0600) and optionally on TCP, plain or TLS
// ([admin.tls], docs/tls.md). It parses requests with llhttp, hands each complete one to the
// handler with who the peer is (uid, address, verified client certificate), and writes the JSON
// answer. It knows nothing of routing: what a request means is the handler's business
// (admin_api.h).
//
// Requests on one connection are handled in order, one at a time; the handler runs on the
// admin thread and may block briefly (a change waits for every worker to switch).
//
// Ownership: the Server owns the AdminServer. The AdminServer owns its loop, its listeners,
// its wake-up async, its timers and every AdminConnection (each connection owns its stream handle
// and is deleted in that handle's close callback). Stop() may be called from any thread.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "proxy/config.h"

namespace cutover::proxy {
class ListenerTls;
}  // namespace cutover::proxy

namespace cutover::proxy::admin {

struct AdminRequest {
  std::string method;
  std::string path;                                          // the target up to '?'
  std::string query;                                         // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  bool body_too_large = false;  // the body was over the limit and was not read
  // The peer: a Unix socket caller's uid, or a TCP caller's "address:port".
  bool unix_socket = false;
  uint32_t peer_uid = 0;
  std::string peer_address;
  // TCP with [admin.tls]: the connection is TLS, and the client certificate the handshake
  // verified against client_ca_file, if any: its subject (RFC 2253; "" = none) and CN.
  bool tls = false;
  std::string client_subject;
  std::string client_common_name;

  // The first header named `name` (lower case), or null.
  const std::string* Header(std::string_view name) const;
};

struct AdminResponse {
  int status = 200;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones (ETag, Allow, ...)
  // A body that is not JSON (/metrics): sent as is with this content type when set.
  std::string text_body;
  std::string text_content_type;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

class AdminConnection;

class AdminServer {
 public:
  explicit AdminServer(AdminHandler handler);
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;
  ~AdminServer();

  // Before Start(): the TCP listener speaks TLS with the current certificates of `tls`, which
  // the caller owns and keeps alive until Stop(); nullptr (the default) = plain HTTP.
  void SetTls(const ListenerTls* tls) { tls_ = tls; }

  // Before Start(): `tick` runs on the admin thread every kTickMs (the guardrail loop keeps its
  // own interval on top, so a reload can change it without touching this timer).
  static constexpr uint64_t kTickMs = 100;
  void SetTicker(std::function<void()> tick) { tick_ = std::move(tick); }

  // Opens the listeners the config asks for (on the calling thread, so a bad path or a busy
  // port fails the start) and starts the admin thread.
  bool Start(const AdminConfig& config, std::string* error);
  // Any thread: closes the listeners and connections, ends the loop, joins the thread.
  void Stop();

  uint16_t tcp_port() const { return tcp_port_; }

  // --- admin thread only ---
  const AdminHandler& handler() const { return handler_; }
  uint32_t body_limit() const { return body_limit_; }
  const ListenerTls* tls() const { return tls_; }
  void Forget(AdminConnection* connection);

 private:
  bool ListenUnix(const std::string& path, std::string* error);
  bool ListenTcp(const std::string& host, uint16_t port, std::string* error);
  void OnUnixConnection(int status);
  void OnTcpConnection(int status);
  void Accept(uv_stream_t* listener, bool unix_socket);
  void OnStop();
  void OnIdleTimer();
  void OnTickTimer();

  AdminHandler handler_;
  std::function<void()> tick_;
  uv_loop_t loop_;
  uv_pipe_t unix_listener_;
  uv_tcp_t tcp_listener_;
  uv_async_t stop_async_;
  uv_timer_t idle_timer_;  // closes connections silent for too long
  uv_timer_t tick_timer_;  // runs tick_, when set
  bool unix_listening_ = false;
  bool tcp_listening_ = false;
  std::string socket_path_;  // unlinked on stop
  uint16_t tcp_port_ = 0;
  uint32_t body_limit_ = 65536;
  const ListenerTls* tls_ = nullptr;  // not owned
  std::thread thread_;
  std::vector<AdminConnection*> connections_;
};

}  // namespace cutover::proxy::admin
