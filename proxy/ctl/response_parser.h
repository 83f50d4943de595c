// Reads one HTTP/1.1 response of the admin API with llhttp, fed as bytes arrive and finished at
// EOF (the client sends `Connection: close`, RFC 9112 §9.6, so EOF ends the exchange). Framing
// follows RFC 9112 §6.3: Content-Length, chunked (§7.1), or read until close; llhttp decides,
// in strict mode like the proxy's own parsers.
//
// Ownership: the llhttp_t lives inside the parser and its `data` points back to it, so a
// parser is neither copyable nor movable. One thread.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cutover::proxy::ctl {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // in order, names as sent
  std::string body;                                          // de-chunked

  // The first value of header `name` (case-insensitive, RFC 9110 §5.1), or "" if absent.
  std::string_view Header(std::string_view name) const;
};

class ResponseParser {
 public:
  enum class State { kIncomplete, kComplete, kError };

  // Bounds on what one admin answer may hold, so a wrong peer cannot grow the client without
  // limit. The largest real answer is a page of 1000 audit entries with two states each.
  static constexpr std::size_t kMaxHeaders = 100;
  static constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
  static constexpr std::size_t kMaxBodyBytes = 64 * 1024 * 1024;

  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Parses more bytes. Bytes after a complete response are ignored (there are none with
  // Connection: close, unless the peer is not an admin API).
  State Feed(std::string_view bytes);

  // The peer closed the connection: completes a response framed by close, or reports a
  // truncated one.
  State Finish();

  State state() const { return state_; }
  const HttpResponse& response() const { return response_; }
  // What went wrong, for "cannot reach the server" messages.
  const std::string& error() const { return error_; }

 private:
  static int OnHeaderField(llhttp_t* parser, const char* at, std::size_t length);
  static int OnHeaderValue(llhttp_t* parser, const char* at, std::size_t length);
  static int OnHeadersComplete(llhttp_t* parser);
  static int OnBody(llhttp_t* parser, const char* at, std::size_t length);
  static int OnMessageComplete(llhttp_t* parser);

  static const llhttp_settings_t kSettings;

  State Fail(std::string message);

  llhttp_t parser_;
  HttpResponse response_;
  std::size_t header_bytes_ = 0;
  bool in_value_ = false;  // the last header callback was a value: the next field is a new header
  State state_ = State::kIncomplete;
  std::string error_;
};

// Parses a whole response at once (Feed, then Finish if needed): for tests and callers that
// already hold every byte.
ResponseParser::State ParseResponse(std::string_view bytes, HttpResponse* out, std::string* error);

}  // namespace cutover::proxy::ctl
