#include "proxy/request_codec.h"

#include "proxy/uv_callback.h"

namespace cutover::proxy {

// UvCallback works for any C callback whose first argument has `data` pointing at the owner.
const llhttp_settings_t RequestCodec::kSettings = {
    .on_message_begin = &UvCallback<&RequestCodec::OnMessageBegin>::Call,
    .on_url = &UvCallback<&RequestCodec::OnUrl>::Call,
    .on_status = nullptr,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &UvCallback<&RequestCodec::OnHeaderField>::Call,
    .on_header_value = &UvCallback<&RequestCodec::OnHeaderValue>::Call,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &UvCallback<&RequestCodec::OnHeadersComplete>::Call,
    .on_body = &UvCallback<&RequestCodec::OnBody>::Call,
    .on_message_complete = &UvCallback<&RequestCodec::OnMessageComplete>::Call,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = &UvCallback<&RequestCodec::OnHeaderFieldComplete>::Call,
    .on_header_value_complete = &UvCallback<&RequestCodec::OnHeaderValueComplete>::Call,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

RequestCodec::RequestCodec(Listener* listener) : listener_(listener) {
  llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
  parser_.data = this;
}

llhttp_errno_t RequestCodec::Execute(const LimitConfig& limits, const char* data,
                                     std::size_t length) {
  limits_ = &limits;
  current_data_ = data;
  const llhttp_errno_t rc = llhttp_execute(&parser_, data, length);
  current_data_ = nullptr;
  limits_ = nullptr;
  // Does this read end in a line break and whitespace (a fold's start, if a value follows)?
  // A read of whitespace alone leaves the answer as it was.
  const char* p = data + length;
  while (p > data && (p[-1] == ' ' || p[-1] == '\t')) --p;
  if (p > data) read_ended_in_line_break_ = p[-1] == '\n';
  return rc;
}

int RequestCodec::Reject(int status, const char* detail) {
  rejection_status_ = status;
  rejection_detail_ = detail;
  return HPE_USER;
}

int RequestCodec::OnMessageBegin() {
  head_ = listener_->OnRequestBegin();
  target_length_ = 0;
  header_bytes_ = 0;
  body_bytes_ = 0;
  in_name_ = false;
  rejection_status_ = 0;
  return 0;
}

int RequestCodec::OnUrl(const char* at, std::size_t length) {
  return AppendPiece(at, length, true);
}

int RequestCodec::AppendPiece(const char* at, std::size_t length, bool is_target) {
  header_bytes_ += static_cast<uint32_t>(length);
  if (is_target) {
    target_length_ += static_cast<uint32_t>(length);
    if (target_length_ > limits_->uri_bytes) return Reject(414, "request target too long");
  }
  if (header_bytes_ > limits_->header_bytes) return Reject(431, "request head too large");
  head_->raw.append(at, length);
  return 0;
}

int RequestCodec::OnHeaderField(const char* at, std::size_t length) {
  if (!in_name_) {
    if (head_->fields.size() >= limits_->header_count) {
      return Reject(431, "too many header fields");
    }
    HeaderField field;
    field.name_offset = static_cast<uint32_t>(head_->raw.size());
    head_->fields.push_back(field);
    in_name_ = true;
    header_bytes_ += 4;  // ": " and CRLF
  }
  head_->fields.back().name_length += static_cast<uint32_t>(length);
  return AppendPiece(at, length, false);
}

int RequestCodec::OnHeaderValue(const char* at, std::size_t length) {
  // llhttp 8 accepts obs-fold and hands the continuation over as another value piece. RFC
  // 9112 §5.2 lets a server reject it with 400, and a proxy must not pass it on (it hides
  // fields such as Transfer-Encoding from one parser and not another): a value piece that
  // follows a line break plus whitespace is a folded line.
  // The line break may have come in an earlier read than the value piece.
  const char* p = at;
  while (length > 0 && p > current_data_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
  const bool folded = p > current_data_ ? p[-1] == '\n' : read_ended_in_line_break_;
  if (length > 0 && folded) return Reject(400, "obsolete line folding in a header field");
  HeaderField& field = head_->fields.back();
  if (in_name_) {
    in_name_ = false;
    field.value_offset = static_cast<uint32_t>(head_->raw.size());
  }
  field.value_length += static_cast<uint32_t>(length);
  return AppendPiece(at, length, false);
}

int RequestCodec::OnHeaderFieldComplete() {
  // llhttp 8 accepts a line that starts with ':' (an empty field name) and hands its value
  // over as if it continued the previous field. field-name is a token of at least one
  // character (RFC 9110 §5.1): refuse it.
  if (!in_name_ || head_->fields.empty() || head_->fields.back().name_length == 0) {
    return Reject(400, "empty header field name");
  }
  return 0;
}

int RequestCodec::OnHeaderValueComplete() {
  HeaderField& field = head_->fields.back();
  if (in_name_) field.value_offset = static_cast<uint32_t>(head_->raw.size());
  in_name_ = false;
  return 0;
}

int RequestCodec::OnHeadersComplete() {
  const uint8_t method = parser_.method;
  if (method == HTTP_CONNECT) return Reject(405, "CONNECT is not served by this proxy");
  if (parser_.http_major != 1) return Reject(505, "unsupported HTTP version");
  const RequestHeadScan scan = ScanRequestHead(*head_);
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
  RequestHead head;
  head.buffer = head_;
  head.method = method;
  head.has_host = scan.host_count == 1;
  if (parser_.flags & F_CHUNKED) {
    head.framing = BodyFraming::kChunked;
  } else if (parser_.flags & F_CONTENT_LENGTH) {
    head.framing = BodyFraming::kContentLength;
    if (limits_->body_bytes != 0 && parser_.content_length > limits_->body_bytes) {
      return Reject(413, "request body larger than the limit");
    }
  }
  head.content_length = parser_.content_length;
  head.head_request = method == HTTP_HEAD;
  head.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
  if (!ReduceAbsoluteForm(&head)) return HPE_USER;
  // Scanned again: reducing the target may have moved the buffer the first scan points into.
  if (parser_.upgrade != 0 && !scan.upgrade.empty()) head.upgrade = ScanRequestHead(*head_).upgrade;
  // We answer the expectation ourselves (RFC 9110 §10.1.1) once we know we will read the
  // body, and do not forward Expect: the backend then sees a plain request.
  head.send_continue = scan.expect_continue && parser_.http_minor == 1 &&
                       (head.framing == BodyFraming::kChunked || parser_.content_length > 0);
  return listener_->OnRequestHead(head) ? 0 : HPE_USER;
}

bool RequestCodec::ReduceAbsoluteForm(RequestHead* head) {
  std::string_view target = head_->Slice(0, target_length_);
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
      // "http://host?q": origin-form needs the "/" (RFC 9112 §3.2.1). Built at the end of the
      // buffer, whose growth may move it: the views are taken again afterwards.
      const uint32_t offset = static_cast<uint32_t>(head_->raw.size());
      const std::size_t query_offset = static_cast<std::size_t>(target.data() - head_->raw.data());
      const std::size_t query_length = target.size();
      const std::size_t authority_offset =
          static_cast<std::size_t>(authority.data() - head_->raw.data());
      head_->raw.push_back('/');
      head_->raw.append(head_->raw, query_offset, query_length);
      target = head_->Slice(offset, static_cast<uint32_t>(query_length + 1));
      authority = head_->Slice(static_cast<uint32_t>(authority_offset),
                               static_cast<uint32_t>(authority.size()));
    }
  }
  head->target = target;
  head->authority = authority;
  return true;
}

int RequestCodec::OnBody(const char* at, std::size_t length) {
  body_bytes_ += length;
  if (limits_->body_bytes != 0 && body_bytes_ > limits_->body_bytes) {
    return Reject(413, "request body larger than the limit");
  }
  listener_->OnRequestBody(at, length);
  return 0;
}

int RequestCodec::OnMessageComplete() {
  listener_->OnRequestComplete();
  // Pausing lets the connection answer this request before it parses the next one. An
  // upgrade request pauses by itself (HPE_PAUSED_UPGRADE); pausing here too would hide it.
  return parser_.upgrade ? 0 : HPE_PAUSED;
}

routing::RequestView MakeRequestView(const RequestHead& head, routing::ClientAddress client,
                                     std::vector<routing::HeaderView>* scratch) {
  routing::RequestView view;
  view.method = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
  const std::size_t question = head.target.find('?');
  view.path = head.target.substr(0, question);
  if (question != std::string_view::npos) view.query = head.target.substr(question + 1);
  scratch->clear();
  const HeadBuffer& buffer = *head.buffer;
  for (const HeaderField& f : buffer.fields) {
    scratch->push_back({buffer.Name(f), TrimOws(buffer.Value(f))});
  }
  view.headers = *scratch;
  view.client = client;
  return view;
}

RequestRewrite MakeRequestRewrite(const RequestHead& head, std::string_view client_address,
                                  std::string_view forwarded_proto) {
  RequestRewrite rewrite;
  rewrite.method = llhttp_method_name(static_cast<llhttp_method_t>(head.method));
  rewrite.target = head.target;
  rewrite.authority = head.authority;
  rewrite.framing = head.framing;
  rewrite.content_length = head.content_length;
  rewrite.upgrade = head.upgrade;
  rewrite.client_address = client_address;
  rewrite.forwarded_proto = forwarded_proto;
  return rewrite;
}

}  // namespace cutover::proxy
