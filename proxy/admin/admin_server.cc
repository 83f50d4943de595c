#include "proxy/admin/admin_server.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>

#include "proxy/admin/admin_request_parser.h"
#include "proxy/admin/admin_response_serializer.h"
#include "proxy/listener_tls.h"
#include "proxy/log.h"
#include "proxy/snapshot.h"
#include "proxy/uv_callback.h"
#include "proxy/uv_loop_close.h"
#include "tls/engine.h"

namespace cutover::proxy::admin {
namespace {

constexpr std::size_t kMaxConnections = 64;  // more are accepted and closed at once
constexpr uint64_t kIdleTimeoutMs = 30'000;  // a silent connection is closed after this

std::string PeerAddress(uv_tcp_t* tcp) {
  sockaddr_storage address{};
  int length = sizeof address;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&address), &length) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (address.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&address);
  inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
  port = ntohs(in6->sin6_port);
  return "[" + std::string(host) + "]:" + std::to_string(port);
}

}  // namespace

const std::string* AdminRequest::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (field == name) return &value;
  }
  return nullptr;
}

// One admin client connection. Owns its stream handle; deleted in the handle's close callback.
// On a TLS listener it also owns the connection's tls::Engine: what the socket brings is
// decrypted into the parser (DrainTls), and every answer is sealed before it is written
// (SendRaw), so the HTTP code above it is the same for both. What the bytes mean is the
// AdminRequestParser's business; this class reports who the peer is and writes the answers.
class AdminConnection final : private AdminRequestParser::Listener {
 public:
  AdminConnection(AdminServer* server, bool unix_socket)
      : server_(server), parser_(this, server->body_limit()) {
    parser_.request().unix_socket = unix_socket;
  }

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&handle_); }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&handle_); }
  bool unix_socket() const { return parser_.request().unix_socket; }
  uint64_t last_active_ms = 0;

  void Init(uv_loop_t* loop) {
    if (parser_.request().unix_socket) {
      uv_pipe_init(loop, &handle_.pipe, 0);
    } else {
      uv_tcp_init(loop, &handle_.tcp);
    }
    handle()->data = this;
    last_active_ms = uv_now(loop);
  }

  // After uv_accept: learn the peer and start reading.
  void Begin() {
    if (parser_.request().unix_socket) {
      uv_os_fd_t fd;
      ucred credentials{};
      socklen_t length = sizeof credentials;
      if (uv_fileno(handle(), &fd) == 0 &&
          getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) {
        peer_uid_ = credentials.uid;
      } else {
        peer_uid_ = UINT32_MAX;  // unknown: never allowed
      }
      peer_address_ = "unix";
    } else {
      uv_tcp_nodelay(&handle_.tcp, 1);
      peer_address_ = PeerAddress(&handle_.tcp);
      if (const ListenerTls* tls = server_->tls()) {
        tls_ = tls::Engine::Accept(tls->current());
        parser_.request().tls = true;
      }
    }
    if (uv_read_start(stream(), &UvCallback<&AdminConnection::OnAlloc>::Call,
                      &UvCallback<&AdminConnection::OnRead>::Call) != 0) {
      Close();
    }
  }

  void Close() {
    if (uv_is_closing(handle())) return;
    if (tls_) {
      // close_notify (RFC 8446 §6.1) tells the client the close is deliberate, not a
      // truncation; a failed handshake leaves an alert to send instead. Either goes out only
      // if the kernel takes it at once: nothing waits for a client on its way out.
      if (tls_->handshake_done()) tls_->Shutdown();
      std::string bytes = TakeCiphertext();
      uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
      if (!bytes.empty() && writes_in_flight_ == 0) uv_try_write(stream(), &buf, 1);
    }
    uv_close(handle(), &UvCallback<&AdminConnection::OnClosed>::Call);
  }

 private:
  struct WriteOp {
    uv_write_t request;
    std::string data;
    AdminConnection* connection;
    bool close_after;
  };

  void OnAlloc(size_t, uv_buf_t* buf) { *buf = uv_buf_init(read_buffer_, sizeof read_buffer_); }

  void OnRead(ssize_t nread, const uv_buf_t* buf) {
    if (nread < 0) {
      CloseWhenWritten();
      return;
    }
    last_active_ms = uv_now(handle()->loop);
    if (tls_) {
      tls_->Receive(buf->base, static_cast<std::size_t>(nread));
      DrainTls();
      return;
    }
    OnInput(buf->base, static_cast<std::size_t>(nread));
  }

  // Decrypts what the engine holds into the parser, then sends what the engine owes the client
  // on its own: handshake messages, session tickets, or the alert of a failed handshake.
  void DrainTls() {
    char plain[16 * 1024];
    while (!closing_after_write_ && !uv_is_closing(handle())) {
      const long n = tls_->Read(plain, sizeof plain);
      if (n > 0) {
        OnInput(plain, static_cast<std::size_t>(n));
        continue;
      }
      if (n == tls::Engine::kClosed) {
        CloseWhenWritten();  // the client's close_notify: it sends nothing more
      } else if (n == tls::Engine::kFailed) {
        // A client without a certificate when one is required, a certificate the CA did not
        // sign, plain HTTP on the TLS port: worth a line for whoever debugs a refused ctl.
        Log(LogLevel::kInfo, "admin: TLS from %s: %s", peer_address_.c_str(),
            tls_->error().c_str());
        Close();  // sends the alert
      }
      break;
    }
    if (!uv_is_closing(handle())) Write(TakeCiphertext(), false);
  }

  // Plaintext from the client: a socket read, or what the engine decrypted.
  void OnInput(const char* data, std::size_t length) {
    if (closing_after_write_) return;  // answered with Connection: close; ignore the rest
    parser_.Feed(data, length);
  }

  void OnClosed() {
    server_->Forget(this);
    delete this;
  }

  // --- what the parser reports ---
  void OnContinue() override { SendRaw("HTTP/1.1 100 Continue\r\n\r\n", false); }

  void OnRequest(const AdminRequest&, bool close_after) override {
    AdminRequest& request = parser_.request();  // the same request, to add who sent it
    request.peer_uid = peer_uid_;
    request.peer_address = peer_address_;
    if (tls_) {
      // Verified against client_ca_file during the handshake; "" when the client sent none.
      request.client_subject = tls_->peer_subject();
      request.client_common_name = tls_->peer_common_name();
    }
    const AdminResponse response = server_->handler()(request);
    SendRaw(SerializeAdminResponse(response, request, close_after), close_after);
  }

  void OnMalformed(int status, std::string message) override {
    AdminResponse response;
    response.status = status;
    response.body = {{"error", std::move(message)}, {"field", ""}};
    SendRaw(SerializeAdminResponse(response, parser_.request(), true), true);
  }

  // HTTP bytes for the client: sealed first on TLS, where a close also queues close_notify.
  void SendRaw(std::string data, bool close_after) {
    if (close_after) {
      closing_after_write_ = true;
      uv_read_stop(stream());
    }
    if (tls_) {
      if (!tls_->Write(data.data(), data.size())) {
        Close();
        return;
      }
      if (close_after) {
        tls_->Shutdown();
      } else {
        tls_->Flush();
      }
      data = TakeCiphertext();
    }
    Write(std::move(data), close_after);
  }

  std::string TakeCiphertext() {
    std::string bytes(tls_ ? tls_->PendingOutput() : 0, '\0');
    if (!bytes.empty()) tls_->TakeOutput(bytes.data(), bytes.size());
    return bytes;
  }

  // Bytes for the socket, in order after those already queued.
  void Write(std::string data, bool close_after) {
    if (data.empty()) {
      if (close_after) CloseWhenWritten();
      return;
    }
    auto* op = new WriteOp{};
    op->connection = this;
    op->close_after = close_after;
    op->request.data = op;
    op->data = std::move(data);
    uv_buf_t buf = uv_buf_init(op->data.data(), static_cast<unsigned>(op->data.size()));
    if (uv_write(&op->request, stream(), &buf, 1, &AdminConnection::OnWritten) != 0) {
      delete op;
      Close();
      return;
    }
    ++writes_in_flight_;
  }

  // The client is done sending: answers already queued still go out, then the connection ends.
  void CloseWhenWritten() {
    if (uv_is_closing(handle())) return;
    close_when_written_ = true;
    uv_read_stop(stream());
    if (writes_in_flight_ == 0) Close();
  }

  static void OnWritten(uv_write_t* request, int status) {
    auto* op = static_cast<WriteOp*>(request->data);
    AdminConnection* connection = op->connection;
    --connection->writes_in_flight_;
    const bool close = op->close_after || status < 0 ||
                       (connection->close_when_written_ && connection->writes_in_flight_ == 0);
    delete op;
    if (close) connection->Close();
  }

  AdminServer* server_;
  union {
    uv_pipe_t pipe;
    uv_tcp_t tcp;
  } handle_;
  AdminRequestParser parser_;
  std::unique_ptr<tls::Engine> tls_;  // on a TLS listener
  bool closing_after_write_ = false;
  bool close_when_written_ = false;
  unsigned writes_in_flight_ = 0;
  uint32_t peer_uid_ = UINT32_MAX;
  std::string peer_address_;
  char read_buffer_[16 * 1024];
};

