#include "proxy/demo_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

namespace cutover::proxy {
namespace {

// Bounds every blocking read, so a missing response fails the test instead of hanging it.
constexpr int kReceiveTimeoutSeconds = 5;

// A plain blocking POSIX client on 127.0.0.1.
class Client {
 public:
  // receive_buffer > 0 shrinks the socket's receive buffer (before connect, so that the
  // advertised window follows), making this a slow reader as far as the server can tell.
  explicit Client(uint16_t port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    timeval timeout{.tv_sec = kReceiveTimeoutSeconds, .tv_usec = 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() {
    if (fd_ >= 0) close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Reads until `size` bytes arrived; returns fewer on EOF, error or timeout.
  std::string ReadExactly(std::size_t size) {
    std::string data;
    char buf[16384];
    while (data.size() < size) {
      const ssize_t n = recv(fd_, buf, std::min(sizeof(buf), size - data.size()), 0);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    return data;
  }

  struct UntilEof {
    std::string data;
    bool eof = false;  // false: the read timed out or failed instead
  };
  UntilEof ReadUntilEof() {
    UntilEof result;
    char buf[4096];
    for (;;) {
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n == 0) {
        result.eof = true;
        return result;
      }
      if (n < 0) return result;
      result.data.append(buf, static_cast<std::size_t>(n));
    }
  }

  // Returns true if the server closed the connection (FIN or reset) within the timeout.
  bool SeesClose() {
    char c;
    const ssize_t n = recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

  // Makes close() send a reset, as a client that crashes mid-response would.
  void ResetOnClose() {
    linger option{.l_onoff = 1, .l_linger = 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof(option));
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Head(std::string_view name, std::size_t content_length,
                 std::string_view connection = "") {
  std::string out = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nX-Backend: ";
  out.append(name).append("\r\nContent-Length: ").append(std::to_string(content_length));
  out.append("\r\n").append(connection).append("\r\n");
  return out;
}

std::string Body(std::string_view name, std::string_view method, std::string_view target) {
  return std::string(name) + ": " + std::string(method) + " " + std::string(target) + "\n";
}

// The exact bytes of a 200 answer; `connection` is an extra "Connection: ...\r\n" line or "".
std::string Ok(std::string_view name, std::string_view method, std::string_view target,
               std::string_view connection = "") {
  const std::string body = Body(name, method, target);
  return Head(name, body.size(), connection) + body;
}

// HEAD gets GET's header fields, Content-Length included, and no body (RFC 9110 §9.3.2).
std::string HeadOk(std::string_view name, std::string_view target) {
  return Head(name, Body(name, "GET", target).size());
}

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: demo\r\n" + std::string(extra_headers) +
         "\r\n";
}

// Checks a 400/414/501 answer: status line, our headers, a Content-Length that matches the
// body, the reason given in the body, and the close that must follow.
void ExpectErrorAndClose(Client& client, std::string_view status_line, std::string_view reason) {
  const Client::UntilEof answer = client.ReadUntilEof();
  EXPECT_TRUE(answer.eof) << "connection not closed after the error";
  const std::string& data = answer.data;
  EXPECT_EQ(data.rfind(std::string(status_line) + "\r\n", 0), 0u) << data;
  EXPECT_NE(data.find("\r\nX-Backend: blue\r\n"), std::string::npos) << data;
  EXPECT_NE(data.find("\r\nConnection: close\r\n"), std::string::npos) << data;
  const std::size_t end_of_head = data.find("\r\n\r\n");
  ASSERT_NE(end_of_head, std::string::npos) << data;
  const std::size_t body_size = data.size() - end_of_head - 4;
  EXPECT_NE(data.find(reason, end_of_head), std::string::npos) << data;
  EXPECT_NE(data.find("\r\nContent-Length: " + std::to_string(body_size) + "\r\n"),
            std::string::npos)
      << data;
}

class DemoBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    backends_ = DemoBackends::Start({"blue", "green"}, "127.0.0.1", &error);
    ASSERT_NE(backends_, nullptr) << error;
  }

  uint16_t blue() const { return backends_->port(0); }
  uint16_t green() const { return backends_->port(1); }

  std::unique_ptr<DemoBackends> backends_;
};

TEST_F(DemoBackendTest, ListensOnDistinctEphemeralPorts) {
  ASSERT_EQ(backends_->size(), 2u);
  EXPECT_NE(blue(), 0);
  EXPECT_NE(green(), 0);
  EXPECT_NE(blue(), green());
  EXPECT_EQ(backends_->requests_served(0), 0u);
  EXPECT_EQ(backends_->requests_served(1), 0u);
  EXPECT_THROW(backends_->port(2), std::out_of_range);
}

TEST_F(DemoBackendTest, GetIsAnsweredByNamedPool) {
  Client blue_client(blue());
  ASSERT_TRUE(blue_client.connected());
  ASSERT_TRUE(blue_client.Send(Get("/hello")));
  const std::string expected = Ok("blue", "GET", "/hello");
  EXPECT_EQ(blue_client.ReadExactly(expected.size()), expected);

  Client green_client(green());
  ASSERT_TRUE(green_client.connected());
  ASSERT_TRUE(green_client.Send(Get("/hello?user=7")));
  const std::string green_expected = Ok("green", "GET", "/hello?user=7");
  EXPECT_EQ(green_client.ReadExactly(green_expected.size()), green_expected);
}

TEST_F(DemoBackendTest, HeadSendsGetHeadersWithoutBody) {
  Client client(blue());
  // The GET right behind proves that no body bytes follow the HEAD answer.
  ASSERT_TRUE(client.Send("HEAD /page HTTP/1.1\r\nHost: demo\r\n\r\n" + Get("/after")));
  const std::string expected = HeadOk("blue", "/page") + Ok("blue", "GET", "/after");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

TEST_F(DemoBackendTest, ContentLengthBodyIsDiscarded) {
  Client client(blue());
  ASSERT_TRUE(client.Send(
      "POST /form HTTP/1.1\r\nHost: demo\r\nContent-Length: 11\r\n\r\nhello=world" + Get("/next")));
  const std::string expected = Ok("blue", "POST", "/form") + Ok("blue", "GET", "/next");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

TEST_F(DemoBackendTest, ChunkedBodyIsDiscarded) {
  Client client(green());
  ASSERT_TRUE(
      client.Send("PUT /upload HTTP/1.1\r\nHost: demo\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n" +
                  Get("/next")));
  const std::string expected = Ok("green", "PUT", "/upload") + Ok("green", "GET", "/next");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

TEST_F(DemoBackendTest, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  Client client(blue());
  ASSERT_TRUE(client.Send(Get("/one") + "HEAD /two HTTP/1.1\r\nHost: demo\r\n\r\n" +
                          "DELETE /three HTTP/1.1\r\nHost: demo\r\n\r\n"));
  const std::string expected =
      Ok("blue", "GET", "/one") + HeadOk("blue", "/two") + Ok("blue", "DELETE", "/three");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

// Exercises the parser state kept across reads: the target and the request line arrive in
// pieces (TCP_NODELAY makes each send its own segment).
TEST_F(DemoBackendTest, RequestSplitAcrossManyWrites) {
  Client client(blue());
  for (const char c : Get("/split/into/bytes")) ASSERT_TRUE(client.Send(std::string_view(&c, 1)));
  const std::string expected = Ok("blue", "GET", "/split/into/bytes");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

TEST_F(DemoBackendTest, ConnectionCloseClosesAfterResponse) {
  Client client(blue());
  // The request pipelined behind the close must not be answered (RFC 9112 §9.6).
  ASSERT_TRUE(client.Send(Get("/bye", "Connection: close\r\n") + Get("/ignored")));
  const Client::UntilEof answer = client.ReadUntilEof();
  EXPECT_TRUE(answer.eof);
  EXPECT_EQ(answer.data, Ok("blue", "GET", "/bye", "Connection: close\r\n"));
  EXPECT_EQ(backends_->requests_served(0), 1u);
}

TEST_F(DemoBackendTest, Http10ClosesUnlessAskedToKeepAlive) {
  Client plain(blue());
  ASSERT_TRUE(plain.Send("GET /old HTTP/1.0\r\n\r\n"));
  const Client::UntilEof answer = plain.ReadUntilEof();
  EXPECT_TRUE(answer.eof);
  EXPECT_EQ(answer.data, Ok("blue", "GET", "/old", "Connection: close\r\n"));

  Client keep_alive(blue());
  const std::string request = "GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  const std::string expected = Ok("blue", "GET", "/again", "Connection: keep-alive\r\n");
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(keep_alive.Send(request));
    EXPECT_EQ(keep_alive.ReadExactly(expected.size()), expected) << "request " << i;
  }
}

TEST_F(DemoBackendTest, ExpectContinueGets100BeforeTheBody) {
  Client client(green());
  ASSERT_TRUE(client.Send(
      "POST /big HTTP/1.1\r\nHost: demo\r\nContent-Length: 5\r\nEXPECT: 100-Continue\r\n\r\n"));
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  ASSERT_EQ(client.ReadExactly(interim.size()), interim);
  ASSERT_TRUE(client.Send("12345"));
  const std::string expected = Ok("green", "POST", "/big");
  EXPECT_EQ(client.ReadExactly(expected.size()), expected);
}

TEST_F(DemoBackendTest, MalformedRequestGets400AndClose) {
  Client client(blue());
  ASSERT_TRUE(client.Send("NOT-A-METHOD / HTTP/1.1\r\nHost: demo\r\n\r\n"));
  ExpectErrorAndClose(client, "HTTP/1.1 400 Bad Request", "HPE_INVALID_METHOD");
  EXPECT_EQ(backends_->requests_served(0), 0u);
}

TEST_F(DemoBackendTest, AnswersBeforeAMalformedRequestStillArrive) {
  Client client(blue());
  ASSERT_TRUE(client.Send(Get("/fine") + "GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  const std::string fine = Ok("blue", "GET", "/fine");
  ASSERT_EQ(client.ReadExactly(fine.size()), fine);
  ExpectErrorAndClose(client, "HTTP/1.1 400 Bad Request", "HPE_INVALID_HEADER_TOKEN");
}

// Request smuggling defences (DESIGN §7) come from llhttp's strict mode.
TEST_F(DemoBackendTest, ContentLengthWithTransferEncodingIsRejected) {
  Client client(blue());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: demo\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n"));
  ExpectErrorAndClose(client, "HTTP/1.1 400 Bad Request", "HPE_UNEXPECTED_CONTENT_LENGTH");
}

TEST_F(DemoBackendTest, InvalidChunkSizeIsRejected) {
  Client client(blue());
  ASSERT_TRUE(client.Send(
      "POST / HTTP/1.1\r\nHost: demo\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n"));
  ExpectErrorAndClose(client, "HTTP/1.1 400 Bad Request", "HPE_INVALID_CHUNK_SIZE");
}

TEST_F(DemoBackendTest, OverlongTargetGets414) {
  Client client(blue());
  ASSERT_TRUE(client.Send(Get("/" + std::string(9000, 'a'))));
  ExpectErrorAndClose(client, "HTTP/1.1 414 URI Too Long", "request-target longer than 8192 bytes");
}

TEST_F(DemoBackendTest, ConnectGets501) {
  Client client(blue());
  ASSERT_TRUE(client.Send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
  ExpectErrorAndClose(client, "HTTP/1.1 501 Not Implemented", "CONNECT is not supported");
}

// RFC 9110 §7.8 lets a server ignore Upgrade; llhttp stops parsing after such a request, so
// the answer closes the connection and what was pipelined behind it stays unanswered.
TEST_F(DemoBackendTest, UpgradeIsIgnoredAndClosesAfterTheAnswer) {
  Client client(blue());
  ASSERT_TRUE(client.Send(Get("/ws", "Upgrade: websocket\r\nConnection: Upgrade\r\n") + Get("/y")));
  const Client::UntilEof answer = client.ReadUntilEof();
  EXPECT_TRUE(answer.eof);
  EXPECT_EQ(answer.data, Ok("blue", "GET", "/ws", "Connection: close\r\n"));
}

TEST_F(DemoBackendTest, RequestsServedCountsPerPool) {
  Client blue_client(blue());
  Client green_client(green());
  ASSERT_TRUE(blue_client.Send(Get("/a") + Get("/b") + Get("/c")));
  ASSERT_TRUE(green_client.Send(Get("/d")));
  const std::string blue_expected =
      Ok("blue", "GET", "/a") + Ok("blue", "GET", "/b") + Ok("blue", "GET", "/c");
  const std::string green_expected = Ok("green", "GET", "/d");
  ASSERT_EQ(blue_client.ReadExactly(blue_expected.size()), blue_expected);
  ASSERT_EQ(green_client.ReadExactly(green_expected.size()), green_expected);
  // Each request is counted before its answer is written, so reading it is enough.
  EXPECT_EQ(backends_->requests_served(0), 3u);
  EXPECT_EQ(backends_->requests_served(1), 1u);
}

// More pipelined answers (16 MB) than the socket buffers can hold (Linux autotunes a send
// buffer up to 4 MB by default) behind a small receive window: the server must fall back
// from uv_try_write to uv_write, stop reading while it waits, and still answer every request
// in order.
TEST_F(DemoBackendTest, LargePipelinedBurstWithSlowReader) {
  constexpr int kRequests = 16000;
  const std::string padding(1000, 'p');
  std::string requests;
  std::string expected;
  for (int i = 0; i < kRequests; ++i) {
    const std::string target = "/n/" + std::to_string(i) + "/" + padding;
    requests += Get(target);
    expected += Ok("green", "GET", target);
  }
  Client client(green(), 4096);
  bool sent = false;
  std::thread sender([&] { sent = client.Send(requests); });
  const std::string received = client.ReadExactly(expected.size());
  sender.join();
  EXPECT_TRUE(sent);
  EXPECT_EQ(received.size(), expected.size());
  EXPECT_TRUE(received == expected) << "answers out of order or corrupted";
  EXPECT_EQ(backends_->requests_served(1), static_cast<uint64_t>(kRequests));
}

// A client that resets the connection in the middle of a pipelined burst costs only that
// connection: the failed read or write closes it and the server keeps serving.
TEST_F(DemoBackendTest, ClientResetMidBurstLeavesServerRunning) {
  {
    Client client(blue());
    std::string burst;
    for (int i = 0; i < 5000; ++i) burst += Get("/burst");
    ASSERT_TRUE(client.Send(burst));
    client.ResetOnClose();
  }
  Client next(blue());
  ASSERT_TRUE(next.Send(Get("/still-here")));
  const std::string expected = Ok("blue", "GET", "/still-here");
  EXPECT_EQ(next.ReadExactly(expected.size()), expected);
}

TEST(DemoBackends, DestructorReturnsPromptlyWithOpenConnections) {
  std::string error;
  auto backends = DemoBackends::Start({"blue"}, "127.0.0.1", &error);
  ASSERT_NE(backends, nullptr) << error;
  Client idle(backends->port(0));
  Client mid_request(backends->port(0));
  // A completed exchange on each proves both are accepted and being read.
  const std::string expected = Ok("blue", "GET", "/x");
  ASSERT_TRUE(idle.Send(Get("/x")));
  ASSERT_EQ(idle.ReadExactly(expected.size()), expected);
  ASSERT_TRUE(mid_request.Send(Get("/x")));
  ASSERT_EQ(mid_request.ReadExactly(expected.size()), expected);
  ASSERT_TRUE(mid_request.Send("GET /never-finished HTTP/1.1\r\nHost: de"));

  const auto begin = std::chrono::steady_clock::now();
  backends.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(2));
  EXPECT_TRUE(idle.SeesClose());
  EXPECT_TRUE(mid_request.SeesClose());
}

TEST(DemoBackends, StartRejectsBadArguments) {
  std::string error;
  EXPECT_EQ(DemoBackends::Start({}, "127.0.0.1", &error), nullptr);
  EXPECT_NE(error.find("no backend names"), std::string::npos) << error;

  error.clear();
  EXPECT_EQ(DemoBackends::Start({"blue", "gr een"}, "127.0.0.1", &error), nullptr);
  EXPECT_NE(error.find("gr een"), std::string::npos) << error;

  error.clear();
  EXPECT_EQ(DemoBackends::Start({"blue"}, "localhost", &error), nullptr);
  EXPECT_NE(error.find("numeric"), std::string::npos) << error;

  // Also works without an error string.
  EXPECT_EQ(DemoBackends::Start({""}, "127.0.0.1", nullptr), nullptr);
}

TEST(DemoBackends, StartReportsBindFailure) {
  std::string error;
  // 192.0.2.1 (TEST-NET-1, RFC 5737) is never a local address, so the bind fails on the loop
  // thread and Start must report that and clean up after itself.
  EXPECT_EQ(DemoBackends::Start({"blue", "green"}, "192.0.2.1", &error), nullptr);
  EXPECT_NE(error.find("listening for backend \"blue\""), std::string::npos) << error;
}

}  // namespace
}  // namespace cutover::proxy
