// A blocking HTTP/1.1 client for the admin API: one request per connection (`Connection: close`,
// RFC 9112 §9.6), over the Unix socket, TCP or TLS (https://, docs/tls.md "Admin over TLS"),
// with one deadline for connect, handshake, send and receive. Plain POSIX sockets: the CLI does
// one exchange at a time and has no event loop to share; over TLS it pumps a tls::Engine's
// bytes itself.
//
// Failures here are transport failures ("cannot reach the server", exit 5): the HTTP status,
// good or bad, is the caller's to judge.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proxy/ctl/response_parser.h"

namespace cutover::tls {
class ClientContext;
}  // namespace cutover::tls

namespace cutover::proxy::ctl {

// Where the admin API listens: a Unix socket path, or a TCP host and port (from --url).
struct AdminAddress {
  std::string unix_path;  // used when host is empty
  std::string host;       // a name or an IP literal, without brackets
  std::string port;
  bool tls = false;  // https://: the TCP listener has [admin.tls]

  // "unix:/run/cutover/admin.sock", "http://127.0.0.1:9901" or "https://...", for messages.
  std::string Describe() const;
};

// Parses "http://HOST:PORT" or "https://HOST:PORT" (HOST may be a name, an IPv4 literal or a
// bracketed IPv6 literal; a trailing '/' is allowed). Paths are refused: the TCP listener
// serves the API at its root.
bool ParseAdminUrl(std::string_view url, AdminAddress* out, std::string* error);

// The TLS client for an https:// address: verifies the listener's certificate against
// `ca_file` ("" = the system's trust store) and the URL's host (an IP literal against the
// certificate's IP addresses), and presents `cert_file`/`key_file` when given (both or
// neither). nullptr with a one-line error naming the file when one cannot be used.
std::shared_ptr<const tls::ClientContext> LoadClientTls(const std::string& ca_file,
                                                        const std::string& cert_file,
                                                        const std::string& key_file,
                                                        std::string* error);

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

// Sends `request` and reads the whole response within `timeout`; over TLS with `tls` when the
// address is https://. False with *error (no secret in it: header values are never quoted) on
// connect failure, a failed TLS handshake (why, from the alert or the verification), timeout,
// a reset or a response that is not HTTP/1.1.
bool Exchange(const AdminAddress& address, const HttpRequest& request,
              std::chrono::milliseconds timeout, HttpResponse* response, std::string* error,
              const std::shared_ptr<const tls::ClientContext>& tls = nullptr);

}  // namespace cutover::proxy::ctl
