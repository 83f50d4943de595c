// One TCP connection from a worker to a backend endpoint, with the codec for its responses
// (ResponseCodec). It is either connecting, serving exactly one exchange (attached to a
// ClientConnection), or idle in its endpoint's pool.
//
// TLS (the endpoint's pool has [pools.NAME.tls]): after the TCP connect a tls::Engine runs the
// handshake; the connection counts as connected (OnUpstreamConnected, the end of the
// upstream_connect timeout) only once the handshake is done, so a handshake failure is a failed
// connect of kind `tls` and nothing of the request has reached the backend. The request queued
// meanwhile waits inside the engine and goes out right after the handshake. Responses are
// decrypted into pooled blocks and parsed like plain ones; the output queue seals at Flush().
// The connection keeps its TLS session across the requests of its keep-alive life.
//
// Ownership: created and destroyed by the Worker; owns its uv_tcp_t, uv_timer_t,
// uv_connect_t and TLS engine. Freed only in the last close callback (Close() starts that).
// Not copyable or movable: libuv holds pointers into it. Worker thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "proxy/deadline_timer.h"
#include "proxy/output_queue.h"
#include "proxy/response_codec.h"

namespace cutover::tls {
class ClientContext;
class Engine;
}  // namespace cutover::tls

namespace cutover::proxy {

class ClientConnection;
class Worker;
struct UpstreamEndpoint;

// Why an upstream exchange failed; names double as metric label values.
enum class UpstreamError : uint8_t {
  kNone,
  kConnectRefused,
  kConnectTimeout,
  kReset,  // closed or reset before the response completed
  kResponseTimeout,
  kProtocol,  // the response did not parse
  kTls,       // the TLS handshake failed (verification, alert, close) or a record was bad
};
const char* UpstreamErrorName(UpstreamError error);

class UpstreamConnection final : public OutputQueue::Listener, private ResponseCodec::Listener {
 public:
  // Speaks TLS when the endpoint's pool does (as of now: a later reload does not change it).
  UpstreamConnection(Worker* worker, UpstreamEndpoint* endpoint);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Starts the TCP connect, then the TLS handshake if any; failures are reported to the
  // attached client.
  void Connect();
  // Binds this connection to one exchange. `reused` is true when it came from the pool.
  void Attach(ClientConnection* client, bool head_request);
  // The exchange is over. Keeps the connection in its endpoint's pool if it can carry
  // another request; otherwise closes it.
  void Release(bool reusable);
  void Close();

  OutputQueue& out() { return out_; }
  int Flush();
  void PauseReading();
  void ResumeReading();
  // Arms the response timeout (request fully queued, or more response bytes awaited).
  void ArmResponseTimer();
  // Bytes received after a 101 response or that the client tunnel sends: raw mode.
  void StartTunnel();

  // TCP connected and, with TLS, the handshake done: the request may be flushed.
  bool connected() const { return state_ != State::kConnecting && state_ != State::kHandshaking; }
  bool reused() const { return reused_; }
  bool response_started() const { return response_bytes_ > 0; }
  UpstreamEndpoint* endpoint() const { return endpoint_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  // The TLS context it was made with (null for plain TCP); an idle connection is reused only
  // while its endpoint still has this one, so a reload's new CA or certificate takes effect.
  const std::shared_ptr<const tls::ClientContext>& tls_context() const { return tls_context_; }

  void OnQueueWritten(OutputQueue* queue, int status) override;

 private:
  enum class State : uint8_t { kConnecting, kHandshaking, kActive, kIdle, kTunnel, kClosing };

  ~UpstreamConnection();  // only through the close callbacks
  void OnConnect(int status);
  void OnConnected();  // TCP connected and, with TLS, the handshake done
  void OnAlloc(size_t suggested, uv_buf_t* buf);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  // The backend ended its side: TCP EOF, or a TLS close_notify.
  void OnPeerEnd();
  void OnTimer();
  void OnClosed();
  // Reports `error` to the attached client, then closes. Before the connection counted as
  // connected nothing of the request reached the backend, and the client is told so.
  void Fail(UpstreamError error);
  void ReadResponse(Block* block, const char* data, std::size_t length);

  // TLS: starts the handshake on the connected socket.
  void StartTls();
  // Decrypts what the engine holds into pooled blocks and parses them while reading;
  // re-entrant calls (a response completed inside ReadResponse resumes reading) just ask the
  // running loop to go on. Also notices the handshake completing and the engine failing.
  void DrainTls();
  void OnHandshakeDone();
  // The engine failed (`why` is its error): a warn-level log naming the endpoint, then Fail.
  void FailTls(const std::string& why);
  // Writes what the engine has to send on its own (handshake messages, alerts, key updates).
  void FlushTls();

  // What the response codec reports: the head and body go to the attached client.
  HeadBuffer* OnResponseBuffer() override;
  int OnResponseHead(const ResponseHead& head) override;
  void OnResponseBody(const char* at, std::size_t length) override;
  void OnResponseComplete(bool upgrade, bool keep_alive) override;

  Worker* worker_;
  UpstreamEndpoint* endpoint_;
  ClientConnection* client_ = nullptr;
  uv_tcp_t tcp_;
  DeadlineTimer timer_;
  uv_connect_t connect_req_;
  ResponseCodec response_codec_;
  OutputQueue out_;
  std::shared_ptr<const tls::ClientContext> tls_context_;  // null = plain TCP
  std::unique_ptr<tls::Engine> tls_;  // made at TCP connect; out_ seals with it
  Block* current_block_ = nullptr;    // the block being parsed, for zero-copy body pieces
  uint64_t response_bytes_ = 0;
  State state_ = State::kConnecting;
  UpstreamError connect_error_ = UpstreamError::kNone;  // a connect that failed at once
  uint8_t open_handles_ = 0;
  bool reused_ = false;
  bool reading_ = false;
  bool head_request_ = false;
  bool response_done_ = false;           // on_message_complete ran for the final response
  bool reusable_ = false;                // ...and the backend allows another request
  bool response_timer_pending_ = false;  // asked for while still connecting
  bool response_timer_paused_ = false;   // cleared while the client applies back-pressure
  bool tls_draining_ = false;
  bool tls_drain_again_ = false;

  friend class Worker;
};

}  // namespace cutover::proxy
