#include "proxy/http_head.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace cutover::proxy {
namespace {

HeadBuffer MakeHead(std::string_view start,
                    const std::vector<std::pair<std::string, std::string>>& fields) {
  HeadBuffer head;
  head.raw.append(start);
  for (const auto& [name, value] : fields) {
    HeaderField f;
    f.name_offset = static_cast<uint32_t>(head.raw.size());
    f.name_length = static_cast<uint32_t>(name.size());
    head.raw.append(name);
    f.value_offset = static_cast<uint32_t>(head.raw.size());
    f.value_length = static_cast<uint32_t>(value.size());
    head.raw.append(value);
    head.fields.push_back(f);
  }
  return head;
}

TEST(HttpHead, EqualsIgnoreCaseAndTrim) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-length"));
  EXPECT_FALSE(EqualsIgnoreCase("Content-Length", "content-lengt"));
  EXPECT_EQ(TrimOws(" \t a b \t"), "a b");
  EXPECT_EQ(TrimOws("   "), "");
}

TEST(HttpHead, ScanFindsHostExpectUpgradeAndForwardedFor) {
  HeadBuffer head = MakeHead("/", {{"Host", "example.com"},
                                   {"Expect", "100-Continue"},
                                   {"Connection", "keep-alive, Upgrade"},
                                   {"Upgrade", "websocket"},
                                   {"X-Forwarded-For", "10.1.1.1"}});
  const RequestHeadScan scan = ScanRequestHead(head);
  EXPECT_EQ(scan.host_count, 1);
  EXPECT_EQ(scan.host, "example.com");
  EXPECT_TRUE(scan.expect_continue);
  EXPECT_FALSE(scan.expect_other);
  EXPECT_EQ(scan.upgrade, "websocket");
}

TEST(HttpHead, UpgradeNeedsConnectionUpgrade) {
  HeadBuffer head = MakeHead("/", {{"Host", "a"}, {"Upgrade", "websocket"}});
  EXPECT_EQ(ScanRequestHead(head).upgrade, "");
}

