// The request side of the HTTP/1 codec, without the socket: llhttp in strict mode on a client
// connection's bytes, the head collected into a pooled HeadBuffer under the limits (URI, head
// bytes, field count, body bytes), the checks DESIGN §7 asks for (obs-fold, empty field names,
// Host, Expect, transfer codings, CONNECT, the HTTP version), the target reduced to origin-form;
// then, for the listener, what routing sees of the request and the rewrite that goes upstream.
//
// ClientConnection feeds it every read and decides, forwards and relays; the fuzzer
// (tests/fuzz/request_fuzz.cc) feeds it arbitrary bytes and routes and rewrites through the
// same functions, so both run the same parsing code.
//
// Ownership: embedded in its connection (llhttp keeps a pointer to it: neither copyable nor
// movable). Worker thread only. Allocates nothing: heads go into the listener's HeadBuffer.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/config.h"
#include "proxy/http_head.h"
#include "routing/request_view.h"

namespace cutover::proxy {

// A request head that passed every check, as the listener gets it.
struct RequestHead {
  HeadBuffer* buffer = nullptr;  // the listener's, from OnRequestBegin
  uint8_t method = 0;            // llhttp_method_t
  std::string_view target;       // origin-form (an absolute-form target already reduced)
  std::string_view authority;    // absolute-form's authority, which replaces Host; else empty
  bool has_host = false;         // a Host field came (always for HTTP/1.1; maybe not for 1.0)
  std::string_view upgrade;      // the protocol asked for with Connection: upgrade; else empty
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;
  bool head_request = false;
  bool keep_alive = false;     // as the client's version and Connection field allow
  bool send_continue = false;  // answer "100 Continue" once the request is accepted
};

class RequestCodec {
 public:
  class Listener {
   public:
    // A request starts: the (cleared) buffer its head goes into.
    virtual HeadBuffer* OnRequestBegin() = 0;
    // The head passed every check. True to read the body; false after Reject() refused it.
    virtual bool OnRequestHead(const RequestHead& head) = 0;
    // A piece of the body, within the limit, de-chunked; it points into the bytes being parsed.
    virtual void OnRequestBody(const char* at, std::size_t length) = 0;
    virtual void OnRequestComplete() = 0;

   protected:
    ~Listener() = default;
  };

  explicit RequestCodec(Listener* listener);
  RequestCodec(const RequestCodec&) = delete;
  RequestCodec& operator=(const RequestCodec&) = delete;

  // Parses `data` with `limits`. HPE_OK: more is needed. HPE_PAUSED: a request is complete,
  // the rest (from error_pos()) waits for Resume(). HPE_PAUSED_UPGRADE: the rest belongs to
  // the tunnel. Anything else: the request is refused, with rejection_status() when a check
  // (or the listener, through Reject) chose the status, or 0 for llhttp's own errors (400).
  llhttp_errno_t Execute(const LimitConfig& limits, const char* data, std::size_t length);
  void Resume() { llhttp_resume(&parser_); }

  // From a Listener callback: refuse the request with `status` (`detail` must be static text).
  // Returns what the callback returns to stop llhttp.
  int Reject(int status, const char* detail);
  int rejection_status() const { return rejection_status_; }
  const char* rejection_detail() const { return rejection_detail_; }

  llhttp_errno_t error() const { return llhttp_get_errno(&parser_); }
  const char* error_pos() const { return llhttp_get_error_pos(&parser_); }
  const char* error_reason() const { return llhttp_get_error_reason(&parser_); }
  // Of the current (or last) request.
  uint8_t method() const { return parser_.method; }
  std::string_view method_name() const {
    return llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
  }
  uint8_t http_minor() const { return parser_.http_minor; }
  // The target as received is the first target_length() bytes of the head buffer.
  uint32_t target_length() const { return target_length_; }

 private:
  int OnMessageBegin();
  int OnUrl(const char* at, std::size_t length);
  int OnHeaderField(const char* at, std::size_t length);
  int OnHeaderValue(const char* at, std::size_t length);
  int OnHeaderFieldComplete();
  int OnHeaderValueComplete();
  int OnHeadersComplete();
  int OnBody(const char* at, std::size_t length);
  int OnMessageComplete();
  int AppendPiece(const char* at, std::size_t length, bool is_target);
  // Reduces an absolute-form target to origin-form; false (rejected) for a bad authority.
  bool ReduceAbsoluteForm(RequestHead* head);

  static const llhttp_settings_t kSettings;

  Listener* listener_;
  llhttp_t parser_;
  const LimitConfig* limits_ = nullptr;  // during Execute
  const char* current_data_ = nullptr;   // start of the bytes being parsed, during Execute
  HeadBuffer* head_ = nullptr;           // the current request's, from the listener
  uint32_t target_length_ = 0;
  uint32_t header_bytes_ = 0;  // request head size so far, for the header_bytes limit
  uint64_t body_bytes_ = 0;
  bool in_name_ = false;                   // llhttp delivers names and values in pieces
  bool read_ended_in_line_break_ = false;  // the last read's end: CRLF and any SP/HT
  int rejection_status_ = 0;
  const char* rejection_detail_ = nullptr;
};

// What the router sees of a request: method, path, query, headers (trimmed), client. The
// header views go into `scratch` (the worker's, reused: no allocation once it has grown).
routing::RequestView MakeRequestView(const RequestHead& head, routing::ClientAddress client,
                                     std::vector<routing::HeaderView>* scratch);

// How the head is rewritten for the upstream (SerializeRequestHead): `client_address` for
// X-Forwarded-For and `forwarded_proto` for X-Forwarded-Proto, each empty when not added.
RequestRewrite MakeRequestRewrite(const RequestHead& head, std::string_view client_address,
                                  std::string_view forwarded_proto);

}  // namespace cutover::proxy
