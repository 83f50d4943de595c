// One downstream (client) connection and the exchange it is serving. The request path reads
// top to bottom here: read -> parse (RequestCodec: llhttp, strict) -> decide -> forward -> relay
// the response -> record, with one exit for upstream failures (FailExchange).
//
// Ownership: created by the Worker on accept and listed there; owns its uv_tcp_t and
// uv_timer_t and frees itself in the last close callback (Close() starts that). Not copyable
// or movable: libuv holds pointers into it. Worker thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "proxy/deadline_timer.h"
#include "proxy/exchange.h"
#include "proxy/output_queue.h"
#include "proxy/request_codec.h"
#include "proxy/response_codec.h"
#include "routing/request_view.h"

namespace cutover::tls {
class Engine;
class ServerContext;
}  // namespace cutover::tls

namespace cutover::proxy {

class Worker;

class ClientConnection final : public OutputQueue::Listener, private RequestCodec::Listener {
 public:
  ClientConnection(Worker* worker, uint64_t id);
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  ~ClientConnection();  // only through the close callbacks
  // Before Start(), on a TLS listener: the connection speaks TLS with `context`'s certificates.
  void EnableTls(std::shared_ptr<const tls::ServerContext> context);
  // Called once the listener accepted into stream(); starts reading.
  void Start();
  // Drain: close now if idle, else after the current response.
  void Drain();
  void Close();
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  uv_tcp_t* tcp() { return &tcp_; }

  // --- called by the attached UpstreamConnection ---
  void OnUpstreamConnected();
  void OnUpstreamWritten();  // its output queue drained: reading the client may resume
  // `reused`: the connection came from the idle pool (a reset may just mean it went stale).
  // `request_sent`: it had connected (TCP and any TLS handshake), so the backend may have
  // seen the request; before that nothing reached it, and any request may go elsewhere.
  void OnUpstreamFailed(UpstreamError error, bool reused, bool request_sent);
  // The exchange's response head buffer (taken when the response head starts).
  HeadBuffer* ResponseBuffer();
  // A final response head: relays the client's version of it. Returns the llhttp
  // on_headers_complete verdict (0 = body follows, 1 = no body, -1 = a protocol error).
  int OnResponseHead(const ResponseHead& head);
  void OnResponseBody(Block* block, const char* at, std::size_t length);
  // Returns true when the upstream connection may be reused.
  void OnResponseComplete(bool upstream_reusable);
  // A read's worth of response bytes is queued: write them out (with back-pressure).
  void OnResponseBytesQueued() { FlushClient(); }
  void OnTunnelBytes(Block* block, const char* at, std::size_t length);
  void OnUpstreamEof();

  void OnQueueWritten(OutputQueue* queue, int status) override;

  // Entries in the worker's list of connections.
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  enum class Timer : uint8_t {
    kNone,
    kFirstRequest,
    kIdle,
    kHeader,
    kBody,
    kSend,
    kTunnel,
    kLinger,
    kDrainGrace
  };

  void OnAlloc(size_t suggested, uv_buf_t* buf);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  // Plaintext from the client (a socket read, or decrypted by tls_), and its end.
  void OnInput(Block* block, const char* data, std::size_t length);
  void OnInputEnd();
  // TLS: decrypts what tls_ holds and hands it to OnInput while reading; re-entrant calls
  // (a request finished inside OnInput resumes reading) just ask the running loop to go on.
  void DrainTls();
  void OnTimer();
  void OnClosed();

  void ProcessInput(Block* block, const char* data, std::size_t length);
  void HoldInput(Block* block, const char* data, std::size_t length);
  void ResumeInput();
  void ArmTimer(Timer kind);
  void StartReading();
  void StopReading();
  void FlushClient();
  void FlushUpstream();

  // Request side: the codec parses and checks, these decide and forward.
  void BeginRequest();
  HeadBuffer* OnRequestBegin() override;
  bool OnRequestHead(const RequestHead& head) override;
  void OnRequestBody(const char* at, std::size_t length) override;
  void OnRequestComplete() override;
  bool ForwardRequest(const RequestHead& head);  // decide, pick an endpoint, queue the head
  bool Route(const RequestHead& head);           // the routing decision and the endpoint
  // Sends the request again when that is safe; false when the failure must be answered.
  bool RetryExchange(UpstreamError error, UpstreamEndpoint* failed, bool reused, bool request_sent);
  // The response fields the proxy adds: X-Cutover-Pool and affinity cookies.
  std::string_view AppendProxyFields(HeadBuffer* head);
  bool ConnectUpstream(bool allow_pooled);

  // The one exit for failures after the request was accepted.
  void FailExchange(UpstreamError error, bool reused, bool request_sent);
  void RespondError(int status, const char* detail, bool close);
  void FinishExchange();
  void ReleaseExchangeBuffers();
  void CloseGracefully();  // lingering close after an error: let the client read the reply
  void StartTunnel();

  Worker* worker_;
  uint64_t id_;
  uv_tcp_t tcp_;
  DeadlineTimer timer_;
  RequestCodec request_codec_;
  OutputQueue out_;
  Exchange ex_;

  // Input parked while an exchange is in flight (pipelined requests, tunnel bytes).
  Block* held_block_ = nullptr;
  const char* held_data_ = nullptr;
  std::size_t held_length_ = 0;
  Block* current_block_ = nullptr;    // the block being parsed, for zero-copy body pieces
  std::unique_ptr<tls::Engine> tls_;  // set on TLS listeners; out_ seals with it
  bool tls_draining_ = false;
  bool tls_drain_again_ = false;

  Timer timer_kind_ = Timer::kNone;
  uint8_t open_handles_ = 0;
  bool reading_ = false;
  bool closing_ = false;
  bool close_when_written_ = false;
  bool lingering_ = false;
  bool draining_ = false;
  bool tunnel_ = false;
  bool client_eof_ = false;
  bool first_request_ = true;
  char peer_[48] = {};                     // client address text, for X-Forwarded-For and logs
  routing::ClientAddress client_address_;  // for CIDR rules and ip affinity

  // First try plus three retries: enough to get past a stale pooled connection, a dead
  // endpoint and its dead neighbour to the failover pool.
  static constexpr uint8_t kMaxAttempts = 4;
};

}  // namespace cutover::proxy
