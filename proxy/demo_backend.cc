// The built-in blue/green origin servers behind `cutover demo`, also used by tests and as a
// benchmark backend. One libuv loop on one thread serves every name; each name has its own
// listening socket. The request path allocates nothing in the steady state: reads land in one
// loop-wide buffer, llhttp parses them in place, the answers for a whole read batch are
// appended to the connection's reused output string and leave in one uv_try_write.
#include "proxy/demo_backend.h"

#include <llhttp.h>
#include <pthread.h>
#include <signal.h>
#include <uv.h>

#include <array>
#include <atomic>
#include <charconv>
#include <future>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "proxy/uv_callback.h"

namespace cutover::proxy {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
// Longer request-targets get 414 (RFC 9110 §15.5.15); the same default as [limits] uri_bytes.
constexpr std::size_t kMaxTargetBytes = 8192;
// An output string that grew past this for one burst of pipelined requests is released once
// it has been written, so an idle connection does not pin a large buffer.
constexpr std::size_t kMaxIdleOutputCapacity = 64 * 1024;
constexpr int kListenBacklog = 511;

constexpr std::string_view kExpectField = "expect";
constexpr std::string_view kContinueValue = "100-continue";
constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

std::string UvError(std::string_view what, int status) {
  std::string message(what);
  message += ": ";
  message += uv_strerror(status);
  return message;
}

void AppendDecimal(std::string& out, std::size_t value) {
  std::array<char, 24> digits;
  const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), result.ptr);
}

// Advances a case-insensitive match of `expected` over one more piece of a header field name
// or value. `matched` counts the bytes matched so far; npos means "cannot match any more".
std::size_t MatchPiece(std::size_t matched, std::string_view expected, const char* at,
                       std::size_t length) {
  for (std::size_t i = 0; i < length && matched != std::string_view::npos; ++i) {
    const char c = at[i] >= 'A' && at[i] <= 'Z' ? static_cast<char>(at[i] - 'A' + 'a') : at[i];
    matched =
        matched < expected.size() && c == expected[matched] ? matched + 1 : std::string_view::npos;
  }
  return matched;
}

// A name becomes an X-Backend field value, so it must be a valid one (RFC 9110 §5.5); we are
// stricter and take visible ASCII only, which every pool name in practice is.
bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (const char c : name) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

bool ParseHost(const std::string& host, sockaddr_storage* addr) {
  *addr = {};
  return uv_ip4_addr(host.c_str(), 0, reinterpret_cast<sockaddr_in*>(addr)) == 0 ||
         uv_ip6_addr(host.c_str(), 0, reinterpret_cast<sockaddr_in6*>(addr)) == 0;
}

// A write to a socket whose peer is gone can raise SIGPIPE (libuv does not pass MSG_NOSIGNAL
// for streams), which kills the process by default. Blocking it on the loop thread only makes
// such a write fail with EPIPE instead, and leaves the embedding process's signal disposition
// alone.
void BlockSigpipeOnThisThread() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// The libuv rules every type below keeps (libuv docs/src/handle.rst):
// - A handle never moves: it is a member of an owner that is neither copyable nor movable and
//   stays where it was allocated.
// - handle.data (and req.data, parser.data) points back to the owner; UvCallback turns the C
//   callback into a member call.
// - uv_close first; an owner is freed only after its handles' close callbacks have run
//   (a Connection in OnClosed; Servers with the Loop, after uv_run has returned). Writes and
//   shutdowns still in flight complete with UV_ECANCELED before the close callback.
// - Only the loop thread calls libuv for this loop, with one exception: the destructor's
//   uv_async_send on the stop handle. OnStop then closes every handle (uv_walk), uv_run
//   returns, and the thread is joined.

// One named origin server: its listening socket and the response text that never changes.
//
// Ownership: owned by DemoBackends::Loop, created before the loop thread starts and destroyed
// after it has ended, so after the listener's close callback has run. Not copyable or movable:
// listener_.data points back here. listener_ is touched only on the loop thread; port_ is
// written there before Start returns (the promise publishes it); served_ is atomic.
class Server {
 public:
  Server(std::string name, char* read_buffer);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loop thread. Binds addr (port 0) and listens; returns 0 or a libuv error.
  int Listen(uv_loop_t* loop, const sockaddr* addr);
  bool IsListener(const uv_handle_t* handle) const {
    return handle == reinterpret_cast<const uv_handle_t*>(&listener_);
  }

