#include "proxy/response_codec.h"

#include "proxy/uv_callback.h"

namespace cutover::proxy {

// UvCallback works for any C callback whose first argument has `data` pointing at the owner.
const llhttp_settings_t ResponseCodec::kSettings = {
    .on_message_begin = nullptr,
    .on_url = nullptr,
    .on_status = &UvCallback<&ResponseCodec::OnStatus>::Call,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &UvCallback<&ResponseCodec::OnHeaderField>::Call,
    .on_header_value = &UvCallback<&ResponseCodec::OnHeaderValue>::Call,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &UvCallback<&ResponseCodec::OnHeadersComplete>::Call,
    .on_body = &UvCallback<&ResponseCodec::OnBody>::Call,
    .on_message_complete = &UvCallback<&ResponseCodec::OnMessageComplete>::Call,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = nullptr,
    .on_header_value_complete = &UvCallback<&ResponseCodec::OnHeaderValueComplete>::Call,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

ResponseCodec::ResponseCodec(Listener* listener) : listener_(listener) {
  Start(false);
}

void ResponseCodec::Start(bool head_request) {
  llhttp_init(&parser_, HTTP_RESPONSE, &kSettings);
  parser_.data = this;
  head_ = nullptr;
  reason_length_ = 0;
  in_name_ = false;
  head_request_ = head_request;
}

llhttp_errno_t ResponseCodec::Execute(const char* data, std::size_t length) {
  return llhttp_execute(&parser_, data, length);
}

HeadBuffer* ResponseCodec::Buffer() {
  if (head_ == nullptr) {
    head_ = listener_->OnResponseBuffer();
    // A retried request's buffer may still hold the part of a head the failed attempt got.
    head_->Clear();
  }
  return head_;
}

int ResponseCodec::OnStatus(const char* at, std::size_t length) {
  Buffer()->raw.append(at, length);
  reason_length_ += static_cast<uint32_t>(length);
  return 0;
}

int ResponseCodec::OnHeaderField(const char* at, std::size_t length) {
  HeadBuffer* head = Buffer();
  if (head->raw.size() > kMaxHeadBytes) return 0;  // refused at headers complete
  if (!in_name_) {
    HeaderField field;
    field.name_offset = static_cast<uint32_t>(head->raw.size());
    head->fields.push_back(field);
    in_name_ = true;
  }
  head->fields.back().name_length += static_cast<uint32_t>(length);
  head->raw.append(at, length);
  return 0;
}

int ResponseCodec::OnHeaderValue(const char* at, std::size_t length) {
  HeadBuffer* head = Buffer();
  if (head->raw.size() > kMaxHeadBytes) return 0;
  HeaderField& field = head->fields.back();
  if (in_name_) {
    in_name_ = false;
    field.value_offset = static_cast<uint32_t>(head->raw.size());
  }
  field.value_length += static_cast<uint32_t>(length);
  head->raw.append(at, length);
  return 0;
}

int ResponseCodec::OnHeaderValueComplete() {
  HeadBuffer* head = Buffer();
  if (head->fields.empty()) return 0;
  if (in_name_) head->fields.back().value_offset = static_cast<uint32_t>(head->raw.size());
  in_name_ = false;
  return 0;
}

int ResponseCodec::OnHeadersComplete() {
  HeadBuffer* head = Buffer();
  const int status = llhttp_get_status_code(&parser_);
  if (head->raw.size() > kMaxHeadBytes) return -1;
  // llhttp reads "099" as 99, which we would relay as an invalid two-digit status line. A
  // status code below 100 is not HTTP (RFC 9110 §15): a protocol error, 502.
  if (status < 100) return -1;
  if (status / 100 == 1 && status != 101) {
    // Interim responses are not relayed: the proxy answers 100-continue itself, and the
    // final response follows on the same connection.
    head->Clear();
    reason_length_ = 0;
    return 1;
  }
  ResponseHead response;
  response.buffer = head;
  response.status = status;
  response.reason_length = reason_length_;
  response.content_length_given = (parser_.flags & F_CONTENT_LENGTH) != 0;
  response.chunked = (parser_.flags & F_CHUNKED) != 0;
  response.content_length = parser_.content_length;
  response.upgrade = parser_.upgrade != 0;
  const int verdict = listener_->OnResponseHead(response);
  if (head_request_ && verdict == 0) return 1;  // HEAD: no body (RFC 9110 §9.3.2)
  return verdict;
}

int ResponseCodec::OnBody(const char* at, std::size_t length) {
  listener_->OnResponseBody(at, length);
  return 0;
}

int ResponseCodec::OnMessageComplete() {
  const int status = llhttp_get_status_code(&parser_);
  if (status / 100 == 1 && status != 101) {
    return 0;  // an interim response: the final one follows on the same parser
  }
  const bool upgrade = parser_.upgrade != 0;
  listener_->OnResponseComplete(upgrade, llhttp_should_keep_alive(&parser_) != 0);
  if (upgrade) return 0;  // 101: llhttp pauses with HPE_PAUSED_UPGRADE
  return HPE_PAUSED;      // stop: anything after a complete response is not ours to parse
}

ResponsePlan PrepareResponseHead(const ResponseHead& head, const ResponseContext& context,
                                 std::string_view extra_fields) {
  HeadBuffer* buffer = head.buffer;
  const int status = head.status;
  ResponsePlan plan;
  if (status == 101 && !context.upgrade_requested) {
    plan.verdict = -1;  // a switch nobody asked for
    return plan;
  }
  ResponseRewrite rewrite;
  rewrite.extra_fields = extra_fields;
  rewrite.status = status;
  rewrite.reason = buffer->Slice(0, head.reason_length);
  rewrite.head_request = context.head_request;
  const bool no_body = context.head_request || status == 204 || status == 304 || status == 101;
  if (no_body) {
    plan.framing = BodyFraming::kNone;
  } else if (head.content_length_given && !head.chunked) {
    plan.framing = BodyFraming::kContentLength;
    rewrite.content_length = head.content_length;
  } else if (context.client_http11) {
    plan.framing = BodyFraming::kChunked;  // chunked or close-delimited upstream
  } else {
    plan.framing = BodyFraming::kUntilClose;
  }
  plan.keep_alive = context.keep_alive;
  if (plan.framing == BodyFraming::kUntilClose || (context.upgrade_requested && status != 101) ||
      !context.request_complete) {
    plan.keep_alive = false;
  }
  rewrite.framing = plan.framing;
  rewrite.keep_alive = plan.keep_alive;
  rewrite.http10_keep_alive = !context.client_http11 && plan.keep_alive;
  if (status == 101) {
    // Without "Connection: upgrade" llhttp does not switch (RFC 9110 §7.8 requires it): it
    // would read the tunnel's bytes as a next response while the client tunnels. Refused.
    if (!head.upgrade) {
      plan.verdict = -1;
      return plan;
    }
    for (const HeaderField& f : buffer->fields)
      if (EqualsIgnoreCase(buffer->Name(f), "upgrade")) rewrite.upgrade = TrimOws(buffer->Value(f));
    if (rewrite.upgrade.empty()) {
      plan.verdict = -1;  // a switch to nothing
      return plan;
    }
  }
  SerializeResponseHead(buffer, rewrite);
  // llhttp sizes a 304's body by its Content-Length like any other; tell it there is none.
  plan.verdict = no_body && status != 101 ? 1 : 0;
  return plan;
}

}  // namespace cutover::proxy
