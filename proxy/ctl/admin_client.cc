#include "proxy/ctl/admin_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "tls/client_context.h"
#include "tls/engine.h"

namespace cutover::proxy::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Closes the descriptor when the exchange ends, whichever way it ends.
class Socket {
 public:
  Socket() = default;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { Reset(-1); }

  void Reset(int fd) {
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 1 << 30));
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

std::string Errno(int code) {
  return std::strerror(code);
}

// Waits until `fd` is ready for `events` or the deadline passes.
bool WaitFor(int fd, short events, Clock::time_point deadline, std::string_view what,
             std::string* error) {
  while (true) {
    pollfd entry{.fd = fd, .events = events, .revents = 0};
    const int rc = poll(&entry, 1, RemainingMs(deadline));
    if (rc > 0) return true;
    if (rc == 0) return Fail(error, "timed out " + std::string(what));
    if (errno != EINTR) return Fail(error, "poll: " + Errno(errno));
  }
}

int NewSocket(int family) {
  return socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

// A non-blocking connect that completes within the deadline (connect(2), EINPROGRESS). On
// failure *code is the errno that says why (0 for a timeout), for hints the caller adds.
bool ConnectWithin(int fd, const sockaddr* address, socklen_t length, Clock::time_point deadline,
                   int* code, std::string* error) {
  *code = 0;
  while (true) {
    if (connect(fd, address, length) == 0) return true;
    if (errno == EINTR) continue;
    if (errno == EAGAIN && address->sa_family == AF_UNIX) {
      // The listener's backlog is full: a Unix socket says so at once instead of queueing.
      if (RemainingMs(deadline) == 0) return Fail(error, "timed out connecting");
      poll(nullptr, 0, 10);  // retry interval while the admin thread accepts
      continue;
    }
    if (errno != EINPROGRESS) {
      *code = errno;
      return Fail(error, Errno(errno));
    }
    break;
  }
  if (!WaitFor(fd, POLLOUT, deadline, "connecting", error)) return false;
  int so_error = 0;
  socklen_t so_length = sizeof(so_error);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_length);
  if (so_error != 0) {
    *code = so_error;
    return Fail(error, Errno(so_error));
  }
  return true;
}

bool ConnectUnix(const std::string& path, Clock::time_point deadline, Socket* out,
                 std::string* error) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return Fail(error, "the socket path is longer than " +
                           std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  out->Reset(NewSocket(AF_UNIX));
  if (out->fd() < 0) return Fail(error, "socket: " + Errno(errno));
  std::string why;
  int code = 0;
  if (!ConnectWithin(out->fd(), reinterpret_cast<const sockaddr*>(&address), sizeof(address),
                     deadline, &code, &why)) {
    if (code == ENOENT || code == ECONNREFUSED) {
      why += " (is cutover running with an [admin] socket there?)";
    }
    if (code == EACCES) why += " (the socket is mode 0600: run as the proxy's user or root)";
    return Fail(error, why);
  }
  return true;
}

bool ConnectTcp(const AdminAddress& target, Clock::time_point deadline, Socket* out,
                std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found);
  if (rc != 0) return Fail(error, std::string("cannot resolve: ") + gai_strerror(rc));
  std::string why = "no address";
  bool connected = false;
  // Every address in turn (RFC 8305 without the racing): "localhost" may be ::1 then 127.0.0.1.
  for (addrinfo* each = found; each != nullptr && !connected; each = each->ai_next) {
    out->Reset(NewSocket(each->ai_family));
    if (out->fd() < 0) {
      why = "socket: " + Errno(errno);
      continue;
    }
    int code = 0;
    connected = ConnectWithin(out->fd(), each->ai_addr, each->ai_addrlen, deadline, &code, &why);
  }
  freeaddrinfo(found);
  return connected || Fail(error, why);
}

bool SendAll(int fd, std::string_view bytes, Clock::time_point deadline, std::string* error) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: a peer that closed early is an error to report, not a SIGPIPE to die of.
    const ssize_t sent = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent >= 0) {
      bytes.remove_prefix(static_cast<std::size_t>(sent));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Fail(error, "send: " + Errno(errno));
    if (!WaitFor(fd, POLLOUT, deadline, "sending the request", error)) return false;
  }
  return true;
}

