#include "proxy/client_connection.h"

#include <arpa/inet.h>

#include <cstring>
#include <ctime>

#include "metrics/single_writer.h"
#include "proxy/affinity_cookies.h"
#include "proxy/log.h"
#include "proxy/upstream_endpoint.h"
#include "proxy/uv_callback.h"
#include "proxy/worker.h"
#include "tls/engine.h"

namespace cutover::proxy {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";
constexpr uint64_t kLingerMs = 1000;
// How long an idle connection may still send a request once a drain has begun: enough for
// one already on its way, short enough not to hold the drain up.
constexpr uint64_t kDrainGraceMs = 250;

Block* BlockOf(const uv_buf_t* buf) {
  return buf->base ? reinterpret_cast<Block*>(buf->base - offsetof(Block, data)) : nullptr;
}

bool IsIdempotent(uint8_t method) {
  switch (method) {
    case HTTP_GET:
    case HTTP_HEAD:
    case HTTP_PUT:
    case HTTP_DELETE:
    case HTTP_OPTIONS:
    case HTTP_TRACE:
      return true;
    default:
      return false;
  }
}

}  // namespace

ClientConnection::ClientConnection(Worker* worker, uint64_t id)
    : worker_(worker), id_(id), request_codec_(this), out_(this, &worker->output_storage()) {
  uv_tcp_init(worker->loop(), &tcp_);
  tcp_.data = this;
  timer_.Init(worker->loop(), this,
              [](void* self) { static_cast<ClientConnection*>(self)->OnTimer(); });
  open_handles_ = 2;
}

ClientConnection::~ClientConnection() = default;

// ---------------------------------------------------------------------------------------
// Connection lifecycle

void ClientConnection::EnableTls(std::shared_ptr<const tls::ServerContext> context) {
  tls_ = tls::Engine::Accept(std::move(context));
  out_.SealWith(tls_.get(), &worker_->blocks());
}

void ClientConnection::Start() {
  uv_tcp_nodelay(&tcp_, 1);
  sockaddr_storage peer;
  int length = sizeof peer;
  if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
    if (peer.ss_family == AF_INET) {
      const auto* v4 = reinterpret_cast<sockaddr_in*>(&peer);
      uv_ip4_name(v4, peer_, sizeof peer_);
      client_address_.family = 4;
      std::memcpy(client_address_.bytes.data(), &v4->sin_addr, 4);
    } else {
      const auto* v6 = reinterpret_cast<sockaddr_in6*>(&peer);
      uv_ip6_name(v6, peer_, sizeof peer_);
      client_address_.family = 6;
      std::memcpy(client_address_.bytes.data(), &v6->sin6_addr, 16);
    }
  }
  ArmTimer(Timer::kFirstRequest);
  StartReading();
}

void ClientConnection::Drain() {
  draining_ = true;
  ex_.keep_alive = false;
  if (ex_.request != nullptr || tunnel_) return;  // closes once its response is written
  // Idle, or accepted but silent so far: its request may already be on the wire (a client
  // reusing a keep-alive connection, or one the kernel queued just before the listener
  // closed). Closing now would lose it; give it a moment to arrive, then answer it with
  // Connection: close (a rolling restart then drops nothing the old process accepted).
  if (held_block_ != nullptr) return;  // a pipelined request is about to be served
  ArmTimer(Timer::kDrainGrace);
}

void ClientConnection::Close() {
  if (closing_) return;
  closing_ = true;
  if (ex_.upstream) {
    ex_.upstream->Close();
    ex_.upstream = nullptr;
  }
  if (held_block_) BufferPool::Unref(held_block_);
  held_block_ = nullptr;
  ReleaseExchangeBuffers();
  if (tls_ && tls_->handshake_done() && !tls_->failed() && out_.idle()) {
    // close_notify (RFC 8446 §6.1), if the kernel takes it at once: it tells the client
    // the close is deliberate, not a truncation. Nothing waits for it.
    tls_->Shutdown();
    out_.Flush(stream());
  }
  out_.DiscardPending();
  worker_->ForgetClient(this);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &UvCallback<&ClientConnection::OnClosed>::Call);
  timer_.Close(&UvCallback<&ClientConnection::OnClosed>::Call);
}

