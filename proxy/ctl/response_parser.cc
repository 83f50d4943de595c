#include "proxy/ctl/response_parser.h"

#include "routing/request_view.h"

namespace cutover::proxy::ctl {
namespace {

ResponseParser* Owner(llhttp_t* parser) {
  return static_cast<ResponseParser*>(parser->data);
}

}  // namespace

std::string_view HttpResponse::Header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (routing::EqualsIgnoreCaseAscii(field, name)) return value;
  }
  return {};
}

// Designated initialisers, so a reordering of llhttp_settings_t cannot swap callbacks.
const llhttp_settings_t ResponseParser::kSettings = {
    .on_message_begin = nullptr,
    .on_url = nullptr,
    .on_status = nullptr,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &ResponseParser::OnHeaderField,
    .on_header_value = &ResponseParser::OnHeaderValue,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &ResponseParser::OnHeadersComplete,
    .on_body = &ResponseParser::OnBody,
    .on_message_complete = &ResponseParser::OnMessageComplete,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = nullptr,
    .on_header_value_complete = nullptr,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

ResponseParser::ResponseParser() {
  llhttp_init(&parser_, HTTP_RESPONSE, &kSettings);
  parser_.data = this;
}

ResponseParser::State ResponseParser::Fail(std::string message) {
  state_ = State::kError;
  error_ = std::move(message);
  return state_;
}

ResponseParser::State ResponseParser::Feed(std::string_view bytes) {
  if (state_ != State::kIncomplete) return state_;
  const llhttp_errno_t rc = llhttp_execute(&parser_, bytes.data(), bytes.size());
  if (state_ == State::kError) return state_;  // a callback refused, and said why
  if (rc == HPE_OK) return state_;
  if (rc == HPE_PAUSED && state_ == State::kComplete) return state_;
  return Fail(std::string("malformed HTTP response: ") + llhttp_errno_name(rc) + " (" +
              llhttp_get_error_reason(&parser_) + ")");
}

ResponseParser::State ResponseParser::Finish() {
  if (state_ != State::kIncomplete) return state_;
  // llhttp_finish completes a body framed by close; with Content-Length or chunked framing
  // (or no status line yet) a close is a truncation, RFC 9112 §8.
  const llhttp_errno_t rc = llhttp_finish(&parser_);
  if (state_ == State::kComplete) return state_;
  if (rc != HPE_OK) {
    return Fail(std::string("the server closed the connection mid-response (") +
                llhttp_get_error_reason(&parser_) + ")");
  }
  return Fail(response_.status == 0 ? "the server closed the connection without answering"
                                    : "the server closed the connection mid-response");
}

int ResponseParser::OnHeaderField(llhttp_t* parser, const char* at, std::size_t length) {
  ResponseParser* self = Owner(parser);
  self->header_bytes_ += length;
  if (self->header_bytes_ > kMaxHeaderBytes) {
    self->Fail("the response's header section is larger than 64 KiB");
    return -1;
  }
  if (self->in_value_ || self->response_.headers.empty()) {
    if (self->response_.headers.size() == kMaxHeaders) {
      self->Fail("the response has more than 100 header fields");
      return -1;
    }
    self->response_.headers.emplace_back();
    self->in_value_ = false;
  }
  self->response_.headers.back().first.append(at, length);
  return 0;
}

int ResponseParser::OnHeaderValue(llhttp_t* parser, const char* at, std::size_t length) {
  ResponseParser* self = Owner(parser);
  self->header_bytes_ += length;
  if (self->header_bytes_ > kMaxHeaderBytes) {
    self->Fail("the response's header section is larger than 64 KiB");
    return -1;
  }
  self->in_value_ = true;
  self->response_.headers.back().second.append(at, length);
  return 0;
}

int ResponseParser::OnHeadersComplete(llhttp_t* parser) {
  Owner(parser)->response_.status = parser->status_code;
  return 0;
}

int ResponseParser::OnBody(llhttp_t* parser, const char* at, std::size_t length) {
  ResponseParser* self = Owner(parser);
  if (self->response_.body.size() + length > kMaxBodyBytes) {
    self->Fail("the response body is larger than 64 MiB");
    return -1;
  }
  self->response_.body.append(at, length);
  return 0;
}

int ResponseParser::OnMessageComplete(llhttp_t* parser) {
  ResponseParser* self = Owner(parser);
  // An interim 1xx response (RFC 9110 §15.2) precedes the final one: forget it and read on.
  if (self->response_.status >= 100 && self->response_.status < 200) {
    self->response_ = HttpResponse();
    self->header_bytes_ = 0;
    self->in_value_ = false;
    return 0;
  }
  self->state_ = State::kComplete;
  return HPE_PAUSED;
}

ResponseParser::State ParseResponse(std::string_view bytes, HttpResponse* out, std::string* error) {
  ResponseParser parser;
  ResponseParser::State state = parser.Feed(bytes);
  if (state == ResponseParser::State::kIncomplete) state = parser.Finish();
  if (state == ResponseParser::State::kComplete) {
    *out = parser.response();
  } else {
    *error = parser.error();
  }
  return state;
}

}  // namespace cutover::proxy::ctl