bool Receive(int fd, Clock::time_point deadline, ResponseParser* parser, std::string* error) {
  std::array<char, 16 * 1024> buffer;
  while (parser->state() == ResponseParser::State::kIncomplete) {
    const ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
    if (got > 0) {
      parser->Feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    } else if (got == 0) {
      parser->Finish();
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitFor(fd, POLLIN, deadline, "waiting for the response", error)) return false;
    } else if (errno != EINTR) {
      return Fail(error, "recv: " + Errno(errno));
    }
  }
  return parser->state() == ResponseParser::State::kComplete || Fail(error, parser->error());
}

// One request and its response through `engine` over the connected socket `fd`: what the
// engine has to send (ClientHello, Finished, the sealed request) goes out, what arrives goes
// in and is decrypted into `parser`, until the response is complete or the peer is done.
bool ExchangeTls(int fd, tls::Engine* engine, std::string_view request, Clock::time_point deadline,
                 ResponseParser* parser, std::string* error) {
  engine->Write(request.data(), request.size());  // held until the handshake is done
  engine->Flush();
  std::array<char, 16 * 1024> buffer;
  std::string send_error;
  while (true) {
    if (const std::size_t pending = engine->PendingOutput(); pending > 0 && send_error.empty()) {
      std::string bytes(pending, '\0');
      engine->TakeOutput(bytes.data(), bytes.size());
      // A server that refuses the handshake may have closed already: its alert, still to be
      // read, says more than the failed send.
      SendAll(fd, bytes, deadline, &send_error);
    }
    while (parser->state() == ResponseParser::State::kIncomplete) {
      const long n = engine->Read(buffer.data(), buffer.size());
      if (n > 0) {
        parser->Feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      } else if (n == tls::Engine::kClosed) {
        parser->Finish();  // close_notify: the answer ends here
      } else if (n == tls::Engine::kFailed) {
        return Fail(error, "TLS " + engine->error());
      } else {
        break;
      }
    }
    if (parser->state() != ResponseParser::State::kIncomplete) break;
    if (engine->PendingOutput() > 0 && send_error.empty()) continue;
    const ssize_t got = recv(fd, buffer.data(), buffer.size(), 0);
    if (got > 0) {
      engine->Receive(buffer.data(), static_cast<std::size_t>(got));
    } else if (got == 0) {
      if (!engine->handshake_done()) {
        return Fail(error, send_error.empty() ? "the server closed the connection during the "
                                                "TLS handshake (is it a TLS listener?)"
                                              : send_error);
      }
      parser->Finish();  // closed without close_notify: Content-Length still tells a truncation
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!WaitFor(fd, POLLIN, deadline, "waiting for the response", error)) return false;
    } else if (errno != EINTR) {
      return Fail(error, send_error.empty() ? "recv: " + Errno(errno) : send_error);
    }
  }
  return parser->state() == ResponseParser::State::kComplete || Fail(error, parser->error());
}

std::string HostHeader(const AdminAddress& address) {
  if (address.host.empty()) return "localhost";
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "[" + address.host + "]" : address.host) + ":" + address.port;
}

}  // namespace

std::string AdminAddress::Describe() const {
  if (host.empty()) return "unix:" + unix_path;
  return (tls ? "https://" : "http://") + HostHeader(*this);
}