void ClientConnection::OnClosed() {
  if (--open_handles_ == 0) delete this;
}

void ClientConnection::CloseGracefully() {
  // Closing with unread request bytes makes the kernel send RST, which can destroy the
  // error response before the client reads it. Half-close, drain briefly, then close.
  if (closing_ || lingering_) return;
  lingering_ = true;
  if (tls_ && tls_->handshake_done()) {
    tls_->Shutdown();  // close_notify after the reply; uv_shutdown waits for both
    FlushClient();
  }
  // Rare path, so the request is allocated here rather than carried by every connection;
  // it frees itself in its callback (which libuv also runs, cancelled, if we close first).
  auto* request = new uv_shutdown_t;
  if (uv_shutdown(request, stream(), [](uv_shutdown_t* done, int) { delete done; }) != 0) {
    delete request;
    Close();
    return;
  }
  ArmTimer(Timer::kLinger);
  StartReading();
}

void ClientConnection::ArmTimer(Timer kind) {
  timer_kind_ = kind;
  const TimeoutConfig& t = worker_->config().timeouts;
  Millis timeout{0};
  switch (kind) {
    case Timer::kNone:
      timer_.Clear();
      return;
    case Timer::kFirstRequest:
    case Timer::kHeader:
      timeout = t.header_read;
      break;
    case Timer::kIdle:
    case Timer::kBody:
    case Timer::kSend:
      timeout = t.idle;
      break;
    case Timer::kTunnel:
      timeout = t.tunnel_idle;
      break;
    case Timer::kLinger:
      timeout = Millis(kLingerMs);
      break;
    case Timer::kDrainGrace:
      timeout = std::min(t.header_read, Millis(kDrainGraceMs));
      break;
  }
  timer_.Set(static_cast<uint64_t>(timeout.count()));
}

void ClientConnection::OnTimer() {
  switch (timer_kind_) {
    case Timer::kHeader:
      RespondError(408, "timed out reading the request head", true);
      return;
    case Timer::kBody:
      if (ex_.upstream) ex_.upstream->Close();
      ex_.upstream = nullptr;
      if (!ex_.response_started) {
        RespondError(408, "timed out reading the request body", true);
      } else {
        Close();
      }
      return;
    case Timer::kFirstRequest:
    case Timer::kIdle:
    case Timer::kSend:
    case Timer::kTunnel:
    case Timer::kLinger:
    case Timer::kDrainGrace:
    case Timer::kNone:
      Log(LogLevel::kDebug, "conn %llu: timeout, closing", static_cast<unsigned long long>(id_));
      Close();
      return;
  }
}

void ClientConnection::StartReading() {
  if (reading_ || closing_) return;
  uv_read_start(stream(), &UvCallback<&ClientConnection::OnAlloc>::Call,
                &UvCallback<&ClientConnection::OnRead>::Call);
  reading_ = true;
  // Plaintext the engine decrypted before reading stopped will not come with a socket read.
  if (tls_) DrainTls();
}

void ClientConnection::StopReading() {
  if (!reading_) return;
  uv_read_stop(stream());
  reading_ = false;
}

void ClientConnection::OnAlloc(size_t, uv_buf_t* buf) {
  Block* block = worker_->blocks().Acquire();
  *buf = uv_buf_init(block->data, Block::kSize);
}

void ClientConnection::OnRead(ssize_t nread, const uv_buf_t* buf) {
  Block* block = BlockOf(buf);
  if (nread > 0 && !closing_) {
    if (tls_) {
      tls_->Receive(buf->base, static_cast<std::size_t>(nread));
      if (block) BufferPool::Unref(block);
      DrainTls();
      return;
    }
    OnInput(block, buf->base, static_cast<std::size_t>(nread));
  } else if (nread < 0 && !closing_) {
    OnInputEnd();
  }
  if (block) BufferPool::Unref(block);
}