AdminServer::AdminServer(AdminHandler handler) : handler_(std::move(handler)) {
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &stop_async_, &UvCallback<&AdminServer::OnStop>::Call);
  stop_async_.data = this;
  uv_timer_init(&loop_, &idle_timer_);
  idle_timer_.data = this;
  uv_timer_init(&loop_, &tick_timer_);
  tick_timer_.data = this;
}

AdminServer::~AdminServer() {
  Stop();
  CloseLoop(&loop_);
}

bool AdminServer::Start(const AdminConfig& config, std::string* error) {
  body_limit_ = config.body_bytes;
  if (!config.socket.empty() && !ListenUnix(config.socket, error)) return false;
  if (!config.host.empty() && !ListenTcp(config.host, config.port, error)) return false;
  uv_timer_start(&idle_timer_, &UvCallback<&AdminServer::OnIdleTimer>::Call, kIdleTimeoutMs / 4,
                 kIdleTimeoutMs / 4);
  if (tick_) {
    uv_timer_start(&tick_timer_, &UvCallback<&AdminServer::OnTickTimer>::Call, kTickMs, kTickMs);
  }
  thread_ = std::thread([this] { uv_run(&loop_, UV_RUN_DEFAULT); });
  return true;
}

bool AdminServer::ListenUnix(const std::string& path, std::string* error) {
  sockaddr_un address{};
  if (path.size() >= sizeof address.sun_path) {
    *error = "admin socket path " + path + " is too long for a Unix socket";
    return false;
  }
  struct stat info {};
  if (lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      *error = "admin socket path " + path + " exists and is not a socket; refusing to replace it";
      return false;
    }
    // A socket file: live if something accepts on it, stale (a crashed process) otherwise.
    const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const bool live =
        probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      *error = "admin socket " + path + " is in use by another running process";
      return false;
    }
    if (unlink(path.c_str()) != 0) {
      *error = "cannot remove the stale admin socket " + path + ": " + std::strerror(errno);
      return false;
    }
    Log(LogLevel::kInfo, "admin: removed the stale socket %s", path.c_str());
  }
  uv_pipe_init(&loop_, &unix_listener_, 0);
  unix_listener_.data = this;
  unix_listening_ = true;  // initialised: closed with the loop from here on
  // The socket must never be reachable by others, not even between bind and chmod.
  const mode_t old_mask = umask(0177);
  int rc = uv_pipe_bind(&unix_listener_, path.c_str());
  umask(old_mask);
  if (rc == 0) rc = chmod(path.c_str(), 0600) == 0 ? 0 : uv_translate_sys_error(errno);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&unix_listener_), 64,
                   &UvCallback<&AdminServer::OnUnixConnection>::Call);
  }
  if (rc != 0) {
    *error = "cannot listen on the admin socket " + path + ": " + uv_strerror(rc);
    return false;
  }
  socket_path_ = path;
  return true;
}