  const std::string& name() const { return name_; }
  // "HTTP/1.1 200 OK ... Content-Length: " -- everything before the length, built once.
  const std::string& ok_head_prefix() const { return ok_head_prefix_; }
  char* read_buffer() const { return read_buffer_; }
  uint16_t port() const { return port_; }
  uint64_t served() const { return served_.load(std::memory_order_relaxed); }
  void CountServed() { served_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void OnConnection(int status);

  const std::string name_;
  const std::string ok_head_prefix_;
  // The loop's shared read buffer (see Connection::OnAlloc).
  char* const read_buffer_;
  uv_tcp_t listener_;
  uint16_t port_ = 0;
  std::atomic<uint64_t> served_{0};
};

// One accepted client connection and its request parser.
//
// Ownership: created in Server::OnConnection and from then on owned by its own tcp_ handle:
// freed in OnClosed and nowhere else, so a close requested from anywhere (an error, EOF, the
// stop walk) is safe while a write or shutdown is still in flight (those complete first, with
// UV_ECANCELED). Not copyable or movable: tcp_.data, write_req_.data, shutdown_req_.data and
// parser_.data point back here. Loop thread only.
class Connection {
 public:
  // Accepts one pending connection on `listener` and starts reading it.
  static void Accept(Server& server, uv_stream_t* listener);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Idempotent; the object is freed in OnClosed.
  void Close();

 private:
  // kOpen: parsing requests. kClosing: the last response (Connection: close, or an error) is
  // queued; input is no longer parsed. kLingering: that response is written and our side is
  // shut down; input is read and discarded until the client closes, so that unread request
  // bytes do not make the kernel reset the connection and destroy the response before the
  // client has read it (RFC 9112 §9.6).
  enum class State { kOpen, kClosing, kLingering };

  explicit Connection(Server& server);

  uv_stream_t* Stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  uv_handle_t* Handle() { return reinterpret_cast<uv_handle_t*>(&tcp_); }
  bool IsClosing() { return uv_is_closing(Handle()) != 0; }

  void StartReading();
  void StopReading();
  void Flush();
  void StartWrite(std::size_t offset);
  void ReleaseOutput();
  void AfterFlush();
  void AppendOk();
  void AppendConnectionHeader(bool keep_alive);
  void AppendError(llhttp_errno_t error);

  void OnAlloc(std::size_t suggested, uv_buf_t* buf);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnWritten(int status);
  void OnShutdown(int status);
  void OnClosed();

  int OnMessageBegin();
  int OnUrl(const char* at, std::size_t length);
  int OnHeaderField(const char* at, std::size_t length);
  int OnHeaderFieldComplete();
  int OnHeaderValue(const char* at, std::size_t length);
  int OnHeaderValueComplete();
  int OnHeadersComplete();
  int OnMessageComplete();

  static const llhttp_settings_t kParserSettings;

  Server& server_;
  uv_tcp_t tcp_;
  uv_write_t write_req_;
  uv_shutdown_t shutdown_req_;
  llhttp_t parser_;
  State state_ = State::kOpen;
  bool reading_ = false;
  bool writing_ = false;

  // The request being parsed. target_ keeps its capacity across requests.
  std::string target_;
  bool keep_alive_ = true;
  // 0, or the status our own parser callback chose when it failed the request, and why
  // (llhttp replaces the reason of a failed callback with a generic one).
  int error_status_ = 0;
  const char* error_detail_ = nullptr;
  std::size_t field_matched_ = 0;
  std::size_t value_matched_ = 0;
  bool in_expect_field_ = false;
  bool expect_continue_ = false;