void ClientConnection::DrainTls() {
  if (tls_draining_) {
    tls_drain_again_ = true;
    return;
  }
  tls_draining_ = true;
  do {
    tls_drain_again_ = false;
    while (reading_ && !closing_) {
      Block* plain = worker_->blocks().Acquire();
      const long n = tls_->Read(plain->data, Block::kSize);
      if (n > 0) OnInput(plain, plain->data, static_cast<std::size_t>(n));
      BufferPool::Unref(plain);
      if (n > 0) continue;
      if (n == tls::Engine::kClosed) {
        OnInputEnd();
      } else if (n == tls::Engine::kFailed) {
        Log(LogLevel::kDebug, "conn %llu: TLS: %s", static_cast<unsigned long long>(id_),
            tls_->error().c_str());
        FlushClient();  // the alert, if the kernel takes it now; nothing more is owed
        Close();
      }
      break;
    }
  } while (tls_drain_again_ && !closing_);
  tls_draining_ = false;
  if (!closing_) FlushClient();  // handshake messages, session tickets
}

void ClientConnection::OnInput(Block* block, const char* data, std::size_t length) {
  if (lingering_) {
    // discard: the reply is out, we only wait for the client to finish sending
  } else if (tunnel_) {
    ArmTimer(Timer::kTunnel);
    if (ex_.upstream) {
      ex_.upstream->out().AppendBlock(block, data, length);
      FlushUpstream();
    }
  } else if (ex_.request != nullptr && ex_.request_complete) {
    // The next pipelined request arrived while this one waits for its response: park it
    // (and stop reading, so at most one block waits) until the response is written.
    StopReading();
    HoldInput(block, data, length);
  } else {
    ProcessInput(block, data, length);
  }
}

void ClientConnection::OnInputEnd() {
  if (lingering_ || tunnel_ || ex_.request == nullptr || !ex_.request_complete) {
    Close();  // idle, mid-request, or a tunnel: nothing more will come
  } else {
    client_eof_ = true;  // request complete: finish the response, then close
    ex_.keep_alive = false;
    StopReading();
  }
}

// ---------------------------------------------------------------------------------------
// Request parsing

void ClientConnection::ProcessInput(Block* block, const char* data, std::size_t length) {
  if (ex_.request != nullptr && !ex_.request_complete && timer_kind_ == Timer::kBody) {
    ArmTimer(Timer::kBody);  // the body timeout is between reads
  }
  current_block_ = block;
  const llhttp_errno_t rc = request_codec_.Execute(worker_->config().limits, data, length);
  current_block_ = nullptr;
  if (closing_ || lingering_) return;

  const char* stop = request_codec_.error_pos();
  const std::size_t rest = stop ? static_cast<std::size_t>(data + length - stop) : 0;
  switch (rc) {
    case HPE_OK:
      break;
    case HPE_PAUSED:  // a request is complete: pipelined bytes wait their turn
      // Keep reading otherwise: stopping and restarting the read for every request would
      // cost two epoll_ctl calls each time, and a client close is noticed early.
      if (rest > 0) {
        StopReading();
        HoldInput(block, stop, rest);
      }
      break;
    case HPE_PAUSED_UPGRADE:  // an upgrade request: what follows belongs to the tunnel
      StopReading();
      if (rest > 0) HoldInput(block, stop, rest);
      break;
    default: {
      if (request_codec_.rejection_status() != 0) {
        // A check refused the request (llhttp reports it as HPE_USER or as
        // HPE_CB_<callback>); answer with the status it chose.
        if (ex_.upstream) ex_.upstream->Close();
        ex_.upstream = nullptr;
        RespondError(request_codec_.rejection_status(), request_codec_.rejection_detail(), true);
        return;
      }
      if (ex_.upstream) ex_.upstream->Close();
      ex_.upstream = nullptr;
      Log(LogLevel::kDebug, "conn %llu: bad request: %s (%s)", static_cast<unsigned long long>(id_),
          llhttp_errno_name(rc), request_codec_.error_reason());
      if (ex_.request == nullptr) BeginRequest();
      RespondError(400, request_codec_.error_reason(), true);
      return;
    }
  }
  FlushClient();
  FlushUpstream();
}

void ClientConnection::HoldInput(Block* block, const char* data, std::size_t length) {
  BufferPool::Ref(block);
  if (held_block_) BufferPool::Unref(held_block_);
  held_block_ = block;
  held_data_ = data;
  held_length_ = length;
}

