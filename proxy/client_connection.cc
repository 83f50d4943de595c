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
// A backend's response head beyond this is treated as a protocol error, not buffered.
constexpr std::size_t kMaxResponseHeadBytes = 256 * 1024;
constexpr uint64_t kLingerMs = 1000;
// How long an idle connection may still send a request once a drain has begun: enough for
// one already on its way, short enough not to hold the drain up.
constexpr uint64_t kDrainGraceMs = 250;

ClientConnection* Self(llhttp_t* parser) {
  return static_cast<ClientConnection*>(parser->data);
}

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

const llhttp_settings_t ClientConnection::kSettings = {
    .on_message_begin = &ClientConnection::CbMessageBegin,
    .on_url = &ClientConnection::CbUrl,
    .on_status = nullptr,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &ClientConnection::CbHeaderField,
    .on_header_value = &ClientConnection::CbHeaderValue,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &ClientConnection::CbHeadersComplete,
    .on_body = &ClientConnection::CbBody,
    .on_message_complete = &ClientConnection::CbMessageComplete,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = &ClientConnection::CbHeaderFieldComplete,
    .on_header_value_complete = &ClientConnection::CbHeaderValueComplete,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

ClientConnection::ClientConnection(Worker* worker, uint64_t id)
    : worker_(worker), id_(id), out_(this, &worker->output_storage()) {
  uv_tcp_init(worker->loop(), &tcp_);
  tcp_.data = this;
  timer_.Init(worker->loop(), this,
              [](void* self) { static_cast<ClientConnection*>(self)->OnTimer(); });
  open_handles_ = 2;
  llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
  parser_.data = this;
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
  current_data_ = data;
  const llhttp_errno_t rc = llhttp_execute(&parser_, data, length);
  current_block_ = nullptr;
  current_data_ = nullptr;
  if (closing_ || lingering_) return;

  const char* stop = llhttp_get_error_pos(&parser_);
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
      if (pending_status_ != 0) {
        // One of our callbacks refused the request (llhttp reports it as HPE_USER or as
        // HPE_CB_<callback>); answer with the status it chose.
        if (ex_.upstream) ex_.upstream->Close();
        ex_.upstream = nullptr;
        RespondError(pending_status_, pending_detail_, true);
        return;
      }
      if (ex_.upstream) ex_.upstream->Close();
      ex_.upstream = nullptr;
      Log(LogLevel::kDebug, "conn %llu: bad request: %s (%s)", static_cast<unsigned long long>(id_),
          llhttp_errno_name(rc), llhttp_get_error_reason(&parser_));
      if (ex_.request == nullptr) BeginRequest();
      RespondError(400, llhttp_get_error_reason(&parser_), true);
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
  llhttp_resume(&parser_);
  if (block) {
    ProcessInput(block, data, length);
    BufferPool::Unref(block);
  }
  if (!closing_ && !lingering_ && llhttp_get_errno(&parser_) == HPE_OK) StartReading();
}

int ClientConnection::Reject(int status, const char* detail) {
  pending_status_ = status;
  pending_detail_ = detail;
  return HPE_USER;
}

int ClientConnection::BeginRequest() {
  ex_ = Exchange{};
  ex_.keep_alive = !draining_;
  ex_.request = worker_->AcquireHead();
  pending_status_ = 0;
  ex_.start_ns = uv_hrtime();
  ArmTimer(Timer::kHeader);
  return 0;
}

int ClientConnection::AppendRequestPiece(const char* at, std::size_t length, bool is_target) {
  const LimitConfig& limits = worker_->config().limits;
  ex_.header_bytes += static_cast<uint32_t>(length);
  if (is_target) {
    ex_.target_length += static_cast<uint32_t>(length);
    if (ex_.target_length > limits.uri_bytes) return Reject(414, "request target too long");
  }
  if (ex_.header_bytes > limits.header_bytes) return Reject(431, "request head too large");
  ex_.request->raw.append(at, length);
  return 0;
}

int ClientConnection::OnRequestHeaderField(const char* at, std::size_t length) {
  if (!ex_.in_name) {
    if (ex_.request->fields.size() >= worker_->config().limits.header_count) {
      return Reject(431, "too many header fields");
    }
    HeaderField field;
    field.name_offset = static_cast<uint32_t>(ex_.request->raw.size());
    ex_.request->fields.push_back(field);
    ex_.in_name = true;
    ex_.header_bytes += 4;  // ": " and CRLF
  }
  ex_.request->fields.back().name_length += static_cast<uint32_t>(length);
  return AppendRequestPiece(at, length, false);
}

int ClientConnection::OnRequestHeaderValue(const char* at, std::size_t length) {
  // llhttp 8 accepts obs-fold and hands the continuation over as another value piece. RFC
  // 9112 §5.2 lets a server reject it with 400, and a proxy must not pass it on (it hides
  // fields such as Transfer-Encoding from one parser and not another): a value piece that
  // follows a line break plus whitespace is a folded line.
  const char* p = at;
  while (length > 0 && p > current_data_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
  if (length > 0 && p > current_data_ && p[-1] == '\n') {
    return Reject(400, "obsolete line folding in a header field");
  }
  HeaderField& field = ex_.request->fields.back();
  if (ex_.in_name) {
    ex_.in_name = false;
    field.value_offset = static_cast<uint32_t>(ex_.request->raw.size());
  }
  field.value_length += static_cast<uint32_t>(length);
  return AppendRequestPiece(at, length, false);
}

int ClientConnection::OnRequestHeaderFieldComplete() {
  // llhttp 8 accepts a line that starts with ':' (an empty field name) and hands its value
  // over as if it continued the previous field. field-name is a token of at least one
  // character (RFC 9110 §5.1): refuse it.
  if (!ex_.in_name || ex_.request->fields.empty() || ex_.request->fields.back().name_length == 0) {
    return Reject(400, "empty header field name");
  }
  return 0;
}

int ClientConnection::OnRequestHeaderValueComplete() {
  HeaderField& field = ex_.request->fields.back();
  if (ex_.in_name) field.value_offset = static_cast<uint32_t>(ex_.request->raw.size());
  ex_.in_name = false;
  return 0;
}

int ClientConnection::OnRequestHeadersComplete() {
  const Config& config = worker_->config();
  const uint8_t method = parser_.method;
  if (method == HTTP_CONNECT) return Reject(405, "CONNECT is not served by this proxy");
  if (parser_.http_major != 1) return Reject(505, "unsupported HTTP version");
  const RequestHeadScan scan = ScanRequestHead(*ex_.request);
  // RFC 9112 §3.2: a server MUST respond 400 to an HTTP/1.1 request without exactly one Host.
  if (scan.host_count > 1) return Reject(400, "more than one Host header");
  if (scan.host_count == 0 && parser_.http_minor == 1) return Reject(400, "missing Host header");
  // ... and to one whose Host value is invalid (not uri-host [":" port]).
  if (scan.host_count == 1 && !ValidHost(scan.host)) return Reject(400, "invalid Host header");
  if (scan.expect_other) return Reject(417, "unsupported expectation");

  if ((parser_.flags & F_TRANSFER_ENCODING) && !(parser_.flags & F_CHUNKED)) {
    // RFC 9112 §6.3: a request whose final transfer coding is not chunked has no reliable
    // length; answer 400 and close.
    return Reject(400, "Transfer-Encoding other than a final chunked");
  }
  if (scan.te_other) {
    // RFC 9112 §6.1: a coding we do not implement (gzip, chunked) gets 501. Forwarding it
    // is not an option either: the body is re-chunked and the other codings would be lost.
    return Reject(501, "transfer coding other than chunked");
  }
  if (parser_.flags & F_CHUNKED) {
    ex_.request_framing = BodyFraming::kChunked;
  } else if (parser_.flags & F_CONTENT_LENGTH) {
    ex_.request_framing = BodyFraming::kContentLength;
    if (config.limits.body_bytes != 0 && parser_.content_length > config.limits.body_bytes) {
      return Reject(413, "request body larger than the limit");
    }
  }
  ex_.head_request = method == HTTP_HEAD;
  ex_.keep_alive = ex_.keep_alive && llhttp_should_keep_alive(&parser_);
  ex_.upgrade = parser_.upgrade != 0 && !scan.upgrade.empty();

  if (!ForwardRequest()) return HPE_USER;
  if (scan.expect_continue && parser_.http_minor == 1 &&
      (ex_.request_framing == BodyFraming::kChunked || parser_.content_length > 0)) {
    // We answer the expectation ourselves (RFC 9110 §10.1.1) once we know we will read the
    // body, and do not forward Expect: the backend then sees a plain request.
    out_.AppendUnowned(kContinue);
  }
  ArmTimer(ex_.request_framing == BodyFraming::kNone ? Timer::kNone : Timer::kBody);
  return 0;
}

routing::RequestView ClientConnection::BuildRequestView(std::string_view target) {
  routing::RequestView view;
  view.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  const std::size_t question = target.find('?');
  view.path = target.substr(0, question);
  if (question != std::string_view::npos) view.query = target.substr(question + 1);
  auto& headers = worker_->header_views();
  headers.clear();
  for (const HeaderField& f : ex_.request->fields) {
    headers.push_back({ex_.request->Name(f), TrimOws(ex_.request->Value(f))});
  }
  view.headers = headers;
  view.client = client_address_;
  return view;
}

bool ClientConnection::Route(std::string_view target) {
  const routing::RoutingTable& table = *worker_->snapshot().routing;
  routing::DecideInput input;
  input.random = worker_->NextRandom();
  input.pool_available = worker_->PoolAvailability();
  routing::RequestView view;
  if (worker_->needs_request_view()) {
    view = BuildRequestView(target);
    input.pin = VerifyPinCookie(table, view, time(nullptr));
  }
  ex_.decision = table.Decide(view, input);
  ex_.pool = ex_.decision.pool;
  worker_->mutable_counters().RecordDecision(ex_.pool,
                                             static_cast<std::size_t>(ex_.decision.reason));
  if (ex_.decision.unavailable) {
    Reject(503, "no pool has an available endpoint");
    return false;
  }
  ex_.endpoint = worker_->PickEndpoint(ex_.pool);
  if (ex_.endpoint == nullptr) {
    Reject(503, "no endpoint available in the selected pool");
    return false;
  }
  return true;
}

bool ClientConnection::ForwardRequest() {
  HeadBuffer* head = ex_.request;
  std::string_view target = head->Slice(0, ex_.target_length);
  std::string_view authority;
  std::string_view origin_form;
  if (SplitAbsoluteForm(target, &authority, &origin_form)) {
    // RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host. It must be a
    // valid Host value; userinfo ("http://user@host/") is an error (RFC 9110 §4.2.4).
    if (!ValidHost(authority)) {
      Reject(400, "invalid authority in the request target");
      return false;
    }
    target = origin_form;
    if (!target.empty() && target[0] == '?') {
      const uint32_t offset = static_cast<uint32_t>(head->raw.size());
      const std::size_t query_offset = static_cast<std::size_t>(target.data() - head->raw.data());
      const std::size_t query_length = target.size();
      head->raw.push_back('/');
      head->raw.append(head->raw, query_offset, query_length);
      target = head->Slice(offset, static_cast<uint32_t>(query_length + 1));
      authority = head->Slice(static_cast<uint32_t>(authority.data() - head->raw.data()),
                              static_cast<uint32_t>(authority.size()));
    }
  }
  if (!Route(target)) return false;
  const HeaderConfig& headers = worker_->config().headers;
  RequestRewrite rewrite;
  rewrite.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  rewrite.target = target;
  rewrite.authority = authority;
  rewrite.framing = ex_.request_framing;
  rewrite.content_length = parser_.content_length;
  rewrite.upgrade = ex_.upgrade ? ScanRequestHead(*head).upgrade : std::string_view();
  rewrite.client_address = headers.x_forwarded_for ? std::string_view(peer_) : std::string_view();
  rewrite.forwarded_proto = !headers.x_forwarded_proto ? "" : tls_ ? "https" : "http";
  SerializeRequestHead(head, rewrite);
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

int ClientConnection::OnRequestBody(const char* at, std::size_t length) {
  ex_.bytes_in += length;
  const uint64_t limit = worker_->config().limits.body_bytes;
  if (limit != 0 && ex_.bytes_in > limit) return Reject(413, "request body larger than the limit");
  if (ex_.upstream == nullptr) return 0;  // the exchange already failed; discard
  if (ex_.request_framing == BodyFraming::kChunked) {
    ex_.upstream->out().AppendChunkedBlock(current_block_, at, length);
  } else {
    ex_.upstream->out().AppendBlock(current_block_, at, length);
  }
  return 0;
}

int ClientConnection::OnRequestComplete() {
  ex_.request_complete = true;
  if (ex_.upstream) {
    if (ex_.request_framing == BodyFraming::kChunked) {
      ex_.upstream->out().AppendUnowned(kLastChunk);
    }
    ex_.upstream->ArmResponseTimer();
  }
  ArmTimer(Timer::kNone);
  // An upgrade request pauses by itself (HPE_PAUSED_UPGRADE); pausing here too would hide it.
  return parser_.upgrade ? 0 : HPE_PAUSED;
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

void ClientConnection::OnResponseStatus(const char* at, std::size_t length) {
  if (ex_.response == nullptr) ex_.response = worker_->AcquireHead();
  ex_.response->raw.append(at, length);
  ex_.reason_length += static_cast<uint32_t>(length);
}

void ClientConnection::OnResponseHeaderField(const char* at, std::size_t length) {
  if (ex_.response == nullptr) ex_.response = worker_->AcquireHead();
  HeadBuffer* head = ex_.response;
  if (head->raw.size() > kMaxResponseHeadBytes) return;  // refused at headers complete
  if (!ex_.in_name) {
    HeaderField field;
    field.name_offset = static_cast<uint32_t>(head->raw.size());
    head->fields.push_back(field);
    ex_.in_name = true;
  }
  head->fields.back().name_length += static_cast<uint32_t>(length);
  head->raw.append(at, length);
}

void ClientConnection::OnResponseHeaderValue(const char* at, std::size_t length) {
  HeadBuffer* head = ex_.response;
  if (head->raw.size() > kMaxResponseHeadBytes) return;
  HeaderField& field = head->fields.back();
  if (ex_.in_name) {
    ex_.in_name = false;
    field.value_offset = static_cast<uint32_t>(head->raw.size());
  }
  field.value_length += static_cast<uint32_t>(length);
  head->raw.append(at, length);
}

void ClientConnection::OnResponseHeaderValueComplete() {
  HeadBuffer* head = ex_.response;
  if (head->fields.empty()) return;
  if (ex_.in_name) head->fields.back().value_offset = static_cast<uint32_t>(head->raw.size());
  ex_.in_name = false;
}

int ClientConnection::OnResponseHeadersComplete(llhttp_t* p) {
  if (ex_.response == nullptr) ex_.response = worker_->AcquireHead();
  HeadBuffer* head = ex_.response;
  const int status = llhttp_get_status_code(p);
  if (head->raw.size() > kMaxResponseHeadBytes) return -1;
  // llhttp reads "099" as 99, which we would relay as an invalid two-digit status line. A
  // status code below 100 is not HTTP (RFC 9110 §15): a protocol error, 502.
  if (status < 100) return -1;
  if (status / 100 == 1 && status != 101) {
    // Interim responses are not relayed: the proxy answers 100-continue itself, and the
    // final response follows on the same connection.
    head->Clear();
    ex_.reason_length = 0;
    return 1;
  }
  if (status == 101 && !ex_.upgrade) return -1;  // a switch nobody asked for

  ResponseRewrite rewrite;
  // First, because it appends to head->raw: views into raw are only taken after it.
  rewrite.extra_fields = AppendProxyFields(head);
  rewrite.status = status;
  rewrite.reason = head->Slice(0, ex_.reason_length);
  rewrite.head_request = ex_.head_request;
  const bool http11 = parser_.http_minor >= 1;
  const bool no_body = ex_.head_request || status == 204 || status == 304 || status == 101;
  if (no_body) {
    ex_.response_framing = BodyFraming::kNone;
  } else if ((p->flags & F_CONTENT_LENGTH) && !(p->flags & F_CHUNKED)) {
    ex_.response_framing = BodyFraming::kContentLength;
    rewrite.content_length = p->content_length;
  } else if (http11) {
    ex_.response_framing = BodyFraming::kChunked;  // chunked or close-delimited upstream
  } else {
    ex_.response_framing = BodyFraming::kUntilClose;
  }
  if (ex_.response_framing == BodyFraming::kUntilClose || client_eof_ || draining_ ||
      (ex_.upgrade && status != 101) || !ex_.request_complete) {
    ex_.keep_alive = false;
  }
  rewrite.framing = ex_.response_framing;
  rewrite.keep_alive = ex_.keep_alive;
  rewrite.http10_keep_alive = !http11 && ex_.keep_alive;
  if (status == 101) {
    for (const HeaderField& f : head->fields)
      if (EqualsIgnoreCase(head->Name(f), "upgrade")) rewrite.upgrade = TrimOws(head->Value(f));
    if (rewrite.upgrade.empty()) return -1;
  }
  SerializeResponseHead(head, rewrite);
  out_.AppendUnowned(head->out);
  ex_.status = status;
  ex_.response_started = true;
  ex_.upstream_head_ns = uv_hrtime();
  if (status == 101) StartTunnel();
  // llhttp sizes a 304's body by its Content-Length like any other; tell it there is none.
  return no_body && status != 101 ? 1 : 0;
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
      connect_failed || !request_sent || (broken && IsIdempotent(parser_.method));
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
    entry.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    entry.target = ex_.request->Slice(0, ex_.target_length);
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
    llhttp_resume(&parser_);
    StartReading();
  }
}

void ClientConnection::ReleaseExchangeBuffers() {
  if (ex_.request) worker_->ReleaseHead(ex_.request);
  if (ex_.response) worker_->ReleaseHead(ex_.response);
  ex_.request = nullptr;
  ex_.response = nullptr;
}

// ---------------------------------------------------------------------------------------
// llhttp callbacks

int ClientConnection::CbMessageBegin(llhttp_t* p) {
  ClientConnection* self = Self(p);
  self->first_request_ = false;
  return self->BeginRequest();
}

int ClientConnection::CbUrl(llhttp_t* p, const char* at, size_t length) {
  return Self(p)->AppendRequestPiece(at, length, true);
}

int ClientConnection::CbHeaderField(llhttp_t* p, const char* at, size_t length) {
  return Self(p)->OnRequestHeaderField(at, length);
}

int ClientConnection::CbHeaderValue(llhttp_t* p, const char* at, size_t length) {
  return Self(p)->OnRequestHeaderValue(at, length);
}

int ClientConnection::CbHeaderFieldComplete(llhttp_t* p) {
  return Self(p)->OnRequestHeaderFieldComplete();
}

int ClientConnection::CbHeaderValueComplete(llhttp_t* p) {
  return Self(p)->OnRequestHeaderValueComplete();
}

int ClientConnection::CbHeadersComplete(llhttp_t* p) {
  return Self(p)->OnRequestHeadersComplete();
}

int ClientConnection::CbBody(llhttp_t* p, const char* at, size_t length) {
  return Self(p)->OnRequestBody(at, length);
}

int ClientConnection::CbMessageComplete(llhttp_t* p) {
  return Self(p)->OnRequestComplete();
}

}  // namespace cutover::proxy