  // Responses not yet handed to the kernel, in request order. While writing_, it is the
  // buffer of write_req_ and must not change; reading stops until the write completes.
  std::string out_;
};

// Designated initialisers so that a reordering of llhttp_settings_t cannot silently swap
// callbacks. Every member is named because g++ 12 -Wextra flags omitted ones. on_body stays
// null: bodies are framed by the parser and discarded.
const llhttp_settings_t Connection::kParserSettings = {
    .on_message_begin = &UvCallback<&Connection::OnMessageBegin>::Call,
    .on_url = &UvCallback<&Connection::OnUrl>::Call,
    .on_status = nullptr,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &UvCallback<&Connection::OnHeaderField>::Call,
    .on_header_value = &UvCallback<&Connection::OnHeaderValue>::Call,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &UvCallback<&Connection::OnHeadersComplete>::Call,
    .on_body = nullptr,
    .on_message_complete = &UvCallback<&Connection::OnMessageComplete>::Call,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = &UvCallback<&Connection::OnHeaderFieldComplete>::Call,
    .on_header_value_complete = &UvCallback<&Connection::OnHeaderValueComplete>::Call,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

Server::Server(std::string name, char* read_buffer)
    : name_(std::move(name)),
      ok_head_prefix_(
          "HTTP/1.1 200 OK\r\n"
          "Content-Type: text/plain; charset=utf-8\r\n"
          "X-Backend: " +
          name_ + "\r\nContent-Length: "),
      read_buffer_(read_buffer) {}

int Server::Listen(uv_loop_t* loop, const sockaddr* addr) {
  int rc = uv_tcp_init(loop, &listener_);
  if (rc != 0) return rc;
  listener_.data = this;
  rc = uv_tcp_bind(&listener_, addr, 0);
  if (rc != 0) return rc;
  rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog,
                 &UvCallback<&Server::OnConnection>::Call);
  if (rc != 0) return rc;
  sockaddr_storage bound{};
  int length = sizeof(bound);
  rc = uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &length);
  if (rc != 0) return rc;
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return 0;
}

void Server::OnConnection(int status) {
  // A failed accept (e.g. out of descriptors) concerns only that client; keep listening.
  if (status != 0) return;
  Connection::Accept(*this, reinterpret_cast<uv_stream_t*>(&listener_));
}

Connection::Connection(Server& server) : server_(server) {
  write_req_.data = this;
  shutdown_req_.data = this;
  llhttp_init(&parser_, HTTP_REQUEST, &kParserSettings);
  parser_.data = this;
}

void Connection::Accept(Server& server, uv_stream_t* listener) {
  auto* connection = new Connection(server);
  if (uv_tcp_init(listener->loop, &connection->tcp_) != 0) {
    delete connection;  // no handle yet, so nothing to close
    return;
  }
  connection->tcp_.data = connection;
  // From here on the handle owns the connection; every exit goes through Close().
  if (uv_accept(listener, connection->Stream()) != 0) {
    connection->Close();
    return;
  }
  // Responses leave in one write per read batch; Nagle would only delay them.
  uv_tcp_nodelay(&connection->tcp_, 1);
  connection->StartReading();
}

void Connection::Close() {
  if (IsClosing()) return;
  uv_close(Handle(), &UvCallback<&Connection::OnClosed>::Call);
}

void Connection::OnClosed() {
  delete this;
}

void Connection::StartReading() {
  if (reading_ || IsClosing()) return;
  if (uv_read_start(Stream(), &UvCallback<&Connection::OnAlloc>::Call,
                    &UvCallback<&Connection::OnRead>::Call) != 0) {
    Close();
    return;
  }
  reading_ = true;
}

void Connection::StopReading() {
  if (!reading_) return;
  uv_read_stop(Stream());
  reading_ = false;
}

// Every read lands in the loop's one buffer: the loop thread finishes parsing a read before
// the next one starts, and nothing keeps a pointer into it (target_ is copied), so an idle
// connection holds no read buffer at all.
void Connection::OnAlloc(std::size_t /*suggested*/, uv_buf_t* buf) {
  *buf = uv_buf_init(server_.read_buffer(), kReadBufferSize);
}

void Connection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread < 0) {
    // EOF or an error. Whatever we queued is already with the kernel: while a write is in
    // flight we do not read, so we cannot get here before it completed.
    Close();
    return;
  }
  if (nread == 0 || state_ != State::kOpen) return;  // lingering: discard
  const llhttp_errno_t error = llhttp_execute(&parser_, buf->base, static_cast<std::size_t>(nread));
  // HPE_PAUSED comes from OnMessageComplete after a final response; anything else with the
  // state still open is a malformed request.
  if (error != HPE_OK && state_ == State::kOpen) AppendError(error);
  Flush();
}