void ClientConnection::ResumeInput() {
  Block* block = held_block_;
  const char* data = held_data_;
  const std::size_t length = held_length_;
  held_block_ = nullptr;
  held_length_ = 0;
  request_codec_.Resume();
  if (block) {
    ProcessInput(block, data, length);
    BufferPool::Unref(block);
  }
  if (!closing_ && !lingering_ && request_codec_.error() == HPE_OK) StartReading();
}

void ClientConnection::BeginRequest() {
  ex_ = Exchange{};
  ex_.keep_alive = !draining_;
  ex_.request = worker_->AcquireHead();
  ex_.start_ns = uv_hrtime();
  ArmTimer(Timer::kHeader);
}

HeadBuffer* ClientConnection::OnRequestBegin() {
  first_request_ = false;
  BeginRequest();
  return ex_.request;
}

bool ClientConnection::OnRequestHead(const RequestHead& head) {
  ex_.request_framing = head.framing;
  ex_.head_request = head.head_request;
  ex_.keep_alive = ex_.keep_alive && head.keep_alive;
  ex_.upgrade = !head.upgrade.empty();
  if (!ForwardRequest(head)) return false;
  // The codec decided the expectation is ours to answer (RFC 9110 §10.1.1).
  if (head.send_continue) out_.AppendUnowned(kContinue);
  ArmTimer(ex_.request_framing == BodyFraming::kNone ? Timer::kNone : Timer::kBody);
  return true;
}

bool ClientConnection::Route(const RequestHead& head) {
  const routing::RoutingTable& table = *worker_->snapshot().routing;
  routing::DecideInput input;
  input.random = worker_->NextRandom();
  input.pool_available = worker_->PoolAvailability();
  routing::RequestView view;
  if (worker_->needs_request_view()) {
    view = MakeRequestView(head, client_address_, &worker_->header_views());
    input.pin = VerifyPinCookie(table, view, time(nullptr));
  }
  ex_.decision = table.Decide(view, input);
  ex_.pool = ex_.decision.pool;
  worker_->mutable_counters().RecordDecision(ex_.pool,
                                             static_cast<std::size_t>(ex_.decision.reason));
  if (ex_.decision.unavailable) {
    request_codec_.Reject(503, "no pool has an available endpoint");
    return false;
  }
  ex_.endpoint = worker_->PickEndpoint(ex_.pool);
  if (ex_.endpoint == nullptr) {
    request_codec_.Reject(503, "no endpoint available in the selected pool");
    return false;
  }
  return true;
}

bool ClientConnection::ForwardRequest(const RequestHead& head) {
  if (!Route(head)) return false;
  const HeaderConfig& headers = worker_->config().headers;
  const std::string_view client_address =
      headers.x_forwarded_for ? std::string_view(peer_) : std::string_view();
  const std::string_view forwarded_proto = !headers.x_forwarded_proto ? ""
                                           : tls_                     ? "https"
                                                                      : "http";
  RequestRewrite rewrite = MakeRequestRewrite(head, client_address, forwarded_proto);
  // An HTTP/1.0 request may come without Host, but the HTTP/1.1 request sent upstream must
  // carry one (RFC 9112 §3.2): the endpoint's address, as NGINX sends $proxy_host.
  if (!head.has_host && rewrite.authority.empty()) rewrite.authority = ex_.endpoint->address.name;
  SerializeRequestHead(ex_.request, rewrite);
  return ConnectUpstream(true);
}

bool ClientConnection::ConnectUpstream(bool allow_pooled) {
  UpstreamEndpoint* endpoint = ex_.endpoint;
  UpstreamConnection* upstream = nullptr;
  if (allow_pooled && !endpoint->idle.empty()) {
    upstream = endpoint->idle.back();
    endpoint->idle.pop_back();
  }
  const bool fresh = upstream == nullptr;
  if (fresh) upstream = worker_->NewUpstream(endpoint);
  ex_.upstream = upstream;
  ++ex_.attempts;
  upstream->Attach(this, ex_.head_request);
  upstream->out().AppendUnowned(ex_.request->out);
  if (fresh) upstream->Connect();  // may fail at once and call OnUpstreamFailed
  return true;
}