bool ParseAdminUrl(std::string_view url, AdminAddress* out, std::string* error) {
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  const std::string quoted = "--url '" + std::string(url) + "'";
  AdminAddress result;
  std::string_view rest;
  if (url.starts_with(kHttp)) {
    rest = url.substr(kHttp.size());
  } else if (url.starts_with(kHttps)) {
    rest = url.substr(kHttps.size());
    result.tls = true;
  } else {
    return Fail(error, quoted + ": expected http://HOST:PORT or https://HOST:PORT");
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::size_t colon = std::string_view::npos;
  if (!rest.empty() && rest.front() == '[') {
    const std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Fail(error, quoted + ": unclosed '['");
    result.host = std::string(rest.substr(1, close - 1));
    if (close + 1 < rest.size() && rest[close + 1] == ':')
      colon = close + 1;
    else if (close + 1 != rest.size())
      return Fail(error, quoted + ": expected :PORT after ']'");
  } else {
    colon = rest.rfind(':');
    result.host = std::string(rest.substr(0, colon));
  }
  if (result.host.empty()) return Fail(error, quoted + ": no host");
  if (result.host.find_first_of("/?#@") != std::string::npos) {
    return Fail(error, quoted + ": no path, query or user info is allowed");
  }
  if (colon == std::string_view::npos) return Fail(error, quoted + ": no port");
  result.port = std::string(rest.substr(colon + 1));
  const bool digits = !result.port.empty() && result.port.size() <= 5 &&
                      result.port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoul(result.port) == 0 || std::stoul(result.port) > 65535) {
    return Fail(error, quoted + ": the port must be 1 to 65535");
  }
  *out = std::move(result);
  return true;
}

std::string SerializeRequest(const HttpRequest& request, const AdminAddress& address) {
  std::string out = request.method + " " + request.target + " HTTP/1.1\r\n";
  out += "Host: " + HostHeader(address) + "\r\n";
  out += "Connection: close\r\n";
  out += "Accept: application/json\r\n";
  out += "User-Agent: cutover-ctl\r\n";
  if (request.has_body) {
    out += "Content-Type: application/json\r\n";
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  }
  for (const auto& [name, value] : request.headers) out += name + ": " + value + "\r\n";
  out += "\r\n";
  if (request.has_body) out += request.body;
  return out;
}

std::shared_ptr<const tls::ClientContext> LoadClientTls(const std::string& ca_file,
                                                        const std::string& cert_file,
                                                        const std::string& key_file,
                                                        std::string* error) {
  tls::ClientSettings settings;
  settings.ca_file = ca_file;
  settings.cert_file = cert_file;
  settings.key_file = key_file;
  return tls::ClientContext::Load(settings, error);
}

bool Exchange(const AdminAddress& address, const HttpRequest& request,
              std::chrono::milliseconds timeout, HttpResponse* response, std::string* error,
              const std::shared_ptr<const tls::ClientContext>& tls) {
  const Clock::time_point deadline = Clock::now() + timeout;
  if (address.tls && tls == nullptr) {
    return Fail(error, address.Describe() + ": no TLS client to talk to it with");
  }
  Socket socket;
  std::string why;
  const bool connected = address.host.empty()
                             ? ConnectUnix(address.unix_path, deadline, &socket, &why)
                             : ConnectTcp(address, deadline, &socket, &why);
  if (!connected) return Fail(error, "cannot connect to " + address.Describe() + ": " + why);
  ResponseParser parser;
  if (address.tls) {
    const std::unique_ptr<tls::Engine> engine = tls::Engine::Connect(tls, address.host);
    if (!ExchangeTls(socket.fd(), engine.get(), SerializeRequest(request, address), deadline,
                     &parser, &why)) {
      if (why.find("certificate required") != std::string::npos) {
        why += " (the admin listener wants a client certificate: --cert and --key)";
      } else if (why.find("wrong version number") != std::string::npos) {
        why += " (is the admin listener plain HTTP? then use http://)";
      }
      return Fail(error, address.Describe() + ": " + why);
    }
    *response = parser.response();
    return true;
  }
  // A server may answer and close before reading the whole body (413 for a body over its
  // limit): then the send fails, but the answer is there to read and is the better message.
  const bool sent = SendAll(socket.fd(), SerializeRequest(request, address), deadline, &why);
  std::string receive_error;
  if (!Receive(socket.fd(), deadline, &parser, &receive_error)) {
    return Fail(error, address.Describe() + ": " + (sent ? receive_error : why));
  }
  *response = parser.response();
  return true;
}

}  // namespace cutover::proxy::ctl