// One attempt to write every queued response at once; only the rest, if any, goes through a
// queued uv_write.
void Connection::Flush() {
  if (writing_ || IsClosing()) return;
  if (!out_.empty()) {
    uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned int>(out_.size()));
    int written = uv_try_write(Stream(), &buf, 1);
    if (written == UV_EAGAIN) written = 0;
    if (written < 0) {
      Close();
      return;
    }
    if (static_cast<std::size_t>(written) < out_.size()) {
      StartWrite(static_cast<std::size_t>(written));
      return;
    }
    ReleaseOutput();
  }
  AfterFlush();
}

void Connection::StartWrite(std::size_t offset) {
  uv_buf_t buf = uv_buf_init(out_.data() + offset, static_cast<unsigned int>(out_.size() - offset));
  if (uv_write(&write_req_, Stream(), &buf, 1, &UvCallback<&Connection::OnWritten>::Call) != 0) {
    Close();
    return;
  }
  writing_ = true;
  // Back-pressure: a client that does not read its responses gets no more requests parsed,
  // which keeps out_ bounded by what one read batch can produce.
  StopReading();
}

void Connection::OnWritten(int status) {
  writing_ = false;
  if (status != 0) {  // includes UV_ECANCELED when we are closing
    Close();
    return;
  }
  ReleaseOutput();
  AfterFlush();
}

void Connection::ReleaseOutput() {
  out_.clear();
  if (out_.capacity() > kMaxIdleOutputCapacity) std::string().swap(out_);
}

void Connection::AfterFlush() {
  switch (state_) {
    case State::kOpen:
      StartReading();
      return;
    case State::kClosing:
      // Send FIN after the last response, then drain input until the client closes.
      state_ = State::kLingering;
      if (uv_shutdown(&shutdown_req_, Stream(), &UvCallback<&Connection::OnShutdown>::Call) != 0) {
        Close();
        return;
      }
      StartReading();
      return;
    case State::kLingering:
      return;
  }
}

void Connection::OnShutdown(int status) {
  if (status != 0) Close();
}

int Connection::OnMessageBegin() {
  target_.clear();
  keep_alive_ = true;
  error_status_ = 0;
  error_detail_ = nullptr;
  field_matched_ = 0;
  value_matched_ = 0;
  in_expect_field_ = false;
  expect_continue_ = false;
  return HPE_OK;
}

int Connection::OnUrl(const char* at, std::size_t length) {
  if (target_.size() + length > kMaxTargetBytes) {
    error_status_ = 414;
    error_detail_ = "request-target longer than 8192 bytes";
    return HPE_USER;
  }
  target_.append(at, length);
  return HPE_OK;
}

// Expect: 100-continue (RFC 9110 §10.1.1) is the one request field we act on; it is matched
// piece by piece as llhttp hands the bytes over, so no header is copied.
int Connection::OnHeaderField(const char* at, std::size_t length) {
  field_matched_ = MatchPiece(field_matched_, kExpectField, at, length);
  return HPE_OK;
}

int Connection::OnHeaderFieldComplete() {
  in_expect_field_ = field_matched_ == kExpectField.size();
  field_matched_ = 0;
  return HPE_OK;
}

int Connection::OnHeaderValue(const char* at, std::size_t length) {
  if (in_expect_field_) value_matched_ = MatchPiece(value_matched_, kContinueValue, at, length);
  return HPE_OK;
}

int Connection::OnHeaderValueComplete() {
  if (in_expect_field_ && value_matched_ == kContinueValue.size()) expect_continue_ = true;
  value_matched_ = 0;
  in_expect_field_ = false;
  return HPE_OK;
}

int Connection::OnHeadersComplete() {
  if (parser_.method == HTTP_CONNECT) {
    // An origin server has no tunnel to offer (RFC 9110 §9.3.6, §15.6.2).
    error_status_ = 501;
    error_detail_ = "CONNECT is not supported";
    return -1;
  }
  // An Upgrade request is answered as a plain request (RFC 9110 §7.8 lets us ignore Upgrade),
  // but llhttp stops parsing after it, so the connection closes after that answer.
  keep_alive_ = llhttp_should_keep_alive(&parser_) != 0 && parser_.upgrade == 0;
  // A 1.1 client that waits for 100 before sending its body would otherwise stall until its
  // own timeout; an HTTP/1.0 client's expectation must be ignored (RFC 9110 §10.1.1).
  const bool has_body = (parser_.flags & F_CHUNKED) != 0 || parser_.content_length > 0;
  if (expect_continue_ && has_body && parser_.http_major == 1 && parser_.http_minor >= 1) {
    out_.append(kContinueResponse);
  }
  return HPE_OK;
}

