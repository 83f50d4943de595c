#include "proxy/ctl/response_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace cutover::proxy::ctl {
namespace {

using State = ResponseParser::State;

TEST(ResponseParser, ContentLength) {
  HttpResponse response;
  std::string error;
  ASSERT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                          "ETag: \"7\"\r\nContent-Length: 13\r\n\r\n{\"version\":7}",
                          &response, &error),
            State::kComplete)
      << error;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "{\"version\":7}");
  EXPECT_EQ(response.Header("etag"), "\"7\"");
  EXPECT_EQ(response.Header("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(response.Header("X-Missing"), "");
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
  HttpResponse response;
  std::string error;
  ASSERT_EQ(ParseResponse("HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;ext=1\r\n{\"err\r\n9\r\nor\": \"x\"}\r\n0\r\nX-Trailer: t\r\n\r\n",
                          &response, &error),
            State::kComplete)
      << error;
  EXPECT_EQ(response.status, 409);
  EXPECT_EQ(response.body, "{\"error\": \"x\"}");
}

TEST(ResponseParser, CompleteBeforeCloseIgnoresWhatFollows) {
  ResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\n"), State::kComplete);
  EXPECT_EQ(parser.response().status, 204);
  EXPECT_EQ(parser.response().body, "");
}

TEST(ResponseParser, ByteByByteGivesTheSameResponse) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nX-Long-Header-Name: a-long-value\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  ResponseParser parser;
  for (std::size_t i = 0; i < wire.size(); ++i) {
    const State state = parser.Feed(std::string_view(&wire[i], 1));
    ASSERT_EQ(state, i + 1 == wire.size() ? State::kComplete : State::kIncomplete) << i;
  }
  EXPECT_EQ(parser.response().body, "abcde");
  EXPECT_EQ(parser.response().Header("x-long-header-name"), "a-long-value");
  EXPECT_EQ(parser.response().headers.size(), 2u);
}

TEST(ResponseParser, BodyUntilCloseCompletesAtFinish) {
  ResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/1.1 200 OK\r\n\r\n{\"a\":"), State::kIncomplete);
  EXPECT_EQ(parser.Feed("1}"), State::kIncomplete);
  EXPECT_EQ(parser.Finish(), State::kComplete);
  EXPECT_EQ(parser.response().body, "{\"a\":1}");
}

TEST(ResponseParser, TruncatedBodyIsAnError) {
  HttpResponse response;
  std::string error;
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", &response, &error),
            State::kError);
  EXPECT_NE(error.find("closed the connection mid-response"), std::string::npos) << error;
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", &response,
                          &error),
            State::kError);
}

TEST(ResponseParser, NothingAtAllIsAnError) {
  HttpResponse response;
  std::string error;
  EXPECT_EQ(ParseResponse("", &response, &error), State::kError);
  EXPECT_NE(error.find("without answering"), std::string::npos) << error;
}

TEST(ResponseParser, NotHttpIsAnError) {
  HttpResponse response;
  std::string error;
  EXPECT_EQ(ParseResponse("SSH-2.0-OpenSSH_9.2\r\n", &response, &error), State::kError);
  EXPECT_NE(error.find("malformed HTTP response"), std::string::npos) << error;
  // Strict framing: Content-Length and Transfer-Encoding together (RFC 9112 §6.3).
  EXPECT_EQ(ParseResponse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                          "\r\n\r\n0\r\n\r\n",
                          &response, &error),
            State::kError);
}

TEST(ResponseParser, InterimResponseIsSkipped) {
  HttpResponse response;
  std::string error;
  ASSERT_EQ(ParseResponse("HTTP/1.1 100 Continue\r\nX-A: 1\r\n\r\n"
                          "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
                          &response, &error),
            State::kComplete)
      << error;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, "{}");
  EXPECT_EQ(response.Header("x-a"), "");
}

TEST(ResponseParser, TooManyHeadersIsAnError) {
  std::string wire = "HTTP/1.1 200 OK\r\n";
  for (std::size_t i = 0; i <= ResponseParser::kMaxHeaders; ++i) {
    wire += "X-" + std::to_string(i) + ": v\r\n";
  }
  wire += "Content-Length: 0\r\n\r\n";
  HttpResponse response;
  std::string error;
  EXPECT_EQ(ParseResponse(wire, &response, &error), State::kError);
  EXPECT_NE(error.find("more than 100 header fields"), std::string::npos) << error;
}

}  // namespace
}  // namespace cutover::proxy::ctl