bool AdminServer::ListenTcp(const std::string& host, uint16_t port, std::string* error) {
  sockaddr_storage address;
  if (!ResolveNumeric(host, port, &address)) {
    *error = "admin address " + host + " is not a numeric address";
    return false;
  }
  uv_tcp_init(&loop_, &tcp_listener_);
  tcp_listener_.data = this;
  tcp_listening_ = true;
  int rc = uv_tcp_bind(&tcp_listener_, reinterpret_cast<const sockaddr*>(&address), 0);
  if (rc == 0) {
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_listener_), 64,
                   &UvCallback<&AdminServer::OnTcpConnection>::Call);
  }
  if (rc != 0) {
    *error = "cannot listen on the admin address " + host + ":" + std::to_string(port) + ": " +
             uv_strerror(rc);
    return false;
  }
  sockaddr_storage bound{};
  int length = sizeof bound;
  uv_tcp_getsockname(&tcp_listener_, reinterpret_cast<sockaddr*>(&bound), &length);
  tcp_port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return true;
}

void AdminServer::OnUnixConnection(int status) {
  if (status == 0) Accept(reinterpret_cast<uv_stream_t*>(&unix_listener_), true);
}

void AdminServer::OnTcpConnection(int status) {
  if (status == 0) Accept(reinterpret_cast<uv_stream_t*>(&tcp_listener_), false);
}

void AdminServer::Accept(uv_stream_t* listener, bool unix_socket) {
  auto* connection = new AdminConnection(this, unix_socket);
  connection->Init(&loop_);
  connections_.push_back(connection);
  if (uv_accept(listener, connection->stream()) != 0 || connections_.size() > kMaxConnections) {
    connection->Close();
    return;
  }
  connection->Begin();
}

void AdminServer::Forget(AdminConnection* connection) {
  connections_.erase(std::remove(connections_.begin(), connections_.end(), connection),
                     connections_.end());
}

void AdminServer::OnIdleTimer() {
  const uint64_t now = uv_now(&loop_);
  for (AdminConnection* connection : connections_) {
    if (now - connection->last_active_ms > kIdleTimeoutMs) connection->Close();
  }
}

void AdminServer::Stop() {
  if (!thread_.joinable()) return;
  uv_async_send(&stop_async_);
  thread_.join();
}

void AdminServer::OnTickTimer() {
  tick_();
}

void AdminServer::OnStop() {
  for (AdminConnection* connection : connections_) connection->Close();
  uv_close(reinterpret_cast<uv_handle_t*>(&stop_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  if (unix_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&unix_listener_), nullptr);
  if (tcp_listening_) uv_close(reinterpret_cast<uv_handle_t*>(&tcp_listener_), nullptr);
  if (!socket_path_.empty()) unlink(socket_path_.c_str());
}

}  // namespace cutover::proxy::admin
