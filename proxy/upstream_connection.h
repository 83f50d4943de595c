// One TCP connection from a worker to a backend endpoint, with the llhttp parser for its
// responses. It is either connecting, serving exactly one exchange (attached to a
// ClientConnection), or idle in its endpoint's pool.
//
// Ownership: created and destroyed by the Worker; owns its uv_tcp_t, uv_timer_t and
// uv_connect_t. Freed only in the last close callback (Close() starts that). Not copyable or
// movable: libuv holds pointers into it. Worker thread only.
#pragma once

#include <llhttp.h>
#include <uv.h>

#include <cstdint>

#include "proxy/deadline_timer.h"
#include "proxy/output_queue.h"

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
};
const char* UpstreamErrorName(UpstreamError error);

class UpstreamConnection final : public OutputQueue::Listener {
 public:
  UpstreamConnection(Worker* worker, UpstreamEndpoint* endpoint);
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // Starts the TCP connect; failures are reported to the attached client.
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

  bool connected() const { return state_ != State::kConnecting; }
  bool reused() const { return reused_; }
  bool response_started() const { return response_bytes_ > 0; }
  UpstreamEndpoint* endpoint() const { return endpoint_; }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp_); }
  llhttp_t* parser() { return &parser_; }

  void OnQueueWritten(OutputQueue* queue, int status) override;

 private:
  enum class State : uint8_t { kConnecting, kActive, kIdle, kTunnel, kClosing };

  ~UpstreamConnection() = default;  // only through the close callbacks
  void OnConnect(int status);
  void OnAlloc(size_t suggested, uv_buf_t* buf);
  void OnRead(ssize_t nread, const uv_buf_t* buf);
  void OnTimer();
  void OnClosed();
  void Fail(UpstreamError error);
  void ReadResponse(Block* block, const char* data, std::size_t length);

  // llhttp callbacks, forwarded to the attached client.
  static int OnStatus(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderField(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderValue(llhttp_t* parser, const char* at, size_t length);
  static int OnHeaderValueComplete(llhttp_t* parser);
  static int OnHeadersComplete(llhttp_t* parser);
  static int OnBody(llhttp_t* parser, const char* at, size_t length);
  static int OnMessageComplete(llhttp_t* parser);
  static const llhttp_settings_t kSettings;

  Worker* worker_;
  UpstreamEndpoint* endpoint_;
  ClientConnection* client_ = nullptr;
  uv_tcp_t tcp_;
  DeadlineTimer timer_;
  uv_connect_t connect_req_;
  llhttp_t parser_;
  OutputQueue out_;
  Block* current_block_ = nullptr;  // the block being parsed, for zero-copy body pieces
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

  friend class Worker;
};

}  // namespace cutover::proxy
