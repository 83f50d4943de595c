#include "proxy/admin/admin_request_parser.h"

#include <algorithm>
#include <cctype>
#include <utility>

#include "proxy/uv_callback.h"
#include "routing/request_view.h"

namespace cutover::proxy::admin {

// UvCallback works for any C callback whose first argument has `data` pointing at the owner.
const llhttp_settings_t AdminRequestParser::kSettings = {
    .on_message_begin = &UvCallback<&AdminRequestParser::OnMessageBegin>::Call,
    .on_url = &UvCallback<&AdminRequestParser::OnUrl>::Call,
    .on_status = nullptr,
    .on_method = nullptr,
    .on_version = nullptr,
    .on_header_field = &UvCallback<&AdminRequestParser::OnHeaderField>::Call,
    .on_header_value = &UvCallback<&AdminRequestParser::OnHeaderValue>::Call,
    .on_chunk_extension_name = nullptr,
    .on_chunk_extension_value = nullptr,
    .on_headers_complete = &UvCallback<&AdminRequestParser::OnHeadersComplete>::Call,
    .on_body = &UvCallback<&AdminRequestParser::OnBody>::Call,
    .on_message_complete = &UvCallback<&AdminRequestParser::OnMessageComplete>::Call,
    .on_url_complete = nullptr,
    .on_status_complete = nullptr,
    .on_method_complete = nullptr,
    .on_version_complete = nullptr,
    .on_header_field_complete = nullptr,
    .on_header_value_complete = &UvCallback<&AdminRequestParser::OnHeaderValueComplete>::Call,
    .on_chunk_extension_name_complete = nullptr,
    .on_chunk_extension_value_complete = nullptr,
    .on_chunk_header = nullptr,
    .on_chunk_complete = nullptr,
    .on_reset = nullptr,
};

AdminRequestParser::AdminRequestParser(Listener* listener, uint32_t body_limit)
    : listener_(listener), body_limit_(body_limit) {
  llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
  parser_.data = this;
}

void AdminRequestParser::Feed(const char* data, std::size_t length) {
  if (stopped_) return;  // answered with Connection: close; ignore the rest
  const llhttp_errno_t result = llhttp_execute(&parser_, data, length);
  if (result == HPE_OK) return;
  if (stopped_) return;
  if (expectation_failed_) {
    Fail(417, "only Expect: 100-continue is supported");
    return;
  }
  if (request_.body_too_large) {
    // The body is not read; answering and closing is the only safe way out.
    Dispatch(true);
    return;
  }
  if (head_too_large_) {
    Fail(431, "request head over " + std::to_string(kHeadLimit) + " bytes");
    return;
  }
  Fail(400, std::string("malformed HTTP request: ") + llhttp_get_error_reason(&parser_));
}

int AdminRequestParser::OnMessageBegin() {
  request_.method.clear();
  target_.clear();
  request_.headers.clear();
  request_.body.clear();
  request_.body_too_large = false;
  expectation_failed_ = false;
  field_.clear();
  value_.clear();
  head_bytes_ = 0;
  head_too_large_ = false;
  return 0;
}

// Counted as llhttp hands the pieces over, so the limit holds within one read too (counting
// whole reads lost the first one: on_message_begin, inside it, started the count again).
int AdminRequestParser::CountHeadBytes(std::size_t length) {
  head_bytes_ += length;
  if (head_bytes_ <= kHeadLimit) return 0;
  head_too_large_ = true;
  return -1;
}

int AdminRequestParser::OnUrl(const char* at, std::size_t length) {
  if (CountHeadBytes(length) != 0) return -1;
  target_.append(at, length);
  return 0;
}

int AdminRequestParser::OnHeaderField(const char* at, std::size_t length) {
  if (CountHeadBytes(length) != 0) return -1;
  field_.append(at, length);
  return 0;
}

int AdminRequestParser::OnHeaderValue(const char* at, std::size_t length) {
  if (CountHeadBytes(length) != 0) return -1;
  value_.append(at, length);
  return 0;
}

int AdminRequestParser::OnHeaderValueComplete() {
  if (CountHeadBytes(4) != 0) return -1;  // ": " and CRLF: many empty fields add up too
  std::transform(field_.begin(), field_.end(), field_.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  request_.headers.emplace_back(std::move(field_), std::move(value_));
  field_.clear();
  value_.clear();
  return 0;
}

int AdminRequestParser::OnHeadersComplete() {
  request_.method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  if ((parser_.flags & F_CONTENT_LENGTH) != 0 && parser_.content_length > body_limit_) {
    request_.body_too_large = true;
    return -1;
  }
  // curl sends Expect: 100-continue for bodies over 1 KiB and waits a second for this.
  if (const std::string* expect = request_.Header("expect")) {
    if (!routing::EqualsIgnoreCaseAscii(*expect, "100-continue")) {
      expectation_failed_ = true;
      return -1;
    }
    listener_->OnContinue();
  }
  return 0;
}

int AdminRequestParser::OnBody(const char* at, std::size_t length) {
  if (request_.body.size() + length > body_limit_) {
    request_.body_too_large = true;
    return -1;
  }
  request_.body.append(at, length);
  return 0;
}

int AdminRequestParser::OnMessageComplete() {
  Dispatch(llhttp_should_keep_alive(&parser_) == 0);
  // Whatever a client pipelined after a request answered with Connection: close is dropped.
  return stopped_ ? HPE_PAUSED : 0;
}

void AdminRequestParser::Dispatch(bool close_after) {
  const std::size_t question = target_.find('?');
  request_.path = target_.substr(0, question);
  request_.query = question == std::string::npos ? "" : target_.substr(question + 1);
  close_after = close_after || request_.body_too_large;
  if (close_after) stopped_ = true;
  listener_->OnRequest(request_, close_after);
}

void AdminRequestParser::Fail(int status, std::string message) {
  stopped_ = true;
  listener_->OnMalformed(status, std::move(message));
}

}  // namespace cutover::proxy::admin
