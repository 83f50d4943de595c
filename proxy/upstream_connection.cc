#include "proxy/upstream_connection.h"

#include <algorithm>

#include "proxy/client_connection.h"
#include "proxy/log.h"
#include "proxy/upstream_endpoint.h"
#include "proxy/uv_callback.h"
#include "proxy/worker.h"
#include "tls/client_context.h"
#include "tls/engine.h"

namespace cutover::proxy {

const char* UpstreamErrorName(UpstreamError error) {
  switch (error) {
    case UpstreamError::kNone:
      return "";
    case UpstreamError::kConnectRefused:
      return "connect_refused";
    case UpstreamError::kConnectTimeout:
      return "connect_timeout";
    case UpstreamError::kReset:
      return "reset";
    case UpstreamError::kResponseTimeout:
      return "response_timeout";
    case UpstreamError::kProtocol:
      return "protocol";
    case UpstreamError::kTls:
      return "tls";
  }
  return "unknown";
}

UpstreamConnection::UpstreamConnection(Worker* worker, UpstreamEndpoint* endpoint)
    : worker_(worker),
      endpoint_(endpoint),
      response_codec_(this),
      out_(this, &worker->output_storage()),
      tls_context_(endpoint->address.tls) {
  uv_tcp_init(worker->loop(), &tcp_);
  tcp_.data = this;
  timer_.Init(worker->loop(), this,
              [](void* self) { static_cast<UpstreamConnection*>(self)->OnTimer(); });
  connect_req_.data = this;
  open_handles_ = 2;
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::Connect() {
  state_ = State::kConnecting;
  uv_tcp_nodelay(&tcp_, 1);
  const int rc = uv_tcp_connect(&connect_req_, &tcp_,
                                reinterpret_cast<const sockaddr*>(&endpoint_->address.address),
                                &UvCallback<&UpstreamConnection::OnConnect>::Call);
  uint64_t timeout = static_cast<uint64_t>(worker_->config().timeouts.upstream_connect.count());
  if (rc != 0) {
    // Report it from the loop, never from inside the caller (which may be in the middle of
    // parsing the request): a zero timer fires on the next iteration.
    Log(LogLevel::kWarn, "upstream %s: connect: %s", endpoint_->address.name.c_str(),
        uv_strerror(rc));
    connect_error_ = UpstreamError::kConnectRefused;
    timeout = 0;
  }
  timer_.Set(timeout);
}

void UpstreamConnection::Attach(ClientConnection* client, bool head_request) {
  client_ = client;
  head_request_ = head_request;
  response_bytes_ = 0;
  response_done_ = false;
  reusable_ = false;
  response_timer_pending_ = false;
  ++endpoint_->in_flight;
  if (state_ == State::kIdle) {
    reused_ = true;
    state_ = State::kActive;
    timer_.Clear();
  }
  response_codec_.Start(head_request);
}

void UpstreamConnection::OnConnect(int status) {
  if (state_ == State::kClosing) return;
  if (status < 0) {
    timer_.Clear();
    Log(LogLevel::kDebug, "upstream %s: connect failed: %s", endpoint_->address.name.c_str(),
        uv_strerror(status));
    Fail(status == UV_ETIMEDOUT ? UpstreamError::kConnectTimeout : UpstreamError::kConnectRefused);
    return;
  }
  if (tls_context_) {
    StartTls();  // the connect timer keeps running: it covers the handshake too
    return;
  }
  timer_.Clear();
  OnConnected();
}

void UpstreamConnection::OnConnected() {
  state_ = State::kActive;
  ResumeReading();
  if (response_timer_pending_) ArmResponseTimer();
  if (client_) client_->OnUpstreamConnected();
}

int UpstreamConnection::Flush() {
  if (!connected() || state_ == State::kClosing) return 0;
  const int rc = out_.Flush(stream());
  if (rc < 0) Fail(UpstreamError::kReset);
  return rc;
}

void UpstreamConnection::OnQueueWritten(OutputQueue*, int status) {
  if (state_ == State::kClosing) return;
  if (status < 0) {
    if (state_ == State::kHandshaking) {
      FailTls(std::string("write: ") + uv_strerror(status));
    } else {
      Fail(UpstreamError::kReset);
    }
    return;
  }
  if (out_.has_pending()) {
    FlushTls();
    return;
  }
  if (client_ && state_ != State::kHandshaking) client_->OnUpstreamWritten();
}

// ---------------------------------------------------------------------------------------
// TLS

void UpstreamConnection::StartTls() {
  state_ = State::kHandshaking;
  // Sessions are remembered per endpoint ("host:port"): the endpoints of a pool need not share
  // ticket keys. The name verified is the pool's server_name, else the endpoint's address.
  tls_ = tls::Engine::Connect(tls_context_, endpoint_->address.host, endpoint_->address.name);
  out_.SealWith(tls_.get(), &worker_->blocks());
  if (tls_->failed()) {
    FailTls(tls_->error());
    return;
  }
  ResumeReading();
  FlushTls();  // the ClientHello; the request queued so far waits in the engine
}

void UpstreamConnection::DrainTls() {
  if (tls_draining_) {
    tls_drain_again_ = true;
    return;
  }
  tls_draining_ = true;
  do {
    tls_drain_again_ = false;
    while (reading_ && state_ != State::kClosing) {
      Block* plain = worker_->blocks().Acquire();
      const long n = tls_->Read(plain->data, Block::kSize);
      if (state_ == State::kHandshaking && tls_->handshake_done()) OnHandshakeDone();
      if (n > 0 && state_ != State::kClosing) {
        ReadResponse(plain, plain->data, static_cast<std::size_t>(n));
      }
      BufferPool::Unref(plain);
      if (n > 0) continue;
      if (n == tls::Engine::kClosed && state_ != State::kClosing) {
        OnPeerEnd();
      } else if (n == tls::Engine::kFailed && state_ != State::kClosing) {
        FailTls(tls_->error());
      }
      break;
    }
  } while (tls_drain_again_ && state_ != State::kClosing);
  tls_draining_ = false;
  if (state_ != State::kClosing) FlushTls();
}

void UpstreamConnection::OnHandshakeDone() {
  timer_.Clear();
  Log(LogLevel::kDebug, "upstream %s: TLS %s %s%s", endpoint_->address.name.c_str(),
      std::string(tls_->version()).c_str(), std::string(tls_->cipher()).c_str(),
      tls_->session_reused() ? ", session resumed" : "");
  // First the Finished message and the request the engine held, in that order, then the rest
  // of the request through the client's flush.
  FlushTls();
  if (state_ == State::kClosing) return;
  OnConnected();
}

void UpstreamConnection::FlushTls() {
  if (state_ != State::kHandshaking) {
    Flush();
    return;
  }
  if (const int rc = out_.Flush(stream()); rc < 0) {
    FailTls(std::string("write: ") + uv_strerror(rc));
  }
}

void UpstreamConnection::FailTls(const std::string& why) {
  if (state_ == State::kClosing) return;
  if (state_ == State::kIdle) {
    // Nobody waits on it; the next request simply takes another connection.
    Log(LogLevel::kDebug, "upstream %s: idle TLS connection failed: %s",
        endpoint_->address.name.c_str(), why.c_str());
    Close();
    return;
  }
  Log(LogLevel::kWarn, "upstream %s: TLS %s: %s", endpoint_->address.name.c_str(),
      state_ == State::kHandshaking ? "handshake failed" : "connection failed", why.c_str());
  out_.Flush(stream());  // the alert telling the backend why, if the kernel takes it now
  Fail(UpstreamError::kTls);
}

// ---------------------------------------------------------------------------------------
// Reading

void UpstreamConnection::PauseReading() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
  if (state_ == State::kActive) {
    // The client is slow here, not the backend: the client connection's send timeout bounds
    // this pause. The response timer restarts when reading resumes.
    timer_.Clear();
    response_timer_paused_ = true;
  }
}

void UpstreamConnection::ResumeReading() {
  if (reading_ || state_ == State::kConnecting || state_ == State::kClosing) return;
  uv_read_start(stream(), &UvCallback<&UpstreamConnection::OnAlloc>::Call,
                &UvCallback<&UpstreamConnection::OnRead>::Call);
  reading_ = true;
  if (response_timer_paused_) {
    response_timer_paused_ = false;
    ArmResponseTimer();  // only while the exchange is still active
  }
  // Plaintext the engine decrypted before reading paused will not come with a socket read.
  if (tls_) DrainTls();
}

void UpstreamConnection::ArmResponseTimer() {
  if (!connected()) {
    response_timer_pending_ = true;  // armed once connected; the connect timer runs now
    return;
  }
  if (state_ != State::kActive) return;
  timer_.Set(static_cast<uint64_t>(worker_->config().timeouts.upstream_response.count()));
}

void UpstreamConnection::StartTunnel() {
  state_ = State::kTunnel;
  timer_.Clear();  // the client connection times the tunnel
}

void UpstreamConnection::OnAlloc(size_t, uv_buf_t* buf) {
  Block* block = worker_->blocks().Acquire();
  *buf = uv_buf_init(block->data, Block::kSize);
}

void UpstreamConnection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  Block* block = buf->base ? reinterpret_cast<Block*>(buf->base - offsetof(Block, data)) : nullptr;
  if (nread > 0 && tls_) {
    tls_->Receive(buf->base, static_cast<std::size_t>(nread));
    BufferPool::Unref(block);
    DrainTls();
    return;
  }
  if (nread > 0) {
    ReadResponse(block, buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0) {
    OnPeerEnd();
  }
  if (block) BufferPool::Unref(block);
}

void UpstreamConnection::OnPeerEnd() {
  if (state_ == State::kIdle) {
    Close();  // the backend closed a pooled connection: forget it quietly
  } else if (state_ == State::kHandshaking) {
    FailTls("the backend closed the connection during the handshake");
  } else if (state_ == State::kTunnel) {
    // Closed here so that a TLS close_notify followed by the TCP close reports one end.
    ClientConnection* client = client_;
    Close();
    if (client) client->OnUpstreamEof();
  } else if (state_ == State::kActive && client_) {
    // A close-delimited body ends here (RFC 9112 §6.3 rule 8). Over TLS, a close without
    // close_notify is accepted as the end too, as browsers do: many servers never send one.
    if (response_bytes_ > 0 && response_codec_.NeedsEof()) {
      response_codec_.Finish();  // runs on_message_complete when the body was whole
    }
    if (response_done_) {
      client_->OnResponseComplete(false);
    } else {
      Fail(UpstreamError::kReset);
    }
  }
}

void UpstreamConnection::ReadResponse(Block* block, const char* data, std::size_t length) {
  if (state_ == State::kIdle || state_ == State::kClosing || client_ == nullptr) {
    // Bytes nobody asked for: the connection's framing can no longer be trusted.
    if (state_ != State::kClosing) Close();
    return;
  }
  response_bytes_ += length;
  if (state_ == State::kTunnel) {
    client_->OnTunnelBytes(block, data, length);
    return;
  }
  ArmResponseTimer();
  current_block_ = block;
  const llhttp_errno_t rc = response_codec_.Execute(data, length);
  current_block_ = nullptr;
  if (state_ == State::kClosing) return;
  if (rc == HPE_OK) {
    client_->OnResponseBytesQueued();  // one write to the client per read from the backend
    return;
  }
  if (rc == HPE_PAUSED && response_done_) {
    // Response complete (we paused in on_message_complete). Extra bytes after a complete
    // response mean the backend broke framing; the connection is not reused.
    const char* stop = response_codec_.error_pos();
    const bool extra = stop != nullptr && stop < data + length;
    client_->OnResponseComplete(reusable_ && !extra);
    return;
  }
  if (rc == HPE_PAUSED_UPGRADE) {
    // A 101 response: what follows belongs to the tunnel.
    const char* rest = response_codec_.error_pos();
    if (rest && rest < data + length) {
      client_->OnTunnelBytes(block, rest, static_cast<std::size_t>(data + length - rest));
    } else {
      client_->OnResponseBytesQueued();
    }
    return;
  }
  Log(LogLevel::kWarn, "upstream %s: bad response: %s (%s)", endpoint_->address.name.c_str(),
      llhttp_errno_name(rc), response_codec_.error_reason());
  Fail(UpstreamError::kProtocol);
}

void UpstreamConnection::OnTimer() {
  switch (state_) {
    case State::kConnecting:
      Fail(connect_error_ != UpstreamError::kNone ? connect_error_
                                                  : UpstreamError::kConnectTimeout);
      break;
    case State::kHandshaking:
      // upstream_connect covers the handshake: a backend that accepts TCP but never answers
      // the ClientHello is as unreachable as one that never accepts.
      Log(LogLevel::kWarn, "upstream %s: TLS handshake timed out", endpoint_->address.name.c_str());
      Fail(UpstreamError::kConnectTimeout);
      break;
    case State::kActive:
      Fail(UpstreamError::kResponseTimeout);
      break;
    case State::kIdle:
      Close();
      break;
    case State::kTunnel:
    case State::kClosing:
      break;
  }
}

void UpstreamConnection::Fail(UpstreamError error) {
  ClientConnection* client = client_;
  const bool request_sent = connected();
  Close();
  if (client) client->OnUpstreamFailed(error, reused_, request_sent);
}

void UpstreamConnection::Release(bool reusable) {
  if (client_) {
    client_ = nullptr;
    --endpoint_->in_flight;
  }
  const uint32_t max_idle = worker_->config().limits.upstream_idle_per_endpoint;
  // A reload that changed the pool's TLS settings retires connections made with the old ones.
  if (!reusable || state_ != State::kActive || !out_.idle() || worker_->draining() ||
      endpoint_->idle.size() >= max_idle || !response_done_ ||
      tls_context_ != endpoint_->address.tls) {
    Close();
    return;
  }
  state_ = State::kIdle;
  response_timer_paused_ = false;
  out_.ReleaseIfIdle();
  // Keep reading while idle: the backend closing the connection must be noticed now, not
  // when the next request is written into a dead socket.
  ResumeReading();
  timer_.Set(static_cast<uint64_t>(worker_->config().timeouts.upstream_idle.count()));
  endpoint_->idle.push_back(this);
}

void UpstreamConnection::Close() {
  if (state_ == State::kClosing) return;
  if (state_ == State::kIdle) {
    auto& idle = endpoint_->idle;
    idle.erase(std::remove(idle.begin(), idle.end(), this), idle.end());
  }
  if (client_) {
    client_ = nullptr;
    --endpoint_->in_flight;
  }
  if (tls_ && tls_->handshake_done() && !tls_->failed() && out_.idle()) {
    // close_notify (RFC 8446 §6.1), if the kernel takes it at once: the backend then knows
    // the close is deliberate. Nothing waits for its answer.
    tls_->Shutdown();
    out_.Flush(stream());
  }
  state_ = State::kClosing;
  out_.DiscardPending();
  worker_->ForgetUpstream(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UvCallback<&UpstreamConnection::OnClosed>::Call);
  timer_.Close(&UvCallback<&UpstreamConnection::OnClosed>::Call);
}

void UpstreamConnection::OnClosed() {
  if (--open_handles_ == 0) delete this;
}

HeadBuffer* UpstreamConnection::OnResponseBuffer() {
  return client_->ResponseBuffer();
}

int UpstreamConnection::OnResponseHead(const ResponseHead& head) {
  return client_->OnResponseHead(head);
}

void UpstreamConnection::OnResponseBody(const char* at, std::size_t length) {
  client_->OnResponseBody(current_block_, at, length);
}

void UpstreamConnection::OnResponseComplete(bool upgrade, bool keep_alive) {
  timer_.Clear();
  if (upgrade) return;  // 101: the codec pauses with HPE_PAUSED_UPGRADE
  response_done_ = true;
  reusable_ = keep_alive;
}

}  // namespace cutover::proxy