int Connection::OnMessageComplete() {
  AppendOk();
  server_.CountServed();
  if (keep_alive_) return HPE_OK;
  // Requests pipelined after a close are not answered (RFC 9112 §9.6).
  state_ = State::kClosing;
  return HPE_PAUSED;
}

void Connection::AppendOk() {
  const auto method = static_cast<llhttp_method_t>(parser_.method);
  const bool head = method == HTTP_HEAD;
  // HEAD gets the header fields GET would get, Content-Length included (RFC 9110 §9.3.2).
  const std::string_view body_method = llhttp_method_name(head ? HTTP_GET : method);
  const std::string& name = server_.name();
  const std::size_t body_length = name.size() + 2 + body_method.size() + 1 + target_.size() + 1;
  out_.append(server_.ok_head_prefix());
  AppendDecimal(out_, body_length);
  out_.append("\r\n");
  AppendConnectionHeader(keep_alive_);
  out_.append("\r\n");
  if (head) return;
  out_.append(name).append(": ").append(body_method).append(" ").append(target_).append("\n");
}

void Connection::AppendConnectionHeader(bool keep_alive) {
  if (!keep_alive) {
    out_.append("Connection: close\r\n");
  } else if (parser_.http_major == 1 && parser_.http_minor == 0) {
    // An HTTP/1.0 client keeps the connection only if we say so (RFC 9112 §9.3).
    out_.append("Connection: keep-alive\r\n");
  }
}

// The answer to a request we cannot parse or will not serve; the connection closes after it
// because the rest of the input cannot be framed reliably (RFC 9112 §6.3).
void Connection::AppendError(llhttp_errno_t error) {
  const int status = error_status_ != 0 ? error_status_ : 400;
  const char* phrase = status == 414   ? "URI Too Long"
                       : status == 501 ? "Not Implemented"
                                       : "Bad Request";
  // Errors are rare, so this path may allocate; the detail helps whoever debugs the client.
  std::string detail;
  if (error_detail_ != nullptr) {
    detail = error_detail_;
  } else {
    const char* reason = llhttp_get_error_reason(&parser_);
    detail = std::string(llhttp_errno_name(error)) + ": " + (reason != nullptr ? reason : "?");
  }
  const std::string body =
      server_.name() + ": " + std::to_string(status) + " " + phrase + " (" + detail + ")\n";
  out_.append("HTTP/1.1 ").append(std::to_string(status)).append(" ").append(phrase).append("\r\n");
  out_.append("Content-Type: text/plain; charset=utf-8\r\nX-Backend: ").append(server_.name());
  out_.append("\r\nContent-Length: ");
  AppendDecimal(out_, body.size());
  out_.append("\r\n");
  AppendConnectionHeader(false);
  out_.append("\r\n").append(body);
  state_ = State::kClosing;
}

}  // namespace

// The libuv side of DemoBackends.
//
// Ownership: owned by DemoBackends; owns the loop, the stop handle, the Servers, the shared
// read buffer and the loop thread. Not copyable or movable: stop_.data and every Server's
// read buffer point into it. Start and the destructor run on the owner's thread; everything
// else (Run, OnStop, CloseHandle) on the loop thread. The destructor's only contact with the
// running loop is uv_async_send, the one libuv call that is safe from another thread.
class DemoBackends::Loop {
 public:
  explicit Loop(const std::vector<std::string>& names);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Starts the loop thread and waits until every server listens (or one failed). Returns an
  // error message, empty on success; on failure the thread has already ended.
  std::string Start(const sockaddr_storage& addr);

  const Server& server(std::size_t index) const { return *servers_.at(index); }
  std::size_t size() const { return servers_.size(); }

 private:
  void Run(std::promise<std::string> ready, sockaddr_storage addr);
  std::string Open(const sockaddr* addr);
  void OnStop();
  void CloseEverything();
  void CloseHandle(uv_handle_t* handle);
  void Finish();

  uv_loop_t loop_;
  uv_async_t stop_;
  std::array<char, kReadBufferSize> read_buffer_;
  std::vector<std::unique_ptr<Server>> servers_;
  std::thread thread_;
};

DemoBackends::Loop::Loop(const std::vector<std::string>& names) {
  servers_.reserve(names.size());
  for (const std::string& name : names) {
    servers_.push_back(std::make_unique<Server>(name, read_buffer_.data()));
  }
}

