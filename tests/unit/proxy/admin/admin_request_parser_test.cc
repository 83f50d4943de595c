#include "proxy/admin/admin_request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace cutover::proxy::admin {
namespace {

// Records what the parser reports, as text.
class Recorder final : public AdminRequestParser::Listener {
 public:
  void OnContinue() override { events.push_back("continue"); }
  void OnRequest(const AdminRequest& request, bool close_after) override {
    events.push_back(request.method + " " + request.path + "?" + request.query + " [" +
                     request.body + "]" + (close_after ? " close" : ""));
  }
  void OnMalformed(int status, std::string message) override {
    events.push_back(std::to_string(status) + " " + message);
  }
  std::vector<std::string> events;
};

class AdminRequestParserTest : public ::testing::Test {
 protected:
  void Feed(std::string_view bytes) { parser_.Feed(bytes.data(), bytes.size()); }

  Recorder recorder_;
  AdminRequestParser parser_{&recorder_, 64};
};

TEST_F(AdminRequestParserTest, PipelinedRequestsAreReportedInOrder) {
  Feed(
      "GET /v1/audit?limit=2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "PUT /v1/weights HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(recorder_.events,
            (std::vector<std::string>{"GET /v1/audit?limit=2 []", "PUT /v1/weights? [{}]"}));
  EXPECT_FALSE(parser_.stopped());
}

TEST_F(AdminRequestParserTest, HeaderNamesAreLowerCasedAndPiecesJoined) {
  for (char c : std::string_view("GET / HTTP/1.1\r\nX-Cutover-Reason: ramp up\r\n\r\n")) {
    parser_.Feed(&c, 1);
  }
  ASSERT_NE(parser_.request().Header("x-cutover-reason"), nullptr);
  EXPECT_EQ(*parser_.request().Header("x-cutover-reason"), "ramp up");
}

TEST_F(AdminRequestParserTest, ConnectionCloseStopsAndDropsWhatFollows) {
  Feed("GET /a HTTP/1.1\r\nConnection: close\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
  Feed("GET /c HTTP/1.1\r\n\r\n");
  EXPECT_EQ(recorder_.events, (std::vector<std::string>{"GET /a? [] close"}));
  EXPECT_TRUE(parser_.stopped());
}

TEST_F(AdminRequestParserTest, ExpectContinueIsAnsweredBeforeTheBody) {
  Feed("PUT /w HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  Feed("{}");
  EXPECT_EQ(recorder_.events, (std::vector<std::string>{"continue", "PUT /w? [{}]"}));
}

TEST_F(AdminRequestParserTest, OtherExpectationIs417) {
  Feed("PUT /w HTTP/1.1\r\nExpect: later\r\nContent-Length: 2\r\n\r\n{}");
  EXPECT_EQ(recorder_.events,
            (std::vector<std::string>{"417 only Expect: 100-continue is supported"}));
}

TEST_F(AdminRequestParserTest, DeclaredBodyOverTheLimitIsDispatchedUnreadAndCloses) {
  Feed("PUT /w HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0], "PUT /w? [] close");
  EXPECT_TRUE(parser_.request().body_too_large);
}

TEST_F(AdminRequestParserTest, ChunkedBodyOverTheLimitIsDispatchedUnreadAndCloses) {
  Feed("PUT /w HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n" + std::string(65, 'a'));
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0], "PUT /w? [] close");
}

// The limit was counted per read, and on_message_begin (inside the first read) restarted the
// count: a head that came in one read was let through up to twice the limit. Found when this
// test was written for the parser.
TEST_F(AdminRequestParserTest, HeadOverTheLimitIs431) {
  Feed("GET / HTTP/1.1\r\nX-Long: " + std::string(AdminRequestParser::kHeadLimit, 'a'));
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0].substr(0, 4), "431 ");
}

TEST_F(AdminRequestParserTest, MalformedRequestIs400AndStops) {
  Feed("GET / HTTP/1.1\r\nNo colon here\r\n\r\n");
  ASSERT_EQ(recorder_.events.size(), 1u);
  EXPECT_EQ(recorder_.events[0].substr(0, 28), "400 malformed HTTP request: ");
  EXPECT_TRUE(parser_.stopped());
}

}  // namespace
}  // namespace cutover::proxy::admin
