#include "proxy/response_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace cutover::proxy {
namespace {

// Plays the client connection's part: one buffer per exchange, the client's head prepared.
class Recorder final : public ResponseCodec::Listener {
 public:
  HeadBuffer* OnResponseBuffer() override { return &buffer; }
  int OnResponseHead(const ResponseHead& head) override {
    ++heads;
    status = head.status;
    reason = std::string(head.buffer->Slice(0, head.reason_length));
    field_count = head.buffer->fields.size();
    plan = PrepareResponseHead(head, context, "X-Cutover-Pool: green\r\n");
    return plan.verdict;
  }
  void OnResponseBody(const char* at, std::size_t length) override { body.append(at, length); }
  void OnResponseComplete(bool upgrade, bool keep_alive) override {
    completed = true;
    upgraded = upgrade;
    reusable = keep_alive;
  }

  HeadBuffer buffer;
  ResponseContext context;
  ResponsePlan plan;
  int heads = 0;
  int status = 0;
  std::string reason;
  std::size_t field_count = 0;
  std::string body;
  bool completed = false;
  bool upgraded = false;
  bool reusable = false;
};

class ResponseCodecTest : public ::testing::Test {
 protected:
  llhttp_errno_t Feed(std::string_view bytes) { return codec_.Execute(bytes.data(), bytes.size()); }

  Recorder recorder_;
  ResponseCodec codec_{&recorder_};
};

TEST_F(ResponseCodecTest, InterimResponsesAreSkipped) {
  EXPECT_EQ(Feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
            HPE_PAUSED);
  EXPECT_EQ(recorder_.heads, 1);
  EXPECT_EQ(recorder_.status, 200);
  EXPECT_EQ(recorder_.reason, "OK");
  EXPECT_EQ(recorder_.body, "ok");
  EXPECT_TRUE(recorder_.reusable);
  EXPECT_EQ(recorder_.buffer.out,
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Cutover-Pool: green\r\n\r\n");
}

TEST_F(ResponseCodecTest, HeadRequestHasNoBodyWhateverTheFieldsSay) {
  recorder_.context.head_request = true;
  codec_.Start(true);
  EXPECT_EQ(Feed("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), HPE_PAUSED);
  EXPECT_TRUE(recorder_.completed);
  EXPECT_NE(recorder_.buffer.out.find("Content-Length: 5\r\n"), std::string::npos);
}

TEST_F(ResponseCodecTest, CloseDelimitedBodyIsChunkedToAnHttp11Client) {
  EXPECT_EQ(Feed("HTTP/1.1 200 OK\r\n\r\nabc"), HPE_OK);
  EXPECT_EQ(recorder_.plan.framing, BodyFraming::kChunked);
  EXPECT_TRUE(codec_.NeedsEof());
  codec_.Finish();
  EXPECT_TRUE(recorder_.completed);
  EXPECT_EQ(recorder_.body, "abc");
}

TEST_F(ResponseCodecTest, UnaskedSwitchAndStatusBelow100AreRefused) {
  EXPECT_NE(Feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"), HPE_OK);
  codec_.Start(false);
  EXPECT_NE(Feed("HTTP/1.1 099 X\r\n\r\n"), HPE_OK);
}

TEST_F(ResponseCodecTest, AskedSwitchNeedsAnUpgradeField) {
  recorder_.context.upgrade_requested = true;
  EXPECT_EQ(Feed("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
                 "Upgrade: websocket\r\n\r\n"),
            HPE_PAUSED_UPGRADE);
  EXPECT_TRUE(recorder_.upgraded);
  codec_.Start(false);
  EXPECT_NE(Feed("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n\r\n"), HPE_OK);
}

// A 101 with Upgrade but without "Connection: upgrade" was relayed as a switch while llhttp
// read it as a complete response: the exchange finished, the upstream was released, and the
// client's connection was left tunnelling into nothing until the tunnel timeout. Found when
// AskedSwitchNeedsAnUpgradeField was first written without the Connection field.
TEST_F(ResponseCodecTest, SwitchWithoutConnectionUpgradeIsRefused) {
  recorder_.context.upgrade_requested = true;
  EXPECT_NE(Feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"), HPE_OK);
  EXPECT_FALSE(recorder_.completed);
}

// A backend sent part of a head and reset; the request was retried on another connection,
// whose response must not be read on top of the first one's pieces (the buffer belongs to the
// exchange and outlives the failed attempt).
TEST_F(ResponseCodecTest, RetryStartsFromAnEmptyHead) {
  EXPECT_EQ(Feed("HTTP/1.1 200 Partial\r\nX-Stale: 1\r\n"), HPE_OK);
  ResponseCodec retry(&recorder_);
  retry.Start(false);
  const std::string_view bytes = "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(retry.Execute(bytes.data(), bytes.size()), HPE_PAUSED);
  EXPECT_EQ(recorder_.reason, "Created");
  EXPECT_EQ(recorder_.field_count, 1u);
}

}  // namespace
}  // namespace cutover::proxy