void ClientConnection::OnRequestBody(const char* at, std::size_t length) {
  ex_.bytes_in += length;
  if (ex_.upstream == nullptr) return;  // the exchange already failed; discard
  if (ex_.request_framing == BodyFraming::kChunked) {
    ex_.upstream->out().AppendChunkedBlock(current_block_, at, length);
  } else {
    ex_.upstream->out().AppendBlock(current_block_, at, length);
  }
}

void ClientConnection::OnRequestComplete() {
  ex_.request_complete = true;
  if (ex_.upstream) {
    if (ex_.request_framing == BodyFraming::kChunked) {
      ex_.upstream->out().AppendUnowned(kLastChunk);
    }
    ex_.upstream->ArmResponseTimer();
  }
  ArmTimer(Timer::kNone);
}

// ---------------------------------------------------------------------------------------
// Writing

void ClientConnection::FlushClient() {
  if (closing_) return;
  if (out_.Flush(stream()) < 0) {
    Close();
    return;
  }
  if (out_.writing()) {
    // Back-pressure: the client is slower than the backend. Stop reading the backend until
    // this write completes, and bound how long the client may take.
    if (ex_.upstream) ex_.upstream->PauseReading();
    if (!tunnel_ && ex_.request_complete) ArmTimer(Timer::kSend);
  }
}

void ClientConnection::FlushUpstream() {
  if (closing_ || ex_.upstream == nullptr || !ex_.upstream->connected()) return;
  UpstreamConnection* upstream = ex_.upstream;
  if (upstream->Flush() < 0) return;  // failure already reported through OnUpstreamFailed
  if (upstream->out().writing()) StopReading();
}

void ClientConnection::OnQueueWritten(OutputQueue*, int status) {
  if (closing_) return;
  if (status < 0) {
    Close();
    return;
  }
  if (out_.has_pending()) {
    FlushClient();
    if (out_.writing()) return;
  }
  if (timer_kind_ == Timer::kSend) ArmTimer(Timer::kNone);
  if (ex_.response_complete) {
    FinishExchange();
  } else if (ex_.upstream) {
    // Last: over TLS, plaintext the upstream already holds is relayed from inside this call,
    // and may complete the exchange.
    ex_.upstream->ResumeReading();
  }
}

void ClientConnection::OnUpstreamConnected() {
  FlushUpstream();
}

void ClientConnection::OnUpstreamWritten() {
  if (closing_) return;
  if (tunnel_ || (ex_.request != nullptr && !ex_.request_complete)) StartReading();
}

// ---------------------------------------------------------------------------------------
// Response relay

HeadBuffer* ClientConnection::ResponseBuffer() {
  if (ex_.response == nullptr) ex_.response = worker_->AcquireHead();
  return ex_.response;
}

int ClientConnection::OnResponseHead(const ResponseHead& head) {
  if (head.status == 101 && !ex_.upgrade) return -1;  // a switch nobody asked for
  ResponseContext context;
  context.head_request = ex_.head_request;
  context.upgrade_requested = ex_.upgrade;
  context.client_http11 = request_codec_.http_minor() >= 1;
  context.keep_alive = ex_.keep_alive && !client_eof_ && !draining_;
  context.request_complete = ex_.request_complete;
  // First, because it appends to head.buffer->raw: views into raw are only taken after it.
  const std::string_view extra_fields = AppendProxyFields(head.buffer);
  const ResponsePlan plan = PrepareResponseHead(head, context, extra_fields);
  ex_.response_framing = plan.framing;
  ex_.keep_alive = plan.keep_alive;
  if (plan.verdict < 0) return -1;
  out_.AppendUnowned(head.buffer->out);
  ex_.status = head.status;
  ex_.response_started = true;
  ex_.upstream_head_ns = uv_hrtime();
  if (head.status == 101) StartTunnel();
  return plan.verdict;
}