TEST(HttpHead, RequestDropsHopByHopAndConnectionListedFields) {
  HeadBuffer head = MakeHead("/x", {{"Host", "a"},
                                    {"Connection", "close, X-Secret"},
                                    {"X-Secret", "1"},
                                    {"Keep-Alive", "timeout=5"},
                                    {"Proxy-Connection", "keep-alive"},
                                    {"TE", "trailers"},
                                    {"Trailer", "X-T"},
                                    {"Upgrade", "h2c"},
                                    {"Proxy-Authorization", "Basic x"},
                                    {"Transfer-Encoding", "chunked"},
                                    {"Expect", "100-continue"},
                                    {"Accept", "*/*"}});
  RequestRewrite rw;
  rw.method = "POST";
  rw.target = "/x";
  rw.framing = BodyFraming::kChunked;
  SerializeRequestHead(&head, rw);
  EXPECT_EQ(head.out,
            "POST /x HTTP/1.1\r\n"
            "Host: a\r\n"
            "Accept: */*\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(HttpHead, RequestAppendsForwardedForAndReplacesProto) {
  HeadBuffer head = MakeHead("/", {{"Host", "a"},
                                   {"X-Forwarded-For", "10.1.1.1"},
                                   {"X-Forwarded-Proto", "https"},
                                   {"X-Forwarded-For", " 10.2.2.2 "}});
  RequestRewrite rw;
  rw.method = "GET";
  rw.target = "/";
  rw.client_address = "127.0.0.1";
  rw.forwarded_proto = "http";
  SerializeRequestHead(&head, rw);
  EXPECT_EQ(head.out,
            "GET / HTTP/1.1\r\n"
            "Host: a\r\n"
            "X-Forwarded-For: 10.1.1.1, 10.2.2.2, 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "\r\n");
}

TEST(HttpHead, RequestRestatesContentLengthAndUpgrade) {
  HeadBuffer head = MakeHead("/", {{"Host", "a"}, {"Content-Length", "05"}});
  RequestRewrite rw;
  rw.method = "GET";
  rw.target = "/chat";
  rw.framing = BodyFraming::kContentLength;
  rw.content_length = 5;
  rw.upgrade = "websocket";
  SerializeRequestHead(&head, rw);
  EXPECT_EQ(head.out,
            "GET /chat HTTP/1.1\r\n"
            "Host: a\r\n"
            "Content-Length: 5\r\n"
            "Upgrade: websocket\r\n"
            "Connection: upgrade\r\n"
            "\r\n");
}

TEST(HttpHead, AbsoluteFormAuthorityReplacesHost) {
  HeadBuffer head = MakeHead("", {{"Host", "wrong"}, {"Accept", "a"}});
  RequestRewrite rw;
  rw.method = "GET";
  rw.target = "/p";
  rw.authority = "right:8080";
  SerializeRequestHead(&head, rw);
  EXPECT_EQ(head.out, "GET /p HTTP/1.1\r\nHost: right:8080\r\nAccept: a\r\n\r\n");
}

TEST(HttpHead, SplitAbsoluteForm) {
  std::string_view authority, origin;
  ASSERT_TRUE(SplitAbsoluteForm("http://h:1/a/b?c", &authority, &origin));
  EXPECT_EQ(authority, "h:1");
  EXPECT_EQ(origin, "/a/b?c");
  ASSERT_TRUE(SplitAbsoluteForm("HTTP://h", &authority, &origin));
  EXPECT_EQ(origin, "/");
  EXPECT_FALSE(SplitAbsoluteForm("/a://b", &authority, &origin));
  EXPECT_FALSE(SplitAbsoluteForm("ftp://h/", &authority, &origin));
  EXPECT_FALSE(SplitAbsoluteForm("*", &authority, &origin));
}

TEST(HttpHead, ResponseKeepsEndToEndAndRestatesFraming) {
  HeadBuffer head = MakeHead("Fine", {{"Content-Type", "text/plain"},
                                      {"Keep-Alive", "timeout=5"},
                                      {"Connection", "X-Internal"},
                                      {"X-Internal", "1"},
                                      {"Transfer-Encoding", "chunked"}});
  ResponseRewrite rw;
  rw.status = 200;
  rw.reason = "Fine";
  rw.framing = BodyFraming::kChunked;
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out,
            "HTTP/1.1 200 Fine\r\n"
            "Content-Type: text/plain\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
}

TEST(HttpHead, ResponseCloseAndHttp10KeepAlive) {
  HeadBuffer head = MakeHead("", {{"Content-Length", "3"}});
  ResponseRewrite rw;
  rw.status = 404;
  rw.framing = BodyFraming::kContentLength;
  rw.content_length = 3;
  rw.keep_alive = false;
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
  rw.keep_alive = true;
  rw.http10_keep_alive = true;
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpHead, HeadAnd304PassContentLengthThrough) {
  HeadBuffer head = MakeHead("OK", {{"Content-Length", " 1234 "}, {"ETag", "\"x\""}});
  ResponseRewrite rw;
  rw.status = 200;
  rw.reason = "OK";
  rw.head_request = true;
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out, "HTTP/1.1 200 OK\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n");
  rw.head_request = false;
  rw.status = 304;
  rw.reason = "Not Modified";
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n");
}

TEST(HttpHead, NoContentDropsContentLength) {
  HeadBuffer head = MakeHead("", {{"Content-Length", "0"}});
  ResponseRewrite rw;
  rw.status = 204;
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out, "HTTP/1.1 204 No Content\r\n\r\n");
}

TEST(HttpHead, SwitchingProtocolsKeepsUpgrade) {
  HeadBuffer head = MakeHead(
      "Switching Protocols",
      {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", "abc"}});
  ResponseRewrite rw;
  rw.status = 101;
  rw.reason = "Switching Protocols";
  rw.upgrade = "websocket";
  SerializeResponseHead(&head, rw);
  EXPECT_EQ(head.out,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Sec-WebSocket-Accept: abc\r\n"
            "Upgrade: websocket\r\n"
            "Connection: upgrade\r\n"
            "\r\n");
}

TEST(HttpHead, ErrorResponseSaysWhy) {
  const std::string response = BuildErrorResponse(431, "too many header fields", true);
  EXPECT_EQ(response,
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 32\r\n"
            "Connection: close\r\n"
            "\r\n"
            "cutover: too many header fields\n");
}

}  // namespace
}  // namespace cutover::proxy
