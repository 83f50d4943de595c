// The response path on arbitrary backend bytes: the same ResponseCodec an UpstreamConnection
// feeds (llhttp, the bounded head, interim 1xx skipped, HEAD and 304 without a body) and the
// client's head that ClientConnection relays (PrepareResponseHead: framing, keep-alive,
// upgrade, the affinity cookies the decision asks for), then the body pieces; a close from
// the backend ends a close-delimited body, as UpstreamConnection::OnPeerEnd does.
//
// Input: byte 0 is what the exchange knows (bit 0: a HEAD request; bit 1: the client asked to
// upgrade; bit 2: an HTTP/1.0 client; bit 3: the client may not keep the connection; bit 4:
// the request body is still coming; bit 5: a minted affinity key to set; bit 6: a pin to
// write); byte 1, when not 0, cuts the rest into reads of that many bytes; the rest is what
// the backend sends.
//
// Beyond "no crash, no sanitizer report", the head sent to the client must parse as one strict
// HTTP/1.1 response head whose framing is the one the proxy chose, and a Content-Length body
// must not be relayed past its length.
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "proxy/affinity_cookies.h"
#include "proxy/config_loader.h"
#include "proxy/log.h"
#include "proxy/response_codec.h"
#include "proxy/snapshot.h"

namespace cutover::proxy {
namespace {

constexpr int64_t kNow = 1'800'000'000;

const char* const kConfig = R"(
[pools.blue]
endpoints = ["127.0.0.1:1"]
[pools.green]
endpoints = ["127.0.0.1:2"]
[routing]
baseline = "blue"
candidate = "green"
weights = { blue = 50, green = 50 }
[routing.affinity]
mode = "pin"
pin_cookie = "cutover_pin"
pin_key = "fuzz-pin-key-0123456789abcdef"
cookie = "cutover_id"
cookie_secure = true
cookie_same_site = "Lax"
)";

struct Fixture {
  HealthRegistry health;
  std::shared_ptr<const routing::RoutingTable> table;

  Fixture() {
    SetLogLevel(LogLevel::kError);
    ConfigLoadResult loaded = LoadConfigString(kConfig, "fuzz.toml");
    if (!loaded.config) std::abort();
    std::string error;
    std::shared_ptr<const Snapshot> snapshot = BuildSnapshot(*loaded.config, 1, &health, &error);
    if (!snapshot) std::abort();
    table = snapshot->routing;
  }
};

struct Reparsed {
  bool complete = false;
  int status = 0;
  uint64_t flags = 0;
  uint64_t content_length = 0;
};

int OnReparsedHead(llhttp_t* parser) {
  auto* out = static_cast<Reparsed*>(parser->data);
  out->complete = true;
  out->status = llhttp_get_status_code(parser);
  out->flags = parser->flags;
  out->content_length = parser->content_length;
  return 1;  // the head alone: its body is checked apart
}

void CheckClientHead(const std::string& out, int status, const ResponsePlan& plan,
                     const ResponseContext& context) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_headers_complete = &OnReparsedHead;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  Reparsed reparsed;
  parser.data = &reparsed;
  const llhttp_errno_t rc = llhttp_execute(&parser, out.data(), out.size());
  if (rc != HPE_OK && rc != HPE_PAUSED_UPGRADE) std::abort();
  if (!reparsed.complete || reparsed.status != status) std::abort();
  const bool chunked = (reparsed.flags & F_CHUNKED) != 0;
  if (context.head_request || status == 304) return;  // framing fields describe a GET
  switch (plan.framing) {
    case BodyFraming::kContentLength:
      if (chunked || (reparsed.flags & F_CONTENT_LENGTH) == 0) std::abort();
      break;
    case BodyFraming::kChunked:
      if (!chunked || (reparsed.flags & F_CONTENT_LENGTH) != 0) std::abort();
      break;
    case BodyFraming::kNone:
    case BodyFraming::kUntilClose:
      if (chunked) std::abort();
      break;
  }
}

// Stands in for ClientConnection and UpstreamConnection on one exchange.
class Exchange final : public ResponseCodec::Listener {
 public:
  Exchange(const routing::RoutingTable* table, ResponseContext context, routing::Decision cookies)
      : codec_(this), table_(table), context_(context), cookies_(cookies) {
    codec_.Start(context.head_request);
  }

  ResponseCodec& codec() { return codec_; }
  bool done() const { return done_; }

  HeadBuffer* OnResponseBuffer() override { return &buffer_; }

  int OnResponseHead(const ResponseHead& head) override {
    if (head_seen_) std::abort();  // one final head per exchange
    head_seen_ = true;
    const std::size_t start = head.buffer->raw.size();
    AppendAffinityCookies(*table_, cookies_, kNow, &head.buffer->raw);
    const std::string_view extra = std::string_view(head.buffer->raw).substr(start);
    plan_ = PrepareResponseHead(head, context_, extra);
    if (plan_.verdict < 0) return -1;
    CheckClientHead(head.buffer->out, head.status, plan_, context_);
    length_ = head.content_length;
    return plan_.verdict;
  }

  void OnResponseBody(const char*, std::size_t length) override {
    if (!head_seen_ || plan_.verdict != 0) std::abort();  // a body the head said was not there
    body_ += length;
    if (plan_.framing == BodyFraming::kContentLength && body_ > length_) std::abort();
  }

  void OnResponseComplete(bool, bool) override { done_ = true; }

 private:
  ResponseCodec codec_;
  const routing::RoutingTable* table_;
  ResponseContext context_;
  routing::Decision cookies_;
  HeadBuffer buffer_;
  ResponsePlan plan_;
  bool head_seen_ = false;
  bool done_ = false;
  uint64_t length_ = 0;
  uint64_t body_ = 0;
};

}  // namespace
}  // namespace cutover::proxy

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cutover;
  using namespace cutover::proxy;
  static Fixture fixture;
  if (size < 2) return 0;
  ResponseContext context;
  context.head_request = (data[0] & 1) != 0;
  context.upgrade_requested = (data[0] & 2) != 0;
  context.client_http11 = (data[0] & 4) == 0;
  context.keep_alive = (data[0] & 8) == 0;
  context.request_complete = (data[0] & 16) == 0;
  routing::Decision cookies;
  cookies.pool = 1;
  cookies.mint_key = (data[0] & 32) != 0;
  cookies.minted_key = size;
  cookies.write_pin = (data[0] & 64) != 0;
  const std::size_t piece = data[1] == 0 ? size : data[1];
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  const std::size_t length = size - 2;

  Exchange exchange(fixture.table.get(), context, cookies);
  ResponseCodec& codec = exchange.codec();
  llhttp_errno_t rc = HPE_OK;
  for (std::size_t at = 0; at < length && rc == HPE_OK; at += piece) {
    rc = codec.Execute(bytes + at, std::min(piece, length - at));
  }
  // The backend closes: that ends a close-delimited body (UpstreamConnection::OnPeerEnd).
  if (rc == HPE_OK && length > 0 && codec.NeedsEof()) codec.Finish();
  return 0;
}
