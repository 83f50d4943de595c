// The request path on arbitrary client bytes: the same RequestCodec a ClientConnection feeds
// (llhttp strict, limits, the smuggling and Host checks, absolute-form), then what
// ClientConnection::Route and ForwardRequest do with an accepted head: the routing view, the
// pin cookie check, RoutingTable::Decide over rules of every kind, and the upstream head
// rewrite (SerializeRequestHead). Pipelined requests are served one after the other, as the
// connection resumes the codec after each response.
//
// Input: byte 0 picks the set-up (bit 0: affinity "pin" instead of "hash"; bit 1: a TLS
// listener, X-Forwarded-Proto https; bit 2: an IPv6 client); byte 1, when not 0, cuts the
// rest into reads of that many bytes (llhttp then hands names, values and bodies over in
// pieces); the rest is what the client sends.
//
// Beyond "no crash, no sanitizer report", every head sent upstream must itself parse as one
// strict HTTP/1.1 request head with the framing the proxy restated, and a Content-Length body
// must arrive whole before the request completes: a head that parsed differently upstream is
// a smuggling bug.
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "proxy/affinity_cookies.h"
#include "proxy/config_loader.h"
#include "proxy/log.h"
#include "proxy/request_codec.h"
#include "proxy/snapshot.h"

namespace cutover::proxy {
namespace {

constexpr int64_t kNow = 1'800'000'000;  // a fixed clock: pins verify the same way every run

const char* const kRoutingCommon = R"(
[pools.blue]
endpoints = ["127.0.0.1:1", "127.0.0.1:2"]
[pools.green]
endpoints = ["127.0.0.1:3"]
[routing]
baseline = "blue"
candidate = "green"
weights = { blue = 70, green = 30 }
[limits]
uri_bytes = 512
header_bytes = 4096
header_count = 24
body_bytes = 2000
[[routing.rules]]
name = "beta"
pool = "green"
match = { header = { "X-Beta" = ["1", "yes"] }, method = ["GET", "HEAD"] }
[[routing.rules]]
name = "mobile"
pool = "green"
match = { header_prefix = { "User-Agent" = "Mobile" }, path_prefix = ["/api", "/m/"] }
[[routing.rules]]
name = "ids"
pool = "blue"
match = { header_regex = { "X-User" = "u-[0-9]{2,8}(-[a-z]+)?" }, header_absent = "X-Skip" }
[[routing.rules]]
name = "cookies"
pool = "green"
match = { cookie = { plan = ["gold", "beta"] }, query = { debug = "1" } }
[[routing.rules]]
name = "office"
pool = "blue"
match = { client_cidr = ["10.0.0.0/8", "2001:db8::/32"], header_present = "X-Office" }
[[routing.rules]]
name = "vips"
pool = "green"
match = { affinity_keys = ["user-1", "user-2"] }
)";

const char* const kHashAffinity = R"(
[routing.affinity]
mode = "hash"
source = "cookie:session"
cookie = "cutover_id"
salt = "fuzz"
)";

const char* const kPinAffinity = R"(
[routing.affinity]
mode = "pin"
pin_cookie = "cutover_pin"
pin_key = "fuzz-pin-key-0123456789abcdef"
source = "header:X-User-Id"
)";

std::shared_ptr<const routing::RoutingTable> BuildTable(const char* affinity,
                                                        HealthRegistry* health) {
  const std::string text = std::string(kRoutingCommon) + affinity;
  ConfigLoadResult loaded = LoadConfigString(text, "fuzz.toml");
  if (!loaded.config) std::abort();
  std::string error;
  std::shared_ptr<const Snapshot> snapshot = BuildSnapshot(*loaded.config, 1, health, &error);
  if (!snapshot) std::abort();
  return snapshot->routing;
}

struct Fixture {
  HealthRegistry health;
  std::shared_ptr<const routing::RoutingTable> hash_table;
  std::shared_ptr<const routing::RoutingTable> pin_table;
  LimitConfig limits;

  Fixture() {
    SetLogLevel(LogLevel::kError);
    hash_table = BuildTable(kHashAffinity, &health);
    pin_table = BuildTable(kPinAffinity, &health);
    limits.uri_bytes = 512;
    limits.header_bytes = 4096;
    limits.header_count = 24;
    limits.body_bytes = 2000;
  }
};

// The strict llhttp view of a head the proxy sends upstream.
struct Reparsed {
  bool complete = false;
  uint64_t flags = 0;
  uint64_t content_length = 0;
};

int OnReparsedHead(llhttp_t* parser) {
  auto* out = static_cast<Reparsed*>(parser->data);
  out->complete = true;
  out->flags = parser->flags;
  out->content_length = parser->content_length;
  return 1;  // the head alone was written: no body follows here
}

