#include "proxy/ctl/admin_client.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace cutover::proxy::ctl {
namespace {

using std::chrono::milliseconds;

AdminAddress Url(const std::string& url) {
  AdminAddress address;
  std::string error;
  EXPECT_TRUE(ParseAdminUrl(url, &address, &error)) << url << ": " << error;
  return address;
}

TEST(ParseAdminUrl, HostAndPort) {
  AdminAddress address = Url("http://127.0.0.1:9901");
  EXPECT_EQ(address.host, "127.0.0.1");
  EXPECT_EQ(address.port, "9901");
  EXPECT_EQ(address.Describe(), "http://127.0.0.1:9901");
  address = Url("http://admin.internal:80/");
  EXPECT_EQ(address.host, "admin.internal");
  EXPECT_EQ(address.port, "80");
  address = Url("http://[::1]:9901");
  EXPECT_EQ(address.host, "::1");
  EXPECT_EQ(address.Describe(), "http://[::1]:9901");
  EXPECT_FALSE(address.tls);
}

TEST(ParseAdminUrl, HttpsIsTls) {
  AdminAddress address = Url("https://127.0.0.1:9901");
  EXPECT_TRUE(address.tls);
  EXPECT_EQ(address.host, "127.0.0.1");
  EXPECT_EQ(address.port, "9901");
  EXPECT_EQ(address.Describe(), "https://127.0.0.1:9901");
  address = Url("https://[::1]:9901/");
  EXPECT_TRUE(address.tls);
  EXPECT_EQ(address.Describe(), "https://[::1]:9901");
}

TEST(ParseAdminUrl, RefusesWhatTheListenerDoesNotServe) {
  for (const char* url :
       {"ftp://127.0.0.1:9901", "HTTPS://127.0.0.1:9901", "https://127.0.0.1", "https://:1",
        "https://127.0.0.1:9901/v1", "127.0.0.1:9901", "http://127.0.0.1", "http://:9901",
        "http://127.0.0.1:0", "http://127.0.0.1:65536", "http://127.0.0.1:99x",
        "http://127.0.0.1:9901/v1", "http://user@host:1", "http://[::1", "http://[::1]9901"}) {
    AdminAddress address;
    std::string error;
    EXPECT_FALSE(ParseAdminUrl(url, &address, &error)) << url;
    EXPECT_NE(error.find(url), std::string::npos) << error;
  }
}

TEST(SerializeRequest, AddsFramingAndClose) {
  HttpRequest request;
  request.method = "PUT";
  request.target = "/v1/weights";
  request.headers = {{"If-Match", "7"}};
  request.body = R"({"blue":80})";
  request.has_body = true;
  EXPECT_EQ(SerializeRequest(request, Url("http://[::1]:9901")),
            "PUT /v1/weights HTTP/1.1\r\nHost: [::1]:9901\r\nConnection: close\r\n"
            "Accept: application/json\r\nUser-Agent: cutover-ctl\r\n"
            "Content-Type: application/json\r\nContent-Length: 11\r\nIf-Match: 7\r\n\r\n"
            "{\"blue\":80}");
}

TEST(SerializeRequest, BodylessRequestHasNoContentLength) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/state";
  AdminAddress unix_socket;
  unix_socket.unix_path = "/tmp/x.sock";
  EXPECT_EQ(SerializeRequest(request, unix_socket),
            "GET /v1/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            "Accept: application/json\r\nUser-Agent: cutover-ctl\r\n\r\n");
}

// A one-shot Unix socket server in a temp dir, answering `reply` to one connection, or nothing
// at all to test the deadline.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply, bool answer = true) {
    char dir[] = "/tmp/ctl_client_testXXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/admin.sock";
    listener_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path_.copy(address.sun_path, path_.size());
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
    thread_ = std::thread([this, reply = std::move(reply), answer] {
      const int fd = accept(listener_, nullptr, nullptr);
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t got = read(fd, buffer, sizeof(buffer));
        if (got <= 0) break;
        request.append(buffer, static_cast<std::size_t>(got));
      }
      request_ = request;
      if (answer) {
        (void)!write(fd, reply.data(), reply.size());
        close(fd);
      } else {
        held_ = fd;  // keep it open and silent until the test ends
      }
    });
  }
  ~OneShotServer() {
    thread_.join();
    if (held_ >= 0) close(held_);
    close(listener_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  AdminAddress address() const {
    AdminAddress out;
    out.unix_path = path_;
    return out;
  }
  const std::string& request() const { return request_; }

 private:
  std::string dir_;
  std::string path_;
  int listener_ = -1;
  int held_ = -1;
  std::thread thread_;
  std::string request_;
};

TEST(Exchange, ReadsTheAnswerOverAUnixSocket) {
  HttpResponse response;
  std::string error;
  {
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    HttpRequest request;
    request.method = "GET";
    request.target = "/v1/state";
    ASSERT_TRUE(Exchange(server.address(), request, milliseconds(5000), &response, &error))
        << error;
  }
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{}");
}

TEST(Exchange, TimesOutOnASilentServer) {
  OneShotServer server("", /*answer=*/false);
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/state";
  HttpResponse response;
  std::string error;
  EXPECT_FALSE(Exchange(server.address(), request, milliseconds(200), &response, &error));
  EXPECT_NE(error.find("timed out waiting for the response"), std::string::npos) << error;
}

TEST(Exchange, HttpsWithoutATlsClientIsRefused) {
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/state";
  HttpResponse response;
  std::string error;
  EXPECT_FALSE(
      Exchange(Url("https://127.0.0.1:1"), request, milliseconds(1000), &response, &error));
  EXPECT_EQ(error, "https://127.0.0.1:1: no TLS client to talk to it with");
}

TEST(Exchange, NoServerIsAConnectError) {
  AdminAddress address;
  address.unix_path = "/nonexistent/cutover/admin.sock";
  HttpRequest request;
  request.method = "GET";
  request.target = "/v1/state";
  HttpResponse response;
  std::string error;
  EXPECT_FALSE(Exchange(address, request, milliseconds(1000), &response, &error));
  EXPECT_EQ(error.rfind("cannot connect to unix:/nonexistent/cutover/admin.sock", 0), 0u) << error;
}

}  // namespace
}  // namespace cutover::proxy::ctl
