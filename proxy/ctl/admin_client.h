// A blocking HTTP/1.1 client for the admin API: one request per connection (`Connection: close`,
// RFC 9112 §9.6), over the Unix socket or TCP, with one deadline for connect, send and receive.
// Plain POSIX sockets: the CLI does one exchange at a time and has no event loop to share.
//
// Failures here are transport failures ("cannot reach the server", exit 5): the HTTP status,
// good or bad, is the caller's to judge.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/ctl/response_parser.h"

namespace cutover::proxy::ctl {

// Where the admin API listens: a Unix socket path, or a TCP host and port (from --url).
struct AdminAddress {
  std::string unix_path;  // used when host is empty
  std::string host;       // a name or an IP literal, without brackets
  std::string port;

  // "unix:/run/cutover/admin.sock" or "http://127.0.0.1:9901", for error messages.
  std::string Describe() const;
};

// Parses "http://HOST:PORT" (HOST may be a name, an IPv4 literal or a bracketed IPv6 literal;
// a trailing '/' is allowed). https and paths are refused: the TCP listener speaks plain HTTP
// and serves the API at its root.
bool ParseAdminUrl(std::string_view url, AdminAddress* out, std::string* error);

struct HttpRequest {
  std::string method;
  std::string target;  // "/v1/state"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_body = false;  // sends Content-Length (0 for an empty body) and a JSON content type
};

// The request's bytes, with Host, Connection: close, Accept and, when it has a body,
// Content-Type and Content-Length (RFC 9110 §8.6) added before the caller's headers.
std::string SerializeRequest(const HttpRequest& request, const AdminAddress& address);

// Sends `request` and reads the whole response within `timeout`. False with *error (no secret
// in it: header values are never quoted) on connect failure, timeout, a reset or a response
// that is not HTTP/1.1.
bool Exchange(const AdminAddress& address, const HttpRequest& request,
              std::chrono::milliseconds timeout, HttpResponse* response, std::string* error);

}  // namespace cutover::proxy::ctl