void CheckUpstreamHead(const std::string& out, const RequestHead& head) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_headers_complete = &OnReparsedHead;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  Reparsed reparsed;
  parser.data = &reparsed;
  const llhttp_errno_t rc = llhttp_execute(&parser, out.data(), out.size());
  if (rc != HPE_OK && rc != HPE_PAUSED_UPGRADE) std::abort();
  if (!reparsed.complete) std::abort();
  const bool has_length = (reparsed.flags & F_CONTENT_LENGTH) != 0;
  const bool chunked = (reparsed.flags & F_CHUNKED) != 0;
  switch (head.framing) {
    case BodyFraming::kNone:
      if (has_length || chunked) std::abort();
      break;
    case BodyFraming::kContentLength:
      if (!has_length || chunked || reparsed.content_length != head.content_length) std::abort();
      break;
    case BodyFraming::kChunked:
      if (has_length || !chunked) std::abort();
      break;
    case BodyFraming::kUntilClose:
      std::abort();  // never for a request (RFC 9112 §6.3)
  }
}

// Stands in for ClientConnection: routes and rewrites each head as it does.
class Connection final : public RequestCodec::Listener {
 public:
  Connection(const routing::RoutingTable* table, routing::ClientAddress client,
             std::string_view client_text, std::string_view proto, uint64_t random)
      : codec_(this),
        table_(table),
        client_(client),
        client_text_(client_text),
        proto_(proto),
        random_(random) {}

  RequestCodec& codec() { return codec_; }

  HeadBuffer* OnRequestBegin() override {
    buffer_.Clear();
    body_bytes_ = 0;
    framing_ = BodyFraming::kNone;
    return &buffer_;
  }

  bool OnRequestHead(const RequestHead& head) override {
    routing::DecideInput input;
    input.random = random_++;
    const routing::RequestView view = MakeRequestView(head, client_, &scratch_);
    input.pin = VerifyPinCookie(*table_, view, kNow);
    const routing::Decision decision = table_->Decide(view, input);
    if (decision.pool >= table_->pools().size()) std::abort();
    if (decision.unavailable) {
      codec_.Reject(503, "no pool has an available endpoint");
      return false;
    }
    // The response side's cookies for this decision, as ClientConnection adds them.
    std::string cookies;
    AppendAffinityCookies(*table_, decision, kNow, &cookies);
    SerializeRequestHead(head.buffer, MakeRequestRewrite(head, client_text_, proto_));
    CheckUpstreamHead(head.buffer->out, head);
    framing_ = head.framing;
    content_length_ = head.content_length;
    return true;
  }

  void OnRequestBody(const char*, std::size_t length) override { body_bytes_ += length; }

  void OnRequestComplete() override {
    if (framing_ == BodyFraming::kContentLength && body_bytes_ != content_length_) std::abort();
  }

 private:
  RequestCodec codec_;
  const routing::RoutingTable* table_;
  routing::ClientAddress client_;
  std::string_view client_text_;
  std::string_view proto_;
  uint64_t random_;
  HeadBuffer buffer_;
  std::vector<routing::HeaderView> scratch_;
  BodyFraming framing_ = BodyFraming::kNone;
  uint64_t content_length_ = 0;
  uint64_t body_bytes_ = 0;
};

}  // namespace
}  // namespace cutover::proxy

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace cutover;
  using namespace cutover::proxy;
  static Fixture fixture;
  if (size < 2) return 0;
  const bool pin = (data[0] & 1) != 0;
  const bool tls = (data[0] & 2) != 0;
  const bool ipv6 = (data[0] & 4) != 0;
  const std::size_t piece = data[1] == 0 ? size : data[1];
  const char* bytes = reinterpret_cast<const char*>(data + 2);
  const std::size_t length = size - 2;

  routing::ClientAddress client;
  client.family = ipv6 ? 6 : 4;
  if (ipv6) {
    client.bytes = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
  } else {
    client.bytes[0] = 10;
    client.bytes[3] = 7;
  }
  Connection connection(pin ? fixture.pin_table.get() : fixture.hash_table.get(), client,
                        ipv6 ? "2001:db8::7" : "10.0.0.7", tls ? "https" : "http", size);
  RequestCodec& codec = connection.codec();
  std::size_t at = 0;
  while (at < length) {
    const std::size_t n = std::min(piece, length - at);
    const llhttp_errno_t rc = codec.Execute(fixture.limits, bytes + at, n);
    if (rc == HPE_OK) {
      at += n;
      continue;
    }
    if (rc != HPE_PAUSED) break;  // refused (the connection answers and closes), or a tunnel
    // A request is complete: once it is answered, the connection resumes with the rest.
    const char* stop = codec.error_pos();
    const std::size_t next = stop != nullptr ? static_cast<std::size_t>(stop - bytes) : at + n;
    if (next <= at && n > 0 && stop != nullptr && stop != bytes + at) std::abort();
    at = next;
    codec.Resume();
  }
  return 0;
}
