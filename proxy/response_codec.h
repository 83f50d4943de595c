// The response side of the HTTP/1 codec, without the socket: llhttp on a backend's bytes, the
// head collected into the exchange's HeadBuffer (bounded), interim 1xx responses skipped, then
// the head the client gets (PrepareResponseHead: framing, keep-alive, upgrade, the proxy's own
// fields) and the body pieces.
//
// UpstreamConnection feeds it every read and ClientConnection relays what it reports; the
// fuzzer (tests/fuzz/response_fuzz.cc) feeds it arbitrary bytes and prepares the client's
// head with the same function.
//
// Ownership: embedded in one upstream connection (llhttp keeps a pointer to it: neither
// copyable nor movable). Worker thread only. Allocates nothing: the head goes into the
// listener's HeadBuffer.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proxy/http_head.h"

namespace cutover::proxy {

// A final response head (not an interim 1xx), as the listener gets it.
struct ResponseHead {
  HeadBuffer* buffer = nullptr;  // the listener's: the reason phrase first, then the fields
  int status = 0;
  uint32_t reason_length = 0;  // the reason phrase is buffer->Slice(0, reason_length)
  bool content_length_given = false;
  bool chunked = false;
  bool upgrade = false;  // a 101 with Upgrade and Connection: upgrade (llhttp's view)
  uint64_t content_length = 0;
};

class ResponseCodec {
 public:
  // A backend's response head beyond this is treated as a protocol error, not buffered.
  static constexpr std::size_t kMaxHeadBytes = 256 * 1024;

  class Listener {
   public:
    // The buffer the response head goes into (the exchange's; asked once per exchange).
    virtual HeadBuffer* OnResponseBuffer() = 0;
    // A final head. Returns llhttp's verdict: 0 = a body follows, 1 = none, -1 = refuse it (a
    // protocol error).
    virtual int OnResponseHead(const ResponseHead& head) = 0;
    // A piece of the body, de-chunked; it points into the bytes being parsed.
    virtual void OnResponseBody(const char* at, std::size_t length) = 0;
    // The final response is complete. `upgrade`: a 101, the rest is the tunnel's; otherwise
    // `keep_alive` says whether the backend allows another request on this connection.
    virtual void OnResponseComplete(bool upgrade, bool keep_alive) = 0;

   protected:
    ~Listener() = default;
  };

  explicit ResponseCodec(Listener* listener);
  ResponseCodec(const ResponseCodec&) = delete;
  ResponseCodec& operator=(const ResponseCodec&) = delete;

  // Before the response to a new request; a HEAD request's response has no body whatever its
  // framing fields say (RFC 9110 §9.3.2).
  void Start(bool head_request);
  // HPE_OK: more is needed. HPE_PAUSED: the response is complete (error_pos() is where any
  // extra bytes start). HPE_PAUSED_UPGRADE: a 101, the rest belongs to the tunnel. Anything
  // else: the backend broke HTTP.
  llhttp_errno_t Execute(const char* data, std::size_t length);
  // A close-delimited body ends with the connection (RFC 9112 §6.3 rule 8).
  bool NeedsEof() const { return llhttp_message_needs_eof(&parser_) != 0; }
  void Finish() { llhttp_finish(&parser_); }

  const char* error_pos() const { return llhttp_get_error_pos(&parser_); }
  const char* error_reason() const { return llhttp_get_error_reason(&parser_); }

 private:
  int OnStatus(const char* at, std::size_t length);
  int OnHeaderField(const char* at, std::size_t length);
  int OnHeaderValue(const char* at, std::size_t length);
  int OnHeaderValueComplete();
  int OnHeadersComplete();
  int OnBody(const char* at, std::size_t length);
  int OnMessageComplete();
  HeadBuffer* Buffer();

  static const llhttp_settings_t kSettings;

  Listener* listener_;
  llhttp_t parser_;
  HeadBuffer* head_ = nullptr;  // the listener's, once the head started
  uint32_t reason_length_ = 0;
  bool in_name_ = false;  // llhttp delivers names and values in pieces
  bool head_request_ = false;
};

// What the exchange knows when the response head arrives.
struct ResponseContext {
  bool head_request = false;
  bool upgrade_requested = false;  // the request asked to switch protocols
  bool client_http11 = true;       // the client spoke HTTP/1.1 (chunked may be sent to it)
  bool keep_alive = true;          // the client connection may carry another request
  bool request_complete = true;    // the whole request was read
};

// The client's head for `head`: how its body is framed, whether the connection stays open,
// and the serialized head in head.buffer->out.
struct ResponsePlan {
  int verdict = 0;  // as ResponseCodec::Listener::OnResponseHead: 0, 1, or -1 (refused)
  BodyFraming framing = BodyFraming::kNone;
  bool keep_alive = false;
};
// `extra_fields`: the proxy's own "Name: value\r\n" lines (appended to head.buffer->raw before
// this call, so no view into raw is taken before it grew).
ResponsePlan PrepareResponseHead(const ResponseHead& head, const ResponseContext& context,
                                 std::string_view extra_fields);

}  // namespace cutover::proxy