std::string_view ClientConnection::AppendProxyFields(HeadBuffer* head) {
  // Written after the parsed fields in the same buffer, so nothing is allocated per
  // request once the buffer has grown to fit.
  const std::size_t start = head->raw.size();
  const routing::RoutingTable& table = *worker_->snapshot().routing;
  if (worker_->config().headers.x_cutover_pool && ex_.pool < table.pools().size()) {
    head->raw.append("X-Cutover-Pool: ").append(table.pools()[ex_.pool].name).append("\r\n");
  }
  routing::Decision cookies = ex_.decision;
  cookies.write_pin = cookies.write_pin && cookies.pool == ex_.pool;  // no pin for a failover
  if (cookies.mint_key || cookies.write_pin) {
    AppendAffinityCookies(table, cookies, time(nullptr), &head->raw);
  }
  return std::string_view(head->raw).substr(start);
}

void ClientConnection::OnResponseBody(Block* block, const char* at, std::size_t length) {
  ex_.bytes_out += length;
  if (ex_.response_framing == BodyFraming::kChunked) {
    out_.AppendChunkedBlock(block, at, length);
  } else {
    out_.AppendBlock(block, at, length);
  }
}

void ClientConnection::OnResponseComplete(bool upstream_reusable) {
  if (ex_.response_framing == BodyFraming::kChunked) out_.AppendUnowned(kLastChunk);
  ex_.response_complete = true;
  if (ex_.upstream) {
    ex_.upstream->Release(upstream_reusable && ex_.request_complete);
    ex_.upstream = nullptr;
  }
  if (!ex_.request_complete) ex_.keep_alive = false;
  FlushClient();
  if (!closing_ && out_.idle()) FinishExchange();
}

void ClientConnection::StartTunnel() {
  tunnel_ = true;
  ex_.upstream->StartTunnel();
  ArmTimer(Timer::kTunnel);
  if (held_block_) {
    ex_.upstream->out().AppendBlock(held_block_, held_data_, held_length_);
    BufferPool::Unref(held_block_);
    held_block_ = nullptr;
    held_length_ = 0;
  }
  StartReading();
}

void ClientConnection::OnTunnelBytes(Block* block, const char* at, std::size_t length) {
  ArmTimer(Timer::kTunnel);
  ex_.bytes_out += length;
  out_.AppendBlock(block, at, length);
  FlushClient();
}

void ClientConnection::OnUpstreamEof() {
  // The backend ended the tunnel: deliver what is queued, then close.
  ex_.upstream = nullptr;
  ex_.response_complete = true;
  ex_.keep_alive = false;
  FlushClient();
  if (!closing_ && out_.idle()) FinishExchange();
}

// ---------------------------------------------------------------------------------------
// Failure and completion

void ClientConnection::OnUpstreamFailed(UpstreamError error, bool reused, bool request_sent) {
  ex_.upstream = nullptr;  // it closed itself
  if (closing_) return;
  FailExchange(error, reused, request_sent);
}

// Every kind but kNone has its counter (cutover_upstream_errors_total{kind}).
static_assert(EndpointHealth::kErrorKinds == static_cast<std::size_t>(UpstreamError::kTls));

void ClientConnection::FailExchange(UpstreamError error, bool reused, bool request_sent) {
  ex_.error = error;
  UpstreamEndpoint* failed = ex_.endpoint;
  const std::size_t kind = static_cast<std::size_t>(error) - 1;
  if (failed != nullptr && error != UpstreamError::kNone && kind < EndpointHealth::kErrorKinds) {
    failed->address.health->errors[kind].fetch_add(1, std::memory_order_relaxed);
  }
  Log(LogLevel::kWarn, "conn %llu: upstream %s failed: %s", static_cast<unsigned long long>(id_),
      failed ? failed->address.name.c_str() : "-", UpstreamErrorName(error));
  if (tunnel_) {
    Close();
    return;
  }
  if (RetryExchange(error, failed, reused, request_sent)) return;
  if (ex_.response_started) {
    Close();  // the client already has part of a response: truncating is the only signal
    return;
  }
  if (ex_.pool_exhausted) {
    // Nothing was sent and no endpoint is left to try: the pool's failover policy says 503.
    RespondError(503, "no endpoint of the pool accepted the connection", !ex_.request_complete);
    return;
  }
  const bool timeout =
      error == UpstreamError::kConnectTimeout || error == UpstreamError::kResponseTimeout;
  const char* detail = timeout                        ? "upstream timed out"
                       : error == UpstreamError::kTls ? "upstream TLS failed"
                                                      : "upstream connection failed";
  RespondError(timeout ? 504 : 502, detail, !ex_.request_complete);
}