DemoBackends::Loop::~Loop() {
  if (!thread_.joinable()) return;  // Start failed and already joined
  uv_async_send(&stop_);
  thread_.join();
}

std::string DemoBackends::Loop::Start(const sockaddr_storage& addr) {
  std::promise<std::string> ready;
  std::future<std::string> result = ready.get_future();
  // The promise moves into the thread, so it outlives its own set_value().
  thread_ = std::thread(&Loop::Run, this, std::move(ready), addr);
  std::string error = result.get();
  if (!error.empty()) thread_.join();
  return error;
}

void DemoBackends::Loop::Run(std::promise<std::string> ready, sockaddr_storage addr) {
  BlockSigpipeOnThisThread();
  const int rc = uv_loop_init(&loop_);
  if (rc != 0) {
    ready.set_value(UvError("uv_loop_init", rc));
    return;
  }
  std::string error = Open(reinterpret_cast<const sockaddr*>(&addr));
  if (!error.empty()) {
    CloseEverything();
    Finish();
    ready.set_value(std::move(error));
    return;
  }
  ready.set_value({});
  Finish();
}

std::string DemoBackends::Loop::Open(const sockaddr* addr) {
  int rc = uv_async_init(&loop_, &stop_, &UvCallback<&Loop::OnStop>::Call);
  if (rc != 0) return UvError("uv_async_init", rc);
  stop_.data = this;
  for (auto& server : servers_) {
    rc = server->Listen(&loop_, addr);
    if (rc != 0) return UvError("listening for backend \"" + server->name() + "\"", rc);
  }
  return {};
}

// Runs the loop until no handle is left (OnStop closed them all), then releases the loop.
void DemoBackends::Loop::Finish() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  // UV_EBUSY here would mean a handle outlived the walk; close it too rather than leak it.
  while (uv_loop_close(&loop_) == UV_EBUSY) {
    CloseEverything();
    uv_run(&loop_, UV_RUN_DEFAULT);
  }
}

void DemoBackends::Loop::OnStop() {
  CloseEverything();
}

// Closing every handle lets uv_run return once their close callbacks have run; connections
// free themselves there, Servers are freed with the Loop after the thread has ended.
void DemoBackends::Loop::CloseEverything() {
  uv_walk(
      &loop_,
      [](uv_handle_t* handle, void* loop) { static_cast<Loop*>(loop)->CloseHandle(handle); }, this);
}

void DemoBackends::Loop::CloseHandle(uv_handle_t* handle) {
  if (uv_is_closing(handle)) return;
  if (handle == reinterpret_cast<uv_handle_t*>(&stop_)) {
    uv_close(handle, nullptr);
    return;
  }
  for (const auto& server : servers_) {
    if (server->IsListener(handle)) {
      uv_close(handle, nullptr);
      return;
    }
  }
  // uv_walk skips libuv's internal handles, so every other handle is an accepted connection.
  static_cast<Connection*>(handle->data)->Close();
}

DemoBackends::DemoBackends(std::unique_ptr<Loop> loop) : loop_(std::move(loop)) {}

DemoBackends::~DemoBackends() = default;

std::unique_ptr<DemoBackends> DemoBackends::Start(const std::vector<std::string>& names,
                                                  const std::string& host, std::string* error) {
  const auto fail = [error](std::string message) {
    if (error != nullptr) *error = std::move(message);
    return nullptr;
  };
  if (names.empty()) return fail("no backend names given");
  for (const std::string& name : names) {
    if (!IsValidName(name)) {
      return fail("backend name \"" + name + "\" must be non-empty visible ASCII without spaces");
    }
  }
  sockaddr_storage addr;
  if (!ParseHost(host, &addr)) {
    return fail("host \"" + host + "\" is not a numeric IPv4 or IPv6 address");
  }
  auto loop = std::make_unique<Loop>(names);
  std::string message = loop->Start(addr);
  if (!message.empty()) return fail(std::move(message));
  return std::unique_ptr<DemoBackends>(new DemoBackends(std::move(loop)));
}

std::size_t DemoBackends::size() const {
  return loop_->size();
}

uint16_t DemoBackends::port(std::size_t index) const {
  return loop_->server(index).port();
}

uint64_t DemoBackends::requests_served(std::size_t index) const {
  return loop_->server(index).served();
}

}  // namespace cutover::proxy