bool ClientConnection::RetryExchange(UpstreamError error, UpstreamEndpoint* failed, bool reused,
                                     bool request_sent) {
  // A request with no body that got no response byte can be sent again: after a failed
  // connect or TLS handshake (nothing was sent), or after a reset or a TLS failure for
  // idempotent methods (RFC 9110 §9.2.2). A reset of a reused keep-alive connection usually
  // means the backend had just closed it: the retry goes to the same endpoint on a fresh
  // connection. Any other failure counts against the endpoint (passive outlier ejection)
  // and the retry goes to another available endpoint of the pool, or per the pool's failover
  // policy to another pool: an endpoint killed mid-request resets the requests it had, and
  // those must not fail. Bounded by kMaxAttempts.
  const bool connect_failed =
      error == UpstreamError::kConnectRefused || error == UpstreamError::kConnectTimeout;
  // Reset, or broken at the TLS level (an alert, a bad record) once connected.
  const bool broken = error == UpstreamError::kReset || error == UpstreamError::kTls;
  const bool endpoint_failed = connect_failed || (broken && !reused);
  const routing::RoutingTable& table = *worker_->snapshot().routing;
  const bool pool_says_503 =
      table.pools()[ex_.pool].failover == routing::FailoverPolicy::kUnavailable;
  if (endpoint_failed) {
    worker_->RecordOutcome(failed, true);
    ex_.endpoint_failure_counted = failed == ex_.endpoint;  // FinishExchange must not again
    if (failed != nullptr && ex_.failed_count < ex_.failed_endpoints.size()) {
      ex_.failed_endpoints[ex_.failed_count++] = failed;
    }
  }
  const bool replayable = !ex_.response_started && !ex_.upgrade &&
                          ex_.request_framing == BodyFraming::kNone && ex_.request != nullptr &&
                          !ex_.request->out.empty();
  const bool may_retry =
      connect_failed || !request_sent || (broken && IsIdempotent(request_codec_.method()));
  if (!replayable || !may_retry || ex_.attempts >= kMaxAttempts) {
    ex_.pool_exhausted = connect_failed && pool_says_503;
    return false;
  }
  if (endpoint_failed) {
    const std::span<UpstreamEndpoint* const> tried(ex_.failed_endpoints.data(), ex_.failed_count);
    UpstreamEndpoint* next = worker_->PickEndpoint(ex_.pool, tried);
    uint32_t pool = ex_.pool;
    if (next == nullptr) {
      const int other = table.FailoverPool(ex_.pool, worker_->PoolAvailability());
      if (other >= 0) {
        pool = static_cast<uint32_t>(other);
        next = worker_->PickEndpoint(pool, tried);
      }
    }
    if (next == nullptr) {
      ex_.pool_exhausted = connect_failed && pool_says_503;
      return false;
    }
    if (pool != ex_.pool) ex_.decision.reason = routing::RouteReason::kFailover;
    ex_.pool = pool;
    ex_.endpoint = next;
    ex_.endpoint_failure_counted = false;
  }
  ex_.error = UpstreamError::kNone;
  worker_->mutable_counters().RecordRetry(ex_.pool);
  Log(LogLevel::kDebug, "conn %llu: retrying on %s", static_cast<unsigned long long>(id_),
      ex_.endpoint->address.name.c_str());
  ConnectUpstream(false);
  if (ex_.upstream && ex_.request_complete) ex_.upstream->ArmResponseTimer();
  return true;
}

void ClientConnection::RespondError(int status, const char* detail, bool close) {
  if (closing_ || lingering_) return;
  if (ex_.response_started) {
    Close();
    return;
  }
  if (ex_.request == nullptr) BeginRequest();
  if (ex_.response == nullptr) ex_.response = worker_->AcquireHead();
  ex_.response->out = BuildErrorResponse(status, detail, close || !ex_.keep_alive);
  out_.AppendUnowned(ex_.response->out);
  ex_.status = status;
  ex_.response_started = true;
  ex_.response_complete = true;
  if (close) {
    ex_.keep_alive = false;
    close_when_written_ = true;
  }
  StopReading();
  ArmTimer(Timer::kSend);
  FlushClient();
  if (!closing_ && out_.idle()) FinishExchange();
}

void ClientConnection::FinishExchange() {
  const Snapshot& snapshot = worker_->snapshot();
  const auto& pools = snapshot.routing->pools();
  const std::string_view pool_name =
      ex_.pool < pools.size() ? std::string_view(pools[ex_.pool].name) : std::string_view();
  // One clock read serves the counters and the access log.
  const uint64_t elapsed_ns = uv_hrtime() - ex_.start_ns;
  worker_->Record(
      {.pool = ex_.pool,
       .status = static_cast<uint16_t>(ex_.status),
       .bytes_in = ex_.bytes_in,
       .bytes_out = ex_.bytes_out,
       .upstream_error = ex_.error != UpstreamError::kNone,
       .duration_us = elapsed_ns / 1000,
       .upstream_us = ex_.upstream_head_ns != 0
                          ? std::max<uint64_t>((ex_.upstream_head_ns - ex_.start_ns) / 1000, 1)
                          : 0,
       .now_ms = worker_->NowMs()});
#if CUTOVER_METRICS
  if (ex_.endpoint != nullptr) {
    metrics::Bump(ex_.endpoint->address.health->shards[worker_->index()].requests);
  }
#endif
  if (ex_.endpoint != nullptr && ex_.status != 0 && !ex_.endpoint_failure_counted) {
    // Passive outlier detection counts upstream errors and 5xx answers (DESIGN §4), each
    // failed exchange once (a failed connect was counted when the retry was considered).
    worker_->RecordOutcome(ex_.endpoint, ex_.error != UpstreamError::kNone || ex_.status >= 500);
  }
  if (worker_->access_log().enabled() && ex_.request != nullptr) {
    AccessEntry entry;
    entry.client = peer_;
    entry.method = request_codec_.method_name();
    entry.target = ex_.request->Slice(0, request_codec_.target_length());
    entry.status = ex_.status;
    entry.pool = ex_.endpoint ? pool_name : std::string_view();
    entry.endpoint = ex_.endpoint ? std::string_view(ex_.endpoint->address.name) : "";
    const auto& rules = worker_->snapshot().routing->rules();
    entry.reason = ex_.endpoint ? routing::RouteReasonName(ex_.decision.reason) : "";
    if (ex_.decision.reason == routing::RouteReason::kRule && ex_.decision.rule >= 0 &&
        static_cast<std::size_t>(ex_.decision.rule) < rules.size()) {
      entry.rule = rules[static_cast<std::size_t>(ex_.decision.rule)]->spec().name;
    }
    entry.error = UpstreamErrorName(ex_.error);
    entry.duration_ms = static_cast<double>(elapsed_ns) / 1e6;
    entry.bytes_in = ex_.bytes_in;
    entry.bytes_out = ex_.bytes_out;
    entry.connection = id_;
    worker_->access_log().Append(entry);
  }
  const bool keep = ex_.keep_alive && !close_when_written_ && !draining_ && !client_eof_;
  if (ex_.upstream) {
    ex_.upstream->Close();
    ex_.upstream = nullptr;
  }
  ReleaseExchangeBuffers();
  out_.ReleaseIfIdle();
  ex_ = Exchange{};
  if (!keep) {
    if (close_when_written_ || held_block_ != nullptr || reading_) {
      CloseGracefully();
    } else {
      Close();
    }
    return;
  }
  ArmTimer(Timer::kIdle);
  if (held_block_) {
    ResumeInput();
  } else {
    request_codec_.Resume();
    StartReading();
  }
}

void ClientConnection::ReleaseExchangeBuffers() {
  if (ex_.request) worker_->ReleaseHead(ex_.request);
  if (ex_.response) worker_->ReleaseHead(ex_.response);
  ex_.request = nullptr;
  ex_.response = nullptr;
}

}  // namespace cutover::proxy
